//! The suppression list, as deliver reads it: erased people, known only by
//! a keyed hash of their address ([`Key::keyed_hash`]), so the list itself
//! names nobody. An import skips them and a send never mails them; a new
//! consent, a confirmed sign-up ([`Store::confirm_signup`], given [`hash`]),
//! lifts it. Erasure ([`erase`]: the store's rows, the spool's lines and
//! the file transport's messages) and export live here too: the page and
//! the command share them. Not the `suppressions` of the bounces (addresses
//! soft bounces stopped, by address): an erasure deletes those with the rest.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::spool::{Spool, SpoolError};
use super::token::{Key, KeyError};
use crate::config::Mail;
use crate::lock::RunLock;
use crate::mail::log::LogError;
use crate::mail::send::remove_mail_to;
use crate::store::{Erased, PersonData, Store, StoreError};

/// The keyed hash's purpose: its own derived key, used for nothing else.
const PURPOSE: &str = "suppressed address";

/// The suppression list's entry for `email` (its ASCII lowercase form, as
/// the store keys subscribers: any spelling of one address is one entry).
pub(crate) fn hash(key: &Key, email: &str) -> String {
    key.keyed_hash(PURPOSE, email.to_ascii_lowercase().as_bytes())
}

/// What an erasure removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Erasure {
    /// The store's rows, by table.
    pub(crate) rows: Erased,
    /// Messages the file transport wrote to them (`<out_dir>/mail/…`).
    pub(crate) mail_files: usize,
    /// Unsubscribes of theirs kept in the spool while the store was busy.
    pub(crate) spooled: usize,
}

/// Erases `email` from everything bulletin wrote: the journal a killed
/// send left folded in first, then every row about them deleted and their
/// address's keyed hash kept, their lines of the unsubscribe spool, and
/// every message the file transport wrote to them under `mail_folder`.
/// What the preference centre and `subscribers erase` both do, holding the
/// run lock (`_lock`): no send is writing a journal or messages meanwhile.
pub(crate) fn erase(
    _lock: &RunLock,
    store: &mut Store,
    key: &Key,
    mail_folder: &Path,
    email: &str,
    now: DateTime<Utc>,
) -> Result<Erasure, ErasureError> {
    crate::mail::log::recover(store)?;
    let rows = store.erase_person(email, &hash(key, email), now)?;
    let spooled = Spool::beside(store.path()).forget(email)?;
    let mail_files = remove_mail_to(mail_folder, email).map_err(|source| ErasureError::Files {
        path: mail_folder.to_path_buf(),
        source,
    })?;
    Ok(Erasure {
        rows,
        mail_files,
        spooled,
    })
}

/// Why an erasure did not finish. Run again, it does the rest.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ErasureError {
    #[error(transparent)]
    Journal(#[from] LogError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Spool(#[from] SpoolError),
    #[error("removing their messages under {}", path.display())]
    Files {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What a person's export is: the rows held about them, as JSON, the same
/// from the preference centre and from `subscribers export`.
pub(crate) fn export_json(data: &PersonData) -> String {
    serde_json::to_string_pretty(data).expect("rows of text and numbers always serialise") + "\n"
}

/// The suppressed addresses' hashes, with the key to hash an address by.
pub(crate) struct Suppressed {
    /// `None` only when nobody is suppressed: no key is needed then.
    key: Option<Key>,
    hashes: HashSet<String>,
}

impl Suppressed {
    /// The list from the store. The signing key is read only when the list
    /// is not empty, so an import with nobody erased needs no key.
    pub(crate) fn load(store: &Store, mail: Option<&Mail>) -> Result<Suppressed, SuppressionError> {
        let hashes = store.suppressed()?;
        if hashes.is_empty() {
            return Ok(Suppressed { key: None, hashes });
        }
        let mail = mail.ok_or(SuppressionError::NoMail { count: hashes.len() })?;
        let key = Key::from_env(&mail.signing_key_env).map_err(|source| SuppressionError::Key {
            count: hashes.len(),
            source,
        })?;
        Ok(Suppressed {
            key: Some(key),
            hashes,
        })
    }

    /// Whether `email` erased themselves (and gave no consent since).
    pub(crate) fn holds(&self, email: &str) -> bool {
        self.key
            .as_ref()
            .is_some_and(|key| self.hashes.contains(&hash(key, email)))
    }
}

/// Why the suppression list cannot be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SuppressionError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "{count} erased address(es) are suppressed, and telling them needs the signing key of [mail], \
         which the config lacks"
    )]
    NoMail { count: usize },
    #[error("{count} erased address(es) are suppressed, and telling them needs the signing key")]
    Key {
        count: usize,
        #[source]
        source: KeyError,
    },
}
