//! `bulletin subscribers …`, `bulletin send` and `bulletin serve`.

use std::io::{IsTerminal, Write};
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use chrono::{NaiveDate, NaiveTime};

use super::{Clock, Exit, count, open_for_writing};
use crate::audience::{Key, Spool, Suppressed, export_json, normalise_email, read_csv};
use crate::config::Config;
use crate::editions::restore;
use crate::items::{display_width, for_terminal};
use crate::mail::{SendMode, SendOptions, SendReport, send_edition};
use crate::store::{EditionRecord, EditionState, Store, SubscriberRecord};

/// Subscribers written to the store per transaction by an import: the
/// rows are read as the file is, so memory stays that of one batch.
const IMPORT_BATCH: usize = 10_000;

/// `bulletin subscribers import FILE.csv`: the good rows imported, each bad
/// row reported with its line number and reason, and each erased person
/// (on the suppression list) left out with a line saying so.
pub fn import(config: &Config, file: &Path, clock: Clock) -> Result<Exit> {
    let input = std::fs::File::open(file).with_context(|| format!("reading {}", file.display()))?;
    let mut rows = read_csv(config, input).with_context(|| file.display().to_string())?;
    let (_lock, mut store) = open_for_writing(config)?;
    let suppressed = Suppressed::load(&store, config.mail.as_ref())?;
    // The consent records name the file, not the folder it was read from.
    let name = file.file_name().unwrap_or(file.as_os_str()).to_string_lossy();
    let (mut imported, mut added, mut rejected, mut erased) = (0, 0, 0, 0);
    let mut batch = Vec::with_capacity(IMPORT_BATCH);
    while let Some(row) = rows.next() {
        match row {
            Ok(subscriber) if suppressed.holds(&subscriber.email) => {
                eprintln!(
                    "{}:{}: {}: erased at their request; not added again without a new consent (a confirmed sign-up)",
                    file.display(),
                    rows.line(),
                    subscriber.email
                );
                erased += 1;
            }
            Ok(subscriber) => batch.push(subscriber),
            Err(row) => {
                eprintln!("{}:{}: {}", file.display(), row.line, row.reason);
                rejected += 1;
            }
        }
        if batch.len() == IMPORT_BATCH {
            added += store.import_subscribers(&batch, &name, clock.now)?;
            imported += batch.len();
            batch.clear();
        }
    }
    added += store.import_subscribers(&batch, &name, clock.now)?;
    imported += batch.len();
    if let Some(encoding) = rows.encoding() {
        eprintln!("{}: not UTF-8: read as {encoding}", file.display());
    }
    say!(
        "{imported} rows imported ({added} new, {} updated), {rejected} rejected, {erased} erased (suppressed)",
        imported - added,
    );
    Ok(if rejected + erased == 0 {
        Exit::Ok
    } else {
        Exit::Partial
    })
}

/// `bulletin subscribers list`: everyone, optionally of one newsletter.
pub fn list(config: &Config, newsletter: Option<&str>, format: ListFormat) -> Result<Exit> {
    if let Some(id) = newsletter {
        config.newsletter(id)?;
    }
    let store = Store::open_read_only(&config.store_path())?;
    let subscribers: Vec<_> = store
        .subscribers()?
        .into_iter()
        .filter(|s| newsletter.is_none_or(|id| s.newsletters.iter().any(|n| n == id)))
        .collect();
    let mut out = std::io::stdout().lock();
    match format {
        ListFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &subscribers)?;
            writeln!(out)?;
        }
        ListFormat::Csv => {
            let mut writer = csv::Writer::from_writer(out);
            writer.write_record(SUBSCRIBER_COLUMNS)?;
            for s in &subscribers {
                writer.write_record(subscriber_row(s))?;
            }
            writer.flush()?;
        }
        ListFormat::Table => {
            let header = SUBSCRIBER_COLUMNS.map(str::to_uppercase);
            let rows: Vec<[String; 10]> = subscribers.iter().map(subscriber_row).collect();
            print_table(&mut out, &header, &rows)?;
        }
    }
    Ok(Exit::Ok)
}

