//! One bulletin at a time per store: an exclusive lock on `<store>.lock`.
//!
//! The operating system drops the lock when the process ends, however it
//! ends (SIGKILL included), so a crashed run never blocks the next one.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// Held while a command writes to the store; released on drop or exit.
pub(crate) struct RunLock {
    _file: File,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another bulletin is running on this store (lock {path} held by {holder}); nothing done")]
    Held { path: PathBuf, holder: String },
    #[error("cannot use the lock file {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl RunLock {
    /// Takes the lock next to `store`, or says who holds it; never waits.
    pub(crate) fn acquire(store: &Path) -> Result<RunLock, LockError> {
        let path = lock_path(store);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = match holder.trim() {
                    "" => "another process".to_string(),
                    pid => format!("process {pid}"),
                };
                return Err(LockError::Held { path, holder });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        file.set_len(0)
            .and_then(|_| file.rewind())
            .and_then(|_| writeln!(file, "{}", std::process::id()))
            .map_err(io)?;
        Ok(RunLock { _file: file })
    }
}

fn lock_path(store: &Path) -> PathBuf {
    let mut name = store.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    store.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("bulletin.sqlite");
        let first = RunLock::acquire(&store).unwrap();
        let err = RunLock::acquire(&store).err().expect("held");
        assert!(
            err.to_string()
                .contains(&format!("held by process {}", std::process::id())),
            "{err}"
        );
        drop(first);
        RunLock::acquire(&store).expect("free again");
    }
}
