//! The build cache: finished chapters and pages, optimized images and subset fonts, stored by a hash of
//! everything that went into them, so a rebuild after an edit renders and compresses only what changed.
//!
//! Every key hashes folio's version and the sources it was built from. A chapter's key adds the book's
//! configuration files, the chapter's text and every file it includes, its place in the book and the
//! build's timestamp; an image's key adds its bytes and the settings that shape it; a font's key adds its
//! bytes and the characters and features its subset keeps. An entry holds a payload of bytes, metadata,
//! folio's version, a magic number and a tag; anything that does not read back exactly is a miss,
//! rebuilt and overwritten, never trusted. Entries this build did not use are deleted at the end, so the
//! cache holds one book's current chapters, images and fonts and no more.
//!
//! The tag is an HMAC of the entry under a secret of the user's own (see [`secret`]), so a cache folder
//! that comes with a book (committed beside it, say) cannot put forged chapters into the EPUB: entries
//! made anywhere else are misses.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use memmap2::Mmap;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use xxhash_rust::xxh3::{Xxh3, xxh3_128};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::document::{Bytes, Finished};

const MAGIC: &[u8; 8] = b"FOLIOC05";
/// Bytes of the HMAC kept at an entry's end.
const TAG_LEN: usize = 16;
/// The key of an entry's HMAC.
pub type Secret = [u8; 32];
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

/// The key of these parts, in order (see [`KeyBuilder`]).
pub fn key(parts: &[&[u8]]) -> Key {
    let mut key = KeyBuilder::new();
    for part in parts {
        key.add(part);
    }
    key.finish()
}

/// What one cache entry holds: metadata with a finished document, or with a payload of bytes.
pub trait Cacheable: Sized {
    /// The entry under `key`, if it reads back intact.
    fn read(cache: &Cache, key: Key) -> Option<Self>;
    /// Stores it under `key`.
    fn write(&self, cache: &Cache, key: Key) -> io::Result<()>;
}

impl<M: Serialize + DeserializeOwned> Cacheable for (M, Finished) {
    fn read(cache: &Cache, key: Key) -> Option<Self> {
        cache.get(key)
    }

    fn write(&self, cache: &Cache, key: Key) -> io::Result<()> {
        cache.put(key, &self.0, &self.1)
    }
}

impl<M: Serialize + DeserializeOwned> Cacheable for (M, Bytes) {
    fn read(cache: &Cache, key: Key) -> Option<Self> {
        cache.get_bytes(key)
    }

    fn write(&self, cache: &Cache, key: Key) -> io::Result<()> {
        cache.put_bytes(key, &self.0, &self.1)
    }
}

/// What `work` makes, taken from the cache when it holds an entry under `key`, else made and stored
/// there; an entry that cannot be written only makes the next build slower. Without a cache `work` just
/// runs, and `key`, which may hash megabytes, is not made.
pub fn cached<T: Cacheable, E>(
    cache: Option<&Cache>,
    key: impl FnOnce() -> Key,
    work: impl FnOnce() -> Result<T, E>,
) -> Result<T, E> {
    let Some(cache) = cache else { return work() };
    let key = key();
    if let Some(hit) = T::read(cache, key) {
        return Ok(hit);
    }
    let made = work()?;
    let _ = made.write(cache, key);
    Ok(made)
}

/// One book's cache folder.
pub struct Cache {
    dir: PathBuf,
    used: Mutex<HashSet<String>>,
    writable: bool,
    /// Signs and checks entries; without one, nothing is read or written.
    secret: Option<Secret>,
}

impl Cache {
    /// The cache for the book identified by `book`, inside `root` (created when first written), with
    /// entries signed by the user's [`secret`].
    pub fn new(root: &Path, book: Key) -> Self {
        Self::with_secret(root, book, secret().copied())
    }

