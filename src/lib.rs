//! folio: Markdown book folders in, EPUB 3 out.

pub mod config;
pub mod diagnostic;
pub mod include;
pub mod load;
pub mod outline;
pub mod render;
pub mod text;
