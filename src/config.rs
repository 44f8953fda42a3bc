//! Stage 1a, load: `book.toml` → [`BookConfig`].
//!
//! `[book]` takes mdBook's keys so existing mdBooks build unchanged; `[epub]` is folio's own
//! table and strict. The file is read twice, cheaply: once as a span-carrying table to find
//! every unknown key (all are reported, not just the first), once with serde into typed fields.

use std::ops::Range;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::diagnostic::{Diagnostic, SourceText};
use crate::text::did_you_mean;

/// A value from `book.toml` with the byte range it came from, for later diagnostics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located<T> {
    /// The value.
    pub value: T,
    /// Its byte range in `book.toml`.
    pub range: Range<usize>,
}

impl<T> Located<T> {
    fn from_spanned(s: Spanned<T>) -> Self {
        let range = s.span();
        Self { value: s.into_inner(), range }
    }
}

/// How footnotes are numbered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default, Hash)]
#[serde(rename_all = "lowercase")]
pub enum FootnoteNumbering {
    /// Numbers restart at 1 in every chapter (the default).
    #[default]
    Chapter,
    /// One sequence across the whole book.
    Book,
}

/// `[epub] max-image-pixels` when not given: Apple Books asks that images inside a book have no more
/// than 4 million pixels, the strictest of the stores' limits (see the README).
pub const DEFAULT_MAX_PIXELS: u64 = 4_000_000;

/// How hard folio works at making images smaller without changing a pixel (`[epub] optimize-images`).
/// Scaling down to `max-image-pixels` is another setting, done at every effort.
///
/// Measured on real screenshots, diagrams and photos (see the guide's "Images"): `fast` gets most of
/// what `max` saves in a small part of its time, so a clean build pays for it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Effort {
    /// Images are packaged as they are.
    None,
    /// One cheap lossless try for each PNG, kept when it saves enough, and JPEG metadata no reader shows
    /// dropped.
    #[default]
    Fast,
    /// oxipng's most thorough search, for release builds.
    Max,
}

/// A person credited in the book with a MARC relator role (`aut`, `edt`, `trl`, `ill`, …).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Hash)]
#[serde(deny_unknown_fields)]
pub struct Contributor {
    /// The name as it should be shown.
    pub name: String,
    /// MARC relator code.
    pub role: String,
}

/// The calendar date of publication, with the precision the author gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BookDate {
    /// The first instant of that date, UTC, in seconds since the Unix epoch.
    pub unix_seconds: i64,
    /// As written for `dc:date`: `YYYY`, `YYYY-MM` or `YYYY-MM-DD`.
    pub precision: DatePrecision,
}

/// How much of a date was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DatePrecision {
    /// `YYYY`.
    Year,
    /// `YYYY-MM`.
    Month,
    /// `YYYY-MM-DD` (or a full TOML date-time, truncated to its day).
    Day,
}

impl BookDate {
    /// `dc:date` form at the precision given.
    pub fn to_w3cdtf(self) -> String {
        let date = time::OffsetDateTime::from_unix_timestamp(self.unix_seconds).expect("validated on load").date();
        match self.precision {
            DatePrecision::Year => format!("{:04}", date.year()),
            DatePrecision::Month => format!("{:04}-{:02}", date.year(), date.month() as u8),
            DatePrecision::Day => format!("{:04}-{:02}-{:02}", date.year(), date.month() as u8, date.day()),
        }
    }
}

/// Everything `book.toml` says, validated.
#[derive(Debug, Clone)]
pub struct BookConfig {
    /// `[book] title`.
    pub title: String,
    /// `[epub] subtitle`.
    pub subtitle: Option<String>,
    /// `[book] authors`.
    pub authors: Vec<String>,
    /// `[epub] contributors`: other people with their roles.
    pub contributors: Vec<Contributor>,
    /// `[book] description`.
    pub description: Option<String>,
    /// `[book] language`, a BCP 47 tag.
    pub language: String,
    /// `[book] src`, relative to the book folder.
    pub src: PathBuf,
    /// `[book] text-direction = "rtl"`.
    pub right_to_left: bool,
    /// `[epub] identifier`, when given.
    pub identifier: Option<String>,
    /// `[epub] isbn`, normalised to its digits (and a final X for ISBN-10).
    pub isbn: Option<String>,
    /// `[epub] publisher`.
    pub publisher: Option<String>,
    /// `[epub] date`.
    pub date: Option<BookDate>,
    /// `[epub] rights`.
    pub rights: Option<String>,
    /// `[epub] subjects`.
    pub subjects: Vec<String>,
    /// `[epub] series`.
    pub series: Option<String>,
    /// `[epub] series-index`.
    pub series_index: Option<u32>,
    /// `[epub] cover`: a file, a generated cover, or none.
    pub cover: Cover,
    /// `[epub] stylesheets`, relative to the book folder, added after the default.
    pub stylesheets: Vec<Located<PathBuf>>,
    /// `[epub] default-stylesheet = false` leaves folio's stylesheet out.
    pub default_stylesheet: bool,
    /// `[epub] fonts`, relative to the book folder.
    pub fonts: Vec<Located<PathBuf>>,
    /// `[epub] subset-fonts = false` embeds fonts whole instead of cut down to the characters the book uses.
    pub subset_fonts: bool,
    /// `[epub] toc-depth`: heading levels shown in the table of contents (1–6).
    pub toc_depth: u8,
    /// `[epub] footnote-numbering`.
    pub footnote_numbering: FootnoteNumbering,
    /// `[epub] smart-punctuation`.
    pub smart_punctuation: bool,
    /// `[epub] section-numbers`: number the SUMMARY's numbered chapters in the contents, as mdBook does.
    pub section_numbers: bool,
    /// `[epub] highlight = false` leaves code blocks without syntax colours.
    pub highlight: bool,
    /// `[epub] math = true`: `$…$` and `$$…$$` are TeX formulas, written as MathML.
    pub math: bool,
    /// mdBook's `[output.html] mathjax-support = true`: `\\( … \\)` and `\\[ … \\]` in the Markdown
    /// are TeX formulas, written as MathML.
    pub mathjax_delimiters: bool,
    /// `[epub] sources`: the citation sources file, relative to the book folder.
    pub sources: Option<Located<PathBuf>>,
    /// `[epub] base-url`: where the book lives online; links out of the book are made absolute under it.
    pub base_url: Option<String>,
    /// `[epub] max-image-pixels`: larger PNG and JPEG images are scaled down to it; `None` keeps every size.
    pub max_image_pixels: Option<u64>,
    /// `[epub] optimize-images`: how hard images are made smaller without loss.
    pub optimize_images: Effort,
    /// The `[preprocessor.*]` tables other than mdBook's built-in ones, which `folio build` does not run.
    pub preprocessors: Vec<Located<String>>,
    /// Where paths taken from mdbook-epub's `[output.epub]` are written: mdbook-epub looks for them in
    /// the `src` folder first (see [`BookConfig::resolve_mdbook_epub_paths`]).
    pub mdbook_epub_paths: Vec<Range<usize>>,
    /// Where the text the generated cover shows is written in `book.toml`.
    pub cover_text_ranges: CoverTextRanges,
}

