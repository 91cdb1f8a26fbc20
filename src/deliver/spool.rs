//! Unsubscribes kept aside while the store is busy. When another process
//! holds the store (a long send, a backup), `serve` does not keep the
//! person waiting: it appends the request to a file beside the store
//! (`bulletin.sqlite.unsubscribes`, owner-only: it holds addresses), waits
//! for the disk to have it, and says it is taken care of. `serve` applies
//! the file as soon as the store is free, and `send` and `run` apply it
//! before they choose recipients, so an unsubscribe is never lost, even
//! when `serve` is stopped before the store is free.
//!
//! Appending and applying both hold an exclusive lock on the file, so a
//! line is never appended between applying the file and emptying it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::store::{Store, StoreError, UnsubscribeRequest as Request};

/// Why the spool could not be written or applied.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SpoolError {
    #[error("{path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("applying {path}")]
    Store {
        path: PathBuf,
        #[source]
        source: StoreError,
    },
}

/// The spool file of one store.
pub(crate) struct Spool {
    path: PathBuf,
}

impl Spool {
    /// The spool beside `store`: `<store>.unsubscribes`.
    pub(crate) fn beside(store: &Path) -> Spool {
        let mut path = store.as_os_str().to_owned();
        path.push(".unsubscribes");
        Spool { path: path.into() }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// True when there is nothing to apply.
    pub(crate) fn is_empty(&self) -> bool {
        std::fs::metadata(&self.path).map_or(true, |m| m.len() == 0)
    }

    /// Appends `requests` and returns once the disk has them.
    pub(crate) fn keep(&self, requests: &[Request]) -> Result<(), SpoolError> {
        let mut text = String::new();
        for request in requests {
            text.push_str(&serde_json::to_string(request).map_err(|e| self.io(e.into()))?);
            text.push('\n');
        }
        let mut file = crate::store::private_file()
            .append(true)
            .create(true)
            .open(&self.path)
            .map_err(|e| self.io(e))?;
        file.lock().map_err(|e| self.io(e))?;
        file.write_all(text.as_bytes()).map_err(|e| self.io(e))?;
        file.sync_data().map_err(|e| self.io(e))
    }

    /// Applies every kept unsubscribe in one transaction, then empties the
    /// file; how many were applied. A line cut short by a crash is skipped
    /// with a warning naming it (its request was never confirmed).
    pub(crate) fn apply(&self, store: &mut Store) -> Result<usize, SpoolError> {
        let mut file = match OpenOptions::new().read(true).write(true).open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(self.io(e)),
        };
        file.lock().map_err(|e| self.io(e))?;
        let requests = self.read(&mut file)?;
        if !requests.is_empty() {
            store
                .unsubscribe_many(&requests)
                .map_err(|source| SpoolError::Store {
                    path: self.path.clone(),
                    source,
                })?;
        }
        file.set_len(0).map_err(|e| self.io(e))?;
        file.sync_all().map_err(|e| self.io(e))?;
        Ok(requests.len())
    }

    fn read(&self, file: &mut File) -> Result<Vec<Request>, SpoolError> {
        let mut text = String::new();
        file.read_to_string(&mut text).map_err(|e| self.io(e))?;
        let mut requests = Vec::new();
        for (number, line) in text.lines().enumerate() {
            match serde_json::from_str::<Request>(line) {
                Ok(request) => requests.push(request),
                Err(e) => eprintln!("warning: {}:{}: skipped: {e}", self.path.display(), number + 1),
            }
        }
        Ok(requests)
    }

    fn io(&self, source: std::io::Error) -> SpoolError {
        SpoolError::Io {
            path: self.path.clone(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    #[test]
    fn kept_requests_are_read_back_and_a_cut_line_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::beside(&dir.path().join("bulletin.sqlite"));
        assert!(spool.is_empty());
        let at = DateTime::parse_from_rfc3339("2026-11-23T10:00:00Z")
            .unwrap()
            .to_utc();
        spool
            .keep(&[Request {
                email: "jane@example.de".into(),
                newsletter: Some("about-japan".into()),
                at,
            }])
            .unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(spool.path())
            .unwrap()
            .write_all(b"{\"email\":\"cut")
            .unwrap();
        let mut file = File::open(spool.path()).unwrap();
        let read = spool.read(&mut file).unwrap();
        assert_eq!(
            read,
            vec![Request {
                email: "jane@example.de".into(),
                newsletter: Some("about-japan".into()),
                at,
            }]
        );
        let mode = std::os::unix::fs::PermissionsExt::mode(&file.metadata().unwrap().permissions());
        assert_eq!(mode & 0o777, 0o600);
    }
}
