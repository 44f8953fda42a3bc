//! The stages of [`crate::build`] as one book's build runs them: [`Run`] holds what every stage shares
//! (the book, the cache, the render context, the page frame), and its methods are the stages that
//! `lib.rs` calls in order. The work they schedule that is not a module of its own lives beside it:
//! chapter jobs ([`chapters`]), assets ([`assets`]), fonts ([`fonts`]) and the pages folio generates
//! ([`generated`]).

pub(crate) mod assets;
pub(crate) mod chapters;
pub(crate) mod fonts;
pub(crate) mod generated;

use std::collections::{BTreeMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use rayon::prelude::*;

use self::assets::{Assets, ImageWork, Prepared, kindle_checks, read_assets};
use self::chapters::{ChapterJob, FinishedChapters, book_key, finish_chapters, relink, relinked_key};
use self::fonts::subset_fonts;
use self::generated::{
    GENERATED_COVER, draw_cover, finish_generated, formula_images, stylesheet_hrefs, unsettable_warning,
};
use crate::cache::{self, Cache};
use crate::config::Cover;
use crate::diagnostic::{self, Diagnostic};
use crate::document::{Document, Entry, Epub, Finished};
use crate::files::{self as file_access, ReadRoot};
use crate::load::BookSources;
use crate::memo::Memo;
use crate::package::{self, ChapterFile, xhtml::Frame};
use crate::render::{self, RenderedChapter};
use crate::target::Target;
use crate::{Build, DEFAULT_EPOCH, FontStats, RunError, Settings, Stats, cite, cover, identifier, origins, resolve};
use crate::{text, validate};

/// The build cache of the book folder and target, when the settings ask for one.
pub(crate) fn open_cache(root: &ReadRoot, settings: &Settings) -> Option<Cache> {
    let dir = settings.cache_dir.as_ref()?;
    // One cache folder per book folder and target, however the path is written, so builds for two
    // readers do not evict each other's chapters; entries still key on the written path, since
    // diagnostics show it, and a build under another spelling replaces them.
    let folder = cache::key(&[root.canonical_book().as_os_str().as_encoded_bytes(), settings.target.name().as_bytes()]);
    Some(if settings.cache_read_only { Cache::read_only(dir, folder) } else { Cache::new(dir, folder) })
}

/// The source memo of the cache, unless the chapters come from mdBook: those are not files whose stamps
/// could stand for their texts.
pub(crate) fn load_memo(cache: Option<&Cache>, settings: &Settings, started: SystemTime) -> Option<Memo> {
    cache.filter(|_| settings.mdbook.is_none()).map(|cache| Memo::load(cache, started))
}

/// What rendering needs of the book, for the target: Kobo and Kindle get images of their formulas.
fn render_context<'a>(
    book: &'a BookSources,
    sources: Option<&'a cite::Sources>,
    target: Target,
) -> render::Context<'a> {
    let mut ctx = render::Context::new(&book.config, &book.outline, sources);
    ctx.target = target;
    ctx
}

/// Stage 2, cite: the sources file book.toml names, if any.
pub(crate) fn read_sources(book: &BookSources, diagnostics: &mut Vec<Diagnostic>) -> Option<cite::Sources> {
    let file = book.config.sources.as_ref()?;
    match book.root.read_text(&file.value) {
        Ok(text) => {
            let (sources, diags) = cite::load(text, &book.config.language);
            diagnostics.extend(diags);
            sources
        }
        Err(e) => {
            let shown = book.root.display_path(&file.value);
            diagnostics.push(e.diagnostic(&shown, "sources file", Some((&book.config_source, file.range.clone()))));
            None
        }
    }
}

impl Build {
    /// The build of a book whose configuration or outline could not be read.
    pub(crate) fn unloaded(root: &ReadRoot, mut diagnostics: Vec<Diagnostic>) -> Self {
        diagnostic::sort(&mut diagnostics);
        Build {
            epub: None,
            diagnostics,
            stats: Stats::default(),
            slug: "book".into(),
            origins: BTreeMap::new(),
            config_path: root.display_path(Path::new("book.toml")),
        }
    }
}

