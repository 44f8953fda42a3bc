//! Images, the cover, stylesheets and fonts: read beneath the book folder, optimised on the thread pool
//! as the chapters name them, and checked for the target reader.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use super::fonts::FontFile;
use super::generated::{GENERATED_COVER, cached_image, stylesheet_hrefs};
use crate::config::{BookConfig, Cover};
use crate::diagnostic::{Diagnostic, Location};
use crate::document::Asset;
use crate::files::{ReadRoot, Stamp};
use crate::load::BookSources;
use crate::memo::Memo;
use crate::package::images::{self, Outcome};
use crate::render::RenderedChapter;
use crate::target::Target;
use crate::{DEFAULT_STYLESHEET, ImageStats, origins};
use crate::{cache, cover, diagnostic, link, package, sanitize, target, text};

/// An image read, checked and made ready for the package.
pub(crate) struct PreparedImage {
    pub(crate) media_type: &'static str,
    /// Size of the file in the book.
    pub(crate) original_len: usize,
    /// The bytes to package.
    pub(crate) data: Vec<u8>,
    pub(crate) outcome: Outcome,
    /// What sanitising an SVG removed or refused, at its place in the SVG.
    pub(crate) findings: Vec<Diagnostic>,
    /// The book's images an SVG draws, packaged beside it, with where it names them.
    pub(crate) embeds: Vec<(PathBuf, Location)>,
}

pub(crate) type Prepared = Result<PreparedImage, package::assets::ImageError>;