    /// The same, with entries signed by the given secret.
    pub fn with_secret(root: &Path, book: Key, secret: Option<Secret>) -> Self {
        Self {
            dir: root.join(format!("book-{:016x}", (book >> 64) as u64)),
            used: Mutex::new(HashSet::new()),
            writable: true,
            secret,
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
        let secret = self.secret.as_ref()?;
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
        let (meta, payload_len) = decode(&bytes, secret)?;
        Some((meta, bytes.truncated(payload_len)))
    }

    /// The key entries are signed with, when this cache stores them (not read-only, with a key).
    fn storing(&self) -> Option<&Secret> {
        self.secret.as_ref().filter(|_| self.writable)
    }

    /// Stores metadata and a payload under `key` (nothing, in a read-only cache). The entry is written to
    /// a temporary file and renamed, so a reader never sees half of it; it is not synced to disk, since
    /// a damaged entry is detected and rebuilt anyway.
    pub fn put_bytes<T: Serialize>(&self, key: Key, meta: &T, payload: &[u8]) -> io::Result<()> {
        let Some(secret) = self.storing() else { return Ok(()) };
        fs::create_dir_all(&self.dir)?;
        let name = Self::file_name(key);
        self.used.lock().expect("not poisoned").insert(name.clone());
        // Created exclusively at an unpredictable name, and removed if anything fails.
        let mut temp = crate::write::temporary_file(&self.dir, &format!(".{name}."))?;
        temp.write_all(&encode(meta, payload, secret)?)?;
        temp.persist(self.dir.join(&name)).map_err(|e| e.error)?;
        Ok(())
    }

    /// Stores `value`, encoded, as the payload under `key`, with `meta` beside it: a reader learns the
    /// metadata without decoding the value, and decodes it ([`decode_payload`]) only when it needs it.
    pub fn put_encoded<M: Serialize, T: Serialize>(&self, key: Key, meta: &M, value: &T) -> io::Result<()> {
        // Not even encoded for a cache that stores nothing.
        if self.storing().is_none() {
            return Ok(());
        }
        let payload = postcard::to_stdvec(value).map_err(io::Error::other)?;
        self.put_bytes(key, meta, &payload)
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

/// The secret that signs this user's cache entries: 32 random bytes kept in `folio/key` under the user's
/// cache folder (`$XDG_CACHE_HOME`, else `~/.cache`; `%LOCALAPPDATA%` on Windows), made on first use,
/// readable by the user alone. Where there is no such folder, or it cannot be written, each process makes
/// its own secret, so a cache is only ever read by the process that wrote it. `None` when the system
/// gives no random bytes: then nothing is cached.
pub fn secret() -> Option<&'static Secret> {
    static SECRET: OnceLock<Option<Secret>> = OnceLock::new();
    SECRET.get_or_init(|| user_secret().ok().or_else(random_secret)).as_ref()
}

fn random_secret() -> Option<Secret> {
    let mut secret = [0; 32];
    getrandom::fill(&mut secret).ok()?;
    Some(secret)
}

/// The user's secret, read from its file or made and stored there.
fn user_secret() -> io::Result<Secret> {
    let folder = [("XDG_CACHE_HOME", ""), ("HOME", ".cache"), ("LOCALAPPDATA", "")]
        .iter()
        .find_map(|(var, sub)| std::env::var_os(var).filter(|v| !v.is_empty()).map(|v| PathBuf::from(v).join(sub)))
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no cache folder"))?
        .join("folio");
    let path = folder.join("key");
    let read = |path: &Path| -> io::Result<Secret> {
        let bytes = fs::read(path)?;
        bytes.try_into().map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not a folio key"))
    };
    match read(&path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        found => return found,
    }
    let secret = random_secret().ok_or_else(|| io::Error::other("no random bytes"))?;
    fs::create_dir_all(&folder)?;
    // tempfile creates its files readable by the user alone; two builds that start at once keep the
    // first one's key.
    let mut temp = tempfile::NamedTempFile::new_in(&folder)?;
    temp.write_all(&secret)?;
    match temp.persist_noclobber(&path) {
        Ok(_) => Ok(secret),
        Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => read(&path),
        Err(e) => Err(e.error),
    }
}

/// Layout: the payload as it is (first, so reading it back needs no copy), the metadata's postcard bytes
/// and their length, folio's version and its length, the magic number, and the [`tag`] of everything
/// before it.
fn encode<T: Serialize>(meta: &T, payload: &[u8], secret: &Secret) -> io::Result<Vec<u8>> {
    let meta = postcard::to_stdvec(meta).map_err(io::Error::other)?;
    let mut bytes = Vec::with_capacity(payload.len() + meta.len() + 64);
    bytes.extend_from_slice(payload);
    bytes.extend_from_slice(&meta);
    bytes.extend_from_slice(&(meta.len() as u64).to_le_bytes());
    bytes.extend_from_slice(VERSION.as_bytes());
    bytes.push(VERSION.len() as u8);
    bytes.extend_from_slice(MAGIC);
    let tag = tag(&bytes, secret);
    bytes.extend_from_slice(&tag);
    Ok(bytes)
}

/// An HMAC-SHA-256 of the bytes' 128-bit xxh3 hash, of which an entry keeps the first [`TAG_LEN`] bytes.
/// Hashing the bytes with xxh3 first keeps a warm build's check of megabytes of mapped entries at memory
/// speed; forging a tag needs the secret, and finding bytes with another entry's xxh3 needs that entry,
/// which only the user's own builds have.
fn mac(bytes: &[u8], secret: &Secret) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(&xxh3_128(bytes).to_le_bytes());
    mac
}

fn tag(bytes: &[u8], secret: &Secret) -> [u8; TAG_LEN] {
    let mut tag = [0; TAG_LEN];
    tag.copy_from_slice(&mac(bytes, secret).finalize().into_bytes()[..TAG_LEN]);
    tag
}

/// Reads an entry back, from its end: its metadata and the length of the payload before them; `None`
/// unless every part is intact.
fn decode<T: DeserializeOwned>(bytes: &[u8], secret: &Secret) -> Option<(T, usize)> {
    let (body, stored) = bytes.split_at_checked(bytes.len().checked_sub(TAG_LEN)?)?;
    // Compared in constant time, so a forger learns nothing from how long a check takes.
    mac(body, secret).verify_truncated_left(stored).ok()?;
    let rest = body.strip_suffix(MAGIC)?;
    let (&version_len, rest) = rest.split_last()?;
    let rest = rest.strip_suffix(VERSION.as_bytes()).filter(|_| usize::from(version_len) == VERSION.len())?;
    let (rest, meta_len) = length_suffix(rest)?;
    let (payload, meta) = rest.split_at_checked(rest.len().checked_sub(meta_len)?)?;
    Some((postcard::from_bytes(meta).ok()?, payload.len()))
}

/// The value [`Cache::put_encoded`] stored as a payload; `None` if it does not decode, which an entry
/// that passed its checks does only if folio wrote another type than it reads.
pub fn decode_payload<T: DeserializeOwned>(payload: &[u8]) -> Option<T> {
    postcard::from_bytes(payload).ok()
}

/// Splits a little-endian `u64` length off the end.
fn length_suffix(bytes: &[u8]) -> Option<(&[u8], usize)> {
    let (rest, len) = bytes.split_at_checked(bytes.len().checked_sub(8)?)?;
    Some((rest, usize::try_from(u64::from_le_bytes(len.try_into().ok()?)).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: Secret = [7; 32];

    fn signed(root: &Path, book: Key) -> Cache {
        Cache::with_secret(root, book, Some(SECRET))
    }

    /// Metadata like a chapter's: its outline entry and its note count.
    type Meta = (usize, usize);

    fn sample() -> (Meta, Finished) {
        ((3, 7), Finished { document: Err("bad".into()), compressed: vec![1, 2, 3].into() })
    }

    fn put(cache: &Cache, key: Key) {
        let (meta, finished) = sample();
        cache.put(key, &meta, &finished).unwrap();
    }

    fn get(cache: &Cache, key: Key) -> Option<(Meta, Finished)> {
        cache.get(key)
    }

    #[test]
    fn round_trips_and_rejects_damage() {
        let dir = tempfile::tempdir().unwrap();
        let cache = signed(dir.path(), 42);
        assert!(get(&cache, 1).is_none());
        put(&cache, 1);
        let (meta, finished) = get(&cache, 1).unwrap();
        assert_eq!(meta, (3, 7));
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

    #[test]
    fn cached_work_runs_once_and_failures_are_not_stored() {
        let dir = tempfile::tempdir().unwrap();
        let cache = signed(dir.path(), 42);
        let make = |text: &'static str| move || Ok::<_, String>((7_u8, Bytes::from(text.as_bytes().to_vec())));
        let (meta, made) = cached(Some(&cache), || key(&[b"a"]), make("made")).unwrap();
        assert_eq!((meta, &made[..]), (7, &b"made"[..]));
        // The second time the entry is read, and the work does not run.
        let (_, read) = cached(Some(&cache), || key(&[b"a"]), make("made again")).unwrap();
        assert_eq!(&read[..], b"made");
        // Another key is another entry; a failure is given back and nothing is stored.
        let failed = cached::<(u8, Bytes), _>(Some(&cache), || key(&[b"b"]), || Err("no".to_string()));
        assert_eq!(failed.unwrap_err(), "no");
        assert!(cache.get_bytes::<u8>(key(&[b"b"])).is_none());
        // Without a cache the work runs every time, and the key is not made.
        let (_, uncached) = cached(None, || panic!("no key without a cache"), make("uncached")).unwrap();
        assert_eq!(&uncached[..], b"uncached");
    }

    /// Unix only: Windows does not delete a file while it is mapped.
    #[cfg(unix)]
    #[test]
    fn payloads_are_mapped_and_outlive_their_entry() {
        let dir = tempfile::tempdir().unwrap();
        let cache = signed(dir.path(), 42);
        put(&cache, 1);
        let (_, finished) = get(&cache, 1).unwrap();
        assert!(matches!(finished.compressed, Bytes::Mapped(..)), "not copied into memory");
        // Pruned (or replaced) while a build still holds it: the mapped bytes stay as they were.
        signed(dir.path(), 42).prune().unwrap();
        assert!(get(&cache, 1).is_none(), "the entry is gone");
        assert_eq!(&finished.compressed[..], &[1, 2, 3]);
    }

    #[test]
    fn entries_of_another_version_are_misses_even_when_intact() {
        let (meta, finished) = sample();
        let bytes = encode(&(meta, &finished.document), &finished.compressed, &SECRET).unwrap();
        let body = &bytes[..bytes.len() - TAG_LEN];
        let version_at = body.len() - MAGIC.len() - 1 - VERSION.len();
        let mut other = body.to_vec();
        other[version_at] ^= 1;
        other.extend_from_slice(&tag(&other, &SECRET));
        type Entry = (Meta, Result<crate::document::Document, String>);
        assert!(decode::<Entry>(&other, &SECRET).is_none());
        assert!(decode::<Entry>(&bytes, &SECRET).is_some());
    }

    /// A cache folder that comes with a book cannot put its own chapters into the EPUB.
    #[test]
    fn entries_signed_with_another_secret_are_misses() {
        let dir = tempfile::tempdir().unwrap();
        let forger = Cache::with_secret(dir.path(), 42, Some([9; 32]));
        put(&forger, 1);
        assert!(get(&forger, 1).is_some());
        assert!(get(&signed(dir.path(), 42), 1).is_none(), "another user's entry is not trusted");
        // Rewriting an entry's bytes without the secret gives it away, whatever tag it carries.
        put(&signed(dir.path(), 42), 2);
        let path = signed(dir.path(), 42).dir().join(Cache::file_name(2));
        let mut bytes = fs::read(&path).unwrap();
        let at = bytes.len() - TAG_LEN - 1;
        bytes[at] ^= 1;
        fs::write(&path, &bytes).unwrap();
        assert!(get(&signed(dir.path(), 42), 2).is_none());
        // Without a secret nothing is read or written.
        let unsigned = Cache::with_secret(dir.path(), 43 << 64, None);
        put(&unsigned, 3);
        assert!(get(&unsigned, 3).is_none() && !unsigned.dir().exists());
    }

    #[test]
    fn prune_keeps_only_used_entries() {
        let dir = tempfile::tempdir().unwrap();
        let first = signed(dir.path(), 7);
        put(&first, 1);
        put(&first, 2);
        let second = signed(dir.path(), 7);
        assert!(get(&second, 2).is_some());
        second.prune().unwrap();
        assert!(get(&second, 1).is_none() && get(&second, 2).is_some());
    }

    #[test]
    fn prune_goes_on_past_an_entry_it_cannot_remove() {
        let dir = tempfile::tempdir().unwrap();
        let first = signed(dir.path(), 7);
        // A folder where an entry would be: remove_file fails on it. The order in which a folder lists
        // its files is not ours to choose, so there are many entries to list after it.
        fs::create_dir_all(first.dir().join(Cache::file_name(0))).unwrap();
        for key in 1..=20 {
            put(&first, key);
        }
        let second = signed(dir.path(), 7);
        assert!(second.prune().is_err(), "the failure is reported");
        assert!((1..=20).all(|key| get(&second, key).is_none()), "the others are gone all the same");
    }

    #[test]
    fn an_encoded_payload_is_decoded_only_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let cache = signed(dir.path(), 42);
        cache.put_encoded(1, &7_u8, &("rendering".to_string(), 3_usize)).unwrap();
        let (meta, payload) = cache.get_bytes::<u8>(1).unwrap();
        assert_eq!(meta, 7);
        assert_eq!(decode_payload::<(String, usize)>(&payload), Some(("rendering".to_string(), 3)));
        assert_eq!(decode_payload::<(String, usize)>(&payload[..4]), None, "cut short");
        // A read-only cache stores nothing.
        let read_only = Cache { writable: false, ..signed(dir.path(), 42) };
        read_only.put_encoded(2, &7_u8, &"never stored").unwrap();
        assert!(cache.get_bytes::<u8>(2).is_none());
    }

    #[test]
    fn keys_separate_their_parts() {
        let a = KeyBuilder::new().add(b"ab").add(b"c").finish();
        let b = KeyBuilder::new().add(b"a").add(b"bc").finish();
        assert_ne!(a, b);
    }
}
