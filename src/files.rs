//! File access beneath the read root: [`ReadRoot`] opens every file of the book beneath the book folder (or
//! `--root`), refusing anything outside it, symlinks included, and anything that is not a regular file;
//! [`Stamp`]s tell a file's contents apart without reading them; [`ReadError`] and [`TextError`] say why a
//! file could not be read.
//!
//! Every stage that reads the book reads through here; it imports nothing of folio's above diagnostics.

use std::fs::{self, File};
use std::io::{self, Read};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::beneath;
use crate::diagnostic::{Diagnostic, Position, Severity, SourceText};

/// The most bytes folio reads from one text file: a chapter, an included file, `SUMMARY.md`, `book.toml`,
/// the sources file. The longest chapters of real books are a few hundred kilobytes.
pub const MAX_TEXT_FILE_BYTES: u64 = 16 << 20;

/// The most bytes folio reads from any other file of the book: an image, a font, a stylesheet.
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// The most bytes a book's images, fonts and stylesheets may add up to (each file once, however often it
/// is used). Send to Kindle takes books of up to 200 MB.
pub const MAX_ASSET_BYTES: u64 = 256 << 20;

/// The folder folio may read from, and the book folder inside it.
///
/// The read root is opened once (`beneath::Folder`) and every file is opened beneath that handle, so a
/// path or symlink leading outside is refused in the same system call that opens the file.
#[derive(Debug, Clone)]
pub struct ReadRoot {
    /// The book folder as the user named it (used to show paths).
    pub book_dir: PathBuf,
    /// The book folder, canonical.
    book_canonical: PathBuf,
    /// The read root, open: the book folder or an ancestor given with `--root`.
    root: Arc<beneath::Folder>,
    /// The book folder relative to the read root (empty without `--root`).
    book_in_root: PathBuf,
    /// What [`ReadRoot::read`] has read so far, against [`MAX_ASSET_BYTES`].
    asset_bytes: Arc<AtomicU64>,
}

/// Why a file could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// The path (or a symlink on it) points outside the read root.
    OutsideRoot,
    /// It is not a regular file: a folder, a FIFO, a device or a socket (named).
    NotAFile(&'static str),
    /// It holds more bytes than folio reads from one file of its kind (the limit).
    TooLarge(u64),
    /// With it, the book's images, fonts and stylesheets add up to more than [`MAX_ASSET_BYTES`].
    OverBudget,
    /// The file system said no.
    Io(io::Error),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::OutsideRoot => write!(f, "it is outside the book folder"),
            ReadError::NotAFile("folder") => write!(f, "it is a folder"),
            ReadError::NotAFile(kind) => write!(f, "it is {kind}, not a regular file"),
            ReadError::TooLarge(limit) => write!(f, "it is larger than {} MiB", limit >> 20),
            ReadError::OverBudget => write!(
                f,
                "with it, the book's images, fonts and stylesheets add up to more than {} MiB",
                MAX_ASSET_BYTES >> 20
            ),
            ReadError::Io(e) => write!(f, "{}", describe(e)),
        }
    }
}

impl ReadError {
    /// What to do about it, when there is something to say.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            ReadError::OutsideRoot => Some("folio reads only inside the book folder (or --root)"),
            ReadError::NotAFile("folder") | ReadError::Io(_) => None,
            ReadError::NotAFile(_) => Some("folio reads only regular files; replace it with one"),
            ReadError::TooLarge(_) => Some("split it into smaller files; SECURITY.md lists folio's limits"),
            ReadError::OverBudget => Some("make the images smaller; SECURITY.md lists folio's limits"),
        }
    }
}

/// An I/O error as a short lower-case reason, without the OS error number.
pub fn describe(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file".to_string(),
        io::ErrorKind::NotADirectory => "a path component is a file, not a folder".to_string(),
        io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => {
            let text = e.to_string();
            let text = text.split(" (os error").next().unwrap_or(&text);
            let mut chars = text.chars();
            chars.next().map(|c| c.to_lowercase().chain(chars).collect()).unwrap_or_default()
        }
    }
}

/// What kind of file the metadata describes, when it is not a regular file.
fn not_a_file(metadata: &fs::Metadata) -> Option<&'static str> {
    let kind = metadata.file_type();
    if kind.is_file() {
        return None;
    }
    if kind.is_dir() {
        return Some("folder");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return Some("a FIFO");
        }
        if kind.is_char_device() || kind.is_block_device() {
            return Some("a device");
        }
        if kind.is_socket() {
            return Some("a socket");
        }
    }
    Some("a special file")
}

