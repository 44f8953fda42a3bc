//! Stage 7, write: the EPUB reaches its path whole or not at all.
//!
//! Bytes go to a temporary file beside the target, which is synced and renamed over it only when
//! everything was written; on any failure the temporary file is removed and a previous EPUB at
//! the path is left as it was.
//!
//! The sync is what reports a write that failed on its way to the disk (an I/O error, or a full disk
//! or quota on a network file system, where `write` succeeds first); without it a short file could
//! replace a good EPUB. `sync_data` leaves out the file's timestamps, which nothing needs.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Enough that a book of many megabytes reaches its file in a few dozen system calls.
const BUFFER_BYTES: usize = 256 * 1024;

/// Writes `path` atomically; `write` produces the content, and what it returns is returned.
pub fn atomically<T>(path: &Path, write: impl FnOnce(&mut dyn Write) -> io::Result<T>) -> io::Result<T> {
    if path.is_dir() {
        return Err(io::Error::new(io::ErrorKind::IsADirectory, "the output path is a folder"));
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(|e| {
        let reason = if parent.ancestors().any(Path::is_file) {
            "a file is in the way".to_string()
        } else {
            crate::load::describe(&e)
        };
        io::Error::new(e.kind(), format!("cannot create folder '{}': {reason}", parent.display()))
    })?;
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the output path has no file name"))?;
    let temp = parent.join(format!(".{}.{}.tmp", name.to_string_lossy(), std::process::id()));
    let result = (|| {
        let file = File::create(&temp)?;
        let mut out = BufWriter::with_capacity(BUFFER_BYTES, file);
        let written = write(&mut out)?;
        out.into_inner().map_err(io::IntoInnerError::into_error)?.sync_data()?;
        fs::rename(&temp, path)?;
        Ok(written)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_writer_leaves_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("book.epub");
        fs::write(&path, b"old").unwrap();
        let err = atomically(&path, |w| {
            w.write_all(&[0; 100_000])?;
            Err::<(), _>(io::Error::new(io::ErrorKind::StorageFull, "disk full"))
        })
        .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::StorageFull);
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "the temporary file was removed");
        atomically(&path, |w| w.write_all(b"new")).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
    }

    #[test]
    fn a_path_below_a_regular_file_fails() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        fs::write(&file, b"x").unwrap();
        assert!(atomically(&file.join("out.epub"), |w| w.write_all(b"y")).is_err());
        assert!(atomically(dir.path(), |w| w.write_all(b"y")).is_err());
    }
}
