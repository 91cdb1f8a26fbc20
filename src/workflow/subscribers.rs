//! The subscriber list as the operator keeps it: a CSV import, an
//! unsubscribe, hard bounces counted wrongly undone.

use std::path::Path;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

use super::{Clock, open_for_writing};
use crate::audience::{AddressError, CsvOptions, SlashDates, Suppressed, normalise_email, read_csv};
use crate::causes::said_once;
use crate::config::{Config, UnknownNewsletter};
use crate::store::{BounceReset, Store, StoreError};

/// Subscribers written to the store per transaction by an import: the
/// rows are read as the file is, so memory stays that of one batch.
const IMPORT_BATCH: usize = 10_000;

/// What an import did, counted.
pub(crate) struct Imported {
    /// Rows imported, new or updated.
    pub(crate) imported: usize,
    /// Of those, the new subscribers.
    pub(crate) added: usize,
    /// Of those, rows imported without the EU-only newsletters they named
    /// but are not for, each said on stderr.
    pub(crate) narrowed: usize,
    /// Rows refused, each said on stderr.
    pub(crate) rejected: usize,
    /// Erased people left out.
    pub(crate) erased: usize,
    /// How dates with slashes were read, when the file had any.
    pub(crate) slash_dates: Option<SlashDates>,
}

/// `bulletin subscribers import FILE.csv`: the good rows imported, each bad
/// row said on stderr with its line number and reason (a repeated address
/// with the line of its first row), each EU-only newsletter refused to a
/// row as the sign-up form refuses it, and each erased person (on the
/// suppression list) left out with a line saying so. The signing key is
/// read only to tell erased people, and asked for only by a row of an
/// address that is not a subscriber yet.
pub(crate) fn import(config: &Config, file: &Path, options: &CsvOptions, clock: Clock) -> Result<Imported> {
    let input = std::fs::File::open(file).with_context(|| format!("reading {}", file.display()))?;
    let mut rows = read_csv(config, options, input).with_context(|| file.display().to_string())?;
    let (_lock, mut store) = open_for_writing(config)?;
    let suppressed = Suppressed::read(&store, config.mail.as_ref())?;
    // The consent records name the file, not the folder it was read from.
    let name = file.file_name().unwrap_or(file.as_os_str()).to_string_lossy();
    let at = |line: u64| format!("{}:{line}", file.display());
    let mut done = Imported {
        imported: 0,
        added: 0,
        narrowed: 0,
        rejected: 0,
        erased: 0,
        slash_dates: None,
    };
    let mut batch = Vec::with_capacity(IMPORT_BATCH);
    while let Some(row) = rows.next() {
        let line = rows.line();
        let row = match row {
            Ok(row) => row,
            Err(row) => {
                eprintln!("{}: {}", at(row.line), row.reason);
                done.rejected += 1;
                continue;
            }
        };
        let email = &row.subscriber.email;
        match suppressed.check(email) {
            Ok(false) => {}
            Ok(true) => {
                eprintln!(
                    "{}: {email}: erased at their request; not added again without a new consent (a confirmed sign-up)",
                    at(line)
                );
                done.erased += 1;
                continue;
            }
            // A subscriber is never on the list: a confirmed sign-up, the
            // only way back in, lifts it.
            Err(_) if store.is_subscriber(email)? => {}
            Err(why) => {
                eprintln!("{}: {email}: not imported: {}", at(line), said_once(why));
                done.rejected += 1;
                continue;
            }
        }
        for refused in &row.refused {
            eprintln!("{}: {email}: not subscribed: {refused}", at(line));
        }
        done.narrowed += usize::from(!row.refused.is_empty());
        batch.push(row.subscriber);
        if batch.len() == IMPORT_BATCH {
            done.added += store.import_subscribers(&batch, &name, clock.now)?;
            done.imported += batch.len();
            batch.clear();
        }
    }
    done.added += store.import_subscribers(&batch, &name, clock.now)?;
    done.imported += batch.len();
    if let Some(encoding) = rows.encoding() {
        eprintln!("{}: not UTF-8: read as {encoding}", file.display());
    }
    done.slash_dates = rows.slash_dates();
    Ok(done)
}

/// `bulletin subscribers unsubscribe EMAIL [--newsletter ID]`: the
/// address, normalised, unsubscribed from one newsletter or from all, by
/// `by` at `clock`.
pub(crate) fn unsubscribe(
    config: &Config,
    email: &str,
    newsletter: Option<&str>,
    by: &str,
    clock: Clock,
) -> Result<String> {
    let (_lock, mut store) = open_for_writing(config)?;
    Ok(unsubscribe_for(
        config, &mut store, email, newsletter, by, clock.now,
    )?)
}

/// Why an unsubscribe on a subscriber's behalf did nothing.
#[derive(Debug, thiserror::Error)]
pub(crate) enum UnsubscribeError {
    #[error(transparent)]
    Address(#[from] AddressError),
    #[error(transparent)]
    Newsletter(#[from] UnknownNewsletter),
    #[error("{0} is not a subscriber")]
    NotSubscriber(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The one unsubscribe on a subscriber's behalf, the command's and the
/// desk's admins': the address normalised, the newsletter checked, the
/// unsubscribe recorded with who (`by`) and when (`now`). The address, normalised.
pub(crate) fn unsubscribe_for(
    config: &Config,
    store: &mut Store,
    email: &str,
    newsletter: Option<&str>,
    by: &str,
    now: DateTime<Utc>,
) -> Result<String, UnsubscribeError> {
    let email = normalise_email(email)?;
    if let Some(id) = newsletter {
        config.newsletter(id)?;
    }
    if !store.unsubscribe(&email, newsletter, by, now)? {
        return Err(UnsubscribeError::NotSubscriber(email));
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
