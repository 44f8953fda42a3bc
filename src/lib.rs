//! folio: Markdown book folders in, EPUB 3 out.
//!
//! The build is a pipeline of stages, each a module that maps one type to the next:
//!
//! 1. [`load`]: `book.toml` ([`config`]) and `SUMMARY.md` ([`outline`]) → [`load::BookSources`]
//! 2. [`cite`]: the sources file → [`cite::Sources`]
//! 3. [`render`]: each chapter's Markdown → XHTML, in parallel → [`render::RenderedChapter`]; a
//!    chapter's text is read (and [`include`] expands mdBook's directives) just before, so a chapter
//!    the [`cache`] already holds is hashed and dropped, not kept, and one whose files the [`memo`]
//!    knows unchanged is not read at all
//! 4. [`resolve`]: links between chapters, the Sources page
//! 5. [`package`]: assets, OPF, nav, NCX → [`package::Epub`] in memory, each page adapted to the
//!    [`target`] reader (Kobo's kepub, Send to Kindle) as it is framed; [`fonts`] cuts the embedded
//!    fonts down to the characters the package's documents show
//! 6. [`validate`]: folio's own structural check of that package
//! 7. [`write`]: zip, streamed to a temporary file, renamed over the output on success
//!
//! The library never prints: [`build`] returns the EPUB and every diagnostic, and the CLI reports.

#![warn(missing_docs)]

pub mod beneath;
pub mod cache;
pub mod cite;
pub mod config;
pub mod cover;
pub mod diagnostic;
pub mod epubcheck;
pub mod fonts;
pub mod i18n;
pub mod include;
pub mod load;
pub mod mdbook;
pub mod memo;
pub mod new_book;
pub mod outline;
pub mod package;
pub mod publish;
pub mod render;
pub mod resolve;
pub mod sanitize;
pub mod target;
pub mod text;
pub mod validate;
pub mod write;

use std::collections::{BTreeMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::config::{BookConfig, Cover, FootnoteNumbering};
use crate::diagnostic::{Diagnostic, Location};
use crate::load::{BookSources, ReadRoot};
use crate::package::images::{self, Outcome};
use crate::package::{Asset, Epub};
use crate::render::RenderedChapter;
use crate::target::Target;

/// The default stylesheet, compiled in so folio works on a book anywhere.
pub const DEFAULT_STYLESHEET: &str = include_str!("../styles/folio.css");

pub use package::DEFAULT_EPOCH;

/// Told how many chapters are finished, out of how many, as a build goes.
#[derive(Clone)]
pub struct Progress(pub std::sync::Arc<dyn Fn(usize, usize) + Send + Sync>);

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress")
    }
}

/// How to run a build.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Called as chapters are finished (the CLI draws a progress bar with it).
    pub progress: Option<Progress>,
    /// Widens what may be read to this ancestor of the book folder (`--root`).
    pub root: Option<PathBuf>,
    /// `SOURCE_DATE_EPOCH`, used when book.toml has no date.
    pub source_date_epoch: Option<i64>,
    /// Where finished chapters are cached between builds; `None` builds everything afresh.
    pub cache_dir: Option<PathBuf>,
    /// Use what the cache holds but write nothing to it (`folio check`, which writes nothing).
    pub cache_read_only: bool,
    /// The reader the book is built for (`--target`).
    pub target: Target,
    /// The book mdBook handed over when folio runs as its renderer (`folio mdbook`).
    pub mdbook: Option<std::sync::Arc<mdbook::Given>>,
}

/// Numbers about a build, for the summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Chapters in the book.
    pub chapters: usize,
    /// Chapters taken from the cache instead of being rendered.
    pub cached: usize,
    /// Of those, chapters whose files were not even read: the source memo knew them unchanged.
    pub unread: usize,
    /// Notes (footnotes and citations).
    pub notes: usize,
    /// What became of the images.
    pub images: ImageStats,
    /// What became of the fonts.
    pub fonts: FontStats,
}

/// Numbers about the images of a build (the cover included, SVG too).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImageStats {
    /// Images packaged.
    pub count: usize,
    /// Images scaled down to `max-image-pixels`.
    pub downscaled: usize,
    /// Images made smaller without loss (PNGs recompressed, JPEG metadata dropped).
    pub recompressed: usize,
    /// Their bytes as the book has them.
    pub bytes_before: u64,
    /// Their bytes as packaged.
    pub bytes_after: u64,
}

/// Numbers about the fonts of a build.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FontStats {
    /// Their bytes as the book has them.
    pub bytes_before: u64,
    /// Their bytes as packaged (fewer when they were subset).
    pub bytes_after: u64,
}

/// What a build produced.
#[derive(Debug)]
pub struct Build {
    /// The package, when the book has no errors.
    pub epub: Option<Epub>,
    /// Every problem found, sorted.
    pub diagnostics: Vec<Diagnostic>,
    /// Counts for the summary line.
    pub stats: Stats,
    /// The title's slug, for the default output name.
    pub slug: String,
    /// The author's file behind each chapter of the package (`EPUB/text/c001-x.xhtml` → `book/src/x.md`),
    /// for reports about the package; anything else comes from `book.toml`.
    pub origins: BTreeMap<String, PathBuf>,
    /// `book.toml`, where generated files come from.
    pub config_path: PathBuf,
}

impl Build {
    /// True when any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Why folio could not run at all (exit code 2), as opposed to a book with errors.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The book folder (or `--root`) cannot be opened.
    #[error("{0}")]
    BookFolder(io::Error),
    /// Compressing the book failed.
    #[error("failed to assemble the book ({0})")]
    Output(io::Error),
}

