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
//! 5. [`package`]: assets, OPF, nav, NCX → [`document::Epub`] in memory, each page adapted to the
//!    [`target`] reader (Kobo's kepub, Send to Kindle) as it is framed; [`fonts`] cuts the embedded
//!    fonts down to the characters the package's documents show
//! 6. [`validate`]: folio's own structural check of that package
//! 7. [`write`]: zip, streamed to a temporary file, renamed over the output on success
//!
//! The work [`build`](fn@build) schedules that is not a stage of its own (chapter jobs, assets, fonts, the pages
//! folio generates) lives in the private `build` module.
//!
//! The library never prints: [`build`](fn@build) returns the EPUB and every diagnostic, and the CLI reports.

#![warn(missing_docs)]

pub mod beneath;
mod build;
pub mod cache;
pub mod cite;
pub mod config;
pub mod cover;
pub mod diagnostic;
pub mod document;
pub mod epubcheck;
pub mod files;
pub mod fonts;
pub mod i18n;
pub mod include;
pub mod load;
pub mod mdbook;
pub mod media;
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

use crate::config::{BookConfig, Cover};
use crate::diagnostic::Diagnostic;
use crate::document::Epub;
use crate::files::ReadRoot;
use crate::load::BookSources;
use crate::render::RenderedChapter;
use crate::target::Target;

use self::build::assets::{ImageWork, kindle_checks, read_assets};
use self::build::chapters::{ChapterJob, FinishedChapters, book_key, finish_chapters, relink, relinked_key};
use self::build::fonts::subset_fonts;
use self::build::generated::{GENERATED_COVER, draw_cover, finish_generated, stylesheet_hrefs, unsettable_warning};

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
    let mut documents: Vec<(String, document::Document)> = Vec::new();
    for chapter in &mut chapters {
        let path = package::text_path(&ctx.files[chapter.rendered.entry]);
        match std::mem::replace(&mut chapter.finished.document, Ok(document::Document::default())) {
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
    let finished: Vec<(usize, document::Finished)> = epub
        .files
        .par_iter()
        .enumerate()
        .filter_map(|(i, (path, entry))| match entry {
            document::Entry::Plain(data) if validate::is_xml(path) => Some((i, path, data)),
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
        epub.files[i].1 = document::Entry::Deflated(page.compressed);
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
        cache.prune().err().map(|e| {
            Diagnostic::warning(cache.dir(), format!("cannot clean the build cache ({})", files::describe(&e)))
        })
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
