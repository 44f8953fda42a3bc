//! folio: Markdown book folders in, EPUB 3 out.
//!
//! The build is a pipeline of stages, each a module that maps one type to the next:
//!
//! 1. [`load`]: `book.toml` ([`config`]), `SUMMARY.md` ([`outline`]) and chapter texts
//!    ([`include`] expands mdBook's directives) → [`load::BookSources`]
//! 2. [`cite`]: the sources file → [`cite::Sources`]
//! 3. [`render`]: each chapter's Markdown → XHTML, in parallel → [`render::RenderedChapter`]
//! 4. [`resolve`]: links between chapters, the Sources page
//! 5. [`package`]: assets, OPF, nav, NCX → [`package::Epub`] in memory
//! 6. [`validate`]: folio's own structural check of that package
//! 7. [`write`]: zip to a temporary file, renamed over the output on success
//!
//! The library never prints: [`build`] returns the EPUB and every diagnostic, and the CLI reports.

pub mod cite;
pub mod config;
pub mod diagnostic;
pub mod i18n;
pub mod include;
pub mod load;
pub mod outline;
pub mod package;
pub mod render;
pub mod resolve;
pub mod text;
pub mod validate;
pub mod write;

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::config::{BookConfig, FootnoteNumbering};
use crate::diagnostic::{Diagnostic, Location};
use crate::load::{BookSources, ReadRoot};
use crate::package::{Asset, Epub};
use crate::render::RenderedChapter;

/// The default stylesheet, compiled in so folio works on a book anywhere.
pub const DEFAULT_STYLESHEET: &str = include_str!("../styles/folio.css");

/// 1980-01-01T00:00:00Z: the timestamp used when neither `[epub] date` nor `SOURCE_DATE_EPOCH` gives one.
pub const DEFAULT_EPOCH: i64 = 315_532_800;

/// How to run a build.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Widens what may be read to this ancestor of the book folder (`--root`).
    pub root: Option<PathBuf>,
    /// `SOURCE_DATE_EPOCH`, used when book.toml has no date.
    pub source_date_epoch: Option<i64>,
}

/// Numbers about a build, for the summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Chapters rendered.
    pub chapters: usize,
    /// Notes (footnotes and citations).
    pub notes: usize,
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
}

