//! The subscriber list as the operator keeps it: a CSV import, an
//! unsubscribe, hard bounces counted wrongly undone.

use std::path::Path;

use anyhow::{Context, Result, bail};
use chrono::{NaiveDate, NaiveTime};

use super::{Clock, open_for_writing};
use crate::audience::{Suppressed, normalise_email, read_csv};
use crate::config::Config;
use crate::store::BounceReset;

/// Subscribers written to the store per transaction by an import: the
/// rows are read as the file is, so memory stays that of one batch.
const IMPORT_BATCH: usize = 10_000;

/// What an import did, counted.
pub(crate) struct Imported {
    /// Rows imported, new or updated.
    pub(crate) imported: usize,
    /// Of those, the new subscribers.
    pub(crate) added: usize,
    /// Rows refused, each said on stderr.
    pub(crate) rejected: usize,
    /// Erased people left out.
    pub(crate) erased: usize,
}

/// `bulletin subscribers import FILE.csv`: the good rows imported, each bad
/// row said on stderr with its line number and reason, and each erased
/// person (on the suppression list) left out with a line saying so.
pub(crate) fn import(config: &Config, file: &Path, clock: Clock) -> Result<Imported> {
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
    Ok(Imported {
        imported,
        added,
        rejected,
        erased,
    })
}

/// `bulletin subscribers unsubscribe EMAIL [--newsletter ID]`: the
/// address, normalised, unsubscribed from one newsletter or from all.
pub(crate) fn unsubscribe(
    config: &Config,
    email: &str,
    newsletter: Option<&str>,
    clock: Clock,
) -> Result<String> {
    let email = normalise_email(email)?;
    if let Some(id) = newsletter {
        config.newsletter(id)?;
    }
    let (_lock, mut store) = open_for_writing(config)?;
    if !store.unsubscribe(&email, newsletter, clock.now)? {
        bail!("{email} is not a subscriber");
    }
    Ok(email)
}

/// `bulletin subscribers reset-bounces [EMAIL…] [--since DATE]`: hard
/// bounces counted wrongly undone, for every subscriber or those named.
pub(crate) fn reset_bounces(
    config: &Config,
    emails: &[String],
    since: Option<NaiveDate>,
    clock: Clock,
) -> Result<Vec<BounceReset>> {
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
    Ok(store.reset_bounces(&emails, since, clock.now)?)
}
