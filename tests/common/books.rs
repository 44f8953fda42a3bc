//! Running the `folio` binary on books: fixture copies, generated books, unzipping results.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What one run of `folio` did.
#[derive(Debug)]
pub struct Run {
    /// Exit code.
    pub code: i32,
    /// Everything on stdout.
    pub stdout: String,
    /// Everything on stderr.
    pub stderr: String,
}

/// Runs the `folio` binary in `cwd` with `args` and a fixed environment (no SOURCE_DATE_EPOCH, UTC).
pub fn folio(cwd: &Path, args: &[&str]) -> Run {
    folio_with_env(cwd, args, &[])
}

/// Runs `folio` with extra environment variables.
pub fn folio_with_env(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_folio"));
    command.args(args).current_dir(cwd).env_remove("SOURCE_DATE_EPOCH").env("TZ", "UTC");
    // Colour is asked for per test; the caller's terminal settings must not change what is printed.
    command.env_remove("CLICOLOR_FORCE").env_remove("CLICOLOR").env_remove("NO_COLOR");
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().expect("run folio");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The repository's root folder.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Copies a folder recursively (files and folders only).
pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A temporary folder holding a copy of `tests/books/<name>` as `book/`.
pub fn fixture(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("tests/books").join(name), &dir.path().join("book"));
    dir
}

/// Writes files (path relative to `root`, content) creating folders as needed.
pub fn write_files(root: &Path, files: &[(&str, &str)]) {
    for (path, content) in files {
        let path = root.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }
}

/// Builds `book` (relative to `cwd`) to `out`, asserting success, and returns the stderr.
pub fn build_ok(cwd: &Path, book: &str, out: &str) -> String {
    let run = folio(cwd, &["build", book, "-o", out]);
    assert_eq!(run.code, 0, "folio build {book} failed:\n{}", run.stderr);
    run.stderr
}

/// Every file of a zip, by path, in zip order kept as a sorted map plus the order itself.
pub fn unzip(epub: &Path) -> (Vec<String>, BTreeMap<String, Vec<u8>>) {
    let mut archive = zip::ZipArchive::new(fs::File::open(epub).unwrap()).unwrap();
    let mut order = Vec::new();
    let mut files = BTreeMap::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).unwrap();
        let name = file.name().unwrap().to_string();
        let mut data = Vec::new();
        file.read_to_end(&mut data).unwrap();
        order.push(name.clone());
        files.insert(name, data);
    }
    (order, files)
}

/// A file of the EPUB as text.
pub fn text(files: &BTreeMap<String, Vec<u8>>, path: &str) -> String {
    String::from_utf8(files.get(path).unwrap_or_else(|| panic!("{path} missing from the EPUB")).clone()).unwrap()
}

/// Every path under `root`, folders included, sorted, with the bytes of each file (`None` for a folder).
pub fn snapshot(root: &Path) -> Vec<(PathBuf, Option<Vec<u8>>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let bytes = if path.is_dir() {
                stack.push(path.clone());
                None
            } else {
                Some(fs::read(&path).unwrap())
            };
            out.push((path, bytes));
        }
    }
    out.sort();
    out
}