const SUBSCRIBER_COLUMNS: [&str; 10] = [
    "email",
    "name",
    "organisation",
    "organisation_type",
    "country",
    "newsletters",
    "unsubscribed",
    "consent_date",
    "hard_bounces",
    "consents",
];

/// One subscriber as `subscribers list` shows them, in [`SUBSCRIBER_COLUMNS`]' order.
fn subscriber_row(s: &SubscriberRecord) -> [String; 10] {
    let unsubscribed = if s.unsubscribed_all {
        "all".to_string()
    } else {
        s.unsubscribed.join(";")
    };
    [
        s.email.clone(),
        s.name.clone(),
        s.organisation.clone(),
        s.organisation_type.as_str().to_string(),
        s.country.clone(),
        s.newsletters.join(";"),
        unsubscribed,
        s.consent.to_string(),
        s.hard_bounces.to_string(),
        consents(s),
    ]
}

/// How and when they consented, once per consent given (a sign-up for
/// three newsletters is one): `form 2026-12-02T08:00:00Z; import …`. The
/// JSON list has each record whole, with its source and text version.
fn consents(s: &SubscriberRecord) -> String {
    let mut given: Vec<String> = Vec::new();
    for consent in &s.consents {
        let said = format!("{} {}", consent.method.as_str(), consent.at);
        if !given.contains(&said) {
            given.push(said);
        }
    }
    given.join("; ")
}

