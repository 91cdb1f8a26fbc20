//! Erasure: a person removed from everything bulletin wrote, the
//! journal a killed send left, the store, the unsubscribe spool and the
//! file transport's messages. It sits with the mail pipeline, above the
//! audience, as it folds the pipeline's journal in and removes its files.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::log::LogError;
use super::transport::remove_mail_to;
use crate::audience::Key;
use crate::audience::spool::{Spool, SpoolError};
use crate::audience::suppression::hash;
use crate::lock::RunLock;
use crate::store::{Erased, Store, StoreError};

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
    super::log::recover(store)?;
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
