//! Stage 5b, fonts: each font the book embeds, cut down to the characters the book shows.
//!
//! A subset stays a complete font for those characters, so that readers can use it as they use the
//! original: HarfBuzz's subsetter (the `folio-hb-subset` crate) keeps cmap, metrics, names, OS/2, post,
//! hinting, kerning, ligatures and variations for the glyphs it keeps. It and the WOFF2 encoder are C++ and
//! come with the cargo feature `subset-fonts` (on by default); a folio built without it embeds fonts whole,
//! with a warning. Procedure, run once the package's documents are checked:
//!
//! 1. [`Wanted`]: every character of the package's XHTML text (collected as each document is checked,
//!    [`crate::document::Document::characters`]), what the stylesheets may draw themselves and the features
//!    they name ([`css`]).
//! 2. Per font, in parallel, or from the cache under a hash of the font's bytes and of [`Wanted`]: a WOFF or
//!    WOFF2 font is unwrapped to its sfnt font ([`woff`]); its OS/2 embedding flags are honoured
//!    ([`sfnt`]); HarfBuzz subsets it; the subset goes back into the format the font came in, so the
//!    book's `@font-face` rules still name the right file and format.
//! 3. A font that cannot be subset, or does not allow it, is embedded whole, with a warning at its line in
//!    book.toml. folio never embeds a font it has made worse.

pub mod css;
pub mod sfnt;
pub mod woff;

use crate::cache::Cache;
use crate::diagnostic::{Diagnostic, Location};
use crate::text::CharSet;
#[cfg(feature = "subset-fonts")]
use crate::{cache, document::Bytes};
#[cfg(feature = "subset-fonts")]
use folio_hb_subset as harfbuzz;

/// What every subset keeps: the characters and the OpenType features beyond HarfBuzz's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Wanted {
    characters: CharSet,
    features: Vec<[u8; 4]>,
}

impl Wanted {
    /// The characters of the documents' texts (each [`crate::document::Document::characters`]) and what the
    /// stylesheets may draw.
    pub fn new<'a>(texts: impl IntoIterator<Item = &'a str>, stylesheets: &[&str]) -> Self {
        let mut characters = CharSet::default();
        for text in texts {
            characters.insert_str(text);
        }
        let features = css::generated(stylesheets, &mut characters);
        Self { characters, features }
    }

    /// The characters kept.
    pub fn characters(&self) -> &CharSet {
        &self.characters
    }
}

/// A font of the book, as book.toml names it.
#[derive(Debug, Clone)]
pub struct FontFile<'a> {
    /// The path to show in messages (`book/fonts/Text.ttf`).
    pub shown: &'a str,
    /// Its media type (`font/ttf`, `font/otf`, `font/woff`, `font/woff2`).
    pub media_type: &'a str,
    /// Where book.toml names it.
    pub location: &'a Location,
}

/// A font ready for the package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Embedded {
    /// Its bytes: the subset, or the font as it was.
    pub data: Vec<u8>,
    /// Why it is embedded whole, if it is.
    pub warning: Option<Diagnostic>,
}

/// Subsets one font to what the book wants, or says why it stays whole; never fails.
#[cfg(feature = "subset-fonts")]
pub fn subset(font: &FontFile<'_>, data: Vec<u8>, wanted: &Wanted, cache: Option<&Cache>) -> Embedded {
    let key =
        || cache::key(&[&data, wanted.characters.iter().collect::<String>().as_bytes(), &wanted.features.concat()]);
    // Cached: whether the font forbids subsetting, and the subset, empty when it is no smaller.
    let made = cache::cached(cache, key, || {
        let (subset, restricted) = cut(font, &data, wanted)?;
        // A font made no smaller (one already cut down, say) is better left as its author made it.
        let subset = if subset.len() < data.len() { subset } else { Vec::new() };
        Ok((restricted, Bytes::from(subset)))
    });
    match made {
        Ok((restricted, subset)) => {
            let data = if subset.is_empty() { data } else { subset.into_vec() };
            Embedded { data, warning: restricted.then(|| restricted_warning(font)) }
        }
        Err(warning) => Embedded { data, warning: Some(warning) },
    }
}

/// A folio built without the cargo feature `subset-fonts` embeds every font whole, and says so.
#[cfg(not(feature = "subset-fonts"))]
pub fn subset(font: &FontFile<'_>, data: Vec<u8>, _wanted: &Wanted, _cache: Option<&Cache>) -> Embedded {
    let warning = font
        .location
        .warning(format!("font '{}' is embedded whole: this folio was built without font subsetting", font.shown))
        .with_hint("build folio with its default features (cargo feature `subset-fonts`), or set `subset-fonts = false` under [epub]");
    Embedded { data, warning: Some(warning) }
}

/// Unwraps, checks the embedding flags, subsets and wraps back: the subset and whether the font's licence
/// flags restrict embedding, or a warning when a step fails.
#[cfg(feature = "subset-fonts")]
fn cut(font: &FontFile<'_>, data: &[u8], wanted: &Wanted) -> Result<(Vec<u8>, bool), Diagnostic> {
    let whole = |why: &str| font.location.warning(format!("font '{}' is embedded whole: {why}", font.shown));
    let mut woff1_extras = woff::Woff1Extras::default();
    let sfnt = match font.media_type {
        "font/woff" => woff::woff1_to_sfnt(data).map(|(sfnt, extras)| {
            woff1_extras = extras;
            sfnt
        }),
        "font/woff2" => woff::woff2_to_sfnt(data),
        _ => Some(data.to_vec()),
    };
    let Some(sfnt) = sfnt else { return Err(whole("it is not a valid WOFF file")) };
    let embedding = sfnt::embedding(&sfnt);
    if embedding.no_subsetting {
        return Err(whole("its licence flags (OS/2 fsType) forbid subsetting")
            .with_hint("check that its licence allows embedding it in an e-book at all"));
    }
    let subset = harfbuzz::subset(&sfnt, wanted.characters.iter(), &wanted.features).map_err(|failure| {
        whole(match failure {
            harfbuzz::Failure::NotAFont => "HarfBuzz finds no glyphs in it; is it a valid font?",
            harfbuzz::Failure::Failed => "HarfBuzz could not subset it",
        })
    })?;
    let wrapped = match font.media_type {
        "font/woff" => woff::sfnt_to_woff1(&subset, &woff1_extras),
        "font/woff2" => woff::sfnt_to_woff2(&subset),
        _ => Some(subset),
    };
    let wrapped = wrapped.ok_or_else(|| whole("its subset could not be compressed again"))?;
    Ok((wrapped, embedding.restricted))
}

#[cfg(feature = "subset-fonts")]
fn restricted_warning(font: &FontFile<'_>) -> Diagnostic {
    font.location
        .warning(format!("font '{}' is marked \"restricted licence embedding\" (OS/2 fsType)", font.shown))
        .with_hint("embed it only if its licence allows it; most commercial licences need a separate e-book licence")
}
