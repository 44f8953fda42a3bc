//! book.toml, SUMMARY.md and the sources file: the first byte picks the parser
//! (`byte % 3`: `'0'` book.toml, `'1'` SUMMARY.md, `'2'` sources.toml), the rest is the file.
//! No parser may panic, and every diagnostic position must be 1-based.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../invariants.rs"]
mod invariants;

use invariants::BookFile;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest);
    invariants::check_book_file(BookFile::from_selector(selector), &text);
});
