//! Raw HTML in Markdown → well-formed, safe XHTML.
//!
//! Procedure, one file a step:
//! - `policy`: the allow-list, as data: which elements, attributes and URLs stay, and what is
//!   renamed, unwrapped or dropped.
//! - `scan`: tokenizes each raw HTML fragment where the author wrote it, to report what the policy
//!   will remove at its Markdown position, to find the images and links it uses, and to let the
//!   Markdown renderer write a plain inline tag itself.
//! - `sink`: html5ever's tree builder parses a whole chapter body into a small DOM, repairing
//!   misnested and unclosed tags as a browser would.
//! - `writer`: walks that DOM as events and writes XHTML, applying the policy and recording the ids
//!   and images it writes.
//!
//! Chapters without raw HTML never come here.

mod policy;
mod scan;
mod sink;
mod writer;

pub use policy::is_active_url;
pub(crate) use policy::{is_xml_name, value_ok};
pub use scan::{MAX_DEPTH, ScanReport, ScanState, SimpleTag, scan};
pub use writer::{Ids, Sanitized, UrlRewriter, Written, sanitize, sanitize_without_ids};

/// A URL attribute found in raw HTML, for the renderer to resolve and check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// `<a href>`.
    Link(String),
    /// `<img src>`.
    Image(String),
}
