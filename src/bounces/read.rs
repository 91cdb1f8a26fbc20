//! Mail from the paths `bulletin bounces` is given: a Maildir folder (its
//! `new/` and `cur/`), an mbox file, a single `.eml` file, or a folder of
//! them. Only read: no file is ever moved, renamed or deleted.

use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use mail_parser::mailbox::mbox::MessageIterator;

/// One mail, with the file it came from.
pub(crate) struct Found {
    pub(crate) file: PathBuf,
    pub(crate) bytes: Vec<u8>,
}

/// A path that could not be read; the others are still read.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub(crate) struct ReadError {
    pub(crate) path: PathBuf,
    #[source]
    pub(crate) source: std::io::Error,
}

/// Hands each mail under `path` to `each`, in a stable order (Maildir's
/// `new/` then `cur/`, each by file name; an mbox's in its order); the
/// errors are returned, each for one file or folder.
pub(crate) fn read_path(path: &Path, each: &mut dyn FnMut(Found)) -> Vec<ReadError> {
    let failed = |source| ReadError {
        path: path.to_path_buf(),
        source,
    };
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(e) => return vec![failed(e)],
    };
    if !metadata.is_dir() {
        return read_file(path, each).err().into_iter().collect();
    }
    let maildir = path.join("cur").is_dir() || path.join("new").is_dir();
    let folders = if maildir {
        vec![path.join("new"), path.join("cur")]
    } else {
        vec![path.to_path_buf()]
    };
    let mut errors = Vec::new();
    for folder in folders.iter().filter(|folder| folder.is_dir()) {
        match files_in(folder) {
            Ok(files) => errors.extend(files.iter().filter_map(|file| read_file(file, each).err())),
            Err(e) => errors.push(ReadError {
                path: folder.clone(),
                source: e,
            }),
        }
    }
    errors
}

/// The regular files in `folder` (not hidden ones, not sub-folders), by name.
fn files_in(folder: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(folder)? {
        let entry = entry?;
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if !hidden && entry.file_type()?.is_file() {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}

/// One file: an mbox when it starts with a `From ` line, else one mail.
fn read_file(path: &Path, each: &mut dyn FnMut(Found)) -> Result<(), ReadError> {
    let failed = |source| ReadError {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(failed)?;
    let mut start = [0u8; 5];
    let read = file.read(&mut start).map_err(failed)?;
    let mut reader = BufReader::new(std::io::Cursor::new(start[..read].to_vec()).chain(file));
    if &start[..read] == b"From " {
        for message in MessageIterator::new(reader) {
            let message = message.map_err(failed)?;
            each(Found {
                file: path.to_path_buf(),
                bytes: message.unwrap_contents(),
            });
        }
        return Ok(());
    }
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes).map_err(failed)?;
    each(Found {
        file: path.to_path_buf(),
        bytes,
    });
    Ok(())
}
