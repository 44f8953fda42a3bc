//! The finished document, as the stages from render to write hand it on: bytes that may be mapped from
//! the build cache ([`Bytes`]), a document checked and compressed ([`Finished`]), what folio's check
//! learned of it ([`Document`], [`IdList`]), the files that go in as they are ([`Asset`]) and the EPUB's
//! files ([`Epub`]).
//!
//! It imports nothing of folio's, so the cache, render, validate and package can all use it without
//! importing each other.

use std::borrow::Cow;
use std::io::{Cursor, Read};
use std::ops::Deref;
use std::sync::Arc;

use memmap2::Mmap;
use serde::{Deserialize, Serialize};
use zip::ZipArchive;

/// Bytes in memory, or the payload of a cache entry mapped from its file: a rebuild leaves the compressed
/// documents of unchanged chapters in the system's file cache, rather than copying megabytes into fresh
/// memory only to write them out again.
#[derive(Clone)]
pub enum Bytes {
    /// Made by this build.
    Owned(Vec<u8>),
    /// The first `len` bytes of a mapped entry.
    Mapped(Arc<Mmap>, usize),
}

impl Bytes {
    /// The first `len` bytes.
    pub(crate) fn truncated(self, len: usize) -> Self {
        match self {
            Bytes::Owned(mut bytes) => {
                bytes.truncate(len);
                Bytes::Owned(bytes)
            }
            Bytes::Mapped(map, whole) => Bytes::Mapped(map, len.min(whole)),
        }
    }
}

impl Bytes {
    /// The bytes as a vector of their own: moved when owned, copied when mapped.
    pub fn into_vec(self) -> Vec<u8> {
        match self {
            Bytes::Owned(bytes) => bytes,
            Bytes::Mapped(map, len) => map[..len].to_vec(),
        }
    }
}

impl Deref for Bytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Owned(bytes) => bytes,
            Bytes::Mapped(map, len) => &map[..*len],
        }
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(bytes: Vec<u8>) -> Self {
        Bytes::Owned(bytes)
    }
}

impl PartialEq for Bytes {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for Bytes {}

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bytes({} bytes)", self.len())
    }
}

/// A file for the package: an image, a stylesheet, a font.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asset {
    /// Path relative to the package root (`images/x.png`).
    pub href: String,
    /// Media type, from the bytes.
    pub media_type: &'static str,
    /// The bytes.
    pub data: Vec<u8>,
}

/// The content of one file of the package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// Bytes to be compressed when zipping.
    Plain(Vec<u8>),
    /// Already compressed: a zip holding just this file, copied into the EPUB as it is.
    Deflated(Bytes),
}

/// The EPUB's files in zip order (paths inside the zip), ready to be zipped.
#[derive(Debug, Clone)]
pub struct Epub {
    /// `(path, content)`, `mimetype` first.
    pub files: Vec<(String, Entry)>,
    /// Timestamp for every entry.
    pub modified: i64,
}

impl Epub {
    /// The bytes of a file, decompressed if need be.
    pub fn read(&self, path: &str) -> Option<Cow<'_, [u8]>> {
        let (_, entry) = self.files.iter().find(|(p, _)| p == path)?;
        match entry {
            Entry::Plain(data) => Some(Cow::Borrowed(data)),
            Entry::Deflated(zip) => {
                let mut archive = ZipArchive::new(Cursor::new(&zip[..])).ok()?;
                let mut data = Vec::new();
                archive.by_index(0).ok()?.read_to_end(&mut data).ok()?;
                Some(Cow::Owned(data))
            }
        }
    }
}

/// A document ready for the zip: folio's check of it and its compressed bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// folio's check of the document, or what is wrong with it.
    pub document: Result<Document, String>,
    /// A zip holding just the document, deflated.
    pub compressed: Bytes,
}

/// A sorted set of ids stored end to end in one string, so it reads back from the build cache as two
/// allocations instead of one per id, and answers lookups by binary search without being rebuilt.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdList {
    text: String,
    ends: Vec<u32>,
}

impl IdList {
    /// The list of these ids, sorted and without duplicates.
    pub fn new<S: AsRef<str>>(ids: impl IntoIterator<Item = S>) -> Self {
        let mut sorted: Vec<S> = ids.into_iter().collect();
        sorted.sort_unstable_by(|a, b| a.as_ref().cmp(b.as_ref()));
        sorted.dedup_by(|a, b| a.as_ref() == b.as_ref());
        let mut list = Self { text: String::new(), ends: Vec::with_capacity(sorted.len()) };
        for id in &sorted {
            list.text.push_str(id.as_ref());
            list.ends.push(u32::try_from(list.text.len()).unwrap_or(u32::MAX));
        }
        list
    }

    fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        // Only a damaged cache entry could give bad offsets, and those fail the entry's checksum.
        self.text.get(start..self.ends[i] as usize).unwrap_or("")
    }

    /// True when the list holds `id`.
    pub fn contains(&self, id: &str) -> bool {
        let (mut low, mut high) = (0, self.ends.len());
        while low < high {
            let middle = low + (high - low) / 2;
            match self.get(middle).cmp(id) {
                std::cmp::Ordering::Less => low = middle + 1,
                std::cmp::Ordering::Greater => high = middle,
                std::cmp::Ordering::Equal => return true,
            }
        }
        false
    }

    /// Every id, in sorted order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.ends.len()).map(|i| self.get(i))
    }
}

/// What folio's check learned about one XML document: its ids and the internal links it holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    /// Every id.
    pub ids: IdList,
    /// For every internal link to another file (links within the document were checked when it
    /// was parsed): the href as written, the resolved path inside the zip, and `#` plus the fragment
    /// (empty without one), each followed by NUL, which cannot occur in XML. One string reads back
    /// from the cache faster than a string per field.
    links: String,
    /// Every character of the text a reader may show (text and `alt`), each once, in order; empty unless
    /// asked for, since only embedded fonts need it.
    pub characters: String,
}

/// An internal link of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link<'a> {
    /// The href as written.
    pub href: &'a str,
    /// The path inside the zip it resolves to.
    pub target: &'a str,
    /// The fragment, percent-decoded.
    pub fragment: Option<&'a str>,
}

impl Document {
    /// Every internal link, in document order.
    pub fn links(&self) -> impl Iterator<Item = Link<'_>> {
        let mut fields = self.links.split_terminator('\0');
        std::iter::from_fn(move || {
            let href = fields.next()?;
            let target = fields.next()?;
            let fragment = fields.next()?.strip_prefix('#');
            Some(Link { href, target, fragment })
        })
    }

    pub(crate) fn push_link(&mut self, href: &str, target: &str, fragment: Option<&str>) {
        for field in [href, target] {
            self.links.push_str(field);
            self.links.push('\0');
        }
        if let Some(fragment) = fragment {
            self.links.push('#');
            self.links.push_str(fragment);
        }
        self.links.push('\0');
    }
}
