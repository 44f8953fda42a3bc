//! Writing the site: the whole folder is made beside its destination under a name no one can guess, then
//! renamed into place, so a failure leaves the previous site as it was and never half a new one.
//!
//! The destination must be missing, empty or a site folio wrote (its `catalog.xml` says so): folio never
//! replaces a folder it did not make, whatever `-o` names.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::{Manifest, PublishedBook};
use crate::diagnostic::Diagnostic;

/// Writes a site of freshly published books and the shelf over them.
pub fn write(site: &Path, books: &[PublishedBook], shelf: &[(String, Vec<u8>)]) -> io::Result<()> {
    replace(site, |temp| {
        for book in books {
            write_files(&temp.join(&book.manifest.slug), &book.files)?;
        }
        write_files(temp, shelf)
    })
}

/// A manifest read for `--merge`, with the folder it was found in (the book's folder of another site).
#[derive(Debug)]
pub struct Merged {
    /// The manifest file.
    pub path: PathBuf,
    /// Its content.
    pub manifest: Manifest,
}

/// Reads manifests for `--merge`: each is checked, and so are the downloads it lists beside it
/// (present, of the size and SHA-256 it gives); every problem is an error at the manifest.
pub fn read_manifests(paths: &[PathBuf]) -> (Vec<Merged>, Vec<Diagnostic>) {
    let mut merged: Vec<Merged> = Vec::new();
    let mut diagnostics = Vec::new();
    for path in paths {
        let manifest = fs::read(path)
            .map_err(|e| format!("cannot read the manifest ({})", crate::files::describe(&e)))
            .and_then(|bytes| super::read_manifest(&bytes))
            .and_then(|manifest| check_downloads(path, &manifest).map(|()| manifest));
        match manifest {
            Ok(manifest) => {
                if let Some(other) = merged.iter().find(|m| m.manifest.slug == manifest.slug) {
                    let message = format!("a second book with the folder name '{}'", manifest.slug);
                    let hint = format!("the first is {}", other.path.display());
                    diagnostics.push(Diagnostic::error(path, message).with_hint(hint));
                } else {
                    merged.push(Merged { path: path.clone(), manifest });
                }
            }
            Err(message) => diagnostics.push(Diagnostic::error(path, message)),
        }
    }
    (merged, diagnostics)
}

fn check_downloads(manifest_path: &Path, manifest: &Manifest) -> Result<(), String> {
    let folder = folder_of(manifest_path);
    for download in &manifest.files {
        let bytes = fs::read(folder.join(&download.file))
            .map_err(|e| format!("cannot read '{}' beside it ({})", download.file, crate::files::describe(&e)))?;
        if bytes.len() as u64 != download.bytes || super::sha256_hex(&bytes) != download.sha256 {
            return Err(format!("'{}' beside it is not the file it describes (size or SHA-256 differ)", download.file));
        }
    }
    Ok(())
}

fn folder_of(path: &Path) -> &Path {
    path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// Writes a site from book folders published elsewhere (each copied as it is) and the shelf over them.
pub fn merge(site: &Path, books: &[Merged], shelf: &[(String, Vec<u8>)]) -> io::Result<()> {
    replace(site, |temp| {
        for book in books {
            copy_folder(folder_of(&book.path), &temp.join(&book.manifest.slug))?;
        }
        write_files(temp, shelf)
    })
}

/// Copies a book's folder: regular files and folders only, never what a symlink points at.
fn copy_folder(from: &Path, to: &Path) -> io::Result<()> {
    fs::create_dir_all(to)?;
    let mut entries: Vec<fs::DirEntry> = fs::read_dir(from)?.collect::<io::Result<_>>()?;
    entries.sort_by_key(fs::DirEntry::file_name);
    for entry in entries {
        let kind = entry.file_type()?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            copy_folder(&entry.path(), &target)?;
        } else if kind.is_file() {
            fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

fn write_files(folder: &Path, files: &[(String, Vec<u8>)]) -> io::Result<()> {
    for (name, bytes) in files {
        let path = folder.join(name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(&path, bytes)?;
    }
    Ok(())
}

/// Fills a new folder beside `site`, then puts it in the place of `site`.
fn replace(site: &Path, fill: impl FnOnce(&Path) -> io::Result<()>) -> io::Result<()> {
    let parent = folder_of(site);
    let name = site.file_name().ok_or_else(|| invalid("the site folder has no name"))?.to_string_lossy().into_owned();
    refuse_foreign(site)?;
    fs::create_dir_all(parent)?;
    let temp = tempfile::Builder::new().prefix(&format!(".{name}.")).tempdir_in(parent)?;
    fill(temp.path())?;
    // A temporary folder is private; a site is to be served.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(temp.path(), fs::Permissions::from_mode(0o755))?;
    }
    let new = temp.keep();
    let old = match fs::symlink_metadata(site) {
        Ok(_) => {
            let old = tempfile::Builder::new().prefix(&format!(".{name}.old.")).tempdir_in(parent)?.keep();
            if let Err(e) = fs::rename(site, &old) {
                let _ = fs::remove_dir_all(&new);
                let _ = fs::remove_dir(&old);
                return Err(e);
            }
            Some(old)
        }
        Err(_) => None,
    };
    if let Err(e) = fs::rename(&new, site) {
        if let Some(old) = &old {
            let _ = fs::rename(old, site);
        }
        let _ = fs::remove_dir_all(&new);
        return Err(e);
    }
    if let Some(old) = old {
        fs::remove_dir_all(old)?;
    }
    Ok(())
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message.to_string())
}

/// Refuses a destination that is a file, or a non-empty folder that is not a site folio wrote.
fn refuse_foreign(site: &Path) -> io::Result<()> {
    let metadata = match fs::symlink_metadata(site) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if !metadata.is_dir() {
        return Err(invalid("the site path is not a folder"));
    }
    let empty = fs::read_dir(site)?.next().is_none();
    let ours = fs::read_to_string(site.join("catalog.xml")).is_ok_and(|feed| feed.contains(GENERATOR_MARK));
    if empty || ours {
        Ok(())
    } else {
        Err(invalid("the site folder holds files folio did not write; give -o a new or empty folder"))
    }
}

/// What every catalogue folio writes says of its maker.
const GENERATOR_MARK: &str = "\">folio</generator>";
