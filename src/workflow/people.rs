//! One person's data: what is held about them (`subscribers export`) and
//! their erasure (`subscribers erase`). Both rest on what the preference
//! centre does too: [`Store::person`] and [`crate::mail::erase`].

use anyhow::{Result, anyhow};

use super::{Clock, open_for_writing};
use crate::audience::{Key, normalise_email};
use crate::config::Config;
use crate::mail::{Erasure, mail_folder};
use crate::store::{PersonData, Store};

/// Everything held about `email`, from every table with an `email` column,
/// read without the lock.
pub(crate) fn person(config: &Config, email: &str) -> Result<(String, PersonData)> {
    let email = normalise_email(email)?;
    let store = Store::open_read_only(&config.store_path())?;
    let data = store.person(&email)?;
    Ok((email, data))
}

/// Erases `email` under the lock: every row about them deleted and their
/// address's keyed hash kept (with the signing key of `[mail]`), the files
/// that name them removed.
pub(crate) fn erase(config: &Config, email: &str, clock: Clock) -> Result<(String, Erasure)> {
    let email = normalise_email(email)?;
    let mail = config.mail.as_ref().ok_or_else(|| {
        anyhow!("no [mail] section in the config: erasure keeps a keyed hash, made with its signing key")
    })?;
    let key = Key::from_env(&mail.signing_key_env)?;
    let (lock, mut store) = open_for_writing(config)?;
    let erased = crate::mail::erase(&lock, &mut store, &key, &mail_folder(config), &email, clock.now)?;
    Ok((email, erased))
}