/// Builds the book in `book_dir` into an EPUB in memory.
pub fn build(book_dir: &Path, settings: &Settings) -> Result<Build, RunError> {
    let started = std::time::SystemTime::now();
    let root = ReadRoot::new(book_dir, settings.root.as_deref()).map_err(RunError::BookFolder)?;
    let target = settings.target;
    // One cache folder per book folder and target, however the path is written, so builds for two
    // readers do not evict each other's chapters; entries still key on the written path, since
    // diagnostics show it, and a build under another spelling replaces them.
    let folder_key = cache::KeyBuilder::new()
        .add(root.canonical_book().as_os_str().as_encoded_bytes())
        .add(target.name().as_bytes())
        .finish();
    let cache = settings.cache_dir.as_ref().map(|dir| match settings.cache_read_only {
        false => cache::Cache::new(dir, folder_key),
        true => cache::Cache::read_only(dir, folder_key),
    });
    // The memo is read while the book's configuration and outline are.
    let ((book, mut diagnostics), memo) = rayon::join(
        || load::load(&root, settings.mdbook.as_ref()),
        // Chapters mdBook hands over are not files whose stamps could stand for their texts.
        || cache.as_ref().filter(|_| settings.mdbook.is_none()).map(|cache| memo::Memo::load(cache, started)),
    );
    let Some(book) = book else {
        diagnostic::sort(&mut diagnostics);
        let config_path = root.display_path(Path::new("book.toml"));
        return Ok(Build {
            epub: None,
            diagnostics,
            stats: Stats::default(),
            slug: "book".into(),
            origins: BTreeMap::new(),
            config_path,
        });
    };
    let sources = book.config.sources.as_ref().and_then(|file| match root.read_text(&file.value) {
        Ok(text) => {
            let (sources, diags) = cite::load(text, &book.config.language);
            diagnostics.extend(diags);
            sources
        }
        Err(e) => {
            let shown = root.display_path(&file.value);
            diagnostics.push(e.diagnostic(&shown, "sources file", Some((&book.config_source, file.range.clone()))));
            None
        }
    });
    let ctx = render::Context::new(&book.config, &book.outline, sources.as_ref());
    let modified = book.config.date.map(|d| d.unix_seconds).or(settings.source_date_epoch).unwrap_or(DEFAULT_EPOCH);
    let stylesheet_hrefs = stylesheet_hrefs(&book.config);
    let frame = package::xhtml::Frame { config: &book.config, stylesheets: &stylesheet_hrefs, target };
    let book_key = book_key(&root, &book, sources.as_ref(), target);
    let finished = std::sync::atomic::AtomicUsize::new(0);
    // Images are read and optimized on the thread pool as soon as a chapter names them, alongside the
    // chapters still rendering; the scope ends when both are done.
    let image_work = ImageWork::new(&root, cache.as_ref(), &book.config);
    let cover_text = match book.config.cover {
        Cover::Generated => {
            let (text, unsettable) = cover::CoverText::of(&book.config);
            diagnostics.extend(unsettable.iter().map(|u| unsettable_warning(&book, u)));
            text
        }
        Cover::File(_) | Cover::Omitted => None,
    };
    // Drawing a cover takes one core for about 20 ms: beside the chapters, not before them.
    let draw_generated_cover =
        || cover_text.map(|text| draw_cover(cache.as_ref(), &text).map(|png| (png, text.description())));
    let (chapters, generated_cover) = rayon::join(
        || {
            rayon::scope(|scope| {
                if let Cover::File(cover) = &book.config.cover {
                    image_work.start(scope, &cover.value);
                }
                let start_images = |images: &[render::ImageRef]| {
                    for image in images {
                        image_work.start(scope, &image.path);
                    }
                };
                let job = ChapterJob {
                    ctx: &ctx,
                    frame: &frame,
                    modified,
                    book_key,
                    cache: cache.as_ref(),
                    memo: memo.as_ref(),
                    progress: settings.progress.as_ref(),
                    finished: &finished,
                    total: book.outline.chapter_count(),
                    start_images: &start_images,
                };
                finish_chapters(&job, &book)
            })
        },
        draw_generated_cover,
    );
    let FinishedChapters { files: chapters, cached, unread, diagnostics: read_diagnostics } =
        chapters.map_err(RunError::Output)?;
    diagnostics.extend(read_diagnostics);
    let generated_cover = generated_cover.and_then(|drawn| {
        let path = format!("EPUB/{GENERATED_COVER}");
        drawn.map_err(|message| diagnostics.push(internal_error(&book, &ctx.files, &path, &message))).ok()
    });
    let mut stats = Stats {
        chapters: chapters.len(),
        cached,
        unread,
        notes: chapters.iter().map(|c| c.rendered.note_count).sum(),
        images: ImageStats::default(),
        fonts: FontStats::default(),
    };
    for chapter in &chapters {
        diagnostics.extend(chapter.rendered.diagnostics.iter().cloned());
    }
    let (link_warnings, dangling) = {
        let rendered: Vec<&RenderedChapter> = chapters.iter().map(|c| &c.rendered).collect();
        resolve::check_cross_links(&book.outline, &rendered)
    };
    diagnostics.extend(link_warnings);
    let mut chapters = chapters;
    if !dangling.is_empty() {
        let mut relinked = render::Context::new(&book.config, &book.outline, sources.as_ref());
        relinked.dangling = dangling;
        let finished = std::sync::atomic::AtomicUsize::new(0);
        let job = ChapterJob {
            ctx: &relinked,
            frame: &frame,
            modified,
            book_key: relinked_key(book_key, &relinked.dangling),
            cache: cache.as_ref(),
            memo: None,
            progress: None,
            finished: &finished,
            total: book.outline.chapter_count(),
            start_images: &|_| {},
        };
        relink(&job, &book, &mut chapters).map_err(RunError::Output)?;
    }
    let rendered: Vec<&RenderedChapter> = chapters.iter().map(|c| &c.rendered).collect();
    let bibliography = sources.as_ref().map(|s| {
        let (body, diags) = resolve::bibliography(s, &rendered, &book.outline, &ctx.files, ctx.strings);
        diagnostics.extend(diags);
        body
    });
    let mut assets =
        read_assets(&root, &book, &rendered, target, image_work.finish(), generated_cover, &mut diagnostics);
    stats.images = assets.image_stats;
    if target == Target::Kindle {
        assets.cover = kindle_checks(&book, &rendered, &assets, &ctx.files, cache.as_ref(), &mut diagnostics);
    }
    let slug = match text::ascii_slug(&book.config.title, 60) {
        s if s.is_empty() => "book".to_string(),
        s => s,
    };
    if diagnostics.iter().any(Diagnostic::is_error) {
        diagnostic::sort(&mut diagnostics);
        return Ok(Build {
            epub: None,
            diagnostics,
            stats,
            slug,
            origins: origins(&book, &ctx.files),
            config_path: book.config_source.path.clone(),
        });
    }
    let identifier = identifier(&book.config);
    // Each chapter's document was checked when it was finished (and cached with the result).
    let mut documents: Vec<(String, validate::Document)> = Vec::new();
    for chapter in &mut chapters {
        let path = package::text_path(&ctx.files[chapter.rendered.entry]);
        match std::mem::replace(&mut chapter.finished.document, Ok(validate::Document::default())) {
            Ok(d) => documents.push((path, d)),
            Err(message) => diagnostics.push(internal_error(&book, &ctx.files, &path, &message)),
        }
    }
    let mut epub = package::assemble(package::Parts {
        config: &book.config,
        identifier: &identifier,
        modified,
        strings: ctx.strings,
        outline: &book.outline,
        files: &ctx.files,
        chapters,
        frame: &frame,
        stylesheets: assets.stylesheets,
        fonts: assets.fonts,
        images: assets.images,
        cover: assets.cover.map(|image| package::CoverImage { image, alt: assets.cover_alt }),
        bibliography,
    });
    // The generated pages (contents, NCX, OPF, …) are checked and compressed the same way, through the cache.
    let finished: Vec<(usize, package::Finished)> = epub
        .files
        .par_iter()
        .enumerate()
        .filter_map(|(i, (path, entry))| match entry {
            package::Entry::Plain(data) if validate::is_xml(path) => Some((i, path, data)),
            _ => None,
        })
        .map(|(i, path, data)| {
            finish_generated(cache.as_ref(), path, data, modified, book.config.subsets_fonts()).map(|f| (i, f))
        })
        .collect::<io::Result<_>>()
        .map_err(RunError::Output)?;
    for (i, page) in finished {
        let path = epub.files[i].0.clone();
        match page.document {
            Ok(d) => documents.push((path, d)),
            Err(message) => diagnostics.push(internal_error(&book, &ctx.files, &path, &message)),
        }
        epub.files[i].1 = package::Entry::Deflated(page.compressed);
    }
    if book.config.subsets_fonts() {
        let (before, after) = subset_fonts(
            &mut epub,
            &assets.font_files,
            &documents,
            &stylesheet_hrefs,
            cache.as_ref(),
            &mut diagnostics,
        );
        stats.fonts = FontStats { bytes_before: before, bytes_after: after };
    } else {
        let bytes = assets.font_files.iter().map(|f| f.size).sum();
        stats.fonts = FontStats { bytes_before: bytes, bytes_after: bytes };
    }
    // Only now is every entry this build needs marked as used. The cache is tidied (file system work)
    // while the links are checked (on every core). A memo or an entry that cannot be written only
    // makes the next build slower.
    let tidy_cache = || {
        let cache = cache.as_ref()?;
        if let Some(memo) = memo {
            let _ = memo.store(cache);
        }
        cache
            .prune()
            .err()
            .map(|e| Diagnostic::warning(cache.dir(), format!("cannot clean the build cache ({})", load::describe(&e))))
    };
    let check_links = || {
        let paths: HashSet<&str> = epub.files.iter().map(|(p, _)| p.as_str()).collect();
        validate::links(documents.iter().map(|(p, d)| (p.as_str(), d)), &paths)
    };
    let (untidy, problems) = rayon::join(tidy_cache, check_links);
    diagnostics.extend(untidy);
    for problem in problems {
        diagnostics.push(internal_error(&book, &ctx.files, &problem.file, &problem.message));
    }
    diagnostic::sort(&mut diagnostics);
    let epub = (!diagnostics.iter().any(Diagnostic::is_error)).then_some(epub);
    Ok(Build {
        epub,
        diagnostics,
        stats,
        slug,
        origins: origins(&book, &ctx.files),
        config_path: book.config_source.path.clone(),
    })
}

