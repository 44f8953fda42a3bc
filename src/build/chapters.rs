//! The chapters: each rendered, its notes numbered (the notes stage), framed, checked and compressed on
//! the thread pool, or taken from the cache; a second pass relinks the chapters whose links pointed at
//! anchors that do not exist.
//!
//! The cache holds a chapter at two levels: as rendered (notes numbered from 1, keyed by its texts
//! alone), and finished (keyed by that key and its first note number). Notes numbered by chapter always
//! start at 1, so only the finished level is used; notes numbered across the book take the rendering
//! from the cache when the chapter's text is unchanged, and finish it again only when the notes before
//! it changed in number. The rendered entry keeps the chapter's note count and images as metadata
//! beside the encoded rendering, so every chapter's first note number is known without decoding one.

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::Progress;
use crate::config::FootnoteNumbering;
use crate::diagnostic::Diagnostic;
use crate::document::Bytes;
use crate::files::ReadRoot;
use crate::load::BookSources;
use crate::render::{RenderedChapter, notes};
use crate::target::Target;
use crate::{cache, cite, memo, outline, package, render};

/// Hashes what every chapter depends on besides its own text: the target, where the book is and its
/// configuration files.
pub(crate) fn book_key(
    root: &ReadRoot,
    book: &BookSources,
    sources: Option<&cite::Sources>,
    target: Target,
) -> cache::Key {
    cache::key(&[
        target.name().as_bytes(),
        root.book_dir.as_os_str().as_encoded_bytes(),
        book.config_source.text.as_bytes(),
        book.summary.text.as_bytes(),
        sources.map_or(&[][..], |s| s.file.text.as_bytes()),
    ])
}

/// What finishing a chapter needs besides the chapter.
pub(crate) struct ChapterJob<'a> {
    pub(crate) ctx: &'a render::Context<'a>,
    pub(crate) frame: &'a package::xhtml::Frame<'a>,
    pub(crate) modified: i64,
    pub(crate) book_key: cache::Key,
    pub(crate) cache: Option<&'a cache::Cache>,
    /// Present with the cache.
    pub(crate) memo: Option<&'a memo::Memo>,
    pub(crate) progress: Option<&'a Progress>,
    pub(crate) finished: &'a std::sync::atomic::AtomicUsize,
    pub(crate) total: usize,
    /// Told the images of each chapter as soon as it is rendered or read from the cache.
    pub(crate) start_images: &'a (dyn Fn(&[render::ImageRef]) + Sync),
}

