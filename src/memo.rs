//! The source memo: which chapters a rebuild need not read to know their cache keys.
//!
//! A chapter's cache key hashes its texts. Reading and hashing every chapter of a large book is most of
//! what a rebuild after one edit costs, so the memo keeps, for each chapter the last build read, the
//! [`Stamp`] of every file it was made from and the hash of their texts. While every one of those files
//! has the same stamp, the texts are the ones hashed before and the recorded hash stands in for them: a
//! file's hash is reused, never a chapter's output, which still comes from the cache by content hash.
//! Build systems such as git and Bazel trust file metadata the same way.
//!
//! Images likewise: for each PNG or JPEG the last build optimised, the memo keeps its stamp and the key
//! its result is cached under, so an unchanged image is neither read nor hashed to find that entry (one
//! packaged as it is, not changed by optimising, is still read for its bytes).
//!
//! A chapter or an image is recorded only when each of its files had settled when it was read (see
//! [`Stamp::settled_at`]) and reading it reported nothing. The memo is a cache entry like any other:
//! checksummed, tied to folio's version, and ignored when it does not read back intact.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::cache::{Cache, Key, KeyBuilder};
use crate::files::{ReadRoot, Stamp};
use crate::include::Expanded;

/// What a build knows of each chapter it read, by the chapter's path relative to the book folder.
type Chapters = BTreeMap<PathBuf, Recorded>;

/// What a build knows of each image it optimised, by its path relative to the book folder.
type Images = BTreeMap<PathBuf, RecordedImage>;

/// What the memo holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Sources {
    chapters: Chapters,
    images: Images,
}

/// An image as the last build read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedImage {
    stamp: Stamp,
    /// The settings it was optimised with: a result is for those only.
    pub settings: Key,
    /// The key its optimised result is cached under.
    pub key: Key,
    /// Its media type, from its bytes.
    pub media_type: String,
    /// Its size in bytes.
    pub len: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Recorded {
    /// Each file the chapter was made from, relative to the book folder, with its stamp when read.
    files: Vec<(PathBuf, Stamp)>,
    /// The hash of their texts ([`texts_key`]).
    texts: Key,
    /// What reading them took from the book's text budget ([`Expanded::cost`]).
    cost: u64,
}

/// The memo of one build: what the last build left, and what this one will leave.
pub struct Memo {
    previous: Sources,
    next: Mutex<Sources>,
    /// When this build started: files changed since, or just before, are not recorded.
    started: SystemTime,
}

/// The hash of a chapter's texts: each file's shown path and text.
pub fn texts_key(text: &Expanded) -> Key {
    let mut key = KeyBuilder::new();
    for file in text.files() {
        key.add(file.path.as_os_str().as_encoded_bytes()).add(file.text.as_bytes());
    }
    key.finish()
}

fn memo_key() -> Key {
    KeyBuilder::new().add(b"source memo").finish()
}

impl Memo {
    /// The memo the last build left in `cache` (empty when there is none, or it is damaged), for a build
    /// that started at `started`.
    pub fn load(cache: &Cache, started: SystemTime) -> Self {
        let previous = cache.get_bytes::<Sources>(memo_key()).map(|(sources, _)| sources).unwrap_or_default();
        Self { previous, next: Mutex::default(), started }
    }

    /// The hash of the texts of the chapter at `chapter` (relative to the book folder) and what reading
    /// them cost ([`Expanded::cost`]), when the last build read it and every file it was made from still
    /// has the stamp it had then.
    pub fn unchanged(&self, root: &ReadRoot, chapter: &Path) -> Option<(Key, u64)> {
        let recorded = self.previous.chapters.get(chapter)?;
        let same =
            recorded.files.iter().all(|(path, stamp)| matches!(root.stamp(path), Ok(Some(now)) if now == *stamp));
        if !same {
            return None;
        }
        self.next.lock().expect("not poisoned").chapters.insert(chapter.to_path_buf(), recorded.clone());
        Some((recorded.texts, recorded.cost))
    }

    /// What the last build recorded of the image at `image` (relative to the book folder), when it still
    /// has the stamp it had then.
    pub fn unchanged_image(&self, root: &ReadRoot, image: &Path) -> Option<RecordedImage> {
        let recorded = self.previous.images.get(image)?;
        if !matches!(root.stamp(image), Ok(Some(now)) if now == recorded.stamp) {
            return None;
        }
        self.next.lock().expect("not poisoned").images.insert(image.to_path_buf(), recorded.clone());
        Some(recorded.clone())
    }