fn internal_error(book: &BookSources, files: &[String], package_path: &str, message: &str) -> Diagnostic {
    Diagnostic::error(source_of(book, files, package_path), format!("internal error: {message} in {package_path}"))
        .with_hint("this is a bug in folio; please report it with the book that triggers it")
}

/// Package paths of the stylesheets, the default first; known before any is read.
fn stylesheet_hrefs(config: &BookConfig) -> Vec<String> {
    let default = config.default_stylesheet.then(|| "css/folio.css".to_string());
    default
        .into_iter()
        .chain(config.stylesheets.iter().map(|css| format!("css/{}", text::asset_name(&css.value))))
        .collect()
}

/// Checks and compresses a generated page (collecting its characters for fonts when asked), or takes the
/// result from the cache.
fn finish_generated(
    cache: Option<&cache::Cache>,
    path: &str,
    data: &[u8],
    modified: i64,
    characters: bool,
) -> io::Result<package::Finished> {
    let text = std::str::from_utf8(data).map_err(io::Error::other)?;
    let Some(cache) = cache else { return package::finish_document(path, text, modified, characters) };
    let key = cache::KeyBuilder::new()
        .add(path.as_bytes())
        .add(data)
        .add(&modified.to_le_bytes())
        .add(&[u8::from(characters)])
        .finish();
    if let Some(((), finished)) = cache.get(key) {
        return Ok(finished);
    }
    let finished = package::finish_document(path, text, modified, characters)?;
    let _ = cache.put(key, &(), &finished);
    Ok(finished)
}