/// Where the book's cover comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cover {
    /// `cover = "cover.png"`: an image in the book folder, used as it is.
    File(Located<PathBuf>),
    /// No `cover` key (or `cover = true`): folio draws a typographic cover from the metadata.
    Generated,
    /// `cover = false`: the book has no cover.
    Omitted,
}

/// Byte ranges in `book.toml` of the keys whose text the generated cover shows, for warnings about it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CoverTextRanges {
    /// `[book] title`.
    pub title: Range<usize>,
    /// `[epub] subtitle`.
    pub subtitle: Option<Range<usize>>,
    /// `[book] authors`.
    pub authors: Option<Range<usize>>,
    /// `[epub] publisher`.
    pub publisher: Option<Range<usize>>,
}

impl BookConfig {
    /// mdbook-epub looks for the files `[output.epub]` names in the `src` folder first, then in the book
    /// folder; `exists` tells whether a file (relative to the book folder) is there.
    pub fn resolve_mdbook_epub_paths(&mut self, exists: impl Fn(&std::path::Path) -> bool) {
        let src = self.src.clone();
        let ranges = std::mem::take(&mut self.mdbook_epub_paths);
        let resolve = |file: &mut Located<PathBuf>| {
            if ranges.contains(&file.range) && exists(&src.join(&file.value)) {
                file.value = src.join(&file.value);
            }
        };
        let cover = match &mut self.cover {
            Cover::File(file) => Some(file),
            Cover::Generated | Cover::Omitted => None,
        };
        cover.into_iter().chain(&mut self.stylesheets).chain(&mut self.fonts).for_each(resolve);
    }

    /// True when the book embeds fonts and they are to be cut down to the characters it uses.
    pub fn subsets_fonts(&self) -> bool {
        self.subset_fonts && !self.fonts.is_empty()
    }
}

#[derive(Deserialize, Default)]
struct RawFile {
    #[serde(default)]
    book: RawBook,
    epub: Option<RawEpub>,
    #[serde(default)]
    output: RawOutput,
}

/// mdBook's `[output.*]` tables that folio reads.
#[derive(Deserialize, Default)]
struct RawOutput {
    /// folio's own table when folio runs as mdBook's renderer (mdBook refuses an unknown `[epub]`).
    folio: Option<RawEpub>,
    /// mdbook-epub's table.
    epub: Option<MdbookEpub>,
    /// mdBook's own HTML renderer's table.
    html: Option<MdbookHtml>,
}

/// The key of mdBook's `[output.html]` that changes what the Markdown means.
#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
struct MdbookHtml {
    mathjax_support: Option<bool>,
}

