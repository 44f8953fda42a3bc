//! Stage 7, write: the EPUB reaches its path whole or not at all.
//!
//! Bytes go to a temporary file beside the target, which is synced and renamed over it only when
//! everything was written; on any failure the temporary file is removed and a previous EPUB at
//! the path is left as it was.
//!
//! The temporary file is created exclusively, at a name no one can guess (`tempfile`): a symlink
//! planted beside the output by someone who may write to its folder is never followed. The target
//! itself must be a regular file or nothing yet: a device, a FIFO, a folder or a symlink there is
//! refused, so folio never replaces something that is not a book.
//!
//! The sync is what reports a write that failed on its way to the disk (an I/O error, or a full disk
//! or quota on a network file system, where `write` succeeds first); without it a short file could
//! replace a good EPUB. `sync_data` leaves out the file's timestamps, which nothing needs.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Enough that a book of many megabytes reaches its file in a few dozen system calls.
const BUFFER_BYTES: usize = 256 * 1024;

/// Writes `path` atomically; `write` produces the content, and what it returns is returned.
pub fn atomically<T>(path: &Path, write: impl FnOnce(&mut dyn Write) -> io::Result<T>) -> io::Result<T> {
    refuse_other_than_a_file(path)?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(|e| {
        let reason = if parent.ancestors().any(Path::is_file) {
            "a file is in the way".to_string()
        } else {
            crate::files::describe(&e)
        };
        io::Error::new(e.kind(), format!("cannot create folder '{}': {reason}", parent.display()))
    })?;
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the output path has no file name"))?;
    // Dropped on any failure, the temporary file is removed.
    let temp = temporary_file(&parent, &format!(".{}.", name.to_string_lossy()))?;
    let mut out = BufWriter::with_capacity(BUFFER_BYTES, temp);
    let written = write(&mut out)?;
    let temp = out.into_inner().map_err(io::IntoInnerError::into_error)?;
    temp.as_file().sync_data()?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(written)
}

/// A new file in `folder`, created exclusively at an unpredictable name starting with `prefix`, readable
/// as a file created the usual way would be (the umask decides).
pub fn temporary_file(folder: &Path, prefix: &str) -> io::Result<tempfile::NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(prefix).suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(fs::Permissions::from_mode(0o666));
    }
    builder.tempfile_in(folder)
}

/// Refuses an output path that holds anything but a regular file (nothing is fine).
fn refuse_other_than_a_file(path: &Path) -> io::Result<()> {
    let metadata = match fs::symlink_metadata(path) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        // A path below a file, or one that cannot be looked at: creating the folder says why.
        Err(_) => return Ok(()),
    };
    let kind = metadata.file_type();
    let what = if kind.is_file() {
        return Ok(());
    } else if kind.is_dir() {
        return Err(io::Error::new(io::ErrorKind::IsADirectory, "the output path is a folder"));
    } else if kind.is_symlink() {
        "a symlink"
    } else {
        "a device, FIFO or socket"
    };
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("the output path is {what}, which folio does not replace; name a regular file"),
    ))
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

    /// Issue #20, class 8: nothing but a regular file is replaced, and a planted symlink is not followed.
    #[cfg(unix)]
    #[test]
    fn only_regular_files_are_replaced() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, b"keep").unwrap();
        let link = dir.path().join("link.epub");
        symlink(&victim, &link).unwrap();
        let fifo = dir.path().join("fifo.epub");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        for (path, what) in [(&link, "a symlink"), (&fifo, "a device, FIFO or socket")] {
            let e = atomically(path, |w| w.write_all(b"epub")).unwrap_err();
            assert!(e.to_string().contains(what), "{e}");
        }
        let e = atomically(Path::new("/dev/null"), |w| w.write_all(b"epub")).unwrap_err();
        assert!(e.to_string().contains("a device"), "{e}");
        assert_eq!(fs::read(&victim).unwrap(), b"keep");
        assert!(fs::symlink_metadata(&link).unwrap().is_symlink());
        // Symlinks planted at every name a temporary file of the old scheme would take are left alone.
        let out = dir.path().join("book.epub");
        symlink(&victim, dir.path().join(format!(".book.epub.{}.tmp", std::process::id()))).unwrap();
        atomically(&out, |w| w.write_all(b"epub")).unwrap();
        assert_eq!(fs::read(&out).unwrap(), b"epub");
        assert_eq!(fs::read(&victim).unwrap(), b"keep");
    }

    #[cfg(unix)]
    #[test]
    fn the_output_is_as_readable_as_any_new_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("book.epub");
        atomically(&out, |w| w.write_all(b"epub")).unwrap();
        let created = dir.path().join("plain");
        fs::write(&created, b"x").unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&out), mode(&created));
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
