//! Shared support code for folio's integration tests (included with `mod common;`).
#![allow(dead_code)]
pub mod books;
pub mod epubcheck;
pub mod kobo;
pub mod web;