/// The chapters rendered, and what was made beside them: the images they use and the generated cover.
pub(crate) struct Rendered {
    pub(crate) chapters: Vec<ChapterFile>,
    pub(crate) images: BTreeMap<PathBuf, Prepared>,
    /// The generated cover as PNG, with what it shows.
    pub(crate) cover: Option<(Vec<u8>, String)>,
}

/// One book's build as it runs: what every stage shares, and what they have found so far.
pub(crate) struct Run<'a> {
    book: &'a BookSources,
    sources: Option<&'a cite::Sources>,
    settings: &'a Settings,
    cache: Option<&'a Cache>,
    memo: Option<Memo>,
    ctx: render::Context<'a>,
    frame: Frame<'a>,
    /// `dcterms:modified` and every timestamp in the zip.
    modified: i64,
    /// What every chapter's cache key holds besides the chapter.
    book_key: cache::Key,
    /// Every problem found so far.
    pub(crate) diagnostics: Vec<Diagnostic>,
    stats: Stats,
}

impl<'a> Run<'a> {
    pub(crate) fn new(
        book: &'a BookSources,
        sources: Option<&'a cite::Sources>,
        settings: &'a Settings,
        cache: Option<&'a Cache>,
        memo: Option<Memo>,
        diagnostics: Vec<Diagnostic>,
    ) -> Self {
        let config = &book.config;
        let modified = config.date.map(|d| d.unix_seconds).or(settings.source_date_epoch).unwrap_or(DEFAULT_EPOCH);
        Run {
            book,
            sources,
            settings,
            cache,
            memo,
            ctx: render_context(book, sources, settings.target),
            frame: Frame { config, stylesheets: stylesheet_hrefs(config), target: settings.target },
            modified,
            book_key: book_key(&book.root, book, sources, settings.target),
            diagnostics,
            stats: Stats::default(),
        }
    }