/// Where the generated cover goes, relative to the package root.
const GENERATED_COVER: &str = "images/cover.png";

/// Draws the generated cover, or takes it from the cache, keyed by the text it shows.
fn draw_cover(cache: Option<&cache::Cache>, text: &cover::CoverText) -> Result<Vec<u8>, String> {
    let shown = postcard::to_stdvec(text).map_err(|e| e.to_string())?;
    cached_image(cache, cache::KeyBuilder::new().add(b"generated cover").add(&shown).finish(), || text.render())
}

/// An image folio makes (a cover), from the cache when it holds one under `key`, else made and stored.
/// The key starts with folio's version and sources, fonts and dependencies included, so a changed
/// design never reuses old images.
fn cached_image(
    cache: Option<&cache::Cache>,
    key: cache::Key,
    make: impl FnOnce() -> Result<Vec<u8>, String>,
) -> Result<Vec<u8>, String> {
    let Some(cache) = cache else { return make() };
    if let Some(((), image)) = cache.get_bytes(key) {
        return Ok(image.to_vec());
    }
    let image = make()?;
    // A cache that cannot be written only makes the next build slower.
    let _ = cache.put_bytes(key, &(), &image);
    Ok(image)
}

/// A field the generated cover cannot show, at its key in book.toml.
fn unsettable_warning(book: &BookSources, unsettable: &cover::Unsettable) -> Diagnostic {
    let ranges = &book.config.cover_text_ranges;
    let (name, range) = match unsettable.field {
        cover::Field::Title => ("title", Some(&ranges.title)),
        cover::Field::Subtitle => ("subtitle", ranges.subtitle.as_ref()),
        cover::Field::Authors => ("authors", ranges.authors.as_ref()),
        cover::Field::Publisher => ("publisher", ranges.publisher.as_ref()),
    };
    let mut missing: Vec<String> = unsettable.missing.iter().take(5).map(|c| format!("'{c}'")).collect();
    if unsettable.missing.len() > 5 {
        missing.push("…".into());
    }
    let consequence = match unsettable.field {
        cover::Field::Title => "so the book gets no generated cover".to_string(),
        _ => format!("so the generated cover leaves out the {name}"),
    };
    let message = format!("the {name} has characters folio's cover fonts lack ({}), {consequence}", missing.join(", "));
    let source = &book.config_source;
    let warning = match range {
        Some(range) => source.warning(range.clone(), message),
        None => Diagnostic::warning(&source.path, message),
    };
    warning.with_hint("give a cover image with `cover = \"cover.png\"` under [epub], or set `cover = false`")
}

/// Hashes what every chapter depends on besides its own text: the target, where the book is and its
/// configuration files.
fn book_key(root: &ReadRoot, book: &BookSources, sources: Option<&cite::Sources>, target: Target) -> cache::Key {
    let mut key = cache::KeyBuilder::new();
    key.add(target.name().as_bytes())
        .add(root.book_dir.as_os_str().as_encoded_bytes())
        .add(book.config_source.text.as_bytes())
        .add(book.summary.text.as_bytes())
        .add(sources.map_or(&[][..], |s| s.file.text.as_bytes()));
    key.finish()
}

/// What finishing a chapter needs besides the chapter.
struct ChapterJob<'a> {
    ctx: &'a render::Context<'a>,
    frame: &'a package::xhtml::Frame<'a>,
    modified: i64,
    book_key: cache::Key,
    cache: Option<&'a cache::Cache>,
    /// Present with the cache.
    memo: Option<&'a memo::Memo>,
    progress: Option<&'a Progress>,
    finished: &'a std::sync::atomic::AtomicUsize,
    total: usize,
    /// Told the images of each chapter as soon as it is rendered or read from the cache.
    start_images: &'a (dyn Fn(&[render::ImageRef]) + Sync),
}

impl ChapterJob<'_> {
    fn tick(&self) {
        if let Some(progress) = self.progress {
            let done = self.finished.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            (progress.0)(done, self.total);
        }
    }

    /// The cache key of a chapter: the book, its place in it, and the hash of its texts.
    fn chapter_key(&self, entry: usize, note_offset: usize, texts: cache::Key) -> cache::Key {
        cache::KeyBuilder::new()
            .add(&self.book_key.to_le_bytes())
            .add(&(entry as u64).to_le_bytes())
            .add(&(note_offset as u64).to_le_bytes())
            .add(&self.modified.to_le_bytes())
            .add(&texts.to_le_bytes())
            .finish()
    }

    /// A chapter the cache holds.
    fn cached(
        &self,
        (rendered, finished): (RenderedChapter, package::Finished),
        origin: Origin,
        diagnostics: Vec<Diagnostic>,
    ) -> FinishedChapter {
        (self.start_images)(&rendered.images);
        self.tick();
        FinishedChapter { file: Some(package::ChapterFile { rendered, finished }), origin, diagnostics }
    }

    /// Reads one chapter, then renders, frames, checks and compresses it, or takes it from the cache;
    /// a chapter whose files the memo knows unchanged is not even read.
    fn finish(&self, book: &BookSources, entry: usize, note_offset: usize) -> io::Result<Option<FinishedChapter>> {
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
struct FinishedChapter {
    file: Option<package::ChapterFile>,
    origin: Origin,
    diagnostics: Vec<Diagnostic>,
}

/// Where a finished chapter came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// Read and rendered (or not readable at all).
    Rendered,
    /// Read, then found in the cache.
    Cache,
    /// Found in the cache without being read.
    CacheUnread,
}