/// The keys of mdbook-epub's `[output.epub]` that mean the same for folio.
#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
struct MdbookEpub {
    cover_image: Option<Spanned<PathBuf>>,
    #[serde(default)]
    additional_css: Vec<Spanned<PathBuf>>,
    #[serde(default)]
    additional_resources: Vec<Spanned<PathBuf>>,
    use_default_css: Option<bool>,
    curly_quotes: Option<bool>,
    no_section_label: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
struct RawBook {
    title: Option<Spanned<String>>,
    authors: Option<Spanned<Vec<String>>>,
    description: Option<String>,
    language: Option<Spanned<String>>,
    src: Option<String>,
    text_direction: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
struct RawEpub {
    identifier: Option<Spanned<String>>,
    isbn: Option<Spanned<String>>,
    subtitle: Option<Spanned<String>>,
    publisher: Option<Spanned<String>>,
    date: Option<Spanned<toml::Value>>,
    rights: Option<String>,
    #[serde(default)]
    subjects: Vec<String>,
    series: Option<String>,
    series_index: Option<u32>,
    #[serde(default)]
    contributors: Vec<Contributor>,
    cover: Option<Spanned<toml::Value>>,
    #[serde(default)]
    stylesheets: Vec<Spanned<PathBuf>>,
    default_stylesheet: Option<bool>,
    #[serde(default)]
    fonts: Vec<Spanned<PathBuf>>,
    subset_fonts: Option<bool>,
    toc_depth: Option<Spanned<i64>>,
    #[serde(default)]
    footnote_numbering: FootnoteNumbering,
    smart_punctuation: Option<bool>,
    section_numbers: Option<bool>,
    highlight: Option<bool>,
    math: Option<bool>,
    sources: Option<Spanned<PathBuf>>,
    base_url: Option<Spanned<String>>,
    max_image_pixels: Option<Spanned<toml::Value>>,
    #[serde(default)]
    optimize_images: Effort,
}

/// Keys mdBook knows in `[book]`; others get a warning.
const BOOK_KEYS: &[&str] = &["title", "authors", "description", "language", "src", "multilingual", "text-direction"];
/// Keys of folio's strict `[epub]` table.
const EPUB_KEYS: &[&str] = &[
    "identifier",
    "isbn",
    "subtitle",
    "publisher",
    "date",
    "rights",
    "subjects",
    "series",
    "series-index",
    "contributors",
    "cover",
    "stylesheets",
    "default-stylesheet",
    "fonts",
    "subset-fonts",
    "toc-depth",
    "footnote-numbering",
    "smart-punctuation",
    "section-numbers",
    "highlight",
    "math",
    "sources",
    "base-url",
    "max-image-pixels",
    "optimize-images",
];
/// mdBook's other tables: accepted and ignored.
const MDBOOK_TABLES: &[&str] = &["output", "preprocessor", "rust", "build"];
/// Keys mdBook itself reads in every `[output.*]` table.
const RENDERER_KEYS: &[&str] = &["command", "optional"];
/// mdbook-epub's keys that folio honours; its others are warned about.
const MDBOOK_EPUB_KEYS: &[&str] =
    &["cover-image", "additional-css", "additional-resources", "use-default-css", "curly-quotes", "no-section-label"];
/// mdbook-epub's keys that need no warning: folio always does what they ask for.
const MDBOOK_EPUB_MOOT: &[&str] = &["footnote-backrefs"];
/// mdBook's own preprocessors, whose work folio does itself.
const BUILTIN_PREPROCESSORS: &[&str] = &["links", "index"];

/// Reads and validates `book.toml`. Returns the config when there is no error, and every diagnostic found.
pub fn load(source: &SourceText) -> (Option<BookConfig>, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let tree = match DeTable::parse(&source.text) {
        Ok(tree) => tree,
        Err(e) => {
            diags.push(toml_error(source, &e));
            return (None, diags);
        }
    };
    let preprocessors = check_keys(source, tree.get_ref(), &mut diags);
    let raw: RawFile = match toml::from_str(&source.text) {
        Ok(raw) => raw,
        Err(e) => {
            diags.push(toml_error(source, &e));
            return (None, diags);
        }
    };
    let config = validate(source, raw, preprocessors, &mut diags);
    if diags.iter().any(Diagnostic::is_error) {
        return (None, diags);
    }
    (config, diags)
}

fn toml_error(source: &SourceText, e: &toml::de::Error) -> Diagnostic {
    let message = format!("invalid book.toml: {}", e.message().trim_end().trim_end_matches('.'));
    match e.span() {
        Some(span) => source.error(span, message),
        None => Diagnostic::error(&source.path, message),
    }
}

/// Reports unknown keys (errors in `[epub]` and `[output.folio]`, warnings elsewhere); returns the
/// preprocessors configured, other than mdBook's built-in ones.
fn check_keys(source: &SourceText, tree: &DeTable<'_>, diags: &mut Vec<Diagnostic>) -> Vec<Located<String>> {
    let mut preprocessors = Vec::new();
    for (key, value) in tree {
        let name = key.get_ref().as_ref();
        match (name, value.get_ref()) {
            ("book", DeValue::Table(t)) => {
                for k in t.keys().filter(|k| !BOOK_KEYS.contains(&k.get_ref().as_ref())) {
                    let d = source.warning(k.span(), format!("unknown key `{}` in [book] is ignored", k.get_ref()));
                    diags.push(with_suggestion(d, k.get_ref(), BOOK_KEYS, ("epub", EPUB_KEYS)));
                }
            }
            ("epub", DeValue::Table(t)) => {
                for k in t.keys().filter(|k| !EPUB_KEYS.contains(&k.get_ref().as_ref())) {
                    let d = source.error(k.span(), format!("unknown key `{}` in [epub]", k.get_ref()));
                    diags.push(with_suggestion(d, k.get_ref(), EPUB_KEYS, ("book", BOOK_KEYS)));
                }
            }
            ("preprocessor", DeValue::Table(t)) => preprocessors.extend(
                t.keys()
                    .filter(|k| !BUILTIN_PREPROCESSORS.contains(&k.get_ref().as_ref()))
                    .map(|k| Located { value: k.get_ref().to_string(), range: k.span() }),
            ),
            ("output", DeValue::Table(outputs)) => check_output_keys(source, outputs, diags),
            (name, _) if MDBOOK_TABLES.contains(&name) || name == "book" || name == "epub" => {}
            (name, _) => diags.push(source.warning(key.span(), format!("unknown table `{name}` is ignored"))),
        }
    }
    preprocessors
}

/// `[output.folio]` is as strict as `[epub]`; in mdbook-epub's `[output.epub]`, keys that mean nothing
/// to folio get a warning.
fn check_output_keys(source: &SourceText, outputs: &DeTable<'_>, diags: &mut Vec<Diagnostic>) {
    let table = |name: &str| match outputs.get(name).map(Spanned::get_ref) {
        Some(DeValue::Table(t)) => Some(t),
        _ => None,
    };
    for k in table("folio").into_iter().flat_map(|t| t.keys()) {
        let name = k.get_ref().as_ref();
        if !EPUB_KEYS.contains(&name) && !RENDERER_KEYS.contains(&name) {
            let d = source.error(k.span(), format!("unknown key `{name}` in [output.folio]"));
            diags.push(with_suggestion(d, name, EPUB_KEYS, ("book", BOOK_KEYS)));
        }
    }
    for k in table("epub").into_iter().flat_map(|t| t.keys()) {
        let name = k.get_ref().as_ref();
        let known = [MDBOOK_EPUB_KEYS, MDBOOK_EPUB_MOOT, RENDERER_KEYS].iter().any(|keys| keys.contains(&name));
        if !known {
            let message = format!("mdbook-epub's `{name}` in [output.epub] means nothing to folio and is ignored");
            let hint = format!("folio honours {} there", MDBOOK_EPUB_KEYS.join(", "));
            diags.push(source.warning(k.span(), message).with_hint(hint));
        }
    }
}

/// Folds mdbook-epub's `[output.epub]` into folio's table, where folio's table does not say otherwise;
/// returns where its paths are written. Resources other than fonts are not packaged: folio packages the
/// images the chapters use.
fn fold_mdbook_epub(
    source: &SourceText,
    epub: &mut RawEpub,
    mdbook_epub: MdbookEpub,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Range<usize>> {
    let mut paths = Vec::new();
    if let Some(cover) = mdbook_epub.cover_image.filter(|_| epub.cover.is_none()) {
        paths.push(cover.span());
        let text = cover.get_ref().to_string_lossy().into_owned();
        epub.cover = Some(Spanned::new(cover.span(), toml::Value::String(text)));
    }
    paths.extend(mdbook_epub.additional_css.iter().map(Spanned::span));
    epub.stylesheets.extend(mdbook_epub.additional_css);
    for resource in mdbook_epub.additional_resources {
        let extension = resource.get_ref().extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        if ["ttf", "otf", "woff", "woff2"].contains(&extension.as_str()) {
            paths.push(resource.span());
            epub.fonts.push(resource);
        } else {
            let message =
                format!("additional resource '{}' is not a font and is not packaged", resource.get_ref().display());
            let hint = "folio packages the images chapters use; list fonts here or under `fonts`";
            diags.push(source.warning(resource.span(), message).with_hint(hint));
        }
    }
    epub.default_stylesheet = epub.default_stylesheet.or(mdbook_epub.use_default_css);
    epub.smart_punctuation = epub.smart_punctuation.or(mdbook_epub.curly_quotes);
    epub.section_numbers = epub.section_numbers.or(mdbook_epub.no_section_label.map(|no| !no));
    paths
}

const NO_AUTHOR: &str = "the book has no author";

/// Adds a hint when `key` belongs to the other table or is a near miss of one of `known`.
fn with_suggestion(d: Diagnostic, key: &str, known: &[&str], (other, other_keys): (&str, &[&str])) -> Diagnostic {
    if other_keys.contains(&key) {
        return d.with_hint(format!("`{key}` belongs under [{other}]"));
    }
    match did_you_mean(key, known.iter().copied()) {
        Some(best) => d.with_hint(format!("did you mean `{best}`?")),
        None => d,
    }
}

fn validate(
    source: &SourceText,
    raw: RawFile,
    preprocessors: Vec<Located<String>>,
    diags: &mut Vec<Diagnostic>,
) -> Option<BookConfig> {
    let RawFile { book, epub, output } = raw;
    if epub.is_some() && output.folio.is_some() {
        let at = source.text.find("[output.folio]").unwrap_or(0);
        diags.push(
            source
                .error(at..at, "book.toml has both [epub] and [output.folio]; folio reads one of them")
                .with_hint("mdBook refuses [epub], so keep [output.folio] when folio runs as mdBook's renderer"),
        );
    }
    let mut epub = epub.or(output.folio).unwrap_or_default();
    let mathjax_delimiters = output.html.and_then(|html| html.mathjax_support);
    let mdbook_epub_paths = output.epub.map(|m| fold_mdbook_epub(source, &mut epub, m, diags)).unwrap_or_default();
    let title_range = book.title.as_ref().map_or(0..0, Spanned::span);
    let title = match book.title {
        Some(t) if !t.get_ref().trim().is_empty() => t.into_inner(),
        Some(t) => {
            diags.push(source.error(t.span(), "the book title is empty"));
            String::new()
        }
        None => {
            diags.push(
                Diagnostic::error(&source.path, "the book has no title").with_hint("add `title = \"…\"` under [book]"),
            );
            String::new()
        }
    };
    let language = match book.language {
        Some(lang) => {
            if oxilangtag::LanguageTag::parse(lang.get_ref().as_str()).is_err() {
                diags.push(
                    source
                        .error(lang.span(), format!("`{}` is not a valid BCP 47 language tag", lang.get_ref()))
                        .with_hint("use a tag such as `en`, `en-GB`, `de` or `zh-Hant`"),
                );
            }
            lang.into_inner()
        }
        None => "en".to_string(),
    };
    let right_to_left = match book.text_direction {
        Some(dir) => match dir.get_ref().as_str() {
            "rtl" => true,
            "ltr" => false,
            other => {
                diags.push(
                    source.error(dir.span(), format!("text-direction must be \"ltr\" or \"rtl\", not \"{other}\"")),
                );
                false
            }
        },
        None => false,
    };
    let isbn = epub.isbn.and_then(|isbn| match normalize_isbn(isbn.get_ref()) {
        Some(n) => Some(n),
        None => {
            diags.push(
                source
                    .error(
                        isbn.span(),
                        format!("`{}` is not a valid ISBN (wrong length or check digit)", isbn.get_ref()),
                    )
                    .with_hint("an ISBN has 13 digits (or 10, the last may be X); hyphens and spaces are allowed"),
            );
            None
        }
    });
    let identifier = epub.identifier.and_then(|id| {
        let text = id.get_ref().trim();
        let bad_uuid = text.get(..9).is_some_and(|p| p.eq_ignore_ascii_case("urn:uuid:"))
            && uuid::Uuid::parse_str(&text[9..]).is_err();
        if text.is_empty() {
            diags.push(source.error(id.span(), "the identifier is empty"));
            None
        } else if bad_uuid {
            let d = source.error(id.span(), format!("`{text}` is not a valid urn:uuid identifier"));
            diags
                .push(d.with_hint("leave `identifier` out and folio derives a stable UUID from the title and authors"));
            None
        } else {
            Some(id.into_inner())
        }
    });
    let date = epub.date.and_then(|d| match parse_date(d.get_ref()) {
        Some(date) => Some(date),
        None => {
            diags.push(
                source
                    .error(d.span(), "invalid date")
                    .with_hint("write the date as \"YYYY\", \"YYYY-MM\" or \"YYYY-MM-DD\""),
            );
            None
        }
    });
    let toc_depth = match epub.toc_depth {
        Some(depth) if (1..=6).contains(depth.get_ref()) => *depth.get_ref() as u8,
        Some(depth) => {
            diags.push(source.error(depth.span(), "toc-depth must be between 1 and 6"));
            2
        }
        None => 2,
    };
    let base_url = epub.base_url.and_then(|url| {
        if crate::text::is_web_url(url.get_ref()) {
            Some(url.into_inner().trim_end_matches('/').to_string())
        } else {
            diags.push(source.error(url.span(), "base-url must be an absolute http:// or https:// URL"));
            None
        }
    });
    let max_image_pixels = match epub.max_image_pixels {
        None => Some(DEFAULT_MAX_PIXELS),
        Some(value) => match value.get_ref() {
            toml::Value::Boolean(true) => Some(DEFAULT_MAX_PIXELS),
            toml::Value::Integer(0) | toml::Value::Boolean(false) => None,
            toml::Value::Integer(n) if *n > 0 => Some(n.unsigned_abs()),
            _ => {
                diags.push(
                    source.error(value.span(), "max-image-pixels must be a number of pixels, or 0 or false").with_hint(
                        "4000000 (the default, also `true`) suits every store; 0 or false keeps images at their size",
                    ),
                );
                None
            }
        },
    };
    for c in &epub.contributors {
        if c.role.len() != 3 || !c.role.bytes().all(|b| b.is_ascii_lowercase()) {
            diags.push(
                Diagnostic::error(&source.path, format!("contributor role `{}` is not a MARC relator code", c.role))
                    .with_hint("use a three-letter code such as `edt`, `trl`, `ill` or `aut`"),
            );
        }
    }
    let subtitle = epub.subtitle.map(Located::from_spanned).filter(|s| !s.value.trim().is_empty());
    let authors = book.authors.map(Located::from_spanned);
    if authors.as_ref().is_none_or(|a| a.value.iter().all(|name| name.trim().is_empty())) {
        let d = match &authors {
            Some(a) => source.warning(a.range.clone(), NO_AUTHOR),
            None => Diagnostic::warning(&source.path, NO_AUTHOR),
        };
        // Reading systems file a book without a creator under "Unknown".
        diags.push(
            d.with_hint("add `authors = [\"Your Name\"]` under [book]; readers' libraries sort and show books by it"),
        );
    }
    let publisher = epub.publisher.map(Located::from_spanned);
    let cover_text_ranges = CoverTextRanges {
        title: title_range,
        subtitle: subtitle.as_ref().map(|s| s.range.clone()),
        authors: authors.as_ref().map(|a| a.range.clone()),
        publisher: publisher.as_ref().map(|p| p.range.clone()),
    };
    let cover = cover(source, epub.cover, diags);
    Some(BookConfig {
        title,
        subtitle: subtitle.map(|s| s.value),
        authors: authors.map(|a| a.value).unwrap_or_default(),
        contributors: epub.contributors,
        description: book.description.filter(|s| !s.trim().is_empty()),
        language,
        src: PathBuf::from(book.src.unwrap_or_else(|| "src".to_string())),
        right_to_left,
        identifier,
        isbn,
        publisher: publisher.map(|p| p.value),
        date,
        rights: epub.rights,
        subjects: epub.subjects,
        series: epub.series,
        series_index: epub.series_index,
        cover,
        stylesheets: local_files(source, epub.stylesheets, "stylesheet", diags),
        default_stylesheet: epub.default_stylesheet.unwrap_or(true),
        fonts: local_files(source, epub.fonts, "font", diags),
        subset_fonts: epub.subset_fonts.unwrap_or(true),
        toc_depth,
        footnote_numbering: epub.footnote_numbering,
        smart_punctuation: epub.smart_punctuation.unwrap_or(true),
        section_numbers: epub.section_numbers.unwrap_or(true),
        highlight: epub.highlight.unwrap_or(true),
        math: epub.math.unwrap_or(false),
        mathjax_delimiters: mathjax_delimiters.unwrap_or(false),
        sources: epub.sources.map(Located::from_spanned),
        base_url,
        max_image_pixels,
        optimize_images: epub.optimize_images,
        preprocessors,
        mdbook_epub_paths,
        cover_text_ranges,
    })
}

/// `cover = "file"` names an image; `false` leaves the cover out; `true`, like no key, asks for a generated one.
/// A remote file cannot be embedded, so the generated cover stands in for it.
fn cover(source: &SourceText, value: Option<Spanned<toml::Value>>, diags: &mut Vec<Diagnostic>) -> Cover {
    let Some(value) = value else { return Cover::Generated };
    let range = value.span();
    match value.into_inner() {
        toml::Value::String(path) => {
            local_files(source, vec![Spanned::new(range, PathBuf::from(path))], "cover", diags)
                .pop()
                .map_or(Cover::Generated, Cover::File)
        }
        toml::Value::Boolean(true) => Cover::Generated,
        toml::Value::Boolean(false) => Cover::Omitted,
        _ => {
            diags.push(
                source
                    .error(range, "cover must be a file name, or false for no cover")
                    .with_hint("write `cover = \"cover.png\"`; without the key folio generates a cover"),
            );
            Cover::Omitted
        }
    }
}

/// Keeps the files that live in the book folder; a URL gets a warning, since folio works offline.
fn local_files(
    source: &SourceText,
    files: Vec<Spanned<PathBuf>>,
    what: &str,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Located<PathBuf>> {
    files
        .into_iter()
        .filter(|f| {
            let remote = crate::text::has_scheme(&f.get_ref().to_string_lossy());
            if remote {
                diags.push(source.warning(
                    f.span(),
                    format!(
                        "remote {what} '{}' is not embedded (folio works offline) and is left out",
                        f.get_ref().display()
                    ),
                ));
            }
            !remote
        })
        .map(Located::from_spanned)
        .collect()
}

/// Accepts `"YYYY"`, `"YYYY-MM"`, `"YYYY-MM-DD"` strings and TOML dates or date-times.
fn parse_date(value: &toml::Value) -> Option<BookDate> {
    let text = match value {
        toml::Value::String(s) => s.trim().to_string(),
        toml::Value::Datetime(dt) => {
            let d = dt.date?;
            format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)
        }
        _ => return None,
    };
    let parts: Vec<&str> = text.split('-').collect();
    let number = |s: &str, len: usize| {
        (s.len() == len && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse::<i32>().ok()).flatten()
    };
    let (year, month, day, precision) = match parts.as_slice() {
        [y] => (number(y, 4)?, 1, 1, DatePrecision::Year),
        [y, m] => (number(y, 4)?, number(m, 2)?, 1, DatePrecision::Month),
        [y, m, d] => (number(y, 4)?, number(m, 2)?, number(d, 2)?, DatePrecision::Day),
        _ => return None,
    };
    let month = time::Month::try_from(u8::try_from(month).ok()?).ok()?;
    let date = time::Date::from_calendar_date(year, month, u8::try_from(day).ok()?).ok()?;
    Some(BookDate { unix_seconds: date.midnight().assume_utc().unix_timestamp(), precision })
}

/// Strips hyphens and spaces and checks the ISBN-10 or ISBN-13 check digit.
fn normalize_isbn(raw: &str) -> Option<String> {
    let isbn: String = raw.chars().filter(|c| !matches!(c, '-' | ' ')).collect::<String>().to_ascii_uppercase();
    let isbn = isbn.strip_prefix("URN:ISBN:").or_else(|| isbn.strip_prefix("ISBN")).unwrap_or(&isbn).to_string();
    let digit = |c: char| c.to_digit(10);
    let valid = match isbn.len() {
        13 => {
            let digits: Option<Vec<u32>> = isbn.chars().map(digit).collect();
            digits.is_some_and(|d| {
                d.iter().enumerate().map(|(i, v)| if i % 2 == 0 { *v } else { v * 3 }).sum::<u32>() % 10 == 0
            })
        }
        10 => {
            let digits: Option<Vec<u32>> =
                isbn.chars().enumerate().map(|(i, c)| if i == 9 && c == 'X' { Some(10) } else { digit(c) }).collect();
            digits.is_some_and(|d| d.iter().enumerate().map(|(i, v)| (10 - i as u32) * v).sum::<u32>() % 11 == 0)
        }
        _ => false,
    };
    valid.then_some(isbn)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_str(text: &str) -> (Option<BookConfig>, Vec<String>) {
        let src = SourceText::new("book.toml", text.to_string());
        let (config, mut diags) = load(&src);
        crate::diagnostic::sort(&mut diags);
        // Most cases leave the authors out; `a_book_without_an_author_is_a_warning` covers that warning.
        diags.retain(|d| d.message != NO_AUTHOR);
        (config, diags.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn a_book_without_an_author_is_a_warning() {
        for (text, expected) in [
            ("[book]\ntitle = \"T\"\n", "book.toml: warning: the book has no author"),
            ("[book]\ntitle = \"T\"\nauthors = [\" \"]\n", "book.toml:3:11: warning: the book has no author"),
        ] {
            let (config, diags) = load(&SourceText::new("book.toml", text.to_string()));
            assert!(config.is_some(), "only a warning");
            assert_eq!(diags.len(), 1, "{diags:?}");
            let shown = diags[0].to_string();
            assert!(shown.starts_with(expected), "{shown}");
            assert!(shown.contains("hint: add `authors = [\"Your Name\"]` under [book]"), "{shown}");
        }
        let (_, diags) = load(&SourceText::new("book.toml", "[book]\ntitle = \"T\"\nauthors = [\"A\"]\n".into()));
        assert!(diags.is_empty(), "{diags:?}");
    }

    #[test]
    fn unknown_keys_get_a_hint() {
        let (config, diags) = load_str(
            "[book]\ntitle = \"T\"\nauthor = \"me\"\nsubtitle = \"x\"\nsummary = 1\n[epub]\nlanguage = \"de\"\n",
        );
        assert!(config.is_none(), "the [epub] key is an error");
        assert_eq!(
            diags,
            [
                "book.toml:3:1: warning: unknown key `author` in [book] is ignored\nhint: did you mean `authors`?",
                "book.toml:4:1: warning: unknown key `subtitle` in [book] is ignored\nhint: `subtitle` belongs under [epub]",
                "book.toml:5:1: warning: unknown key `summary` in [book] is ignored",
                "book.toml:7:1: error: unknown key `language` in [epub]\nhint: `language` belongs under [book]",
            ]
        );
    }

    #[test]
    fn math_is_off_unless_the_book_asks_for_it() {
        let config = load_str("[book]\ntitle = \"T\"\n").0.unwrap();
        assert!(!config.math && !config.mathjax_delimiters);
        let config = load_str("[book]\ntitle = \"T\"\n[epub]\nmath = true\n").0.unwrap();
        assert!(config.math && !config.mathjax_delimiters);
        let (config, diags) = load_str("[book]\ntitle = \"T\"\n[output.html]\nmathjax-support = true\nfold = {}\n");
        assert!(diags.is_empty(), "{diags:?}");
        let config = config.unwrap();
        assert!(!config.math && config.mathjax_delimiters);
        assert!(load_str("[book]\ntitle = \"T\"\n[output.folio]\nmath = true\n").0.unwrap().math);
    }

    #[test]
    fn mdbook_defaults_apply() {
        let (config, diags) = load_str("[book]\ntitle = \"T\"\n[output.html]\nx = 1\n");
        let config = config.unwrap();
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(config.language, "en");
        assert_eq!(config.src, PathBuf::from("src"));
        assert_eq!(config.toc_depth, 2);
        assert!(config.smart_punctuation && config.default_stylesheet && config.highlight);
        assert_eq!(config.max_image_pixels, Some(4_000_000));
    }

    #[test]
    fn optimize_images_takes_a_level() {
        let with = |value: &str| load_str(&format!("[book]\ntitle = \"T\"\n[epub]\noptimize-images = {value}\n"));
        assert_eq!(load_str("[book]\ntitle = \"T\"\n").0.unwrap().optimize_images, Effort::Fast);
        assert_eq!(with("\"none\"").0.unwrap().optimize_images, Effort::None);
        assert_eq!(with("\"max\"").0.unwrap().optimize_images, Effort::Max);
        let (config, diags) = with("\"best\"");
        assert!(config.is_none());
        assert!(diags[0].starts_with("book.toml:4:19: error: invalid book.toml: unknown variant `best`"), "{diags:?}");
    }

    #[test]
    fn max_image_pixels_takes_a_count_or_turns_off() {
        let with = |value: &str| load_str(&format!("[book]\ntitle = \"T\"\n[epub]\nmax-image-pixels = {value}\n"));
        assert_eq!(with("2_000_000").0.unwrap().max_image_pixels, Some(2_000_000));
        assert_eq!(with("0").0.unwrap().max_image_pixels, None);
        assert_eq!(with("false").0.unwrap().max_image_pixels, None);
        assert_eq!(with("true").0.unwrap().max_image_pixels, Some(4_000_000));
        for bad in ["-5", "\"4M\"", "1.5"] {
            let (config, diags) = with(bad);
            assert!(config.is_none());
            assert!(
                diags[0]
                    .starts_with("book.toml:4:20: error: max-image-pixels must be a number of pixels, or 0 or false"),
                "{diags:?}"
            );
        }
    }

    #[test]
    fn highlighting_is_a_switch() {
        let (config, diags) = load_str("[book]\ntitle = \"T\"\n[epub]\nhighlight = false\n");
        assert!(diags.is_empty(), "{diags:?}");
        assert!(!config.unwrap().highlight);
        let (config, diags) = load_str("[book]\ntitle = \"T\"\n[epub]\nhighlight = \"rust\"\n");
        assert!(config.is_none());
        assert!(diags[0].starts_with("book.toml:4:13: error: invalid book.toml: invalid type: string"), "{diags:?}");
    }

    /// The keys serde reads into `T`: what its derived `Deserialize` asks a deserializer for.
    fn serde_keys<'de, T: Deserialize<'de>>() -> Vec<&'static str> {
        use serde::de::{Error, Visitor, value};
        struct Fields(&'static [&'static str]);
        impl<'de> serde::Deserializer<'de> for &mut Fields {
            type Error = value::Error;
            fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, value::Error> {
                Err(Error::custom("not a struct"))
            }
            fn deserialize_struct<V: Visitor<'de>>(
                self,
                _: &'static str,
                fields: &'static [&'static str],
                _: V,
            ) -> Result<V::Value, value::Error> {
                self.0 = fields;
                Err(Error::custom("only the fields were wanted"))
            }
            serde::forward_to_deserialize_any! {
                bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
                unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
            }
        }
        let mut fields = Fields(&[]);
        let _ = T::deserialize(&mut fields);
        let mut keys = fields.0.to_vec();
        keys.sort_unstable();
        keys
    }

