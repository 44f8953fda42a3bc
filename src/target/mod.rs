//! Targets: the reader a book is built for, and what folio changes for it.
//!
//! - `epub`, the default: the standard EPUB 3 folio writes for every reader; nothing changes.
//! - `kobo`: a `.kepub.epub`, each page carrying Kobo's span markup and note conventions ([`kobo`]),
//!   its formulas' MathML an image of each as fallback ([`Formulas`]).
//! - `kindle`: an EPUB tuned for Send to Kindle ([`kindle`]).
//!
//! Page bodies are adapted as they are framed, right after rendering, so chapters are adapted in
//! parallel and cached per target; package-wide differences (cover page, metadata, guide, depth of
//! the contents, stylesheet) are decided here and applied by [`crate::package`]. Every target's
//! package passes folio's own check and EPUBCheck like the default.

pub mod kindle;
pub mod kobo;

use std::borrow::Cow;

/// The reader a book is built for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Target {
    /// A standard EPUB 3 for any reader (`<slug>.epub`).
    #[default]
    Epub,
    /// A Kobo kepub: reading statistics, highlights and popup notes on Kobo (`<slug>.kepub.epub`).
    Kobo,
    /// An EPUB tuned for Send to Kindle (`<slug>.kindle.epub`).
    Kindle,
}

impl Target {
    /// The target's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Target::Epub => "epub",
            Target::Kobo => "kobo",
            Target::Kindle => "kindle",
        }
    }

    /// The end of the default output file's name: Kobo's readers recognise a kepub by `.kepub.epub`.
    pub fn extension(self) -> &'static str {
        match self {
            Target::Epub => "epub",
            Target::Kobo => "kepub.epub",
            Target::Kindle => "kindle.epub",
        }
    }

    /// A page's body (chapter or generated page) as this target writes it.
    pub fn body(self, body: &str) -> Cow<'_, str> {
        match self {
            Target::Kobo => Cow::Owned(kobo::body(body)),
            Target::Epub | Target::Kindle => Cow::Borrowed(body),
        }
    }

    /// What this target adds to a page's head.
    pub fn head(self) -> &'static str {
        match self {
            Target::Kobo => kobo::HEAD,
            Target::Epub | Target::Kindle => "",
        }
    }

    /// The reader's name, as diagnostics about what this target changes give it.
    pub fn reader(self) -> &'static str {
        match self {
            Target::Epub => "EPUB readers",
            Target::Kobo => "Kobo",
            Target::Kindle => "Kindle",
        }
    }

    /// How TeX formulas are written for this reader (see [`crate::render::math_image`]).
    pub fn formulas(self) -> Formulas {
        match self {
            Target::Epub => Formulas::MathMl,
            Target::Kobo => Formulas::MathMlAndImage,
            Target::Kindle => Formulas::Image,
        }
    }

    /// Whether the cover image also gets a page of its own.
    pub fn cover_page(self) -> bool {
        self != Target::Kindle
    }

    /// How many levels the table of contents may have, if it is limited.
    pub fn toc_levels(self) -> Option<usize> {
        (self == Target::Kindle).then_some(kindle::TOC_LEVELS)
    }

    /// The default stylesheet as this target ships it.
    pub fn default_stylesheet(self, base: &'static str, right_to_left: bool) -> Cow<'static, str> {
        match self {
            Target::Kindle => Cow::Owned(kindle::stylesheet(base, right_to_left)),
            Target::Epub | Target::Kobo => Cow::Borrowed(base),
        }
    }

    /// Whether the package document gives only the main title, without the subtitle's.
    pub fn single_title(self) -> bool {
        self == Target::Kindle
    }

    /// The EPUB 2 `<guide>` type this target gives a landmark (`toc`, `bodymatter`, …), if any; with
    /// none for every landmark, the package has no guide.
    pub fn guide_type(self, landmark: &str) -> Option<&'static str> {
        match self {
            Target::Kindle => kindle::guide_type(landmark),
            Target::Epub | Target::Kobo => None,
        }
    }
}

/// How a target writes a TeX formula.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Formulas {
    /// As MathML, which EPUB 3 carries.
    MathMl,
    /// As MathML whose `altimg` is a PNG of the formula, for Kobo's apps that lack MathML (Kobo's
    /// guidelines, checked 2026-12-07: all but the Windows app lay it out).
    MathMlAndImage,
    /// As a PNG instead of MathML, which Kindle's guidelines do not list.
    Image,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