/// Reads an image and makes it ready for the package: an SVG sanitised, any other optimized by `optimize`.
pub(crate) fn prepare_image(
    root: &ReadRoot,
    path: &Path,
    optimize: impl FnOnce(&[u8], &'static str, Option<Stamp>) -> images::Optimized,
) -> Prepared {
    let (media_type, data, stamp) = package::assets::read_image(root, path)?;
    if media_type == "image/svg+xml" {
        return Ok(prepare_svg(root, path, data));
    }
    let optimized = optimize(&data, media_type, stamp);
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
pub(crate) fn prepare_svg(root: &ReadRoot, path: &Path, data: Vec<u8>) -> PreparedImage {
    let source = diagnostic::SourceText::new(root.display_path(path), String::from_utf8_lossy(&data).into_owned());
    let here = path.parent().unwrap_or(Path::new(""));
    let mut embeds = Vec::new();
    let mut resolve = |href: &str, offset: usize| match link::resolve_path(here, href) {
        Some(target) => {
            let name = text::asset_name(&target);
            embeds.push((target, source.location(offset)));
            Ok(name)
        }
        None => Err(format!("image '{href}' in SVG is outside the book folder")),
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
pub(crate) struct ImageWork<'a> {
    pub(crate) root: &'a ReadRoot,
    pub(crate) cache: Option<&'a cache::Cache>,
    /// Knows which images are unchanged since the last build, and where their results are cached.
    pub(crate) memo: Option<&'a Memo>,
    pub(crate) max_pixels: Option<u64>,
    pub(crate) effort: images::Effort,
    /// `None` while an image is being worked on.
    pub(crate) done: std::sync::Mutex<BTreeMap<PathBuf, Option<Prepared>>>,
}

impl<'a> ImageWork<'a> {
    pub(crate) fn new(
        root: &'a ReadRoot,
        cache: Option<&'a cache::Cache>,
        memo: Option<&'a Memo>,
        config: &BookConfig,
    ) -> Self {
        let (max_pixels, effort) = (config.max_image_pixels, config.optimize_images);
        Self { root, cache, memo, max_pixels, effort, done: std::sync::Mutex::new(BTreeMap::new()) }
    }

    /// Starts work on the image at `path` in `scope`, unless it was started before.
    pub(crate) fn start<'s>(&'s self, scope: &rayon::Scope<'s>, path: &Path) {
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

    pub(crate) fn prepare(&self, path: &Path) -> Prepared {
        if let Some(prepared) = self.remembered(path) {
            return prepared;
        }
        prepare_image(self.root, path, |data, media_type, stamp| {
            self.optimize(data, media_type, |key| {
                if let Some(memo) = self.memo {
                    memo.record_image(path, stamp, self.settings(), key, media_type, data.len() as u64);
                }
            })
        })
    }

    /// An image the memo knows unchanged, with its result from the cache: neither hashed nor, unless
    /// optimising left it as it was, read. `None` when the memo or the cache does not have it.
    fn remembered(&self, path: &Path) -> Option<Prepared> {
        let recorded = self.memo?.unchanged_image(self.root, path).filter(|r| r.settings == self.settings())?;
        let media_type = ["image/png", "image/jpeg"].into_iter().find(|t| *t == recorded.media_type)?;
        let ((outcome, changed), bytes) = self.cache?.get_bytes::<(Outcome, bool)>(recorded.key)?;
        let data = if changed {
            // Counted against the book's asset limit as if read, so whether a book goes over does not
            // depend on what the last build left.
            match self.root.charge(recorded.len) {
                Ok(()) => bytes.to_vec(),
                Err(e) => return Some(Err(package::assets::ImageError::Read(e))),
            }
        } else {
            match package::assets::read_image(self.root, path) {
                Ok((_, data, _)) => data,
                Err(e) => return Some(Err(e)),
            }
        };
        let original_len = usize::try_from(recorded.len).ok()?;
        Some(Ok(PreparedImage { media_type, original_len, data, outcome, findings: Vec::new(), embeds: Vec::new() }))
    }

    /// What an image's optimised result depends on besides its bytes.
    fn settings(&self) -> cache::Key {
        cache::KeyBuilder::new().add(&self.max_pixels.unwrap_or(0).to_le_bytes()).add(&[self.effort as u8]).finish()
    }

    /// Optimizes an image, or takes the result from the cache when optimizing costs time; `cached_under`
    /// is told the key of a cached result.
    pub(crate) fn optimize(
        &self,
        data: &[u8],
        media_type: &str,
        cached_under: impl FnOnce(cache::Key),
    ) -> images::Optimized {
        let cache = self.cache.filter(|_| images::is_expensive(media_type));
        let Some(cache) = cache else { return images::optimize(data, media_type, self.max_pixels, self.effort) };
        // The key starts with folio's version and sources (dependencies included), so a new encoder
        // never reuses old results.
        let key = cache::key(&[media_type.as_bytes(), &self.settings().to_le_bytes(), data]);
        cached_under(key);
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
    pub(crate) fn finish(self) -> BTreeMap<PathBuf, Prepared> {
        let done = self.done.into_inner().expect("not poisoned");
        done.into_iter().filter_map(|(path, prepared)| Some((path, prepared?))).collect()
    }
}

pub(crate) struct Assets {
    pub(crate) stylesheets: Vec<Asset>,
    pub(crate) fonts: Vec<Asset>,
    /// Where each font comes from, for subsetting them once the package is assembled.
    pub(crate) font_files: Vec<FontFile>,
    pub(crate) images: Vec<Asset>,
    pub(crate) cover: Option<Asset>,
    /// What the cover shows, for its alt text.
    pub(crate) cover_alt: String,
    pub(crate) image_stats: ImageStats,
}

/// Reads the files the book names; the cover is the given file, else the generated PNG (with what it shows).
pub(crate) fn read_assets(
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
            Ok(data) => match crate::media::sniff_font(&data) {
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
            prepare_image(root, &path, |data, media_type, _| {
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

/// Counts the images that go into the package and says what an author should hear about them.
pub(crate) struct ImageReport<'a> {
    pub(crate) root: &'a ReadRoot,
    pub(crate) max_pixels: Option<u64>,
    pub(crate) stats: ImageStats,
    pub(crate) diags: &'a mut Vec<Diagnostic>,
}

impl ImageReport<'_> {
    /// The image to package, when it can be; reports errors, and warns about an image folio could not
    /// decode, one over the pixel limit that folio cannot scale, and one larger than stores advise.
    pub(crate) fn admit<'p>(
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
            Outcome::Downscaled { damaged: Some(cause), .. } => self.diags.push(
                location
                    .warning(format!(
                        "image '{}' is damaged ({cause}); it is packaged as far as it decodes",
                        shown.display()
                    ))
                    .with_hint("open it in an image editor and save it again, or use an undamaged copy"),
            ),
            Outcome::Kept | Outcome::Recompressed | Outcome::Downscaled { damaged: None, .. } => {}
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
pub(crate) fn kindle_checks(
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
    let rasterize =
        |svg: &[u8]| cached_image(cache, || cache::key(&[b"rasterized cover", svg]), || cover::rasterize_svg(svg));
    let (cover, warnings) = target::kindle::check(assets.cover.clone(), rasterize, &cover_key, images, svg_chapters);
    diags.extend(warnings);
    cover
}

#[cfg(all(test, unix))]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;

    /// What a build would package for the image.
    fn packaged(prepared: Prepared) -> (&'static str, usize, Vec<u8>, Outcome) {
        let image = prepared.expect("an image");
        (image.media_type, image.original_len, image.data, image.outcome)
    }

    #[test]
    fn an_unchanged_image_comes_from_the_memo_and_the_cache_as_it_was_made() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("book")).unwrap();
        let mut png = Vec::new();
        let mut encoder = ::png::Encoder::new(&mut png, 64, 64);
        encoder.set_color(::png::ColorType::Rgb);
        encoder.set_compression(::png::Compression::Fastest);
        let pixels: Vec<u8> = (0..64 * 64 * 3).map(|i| (i / 7 % 3 * 90) as u8).collect();
        encoder.write_header().unwrap().write_image_data(&pixels).unwrap();
        std::fs::write(dir.path().join("book/a.png"), &png).unwrap();
        let root = ReadRoot::new(&dir.path().join("book"), None).unwrap();
        let cache = cache::Cache::new(&dir.path().join("cache"), 1);
        // Builds that start once the file has settled.
        let later = SystemTime::now() + crate::files::SETTLE_TIME + Duration::from_secs(1);
        let build = |max_pixels| {
            let memo = Memo::load(&cache, later);
            let work = ImageWork {
                root: &root,
                cache: Some(&cache),
                memo: Some(&memo),
                max_pixels,
                effort: images::Effort::Fast,
                done: std::sync::Mutex::new(BTreeMap::new()),
            };
            // Asked of the memo path itself: were it never taken, hashing would find the same entry.
            let known = work.remembered(Path::new("a.png")).is_some();
            let prepared = packaged(work.prepare(Path::new("a.png")));
            memo.store(&cache).unwrap();
            (prepared, known)
        };
        for max_pixels in [None, Some(1000)] {
            let (made, _) = build(max_pixels);
            assert_eq!(made.1, png.len());
            let (remembered, known) = build(max_pixels);
            assert!(known, "recorded by the build before");
            assert_eq!(remembered, made);
        }
        let (scaled, _) = build(Some(1000));
        assert!(matches!(scaled.3, Outcome::Downscaled { to: (31, 31), .. }), "{:?}", scaled.3);
    }
}