    /// The lists that tell unknown keys and suggest known ones (serde_ignored would find the unknown keys,
    /// but not name the near misses) hold exactly the keys the tables read.
    #[test]
    fn the_known_keys_are_the_keys_the_tables_read() {
        let sorted = |keys: &[&'static str]| {
            let mut keys = keys.to_vec();
            keys.sort_unstable();
            keys
        };
        assert_eq!(sorted(EPUB_KEYS), serde_keys::<RawEpub>());
        // mdBook's `multilingual` is known and means nothing to folio.
        let book: Vec<&str> = BOOK_KEYS.iter().copied().filter(|&k| k != "multilingual").collect();
        assert_eq!(sorted(&book), serde_keys::<RawBook>());
    }

    #[test]
    fn every_unknown_epub_key_is_an_error_with_a_hint() {
        let (config, diags) = load_str("[book]\ntitle = \"T\"\n[epub]\npublsher = \"x\"\nfoo = 1\n");
        assert!(config.is_none());
        assert_eq!(
            diags,
            [
                "book.toml:4:1: error: unknown key `publsher` in [epub]\nhint: did you mean `publisher`?",
                "book.toml:5:1: error: unknown key `foo` in [epub]",
            ]
        );
    }

    #[test]
    fn bad_values_are_located() {
        let (_, diags) = load_str(
            "[book]\ntitle = \"T\"\nlanguage = \"en_GB!\"\n[epub]\ndate = \"2017-02-30\"\nisbn = \"978-0-306-40615-6\"\n",
        );
        assert_eq!(diags.len(), 3, "{diags:?}");
        assert!(diags[0].starts_with("book.toml:3:12: error: `en_GB!` is not a valid BCP 47 language tag"));
        assert!(diags[1].starts_with("book.toml:5:8: error: invalid date"));
        assert!(diags[2].starts_with("book.toml:6:8: error: `978-0-306-40615-6` is not a valid ISBN"));
    }