/// Columns padded to their widest cell as a terminal shows it (a Japanese
/// name takes two columns a character), two spaces apart.
fn print_table<const N: usize>(
    out: &mut impl Write,
    header: &[String; N],
    rows: &[[String; N]],
) -> Result<()> {
    let mut widths = header.clone().map(|h| display_width(&h));
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(display_width(&for_terminal(cell)));
        }
    }
    for row in std::iter::once(header).chain(rows) {
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(widths).enumerate() {
            let cell = for_terminal(cell);
            line.push_str(&cell);
            if i + 1 < N {
                line.extend(std::iter::repeat_n(' ', width - display_width(&cell) + 2));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// How `subscribers list` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFormat {
    Table,
    Csv,
    Json,
}

/// `bulletin subscribers unsubscribe EMAIL [--newsletter ID]`.
pub fn unsubscribe(config: &Config, email: &str, newsletter: Option<&str>, clock: Clock) -> Result<Exit> {
    let email = normalise_email(email)?;
    if let Some(id) = newsletter {
        config.newsletter(id)?;
    }
    let (_lock, mut store) = open_for_writing(config)?;
    if !store.unsubscribe(&email, newsletter, clock.now)? {
        bail!("{email} is not a subscriber");
    }
    say!(
        "{email} unsubscribed from {}",
        newsletter.unwrap_or("every newsletter")
    );
    Ok(Exit::Ok)
}

/// `bulletin subscribers export EMAIL`: everything held about one person,
/// from every table of the store that has an `email` column (what the
/// preference centre's download gives them).
pub fn export(config: &Config, email: &str, format: ExportFormat) -> Result<Exit> {
    let email = normalise_email(email)?;
    let store = Store::open_read_only(&config.store_path())?;
    let data = store.person(&email)?;
    let mut out = std::io::stdout().lock();
    match format {
        ExportFormat::Json => write!(out, "{}", export_json(&data))?,
        ExportFormat::Table if data.is_empty() => writeln!(out, "nothing held about {email}")?,
        ExportFormat::Table => {
            for (table, rows) in data.tables.iter().filter(|(_, rows)| !rows.is_empty()) {
                writeln!(out, "{table}: {}", count(rows.len(), "row"))?;
                for row in rows {
                    for (column, value) in row {
                        let value = match value {
                            serde_json::Value::String(text) => for_terminal(text).into_owned(),
                            other => other.to_string(),
                        };
                        writeln!(out, "  {column}: {value}")?;
                    }
                    writeln!(out)?;
                }
            }
        }
    }
    Ok(Exit::Ok)
}

/// How `subscribers export` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// Each table's rows, a column a line.
    Table,
    /// The JSON file the preference centre's download gives.
    Json,
}

/// `bulletin subscribers erase EMAIL`: every row about one person deleted
/// and their address's keyed hash kept, so no import adds them again, and
/// the files that name them removed (what the preference centre's "Erase
/// me" does).
pub fn erase(config: &Config, email: &str, clock: Clock) -> Result<Exit> {
    let email = normalise_email(email)?;
    let mail = config.mail.as_ref().ok_or_else(|| {
        anyhow!("no [mail] section in the config: erasure keeps a keyed hash, made with its signing key")
    })?;
    let key = Key::from_env(&mail.signing_key_env)?;
    let (lock, mut store) = open_for_writing(config)?;
    let erased = crate::mail::erase(
        &lock,
        &mut store,
        &key,
        &crate::mail::mail_folder(config),
        &email,
        clock.now,
    )?;
    let mut deleted: Vec<String> = erased
        .rows
        .rows
        .iter()
        .map(|(table, rows)| format!("{} from {table}", count(*rows, "row")))
        .collect();
    if erased.mail_files > 0 {
        deleted.push(format!(
            "{} written to them",
            count(erased.mail_files, "mail file")
        ));
    }
    if erased.spooled > 0 {
        deleted.push(format!("{} kept aside", count(erased.spooled, "unsubscribe")));
    }
    if deleted.is_empty() {
        say!("{email}: nothing held; the address is suppressed, so no import adds it without a new consent");
    } else {
        say!(
            "{email} erased: {}; the address is suppressed, so no import adds it without a new consent",
            deleted.join(", ")
        );
    }
    Ok(Exit::Ok)
}

/// `bulletin subscribers reset-bounces [EMAIL…] [--since DATE]`: undoes
/// hard bounces counted wrongly, printing each subscriber reset.
pub fn reset_bounces(
    config: &Config,
    emails: &[String],
    since: Option<NaiveDate>,
    clock: Clock,
) -> Result<Exit> {
    let emails = emails
        .iter()
        .map(|email| normalise_email(email).map_err(anyhow::Error::from))
        .collect::<Result<Vec<_>>>()?;
    let (_lock, mut store) = open_for_writing(config)?;
    for email in &emails {
        if !store.is_subscriber(email)? {
            bail!("{email} is not a subscriber; nothing reset");
        }
    }
    let since = since.map(|date| date.and_time(NaiveTime::MIN).and_utc());
    let resets = store.reset_bounces(&emails, since, clock.now)?;
    if resets.is_empty() {
        say!("no hard bounces to reset");
    }
    let plural = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    for reset in &resets {
        let mut line = format!(
            "{}: {} reset",
            reset.email,
            plural(reset.hard_bounces as usize, "hard bounce", "hard bounces")
        );
        if reset.soft_suppression {
            line += ", soft-bounce suppression lifted";
        }
        if reset.deliveries > 0 {
            line += &format!(
                ", {} due again",
                plural(reset.deliveries, "failed delivery", "failed deliveries")
            );
        }
        say!("{line}");
    }
    Ok(Exit::Ok)
}

/// `bulletin send`: one edition (the latest by default) to its subscribers.
pub fn send(
    config: &Config,
    newsletter: &str,
    number: Option<u32>,
    options: SendOptions,
    clock: Clock,
) -> Result<Exit> {
    let settings = config.newsletter(newsletter)?;
    let (_lock, mut store) = open_for_writing(config)?;
    let editions = store.editions(Some(newsletter))?;
    let record = match number {
        Some(n) => editions.into_iter().find(|e| e.number == n),
        None => editions.into_iter().next(),
    }
    .ok_or_else(|| anyhow!("{newsletter}: no such edition published; see `bulletin editions`"))?;
    if record.state == EditionState::Draft && options.mode == SendMode::Real {
        eprintln!(
            "{newsletter} No. {} is a draft, not approved: nothing sent. Review it with \
             `bulletin editions show --newsletter {newsletter} --edition {0}`, approve it with \
             `bulletin approve --newsletter {newsletter} --edition {0}`; a test copy goes with --to ADDRESS",
            record.number
        );
        return Ok(Exit::Draft);
    }
    let report = send_one(config, &mut store, settings, &record, &options, clock)?;
    Ok(if report.ok() { Exit::Ok } else { Exit::Undelivered })
}

/// Sends one recorded edition and prints its report.
pub(super) fn send_one(
    config: &Config,
    store: &mut Store,
    newsletter: &crate::config::Newsletter,
    record: &EditionRecord,
    options: &SendOptions,
    clock: Clock,
) -> Result<SendReport> {
    let (_, placed) = store
        .edition_on(&record.newsletter, record.date)?
        .ok_or_else(|| {
            anyhow!(
                "edition {} No. {} vanished from the store",
                record.newsletter,
                record.number
            )
        })?;
    let edition = restore(
        newsletter,
        record.number,
        record.date,
        &placed,
        record.intro.as_deref(),
    );
    apply_kept_unsubscribes(store)?;
    let report = send_edition(config, store, &edition, options, clock.now)?;
    print_report(&record.newsletter, record.number, &report, options)?;
    if options.mode == SendMode::Real && report.deferred.count == 0 {
        store.mark_sent(&record.newsletter, record.number, clock.now)?;
    }
    Ok(report)
}

fn print_report(newsletter: &str, number: u32, report: &SendReport, options: &SendOptions) -> Result<()> {
    let dry_run = match &options.mode {
        SendMode::TestTo(to) => {
            say!("{newsletter} No. {number}: test copy sent to {to} (not logged)");
            if let Some(folder) = &report.folder {
                say!("  written as an .eml file to {}", folder.display());
            }
            return Ok(());
        }
        SendMode::DryRun => true,
        SendMode::Real => false,
    };
    if dry_run {
        for email in &report.would_send {
            say!("would send {newsletter} No. {number} to {email}");
        }
    }
    let nobody = report.sent + report.already_sent + report.deferred.count + report.failed.count == 0
        && report.skipped.is_empty()
        && report.would_send.is_empty();
    if nobody {
        say!("{newsletter} No. {number}: no subscribers");
        return Ok(());
    }
    let verb = if dry_run { "would send" } else { "sent" };
    say!(
        "{newsletter} No. {number}: {verb} {}, already sent {}, deferred {}, failed {}{}",
        if dry_run {
            report.would_send.len()
        } else {
            report.sent
        },
        report.already_sent,
        report.deferred.count,
        report.failed.count,
        if report.resent > 0 {
            format!(", {} sent again after an interrupted send", report.resent)
        } else {
            String::new()
        },
    );
    if let Some(folder) = report.folder.as_ref().filter(|_| !dry_run) {
        say!("  written as .eml files to {}", folder.display());
    }
    for (reason, count) in &report.skipped {
        say!("  skipped {count}: {reason}");
    }
    for note in &report.notes {
        eprintln!("note: {note}");
    }
    for (email, reason) in &report.deferred.examples {
        eprintln!("deferred: {email}: {reason} (sent again on the next send)");
    }
    for (email, reason) in &report.failed.examples {
        eprintln!("failed: {email}: {reason}");
    }
    let unlisted = report.deferred.count + report.failed.count
        - report.deferred.examples.len()
        - report.failed.examples.len();
    if unlisted > 0 {
        eprintln!("… and {unlisted} more; each is in the delivery log");
    }
    Ok(())
}

/// The unsubscribes `serve` kept aside while the store was busy, applied
/// before recipients are chosen: nobody who left gets this edition.
fn apply_kept_unsubscribes(store: &mut Store) -> Result<()> {
    let spool = Spool::beside(store.path());
    let applied = spool.apply(store)?;
    if applied > 0 {
        eprintln!(
            "applied {applied} unsubscribe(s) kept in {} while the store was busy",
            spool.path().display()
        );
    }
    Ok(())
}

/// Progress lines only when a person watches.
pub(super) fn progress() -> bool {
    std::io::stderr().is_terminal()
}

/// `bulletin serve`: the unsubscribe endpoint and the preference centre, until stopped.
pub fn serve(
    config: Config,
    listen: &str,
    limits: crate::web::server::Limits,
    now: &(dyn Fn() -> chrono::DateTime<chrono::Utc> + Sync),
) -> Result<Exit> {
    let mail = config
        .mail
        .as_ref()
        .ok_or_else(|| anyhow!("no [mail] section in the config"))?;
    let key = Key::from_env(&mail.signing_key_env)?;
    crate::web::serve(std::sync::Arc::new(config), listen, limits, &key, now)?;
    Ok(Exit::Ok)
}