impl ReadRoot {
    /// Opens a book folder; `root` widens what may be read to an ancestor folder.
    pub fn new(book_dir: &Path, root: Option<&Path>) -> io::Result<Self> {
        let book_canonical = book_dir.canonicalize().map_err(|e| {
            io::Error::new(e.kind(), format!("cannot open book folder '{}': {}", book_dir.display(), describe(&e)))
        })?;
        let root_canonical = match root {
            Some(r) => r.canonicalize().map_err(|e| {
                io::Error::new(e.kind(), format!("cannot open --root folder '{}': {}", r.display(), describe(&e)))
            })?,
            None => book_canonical.clone(),
        };
        let Ok(book_in_root) = book_canonical.strip_prefix(&root_canonical).map(Path::to_path_buf) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "--root must be the book folder or one of its ancestors",
            ));
        };
        let folder = beneath::Folder::open(&root_canonical).map_err(|e| {
            io::Error::new(e.kind(), format!("cannot open '{}': {}", root_canonical.display(), describe(&e)))
        })?;
        Ok(Self {
            book_dir: book_dir.to_path_buf(),
            book_canonical,
            root: Arc::new(folder),
            book_in_root,
            asset_bytes: Arc::default(),
        })
    }

    /// The book folder, canonical: the same folder however its path was written.
    pub fn canonical_book(&self) -> &Path {
        &self.book_canonical
    }

    /// The path to show for a file given relative to the book folder.
    pub fn display_path(&self, relative: &Path) -> PathBuf {
        self.book_dir.join(relative)
    }

    /// Reads an image, font or stylesheet given relative to the book folder (at most [`MAX_FILE_BYTES`],
    /// and [`MAX_ASSET_BYTES`] for all of them). Whether a book goes over does not depend on the order
    /// files are read in: a file only takes what leaves the total within the limit.
    pub fn read(&self, relative: &Path) -> Result<Vec<u8>, ReadError> {
        self.read_asset_stamped(relative).map(|(bytes, _)| bytes)
    }

    /// Reads a file like [`ReadRoot::read`], with its stamp as it was opened.
    pub fn read_asset_stamped(&self, relative: &Path) -> Result<(Vec<u8>, Option<Stamp>), ReadError> {
        let (bytes, stamp) = self.read_stamped(relative, MAX_FILE_BYTES)?;
        self.charge(bytes.len() as u64)?;
        Ok((bytes, stamp))
    }

    /// Counts `len` bytes against [`MAX_ASSET_BYTES`] as [`ReadRoot::read`] does, for a file whose bytes
    /// are known without reading it.
    pub fn charge(&self, len: u64) -> Result<(), ReadError> {
        let fits = |read: u64| read.checked_add(len).filter(|&total| total <= MAX_ASSET_BYTES);
        match self.asset_bytes.fetch_update(Ordering::Relaxed, Ordering::Relaxed, fits) {
            Ok(_) => Ok(()),
            Err(_) => Err(ReadError::OverBudget),
        }
    }

    /// Opens the regular file at `relative` (to the book folder) beneath the read root, with its metadata;
    /// anything else is refused without blocking and without reading it.
    fn open(&self, relative: &Path) -> Result<(File, fs::Metadata), ReadError> {
        if relative.is_absolute() {
            return Err(ReadError::OutsideRoot);
        }
        let file = self.root.open_file(&self.book_in_root.join(relative)).map_err(|e| match e {
            beneath::OpenError::Outside => ReadError::OutsideRoot,
            beneath::OpenError::Io(e) if e.kind() == io::ErrorKind::IsADirectory => ReadError::NotAFile("folder"),
            beneath::OpenError::Io(e) => ReadError::Io(e),
        })?;
        let metadata = file.metadata().map_err(ReadError::Io)?;
        match not_a_file(&metadata) {
            Some(kind) => Err(ReadError::NotAFile(kind)),
            None => Ok((file, metadata)),
        }
    }

    /// Reads a file given relative to the book folder, of at most `limit` bytes, with its stamp as it was
    /// opened, before reading.
    fn read_stamped(&self, relative: &Path, limit: u64) -> Result<(Vec<u8>, Option<Stamp>), ReadError> {
        let (file, metadata) = self.open(relative)?;
        if metadata.len() > limit {
            return Err(ReadError::TooLarge(limit));
        }
        // Sized from the metadata just read; through `take`, std does not ask the system again, and a
        // file that grows while it is read stops one byte past the limit.
        let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0).saturating_add(1));
        file.take(limit + 1).read_to_end(&mut bytes).map_err(ReadError::Io)?;
        if bytes.len() as u64 > limit {
            return Err(ReadError::TooLarge(limit));
        }
        Ok((bytes, Stamp::of(&metadata)))
    }

    /// The stamp a file given relative to the book folder has now. The file is opened, not just looked
    /// up: network file systems check a file's attributes with its server when it is opened, where a
    /// lookup may answer from a cache for up to a minute.
    pub fn stamp(&self, relative: &Path) -> Result<Option<Stamp>, ReadError> {
        self.open(relative).map(|(_, metadata)| Stamp::of(&metadata))
    }

    /// Reads a text file (at most [`MAX_TEXT_FILE_BYTES`]), reporting bad UTF-8 at the first invalid byte.
    pub fn read_text(&self, relative: &Path) -> Result<SourceText, TextError> {
        self.read_text_stamped(relative).map(|(text, _)| text)
    }

    /// Reads a text file like [`ReadRoot::read_text`], with its stamp as it was opened.
    pub fn read_text_stamped(&self, relative: &Path) -> Result<(SourceText, Option<Stamp>), TextError> {
        let (bytes, stamp) = self.read_stamped(relative, MAX_TEXT_FILE_BYTES).map_err(TextError::Read)?;
        let display = self.display_path(relative);
        match String::from_utf8(bytes) {
            Ok(mut text) => {
                if text.starts_with('\u{feff}') {
                    text.drain(..3);
                }
                Ok((SourceText::new(display, text), stamp))
            }
            Err(e) => {
                let valid = e.utf8_error().valid_up_to();
                let byte = e.as_bytes()[valid];
                let prefix = String::from_utf8_lossy(&e.as_bytes()[..valid]).into_owned();
                let position = SourceText::new(&display, prefix).position(valid);
                Err(TextError::NotUtf8 { path: display, position, offset: valid, byte })
            }
        }
    }
}

