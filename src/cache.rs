//! The build cache: finished chapters and pages, optimized images and subset fonts, stored by a hash of
//! everything that went into them, so a rebuild after an edit renders and compresses only what changed.
//!
//! Every key hashes folio's version and the sources it was built from. A chapter's key adds the book's
//! configuration files, the chapter's text and every file it includes, its place in the book and the
//! build's timestamp; an image's key adds its bytes and the settings that shape it; a font's key adds its
//! bytes and the characters and features its subset keeps. An entry holds a payload of bytes, metadata,
//! folio's version, a magic number and a checksum; anything that does not read back exactly is a miss,
//! rebuilt and overwritten, never trusted. Entries this build did not use are deleted at the end, so the
//! cache holds one book's current chapters, images and fonts and no more.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use memmap2::Mmap;

use xxhash_rust::xxh3::{Xxh3, xxh3_64};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::package::Finished;

const MAGIC: &[u8; 8] = b"FOLIOC04";
/// folio's version and a hash of the sources it was built from (see `build.rs`).
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "+", env!("FOLIO_SOURCE_HASH"));

/// A 128-bit content hash.
pub type Key = u128;

/// Feeds the parts of a key; each part is length-prefixed so parts cannot run into each other.
#[derive(Default)]
pub struct KeyBuilder(Xxh3);

impl KeyBuilder {
    /// Starts a key with folio's version.
    pub fn new() -> Self {
        let mut builder = Self(Xxh3::new());
        builder.add(VERSION.as_bytes());
        builder
    }

    /// Adds one part.
    pub fn add(&mut self, part: &[u8]) -> &mut Self {
        self.0.update(&(part.len() as u64).to_le_bytes());
        self.0.update(part);
        self
    }