/// Builds the book in `book_dir` into an EPUB in memory.
pub fn build(book_dir: &Path, settings: &Settings) -> Result<Build, RunError> {
    let root = ReadRoot::new(book_dir, settings.root.as_deref()).map_err(RunError::BookFolder)?;
    let (book, mut diagnostics) = load::load(&root);
    let Some(book) = book else {
        diagnostic::sort(&mut diagnostics);
        return Ok(Build { epub: None, diagnostics, stats: Stats::default(), slug: "book".into() });
    };
    let sources = book.config.sources.as_ref().and_then(|file| {
        match root.read_text(&file.value) {
            Ok(text) => {
                let (sources, diags) = cite::load(text);
                diagnostics.extend(diags);
                sources
            }
            Err(e) => {
                let shown = root.display_path(&file.value);
                diagnostics.push(e.diagnostic(&shown, "sources file", Some((&book.config_source, file.range.clone()))));
                None
            }
        }
    });
    let ctx = render::Context::new(&book.config, &book.outline, sources.as_ref());
    let chapters = render_chapters(&ctx, &book);
    let stats = Stats { chapters: chapters.len(), notes: chapters.iter().map(|c| c.note_count).sum() };
    for chapter in &chapters {
        diagnostics.extend(chapter.diagnostics.iter().cloned());
    }
    diagnostics.extend(resolve::check_cross_links(&book.outline, &chapters));
    let bibliography = sources.as_ref().map(|s| {
        let (body, diags) = resolve::bibliography(s, &chapters, &book.outline, &ctx.files, ctx.strings);
        diagnostics.extend(diags);
        body
    });
    let assets = read_assets(&root, &book, &chapters, &mut diagnostics);
    let slug = match text::ascii_slug(&book.config.title, 60) {
        s if s.is_empty() => "book".to_string(),
        s => s,
    };
    if diagnostics.iter().any(Diagnostic::is_error) {
        diagnostic::sort(&mut diagnostics);
        return Ok(Build { epub: None, diagnostics, stats, slug });
    }
    let identifier = identifier(&book.config);
    let modified = book.config.date.map(|d| d.unix_seconds).or(settings.source_date_epoch).unwrap_or(DEFAULT_EPOCH);
    let epub = package::assemble(package::Parts {
        config: &book.config,
        identifier: &identifier,
        modified,
        strings: ctx.strings,
        outline: &book.outline,
        files: &ctx.files,
        chapters: &chapters,
        stylesheets: assets.stylesheets,
        fonts: assets.fonts,
        images: assets.images,
        cover: assets.cover,
        bibliography,
    });
    for problem in validate::check(&epub) {
        diagnostics.push(
            Diagnostic::error(source_of(&book, &ctx.files, &problem.file), format!("internal error: {} in {}", problem.message, problem.file))
                .with_hint("this is a bug in folio; please report it with the book that triggers it"),
        );
    }
    diagnostic::sort(&mut diagnostics);
    let epub = (!diagnostics.iter().any(Diagnostic::is_error)).then_some(epub);
    Ok(Build { epub, diagnostics, stats, slug })
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

/// Renders every chapter; in parallel unless note numbers run across the book.
fn render_chapters(ctx: &render::Context<'_>, book: &BookSources) -> Vec<RenderedChapter> {
    let entries: Vec<usize> = book
        .chapters
        .iter()
        .map(|c| ctx.chapter_entries[&c.path])
        .collect();
    match book.config.footnote_numbering {
        FootnoteNumbering::Chapter => book.chapters.par_iter().zip(entries.par_iter()).map(|(c, &e)| render::render(ctx, c, e, 0)).collect(),
        FootnoteNumbering::Book => {
            let mut offset = 0;
            book.chapters
                .iter()
                .zip(entries)
                .map(|(c, e)| {
                    let rendered = render::render(ctx, c, e, offset);
                    offset += rendered.note_count;
                    rendered
                })
                .collect()
        }
    }
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

struct Assets {
    stylesheets: Vec<Asset>,
    fonts: Vec<Asset>,
    images: Vec<Asset>,
    cover: Option<Asset>,
}

fn read_assets(root: &ReadRoot, book: &BookSources, chapters: &[RenderedChapter], diags: &mut Vec<Diagnostic>) -> Assets {
    let config = &book.config;
    let at = |range: &std::ops::Range<usize>| book.config_source.location(range.start);
    let mut stylesheets = Vec::new();
    if config.default_stylesheet {
        stylesheets.push(Asset { href: "css/folio.css".into(), media_type: "text/css", data: DEFAULT_STYLESHEET.as_bytes().to_vec() });
    }
    for css in &config.stylesheets {
        match package::assets::read(root, &css.value, "stylesheet", &at(&css.range)) {
            Ok(data) => stylesheets.push(Asset { href: format!("css/{}", text::asset_name(&css.value)), media_type: "text/css", data }),
            Err(d) => diags.push(d),
        }
    }
    let mut fonts = Vec::new();
    for font in &config.fonts {
        let location = at(&font.range);
        match package::assets::read(root, &font.value, "font", &location) {
            Ok(data) => match package::assets::sniff_font(&data) {
                Some(media_type) => {
                    let name = text::asset_name(Path::new(font.value.file_name().unwrap_or_default()));
                    fonts.push(Asset { href: format!("fonts/{name}"), media_type, data });
                }
                None => diags.push(location.error(format!("'{}' is not an OpenType, TrueType or WOFF font", font.value.display()))),
            },
            Err(d) => diags.push(d),
        }
    }
    // One copy of each image, however often it is used, in a stable order.
    let mut wanted: BTreeMap<&str, (&Path, &Location)> = BTreeMap::new();
    for image in chapters.iter().flat_map(|c| &c.images) {
        wanted.entry(image.name.as_str()).or_insert((&image.path, &image.location));
    }
    let mut images = Vec::new();
    for (name, (path, location)) in wanted {
        match package::assets::image(root, path, package::image_href(name), location) {
            Ok(asset) => images.push(asset),
            Err(d) => diags.push(d),
        }
    }
    let cover = config.cover.as_ref().and_then(|cover| {
        let extension = cover.value.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
        package::assets::image(root, &cover.value, format!("images/cover.{extension}"), &at(&cover.range)).map_err(|d| diags.push(d)).ok()
    });
    Assets { stylesheets, fonts, images, cover }
}

/// The author file behind a package file, for internal errors.
fn source_of(book: &BookSources, files: &[String], package_path: &str) -> PathBuf {
    let name = package_path.rsplit('/').next().unwrap_or("");
    files
        .iter()
        .position(|f| f == name)
        .and_then(|i| match &book.outline.entries[i].target {
            outline::Target::Chapter(p) => Some(book.root.display_path(&book.config.src.join(p))),
            outline::Target::Part => None,
        })
        .unwrap_or_else(|| book.root.display_path(Path::new("book.toml")))
}