impl ChapterJob<'_> {
    pub(crate) fn tick(&self) {
        if let Some(progress) = self.progress {
            let done = self.finished.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            (progress.0)(done, self.total);
        }
    }

    /// The cache key of a chapter as rendered, its notes numbered from 1: the book, its place in it, and
    /// the hash of its texts. The notes of the chapters before it are no part of it.
    pub(crate) fn rendered_key(&self, entry: usize, texts: cache::Key) -> cache::Key {
        cache::key(&[
            &self.book_key.to_le_bytes(),
            &(entry as u64).to_le_bytes(),
            &self.modified.to_le_bytes(),
            &texts.to_le_bytes(),
        ])
    }

    /// Reads and renders one chapter, or takes it from the cache; a chapter whose files the memo knows
    /// unchanged is not even read. With `offset` known (notes numbered by chapter), the cache is asked for
    /// the finished chapter; else for the chapter as rendered, which is stored for the next build.
    fn render(&self, book: &BookSources, entry: usize, offset: Option<usize>) -> Option<Pending> {
        let outline_entry = &book.outline.entries[entry];
        let outline::Target::Chapter(path) = &outline_entry.target else { return None };
        let relative = book.config.src.join(path);
        let lookup = |key: cache::Key| -> Option<Step> {
            let cache = self.cache?;
            match offset {
                Some(offset) => cache
                    .get(finished_key(key, offset))
                    .map(|(rendered, finished)| Step::Finished(package::ChapterFile { rendered, finished })),
                None => cache.get_bytes::<RenderedMeta>(key).map(|(meta, encoded)| Step::Stored {
                    entry,
                    path: path.clone(),
                    key,
                    meta,
                    encoded,
                }),
            }
        };
        let pending = |step: Step, key: cache::Key, origin, diagnostics| {
            (self.start_images)(step.images());
            Some(Pending { step: Some(step), key: Some(key), origin, diagnostics })
        };
        // A chapter not read pays what reading it would; one that cannot is read, to say where.
        if let (Some(memo), Some(_)) = (self.memo, self.cache)
            && let Some((key, cost)) =
                memo.unchanged(&book.root, &relative).map(|(texts, cost)| (self.rendered_key(entry, texts), cost))
            && let Some(step) = lookup(key)
            && book.text_budget.take(cost)
        {
            return pending(step, key, Origin::CacheUnread, Vec::new());
        }
        let (chapter, diagnostics) = book.read_chapter(outline_entry, path);
        let Some(chapter) = chapter else {
            return Some(Pending { step: None, key: None, origin: Origin::Rendered, diagnostics });
        };
        let key = self.cache.map(|_| {
            let texts = memo::texts_key(&chapter.text);
            if let Some(memo) = self.memo {
                memo.record(&relative, &chapter.text, texts, diagnostics.is_empty());
            }
            self.rendered_key(entry, texts)
        });
        if let Some(key) = key
            && let Some(step) = lookup(key)
        {
            return pending(step, key, Origin::Cache, diagnostics);
        }
        let rendered = render::render(self.ctx, &chapter, entry);
        if let (Some(key), None) = (key, offset) {
            self.store_rendered(key, &rendered);
        }
        (self.start_images)(&rendered.images);
        Some(Pending { step: Some(Step::Rendered(rendered)), key, origin: Origin::Rendered, diagnostics })
    }

    /// The notes stage and what follows it for one chapter: its notes numbered from `offset + 1`, then
    /// framed, checked and compressed, or the finished chapter taken from the cache.
    fn finish(&self, book: &BookSources, pending: Pending, offset: usize) -> io::Result<FinishedChapter> {
        let Pending { step, key, mut origin, diagnostics } = pending;
        // A chapter without notes comes out the same whatever the notes before it.
        let offset = match &step {
            Some(step) if step.note_count() > 0 => offset,
            _ => 0,
        };
        let finished_key = key.map(|key| finished_key(key, offset));
        let mut framed = false;
        let mut framing = |rendered| {
            framed = true;
            self.finish_rendered(rendered, offset, finished_key)
        };
        let file = match step {
            None => None,
            Some(Step::Finished(file)) => Some(file),
            Some(Step::Rendered(rendered)) => Some(framing(rendered)?),
            Some(Step::Stored { entry, path, key, meta: _, encoded }) => {
                // A rendering the cache held may come with its chapter finished for this offset too.
                let hit = self.cache.zip(finished_key).and_then(|(cache, key)| cache.get(key));
                Some(match hit {
                    Some((rendered, finished)) => package::ChapterFile { rendered, finished },
                    None => match cache::decode_payload(&encoded) {
                        Some(rendered) => framing(rendered)?,
                        None => {
                            origin = Origin::Rendered;
                            framing(self.render_again(book, entry, &path, key)?)?
                        }
                    },
                })
            }
        };
        if file.is_some() {
            self.tick();
        }
        Ok(FinishedChapter { file, origin, framed, diagnostics })
    }

    /// Renders again a chapter whose cached rendering does not decode (never expected: entries are signed
    /// and versioned, but a bad entry is a miss, not a failed build), and stores it in the bad one's place.
    /// The book's notes were numbered from the entry's count, so the chapter must still be what the
    /// entry's key says it was.
    fn render_again(
        &self,
        book: &BookSources,
        entry: usize,
        path: &Path,
        key: cache::Key,
    ) -> io::Result<RenderedChapter> {
        let shown = || book.root.display_path(&book.config.src.join(path)).display().to_string();
        let (chapter, diagnostics) = book.read_chapter(&book.outline.entries[entry], path);
        let Some(chapter) = chapter else {
            let why = diagnostics.first().map_or("it cannot be read again", |d| d.message.as_str());
            return Err(io::Error::other(format!("{}: {why}", shown())));
        };
        if self.rendered_key(entry, memo::texts_key(&chapter.text)) != key {
            return Err(io::Error::other(format!("{} changed while the book was built", shown())));
        }
        let rendered = render::render(self.ctx, &chapter, entry);
        self.store_rendered(key, &rendered);
        Ok(rendered)
    }

    /// Stores a chapter as rendered, with the metadata that numbering the book's notes and starting its
    /// images need. A cache that cannot be written only makes the next build slower.
    fn store_rendered(&self, key: cache::Key, rendered: &RenderedChapter) {
        if let Some(cache) = self.cache {
            let meta = RenderedMeta { note_count: rendered.note_count, images: rendered.images.clone() };
            let _ = cache.put_encoded(key, &meta, rendered);
        }
    }

    /// Numbers a rendered chapter's notes from `offset + 1`, frames, checks and compresses it, and stores
    /// it finished under `finished_key`.
    fn finish_rendered(
        &self,
        mut rendered: RenderedChapter,
        offset: usize,
        finished_key: Option<cache::Key>,
    ) -> io::Result<package::ChapterFile> {
        let file = &self.ctx.files[rendered.entry];
        notes::number(&mut rendered, offset, file);
        let done = package::finish_chapter(rendered, self.frame, self.ctx.outline, &self.ctx.files, self.modified)?;
        if let (Some(cache), Some(key)) = (self.cache, finished_key) {
            let _ = cache.put(key, &done.rendered, &done.finished);
        }
        Ok(done)
    }
}

