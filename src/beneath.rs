//! Files opened beneath a folder's handle, for the load stage: a folder opened once in, files out.
//!
//! The read root is opened once, and every file of the book is opened relative to that handle, so that
//! no path, `..` or symlink leads outside it, not even a folder swapped for a symlink while folio runs:
//! the check and the open are one operation.
//!
//! - On Linux, `openat2` with `RESOLVE_BENEATH` does it in one system call (the kernel refuses any step
//!   outside, and magic links such as `/proc/self/fd/3`).
//! - Where `openat2` refuses what it cannot prove stays inside (an absolute symlink, which a book made in
//!   a temporary folder may hold), where it is missing (kernels before 5.6, some sandboxes) and on other
//!   Unix systems, the path is walked one name at a time from the folder's handle: each name is opened
//!   without following symlinks, and a symlink is read and its target walked the same way, an absolute
//!   one only when it names a place inside the folder. `..` steps back along the folders walked, never
//!   above the first.
//! - Elsewhere (Windows) the path is made canonical, checked, then opened: a folder swapped between the
//!   two can still lead outside.
//!
//! Files are opened non-blocking, so that a FIFO does not wait for a writer; the caller checks that what
//! it opened is a regular file before reading it.

use std::fs::File;
use std::io;
#[cfg(not(unix))]
use std::path::Path;
use std::path::PathBuf;

/// Why a file could not be opened.
#[derive(Debug)]
pub enum OpenError {
    /// The path, or a symlink on it, leads outside the folder.
    Outside,
    /// The file system said no.
    Io(io::Error),
}

/// A folder whose files are opened beneath it.
#[derive(Debug)]
pub struct Folder {
    /// The folder's canonical path, which absolute symlinks must lead into.
    canonical: PathBuf,
    #[cfg(unix)]
    handle: std::os::fd::OwnedFd,
}

#[cfg(unix)]
mod unix {
    use std::ffi::OsString;
    use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
    use std::os::unix::ffi::OsStringExt;
    use std::path::{Component, Path};

    use rustix::fs::{Mode, OFlags};
    use rustix::io::Errno;

    use super::{File, Folder, OpenError, io};

    /// The most symlinks one path may pass through, as Linux allows (`MAXSYMLINKS`).
    const MAX_LINKS: usize = 40;

    /// How a file is opened: for reading, without blocking on a FIFO or taking a terminal.
    fn file_flags() -> OFlags {
        OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NONBLOCK | OFlags::NOCTTY
    }

    /// How a folder on the way is opened: only as a place to look names up.
    fn folder_flags() -> OFlags {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        let access = OFlags::PATH;
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let access = OFlags::RDONLY;
        access | OFlags::DIRECTORY | OFlags::CLOEXEC
    }

    impl Folder {
        /// Opens the folder at `canonical`, a canonical path.
        pub fn open(canonical: &Path) -> io::Result<Self> {
            let handle = rustix::fs::open(canonical, folder_flags(), Mode::empty())?;
            Ok(Self { canonical: canonical.to_path_buf(), handle })
        }

        /// Opens the file at `relative` beneath the folder, non-blocking.
        pub fn open_file(&self, relative: &Path) -> Result<File, OpenError> {
            if relative.is_absolute() {
                return Err(OpenError::Outside);
            }
            #[cfg(any(target_os = "linux", target_os = "android"))]
            if let Some(opened) = self.open_in_one_step(relative) {
                return opened.map(File::from);
            }
            self.walk(relative).map(File::from)
        }

        /// `openat2` with `RESOLVE_BENEATH`; `None` when the path must be walked instead.
        #[cfg(any(target_os = "linux", target_os = "android"))]
        fn open_in_one_step(&self, relative: &Path) -> Option<Result<OwnedFd, OpenError>> {
            use rustix::fs::ResolveFlags;
            use std::sync::atomic::{AtomicBool, Ordering};
            /// Set once `openat2` is found missing or forbidden, so later opens go straight to the walk.
            static UNAVAILABLE: AtomicBool = AtomicBool::new(false);
            if UNAVAILABLE.load(Ordering::Relaxed) {
                return None;
            }
            let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS;
            // EAGAIN: a rename elsewhere raced with a `..`; the kernel asks to try again.
            for _ in 0..3 {
                match rustix::fs::openat2(&self.handle, relative, file_flags(), Mode::empty(), resolve) {
                    Ok(fd) => return Some(Ok(fd)),
                    Err(Errno::AGAIN) => continue,
                    // Leads outside, or through an absolute symlink that may lead back inside.
                    Err(Errno::XDEV) => return None,
                    Err(Errno::NOSYS | Errno::PERM) => {
                        UNAVAILABLE.store(true, Ordering::Relaxed);
                        return None;
                    }
                    Err(e) => return Some(Err(OpenError::Io(e.into()))),
                }
            }
            None
        }

