//! Shared support code for folio's integration tests (included with `mod common;`).
pub mod epubcheck;
