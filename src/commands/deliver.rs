//! `bulletin subscribers …`, `bulletin send` and `bulletin serve`.

use std::io::Write;
use std::path::Path;

use anyhow::{Result, anyhow};
use chrono::NaiveDate;

use super::{Clock, Exit, Timing};
use crate::audience::{CsvOptions, Key, export_json};
use crate::config::Config;
use crate::items::{display_width, for_terminal};
use crate::mail::SendOptions;
use crate::store::{Store, SubscriberRecord};
use crate::workflow::{self, Imported, Send, count, say};

/// `bulletin subscribers import FILE.csv`: the good rows imported, each bad
/// row reported with its line number and reason, each EU-only newsletter
/// refused to a row with the reason, and each erased person (on the
/// suppression list) left out with a line saying so.
pub fn import(config: &Config, file: &Path, options: &CsvOptions, clock: Clock) -> Result<Exit> {
    let Imported {
        imported,
        added,
        narrowed,
        rejected,
        erased,
        slash_dates,
    } = workflow::import(config, file, options, clock)?;
    if let Some(order) = slash_dates {
        say!(
            "{}: dates with slashes read as {} (--slash-dates)",
            file.display(),
            order.as_str()
        );
    }
    say!(
        "{imported} rows imported ({added} new, {} updated), {rejected} rejected, {erased} erased (suppressed), \
         {narrowed} imported without EU-only newsletters they are not for",
        imported - added,
    );
    Ok(if rejected + erased + narrowed == 0 {
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

/// `bulletin subscribers unsubscribe EMAIL [--newsletter ID] [--by NAME]`.
pub fn unsubscribe(
    config: &Config,
    email: &str,
    newsletter: Option<&str>,
    by: &str,
    clock: Clock,
) -> Result<Exit> {
    let email = workflow::unsubscribe(config, email, newsletter, by, clock)?;
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
    let (email, data) = workflow::person(config, email)?;
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
    let (email, erased) = workflow::erase(config, email, clock)?;
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
    let resets = workflow::reset_bounces(config, emails, since, clock)?;
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
    timing: Timing,
    clock: Clock,
) -> Result<Exit> {
    Ok(
        match workflow::send(config, newsletter, number, &options, timing, clock)? {
            Send::Done { delivered: true } => Exit::Ok,
            Send::Done { delivered: false } => Exit::Undelivered,
            Send::Draft { number, .. } => {
                eprintln!(
                    "{newsletter} No. {number} is a draft, not approved: nothing sent. Review it with \
                 `bulletin editions show --newsletter {newsletter} --edition {number}`, approve it with \
                 `bulletin approve --newsletter {newsletter} --edition {number}`; a test copy goes with --to ADDRESS"
                );
                Exit::Draft
            }
        },
    )
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
