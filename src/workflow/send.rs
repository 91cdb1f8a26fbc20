//! Sending: one recorded edition to its subscribers (`bulletin send`), and
//! every approved edition not yet sent (`bulletin run`), each reported as
//! it goes.

use std::io::IsTerminal;

use anyhow::{Result, anyhow, bail};
use chrono::NaiveDate;

use super::health::{Judged, Recording, UNDELIVERED};
use super::{Clock, open_for_writing, restore_recorded};
use crate::audience::Spool;
use crate::causes::said_once;
use crate::config::{Config, Newsletter};
use crate::config::{Security, Transport};
use crate::mail::{SendMode, SendOptions, SendReport, Share, readiness, send_edition};
use crate::store::{EditionRecord, EditionState, RunCommand, Store};

/// How a `send` of one edition ended.
pub(crate) enum Send {
    /// Sent (or tried); `delivered` is false when some message was not.
    Done { delivered: bool },
    /// Edition `number` of `newsletter` is a draft, and a real send waits for its approval.
    Draft { newsletter: String, number: u32 },
}

/// Whether `send` honours an edition's scheduled time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    /// Refused before its time, as `run` holds it.
    AsScheduled,
    /// `--now`: sent now, whatever its schedule.
    Now,
}

/// `bulletin send`: one edition (the latest by default) to its subscribers.
/// An edition whose scheduled time has not come is refused, nothing
/// recorded, unless `timing` is [`Timing::Now`].
pub(crate) fn send(
    config: &Config,
    newsletter: &str,
    number: Option<u32>,
    options: &SendOptions,
    timing: Timing,
    clock: Clock,
) -> Result<Send> {
    let settings = config.newsletter(newsletter)?;
    let (_lock, mut store) = open_for_writing(config)?;
    if options.mode != SendMode::Real {
        // A dry run or a test copy is no send of the edition: not recorded.
        return send_locked(config, &mut store, settings, number, options, clock);
    }
    let record = chosen(&store, newsletter, number)?;
    if let Some(at) = record.not_before.filter(|at| !at.has_come(clock.now))
        && record.state == EditionState::Approved
        && timing == Timing::AsScheduled
    {
        bail!(
            "{newsletter} No. {} is scheduled: not before {at}; the first `bulletin run` after that sends it. \
             To send it now anyway: `bulletin send --newsletter {newsletter} --edition {} --now`",
            record.number,
            record.number
        );
    }
    let recording = Recording::start(&mut store, RunCommand::Send, clock)?;
    let sent = send_locked(config, &mut store, settings, number, options, clock);
    let today = clock.now.date_naive();
    recording.finish(config, &mut store, clock, None, today, sent)
}

impl Judged for Send {
    fn problems(&self) -> Vec<String> {
        match self {
            Send::Done { delivered: true } => Vec::new(),
            Send::Done { delivered: false } => vec![UNDELIVERED.to_string()],
            Send::Draft { newsletter, number } => {
                vec![format!(
                    "{newsletter} No. {number} is a draft, not approved: nothing was sent"
                )]
            }
        }
    }
}

/// [`send`]'s work, under the lock.
fn send_locked(
    config: &Config,
    store: &mut Store,
    settings: &Newsletter,
    number: Option<u32>,
    options: &SendOptions,
    clock: Clock,
) -> Result<Send> {
    let newsletter = settings.id.as_str();
    let record = chosen(store, newsletter, number)?;
    if record.state == EditionState::Skipped {
        return Err(anyhow!(
            "{newsletter} No. {} was skipped: it is never sent",
            record.number
        ));
    }
    if record.state == EditionState::Draft && options.mode == SendMode::Real {
        return Ok(Send::Draft {
            newsletter: record.newsletter,
            number: record.number,
        });
    }
    let report = send_one(config, store, settings, &record, options, clock)?;
    Ok(Send::Done {
        delivered: report.ok(),
    })
}

/// Edition `number` of `newsletter`, else its latest.
fn chosen(store: &Store, newsletter: &str, number: Option<u32>) -> Result<EditionRecord> {
    let editions = store.editions(Some(newsletter))?;
    match number {
        Some(n) => editions.into_iter().find(|e| e.number == n),
        None => editions.into_iter().next(),
    }
    .ok_or_else(|| anyhow!("{newsletter}: no such edition published; see `bulletin editions`"))
}

/// Sends one recorded edition and prints its report.
fn send_one(
    config: &Config,
    store: &mut Store,
    newsletter: &Newsletter,
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
    let edition = restore_recorded(newsletter, record, &placed);
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
    if report.relays.len() > 1 {
        for share in &report.relays {
            say!("  {}", relay_line(share, report.sent));
        }
    }
    for note in &report.notes {
        warning!("note: {note}");
    }
    for (email, reason) in &report.deferred.examples {
        warning!("deferred: {email}: {reason} (sent again on the next send)");
    }
    for (email, reason) in &report.failed.examples {
        warning!("failed: {email}: {reason}");
    }
    let unlisted = report.deferred.count + report.failed.count
        - report.deferred.examples.len()
        - report.failed.examples.len();
    if unlisted > 0 {
        warning!("… and {unlisted} more; each is in the delivery log");
    }
    Ok(())
}