    /// Records an image just read and optimised with `settings`, its result cached under `key`, unless it had no stamp
    /// or had not settled when this build started.
    pub fn record_image(
        &self,
        image: &Path,
        stamp: Option<Stamp>,
        settings: Key,
        key: Key,
        media_type: &str,
        len: u64,
    ) {
        let mut next = self.next.lock().expect("not poisoned");
        match stamp.filter(|stamp| stamp.settled_at(self.started)) {
            Some(stamp) => next.images.insert(
                image.to_path_buf(),
                RecordedImage { stamp, settings, key, media_type: media_type.to_string(), len },
            ),
            None => next.images.remove(image),
        };
    }

    /// Records a chapter just read, unless reading it reported anything (`clean` is false), or a file
    /// of it had no stamp or had not settled when this build started.
    pub fn record(&self, chapter: &Path, text: &Expanded, texts: Key, clean: bool) {
        let mut next = self.next.lock().expect("not poisoned");
        let settled = |files: &Vec<(PathBuf, Stamp)>| files.iter().all(|(_, stamp)| stamp.settled_at(self.started));
        match text.stamps().filter(|files| clean && settled(files)) {
            Some(files) => next.chapters.insert(chapter.to_path_buf(), Recorded { files, texts, cost: text.cost() }),
            None => next.chapters.remove(chapter),
        };
    }

    /// Stores what this build recorded, when it differs from what the last one left.
    pub fn store(self, cache: &Cache) -> io::Result<()> {
        let next = self.next.into_inner().expect("not poisoned");
        if next == self.previous {
            return Ok(());
        }
        cache.put_bytes(memo_key(), &next, &[])
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::fs;
    use std::os::unix::fs::MetadataExt;
    use std::time::Duration;

    use super::*;
    use crate::files::SETTLE_TIME;
    use crate::include;

    const CHAPTER: &str = "src/a.md";

    /// A book folder whose chapter `src/a.md` includes `src/part.md`, and a cache beside it.
    fn book() -> (tempfile::TempDir, ReadRoot, Cache) {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("book/src")).unwrap();
        fs::write(dir.path().join("book/src/a.md"), "# A\n\n{{#include part.md}}\n").unwrap();
        fs::write(dir.path().join("book/src/part.md"), "Part one.\n").unwrap();
        let root = ReadRoot::new(&dir.path().join("book"), None).unwrap();
        let cache = Cache::new(&dir.path().join("cache"), 1);
        (dir, root, cache)
    }

    fn read(root: &ReadRoot) -> Expanded {
        let (source, stamp) = root.read_text_stamped(Path::new(CHAPTER)).unwrap();
        let budget = include::Budget::default();
        let (expanded, diagnostics) =
            include::expand(root, Path::new("src"), Path::new("a.md"), source, stamp, &budget);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        assert_eq!(expanded.files().len(), 2, "the chapter and its include");
        expanded
    }

    /// A build that starts long enough after the files were written that they have settled.
    fn later() -> SystemTime {
        SystemTime::now() + SETTLE_TIME + Duration::from_secs(1)
    }

    /// Reads the chapter in a build started at `started`, records it, and stores the memo.
    fn record(root: &ReadRoot, cache: &Cache, started: SystemTime, clean: bool) -> Key {
        let memo = Memo::load(cache, started);
        let text = read(root);
        let texts = texts_key(&text);
        memo.record(Path::new(CHAPTER), &text, texts, clean);
        memo.store(cache).unwrap();
        texts
    }

    fn unchanged(root: &ReadRoot, cache: &Cache) -> Option<Key> {
        let (texts, cost) = Memo::load(cache, later()).unchanged(root, Path::new(CHAPTER))?;
        assert_eq!(cost, read(root).cost(), "what reading the chapter costs");
        Some(texts)
    }

