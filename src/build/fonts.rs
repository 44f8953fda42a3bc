//! Embedded fonts cut down to the characters the finished documents show.

use rayon::prelude::*;

use crate::diagnostic::{Diagnostic, Location};
use crate::document::Epub;
use crate::{cache, fonts, package};

/// A font of the book: its package path, how to show it, where book.toml names it, its size.
pub(crate) struct FontFile {
    pub(crate) href: String,
    pub(crate) shown: String,
    pub(crate) location: Location,
    pub(crate) size: u64,
}

/// Replaces each font of the package with its subset, in parallel; returns the fonts' bytes before and after.
pub(crate) fn subset_fonts(
    epub: &mut Epub,
    fonts: &[FontFile],
    documents: &[(String, crate::document::Document)],
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
            && let crate::document::Entry::Plain(data) = &mut epub.files[i].1
        {
            let media_type = crate::media::sniff_font(data).unwrap_or_default();
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
        epub.files[i].1 = crate::document::Entry::Plain(font.data);
    }
    (before, after)
}