/// One relay's part in the send: its share of the messages sent, and its
/// failures with the first one's words.
fn relay_line(share: &Share, sent: usize) -> String {
    // A share of a count that fits in memory: exact enough in f64.
    #[allow(clippy::cast_precision_loss)]
    let percent = if sent == 0 {
        0.0
    } else {
        share.sent as f64 * 100.0 / sent as f64
    };
    let mut line = format!("relay {}: sent {} ({percent:.0}%)", share.name, share.sent);
    if share.failures > 0 {
        line.push_str(&format!(
            ", {} failed session(s), rested {} time(s): {}",
            share.failures,
            share.rests,
            share.first_failure.as_deref().unwrap_or_default()
        ));
    }
    line
}

/// The unsubscribes `serve` kept aside while the store was busy, applied
/// before recipients are chosen: nobody who left gets this edition.
fn apply_kept_unsubscribes(store: &mut Store) -> Result<()> {
    let spool = Spool::beside(store.path());
    let applied = spool.apply(store)?;
    if applied > 0 {
        warning!(
            "applied {applied} unsubscribe(s) kept in {} while the store was busy",
            spool.path().display()
        );
    }
    Ok(())
}

/// Progress lines only when a person watches.
fn progress() -> bool {
    std::io::stderr().is_terminal()
}

/// Sends (or finishes sending) every approved edition not yet sent, and
/// those of `date` (a repeated run reports them as already sent), when the
/// config has a `[mail]` section; `false` if some message was not delivered.
pub(super) fn send_unsent(config: &Config, store: &mut Store, date: NaiveDate, clock: Clock) -> Result<bool> {
    if config.mail.is_none() {
        return Ok(true);
    }
    let options = SendOptions {
        progress: progress(),
        ..SendOptions::default()
    };
    let mut delivered = true;
    for newsletter in &config.newsletters {
        let mut due: Vec<EditionRecord> = store
            .editions(Some(newsletter.id.as_str()))?
            .into_iter()
            .filter(|e| e.state == EditionState::Approved && (e.sent_at.is_none() || e.date == date))
            .collect();
        due.sort_by_key(|e| e.number);
        for record in &due {
            if let Some(at) = record.not_before.filter(|at| !at.has_come(clock.now)) {
                say!(
                    "{} No. {}: scheduled: not before {at}; not sent by this run",
                    record.newsletter,
                    record.number
                );
                // Editions reach readers in order: the later ones wait for it.
                for later in due.iter().filter(|e| e.number > record.number) {
                    say!(
                        "{} No. {} waits for No. {}'s scheduled send: editions reach readers in order",
                        later.newsletter,
                        later.number,
                        record.number
                    );
                }
                break;
            }
            if record.date < date {
                say!(
                    "{} No. {} (dated {}) was approved but not sent: sending it now",
                    record.newsletter,
                    record.number,
                    record.date
                );
            }
            delivered &= send_one(config, store, newsletter, record, &options, clock)?.ok();
        }
    }
    Ok(delivered)
}

/// One thing a send needs, as `bulletin check --send` found it.
pub(crate) enum Checked {
    Ok(String),
    /// Works, but the operator should know.
    Warning(String),
    /// A send would fail, or go wrong.
    Problem(String),
}

/// `bulletin check --send`: what a send needs, checked without sending:
/// the `[mail]` section, the signing key present and not guessable, the
/// SMTP server taking a session as configured (EHLO, STARTTLS, AUTH, then
/// QUIT, no MAIL), the bounce address, and who the alerts go to.
pub(crate) fn send_checks(config: &Config) -> Vec<Checked> {
    let Some(mail) = &config.mail else {
        return vec![Checked::Problem(
            "no [mail] section in the config: nothing is ever sent".to_string(),
        )];
    };
    let ready = readiness(mail);
    let mut checks = vec![match ready.key {
        Ok(()) => Checked::Ok(format!(
            "the unsubscribe signing key in {} is present and not guessable",
            mail.signing_key_env
        )),
        Err(e) => Checked::Problem(said_once(&e)),
    }];
    if mail.transport == Transport::File {
        checks.push(Checked::Warning(format!(
            "transport = \"file\": messages are written under {}, not mailed",
            crate::mail::mail_folder(config).display()
        )));
    }
    for ((name, session), relay) in ready.servers.into_iter().zip(mail.relays()) {
        let smtp = &relay.smtp;
        checks.push(match session {
            Ok(()) => Checked::Ok(format!(
                "the SMTP server {name} took a session ({}{}), and was left without a mail",
                match smtp.security {
                    Security::None => "EHLO, no TLS",
                    Security::Starttls => "EHLO, STARTTLS",
                    Security::Tls => "TLS, EHLO",
                },
                if smtp.username_env.is_some() { ", AUTH" } else { "" }
            )),
            Err(e) => Checked::Problem(said_once(&e)),
        });
    }
    checks.push(match mail.bounce_address() {
        Some(address) => Checked::Ok(format!(
            "bounces go to {address} (VERP: each names its subscriber)"
        )),
        None => Checked::Warning(format!(
            "no mail.bounce_address: bounces go to the From address {}, and `bulletin bounces` can \
             prove whose they are only by the Message-ID or List-Unsubscribe they quote",
            mail.from.email
        )),
    });
    if let Some(alerts) = &config.alerts {
        let to: Vec<String> = alerts.to.iter().map(|m| m.email.to_string()).collect();
        checks.push(Checked::Ok(format!("alerts go to {}", to.join(", "))));
    }
    checks
}
