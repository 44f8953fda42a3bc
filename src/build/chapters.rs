//! The chapters: each rendered, framed, checked and compressed on the thread pool, or taken from the
//! cache; a second pass relinks the chapters whose links pointed at anchors that do not exist.

use std::collections::HashSet;
use std::io;

use rayon::prelude::*;

use crate::Progress;
use crate::config::FootnoteNumbering;
use crate::diagnostic::Diagnostic;
use crate::files::ReadRoot;
use crate::load::BookSources;
use crate::render::RenderedChapter;
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

    /// The cache key of a chapter: the book, its place in it, and the hash of its texts.
    pub(crate) fn chapter_key(&self, entry: usize, note_offset: usize, texts: cache::Key) -> cache::Key {
        cache::key(&[
            &self.book_key.to_le_bytes(),
            &(entry as u64).to_le_bytes(),
            &(note_offset as u64).to_le_bytes(),
            &self.modified.to_le_bytes(),
            &texts.to_le_bytes(),
        ])
    }

    /// A chapter the cache holds.
    pub(crate) fn cached(
        &self,
        (rendered, finished): (RenderedChapter, crate::document::Finished),
        origin: Origin,
        diagnostics: Vec<Diagnostic>,
    ) -> FinishedChapter {
        (self.start_images)(&rendered.images);
        self.tick();
        FinishedChapter { file: Some(package::ChapterFile { rendered, finished }), origin, diagnostics }
    }

    /// Reads one chapter, then renders, frames, checks and compresses it, or takes it from the cache;
    /// a chapter whose files the memo knows unchanged is not even read.
    pub(crate) fn finish(
        &self,
        book: &BookSources,
        entry: usize,
        note_offset: usize,
    ) -> io::Result<Option<FinishedChapter>> {
        let outline_entry = &book.outline.entries[entry];
        let outline::Target::Chapter(path) = &outline_entry.target else { return Ok(None) };
        let relative = book.config.src.join(path);
        // A chapter not read pays what reading it would; one that cannot is read, to say where.
        if let (Some(cache), Some(memo)) = (self.cache, self.memo)
            && let Some((texts, cost)) = memo.unchanged(&book.root, &relative)
            && let Some(hit) = cache.get(self.chapter_key(entry, note_offset, texts))
            && book.text_budget.take(cost)
        {
            return Ok(Some(self.cached(hit, Origin::CacheUnread, Vec::new())));
        }
        let (chapter, diagnostics) = book.read_chapter(outline_entry, path);
        let Some(chapter) = chapter else {
            return Ok(Some(FinishedChapter { file: None, origin: Origin::Rendered, diagnostics }));
        };
        let key = self.cache.map(|_| {
            let texts = memo::texts_key(&chapter.text);
            if let Some(memo) = self.memo {
                memo.record(&relative, &chapter.text, texts, diagnostics.is_empty());
            }
            self.chapter_key(entry, note_offset, texts)
        });
        if let (Some(cache), Some(key)) = (self.cache, key)
            && let Some(hit) = cache.get::<RenderedChapter>(key)
        {
            return Ok(Some(self.cached(hit, Origin::Cache, diagnostics)));
        }
        let rendered = render::render(self.ctx, &chapter, entry, note_offset);
        (self.start_images)(&rendered.images);
        let done = package::finish_chapter(rendered, self.frame, self.ctx.outline, &self.ctx.files, self.modified)?;
        if let (Some(cache), Some(key)) = (self.cache, key) {
            // A cache that cannot be written only makes the next build slower.
            let _ = cache.put(key, &done.rendered, &done.finished);
        }
        self.tick();
        Ok(Some(FinishedChapter { file: Some(done), origin: Origin::Rendered, diagnostics }))
    }
}

/// One chapter of the outline after finishing: its file unless it could not be read, where it came from,
/// and what reading it reported.
pub(crate) struct FinishedChapter {
    pub(crate) file: Option<package::ChapterFile>,
    pub(crate) origin: Origin,
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
/// read), and what reading them reported.
pub(crate) struct FinishedChapters {
    pub(crate) files: Vec<package::ChapterFile>,
    pub(crate) cached: usize,
    pub(crate) unread: usize,
    pub(crate) diagnostics: Vec<Diagnostic>,
}

/// Reads and finishes every chapter, in parallel unless note numbers run across the book.
pub(crate) fn finish_chapters(job: &ChapterJob<'_>, book: &BookSources) -> io::Result<FinishedChapters> {
    let entries = 0..book.outline.entries.len();
    let done: Vec<FinishedChapter> = match book.config.footnote_numbering {
        FootnoteNumbering::Chapter => {
            entries.into_par_iter().filter_map(|e| job.finish(book, e, 0).transpose()).collect::<io::Result<_>>()?
        }
        FootnoteNumbering::Book => {
            let mut offset = 0;
            let mut done = Vec::new();
            for entry in entries {
                if let Some(finished) = job.finish(book, entry, offset)? {
                    offset += finished.file.as_ref().map_or(0, |f| f.rendered.note_count);
                    done.push(finished);
                }
            }
            done
        }
    };
    let unread = done.iter().filter(|c| c.origin == Origin::CacheUnread).count();
    let cached = unread + done.iter().filter(|c| c.origin == Origin::Cache).count();
    let mut diagnostics = Vec::new();
    let mut files = Vec::with_capacity(done.len());
    for finished in done {
        diagnostics.extend(finished.diagnostics);
        files.extend(finished.file);
    }
    Ok(FinishedChapters { files, cached, unread, diagnostics })
}

/// Finishes again, in parallel, the chapters holding links to fragments their target chapters lack
/// (`job.ctx.dangling`), so that those links point to the top of the chapter.
pub(crate) fn relink(
    job: &ChapterJob<'_>,
    book: &BookSources,
    chapters: &mut [package::ChapterFile],
) -> io::Result<()> {
    let dangling = &job.ctx.dangling;
    let mut note_offset = 0;
    let mut redo = Vec::new();
    for (i, chapter) in chapters.iter().enumerate() {
        let offset = match book.config.footnote_numbering {
            FootnoteNumbering::Chapter => 0,
            FootnoteNumbering::Book => note_offset,
        };
        note_offset += chapter.rendered.note_count;
        if chapter.rendered.cross_links.iter().any(|l| dangling.contains(&(l.entry, l.fragment.clone()))) {
            redo.push((i, chapter.rendered.entry, offset));
        }
    }
    let redone: Vec<(usize, Option<FinishedChapter>)> = redo
        .into_par_iter()
        .map(|(i, entry, offset)| job.finish(book, entry, offset).map(|finished| (i, finished)))
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