/// The cache key of a chapter finished with its notes numbered from `offset + 1`.
fn finished_key(rendered: cache::Key, offset: usize) -> cache::Key {
    cache::key(&[b"finished", &rendered.to_le_bytes(), &(offset as u64).to_le_bytes()])
}

/// One chapter of the outline waiting for the notes stage.
struct Pending {
    /// None when the chapter could not be read.
    step: Option<Step>,
    /// Its key as rendered, with a cache.
    key: Option<cache::Key>,
    origin: Origin,
    diagnostics: Vec<Diagnostic>,
}

/// How far a chapter has come.
enum Step {
    /// Rendered: its notes are numbered from 1.
    Rendered(RenderedChapter),
    /// Its rendering taken from the cache, still encoded: decoded only if the chapter is framed again.
    Stored { entry: usize, path: PathBuf, key: cache::Key, meta: RenderedMeta, encoded: Bytes },
    /// Taken finished from the cache.
    Finished(package::ChapterFile),
}

impl Step {
    fn note_count(&self) -> usize {
        match self {
            Step::Rendered(rendered) | Step::Finished(package::ChapterFile { rendered, .. }) => rendered.note_count,
            Step::Stored { meta, .. } => meta.note_count,
        }
    }

    fn images(&self) -> &[render::ImageRef] {
        match self {
            Step::Rendered(rendered) | Step::Finished(package::ChapterFile { rendered, .. }) => &rendered.images,
            Step::Stored { meta, .. } => &meta.images,
        }
    }
}

/// What a chapter's rendered entry holds beside the rendering: what numbering the book's notes and
/// starting the chapter's images need before the chapter is finished.
#[derive(Serialize, Deserialize)]
struct RenderedMeta {
    note_count: usize,
    images: Vec<render::ImageRef>,
}

/// One chapter of the outline after finishing: its file unless it could not be read, where it came from,
/// whether this build framed it (or took it finished from the cache), and what reading it reported.
pub(crate) struct FinishedChapter {
    pub(crate) file: Option<package::ChapterFile>,
    pub(crate) origin: Origin,
    pub(crate) framed: bool,
    pub(crate) diagnostics: Vec<Diagnostic>,
}

/// Where a finished chapter came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// Read and rendered (or not readable at all).
    Rendered,
    /// Read, then found in the cache.
    Cache,
    /// Found in the cache without being read.
    CacheUnread,
}

/// Every chapter that could be read, how many came from the cache (and of those, how many were not even
/// read), how many were framed, and what reading them reported.
pub(crate) struct FinishedChapters {
    pub(crate) files: Vec<package::ChapterFile>,
    pub(crate) cached: usize,
    pub(crate) unread: usize,
    pub(crate) framed: usize,
    pub(crate) diagnostics: Vec<Diagnostic>,
}

/// Reads, renders and finishes every chapter in parallel. Notes numbered across the book are numbered
/// once every chapter is rendered: each chapter's offset is the sum of the notes before it.
pub(crate) fn finish_chapters(job: &ChapterJob<'_>, book: &BookSources) -> io::Result<FinishedChapters> {
    let entries = 0..book.outline.entries.len();
    let done: Vec<FinishedChapter> = match book.config.footnote_numbering {
        FootnoteNumbering::Chapter => entries
            .into_par_iter()
            .filter_map(|e| job.render(book, e, Some(0)).map(|p| job.finish(book, p, 0)))
            .collect::<io::Result<_>>()?,
        FootnoteNumbering::Book => {
            let pending: Vec<Pending> = entries.into_par_iter().filter_map(|e| job.render(book, e, None)).collect();
            let counts = pending.iter().map(|p| p.step.as_ref().map_or(0, Step::note_count));
            let offsets = note_offsets(FootnoteNumbering::Book, counts);
            pending
                .into_par_iter()
                .zip(offsets)
                .map(|(p, offset)| job.finish(book, p, offset))
                .collect::<io::Result<_>>()?
        }
    };
    let unread = done.iter().filter(|c| c.origin == Origin::CacheUnread).count();
    let cached = unread + done.iter().filter(|c| c.origin == Origin::Cache).count();
    let framed = done.iter().filter(|c| c.framed).count();
    let mut diagnostics = Vec::new();
    let mut files = Vec::with_capacity(done.len());
    for finished in done {
        diagnostics.extend(finished.diagnostics);
        files.extend(finished.file);
    }
    Ok(FinishedChapters { files, cached, unread, framed, diagnostics })
}