    #[test]
    fn remote_files_are_left_out_with_a_warning() {
        let (config, diags) = load_str(
            "[book]\ntitle = \"T\"\n[epub]\nstylesheets = [\"https://x.org/a.css\", \"local.css\"]\ncover = \"http://x.org/c.png\"\n",
        );
        let config = config.unwrap();
        assert_eq!(
            config.stylesheets.iter().map(|s| s.value.clone()).collect::<Vec<_>>(),
            [PathBuf::from("local.css")]
        );
        assert_eq!(config.cover, Cover::Generated);
        assert_eq!(diags.len(), 2, "{diags:?}");
        assert!(
            diags[0].starts_with("book.toml:4:16: warning: remote stylesheet 'https://x.org/a.css' is not embedded"),
            "{diags:?}"
        );
    }

    #[test]
    fn cover_is_a_file_generated_or_omitted() {
        let cover = |value: &str| {
            let (config, diags) = load_str(&format!("[book]\ntitle = \"T\"\n[epub]\n{value}\n"));
            (config.map(|c| c.cover), diags)
        };
        assert_eq!(cover(""), (Some(Cover::Generated), vec![]));
        assert_eq!(cover("cover = true"), (Some(Cover::Generated), vec![]));
        assert_eq!(cover("cover = false"), (Some(Cover::Omitted), vec![]));
        let file = Cover::File(Located { value: PathBuf::from("art/c.jpg"), range: 34..45 });
        assert_eq!(cover("cover = \"art/c.jpg\""), (Some(file), vec![]));
        assert_eq!(
            cover("cover = 3"),
            (
                None,
                vec![
                    "book.toml:4:9: error: cover must be a file name, or false for no cover\nhint: write `cover = \"cover.png\"`; without the key folio generates a cover"
                        .to_string()
                ]
            )
        );
    }

