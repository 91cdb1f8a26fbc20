//! The bounce mailbox read (Maildir folders, mbox files, `.eml` files),
//! every mail first with the store only read, so `run` and `send` go on
//! meanwhile; then, under the run lock, every mail recorded and each
//! bounce, complaint and mailed unsubscribe proven to be about a
//! subscriber acted on, once, in one transaction.

use std::path::PathBuf;

use anyhow::{Result, anyhow};

use super::health::{Judged, Recording};
use super::{Clock, open_for_writing};
use crate::audience::Key;
use crate::bounces::{Bounces, Processed, read_path};
use crate::causes::said_once;
use crate::config::Config;
use crate::store::{RunCommand, Store};

/// What reading the mailbox found.
pub(crate) struct Read {
    /// Each mail read, with what was done about it.
    pub(crate) processed: Vec<Processed>,
    /// Paths or mails that could not be read (each said on stderr).
    pub(crate) unreadable: usize,
    /// `mail.suppress_after_hard_bounces`, for the report.
    pub(crate) hard_limit: u32,
}

impl Judged for Read {
    fn problems(&self) -> Vec<String> {
        if self.unreadable == 0 {
            return Vec::new();
        }
        vec!["some paths or mails could not be read: `bulletin bounces` names each on stderr".to_string()]
    }
}

/// Reads every mail under `paths` and, unless `dry_run`, records them and
/// acts on the proven ones. A real read is recorded as a run once it has
/// ended (reading takes no lock, as long as the mailbox makes it).
pub(crate) fn read_bounces(config: &Config, paths: &[PathBuf], dry_run: bool, clock: Clock) -> Result<Read> {
    let read = read_mailbox(config, paths, dry_run, clock);
    if dry_run {
        return read;
    }
    let (_lock, mut store) = match open_for_writing(config) {
        Ok(opened) => opened,
        Err(e) => {
            warning!(
                "warning: this run of `bulletin bounces` was not recorded: {}",
                said_once(e.as_ref())
            );
            return read;
        }
    };
    let recording = Recording::start(&mut store, RunCommand::Bounces, clock)?;
    recording.finish(config, &mut store, clock, None, clock.now.date_naive(), read)
}

fn read_mailbox(config: &Config, paths: &[PathBuf], dry_run: bool, clock: Clock) -> Result<Read> {
    let mail = config
        .mail
        .as_ref()
        .ok_or_else(|| anyhow!("no [mail] section in the config: no bounces to match"))?;
    let key = Key::from_env(&mail.signing_key_env)?;
    let read_only = Store::open_read_only(&config.store_path())?;
    let mut bounces = Bounces::new(config, mail, &key, &read_only, clock.now);
    let mut processed = Vec::new();
    let mut failed = None;
    let mut unreadable = 0;
    for path in paths {
        let errors = read_path(path, &mut |found| {
            if failed.is_none() {
                match bounces.read(found) {
                    Ok(one) => processed.push(one),
                    Err(e) => failed = Some(e),
                }
            }
        });
        if let Some(error) = failed.take() {
            return Err(error.into());
        }
        for error in &errors {
            eprintln!("error: {error}");
        }
        unreadable += errors.len();
    }
    if !dry_run && processed.iter().any(|p| !p.read_before) {
        // Only now the lock: reading took as long as the mailbox made it.
        let (_lock, mut store) = open_for_writing(config)?;
        bounces.record(&mut store, &mut processed)?;
    }
    Ok(Read {
        processed,
        unreadable,
        hard_limit: mail.suppress_after_hard_bounces,
    })
}
