//! The workflow: each operation a command or a page performs, written once,
//! below both. A command parses its arguments, makes one call here and
//! turns the outcome into an exit code; a page (the preview's review page)
//! calls the same functions, so a correction made on the web and one made
//! with `bulletin edit` are the same correction.
//!
//! An operation that takes a while says how it goes as it goes (`say!`,
//! to [`Report`]), as mdBook's `build` logs: the next edition numbered,
//! a source fetched, an edition sent.

/// `println!` for the report of an operation that changes something:
/// written to [`Report`], so a closed stdout neither panics nor stops the
/// work.
macro_rules! say {
    ($($arg:tt)*) => {{
        $crate::workflow::Report::line(&format!($($arg)*))?
    }};
}
pub(crate) use say;

/// `eprintln!` for a warning or a failure an operation reports as it
/// goes: stamped like [`say!`]'s lines.
macro_rules! warning {
    ($($arg:tt)*) => {{
        $crate::workflow::Report::warning(&format!($($arg)*))
    }};
}

mod alerts;
mod bounces;
mod edition;
mod editors;
mod fetch;
mod health;
mod learn;
mod people;
mod review;
mod rules;
mod schedule;
mod send;
mod stored;
mod subscribers;

use anyhow::{Result, bail};
use chrono::{DateTime, Utc};

use crate::classify::Classified;
use crate::config::Config;
use crate::lock::RunLock;
use crate::store::Store;

pub(crate) use bounces::read_bounces;
pub(crate) use edition::{Next, build, draft_paths, run};
use edition::{candidates, refresh_draft, restore_recorded, write_archive, write_draft, write_edition};
pub(crate) use editors::{
    ABSOLUTE, Password, Secret, add_editor, begin_session, check_password, current_session, end_session,
    form_token, form_token_matches, link_editor, login_gate, remove_editor, reset_editor,
    set_password_by_link,
};
pub(crate) use fetch::{fetch, fetch_into};
pub(crate) use health::{Ended, Health, Unsent, health, last_run, state_line};
pub(crate) use learn::{CORRECTION_WEIGHT, Knowledge, bundled_model, knowledge, learn, teach};
pub(crate) use people::{erase, person};
pub(crate) use review::{
    approve, approve_edition, changes_heading, correct, describe_logged, describe_logged_naming, draft, edit,
    log_lines, looked, mail_template, skip, unapprove,
};
pub(crate) use rules::{add_rule, make_rule, remove_rule};
pub(crate) use schedule::{Schedule, schedule, schedule_edition};
pub use send::Timing;
pub(crate) use send::{Checked, Send, send, send_checks};
pub(crate) use stored::{ItemIdError, items_with, resolve_among, resolve_item};
pub(crate) use subscribers::{
    Imported, UnsubscribeError, import, reset_bounces, unsubscribe, unsubscribe_for,
};

/// Standard output for the report of a command that changes something
/// (`fetch`, `build`, `run`, `send`, `subscribers import`…). A reader that
/// stopped early (`bulletin run | head -1`) has seen enough, but the job it
/// reports on still runs to its end, and its exit code still tells how it
/// went: a closed pipe swallows the rest. Read-only commands write to
/// stdout itself and stop there (exit 0), as they have nothing to finish.
pub(crate) struct Report;

/// The clock whose time starts each line of a report when the line goes
/// to a file or a pipe (a cron log of many runs), set by the operation.
static STAMPED: std::sync::OnceLock<Clock> = std::sync::OnceLock::new();

impl Report {
    /// From now on, lines written to a file or pipe start with the time
    /// (`2026-11-30T06:00:04Z `), on stdout and stderr alike.
    pub(crate) fn stamp_lines(clock: Clock) {
        let _ = STAMPED.set(clock);
    }

    /// `text`'s lines, stamped when `terminal` is false and stamping is on.
    fn stamped(text: &str, terminal: bool) -> String {
        let stamp = STAMPED
            .get()
            .filter(|_| !terminal)
            .map(|clock| format!("{} ", clock.current().format("%Y-%m-%dT%H:%M:%SZ")));
        let mut out = String::with_capacity(text.len() + 1);
        for line in text.split('\n') {
            out.push_str(stamp.as_deref().unwrap_or_default());
            out.push_str(line);
            out.push('\n');
        }
        out
    }

    /// One line (or several) of the report, on stdout.
    pub(crate) fn line(text: &str) -> std::io::Result<()> {
        use std::io::{IsTerminal, Write};
        let terminal = std::io::stdout().is_terminal();
        Report.write_all(Report::stamped(text, terminal).as_bytes())
    }

    /// A warning or failure, on stderr (where nothing is left to do if it is gone).
    pub(crate) fn warning(text: &str) {
        use std::io::{IsTerminal, Write};
        let mut stderr = std::io::stderr();
        let terminal = stderr.is_terminal();
        let _ = stderr.write_all(Report::stamped(text, terminal).as_bytes());
    }
}

impl std::io::Write for Report {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match std::io::stdout().write(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(buf.len()),
            other => other,
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match std::io::stdout().flush() {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => other,
        }
    }
}

/// "1 item", "2 items", "0 items": `noun` with an "s" unless there is one.
pub(crate) fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("{n} {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// The moment a command runs, read once in `main` and passed down.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub now: DateTime<Utc>,
    /// Reads the time again: when a run ends, and for its lines' stamps.
    /// None: the time stays `now` (the preview's review page, a test).
    pub ticking: Option<fn() -> DateTime<Utc>>,
}

impl Clock {
    /// A clock that stays at `now`.
    pub fn fixed(now: DateTime<Utc>) -> Clock {
        Clock { now, ticking: None }
    }

    /// The time now: `now` moved on, when the clock ticks.
    pub(crate) fn current(&self) -> DateTime<Utc> {
        self.ticking.map_or(self.now, |tick| tick())
    }
}

/// With `BULLETIN_PHASES` set, writes `phase: NAME` on stderr as `run`
/// enters each phase (`fetch`, `build`, `send`, then `done`; `edit` says
/// `corrected` once its correction is stored, `approve` `approved`): a stable line
/// for a supervisor or a test to key on, where the human output may change.
pub(crate) fn phase(name: &str) {
    if std::env::var_os("BULLETIN_PHASES").is_some() {
        eprintln!("phase: {name}");
    }
}

/// The lock, then the store: every operation that writes takes both.
pub(crate) fn open_for_writing(config: &Config) -> Result<(RunLock, Store)> {
    let lock = RunLock::acquire(&config.store_path())?;
    let store = Store::open(&config.store_path())?;
    Ok((lock, store))
}

/// Every stored item, classified with the current rules and lasting rules.
pub(crate) fn classified(config: &Config, store: &Store, knowledge: &Knowledge) -> Result<Vec<Classified>> {
    let classifier = knowledge.classifier(config);
    let items = items_with(store, |item| Some(classifier.classify(item)))?;
    if items.is_empty() {
        bail!(
            "the store {} holds no items yet: run `bulletin fetch` (or `bulletin run`) first",
            config.store_path().display()
        );
    }
    Ok(items)
}