    /// Issue #12, class 9: mdbook-epub's keys that mean the same are honoured, the others warn; its
    /// paths are looked for in `src` first, as mdbook-epub does.
    #[test]
    fn mdbook_epub_settings_are_honoured() {
        let (config, diags) = load_str(
            "[book]\ntitle = \"T\"\n[output.epub]\ncover-image = \"cover.png\"\nadditional-css = [\"a.css\"]\nadditional-resources = [\"f.woff2\", \"bg.png\"]\nuse-default-css = false\ncurly-quotes = false\nindex-template = \"x.hbs\"\n",
        );
        let mut config = config.unwrap();
        assert_eq!(diags.len(), 2, "{diags:?}");
        assert!(
            diags[0].starts_with("book.toml:6:36: warning: additional resource 'bg.png' is not a font"),
            "{diags:?}"
        );
        assert!(diags[1].starts_with("book.toml:9:1: warning: mdbook-epub's `index-template`"), "{diags:?}");
        assert!(!config.default_stylesheet && !config.smart_punctuation && config.section_numbers);
        config.resolve_mdbook_epub_paths(|p| p == std::path::Path::new("src/cover.png"));
        let Cover::File(cover) = &config.cover else { panic!("{:?}", config.cover) };
        assert_eq!(cover.value, PathBuf::from("src/cover.png"));
        assert_eq!(config.stylesheets[0].value, PathBuf::from("a.css"));
        assert_eq!(config.fonts[0].value, PathBuf::from("f.woff2"));
    }