/// Every chapter that could be read, how many came from the cache (and of those, how many were not even
/// read), and what reading them reported.
struct FinishedChapters {
    files: Vec<package::ChapterFile>,
    cached: usize,
    unread: usize,
    diagnostics: Vec<Diagnostic>,
}

/// Reads and finishes every chapter, in parallel unless note numbers run across the book.
fn finish_chapters(job: &ChapterJob<'_>, book: &BookSources) -> io::Result<FinishedChapters> {
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
fn relink(job: &ChapterJob<'_>, book: &BookSources, chapters: &mut [package::ChapterFile]) -> io::Result<()> {
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
fn relinked_key(book_key: cache::Key, dangling: &HashSet<(usize, String)>) -> cache::Key {
    let mut sorted: Vec<&(usize, String)> = dangling.iter().collect();
    sorted.sort();
    let mut key = cache::KeyBuilder::new();
    key.add(b"relinked").add(&book_key.to_le_bytes());
    for (entry, fragment) in sorted {
        key.add(&(*entry as u64).to_le_bytes()).add(fragment.as_bytes());
    }
    key.finish()
}

/// Renders one Markdown text as a chapter of a default English book, without a book folder.
///
/// For tests and fuzzing of the render stage; links to other chapters resolve to nothing.
pub fn render_markdown(markdown: &str) -> RenderedChapter {
    let config_source = diagnostic::SourceText::new("book.toml", "[book]\ntitle = \"Fragment\"\n".to_string());
    let config = config::load(&config_source).0.expect("the built-in config is valid");
    let outline = outline::Outline {
        entries: vec![outline::Entry {
            title: "Fragment".into(),
            depth: 0,
            nesting: 0,
            matter: outline::Matter::Body,
            target: outline::Target::Chapter(PathBuf::from("chapter.md")),
            range: 0..0,
        }],
    };
    let ctx = render::Context::new(&config, &outline, None);
    let chapter = load::ChapterSource {
        path: PathBuf::from("chapter.md"),
        title: "Fragment".into(),
        text: include::Expanded::plain(diagnostic::SourceText::new("chapter.md", markdown.to_string())),
    };
    render::render(&ctx, &chapter, 0, 0)
}

/// The stable identifier: `[epub] identifier`, else the ISBN, else a UUID derived from title and authors.
pub fn identifier(config: &BookConfig) -> String {
    if let Some(id) = &config.identifier {
        return id.clone();
    }
    if let Some(isbn) = &config.isbn {
        return format!("urn:isbn:{isbn}");
    }
    let name = format!("folio:{}\u{0}{}", config.title, config.authors.join("\u{0}"));
    format!("urn:uuid:{}", uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, name.as_bytes()))
}

/// An image read, checked and made ready for the package.
struct PreparedImage {
    media_type: &'static str,
    /// Size of the file in the book.
    original_len: usize,
    /// The bytes to package.
    data: Vec<u8>,
    outcome: Outcome,
    /// What sanitising an SVG removed or refused, at its place in the SVG.
    findings: Vec<Diagnostic>,
    /// The book's images an SVG draws, packaged beside it, with where it names them.
    embeds: Vec<(PathBuf, Location)>,
}

type Prepared = Result<PreparedImage, package::assets::ImageError>;

/// Reads an image and makes it ready for the package: an SVG sanitised, any other optimized by `optimize`.
fn prepare_image(
    root: &ReadRoot,
    path: &Path,
    optimize: impl FnOnce(&[u8], &'static str) -> images::Optimized,
) -> Prepared {
    let (media_type, data) = package::assets::read_image(root, path)?;
    if media_type == "image/svg+xml" {
        return Ok(prepare_svg(root, path, data));
    }
    let optimized = optimize(&data, media_type);
    Ok(PreparedImage {
        media_type,
        original_len: data.len(),
        data: optimized.data.unwrap_or(data),
        outcome: optimized.outcome,
        findings: Vec::new(),
        embeds: Vec::new(),
    })
}

/// Sanitises an SVG image ([`sanitize::svg`]); the images it draws from the book are packaged beside it in
/// `images/`, so its references to them become their package names.
fn prepare_svg(root: &ReadRoot, path: &Path, data: Vec<u8>) -> PreparedImage {
    let source = diagnostic::SourceText::new(root.display_path(path), String::from_utf8_lossy(&data).into_owned());
    let here = path.parent().unwrap_or(Path::new(""));
    let mut embeds = Vec::new();
    let mut resolve = |href: &str, offset: usize| {
        let decoded = outline::percent_decode(href);
        match outline::normalize_relative(here, Path::new(&decoded)) {
            Some(target) => {
                let name = text::asset_name(&target);
                embeds.push((target, source.location(offset)));
                Ok(name)
            }
            None => Err(format!("image '{href}' in SVG is outside the book folder")),
        }
    };
    let sanitized = sanitize::svg::sanitize(&data, &mut resolve);
    let findings =
        sanitized.findings.into_iter().map(|f| source.at(f.offset..f.offset, f.severity, f.message)).collect();
    PreparedImage {
        media_type: "image/svg+xml",
        original_len: data.len(),
        data: sanitized.svg.map(String::into_bytes).unwrap_or_default(),
        outcome: Outcome::Kept,
        findings,
        embeds,
    }
}

/// Images being read and optimized on the thread pool, by path; each is started once however often
/// it is used, and nothing here depends on which chapter asked first.
struct ImageWork<'a> {
    root: &'a ReadRoot,
    cache: Option<&'a cache::Cache>,
    max_pixels: Option<u64>,
    effort: images::Effort,
    /// `None` while an image is being worked on.
    done: std::sync::Mutex<BTreeMap<PathBuf, Option<Prepared>>>,
}

impl<'a> ImageWork<'a> {
    fn new(root: &'a ReadRoot, cache: Option<&'a cache::Cache>, config: &BookConfig) -> Self {
        let (max_pixels, effort) = (config.max_image_pixels, config.optimize_images);
        Self { root, cache, max_pixels, effort, done: std::sync::Mutex::new(BTreeMap::new()) }
    }

    /// Starts work on the image at `path` in `scope`, unless it was started before.
    fn start<'s>(&'s self, scope: &rayon::Scope<'s>, path: &Path) {
        let mut done = self.done.lock().expect("not poisoned");
        if done.contains_key(path) {
            return;
        }
        done.insert(path.to_path_buf(), None);
        drop(done);
        let path = path.to_path_buf();
        scope.spawn(move |_| {
            let prepared = self.prepare(&path);
            self.done.lock().expect("not poisoned").insert(path, Some(prepared));
        });
    }

    fn prepare(&self, path: &Path) -> Prepared {
        prepare_image(self.root, path, |data, media_type| self.optimize(data, media_type))
    }

    /// Optimizes an image, or takes the result from the cache when optimizing costs time.
    fn optimize(&self, data: &[u8], media_type: &str) -> images::Optimized {
        let cache = self.cache.filter(|_| images::is_expensive(media_type));
        let Some(cache) = cache else { return images::optimize(data, media_type, self.max_pixels, self.effort) };
        // The key starts with folio's version and sources (dependencies included), so a new encoder
        // never reuses old results.
        let key = cache::KeyBuilder::new()
            .add(media_type.as_bytes())
            .add(&self.max_pixels.unwrap_or(0).to_le_bytes())
            .add(&[self.effort as u8])
            .add(data)
            .finish();
        if let Some(((outcome, changed), bytes)) = cache.get_bytes::<(Outcome, bool)>(key) {
            return images::Optimized { data: changed.then(|| bytes.to_vec()), outcome };
        }
        let optimized = images::optimize(data, media_type, self.max_pixels, self.effort);
        let changed = optimized.data.is_some();
        // A cache that cannot be written only makes the next build slower.
        let _ = cache.put_bytes(key, &(&optimized.outcome, changed), optimized.data.as_deref().unwrap_or_default());
        optimized
    }

    /// Every image worked on, by path.
    fn finish(self) -> BTreeMap<PathBuf, Prepared> {
        let done = self.done.into_inner().expect("not poisoned");
        done.into_iter().filter_map(|(path, prepared)| Some((path, prepared?))).collect()
    }
}