    /// The key.
    pub fn finish(&self) -> Key {
        self.0.digest128()
    }
}

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
    fn truncated(self, len: usize) -> Self {
        match self {
            Bytes::Owned(mut bytes) => {
                bytes.truncate(len);
                Bytes::Owned(bytes)
            }
            Bytes::Mapped(map, whole) => Bytes::Mapped(map, len.min(whole)),
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

/// One book's cache folder.
pub struct Cache {
    dir: PathBuf,
    used: Mutex<HashSet<String>>,
    writable: bool,
}

impl Cache {
    /// The cache for the book identified by `book`, inside `root` (created when first written).
    pub fn new(root: &Path, book: Key) -> Self {
        Self {
            dir: root.join(format!("book-{:016x}", (book >> 64) as u64)),
            used: Mutex::new(HashSet::new()),
            writable: true,
        }
    }

    /// The same cache, read but never written or pruned.
    pub fn read_only(root: &Path, book: Key) -> Self {
        Self { writable: false, ..Self::new(root, book) }
    }

    fn file_name(key: Key) -> String {
        format!("{key:032x}.entry")
    }

    /// The entry stored under `key` (its metadata and its finished document), if it reads back intact.
    pub fn get<T: DeserializeOwned>(&self, key: Key) -> Option<(T, Finished)> {
        let ((meta, document), compressed) = self.get_bytes(key)?;
        Some((meta, Finished { document, compressed }))
    }

    /// Stores a finished document and its metadata under `key`.
    pub fn put<T: Serialize>(&self, key: Key, meta: &T, finished: &Finished) -> io::Result<()> {
        self.put_bytes(key, &(meta, &finished.document), &finished.compressed)
    }

    /// The entry stored under `key` (its metadata and its payload), if it reads back intact.
    pub fn get_bytes<T: DeserializeOwned>(&self, key: Key) -> Option<(T, Bytes)> {
        let name = Self::file_name(key);
        self.used.lock().expect("not poisoned").insert(name.clone());
        let mut file = File::open(self.dir.join(&name)).ok()?;
        // SAFETY: the map is only read. folio writes an entry whole to a temporary file, renames it into
        // place and never writes to it again, and on Unix an entry deleted while mapped (by a prune)
        // stays readable. What a map cannot survive is another program truncating an entry during a
        // build, or the disk failing under it: the process then gets SIGBUS where a read would have
        // given an error.
        let bytes = match unsafe { Mmap::map(&file) } {
            Ok(map) => {
                let len = map.len();
                Bytes::Mapped(Arc::new(map), len)
            }
            // Some file systems cannot map files (FUSE in direct I/O mode): read those.
            Err(_) => {
                let mut bytes = Vec::new();
                file.read_to_end(&mut bytes).ok()?;
                Bytes::Owned(bytes)
            }
        };
        let (meta, payload_len) = decode(&bytes)?;
        Some((meta, bytes.truncated(payload_len)))
    }

    /// Stores metadata and a payload under `key` (nothing, in a read-only cache). The entry is written to
    /// a temporary file and renamed, so a reader never sees half of it; it is not synced to disk, since
    /// a damaged entry is detected and rebuilt anyway.
    pub fn put_bytes<T: Serialize>(&self, key: Key, meta: &T, payload: &[u8]) -> io::Result<()> {
        if !self.writable {
            return Ok(());
        }
        fs::create_dir_all(&self.dir)?;
        let name = Self::file_name(key);
        self.used.lock().expect("not poisoned").insert(name.clone());
        // Created exclusively at an unpredictable name, and removed if anything fails.
        let mut temp = crate::write::temporary_file(&self.dir, &format!(".{name}."))?;
        temp.write_all(&encode(meta, payload)?)?;
        temp.persist(self.dir.join(&name)).map_err(|e| e.error)?;
        Ok(())
    }

    /// Deletes entries this build did not use (none, in a read-only cache).
    pub fn prune(&self) -> io::Result<()> {
        if !self.writable {
            return Ok(());
        }
        let used = self.used.lock().expect("not poisoned");
        let Ok(entries) = fs::read_dir(&self.dir) else { return Ok(()) };
        // One entry that cannot go (another build holds it, on Windows) does not keep the rest.
        let mut first_error = Ok(());
        for entry in entries {
            let removed = entry.and_then(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                match name.ends_with(".entry") && !used.contains(&name) {
                    true => fs::remove_file(entry.path()),
                    false => Ok(()),
                }
            });
            if first_error.is_ok() {
                first_error = removed;
            }
        }
        first_error
    }

    /// The folder of this book's entries.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Layout: the payload as it is (first, so reading it back needs no copy), the metadata's postcard bytes
/// and their length, folio's version and its length, the magic number, and a checksum of everything
/// before it.
fn encode<T: Serialize>(meta: &T, payload: &[u8]) -> io::Result<Vec<u8>> {
    let meta = postcard::to_stdvec(meta).map_err(io::Error::other)?;
    let mut bytes = Vec::with_capacity(payload.len() + meta.len() + 64);
    bytes.extend_from_slice(payload);
    bytes.extend_from_slice(&meta);
    bytes.extend_from_slice(&(meta.len() as u64).to_le_bytes());
    bytes.extend_from_slice(VERSION.as_bytes());
    bytes.push(VERSION.len() as u8);
    bytes.extend_from_slice(MAGIC);
    let checksum = xxh3_64(&bytes);
    bytes.extend_from_slice(&checksum.to_le_bytes());
    Ok(bytes)
}

/// Reads an entry back, from its end: its metadata and the length of the payload before them; `None`
/// unless every part is intact.
fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Option<(T, usize)> {
    let (body, checksum) = bytes.split_at_checked(bytes.len().checked_sub(8)?)?;
    if xxh3_64(body).to_le_bytes() != checksum {
        return None;
    }
    let rest = body.strip_suffix(MAGIC)?;
    let (&version_len, rest) = rest.split_last()?;
    let rest = rest.strip_suffix(VERSION.as_bytes()).filter(|_| usize::from(version_len) == VERSION.len())?;
    let (rest, meta_len) = length_suffix(rest)?;
    let (payload, meta) = rest.split_at_checked(rest.len().checked_sub(meta_len)?)?;
    Some((postcard::from_bytes(meta).ok()?, payload.len()))
}

/// Splits a little-endian `u64` length off the end.
fn length_suffix(bytes: &[u8]) -> Option<(&[u8], usize)> {
    let (rest, len) = bytes.split_at_checked(bytes.len().checked_sub(8)?)?;
    Some((rest, usize::try_from(u64::from_le_bytes(len.try_into().ok()?)).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::RenderedChapter;

    fn sample() -> (RenderedChapter, Finished) {
        let rendered = RenderedChapter { entry: 3, note_count: 7, ..RenderedChapter::default() };
        (rendered, Finished { document: Err("bad".into()), compressed: vec![1, 2, 3].into() })
    }

    fn put(cache: &Cache, key: Key) {
        let (meta, finished) = sample();
        cache.put(key, &meta, &finished).unwrap();
    }

    fn get(cache: &Cache, key: Key) -> Option<(RenderedChapter, Finished)> {
        cache.get(key)
    }

    #[test]
    fn round_trips_and_rejects_damage() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path(), 42);
        assert!(get(&cache, 1).is_none());
        put(&cache, 1);
        let (meta, finished) = get(&cache, 1).unwrap();
        assert_eq!((meta.entry, meta.note_count), (3, 7));
        assert_eq!(finished, sample().1);

        // Flip one byte: the checksum catches it and the entry is a miss.
        let path = cache.dir().join(Cache::file_name(1));
        let mut bytes = fs::read(&path).unwrap();
        bytes[12] ^= 0xff;
        fs::write(&path, &bytes).unwrap();
        assert!(get(&cache, 1).is_none());
        // Truncated or empty files are misses too.
        fs::write(&path, MAGIC).unwrap();
        assert!(get(&cache, 1).is_none());
        fs::write(&path, b"").unwrap();
        assert!(get(&cache, 1).is_none());
    }

    /// Unix only: Windows does not delete a file while it is mapped.
    #[cfg(unix)]
    #[test]
    fn payloads_are_mapped_and_outlive_their_entry() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path(), 42);
        put(&cache, 1);
        let (_, finished) = get(&cache, 1).unwrap();
        assert!(matches!(finished.compressed, Bytes::Mapped(..)), "not copied into memory");
        // Pruned (or replaced) while a build still holds it: the mapped bytes stay as they were.
        Cache::new(dir.path(), 42).prune().unwrap();
        assert!(get(&cache, 1).is_none(), "the entry is gone");
        assert_eq!(&finished.compressed[..], &[1, 2, 3]);
    }

    #[test]
    fn entries_of_another_version_are_misses_even_when_intact() {
        let (meta, finished) = sample();
        let bytes = encode(&(meta, &finished.document), &finished.compressed).unwrap();
        let body = &bytes[..bytes.len() - 8];
        let version_at = body.len() - MAGIC.len() - 1 - VERSION.len();
        let mut other = body.to_vec();
        other[version_at] ^= 1;
        let checksum = xxh3_64(&other);
        other.extend_from_slice(&checksum.to_le_bytes());
        type Meta = (RenderedChapter, Result<crate::validate::Document, String>);
        assert!(decode::<Meta>(&other).is_none());
        assert!(decode::<Meta>(&bytes).is_some());
    }

    #[test]
    fn prune_keeps_only_used_entries() {
        let dir = tempfile::tempdir().unwrap();
        let first = Cache::new(dir.path(), 7);
        put(&first, 1);
        put(&first, 2);
        let second = Cache::new(dir.path(), 7);
        assert!(get(&second, 2).is_some());
        second.prune().unwrap();
        assert!(get(&second, 1).is_none() && get(&second, 2).is_some());
    }

    #[test]
    fn prune_goes_on_past_an_entry_it_cannot_remove() {
        let dir = tempfile::tempdir().unwrap();
        let first = Cache::new(dir.path(), 7);
        // A folder where an entry would be: remove_file fails on it. The order in which a folder lists
        // its files is not ours to choose, so there are many entries to list after it.
        fs::create_dir_all(first.dir().join(Cache::file_name(0))).unwrap();
        for key in 1..=20 {
            put(&first, key);
        }
        let second = Cache::new(dir.path(), 7);
        assert!(second.prune().is_err(), "the failure is reported");
        assert!((1..=20).all(|key| get(&second, key).is_none()), "the others are gone all the same");
    }

    #[test]
    fn keys_separate_their_parts() {
        let a = KeyBuilder::new().add(b"ab").add(b"c").finish();
        let b = KeyBuilder::new().add(b"a").add(b"bc").finish();
        assert_ne!(a, b);
    }
}
