//! Replays every input saved in `tests/fuzz-regressions/` through the same invariants the fuzz
//! targets check (`fuzz/invariants.rs`, shared with `#[path]`), so a crash the fuzzer found stays
//! fixed once it is.
//!
//! Each file holds exactly the bytes the fuzz target was given, so
//! `cargo fuzz run <target> tests/fuzz-regressions/<file>` (from `fuzz/`) reproduces it too:
//! - `render-*.md`: Markdown for `folio::render_markdown`;
//! - `book_files-*`: the first byte picks the parser (`byte % 3`: `0` book.toml, `1` SUMMARY.md,
//!   `2` sources.toml), the rest is the file;
//! - `sanitize-*`: the first byte picks the sanitiser (`byte % 3`: `0` an SVG file, `1` a stylesheet,
//!   `2` raw HTML), the rest is its input.
//!
//! Bytes that are not UTF-8 are read lossily, as the fuzz targets do.

#[path = "../fuzz/invariants.rs"]
mod invariants;

use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use invariants::BookFile;

fn inputs() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

/// Runs one saved input through its target's invariants; panics when one fails.
fn replay(name: &str, data: &[u8]) {
    if name.starts_with("render-") {
        invariants::check_render(&String::from_utf8_lossy(data));
    } else if name.starts_with("book_files-") {
        let Some((&selector, rest)) = data.split_first() else { return };
        invariants::check_book_file(BookFile::from_selector(selector), &String::from_utf8_lossy(rest));
    } else if name.starts_with("sanitize-") {
        let Some((&selector, rest)) = data.split_first() else { return };
        invariants::check_sanitized(invariants::Sanitized::from_selector(selector), rest);
    } else {
        panic!("unknown fuzz target prefix (expected `render-`, `book_files-` or `sanitize-`)");
    }
}

#[test]
fn saved_fuzz_inputs_keep_every_invariant() {
    let files = inputs();
    assert!(!files.is_empty(), "tests/fuzz-regressions/ has no inputs");
    let mut failures = Vec::new();
    for path in &files {
        let name = path.file_name().expect("file name").to_string_lossy().into_owned();
        let data = std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let started = Instant::now();
        if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| replay(&name, &data))) {
            let message = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("(panic without a message)");
            failures.push(format!("{name}: {message}"));
        }
        let elapsed = started.elapsed();
        if elapsed > Duration::from_secs(5) {
            // Not a failure (debug builds are slow), but worth seeing in `--nocapture` output.
            eprintln!("{name}: slow, {elapsed:?}");
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} saved fuzz inputs fail:\n\n{}",
        failures.len(),
        files.len(),
        failures.join("\n\n")
    );
}