    #[test]
    fn a_recorded_chapter_is_unchanged_until_a_file_of_it_changes() {
        let (dir, root, cache) = book();
        let texts = record(&root, &cache, later(), true);
        assert_eq!(unchanged(&root, &cache), Some(texts));
        assert_eq!(Memo::load(&cache, later()).unchanged(&root, Path::new("src/b.md")), None, "never recorded");

        // The included file rewritten to the same size with its modification time set back: its change
        // time still tells. (The pause puts the rewrite on a later tick of the file system's clock.)
        std::thread::sleep(Duration::from_millis(50));
        let part = dir.path().join("book/src/part.md");
        let modified = fs::metadata(&part).unwrap().modified().unwrap();
        fs::write(&part, "Part two.\n").unwrap();
        fs::File::options().write(true).open(&part).unwrap().set_modified(modified).unwrap();
        assert_eq!(fs::metadata(&part).unwrap().modified().unwrap(), modified);
        assert_eq!(unchanged(&root, &cache), None);
        assert_ne!(texts_key(&read(&root)), texts);
    }

    #[test]
    fn a_file_replaced_or_removed_is_a_change() {
        let (dir, root, cache) = book();
        let part = dir.path().join("book/src/part.md");
        let texts = record(&root, &cache, later(), true);
        // The same text in a new file, as editors save: another inode.
        fs::write(dir.path().join("new.md"), "Part one.\n").unwrap();
        fs::rename(dir.path().join("new.md"), &part).unwrap();
        assert_eq!(unchanged(&root, &cache), None);
        assert_eq!(record(&root, &cache, later(), true), texts, "the same texts, recorded anew");
        assert_eq!(unchanged(&root, &cache), Some(texts));
        fs::remove_file(&part).unwrap();
        assert_eq!(unchanged(&root, &cache), None);
    }

    #[test]
    fn only_settled_chapters_read_without_diagnostics_are_recorded() {
        let (_dir, root, cache) = book();
        record(&root, &cache, SystemTime::now(), true);
        assert_eq!(unchanged(&root, &cache), None, "files written just now have not settled");
        record(&root, &cache, later(), false);
        assert_eq!(unchanged(&root, &cache), None, "reading it reported something");
        let texts = record(&root, &cache, later(), true);
        assert_eq!(unchanged(&root, &cache), Some(texts));
        // Recording it again unsettled forgets it.
        record(&root, &cache, SystemTime::now(), true);
        assert_eq!(unchanged(&root, &cache), None);
    }

    #[test]
    fn a_recorded_image_is_known_until_it_changes() {
        let (dir, root, cache) = book();
        let image = Path::new("src/a.png");
        fs::write(dir.path().join("book/src/a.png"), b"\x89PNG one").unwrap();
        let stamp = root.stamp(image).unwrap();
        let remembered = |started| {
            let memo = Memo::load(&cache, started);
            let known = memo.unchanged_image(&root, image);
            memo.store(&cache).unwrap();
            known
        };
        let memo = Memo::load(&cache, later());
        memo.record_image(image, stamp, 7, 42, "image/png", 9);
        memo.store(&cache).unwrap();
        let known = remembered(later()).expect("recorded");
        assert_eq!((known.settings, known.key, known.media_type.as_str(), known.len), (7, 42, "image/png", 9));
        assert!(remembered(later()).is_some(), "a build that used it keeps it");

        // Rewritten: another stamp.
        std::thread::sleep(Duration::from_millis(50));
        fs::write(dir.path().join("book/src/a.png"), b"\x89PNG two").unwrap();
        assert_eq!(remembered(later()), None);

        // Not settled when the build started: not recorded.
        let memo = Memo::load(&cache, SystemTime::now());
        memo.record_image(image, root.stamp(image).unwrap(), 7, 43, "image/png", 9);
        memo.store(&cache).unwrap();
        assert_eq!(remembered(later()), None);
    }

    #[test]
    fn the_memo_is_written_only_when_it_changed() {
        let (_dir, root, cache) = book();
        record(&root, &cache, later(), true);
        let stored = || fs::metadata(cache.dir().join(format!("{:032x}.entry", memo_key()))).unwrap().ino();
        let first = stored();
        let memo = Memo::load(&cache, later());
        assert!(memo.unchanged(&root, Path::new(CHAPTER)).is_some());
        memo.store(&cache).unwrap();
        assert_eq!(stored(), first, "nothing changed, nothing written");
        record(&root, &cache, SystemTime::now(), true);
        assert_ne!(stored(), first, "the chapter was forgotten: written anew");
    }
}