    /// Issue #12, class 7: as mdBook's renderer, folio reads `[output.folio]` like `[epub]`, as strictly.
    #[test]
    fn output_folio_is_read_like_epub() {
        let (config, diags) = load_str(
            "[book]\ntitle = \"T\"\n[preprocessor.links]\n[preprocessor.katex]\n[output.folio]\ncommand = \"folio mdbook\"\nsmart-punctuation = false\n",
        );
        assert!(diags.is_empty(), "{diags:?}");
        let config = config.unwrap();
        assert!(!config.smart_punctuation);
        assert_eq!(config.preprocessors.iter().map(|p| p.value.as_str()).collect::<Vec<_>>(), ["katex"]);
        let (config, diags) = load_str("[book]\ntitle = \"T\"\n[output.folio]\nsubtitel = \"S\"\n");
        assert!(config.is_none());
        assert_eq!(
            diags,
            ["book.toml:4:1: error: unknown key `subtitel` in [output.folio]\nhint: did you mean `subtitle`?"]
        );
        let (config, diags) = load_str("[book]\ntitle = \"T\"\n[epub]\n[output.folio]\n");
        assert!(config.is_none());
        assert!(
            diags[0].starts_with("book.toml:4:1: error: book.toml has both [epub] and [output.folio]"),
            "{diags:?}"
        );
    }