        /// Opens `relative` one name at a time, following symlinks by hand.
        pub(super) fn walk(&self, relative: &Path) -> Result<OwnedFd, OpenError> {
            // The folders walked into, beneath the handle; empty: at the folder itself.
            let mut folders: Vec<OwnedFd> = Vec::new();
            // Names still to walk, the next last.
            let mut names: Vec<OsString> = Vec::new();
            push_names(&mut names, relative)?;
            let mut links = 0;
            while let Some(name) = names.pop() {
                if name == ".." {
                    folders.pop().ok_or(OpenError::Outside)?;
                    continue;
                }
                let at: BorrowedFd<'_> = folders.last().map_or(self.handle.as_fd(), AsFd::as_fd);
                let too_many = || OpenError::Io(Errno::LOOP.into());
                match rustix::fs::readlinkat(at, name.as_os_str(), Vec::new()) {
                    Ok(target) => {
                        links += 1;
                        if links > MAX_LINKS {
                            return Err(too_many());
                        }
                        let target = std::path::PathBuf::from(OsString::from_vec(target.into_bytes()));
                        if target.is_absolute() {
                            let inside = target.strip_prefix(&self.canonical).map_err(|_| OpenError::Outside)?;
                            folders.clear();
                            push_names(&mut names, inside)?;
                        } else {
                            push_names(&mut names, &target)?;
                        }
                        continue;
                    }
                    // Not a symlink.
                    Err(Errno::INVAL) => {}
                    Err(e) => return Err(OpenError::Io(e.into())),
                }
                let last = names.is_empty();
                let flags = if last { file_flags() } else { folder_flags() };
                match rustix::fs::openat(at, name.as_os_str(), flags | OFlags::NOFOLLOW, Mode::empty()) {
                    Ok(fd) if last => return Ok(fd),
                    Ok(fd) => folders.push(fd),
                    // Made a symlink since it was looked at: look again (counted, so this ends).
                    Err(Errno::LOOP | Errno::MLINK) => {
                        links += 1;
                        if links > MAX_LINKS {
                            return Err(too_many());
                        }
                        names.push(name);
                    }
                    Err(e) => return Err(OpenError::Io(e.into())),
                }
            }
            // The path ends at a folder (`a/..`).
            Err(OpenError::Io(io::Error::new(io::ErrorKind::IsADirectory, "it is a folder")))
        }
    }

    /// Pushes the names of a relative path onto `names`, so that its first name is popped next.
    fn push_names(names: &mut Vec<OsString>, path: &Path) -> Result<(), OpenError> {
        let start = names.len();
        for component in path.components() {
            match component {
                Component::Normal(name) => names.push(name.to_os_string()),
                Component::ParentDir => names.push("..".into()),
                Component::CurDir => {}
                Component::RootDir | Component::Prefix(_) => return Err(OpenError::Outside),
            }
        }
        names[start..].reverse();
        Ok(())
    }
}

#[cfg(not(unix))]
impl Folder {
    /// Opens the folder at `canonical`, a canonical path.
    pub fn open(canonical: &Path) -> io::Result<Self> {
        std::fs::read_dir(canonical)?;
        Ok(Self { canonical: canonical.to_path_buf() })
    }

    /// Opens the file at `relative` beneath the folder: made canonical, checked, then opened.
    pub fn open_file(&self, relative: &Path) -> Result<File, OpenError> {
        if relative.is_absolute() {
            return Err(OpenError::Outside);
        }
        let canonical = self.canonical.join(relative).canonicalize().map_err(OpenError::Io)?;
        if !canonical.starts_with(&self.canonical) {
            return Err(OpenError::Outside);
        }
        File::open(canonical).map_err(OpenError::Io)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::fs;
    use std::io::Read;
    use std::os::unix::fs::symlink;
    use std::path::Path;

    use super::*;

    fn read(folder: &Folder, path: &str) -> Result<String, String> {
        match folder.open_file(Path::new(path)) {
            Ok(mut file) => {
                let mut text = String::new();
                file.read_to_string(&mut text).map_err(|e| e.to_string())?;
                Ok(text)
            }
            Err(OpenError::Outside) => Err("outside".into()),
            Err(OpenError::Io(e)) => Err(e.kind().to_string()),
        }
    }

    #[test]
    fn links_inside_are_followed_and_links_outside_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        fs::create_dir_all(root.join("a/b")).unwrap();
        fs::write(root.join("a/b/f.txt"), "inside").unwrap();
        fs::write(dir.path().join("secret.txt"), "secret").unwrap();
        symlink("b/f.txt", root.join("a/relative")).unwrap();
        symlink(root.join("a/b"), root.join("absolute")).unwrap();
        symlink("../../secret.txt", root.join("a/up")).unwrap();
        symlink(dir.path().join("secret.txt"), root.join("absolute-out")).unwrap();
        symlink("loop", root.join("loop")).unwrap();
        symlink("a/b/..", root.join("dotdot")).unwrap();
        let folder = Folder::open(&root.canonicalize().unwrap()).unwrap();
        assert_eq!(read(&folder, "a/b/f.txt").unwrap(), "inside");
        assert_eq!(read(&folder, "a/relative").unwrap(), "inside");
        assert_eq!(read(&folder, "absolute/f.txt").unwrap(), "inside", "an absolute link leading inside");
        assert_eq!(read(&folder, "a/../a/./b/f.txt").unwrap(), "inside");
        assert_eq!(read(&folder, "dotdot/b/f.txt").unwrap(), "inside");
        assert_eq!(read(&folder, "a/up").unwrap_err(), "outside");
        assert_eq!(read(&folder, "absolute-out").unwrap_err(), "outside");
        assert_eq!(read(&folder, "../secret.txt").unwrap_err(), "outside");
        assert_eq!(read(&folder, "a/../../secret.txt").unwrap_err(), "outside");
        assert_eq!(read(&folder, "/etc/hostname").unwrap_err(), "outside");
        assert_eq!(read(&folder, "a/missing").unwrap_err(), "entity not found");
        assert_eq!(read(&folder, "a/b/f.txt/x").unwrap_err(), "not a directory");
        assert!(read(&folder, "loop").is_err());
        // The walk alone gives the same answers as the one-step open.
        let walked = |path: &str| folder.walk(Path::new(path)).map(|_| ()).map_err(|e| matches!(e, OpenError::Outside));
        assert!(walked("absolute/f.txt").is_ok());
        assert!(walked("a/relative").is_ok());
        assert_eq!(walked("a/up"), Err(true));
        assert_eq!(walked("a/../../secret.txt"), Err(true));
        assert_eq!(walked("loop"), Err(false));
    }
}
