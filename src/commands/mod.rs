//! The commands: each reads as the stages it runs. Results go to stdout,
//! diagnostics to stderr; the exit code tells a script what happened.

mod deliver;
mod fetch;
mod inspect;
pub mod preview;
mod publish;
mod stored;

use std::process::ExitCode;

use anyhow::{Result, bail};
use chrono::{DateTime, Utc};

use crate::classify::{Classified, Classifier};
use crate::config::Config;
use crate::domain::SourceReport;
use crate::lock::RunLock;
use crate::store::Store;

pub use deliver::{EXIT_UNDELIVERED, ListFormat, import, list, reset_bounces, send, serve, unsubscribe};
pub use fetch::fetch;
pub use inspect::{Format, ItemsQuery, check, editions, feeds, items, parse};
pub use publish::{build, run};

/// Everything went as asked.
pub const EXIT_OK: u8 = 0;
/// Nothing useful was done: bad config, unreadable input, a store problem.
pub const EXIT_FAILURE: u8 = 1;
/// The work was done, but some inputs failed (a source, a local file, a
/// CSV row); each is reported on stderr.
pub const EXIT_PARTIAL: u8 = 3;
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
fn classified(config: &Config, store: &Store) -> Result<Vec<Classified>> {
    let classifier = Classifier::new(config);
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
