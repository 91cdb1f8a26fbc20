//! The suppression list, as deliver reads it: erased people, known only by
//! a keyed hash of their address ([`Key::keyed_hash`]), so the list itself
//! names nobody. An import skips them and a send never mails them; a new
//! consent, a confirmed sign-up ([`Store::confirm_signup`], given [`hash`]),
//! lifts it. A person's export lives here too (erasure, which also
//! removes the journal's and the file transport's copies, is
//! [`crate::mail::erase`]). Not the `suppressions` of the bounces (addresses
//! soft bounces stopped, by address): an erasure deletes those with the rest.

use std::collections::HashSet;

use super::token::{Key, KeyError};
use crate::config::Mail;
use crate::store::{PersonData, Store, StoreError};

/// The keyed hash's purpose: its own derived key, used for nothing else.
const PURPOSE: &str = "suppressed address";

/// The suppression list's entry for `email` (its ASCII lowercase form, as
/// the store keys subscribers: any spelling of one address is one entry).
pub(crate) fn hash(key: &Key, email: &str) -> String {
    key.keyed_hash(PURPOSE, email.to_ascii_lowercase().as_bytes())
}

/// What a person's export is: the rows held about them, as JSON, the same
/// from the preference centre and from `subscribers export`.
pub(crate) fn export_json(data: &PersonData) -> String {
    serde_json::to_string_pretty(data).expect("rows of text and numbers always serialise") + "\n"
}

/// The suppressed addresses' hashes, with the key to hash an address by.
pub(crate) struct Suppressed {
    /// `Ok(None)` when nobody is suppressed: no key is needed then. An
    /// error when somebody is and the key cannot be read: a send stops
    /// ([`Suppressed::load`]); an import asks [`Suppressed::check`] only for
    /// the rows that need it.
    key: Result<Option<Key>, SuppressionError>,
    hashes: HashSet<String>,
}

impl Suppressed {
    /// The list from the store, with the signing key when the list is not
    /// empty: a send needs both.
    pub(crate) fn load(store: &Store, mail: Option<&Mail>) -> Result<Suppressed, SuppressionError> {
        let Suppressed { key, hashes } = Suppressed::read(store, mail)?;
        Ok(Suppressed {
            key: Ok(key?),
            hashes,
        })
    }

    /// The list from the store; the signing key is read only when the list
    /// is not empty, and a key that cannot be read is only told to
    /// [`Suppressed::check`]: an import needs it for new addresses alone.
    pub(crate) fn read(store: &Store, mail: Option<&Mail>) -> Result<Suppressed, StoreError> {
        let hashes = store.suppressed()?;
        let count = hashes.len();
        let key = if hashes.is_empty() {
            Ok(None)
        } else {
            mail.ok_or(SuppressionError::NoMail { count }).and_then(|mail| {
                Key::from_env(&mail.signing_key_env)
                    .map(Some)
                    .map_err(|source| SuppressionError::Key { count, source })
            })
        };
        Ok(Suppressed { key, hashes })
    }

    /// Whether `email` erased themselves (and gave no consent since); the
    /// key's error when somebody is suppressed and the key cannot be read.
    pub(crate) fn check(&self, email: &str) -> Result<bool, &SuppressionError> {
        match &self.key {
            Ok(None) => Ok(false),
            Ok(Some(key)) => Ok(self.hashes.contains(&hash(key, email))),
            Err(error) => Err(error),
        }
    }

    /// Whether `email` erased themselves, from a list [`Suppressed::load`] read.
    pub(crate) fn holds(&self, email: &str) -> bool {
        matches!(self.check(email), Ok(true))
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