/// The number each chapter's notes start after, given each chapter's note count in book order: none
/// when notes are numbered by chapter, else the notes of the chapters before it.
fn note_offsets(numbering: FootnoteNumbering, counts: impl IntoIterator<Item = usize>) -> Vec<usize> {
    counts
        .into_iter()
        .scan(0, |before, count| {
            let offset = match numbering {
                FootnoteNumbering::Chapter => 0,
                FootnoteNumbering::Book => *before,
            };
            *before += count;
            Some(offset)
        })
        .collect()
}

/// Finishes again, in parallel, the chapters holding links to fragments their target chapters lack
/// (`job.ctx.dangling`), so that those links point to the top of the chapter.
pub(crate) fn relink(
    job: &ChapterJob<'_>,
    book: &BookSources,
    chapters: &mut [package::ChapterFile],
) -> io::Result<()> {
    let dangling = &job.ctx.dangling;
    let numbering = book.config.footnote_numbering;
    let offsets = note_offsets(numbering, chapters.iter().map(|c| c.rendered.note_count));
    let redo: Vec<(usize, usize, usize)> = (chapters.iter().zip(offsets).enumerate())
        .filter(|(_, (chapter, _))| {
            chapter.rendered.cross_links.iter().any(|l| dangling.contains(&(l.entry, l.fragment.clone())))
        })
        .map(|(i, (chapter, offset))| (i, chapter.rendered.entry, offset))
        .collect();
    // Numbered across the book, the chapter's rendering is what the cache holds without an offset.
    let known_offset = |offset| match numbering {
        FootnoteNumbering::Chapter => Some(offset),
        FootnoteNumbering::Book => None,
    };
    let redone: Vec<(usize, Option<FinishedChapter>)> = redo
        .into_par_iter()
        .map(|(i, entry, offset)| {
            job.render(book, entry, known_offset(offset))
                .map(|p| job.finish(book, p, offset))
                .transpose()
                .map(|f| (i, f))
        })
        .collect::<io::Result<_>>()?;
    // What reading and rendering again reports was reported the first time.
    for (i, finished) in redone {
        if let Some(file) = finished.and_then(|f| f.file) {
            chapters[i] = file;
        }
    }
    Ok(())
}