    fn chapter_job<'j>(
        &'j self,
        ctx: &'j render::Context<'a>,
        book_key: cache::Key,
        first_pass: bool,
        finished: &'j std::sync::atomic::AtomicUsize,
        start_images: &'j (dyn Fn(&[render::ImageRef]) + Sync),
    ) -> ChapterJob<'j> {
        ChapterJob {
            ctx,
            frame: &self.frame,
            modified: self.modified,
            book_key,
            cache: self.cache,
            memo: self.memo.as_ref().filter(|_| first_pass),
            progress: self.settings.progress.as_ref().filter(|_| first_pass),
            finished,
            total: self.book.outline.chapter_count(),
            start_images,
        }
    }

    /// Stage 3, render: every chapter read, rendered, framed, checked and compressed, or taken from the
    /// cache. Each image a chapter names is read and optimized on the thread pool as soon as the chapter
    /// is rendered, and the generated cover is drawn beside the chapters.
    pub(crate) fn render(&mut self) -> Result<Rendered, RunError> {
        let book = self.book;
        let image_work = ImageWork::new(&book.root, self.cache, self.memo.as_ref(), &book.config);
        let cover_text = match book.config.cover {
            Cover::Generated => {
                let (text, unsettable) = cover::CoverText::of(&book.config);
                self.diagnostics.extend(unsettable.iter().map(|u| unsettable_warning(book, u)));
                text
            }
            Cover::File(_) | Cover::Omitted => None,
        };
        let finished = std::sync::atomic::AtomicUsize::new(0);
        // Drawing a cover takes one core for about 5 ms: beside the chapters, on a thread of its own. On
        // one of rayon's, it would leave the chapters a worker fewer until it is drawn.
        let (chapters, cover) = std::thread::scope(|threads| {
            let cache = self.cache;
            let draw = move |text: &cover::CoverText| draw_cover(cache, text).map(|png| (png, text.description()));
            let cover = cover_text.map(|text| {
                let drawing = std::thread::Builder::new().spawn_scoped(threads, {
                    let text = text.clone();
                    move || draw(&text)
                });
                (text, drawing)
            });
            let chapters = rayon::scope(|scope| {
                if let Cover::File(cover) = &book.config.cover {
                    image_work.start(scope, &cover.value);
                }
                let start_images = |images: &[render::ImageRef]| {
                    for image in images {
                        image_work.start(scope, &image.path);
                    }
                };
                finish_chapters(&self.chapter_job(&self.ctx, self.book_key, true, &finished, &start_images), book)
            });
            let cover = cover.map(|(text, drawing)| match drawing {
                Ok(drawing) => drawing.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                // No thread to spare: drawn after the chapters.
                Err(_) => draw(&text),
            });
            (chapters, cover)
        });
        let images = image_work.finish();
        let FinishedChapters { files: chapters, cached, unread, framed, diagnostics } =
            chapters.map_err(RunError::Output)?;
        self.diagnostics.extend(diagnostics);
        let cover = cover.and_then(|drawn| {
            let path = format!("EPUB/{GENERATED_COVER}");
            drawn.map_err(|message| self.internal_error(&path, &message)).ok()
        });
        self.stats.chapters = chapters.len();
        self.stats.cached = cached;
        self.stats.unread = unread;
        self.stats.framed = framed;
        self.stats.notes = chapters.iter().map(|c| c.rendered.note_count).sum();
        for chapter in &chapters {
            self.diagnostics.extend(chapter.rendered.diagnostics.iter().cloned());
        }
        Ok(Rendered { chapters, images, cover })
    }

    /// Stage 4, resolve: links between chapters checked, the chapters whose links point at anchors
    /// their targets lack finished again, and the Sources page written.
    pub(crate) fn resolve(&mut self, chapters: &mut [ChapterFile]) -> Result<Option<String>, RunError> {
        let (link_warnings, dangling) = {
            let rendered: Vec<&RenderedChapter> = chapters.iter().map(|c| &c.rendered).collect();
            resolve::check_cross_links(&self.book.outline, &rendered)
        };
        self.diagnostics.extend(link_warnings);
        if !dangling.is_empty() {
            let mut relinked = render_context(self.book, self.sources, self.settings.target);
            relinked.dangling = dangling;
            let finished = std::sync::atomic::AtomicUsize::new(0);
            let key = relinked_key(self.book_key, &relinked.dangling);
            let job = self.chapter_job(&relinked, key, false, &finished, &|_| {});
            relink(&job, self.book, chapters).map_err(RunError::Output)?;
        }
        let rendered: Vec<&RenderedChapter> = chapters.iter().map(|c| &c.rendered).collect();
        Ok(self.sources.map(|s| {
            let (body, diags) =
                resolve::bibliography(s, &rendered, &self.book.outline, &self.ctx.files, self.ctx.strings);
            self.diagnostics.extend(diags);
            body
        }))
    }

    /// The images, the cover, the stylesheets and the fonts, as the package will hold them, checked
    /// for the target reader.
    pub(crate) fn assets(
        &mut self,
        chapters: &[ChapterFile],
        images: BTreeMap<PathBuf, Prepared>,
        cover: Option<(Vec<u8>, String)>,
    ) -> Assets {
        let (book, target) = (self.book, self.settings.target);
        let rendered: Vec<&RenderedChapter> = chapters.iter().map(|c| &c.rendered).collect();
        let mut assets = read_assets(&book.root, book, &rendered, target, images, cover, &mut self.diagnostics);
        self.stats.images = assets.image_stats;
        assets.images.extend(formula_images(&rendered, self.cache, target, &mut self.diagnostics));
        if target == Target::Kindle {
            assets.cover = kindle_checks(book, &rendered, &assets, &self.ctx.files, self.cache, &mut self.diagnostics);
        }
        assets
    }

    /// True when any diagnostic so far is an error: the book is not packaged.
    pub(crate) fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// Stage 5, package: the EPUB assembled, its generated pages checked and compressed through the
    /// cache like the chapters, its fonts cut down to what its documents show. Gives what folio's check
    /// learned of each document, for validate.
    pub(crate) fn package(
        &mut self,
        mut chapters: Vec<ChapterFile>,
        assets: Assets,
        bibliography: Option<String>,
    ) -> Result<(Epub, Vec<(String, Document)>), RunError> {
        let config = &self.book.config;
        let identifier = identifier(config);
        // Each chapter's document was checked when it was finished (and cached with the result).
        let mut documents: Vec<(String, Document)> = Vec::new();
        for chapter in &mut chapters {
            let path = package::text_path(&self.ctx.files[chapter.rendered.entry]);
            match std::mem::replace(&mut chapter.finished.document, Ok(Document::default())) {
                Ok(d) => documents.push((path, d)),
                Err(message) => self.internal_error(&path, &message),
            }
        }
        let mut epub = package::assemble(package::Parts {
            config,
            identifier: &identifier,
            modified: self.modified,
            strings: self.ctx.strings,
            outline: &self.book.outline,
            files: &self.ctx.files,
            chapters,
            frame: &self.frame,
            stylesheets: assets.stylesheets,
            fonts: assets.fonts,
            images: assets.images,
            cover: assets.cover.map(|image| package::CoverImage { image, alt: assets.cover_alt }),
            bibliography,
        });
        let finished: Vec<(usize, Finished)> = epub
            .files
            .par_iter()
            .enumerate()
            .filter_map(|(i, (path, entry))| match entry {
                Entry::Plain(data) if validate::is_xml(path) => Some((i, path, data)),
                _ => None,
            })
            .map(|(i, path, data)| {
                finish_generated(self.cache, path, data, self.modified, config.subsets_fonts()).map(|f| (i, f))
            })
            .collect::<io::Result<_>>()
            .map_err(RunError::Output)?;
        for (i, page) in finished {
            let path = epub.files[i].0.clone();
            match page.document {
                Ok(d) => documents.push((path, d)),
                Err(message) => self.internal_error(&path, &message),
            }
            epub.files[i].1 = Entry::Deflated(page.compressed);
        }
        self.stats.fonts = if config.subsets_fonts() {
            let (bytes_before, bytes_after) = subset_fonts(
                &mut epub,
                &assets.font_files,
                &documents,
                &self.frame.stylesheets,
                self.cache,
                &mut self.diagnostics,
            );
            FontStats { bytes_before, bytes_after }
        } else {
            let bytes = assets.font_files.iter().map(|f| f.size).sum();
            FontStats { bytes_before: bytes, bytes_after: bytes }
        };
        Ok((epub, documents))
    }

    /// Stage 6, validate: the links between the package's documents, each checked when it was
    /// finished. Meanwhile the cache is tidied: only now is every entry this build needs marked as
    /// used. A memo or an entry that cannot be written only makes the next build slower.
    pub(crate) fn validate(&mut self, epub: &Epub, documents: &[(String, Document)]) {
        let memo = self.memo.take();
        let tidy_cache = || {
            let cache = self.cache?;
            if let Some(memo) = memo {
                let _ = memo.store(cache);
            }
            let message = |e| format!("cannot clean the build cache ({})", file_access::describe(&e));
            cache.prune().err().map(|e| Diagnostic::warning(cache.dir(), message(e)))
        };
        let check_links = || {
            let paths: HashSet<&str> = epub.files.iter().map(|(p, _)| p.as_str()).collect();
            validate::links(documents.iter().map(|(p, d)| (p.as_str(), d)), &paths)
        };
        let (untidy, problems) = rayon::join(tidy_cache, check_links);
        self.diagnostics.extend(untidy);
        for problem in problems {
            self.internal_error(&problem.file, &problem.message);
        }
    }

    /// What the build produced: the EPUB, unless there are errors.
    pub(crate) fn finish(mut self, epub: Option<Epub>) -> Build {
        diagnostic::sort(&mut self.diagnostics);
        let slug = match text::ascii_slug(&self.book.config.title, 60) {
            s if s.is_empty() => "book".to_string(),
            s => s,
        };
        Build {
            epub: epub.filter(|_| !self.has_errors()),
            diagnostics: self.diagnostics,
            stats: self.stats,
            slug,
            origins: origins(self.book, &self.ctx.files),
            config_path: self.book.config_source.path.clone(),
        }
    }

    /// A bug in folio, found in a file of the package, reported against the author's file behind it.
    fn internal_error(&mut self, package_path: &str, message: &str) {
        let source = origins(self.book, &self.ctx.files)
            .remove(package_path)
            .unwrap_or_else(|| self.book.config_source.path.clone());
        self.diagnostics.push(
            Diagnostic::error(source, format!("internal error: {message} in {package_path}"))
                .with_hint("this is a bug in folio; please report it with the book that triggers it"),
        );
    }
}
