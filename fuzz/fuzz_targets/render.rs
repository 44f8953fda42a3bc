//! Markdown and raw HTML → XHTML: `folio::render_markdown` must not panic, must write a
//! well-formed body, and every note reference must point at a note that exists.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../invariants.rs"]
mod invariants;

fuzz_target!(|data: &[u8]| {
    let markdown = String::from_utf8_lossy(data);
    invariants::check_render(&markdown);
});