struct Assets {
    stylesheets: Vec<Asset>,
    fonts: Vec<Asset>,
    /// Where each font comes from, for subsetting them once the package is assembled.
    font_files: Vec<FontFile>,
    images: Vec<Asset>,
    cover: Option<Asset>,
    /// What the cover shows, for its alt text.
    cover_alt: String,
    image_stats: ImageStats,
}

/// Reads the files the book names; the cover is the given file, else the generated PNG (with what it shows).
fn read_assets(
    root: &ReadRoot,
    book: &BookSources,
    chapters: &[&RenderedChapter],
    target: Target,
    mut prepared: BTreeMap<PathBuf, Prepared>,
    generated_cover: Option<(Vec<u8>, String)>,
    diags: &mut Vec<Diagnostic>,
) -> Assets {
    let config = &book.config;
    let at = |range: &std::ops::Range<usize>| book.config_source.location(range.start);
    let mut fonts = Vec::new();
    let mut font_files = Vec::new();
    // The book's fonts by path, to their package paths: stylesheets find them there.
    let mut font_hrefs = BTreeMap::new();
    for font in &config.fonts {
        let location = at(&font.range);
        match package::assets::read(root, &font.value, "font", &location) {
            Ok(data) => match package::assets::sniff_font(&data) {
                Some(media_type) => {
                    let name = text::asset_name(Path::new(font.value.file_name().unwrap_or_default()));
                    let href = format!("fonts/{name}");
                    let shown = root.display_path(&font.value).display().to_string();
                    font_hrefs.insert(font.value.clone(), href.clone());
                    font_files.push(FontFile { href: href.clone(), shown, location, size: data.len() as u64 });
                    fonts.push(Asset { href, media_type, data });
                }
                None => diags.push(
                    location.error(format!("'{}' is not an OpenType, TrueType or WOFF font", font.value.display())),
                ),
            },
            Err(d) => diags.push(d),
        }
    }
    let mut stylesheets = Vec::new();
    // Images the stylesheets use, to package with the chapters'.
    let mut styled_images = Vec::new();
    let mut hrefs = stylesheet_hrefs(config).into_iter();
    if config.default_stylesheet {
        let href = hrefs.next().expect("the default comes first");
        let css = target.default_stylesheet(DEFAULT_STYLESHEET, config.right_to_left);
        stylesheets.push(Asset { href, media_type: "text/css", data: css.into_owned().into_bytes() });
    }
    for (css, href) in config.stylesheets.iter().zip(hrefs) {
        let key = at(&css.range);
        match package::assets::read(root, &css.value, "stylesheet", &key) {
            Ok(data) => {
                let sheet = package::stylesheets::prepare(root, &css.value, data, &key, &mut font_hrefs);
                diags.extend(sheet.diagnostics);
                for (path, location, font) in sheet.fonts {
                    let shown = root.display_path(&path).display().to_string();
                    let size = font.data.len() as u64;
                    font_files.push(FontFile { href: font.href.clone(), shown, location, size });
                    fonts.push(font);
                }
                styled_images.extend(sheet.images);
                stylesheets.push(Asset { href, media_type: "text/css", data: sheet.css });
            }
            Err(d) => diags.push(d),
        }
    }
    let mut report = ImageReport { root, max_pixels: config.max_image_pixels, stats: ImageStats::default(), diags };
    // Images an SVG draws from the book, packaged beside it.
    let mut embeds: Vec<(PathBuf, Location)> = Vec::new();
    let (cover, cover_alt) = match &config.cover {
        // The cover may be a chapter's image too, so it is looked up, not taken. What a given image shows,
        // folio cannot know; the title is the best short account of it.
        Cover::File(cover) => {
            let image = report.admit(&cover.value, &at(&cover.range), prepared.get(&cover.value)).map(|image| {
                embeds.extend(image.embeds.iter().cloned());
                let extension =
                    cover.value.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
                Asset {
                    href: format!("images/cover.{extension}"),
                    media_type: image.media_type,
                    data: image.data.clone(),
                }
            });
            (image, config.title.clone())
        }
        Cover::Generated | Cover::Omitted => match generated_cover {
            Some((data, alt)) => {
                (Some(Asset { href: GENERATED_COVER.to_string(), media_type: "image/png", data }), alt)
            }
            None => (None, String::new()),
        },
    };
    // One copy of each image, however often it is used, in a stable order: the chapters' by name, then
    // those of the stylesheets and the cover, and what the SVG images among them draw.
    let mut wanted: BTreeMap<&str, (&Path, &Location)> = BTreeMap::new();
    for image in chapters.iter().flat_map(|c| &c.images) {
        wanted.entry(image.name.as_str()).or_insert((&image.path, &image.location));
    }
    let mut queue: std::collections::VecDeque<(String, PathBuf, Location)> = wanted
        .into_iter()
        .map(|(name, (path, location))| (name.to_string(), path.to_path_buf(), location.clone()))
        .chain(
            styled_images.into_iter().chain(embeds).map(|(path, location)| (text::asset_name(&path), path, location)),
        )
        .collect();
    let mut packaged = HashSet::new();
    let mut images = Vec::new();
    while let Some((name, path, location)) = queue.pop_front() {
        if !packaged.insert(name.clone()) {
            continue;
        }
        // Images only a stylesheet or an SVG uses were not started with the chapters'.
        let image = prepared.remove(&path).unwrap_or_else(|| {
            prepare_image(root, &path, |data, media_type| {
                images::optimize(data, media_type, config.max_image_pixels, config.optimize_images)
            })
        });
        let Some(admitted) = report.admit(&path, &location, Some(&image)) else { continue };
        queue.extend(
            admitted.embeds.iter().map(|(path, location)| (text::asset_name(path), path.clone(), location.clone())),
        );
        if let Ok(image) = image {
            images.push(Asset { href: package::image_href(&name), media_type: image.media_type, data: image.data });
        }
    }
    Assets { stylesheets, fonts, font_files, images, cover, cover_alt, image_stats: report.stats }
}

