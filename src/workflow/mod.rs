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
        use std::io::Write as _;
        writeln!($crate::workflow::Report, $($arg)*)?
    }};
}
pub(crate) use say;

mod bounces;
mod edition;
mod editors;
mod fetch;
mod learn;
mod people;
mod review;
mod send;
mod stored;
mod subscribers;

use anyhow::{Result, bail};
use chrono::{DateTime, Utc};

use crate::classify::{Classified, Classifier, Weights};
use crate::config::Config;
use crate::lock::RunLock;
use crate::store::Store;

pub(crate) use bounces::read_bounces;
pub(crate) use edition::{Next, build, draft_paths, run};
use edition::{candidates, refresh_draft, write_archive, write_edition};
pub(crate) use editors::{
    ABSOLUTE, Password, Secret, add_editor, begin_session, check_password, current_session, end_session,
    form_token, form_token_matches, link_editor, login_gate, remove_editor, reset_editor,
    set_password_by_link,
};
pub(crate) use fetch::{fetch, fetch_into};
pub(crate) use learn::{bundled_model, learn, weights};
pub(crate) use people::{erase, person};
pub(crate) use review::{approve, approve_edition, correct, describe, draft, edit};
pub(crate) use send::{Send, send};
pub(crate) use stored::items_with;
pub(crate) use subscribers::{Imported, import, reset_bounces, unsubscribe};

/// Standard output for the report of a command that changes something
/// (`fetch`, `build`, `run`, `send`, `subscribers import`…). A reader that
/// stopped early (`bulletin run | head -1`) has seen enough, but the job it
/// reports on still runs to its end, and its exit code still tells how it
/// went: a closed pipe swallows the rest. Read-only commands write to
/// stdout itself and stop there (exit 0), as they have nothing to finish.
pub(crate) struct Report;

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

/// Every stored item, classified with the current rules.
pub(crate) fn classified(config: &Config, store: &Store, weights: &Weights) -> Result<Vec<Classified>> {
    let classifier = Classifier::new(config, weights);
    let items = items_with(store, |item| Some(classifier.classify(item)))?;
    if items.is_empty() {
        bail!(
            "the store {} holds no items yet: run `bulletin fetch` (or `bulletin run`) first",
            config.store_path().display()
        );
    }
    Ok(items)
}
