//! The book's stylesheets (`[epub] stylesheets`) made ready for the package: every URL in them
//! checked ([`crate::sanitize::css`]) and the fonts and images they use brought into the package.
//!
//! A stylesheet is packaged as `css/<name>`. A relative URL is looked for first where the package
//! puts things (`../fonts/<file name>` names a font of `[epub] fonts`, as the guide says to write
//! it), then beside the stylesheet in the book: a font found there is packaged as `fonts/<name>`,
//! an image as `images/<name>` (through the image pipeline, so an SVG is sanitised), and the URL
//! rewritten to match. `@import` is not followed; remote URLs are dropped with a warning; a URL that
//! leads outside the book or to a missing file is an error at its line and column in the stylesheet.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::diagnostic::{Diagnostic, Location, SourceText};
use crate::document::Asset;
use crate::files::ReadRoot;
use crate::link::{normalize_relative, percent_decode};
use crate::media::{sniff_font, sniff_image};
use crate::sanitize::css::{self, Url, Verdict};
use crate::sanitize::{Finding, MAX_LISTED, UrlKind, classify, data_image, data_url};
use crate::text::asset_name;

/// A stylesheet ready for the package.
#[derive(Debug, Default)]
pub struct Stylesheet {
    /// The CSS to package, its URLs rewritten.
    pub css: Vec<u8>,
    /// Fonts it uses that no earlier stylesheet or `[epub] fonts` brought in, with where it names them.
    pub fonts: Vec<(PathBuf, Location, Asset)>,
    /// Images it uses, each packaged as `images/<asset_name(path)>`, with where it names them.
    pub images: Vec<(PathBuf, Location)>,
    /// What was dropped or is wrong, at its place in the stylesheet: the first [`MAX_LISTED`].
    pub diagnostics: Vec<Diagnostic>,
    /// What was dropped or is wrong besides, counted: the worst of it, and how many.
    unlisted: Option<(Finding, usize)>,
}

impl Stylesheet {
    /// Lists a finding, or counts it once [`MAX_LISTED`] are listed: a position costs time that grows
    /// with the length of its line, and a minified stylesheet is one line.
    fn note(&mut self, source: &SourceText, finding: Finding, hint: Option<&str>) {
        if self.diagnostics.len() < MAX_LISTED {
            let Finding { offset, severity, message } = finding;
            let diagnostic = source.at(offset..offset, severity, message);
            self.diagnostics.push(match hint {
                Some(hint) => diagnostic.with_hint(hint),
                None => diagnostic,
            });
            return;
        }
        let (worst, count) = self.unlisted.get_or_insert((finding.clone(), 0));
        *count += 1;
        if finding.severity < worst.severity {
            *worst = finding;
        }
    }
}

/// Checks the stylesheet at `path` (relative to the book folder), read as `data` and named in book.toml
/// at `key`. `fonts` maps the book's fonts already packaged to their package paths; fonts found here
/// are added to it.
pub fn prepare(
    root: &ReadRoot,
    path: &Path,
    data: Vec<u8>,
    key: &Location,
    fonts: &mut BTreeMap<PathBuf, String>,
) -> Stylesheet {
    let shown = root.display_path(path);
    let text = match String::from_utf8(data) {
        Ok(text) => text,
        Err(_) => {
            let error = key.error(format!("stylesheet '{}' is not UTF-8 text", shown.display()));
            return Stylesheet { diagnostics: vec![error], ..Stylesheet::default() };
        }
    };
    let source = SourceText::new(shown, text);
    let here = path.parent().unwrap_or(Path::new(""));
    let mut sheet = Stylesheet::default();
    let rewritten = css::rewrite(&source.text, &mut |url| decide(root, &source, here, url, fonts, &mut sheet));
    if rewritten.refused {
        sheet.diagnostics.push(source.error(
            0..0,
            format!(
                "folio cannot check this stylesheet's URLs (blocks nested deeper than {}, or unbalanced ones); it is refused",
                css::MAX_NESTING
            ),
        ));
    }
    for at in rewritten.scripts {
        sheet.note(&source, Finding::warning(at, "`expression()` removed: e-books carry no scripts"), None);
    }
    if let Some((worst, count)) = sheet.unlisted.take() {
        let message = format!("{} (and {} more URLs removed or refused in this stylesheet)", worst.message, count - 1);
        sheet.diagnostics.push(source.at(worst.offset..worst.offset, worst.severity, message));
    }
    sheet.css = rewritten.css.into_bytes();
    sheet
}