/// What tells a file's contents apart without reading them: the file itself (device and inode), its
/// size, and when its contents and its metadata last changed, in nanoseconds. Writing a file changes its
/// times; even a tool that sets the modification time back cannot set back the change time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    device: u64,
    inode: u64,
    size: u64,
    modified: i128,
    changed: i128,
}

/// How long after a file's last change its stamp is trusted to tell a later change: longer than the
/// coarsest timestamps of common file systems (FAT's two seconds), so a write after folio read the file
/// cannot leave its times as they were.
pub const SETTLE_TIME: Duration = Duration::from_secs(2);

impl Stamp {
    #[cfg(unix)]
    fn of(metadata: &fs::Metadata) -> Option<Self> {
        use std::os::unix::fs::MetadataExt;
        let nanos = |seconds: i64, nanoseconds: i64| i128::from(seconds) * 1_000_000_000 + i128::from(nanoseconds);
        Some(Self {
            device: metadata.dev(),
            inode: metadata.ino(),
            size: metadata.size(),
            modified: nanos(metadata.mtime(), metadata.mtime_nsec()),
            changed: nanos(metadata.ctime(), metadata.ctime_nsec()),
        })
    }

    /// Elsewhere there is no change time that a tool cannot set, so files get no stamp.
    #[cfg(not(unix))]
    fn of(_: &fs::Metadata) -> Option<Self> {
        None
    }

    /// True when the file last changed at least [`SETTLE_TIME`] before `time`, as read then: any later
    /// write gives it other times. A file changed just before would keep its times through a write in
    /// the same tick of the file system's clock.
    pub fn settled_at(&self, time: SystemTime) -> bool {
        let limit = time.checked_sub(SETTLE_TIME).and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok());
        let Some(limit) = limit.and_then(|d| i128::try_from(d.as_nanos()).ok()) else { return false };
        self.modified < limit && self.changed < limit
    }
}

/// Why a text file could not be loaded.
#[derive(Debug)]
pub enum TextError {
    /// Not readable.
    Read(ReadError),
    /// Not UTF-8.
    NotUtf8 {
        /// Shown path.
        path: PathBuf,
        /// Where the first bad byte is.
        position: Position,
        /// Its byte offset.
        offset: usize,
        /// Its value.
        byte: u8,
    },
}

impl TextError {
    /// The diagnostic for this failure; `what` names the file's role ("chapter", "SUMMARY.md").
    pub fn diagnostic(self, shown: &Path, what: &str, at: Option<(&SourceText, Range<usize>)>) -> Diagnostic {
        match self {
            TextError::NotUtf8 { path, position, offset, byte } => Diagnostic {
                path,
                position: Some(position),
                severity: Severity::Error,
                message: format!("{what} is not valid UTF-8 (byte 0x{byte:02x} at offset {offset})"),
                hint: Some("save the file as UTF-8".to_string()),
            },
            TextError::Read(e) => {
                let message = format!("cannot read {what} '{}': {e}", shown.display());
                let d = match at {
                    Some((source, range)) => source.error(range, message),
                    None => Diagnostic::error(shown, message),
                };
                // Where a file outside the book came from is plain from the message.
                match e.hint().filter(|_| !matches!(e, ReadError::OutsideRoot)) {
                    Some(hint) => d.with_hint(hint),
                    None => d,
                }
            }
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    /// A book folder `book` with `src/one.md`, and `secret.md` beside the book.
    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("book/src")).unwrap();
        fs::write(dir.path().join("book/src/one.md"), "# One\n").unwrap();
        fs::write(dir.path().join("secret.md"), "secret\n").unwrap();
        dir
    }

