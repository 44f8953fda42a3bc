//! folio: Markdown book folders in, EPUB 3 out.
//!
//! [`build`](fn@build) runs the pipeline, a stage a step, each mapping one type to the next:
//!
//! 1. load: `book.toml` ([`config`]) and `SUMMARY.md` ([`outline`]) → the book's sources
//! 2. cite: the sources file → [`cite::Sources`]
//! 3. [`render`]: each chapter's Markdown → XHTML, in parallel → [`render::RenderedChapter`], its
//!    notes numbered from 1; a chapter's text is read (and [`include`] expands mdBook's directives)
//!    just before, so a chapter the build cache already holds is hashed and dropped, not kept, and one
//!    whose files the source memo knows unchanged is not read at all. Then the notes stage
//!    ([`render::notes::number`]) gives each chapter its first note number (the sum of the notes
//!    before it, when the book numbers notes across chapters) without reading Markdown again, and the
//!    chapter is framed, checked and compressed
//! 4. resolve: links between chapters, the Sources page
//! 5. [`package`]: assets, OPF, nav, NCX → [`document::Epub`] in memory, each page adapted to the
//!    [`target`] reader (Kobo's kepub, Send to Kindle) as it is framed; [`fonts`] cuts the embedded
//!    fonts down to the characters the package's documents show
//! 6. [`validate`]: folio's own structural check of that package
//! 7. [`write`]: zip, streamed to a temporary file, renamed over the output on success
//!
//! Every file is read through [`files`]. The library never prints: [`build`](fn@build) returns the EPUB
//! and every diagnostic ([`diagnostic`]), and the CLI reports. Its other commands have their modules
//! here too: [`publish`], [`new_book`], [`mdbook`] (folio as mdBook's renderer) and [`epubcheck`].

#![warn(missing_docs)]

pub mod cite;
pub mod config;
pub mod cover;
pub mod diagnostic;
pub mod document;
pub mod epubcheck;
pub mod files;
pub mod fonts;
pub mod include;
pub mod mdbook;
pub mod new_book;
pub mod outline;
pub mod package;
pub mod publish;
pub mod render;
pub mod sanitize;
pub mod target;
pub mod text;
pub mod validate;
pub mod write;

// The stages and helpers only `build` uses.
mod beneath;
mod build;
mod cache;
mod i18n;
mod link;
mod load;
mod media;
mod memo;
mod resolve;

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use crate::config::BookConfig;
use crate::diagnostic::Diagnostic;
use crate::document::Epub;
use crate::files::ReadRoot;
use crate::load::BookSources;
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

/// Numbers about a build (the CLI's summary line shows some of them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Chapters in the book.
    pub chapters: usize,
    /// Chapters taken from the cache instead of being rendered.
    pub cached: usize,
    /// Of those, chapters whose files were not even read: the source memo knew them unchanged.
    pub unread: usize,
    /// Chapters framed, checked and compressed by this build, their notes numbered; the others came
    /// finished from the cache. With notes numbered across the book, a chapter taken from the cache as
    /// rendered is framed again when the notes before it changed in number. The pass that finishes
    /// chapters again for links to anchors another chapter lacks is not counted.
    pub framed: usize,
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
    /// Assembling the book failed: compressing it, or a chapter the cache held that could not be had
    /// again.
    #[error("failed to assemble the book ({0})")]
    Output(io::Error),
}

/// Builds the book in `book_dir` into an EPUB in memory.
pub fn build(book_dir: &Path, settings: &Settings) -> Result<Build, RunError> {
    let started = std::time::SystemTime::now();
    let root = ReadRoot::new(book_dir, settings.root.as_deref()).map_err(RunError::BookFolder)?;
    let cache = build::open_cache(&root, settings);
    // 1. load: book.toml and SUMMARY.md, while the source memo is read
    let ((book, mut diagnostics), memo) = rayon::join(
        || load::load(&root, settings.mdbook.as_ref()),
        || build::load_memo(cache.as_ref(), settings, started),
    );
    let Some(book) = book else { return Ok(Build::unloaded(&root, diagnostics)) };
    // 2. cite: the sources file
    let sources = build::read_sources(&book, &mut diagnostics);
    let mut run = build::Run::new(&book, sources.as_ref(), settings, cache.as_ref(), memo, diagnostics);
    // 3. render: every chapter, in parallel, with its images and the generated cover alongside
    let mut rendered = run.render()?;
    // 4. resolve: links between chapters, the Sources page
    let bibliography = run.resolve(&mut rendered.chapters)?;
    let assets = run.assets(&rendered.chapters, rendered.images, rendered.cover);
    if run.has_errors() {
        return Ok(run.finish(None));
    }
    // 5. package: assembled in memory, generated pages checked and compressed, fonts subset
    let (epub, documents) = run.package(rendered.chapters, assets, bibliography)?;
    // 6. validate: links between the documents; 7. write is the caller's, with the EPUB
    run.validate(&epub, &documents);
    Ok(run.finish(Some(epub)))
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
    let mut rendered = render::render(&ctx, &chapter, 0);
    render::notes::number(&mut rendered, 0, &ctx.files[0]);
    rendered
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

/// The author's file behind each chapter's package path.
pub(crate) fn origins(book: &BookSources, files: &[String]) -> BTreeMap<String, PathBuf> {
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
