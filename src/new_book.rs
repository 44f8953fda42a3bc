//! `folio new`: writes a small book that builds at once, as a starting point for an author.
//!
//! Input: a folder. Output: `book.toml`, `sources.toml`, `src/SUMMARY.md` and a first chapter with a
//! footnote and a citation, none of which may exist yet.

use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

/// The files a new book starts with, relative to its folder, and their text.
const FILES: [(&str, &str); 4] = [
    ("book.toml", include_str!("new_book/book.toml")),
    ("sources.toml", include_str!("new_book/sources.toml")),
    ("src/SUMMARY.md", include_str!("new_book/SUMMARY.md")),
    ("src/chapter-1.md", include_str!("new_book/chapter-1.md")),
];

/// Why a new book could not be written.
#[derive(Debug, thiserror::Error)]
pub enum NewBookError {
    /// One of the files is already there; nothing was written.
    #[error("'{}' already exists; folio new never writes over a file", .0.display())]
    Exists(PathBuf),
    /// The folder or a file could not be written.
    #[error("failed to write '{}' ({})", .0.display(), crate::files::describe(.1))]
    Write(PathBuf, io::Error),
}

/// Writes a new book into `dir` (made if missing), titled after the folder's name; returns the files
/// written. When any of them exists already, nothing is written.
pub fn create(dir: &Path) -> Result<Vec<PathBuf>, NewBookError> {
    let paths: Vec<PathBuf> = FILES.iter().map(|(name, _)| dir.join(name)).collect();
    if let Some(existing) = paths.iter().find(|p| p.symlink_metadata().is_ok()) {
        return Err(NewBookError::Exists(existing.clone()));
    }
    let title = title_from(dir);
    for ((_, text), path) in FILES.iter().zip(&paths) {
        let text = text.replace("{title}", &toml_escape(&title));
        write_new(path, &text).map_err(|e| NewBookError::Write(path.clone(), e))?;
    }
    Ok(paths)
}

/// "my-first_book" → "My First Book"; "Book" for a folder without a usable name.
fn title_from(dir: &Path) -> String {
    let name = std::path::absolute(dir).ok().and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()));
    let words: Vec<String> = name
        .unwrap_or_default()
        .split(['-', '_', ' '])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
        })
        .collect();
    if words.is_empty() { "Book".to_string() } else { words.join(" ") }
}

/// Escapes a title for a TOML basic string.
fn toml_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| match c {
            '"' | '\\' => vec!['\\', c],
            c if c.is_control() => format!("\\u{:04X}", u32::from(c)).chars().collect(),
            c => vec![c],
        })
        .collect()
}

/// Creates `path` (and its folder), failing if it exists: another program may have made it since the check.
fn write_new(path: &Path, text: &str) -> io::Result<()> {
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder)?;
    }
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(path)?;
    file.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_come_from_the_folder_name() {
        assert_eq!(title_from(Path::new("my-first_book")), "My First Book");
        assert_eq!(title_from(Path::new("/tmp/ébauche")), "Ébauche");
        assert_eq!(title_from(Path::new("/")), "Book");
        assert_eq!(toml_escape("a \"b\" \\ c\u{7}"), "a \\\"b\\\" \\\\ c\\u0007");
    }

    #[test]
    fn nothing_is_written_over() {
        let dir = tempfile::tempdir().unwrap();
        let book = dir.path().join("novel");
        std::fs::create_dir_all(book.join("src")).unwrap();
        std::fs::write(book.join("src/chapter-1.md"), "mine").unwrap();
        let err = create(&book).unwrap_err();
        assert!(matches!(&err, NewBookError::Exists(p) if p.ends_with("src/chapter-1.md")), "{err}");
        // Not even the files that did not exist were written.
        assert!(!book.join("book.toml").exists());
        assert_eq!(std::fs::read_to_string(book.join("src/chapter-1.md")).unwrap(), "mine");
    }

    #[test]
    fn a_new_book_is_titled_after_its_folder() {
        let dir = tempfile::tempdir().unwrap();
        let book = dir.path().join("the-long-walk");
        let written = create(&book).unwrap();
        assert_eq!(written.len(), 4);
        let toml = std::fs::read_to_string(book.join("book.toml")).unwrap();
        assert!(toml.contains("title = \"The Long Walk\""), "{toml}");
    }
}