    #[test]
    fn symlinks_resolve_inside_the_book_and_are_refused_outside_it() {
        let dir = tree();
        let book = dir.path().join("book");
        symlink(book.join("src"), book.join("inside")).unwrap();
        symlink(dir.path(), book.join("outside")).unwrap();
        symlink(book.join("src/one.md"), book.join("alias.md")).unwrap();
        symlink(dir.path().join("secret.md"), book.join("src/leak.md")).unwrap();
        let root = ReadRoot::new(&book, None).unwrap();
        // Twice each: the second time the folder comes from the memo.
        for _ in 0..2 {
            assert_eq!(root.read(Path::new("inside/one.md")).unwrap(), b"# One\n", "a linked folder inside");
            assert_eq!(root.read(Path::new("alias.md")).unwrap(), b"# One\n", "a linked file inside");
            assert!(matches!(root.read(Path::new("outside/secret.md")), Err(ReadError::OutsideRoot)));
            assert!(matches!(root.read(Path::new("src/leak.md")), Err(ReadError::OutsideRoot)));
            assert!(matches!(root.read(Path::new("src/../../secret.md")), Err(ReadError::OutsideRoot)));
        }
        // Widening the root to the parent lets the same reads through.
        let wide = ReadRoot::new(&book, Some(dir.path())).unwrap();
        assert_eq!(wide.read(Path::new("outside/secret.md")).unwrap(), b"secret\n");
        assert_eq!(wide.read(Path::new("src/leak.md")).unwrap(), b"secret\n");
    }

    #[test]
    fn folders_and_missing_files_are_read_errors() {
        let dir = tree();
        let root = ReadRoot::new(&dir.path().join("book"), None).unwrap();
        let e = root.read(Path::new("src")).unwrap_err();
        assert!(matches!(e, ReadError::NotAFile("folder")), "{e:?}");
        assert_eq!(e.to_string(), "it is a folder");
        let ReadError::Io(e) = root.read(Path::new("src/two.md")).unwrap_err() else { panic!("missing") };
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        let ReadError::Io(e) = root.read(Path::new("missing/two.md")).unwrap_err() else { panic!("missing") };
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(matches!(root.read(Path::new("/etc/hostname")), Err(ReadError::OutsideRoot)));
    }

    /// Issue #20, class 6: a FIFO would block the read forever, a device would be read without end.
    #[test]
    fn fifos_and_devices_are_refused_without_blocking() {
        let dir = tree();
        let book = dir.path().join("book");
        let fifo = book.join("src/fifo.md");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        symlink("/dev/zero", book.join("src/zero.md")).unwrap();
        let root = ReadRoot::new(&book, Some(Path::new("/"))).unwrap();
        let e = root.read_text(Path::new("src/fifo.md")).unwrap_err();
        let TextError::Read(e) = e else { panic!("{e:?}") };
        assert_eq!(e.to_string(), "it is a FIFO, not a regular file");
        assert!(matches!(root.stamp(Path::new("src/fifo.md")), Err(ReadError::NotAFile("a FIFO"))));
        // /dev/zero itself, reached through a link the wide root allows.
        let e = root.read(Path::new("src/zero.md")).unwrap_err();
        assert_eq!(e.to_string(), "it is a device, not a regular file");
        assert!(e.hint().is_some());
    }

    #[test]
    fn files_over_the_limit_are_refused() {
        let dir = tree();
        let book = dir.path().join("book");
        let big = fs::File::create(book.join("src/big.md")).unwrap();
        big.set_len(MAX_TEXT_FILE_BYTES + 1).unwrap();
        let root = ReadRoot::new(&book, None).unwrap();
        let Err(TextError::Read(e)) = root.read_text(Path::new("src/big.md")) else { panic!("read") };
        assert_eq!(e.to_string(), "it is larger than 16 MiB");
        // The same bytes are within the limit for other files.
        assert_eq!(root.read(Path::new("src/big.md")).unwrap().len() as u64, MAX_TEXT_FILE_BYTES + 1);
    }
}
