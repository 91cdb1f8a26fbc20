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
//!
//! The file stays small whoever posts: a request for an address and
//! newsletter already kept is not written again (the same token posted a
//! thousand times is one line), only tokens that open with the key reach
//! it (`serve` answers a forged one 400 before), and it holds at most
//! [`MAX_KEPT`] requests. Past that a request is not kept, and `serve`
//! says so: 503, "not recorded, try again later". An erasure removes the
//! person's lines ([`Spool::forget`]).

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
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

/// The most requests the spool holds, each a different address and
/// newsletter: about 100 bytes a line, 1 MB at most.
pub(crate) const MAX_KEPT: usize = 10_000;

/// What became of one request given to [`Spool::keep`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keeping {
    /// On disk, now or by an earlier request for the same address and newsletter.
    Kept,
    /// Not kept: the spool holds [`MAX_KEPT`] requests already.
    Full,
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

    /// Appends those of `requests` not kept yet, while there is room, and
    /// returns once the disk has them: what became of each, in order.
    pub(crate) fn keep(&self, requests: &[Request]) -> Result<Vec<Keeping>, SpoolError> {
        let mut file = crate::store::private_file()
            .read(true)
            .append(true)
            .create(true)
            .open(&self.path)
            .map_err(|e| self.io(e))?;
        file.lock().map_err(|e| self.io(e))?;
        let mut kept: HashSet<(String, Option<String>)> = self.read(&mut file)?.iter().map(entry).collect();
        let mut text = String::new();
        let mut keeping = Vec::with_capacity(requests.len());
        for request in requests {
            let known = kept.contains(&entry(request));
            if !known && kept.len() >= MAX_KEPT {
                keeping.push(Keeping::Full);
                continue;
            }
            if !known {
                kept.insert(entry(request));
                text.push_str(&serde_json::to_string(request).map_err(|e| self.io(e.into()))?);
                text.push('\n');
            }
            keeping.push(Keeping::Kept);
        }
        if !text.is_empty() {
            file.write_all(text.as_bytes()).map_err(|e| self.io(e))?;
            file.sync_data().map_err(|e| self.io(e))?;
        }
        Ok(keeping)
    }

    /// Removes every kept request for `email` (any case): an erasure
    /// leaves no line naming them. How many went.
    pub(crate) fn forget(&self, email: &str) -> Result<usize, SpoolError> {
        let Some(mut file) = self.open_locked()? else {
            return Ok(0);
        };
        let requests = self.read(&mut file)?;
        let email = email.to_ascii_lowercase();
        let (theirs, others): (Vec<Request>, Vec<Request>) = requests
            .into_iter()
            .partition(|r| r.email.eq_ignore_ascii_case(&email));
        if theirs.is_empty() {
            return Ok(0);
        }
        let mut text = String::new();
        for request in &others {
            text.push_str(&serde_json::to_string(request).map_err(|e| self.io(e.into()))?);
            text.push('\n');
        }
        file.rewind().map_err(|e| self.io(e))?;
        file.write_all(text.as_bytes()).map_err(|e| self.io(e))?;
        file.set_len(text.len() as u64).map_err(|e| self.io(e))?;
        file.sync_all().map_err(|e| self.io(e))?;
        Ok(theirs.len())
    }

    /// Applies every kept unsubscribe in one transaction, then empties the
    /// file; how many were applied. A line cut short by a crash is skipped
    /// with a warning naming it (its request was never confirmed).
    pub(crate) fn apply(&self, store: &mut Store) -> Result<usize, SpoolError> {
        let Some(mut file) = self.open_locked()? else {
            return Ok(0);
        };
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

    /// The spool file, opened for reading and writing and locked against
    /// another process; `None` when nothing was ever kept.
    fn open_locked(&self) -> Result<Option<File>, SpoolError> {
        let file = match OpenOptions::new().read(true).write(true).open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io(e)),
        };
        file.lock().map_err(|e| self.io(e))?;
        Ok(Some(file))
    }

    fn io(&self, source: std::io::Error) -> SpoolError {
        SpoolError::Io {
            path: self.path.clone(),
            source,
        }
    }
}

/// What makes two requests one: the same address (any case) and newsletter.
fn entry(request: &Request) -> (String, Option<String>) {
    (request.email.to_ascii_lowercase(), request.newsletter.clone())
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

    #[test]
    fn the_spool_keeps_each_address_and_newsletter_once_up_to_its_cap() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::beside(&dir.path().join("bulletin.sqlite"));
        let at = DateTime::parse_from_rfc3339("2026-11-23T10:00:00Z")
            .unwrap()
            .to_utc();
        let request = |n: usize| Request {
            email: format!("reader{n}@example.de"),
            newsletter: Some("about-japan".into()),
            at,
        };
        let mut requests: Vec<Request> = (0..MAX_KEPT + 1).map(request).collect();
        requests.push(Request {
            email: "READER0@example.de".into(),
            ..request(0)
        });
        let keeping = spool.keep(&requests).unwrap();
        assert!(keeping[..MAX_KEPT].iter().all(|k| *k == Keeping::Kept));
        assert_eq!(keeping[MAX_KEPT], Keeping::Full, "one past the cap");
        assert_eq!(keeping[MAX_KEPT + 1], Keeping::Kept, "already kept, in any case");
        let size = std::fs::metadata(spool.path()).unwrap().len();
        assert!(size < 1_000_000, "{size} bytes");
        assert_eq!(spool.keep(&[request(MAX_KEPT + 5)]).unwrap(), vec![Keeping::Full]);
        assert_eq!(spool.keep(&[request(7)]).unwrap(), vec![Keeping::Kept]);

        assert_eq!(spool.forget("Reader7@example.de").unwrap(), 1);
        let mut file = File::open(spool.path()).unwrap();
        let left = spool.read(&mut file).unwrap();
        assert_eq!(left.len(), MAX_KEPT - 1);
        assert!(left.iter().all(|r| r.email != "reader7@example.de"));
        assert_eq!(
            spool.keep(&[request(MAX_KEPT + 5)]).unwrap(),
            vec![Keeping::Kept],
            "room again"
        );
    }
}