/// Where the package keeps what a stylesheet uses, seen from `css/`.
const PACKAGE_CSS_DIR: &str = "css";

fn decide(
    root: &ReadRoot,
    source: &SourceText,
    here: &Path,
    url: &Url<'_>,
    fonts: &mut BTreeMap<PathBuf, String>,
    sheet: &mut Stylesheet,
) -> Verdict {
    let at = url.offset;
    let value = url.value;
    let (verdict, note) = if url.import {
        let warning = Finding::warning(at, format!("`@import` of '{value}' removed: folio does not follow imports"));
        (Verdict::Drop, Some((warning, Some("list the imported stylesheet under `stylesheets` in [epub]"))))
    } else {
        match classify(value) {
            UrlKind::Fragment => (Verdict::Keep, None),
            UrlKind::Data
                if data_image(value).is_some() || data_url(value).is_some_and(|(_, d)| sniff_font(&d).is_some()) =>
            {
                (Verdict::Keep, None)
            }
            UrlKind::Relative(relative) => relative_url(root, source, here, url, relative, fonts, sheet),
            kind => {
                let finding = match kind {
                    UrlKind::Empty => Finding::warning(at, "empty `url()` removed"),
                    UrlKind::Data => Finding::warning(at, "`data:` URL that holds no image or font removed"),
                    UrlKind::Remote => Finding::warning(
                        at,
                        format!("remote '{value}' is not embedded (folio works offline); its rule is removed"),
                    ),
                    UrlKind::Local => Finding::error(at, format!("'{value}' is outside the book folder")),
                    _ => Finding::warning(at, format!("URL '{value}' removed: e-books carry no scripts")),
                };
                (Verdict::Drop, Some((finding, None)))
            }
        }
    };
    if let Some((finding, hint)) = note {
        sheet.note(source, finding, hint);
    }
    verdict
}

/// A relative URL: a font of `[epub] fonts` where the package keeps it, else a file beside the stylesheet.
fn relative_url(
    root: &ReadRoot,
    source: &SourceText,
    here: &Path,
    url: &Url<'_>,
    relative: &str,
    fonts: &mut BTreeMap<PathBuf, String>,
    sheet: &mut Stylesheet,
) -> (Verdict, Option<(Finding, Option<&'static str>)>) {
    let at = url.offset;
    let decoded = percent_decode(relative);
    // Where the guide says to point: a font of `[epub] fonts`, seen from `css/`.
    if let Some(packaged) = normalize_relative(Path::new(PACKAGE_CSS_DIR), Path::new(&decoded))
        && fonts.values().any(|href| Path::new(href) == packaged)
    {
        return (Verdict::Keep, None);
    }
    let Some(target) = normalize_relative(here, Path::new(&decoded)) else {
        return (
            Verdict::Drop,
            Some((Finding::error(at, format!("'{}' is outside the book folder", url.value)), None)),
        );
    };
    if let Some(href) = fonts.get(&target) {
        return (Verdict::Replace(format!("../{href}")), None);
    }
    let shown = root.display_path(&target);
    let data = match root.read(&target) {
        Ok(data) => data,
        Err(e) => {
            let error = Finding::error(at, format!("cannot read '{}': {e}", shown.display()));
            return (Verdict::Drop, Some((error, e.hint())));
        }
    };
    if let Some(media_type) = sniff_font(&data) {
        let href = format!("fonts/{}", asset_name(&target));
        fonts.insert(target.clone(), href.clone());
        sheet.fonts.push((target, source.location(url.offset), Asset { href: href.clone(), media_type, data }));
        (Verdict::Replace(format!("../{href}")), None)
    } else if sniff_image(&data).is_some() {
        let href = format!("../{}", super::image_href(&asset_name(&target)));
        if !sheet.images.iter().any(|(path, _)| *path == target) {
            sheet.images.push((target, source.location(url.offset)));
        }
        (Verdict::Replace(href), None)
    } else {
        let message = format!("'{}' is neither a font nor a PNG, JPEG, GIF, WebP or SVG image", shown.display());
        (Verdict::Drop, Some((Finding::error(at, message), None)))
    }
}
