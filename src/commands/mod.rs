//! The commands: each reads as the stages it runs. Results go to stdout,
//! diagnostics to stderr; the exit code tells a script what happened.

/// `println!` for the report of a command that changes something: written
/// to [`Report`], so a closed stdout neither panics nor stops the work.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!($crate::commands::Report, $($arg)*)?
    }};
}

mod classify;
mod deliver;
mod fetch;
mod inspect;
pub mod preview;
mod publish;
mod stored;

use std::process::ExitCode;

use anyhow::{Result, bail};
use chrono::{DateTime, Utc};

use crate::classify::{Classified, Classifier, Weights};
use crate::config::Config;
use crate::domain::SourceReport;
use crate::lock::RunLock;
use crate::store::Store;

pub use classify::{EvalOptions, eval};
pub use deliver::{EXIT_UNDELIVERED, ListFormat, import, list, reset_bounces, send, serve, unsubscribe};
pub use fetch::fetch;
pub use inspect::{Format, ItemsQuery, check, editions, feeds, items, parse};
pub use publish::{build, run};

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

/// Everything went as asked.
pub(crate) const EXIT_OK: u8 = 0;
/// Nothing useful was done: bad config, unreadable input, a store problem.
pub const EXIT_FAILURE: u8 = 1;
/// The work was done, but some inputs failed (a source, a local file, a
/// CSV row); each is reported on stderr.
pub(crate) const EXIT_PARTIAL: u8 = 3;
/// Another bulletin holds the store's lock; this one did nothing.
pub const EXIT_LOCKED: u8 = 4;

/// The moment a command runs, read once in `main` and passed down.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub now: DateTime<Utc>,
}

/// With `BULLETIN_PHASES` set, writes `phase: NAME` on stderr as `run`
/// enters each phase (`fetch`, `build`, `send`, then `done`): a stable line
/// for a supervisor or a test to key on, where the human output may change.
fn phase(name: &str) {
    if std::env::var_os("BULLETIN_PHASES").is_some() {
        eprintln!("phase: {name}");
    }
}

/// The lock, then the store: every command that writes takes both.
fn open_for_writing(config: &Config) -> Result<(RunLock, Store)> {
    let lock = RunLock::acquire(&config.store_path())?;
    let store = Store::open(&config.store_path())?;
    Ok((lock, store))
}

/// Every stored item, classified with the current rules.
fn classified(config: &Config, store: &Store, weights: &Weights) -> Result<Vec<Classified>> {
    let classifier = Classifier::new(config, weights);
    let items = stored::items_with(store, |item| Some(classifier.classify(item)))?;
    if items.is_empty() {
        bail!(
            "the store {} holds no items yet: run `bulletin fetch` (or `bulletin run`) first",
            config.store_path().display()
        );
    }
    Ok(items)
}

/// 0, or 3 with a one-line summary when some sources failed.
fn exit_code(reports: &[SourceReport]) -> ExitCode {
    match reports.iter().filter(|r| r.failed()).count() {
        0 => ExitCode::from(EXIT_OK),
        failed => {
            eprintln!("{failed} source(s) failed; the rest were used");
            ExitCode::from(EXIT_PARTIAL)
        }
    }
}
