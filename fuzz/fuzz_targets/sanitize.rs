//! SVG files, stylesheets and raw HTML through folio's sanitisers: the first byte picks which
//! (`byte % 3`: `0` SVG, `1` CSS, `2` HTML), the rest is the input. No panic, and nothing active or
//! pointing outside the book in what comes out.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../invariants.rs"]
mod invariants;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    invariants::check_sanitized(invariants::Sanitized::from_selector(selector), rest);
});
