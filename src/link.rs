//! Link destinations as a book writes them, taken apart one way for every stage: the renderer's links
//! and images (Markdown and raw HTML), SUMMARY.md's chapters, includes, SVG images and stylesheets, and
//! folio's own check of the package's links.

use std::path::{Component, Path, PathBuf};

use crate::text::has_scheme;

/// True for a destination outside the book: one with a scheme (`https:`, `mailto:`) or protocol-relative.
pub fn is_external(dest: &str) -> bool {
    has_scheme(dest) || dest.starts_with("//")
}

/// A destination's path and its fragment (after the first `#`, as written). The path stops at the first
/// `#` or `?`: a query means nothing inside a book.
pub fn split(dest: &str) -> (&str, Option<&str>) {
    let (path, fragment) = match dest.split_once('#') {
        Some((path, fragment)) => (path, Some(fragment)),
        None => (dest, None),
    };
    (path.split('?').next().unwrap_or(""), fragment)
}

/// The file a written path names from the folder `here` (both relative): percent-decoded, `.` and `..`
/// resolved; `None` when it is absolute or climbs out.
pub fn resolve_path(here: &Path, path: &str) -> Option<PathBuf> {
    normalize_relative(here, Path::new(&percent_decode(path)))
}

/// Joins `path` onto `base` (both relative) and resolves `.` and `..`; `None` if it climbs out.
pub fn normalize_relative(base: &Path, path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for component in base.components().chain(path.components()) {
        match component {
            Component::Normal(c) => out.push(c),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// Decodes `%XX` escapes (invalid ones stay as written; a result that is not UTF-8 leaves `s` as it is).
pub fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8().map_or_else(|_| s.to_string(), String::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_split_into_path_and_fragment() {
        assert_eq!(split("a/b.md#c?d"), ("a/b.md", Some("c?d")));
        assert_eq!(split("a/b.md?q=1#c"), ("a/b.md", Some("c")));
        assert_eq!(split("#top"), ("", Some("top")));
        assert_eq!(split("a.md"), ("a.md", None));
        assert!(is_external("https://x") && is_external("//x/y") && is_external("mailto:a@b"));
        assert!(!is_external("a/b.md") && !is_external("#x"));
    }

    #[test]
    fn paths_resolve_below_their_folder_or_not_at_all() {
        let here = Path::new("src/part");
        assert_eq!(resolve_path(here, "a%20b/./c.md"), Some(PathBuf::from("src/part/a b/c.md")));
        assert_eq!(resolve_path(here, "../x.png"), Some(PathBuf::from("src/x.png")));
        assert_eq!(resolve_path(here, "../../../x.png"), None);
        assert_eq!(resolve_path(here, "/etc/passwd"), None);
        assert_eq!(resolve_path(here, "%2Fetc%2Fpasswd"), None, "decoded before it is resolved");
        assert_eq!(percent_decode("%zz%41"), "%zzA");
    }
}