/// A font of the book: its package path, how to show it, where book.toml names it, its size.
struct FontFile {
    href: String,
    shown: String,
    location: Location,
    size: u64,
}

/// Replaces each font of the package with its subset, in parallel; returns the fonts' bytes before and after.
fn subset_fonts(
    epub: &mut Epub,
    fonts: &[FontFile],
    documents: &[(String, validate::Document)],
    stylesheets: &[String],
    cache: Option<&cache::Cache>,
    diagnostics: &mut Vec<Diagnostic>,
) -> (u64, u64) {
    let package_path = |href: &str| format!("{}/{href}", package::ROOT);
    let css: Vec<String> = stylesheets
        .iter()
        .filter_map(|href| epub.read(&package_path(href)).map(|data| String::from_utf8_lossy(&data).into_owned()))
        .collect();
    let css: Vec<&str> = css.iter().map(String::as_str).collect();
    let texts = documents.iter().filter(|(path, _)| path.ends_with(".xhtml")).map(|(_, d)| d.characters.as_str());
    let wanted = fonts::Wanted::new(texts, &css);
    // Take each font's bytes out of the package, subset them all at once, and put the results back.
    let mut jobs = Vec::new();
    for font in fonts {
        let path = package_path(&font.href);
        if let Some(i) = epub.files.iter().position(|(p, _)| *p == path)
            && let package::Entry::Plain(data) = &mut epub.files[i].1
        {
            let media_type = package::assets::sniff_font(data).unwrap_or_default();
            jobs.push((i, font, media_type, std::mem::take(data)));
        }
    }
    let embedded: Vec<(usize, u64, fonts::Embedded)> = jobs
        .into_par_iter()
        .map(|(i, font, media_type, data)| {
            let file = fonts::FontFile { shown: &font.shown, media_type, location: &font.location };
            (i, font.size, fonts::subset(&file, data, &wanted, cache))
        })
        .collect();
    let (mut before, mut after) = (0, 0);
    for (i, size, font) in embedded {
        before += size;
        after += font.data.len() as u64;
        diagnostics.extend(font.warning);
        epub.files[i].1 = package::Entry::Plain(font.data);
    }
    (before, after)
}

/// Counts the images that go into the package and says what an author should hear about them.
struct ImageReport<'a> {
    root: &'a ReadRoot,
    max_pixels: Option<u64>,
    stats: ImageStats,
    diags: &'a mut Vec<Diagnostic>,
}