/// The key of a book whose chapters point their dangling links (sorted, for a stable key) at chapter tops.
pub(crate) fn relinked_key(book_key: cache::Key, dangling: &HashSet<(usize, String)>) -> cache::Key {
    let mut sorted: Vec<&(usize, String)> = dangling.iter().collect();
    sorted.sort();
    let mut key = cache::KeyBuilder::new();
    key.add(b"relinked").add(&book_key.to_le_bytes());
    for (entry, fragment) in sorted {
        key.add(&(*entry as u64).to_le_bytes()).add(fragment.as_bytes());
    }
    key.finish()
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::Path;
    use std::sync::atomic::AtomicUsize;

    use super::*;
    use crate::build::Run;
    use crate::cache::Cache;

    /// A book of three chapters numbering its notes across the book; the middle one has none.
    fn book(dir: &Path) -> (ReadRoot, Cache) {
        let files = [
            ("book.toml", "[book]\ntitle = \"Notes\"\n\n[epub]\nfootnote-numbering = \"book\"\n"),
            ("src/SUMMARY.md", "- [One](one.md)\n- [Two](two.md)\n- [Three](three.md)\n"),
            ("src/one.md", "# One\n\nA[^a] and b[^b].\n\n[^a]: First.\n[^b]: Second.\n"),
            ("src/two.md", "# Two\n\nNo notes here.\n"),
            ("src/three.md", "# Three\n\nC[^c].\n\n[^c]: Third.\n"),
        ];
        for (path, text) in files {
            let path = dir.join("book").join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
        let root = ReadRoot::new(&dir.join("book"), None).unwrap();
        (root, Cache::with_secret(&dir.join("cache"), 1, Some([5; 32])))
    }

    /// Renders and finishes every chapter of the book at `root`, as a build does; `each` is given the job
    /// and the book first.
    fn finish_all(root: &ReadRoot, cache: &Cache, each: impl Fn(&ChapterJob<'_>, &BookSources)) -> FinishedChapters {
        let (book, diagnostics) = crate::load::load(root, None);
        let book = book.expect("the book loads");
        let settings = crate::Settings::default();
        let run = Run::new(&book, None, &settings, Some(cache), None, diagnostics);
        let finished = AtomicUsize::new(0);
        let job = run.chapter_job(&run.ctx, run.book_key, true, &finished, &|_| {});
        each(&job, &book);
        finish_chapters(&job, &book).unwrap()
    }

    fn compressed(chapters: &FinishedChapters) -> Vec<Vec<u8>> {
        chapters.files.iter().map(|file| file.finished.compressed.to_vec()).collect()
    }

    #[test]
    fn notes_start_after_those_of_the_chapters_before_when_numbered_across_the_book() {
        assert_eq!(note_offsets(FootnoteNumbering::Book, [2, 0, 3, 1]), [0, 2, 2, 5]);
        assert_eq!(note_offsets(FootnoteNumbering::Chapter, [2, 0, 3, 1]), [0, 0, 0, 0]);
    }

    /// Replaces each chapter's rendered entry with its metadata alone, a rendering that does not decode.
    fn strip_renderings(job: &ChapterJob<'_>, book: &BookSources, cold: &FinishedChapters, cache: &Cache) {
        for file in &cold.files {
            let key = rendered_key_of(job, book, file.rendered.entry);
            let meta = RenderedMeta { note_count: file.rendered.note_count, images: file.rendered.images.clone() };
            cache.put_bytes(key, &meta, &[]).unwrap();
        }
    }

    /// The rendered entry's key of a chapter as its file reads now.
    fn rendered_key_of(job: &ChapterJob<'_>, book: &BookSources, entry: usize) -> cache::Key {
        let outline::Target::Chapter(path) = &book.outline.entries[entry].target else { unreachable!() };
        let (chapter, _) = book.read_chapter(&book.outline.entries[entry], path);
        job.rendered_key(entry, memo::texts_key(&chapter.unwrap().text))
    }

    /// Notes numbered across the book: a chapter found finished in the cache needs only its note count
    /// from its rendered entry, never the rendering itself.
    #[test]
    fn chapters_found_finished_are_numbered_without_decoding_their_rendering() {
        let dir = tempfile::tempdir().unwrap();
        let (root, cache) = book(dir.path());
        let cold = finish_all(&root, &cache, |_, _| {});
        assert_eq!(cold.cached, 0);
        let warm = finish_all(&root, &cache, |job, book| strip_renderings(job, book, &cold, &cache));
        assert_eq!((warm.cached, warm.framed), (3, 0), "every chapter finished from the cache");
        assert_eq!(compressed(&warm), compressed(&cold));
    }

    /// A rendered entry whose rendering does not decode is a miss like any bad entry: the chapter is
    /// rendered again and stored in its place, and the book comes out the same.
    #[test]
    fn a_cached_rendering_that_does_not_decode_is_rendered_again() {
        let dir = tempfile::tempdir().unwrap();
        let (root, cache) = book(dir.path());
        let cold = finish_all(&root, &cache, |_, _| {});
        // No rendering decodes, and no finished entry reads back.
        let warm = finish_all(&root, &cache, |job, book| {
            strip_renderings(job, book, &cold, &cache);
            for file in &cold.files {
                let key = rendered_key_of(job, book, file.rendered.entry);
                for offset in [0, 2] {
                    cache.put_bytes(finished_key(key, offset), &"not a chapter", &[]).unwrap();
                }
            }
        });
        assert_eq!((warm.cached, warm.framed), (0, 3), "every chapter rendered and framed again");
        assert_eq!(compressed(&warm), compressed(&cold));
        // The renderings were stored again in the bad entries' place.
        finish_all(&root, &cache, |job, book| {
            for file in &cold.files {
                let (_, encoded) =
                    cache.get_bytes::<RenderedMeta>(rendered_key_of(job, book, file.rendered.entry)).unwrap();
                assert!(cache::decode_payload::<RenderedChapter>(&encoded).is_some());
            }
        });
    }
}