    #[test]
    fn isbn_check_digits() {
        assert_eq!(normalize_isbn("978-0-306-40615-7").as_deref(), Some("9780306406157"));
        assert_eq!(normalize_isbn("0-306-40615-2").as_deref(), Some("0306406152"));
        assert_eq!(normalize_isbn("0-8044-2957-X").as_deref(), Some("080442957X"));
        assert_eq!(normalize_isbn("0-306-40615-3"), None);
    }

    #[test]
    fn dates_keep_their_precision() {
        let d = parse_date(&toml::Value::String("2017-11".into())).unwrap();
        assert_eq!(d.to_w3cdtf(), "2017-11");
        assert_eq!(d.unix_seconds, 1_509_494_400);
        assert!(parse_date(&toml::Value::String("17-11-01".into())).is_none());
    }

    #[test]
    fn missing_title_and_wrong_type() {
        let (_, diags) = load_str("[book]\nauthors = \"me\"\n");
        assert_eq!(diags.len(), 1);
        assert!(
            diags[0].starts_with(
                "book.toml:2:11: error: invalid book.toml: invalid type: string \"me\", expected a sequence"
            ),
            "{diags:?}"
        );
        let (_, diags) = load_str("[book]\n");
        assert_eq!(diags, ["book.toml: error: the book has no title\nhint: add `title = \"…\"` under [book]"]);
    }
}