impl ImageReport<'_> {
    /// The image to package, when it can be; reports errors, and warns about an image folio could not
    /// decode, one over the pixel limit that folio cannot scale, and one larger than stores advise.
    fn admit<'p>(
        &mut self,
        path: &Path,
        location: &Location,
        prepared: Option<&'p Prepared>,
    ) -> Option<&'p PreparedImage> {
        let image = match prepared {
            Some(Ok(image)) => image,
            Some(Err(e)) => {
                self.diags.push(e.diagnostic(self.root, path, location));
                return None;
            }
            None => {
                self.diags.push(location.error(format!("internal error: image '{}' was never read", path.display())));
                return None;
            }
        };
        self.diags.extend(image.findings.iter().cloned());
        let shown = self.root.display_path(path);
        match &image.outcome {
            Outcome::Undecodable(cause) => self.diags.push(
                location
                    .warning(format!("cannot decode image '{}' ({cause}); it is packaged as it is", shown.display()))
                    .with_hint("open it in an image editor and save it again; readers may not show it"),
            ),
            Outcome::NotResized { size: (width, height), why } => {
                let limit = self.max_pixels.unwrap_or_default();
                let mut warning = location.warning(format!(
                    "image '{}' has {width}×{height} pixels, more than max-image-pixels ({limit}), and keeps them: {}",
                    shown.display(),
                    why.reason()
                ));
                if let Some((w, h)) = images::fit((*width, *height), limit) {
                    warning = warning.with_hint(format!("scale it to {w}×{h} pixels or less"));
                }
                self.diags.push(warning);
            }
            Outcome::TooLarge { size: (width, height) } => {
                let mut warning = location.warning(format!(
                    "image '{}' declares {width}×{height} pixels, more than folio decodes; it is packaged as it is",
                    shown.display(),
                ));
                let fits = self.max_pixels.and_then(|limit| images::fit((*width, *height), limit));
                warning = warning.with_hint(match fits {
                    Some((w, h)) => format!("scale it to {w}×{h} pixels or less"),
                    None => "readers may not show it either; scale it down".to_string(),
                });
                self.diags.push(warning);
            }
            Outcome::Kept | Outcome::Recompressed | Outcome::Downscaled { .. } => {}
        }
        if image.data.len() > images::ADVISED_MAX_BYTES {
            self.diags.push(
                location
                    .warning(format!(
                        "image '{}' takes {:.1} MB; Kindle and Kobo advise at most 5 MB an image",
                        shown.display(),
                        image.data.len() as f64 / 1e6
                    ))
                    .with_hint("save photographs as JPEG, or scale the image down"),
            );
        }
        self.stats.count += 1;
        self.stats.downscaled += usize::from(matches!(image.outcome, Outcome::Downscaled { .. }));
        self.stats.recompressed += usize::from(image.outcome == Outcome::Recompressed);
        self.stats.bytes_before += image.original_len as u64;
        self.stats.bytes_after += image.data.len() as u64;
        Some(image)
    }
}

/// Checks the book against what Send to Kindle shows; returns the cover the Kindle book gets.
fn kindle_checks(
    book: &BookSources,
    chapters: &[&RenderedChapter],
    assets: &Assets,
    files: &[String],
    cache: Option<&cache::Cache>,
    diags: &mut Vec<Diagnostic>,
) -> Option<Asset> {
    let cover_key = match &book.config.cover {
        Cover::File(cover) => book.config_source.location(cover.range.start),
        Cover::Generated | Cover::Omitted => Location { path: book.config_source.path.clone(), position: None },
    };
    // Each image once, where it is first used.
    let mut first_use: BTreeMap<String, &Location> = BTreeMap::new();
    for image in chapters.iter().flat_map(|c| &c.images) {
        first_use.entry(package::image_href(&image.name)).or_insert(&image.location);
    }
    let images = assets.images.iter().filter_map(|a| first_use.get(&a.href).map(|at| (a.media_type, *at)));
    let sources = origins(book, files);
    let svg_chapters = chapters
        .iter()
        .filter(|c| c.has_svg)
        .filter_map(|c| sources.get(&package::text_path(&files[c.entry])).map(PathBuf::as_path));
    let rasterize = |svg: &[u8]| {
        let key = cache::KeyBuilder::new().add(b"rasterized cover").add(svg).finish();
        cached_image(cache, key, || cover::rasterize_svg(svg))
    };
    let (cover, warnings) = target::kindle::check(assets.cover.clone(), rasterize, &cover_key, images, svg_chapters);
    diags.extend(warnings);
    cover
}

/// The author file behind a package file, for internal errors.
fn source_of(book: &BookSources, files: &[String], package_path: &str) -> PathBuf {
    origins(book, files).remove(package_path).unwrap_or_else(|| book.config_source.path.clone())
}

/// The author's file behind each chapter's package path.
fn origins(book: &BookSources, files: &[String]) -> BTreeMap<String, PathBuf> {
    book.outline
        .entries
        .iter()
        .zip(files)
        .filter_map(|(entry, file)| match &entry.target {
            outline::Target::Chapter(p) => {
                Some((package::text_path(file), book.root.display_path(&book.config.src.join(p))))
            }
            outline::Target::Part => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_folio_makes_are_taken_from_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let cache = cache::Cache::new(dir.path(), 1);
        let drawn = cached_image(Some(&cache), 7, || Ok(b"drawn".to_vec())).unwrap();
        assert_eq!(drawn, b"drawn");
        // What the cache holds is used as it is, without drawing again.
        let again = cached_image(Some(&cache), 7, || panic!("drawn again")).unwrap();
        assert_eq!(again, b"drawn");
        // A failure is reported and nothing is stored.
        assert_eq!(cached_image(Some(&cache), 8, || Err("no".into())), Err("no".to_string()));
        assert_eq!(cached_image(Some(&cache), 8, || Ok(b"now".to_vec())).unwrap(), b"now");
        assert_eq!(cached_image(None, 7, || Ok(b"uncached".to_vec())).unwrap(), b"uncached");
    }
}
