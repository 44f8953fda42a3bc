//! Stage 3, render: one chapter's Markdown → XHTML body, independently of every other chapter.
//!
//! Procedure: parse with pulldown-cmark (options set in [`markdown_options`]), walk the events in
//! a small state machine ([`ChapterRenderer`]) that writes XHTML, number notes as they are first
//! referenced (`notes`), resolve links and images against the outline, and, when the chapter
//! holds raw HTML, pass the whole body through the HTML5 parser and sanitizer (`html`).
//! What needs the whole book (anchors in other chapters, image bytes, the bibliography) is
//! returned as data and checked by later stages.

pub mod highlight;
pub mod html;
pub mod math;
pub mod math_image;
pub mod notes;

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::ops::Range;
use std::path::{Path, PathBuf};

use pulldown_cmark::{
    Alignment, BrokenLink, CodeBlockKind, CowStr, Event, HeadingLevel, LinkType, Options, Parser, Tag, TagEnd,
};
use serde::{Deserialize, Serialize};

use crate::cite::{Sources, parse_citation};
use crate::config::BookConfig;
use crate::diagnostic::{Diagnostic, Location};
use crate::i18n::Strings;
use crate::link::{self, percent_decode};
use crate::load::ChapterSource;
use crate::outline::{Outline, Target};
use crate::target::Formulas;
use crate::text::{asset_name, escape, escape_href, escape_text, mdbook_id, xml_id};

use self::html::Reference;
use self::notes::{Definition, Notes, label_key};

/// Where chapters, images and styles live inside the package, relative to the OPF.
pub const TEXT_DIR: &str = "text";
/// Folder of images inside the package.
pub const IMAGE_DIR: &str = "images";

/// The pulldown-cmark extensions folio enables, in one place.
pub fn markdown_options(config: &BookConfig) -> Options {
    let mut options = Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES
        | Options::ENABLE_DEFINITION_LIST;
    if config.smart_punctuation {
        options |= Options::ENABLE_SMART_PUNCTUATION;
    }
    if config.math {
        options |= Options::ENABLE_MATH;
    }
    options
}

/// Link destination that marks a `[@key]` citation found by the broken-link callback.
const CITATION_MARKER: &str = "folio:citation";

/// What every chapter's rendering may look at: read-only, shared across threads.
pub struct Context<'a> {
    /// The book's configuration.
    pub config: &'a BookConfig,
    /// The reading order.
    pub outline: &'a Outline,
    /// Package file name of each outline entry.
    pub files: Vec<String>,
    /// Outline entry of each chapter path (relative to `src`).
    pub chapter_entries: HashMap<PathBuf, usize>,
    /// The sources file, when the book has one.
    pub sources: Option<&'a Sources>,
    /// Generated text in the book's language.
    pub strings: &'static Strings,
    /// Fragments, by outline entry, that links name but that chapter does not have: such links point
    /// to the top of the chapter instead (found once every chapter is rendered, see `resolve`).
    pub dangling: HashSet<(usize, String)>,
    /// The reader the book is for, which decides how formulas are written ([`crate::target::Formulas`]).
    pub target: crate::target::Target,
}

impl<'a> Context<'a> {
    /// Builds the context: file names for every outline entry, and the chapter lookup.
    pub fn new(config: &'a BookConfig, outline: &'a Outline, sources: Option<&'a Sources>) -> Self {
        let mut chapter_entries = HashMap::new();
        // Numbers as wide as the largest, so file names sort in reading order.
        let width = outline.entries.len().to_string().len().max(3);
        let files = outline
            .entries
            .iter()
            .enumerate()
            .map(|(i, entry)| {
                let mut slug = crate::text::ascii_slug(&entry.title, 40);
                if let Target::Chapter(path) = &entry.target {
                    chapter_entries.insert(path.clone(), i);
                    if slug.is_empty() {
                        slug = crate::text::ascii_slug(&path.file_stem().unwrap_or_default().to_string_lossy(), 40);
                    }
                }
                if slug.is_empty() {
                    slug = "chapter".to_string();
                }
                format!("c{:0width$}-{slug}.xhtml", i + 1)
            })
            .collect();
        Self {
            config,
            outline,
            files,
            chapter_entries,
            sources,
            strings: crate::i18n::strings(&config.language),
            dangling: HashSet::new(),
            target: crate::target::Target::Epub,
        }
    }
}

/// A heading, for the table of contents.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Heading {
    /// 1 for `#`, up to 6.
    pub level: u8,
    /// Plain text.
    pub text: String,
    /// Its id in the chapter file.
    pub id: String,
}

/// A link to another chapter, whose fragment is checked once every chapter is rendered.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CrossLink {
    /// Outline entry of the target chapter.
    pub entry: usize,
    /// The fragment as folio writes it (an XML id).
    pub fragment: String,
    /// The fragment as the author wrote it.
    pub written: String,
    /// Where the link is written.
    pub location: Location,
}

/// An image a chapter uses; its bytes are read and checked when packaging.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImageRef {
    /// Path relative to the book folder.
    pub path: PathBuf,
    /// File name inside the package's image folder.
    pub name: String,
    /// Where it is referenced.
    pub location: Location,
}

impl ImageRef {
    /// Its address from a page of the `text/` folder.
    pub fn src(&self) -> String {
        format!("../{IMAGE_DIR}/{}", self.name)
    }
}

/// One chapter, rendered.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct RenderedChapter {
    /// Outline entry.
    pub entry: usize,
    /// The XHTML inside `<body>`.
    pub body: String,
    /// Headings in order.
    pub headings: Vec<Heading>,
    /// Every id in the body.
    pub ids: crate::document::IdList,
    /// Links into other chapters with a fragment.
    pub cross_links: Vec<CrossLink>,
    /// Images used.
    pub images: Vec<ImageRef>,
    /// Citation uses: source key and the id of the note reference that cites it.
    pub citations: Vec<(String, String)>,
    /// Number of notes.
    pub note_count: usize,
    /// Where each note number in `body` starts (folio's own, not text that looks like one): rendering
    /// numbers notes from 1, and the notes stage ([`notes::number`]) shifts them.
    pub note_numbers: Vec<usize>,
    /// Links within the chapter to a fragment of it (fragment, as written, where), checked by the notes
    /// stage against the ids the chapter ends up with: a note's id is known only once it is numbered.
    pub local_links: Vec<(String, String, Location)>,
    /// The body has inline SVG.
    pub has_svg: bool,
    /// The body has MathML.
    pub has_mathml: bool,
    /// Formulas drawn as images, each once.
    pub formula_images: Vec<math_image::FormulaImage>,
    /// Images whose alt text is empty or missing.
    pub undescribed_images: usize,
    /// Accessibility warnings (heading levels, alt text, table headers): any keeps the book from
    /// claiming WCAG conformance.
    pub accessibility_problems: usize,
    /// The page title a `{{#title …}}` gave, instead of the chapter's title in SUMMARY.md.
    pub title: Option<String>,
    /// Problems found.
    pub diagnostics: Vec<Diagnostic>,
}

/// Renders one chapter, its notes numbered from 1: the notes stage ([`notes::number`]) finishes them.
pub fn render(ctx: &Context<'_>, chapter: &ChapterSource, entry: usize) -> RenderedChapter {
    let text = &chapter.text.text();
    let has_sources = ctx.sources.is_some();
    let mut callback = |link: BrokenLink<'_>| {
        (has_sources && link.link_type == LinkType::Shortcut && link.reference.starts_with('@'))
            .then_some((CowStr::Borrowed(CITATION_MARKER), CowStr::Borrowed("")))
    };
    let mut events: Vec<(Event<'_>, Range<usize>)> =
        Parser::new_with_broken_link_callback(text, markdown_options(ctx.config), Some(&mut callback))
            .into_offset_iter()
            .collect();
    if ctx.config.mathjax_delimiters {
        events = math::mathjax_delimiters(events, text);
    }
    let mut renderer = ChapterRenderer::new(ctx, chapter, entry);
    if text.trim().is_empty() {
        // A page with nothing on it is a dead end for every reader; a screen reader announces only its title.
        renderer.accessibility_warning(&(0..0), format!("chapter '{}' is empty", chapter.title)).hint =
            Some("write its text, or make it a draft in SUMMARY.md (`- [Title]()`) until it is written".into());
    }
    for i in 0..events.len() {
        renderer.event(&events, i);
    }
    renderer.finish()
}

/// How a link's end tag is written.
enum LinkKind {
    Anchor,
    /// The link was dropped; its text stays.
    Plain,
    /// A citation: its label text is not written.
    Citation,
}

/// The chapter's headings: the one being written, and those done.
#[derive(Default)]
struct Headings {
    open: Option<PendingHeading>,
    /// How often each generated id was given, for mdBook's `-1`, `-2` suffixes.
    counts: HashMap<String, usize>,
    done: Vec<Heading>,
    /// The ids of `done`, so that telling a repeat is quick however many headings a chapter has.
    ids: HashSet<String>,
}

struct PendingHeading {
    level: HeadingLevel,
    explicit_id: Option<String>,
    classes: Vec<String>,
    attrs: Vec<(String, String)>,
    text: String,
    range: Range<usize>,
}

struct PendingImage {
    /// `None` when the image could not be used and its alt text stands in.
    src: Option<String>,
    /// Where the image is written, for the missing-alt-text warning.
    range: Range<usize>,
    title: String,
    alt: String,
    /// Images nested in the alt text, whose own alt text joins this one.
    nested: usize,
}

/// The table being written.
#[derive(Default)]
struct Table {
    alignments: Vec<Alignment>,
    /// Index of the cell in its row.
    cell: usize,
    in_head: bool,
}

/// Raw HTML met so far in the chapter.
#[derive(Default)]
struct RawHtml {
    /// The HTML block being read, and where it starts.
    block: Option<(String, usize)>,
    /// Raw HTML that the fast path cannot write: the whole chapter goes through the HTML5 parser.
    needs_sanitize: bool,
    /// Raw inline tags opened and not yet closed, with the Markdown inline depth they were opened at.
    open: Vec<(String, usize)>,
    /// How many Markdown inline elements (emphasis, links, …) are open.
    inline_depth: usize,
    scan: html::ScanState,
    /// Where raw HTML first nested deeper than [`html::MAX_DEPTH`].
    too_deep: Option<usize>,
}

/// Output being written: the chapter, a heading or a footnote definition, with the ids and images
/// written into it.
#[derive(Default)]
struct Buffer {
    xhtml: String,
    written: html::Written,
}

struct PendingCode {
    language: String,
    text: String,
}

/// Where a link goes, decided without side effects so raw HTML links resolve the same way.
enum LinkTarget {
    /// Keep (or rewrite to) this href.
    Href(String),
    /// Into a chapter of the book.
    Chapter { href: String, entry: usize, fragment: Option<(String, String)> },
    /// A fragment of this chapter.
    Local { href: String, fragment: String, written: String },
    /// Not packaged: a file of the book folder that is not a chapter, or a path out of the book.
    OutOfBook { absolute: Option<String>, leaves_book: bool },
    /// A Markdown file that is not in SUMMARY.md.
    NotInSummary(PathBuf),
    /// `javascript:` and friends.
    Active,
    /// `[text]()`.
    Empty,
}

enum ImageTarget {
    Local(ImageRef),
    Remote,
    Active,
    Outside,
    Empty,
}

struct ChapterRenderer<'a> {
    ctx: &'a Context<'a>,
    chapter: &'a ChapterSource,
    entry: usize,
    /// Output buffers: the chapter, then one per open heading or footnote definition.
    buffers: Vec<Buffer>,
    headings: Headings,
    notes: Notes,
    definitions: HashMap<String, Definition>,
    /// What each footnote definition holds, by label key.
    definitions_written: HashMap<String, html::Written>,
    open_definitions: Vec<(String, Range<usize>)>,
    links: Vec<LinkKind>,
    image: Option<PendingImage>,
    code: Option<PendingCode>,
    table: Table,
    raw: RawHtml,
    cited: HashSet<String>,
    /// Each formula of the chapter (TeX, display) as drawn and converted, so a repeat is laid out once.
    formulas: HashMap<(String, bool), Formula>,
    result: RenderedChapter,
}

/// What folio made of a formula, each part made when first needed.
#[derive(Default)]
struct Formula {
    drawn: Option<Result<math_image::Drawn, String>>,
    mathml: Option<Result<String, String>>,
}

impl<'a> ChapterRenderer<'a> {
    fn new(ctx: &'a Context<'a>, chapter: &'a ChapterSource, entry: usize) -> Self {
        Self {
            ctx,
            chapter,
            entry,
            buffers: vec![Buffer {
                xhtml: String::with_capacity(chapter.text.text().len() * 5 / 4 + 256),
                written: html::Written::default(),
            }],
            headings: Headings::default(),
            notes: Notes::new(),
            definitions: HashMap::new(),
            definitions_written: HashMap::new(),
            open_definitions: Vec::new(),
            links: Vec::new(),
            image: None,
            code: None,
            table: Table::default(),
            raw: RawHtml::default(),
            cited: HashSet::new(),
            formulas: HashMap::new(),
            result: RenderedChapter { entry, ..RenderedChapter::default() },
        }
    }

    fn buffer(&mut self) -> &mut Buffer {
        self.buffers.last_mut().expect("the chapter buffer is never popped")
    }

    fn out(&mut self) -> &mut String {
        &mut self.buffer().xhtml
    }

    fn push(&mut self, s: &str) {
        self.out().push_str(s);
    }

    fn location(&self, range: &Range<usize>) -> Location {
        self.chapter.text.location(range.start)
    }

    fn error(&mut self, range: &Range<usize>, message: impl Into<String>) -> &mut Diagnostic {
        let d = self.chapter.text.error(range.clone(), message);
        self.result.diagnostics.push(d);
        self.result.diagnostics.last_mut().expect("just pushed")
    }

    fn warning(&mut self, range: &Range<usize>, message: impl Into<String>) -> &mut Diagnostic {
        let d = self.chapter.text.warning(range.clone(), message);
        self.result.diagnostics.push(d);
        self.result.diagnostics.last_mut().expect("just pushed")
    }

    /// A warning about something that keeps the book from meeting WCAG 2.1 AA.
    fn accessibility_warning(&mut self, range: &Range<usize>, message: impl Into<String>) -> &mut Diagnostic {
        self.result.accessibility_problems += 1;
        self.warning(range, message)
    }

    fn event(&mut self, events: &[(Event<'_>, Range<usize>)], i: usize) {
        let (event, range) = &events[i];
        // Inside a citation's label or an image's alt text, only text matters.
        if matches!(self.links.last(), Some(LinkKind::Citation)) && !matches!(event, Event::End(TagEnd::Link)) {
            return;
        }
        if self.image.is_some() {
            let image = self.image.as_mut().expect("checked");
            match event {
                Event::Start(Tag::Image { .. }) => image.nested += 1,
                Event::End(TagEnd::Image) if image.nested > 0 => image.nested -= 1,
                Event::End(TagEnd::Image) => self.end_image(),
                Event::Text(t) | Event::Code(t) | Event::InlineMath(t) | Event::DisplayMath(t) => image.alt.push_str(t),
                _ => {}
            }
            return;
        }
        match event {
            Event::Start(tag) => {
                if matches!(
                    tag,
                    Tag::Emphasis
                        | Tag::Strong
                        | Tag::Strikethrough
                        | Tag::Superscript
                        | Tag::Subscript
                        | Tag::Link { .. }
                ) {
                    self.raw.inline_depth += 1;
                }
                self.start(tag, range);
            }
            Event::End(tag) => {
                match tag {
                    TagEnd::Emphasis
                    | TagEnd::Strong
                    | TagEnd::Strikethrough
                    | TagEnd::Superscript
                    | TagEnd::Subscript
                    | TagEnd::Link => {
                        self.raw.inline_depth = self.raw.inline_depth.saturating_sub(1);
                    }
                    TagEnd::Paragraph
                    | TagEnd::Heading(_)
                    | TagEnd::Item
                    | TagEnd::TableCell
                    | TagEnd::DefinitionListTitle
                    | TagEnd::DefinitionListDefinition
                    | TagEnd::FootnoteDefinition
                    | TagEnd::BlockQuote(_) => self.close_inline_container(),
                    _ => {}
                }
                self.end(*tag);
            }
            Event::Text(text) => {
                if let Some(code) = &mut self.code {
                    code.text.push_str(text);
                    return;
                }
                if let Some(h) = &mut self.headings.open {
                    h.text.push_str(text);
                }
                if text.as_ref() == "[" && self.is_undefined_footnote(events, i) {
                    let (Event::Text(label), _) = &events[i + 1] else { unreachable!("checked") };
                    let label = label.trim_start_matches('^').to_string();
                    self.error(range, format!("undefined footnote '[^{label}]'")).hint =
                        Some(format!("add a definition `[^{label}]: …` to this chapter"));
                }
                escape(self.out(), text);
            }
            Event::Code(text) => {
                if let Some(h) = &mut self.headings.open {
                    h.text.push_str(text);
                }
                self.push("<code>");
                escape(self.out(), text);
                self.push("</code>");
            }
            Event::Html(raw) => {
                if let Some((block, _)) = &mut self.raw.block {
                    block.push_str(raw);
                }
                self.raw.needs_sanitize = true;
                self.push(raw);
            }
            Event::InlineHtml(raw) => match self.scan_html(raw, range.start) {
                Some(tag) => self.write_simple_tag(tag, raw),
                None => {
                    self.raw.needs_sanitize = true;
                    self.push(raw);
                }
            },
            Event::FootnoteReference(label) => {
                let reference = self.notes.footnote(label);
                self.write_noteref(&reference);
            }
            Event::SoftBreak => self.push("\n"),
            Event::HardBreak => self.push("<br/>\n"),
            Event::Rule => self.push("<hr/>\n"),
            Event::TaskListMarker(done) => self.push(if *done {
                "<span class=\"task-marker\">\u{2611}</span> "
            } else {
                "<span class=\"task-marker\">\u{2610}</span> "
            }),
            Event::InlineMath(tex) => self.formula(tex, false, range),
            Event::DisplayMath(tex) => self.formula(tex, true, range),
        }
    }

    /// A TeX formula as the target writes it ([`Formulas`]): MathML, MathML with an image as its
    /// `altimg`, or an image; MathML when it cannot be drawn, its TeX as code when it cannot be converted.
    fn formula(&mut self, tex: &str, display: bool, range: &Range<usize>) {
        if let Some(h) = &mut self.headings.open {
            h.text.push_str(tex.trim());
        }
        let target = self.ctx.target;
        let key = (tex.to_string(), display);
        let mut formula = self.formulas.remove(&key).unwrap_or_default();
        if target.formulas() != Formulas::MathMl && formula.drawn.is_none() {
            formula.drawn = Some(math_image::draw(tex, display, self.location(range)));
        }
        let drawn = formula.drawn.as_ref().and_then(|d| d.as_ref().ok());
        let undrawn = formula.drawn.as_ref().and_then(|d| d.as_ref().err());
        if let (Formulas::Image, Some(drawn)) = (target.formulas(), drawn) {
            self.use_formula_image(drawn);
            self.push(&drawn.img(tex));
            // Drawn formulas carry their TeX as alt text.
            self.buffer().written.image(true);
        } else {
            let image = drawn.filter(|_| target.formulas() == Formulas::MathMlAndImage);
            match formula.mathml.get_or_insert_with(|| math::to_mathml(tex, display, image)) {
                Ok(mathml) => {
                    if let Some(why) = undrawn {
                        let kept = match target.formulas() {
                            Formulas::Image => "it is kept as MathML, which Kindle may show as plain text",
                            _ => {
                                "it is kept as MathML without an image, which Kobo's Windows app may show as plain text"
                            }
                        };
                        let message = format!("formula cannot be drawn as an image for {}: {why}", target.reader());
                        self.warning(range, message).hint =
                            Some(format!("{kept}; the guide's Math page lists what does not convert"));
                    }
                    if let Some(image) = image {
                        self.use_formula_image(image);
                    }
                    self.result.has_mathml = true;
                    self.push(mathml);
                }
                Err(message) => {
                    let message = match undrawn.filter(|_| target.formulas() == Formulas::Image) {
                        Some(why) => format!(
                            "formula cannot be drawn as an image for {} ({why}) nor converted to MathML ({message})",
                            target.reader()
                        ),
                        None => format!("formula cannot be converted to MathML: {message}"),
                    };
                    self.warning(range, message).hint = Some(
                        "it is kept as its TeX, set as code; the guide's Math page lists what does not convert".into(),
                    );
                    self.push(&math::fallback(tex));
                }
            }
        }
        self.formulas.insert(key, formula);
    }

    /// Records a formula's image for the package, once however often the chapter shows it.
    fn use_formula_image(&mut self, drawn: &math_image::Drawn) {
        if !self.result.formula_images.iter().any(|f| f.name == drawn.image.name) {
            self.result.formula_images.push(drawn.image.clone());
        }
    }

    /// pulldown-cmark leaves `[^label]` without a definition as the texts `[`, `^label`, `]`.
    fn is_undefined_footnote(&self, events: &[(Event<'_>, Range<usize>)], i: usize) -> bool {
        let source = &self.chapter.text.text();
        matches!(
            (events.get(i + 1), events.get(i + 2)),
            (Some((Event::Text(label), _)), Some((Event::Text(close), close_range)))
                if label.starts_with('^') && label.len() > 1 && !label.contains(char::is_whitespace) && close.as_ref() == "]"
                    && &source[events[i].1.clone()] == "[" && &source[close_range.clone()] == "]"
        )
    }

    fn start(&mut self, tag: &Tag<'_>, range: &Range<usize>) {
        match tag {
            Tag::Paragraph => self.push("<p>"),
            Tag::Heading { level, id, classes, attrs } => {
                self.headings.open = Some(PendingHeading {
                    level: *level,
                    explicit_id: id.as_ref().map(|s| s.to_string()),
                    classes: classes.iter().map(|c| c.to_string()).collect(),
                    attrs: attrs.iter().map(|(k, v)| (k.to_string(), v.as_deref().unwrap_or("").to_string())).collect(),
                    text: String::new(),
                    range: range.clone(),
                });
                self.buffers.push(Buffer::default());
            }
            Tag::BlockQuote(_) => self.push("<blockquote>\n"),
            Tag::CodeBlock(kind) => {
                let language = match kind {
                    CodeBlockKind::Fenced(info) => info.split([',', ' ', '\t', '{']).next().unwrap_or("").to_string(),
                    CodeBlockKind::Indented => String::new(),
                };
                self.code = Some(PendingCode { language, text: String::new() });
            }
            Tag::HtmlBlock => {
                self.raw.needs_sanitize = true;
                self.raw.block = Some((String::new(), range.start));
            }
            Tag::List(Some(1)) => self.push("<ol>\n"),
            Tag::List(Some(start)) => {
                let _ = writeln!(self.out(), "<ol start=\"{start}\">");
            }
            Tag::List(None) => self.push("<ul>\n"),
            Tag::Item => self.push("<li>"),
            Tag::FootnoteDefinition(label) => {
                self.open_definitions.push((label.to_string(), range.clone()));
                self.buffers.push(Buffer::default());
            }
            Tag::DefinitionList => self.push("<dl>\n"),
            Tag::DefinitionListTitle => self.push("<dt>"),
            Tag::DefinitionListDefinition => self.push("<dd>"),
            Tag::Table(alignments) => {
                self.table = Table { alignments: alignments.clone(), ..Table::default() };
                self.push("<table>\n");
            }
            Tag::TableHead => {
                self.table.in_head = true;
                self.table.cell = 0;
                self.push("<thead>\n<tr>");
            }
            Tag::TableRow => {
                self.table.cell = 0;
                self.push("<tr>");
            }
            Tag::TableCell => {
                let cell = if self.table.in_head { "<th" } else { "<td" };
                let align = match self.table.alignments.get(self.table.cell) {
                    Some(Alignment::Left) => " style=\"text-align: left\"",
                    Some(Alignment::Center) => " style=\"text-align: center\"",
                    Some(Alignment::Right) => " style=\"text-align: right\"",
                    _ => "",
                };
                let scope = if self.table.in_head { " scope=\"col\"" } else { "" };
                let _ = write!(self.out(), "{cell}{scope}{align}>");
            }
            Tag::Emphasis => self.push("<em>"),
            Tag::Strong => self.push("<strong>"),
            Tag::Strikethrough => self.push("<del>"),
            Tag::Superscript => self.push("<sup>"),
            Tag::Subscript => self.push("<sub>"),
            Tag::Link { dest_url, title, id, .. } => self.start_link(dest_url, title, id, range),
            Tag::Image { dest_url, title, .. } => self.start_image(dest_url, title, range),
            Tag::MetadataBlock(_) => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Paragraph => self.push("</p>\n"),
            TagEnd::Heading(_) => self.end_heading(),
            TagEnd::BlockQuote(_) => self.push("</blockquote>\n"),
            TagEnd::CodeBlock => self.end_code_block(),
            TagEnd::HtmlBlock => {
                if let Some((block, start)) = self.raw.block.take() {
                    self.scan_html(&block, start);
                }
            }
            TagEnd::List(true) => self.push("</ol>\n"),
            TagEnd::List(false) => self.push("</ul>\n"),
            TagEnd::Item => self.push("</li>\n"),
            TagEnd::FootnoteDefinition => self.end_definition(),
            TagEnd::DefinitionList => self.push("</dl>\n"),
            TagEnd::DefinitionListTitle => self.push("</dt>\n"),
            TagEnd::DefinitionListDefinition => self.push("</dd>\n"),
            TagEnd::Table => self.push("</tbody>\n</table>\n"),
            TagEnd::TableHead => {
                self.table.in_head = false;
                self.push("</tr>\n</thead>\n<tbody>\n");
            }
            TagEnd::TableRow => self.push("</tr>\n"),
            TagEnd::TableCell => {
                self.push(if self.table.in_head { "</th>" } else { "</td>" });
                self.table.cell += 1;
            }
            TagEnd::Emphasis => self.push("</em>"),
            TagEnd::Strong => self.push("</strong>"),
            TagEnd::Strikethrough => self.push("</del>"),
            TagEnd::Superscript => self.push("</sup>"),
            TagEnd::Subscript => self.push("</sub>"),
            TagEnd::Link => {
                if let Some(LinkKind::Anchor) = self.links.pop() {
                    self.push("</a>");
                }
            }
            TagEnd::Image => {}
            TagEnd::MetadataBlock(_) => {}
        }
    }

    fn end_heading(&mut self) {
        let content = self.buffers.pop().expect("heading buffer");
        let h = self.headings.open.take().expect("heading open");
        let id = match &h.explicit_id {
            Some(explicit) => xml_id(explicit),
            None => {
                // mdBook's scheme: "intro", then "intro-1", "intro-2" for repeats.
                let base = mdbook_id(&h.text);
                let count = self.headings.counts.entry(base.clone()).or_insert(0);
                let id = if *count == 0 { base.clone() } else { format!("{base}-{count}") };
                *count += 1;
                xml_id(&id)
            }
        };
        if id.starts_with("note.") || id.starts_with("noteref.") {
            self.error(&h.range, format!("heading id '{id}' is reserved for notes")).hint =
                Some("choose another `{#id}`".to_string());
        }
        if self.headings.ids.contains(&id) {
            self.error(&h.range, format!("duplicate heading id '{id}'")).hint =
                Some("give one of the headings another `{#id}`".to_string());
        }
        let level = h.level as u8;
        // WCAG 1.3.1: screen-reader users navigate by heading level, so levels should not jump. A chapter
        // nested in SUMMARY.md may start one level down for each level it is nested, as mdBook books do.
        let nesting = self.ctx.outline.entries[self.entry].nesting;
        let start = u8::try_from(nesting).unwrap_or(u8::MAX).saturating_add(1);
        if let Some(previous) = self.headings.done.last().map(|p| p.level).or((level > start).then_some(0))
            && level > previous + 1
        {
            let message = if previous == 0 {
                format!("the chapter's first heading is level {level}; start with `#`")
            } else {
                format!("heading level jumps from {previous} to {level}")
            };
            self.accessibility_warning(&h.range, message);
        }
        let mut tag = format!("<h{level} id=\"");
        escape(&mut tag, &id);
        tag.push('"');
        let mut classes: Vec<&str> = Vec::with_capacity(h.classes.len());
        for class in &h.classes {
            if !classes.contains(&class.as_str()) {
                classes.push(class);
            }
        }
        if !classes.is_empty() {
            tag.push_str(" class=\"");
            escape(&mut tag, &classes.join(" "));
            tag.push('"');
        }
        let mut written: Vec<&str> = Vec::new();
        for (key, value) in &h.attrs {
            let supported = matches!(key.as_str(), "lang" | "dir" | "title")
                || (key.starts_with("data-")
                    && html::is_xml_name(key)
                    && !key.contains(|c: char| c.is_ascii_uppercase()));
            let message = if !supported {
                format!("heading attribute `{key}` is not supported and is dropped")
            } else if written.contains(&key.as_str()) {
                format!("heading attribute `{key}` is given twice; the first is kept")
            } else if !html::value_ok("h1", key, value) {
                format!("heading attribute `{key}=\"{value}\"` has an invalid value and is dropped")
            } else {
                written.push(key);
                let _ = write!(tag, " {key}=\"");
                escape(&mut tag, value);
                tag.push('"');
                continue;
            };
            self.warning(&h.range, message);
        }
        let _ = writeln!(self.out(), "{tag}>{}</h{level}>", content.xhtml);
        let buffer = self.buffer();
        buffer.written.ids.push(id.clone());
        buffer.written.append(content.written);
        self.headings.ids.insert(id.clone());
        self.headings.done.push(Heading { level, text: h.text.split_whitespace().collect::<Vec<_>>().join(" "), id });
    }

    fn end_code_block(&mut self) {
        let code = self.code.take().expect("code block open");
        let language = code.language;
        // mdBook hides `# ` lines of Rust examples; `##` stands for a literal `#`.
        let text = if language == "rust" {
            let mut kept = String::with_capacity(code.text.len());
            for line in code.text.split_inclusive('\n') {
                let trimmed = line.trim_start();
                let body = trimmed.trim_end_matches(['\n', '\r']);
                if body == "#" || trimmed.starts_with("# ") {
                    continue;
                }
                match trimmed.strip_prefix("##") {
                    Some(rest) => {
                        kept.push_str(&line[..line.len() - trimmed.len()]);
                        kept.push('#');
                        kept.push_str(rest);
                    }
                    None => kept.push_str(line),
                }
            }
            kept
        } else {
            code.text
        };
        if language.is_empty() {
            self.push("<pre><code>");
        } else {
            self.push("<pre><code class=\"language-");
            escape(self.out(), &language);
            self.push("\">");
        }
        match highlight::language(&language).filter(|_| self.ctx.config.highlight) {
            Some(syntax) => highlight::highlight(self.out(), syntax, &text),
            None => escape_text(self.out(), &text),
        }
        self.push("</code></pre>\n");
    }

    fn end_definition(&mut self) {
        let Buffer { xhtml, written } = self.buffers.pop().expect("definition buffer");
        let (label, range) = self.open_definitions.pop().expect("definition open");
        let key = label_key(&label);
        if let Some(first) = self.definitions.get(&key) {
            let line = self.chapter.text.location(first.range.start).position.map_or(0, |p| p.line);
            self.error(&range, format!("footnote '[^{label}]' is defined twice (first at line {line})"));
            return;
        }
        self.definitions_written.insert(key.clone(), written);
        self.definitions.insert(key, Definition { xhtml, range, label });
    }

    fn write_noteref(&mut self, reference: &notes::Reference) {
        let notes::Reference { mark, ref_id, note_id, .. } = reference;
        // "a day [^2]" is set as "a day²": a space before the mark would let a line break there.
        let out = self.out();
        out.truncate(out.trim_end_matches([' ', '\t', '\n']).len());
        let _ = write!(
            self.out(),
            "<sup class=\"noteref-wrap\"><a class=\"noteref\" epub:type=\"noteref\" role=\"doc-noteref\" id=\"{ref_id}\" href=\"#{note_id}\">{mark}</a></sup>"
        );
        self.buffer().written.ids.push(ref_id.clone());
    }

    fn start_link(&mut self, dest: &str, title: &str, label: &str, range: &Range<usize>) {
        if dest == CITATION_MARKER {
            self.citation(label, range);
            self.links.push(LinkKind::Citation);
            return;
        }
        let target = self.resolve_link(dest);
        self.report_link(&target, dest, range);
        let href = match target {
            LinkTarget::Href(href) | LinkTarget::Chapter { href, .. } | LinkTarget::Local { href, .. } => Some(href),
            LinkTarget::OutOfBook { absolute, .. } => absolute,
            LinkTarget::NotInSummary(_) | LinkTarget::Active | LinkTarget::Empty => None,
        };
        match href {
            Some(href) => {
                self.push("<a href=\"");
                escape_href(self.out(), &href);
                self.push("\"");
                if !title.is_empty() {
                    self.push(" title=\"");
                    escape(self.out(), title);
                    self.push("\"");
                }
                self.push(">");
                self.links.push(LinkKind::Anchor);
            }
            None => self.links.push(LinkKind::Plain),
        }
    }

    /// Decides where a link goes, without reporting anything.
    fn resolve_link(&self, dest: &str) -> LinkTarget {
        let dest = dest.trim();
        if dest.is_empty() {
            return LinkTarget::Empty;
        }
        if html::is_active_url(dest) {
            return LinkTarget::Active;
        }
        if let Some(fragment) = dest.strip_prefix('#') {
            let written = percent_decode(fragment);
            let id = xml_id(&written);
            return LinkTarget::Local { href: format!("#{id}"), fragment: id, written };
        }
        if link::is_external(dest) {
            return LinkTarget::Href(dest.to_string());
        }
        let (path, fragment) = link::split(dest);
        let here = self.chapter.path.parent().unwrap_or(Path::new(""));
        let Some(target) = link::resolve_path(here, path) else {
            return LinkTarget::OutOfBook { absolute: self.absolute_url(dest), leaves_book: true };
        };
        if let Some(entry) = self.chapter_entry(&target) {
            let fragment = fragment.map(|f| {
                let written = percent_decode(f);
                (xml_id(&written), written)
            });
            let file = &self.ctx.files[entry];
            let dangling = fragment.as_ref().is_some_and(|(id, _)| self.ctx.dangling.contains(&(entry, id.clone())));
            let href = match (&fragment, entry == self.entry) {
                (Some(_), _) if dangling => file.clone(),
                (Some((id, _)), true) => format!("#{id}"),
                (Some((id, _)), false) => format!("{file}#{id}"),
                (None, _) => file.clone(),
            };
            return LinkTarget::Chapter { href, entry, fragment };
        }
        if target.extension().is_some_and(|e| e == "md") {
            return LinkTarget::NotInSummary(target);
        }
        LinkTarget::OutOfBook { absolute: self.absolute_url(dest), leaves_book: false }
    }

    /// The outline entry of the chapter at `path` (relative to `src`), also under the name mdBook's HTML
    /// gives it: `x.html` for `x.md`, and `index.html` for a folder's `README.md`.
    fn chapter_entry(&self, path: &Path) -> Option<usize> {
        if let Some(&entry) = self.ctx.chapter_entries.get(path) {
            return Some(entry);
        }
        if path.extension().is_none_or(|e| e != "html") {
            return None;
        }
        let markdown = path.with_extension("md");
        let readme = (path.file_stem() == Some("index".as_ref())).then(|| path.with_file_name("README.md"));
        [Some(markdown), readme].into_iter().flatten().find_map(|p| self.ctx.chapter_entries.get(&p).copied())
    }

    /// The link made absolute under `base-url`, as it would resolve in the book's web edition.
    fn absolute_url(&self, dest: &str) -> Option<String> {
        let base = self.ctx.config.base_url.as_ref()?;
        let (scheme_host, base_path) = match base.find("://").and_then(|i| base[i + 3..].find('/').map(|j| i + 3 + j)) {
            Some(split) => (&base[..split], &base[split..]),
            None => (base.as_str(), ""),
        };
        let mut segments: Vec<String> = base_path.split('/').filter(|s| !s.is_empty()).map(str::to_string).collect();
        if let Some(dir) = self.chapter.path.parent() {
            segments.extend(dir.components().map(|c| c.as_os_str().to_string_lossy().into_owned()));
        }
        let (path, rest) = dest.find(['#', '?']).map_or((dest, ""), |i| (&dest[..i], &dest[i..]));
        for part in path.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    segments.pop();
                }
                p => segments.push(p.strip_suffix(".md").map_or_else(|| p.to_string(), |s| format!("{s}.html"))),
            }
        }
        Some(format!("{scheme_host}/{}{rest}", segments.join("/")))
    }

    fn report_link(&mut self, target: &LinkTarget, dest: &str, range: &Range<usize>) {
        match target {
            LinkTarget::Chapter { entry, fragment: Some((fragment, written)), .. } => {
                let location = self.location(range);
                if *entry == self.entry {
                    self.result.local_links.push((fragment.clone(), written.clone(), location));
                } else {
                    self.result.cross_links.push(CrossLink {
                        entry: *entry,
                        fragment: fragment.clone(),
                        written: written.clone(),
                        location,
                    });
                }
            }
            LinkTarget::Local { fragment, written, .. } => {
                let location = self.location(range);
                self.result.local_links.push((fragment.clone(), written.clone(), location));
            }
            LinkTarget::NotInSummary(path) => {
                let message =
                    format!("link to '{}', which is not a chapter in SUMMARY.md, becomes plain text", path.display());
                self.warning(range, message).hint = Some("add the chapter to SUMMARY.md or fix the link".to_string());
            }
            LinkTarget::OutOfBook { absolute, leaves_book } => {
                let what = if *leaves_book {
                    "leads out of the book"
                } else {
                    "points to a file that is not part of the EPUB"
                };
                let message = match absolute {
                    Some(url) => format!("link '{dest}' {what}; it now points to {url}"),
                    None => format!("link '{dest}' {what} and becomes plain text"),
                };
                let d = self.warning(range, message);
                if absolute.is_none() {
                    d.hint = Some("set `base-url` in [epub] to keep such links as web links".to_string());
                }
            }
            LinkTarget::Active => {
                self.warning(range, format!("script link '{dest}' removed; its text stays"));
            }
            LinkTarget::Href(_) | LinkTarget::Chapter { .. } | LinkTarget::Empty => {}
        }
    }

    fn citation(&mut self, label: &str, range: &Range<usize>) {
        let Some(sources) = self.ctx.sources else { return };
        let items = match parse_citation(label) {
            Ok(items) => items,
            Err(message) => {
                self.error(range, message).hint =
                    Some("write citations as [@key], [@key, p. 12] or [@a; @b]".to_string());
                return;
            }
        };
        let mut parts = Vec::new();
        for item in &items {
            let Some(source) = sources.get(&item.key) else {
                let hint = sources.suggest(&item.key).map(|k| format!("did you mean `@{k}`?"));
                self.error(range, format!("unknown citation key '{}'", item.key)).hint = hint;
                continue;
            };
            let first = self.cited.insert(item.key.clone());
            parts.push(if first {
                source.note(item.locator.as_deref())
            } else {
                source.short_note(item.locator.as_deref())
            });
        }
        if parts.len() != items.len() {
            return;
        }
        let xhtml = parts.join("; ");
        if self.open_definitions.is_empty() {
            let reference = self.notes.citation(xhtml);
            self.write_noteref(&reference);
            for item in items {
                self.result.citations.push((item.key, reference.ref_id.clone()));
            }
        } else {
            // Inside a footnote the reference is part of the note's text, not a note of its own.
            self.push(&xhtml);
        }
    }

    fn resolve_image(&self, dest: &str) -> ImageTarget {
        let dest = dest.trim();
        if dest.is_empty() {
            return ImageTarget::Empty;
        }
        if html::is_active_url(dest) {
            return ImageTarget::Active;
        }
        if link::is_external(dest) {
            return ImageTarget::Remote;
        }
        let here = self.ctx.config.src.join(self.chapter.path.parent().unwrap_or(Path::new("")));
        match link::resolve_path(&here, link::split(dest).0) {
            Some(path) => {
                let name = asset_name(&path);
                ImageTarget::Local(ImageRef { path, name, location: Location { path: PathBuf::new(), position: None } })
            }
            None => ImageTarget::Outside,
        }
    }

    /// Resolves an image and reports problems; `Some(href)` when it can be shown.
    fn use_image(&mut self, dest: &str, range: &Range<usize>) -> Option<String> {
        match self.resolve_image(dest) {
            ImageTarget::Local(mut image) => {
                image.location = self.location(range);
                let href = image.src();
                self.result.images.push(image);
                Some(href)
            }
            ImageTarget::Remote => {
                self.warning(
                    range,
                    format!("remote image '{dest}' is not embedded (folio works offline); its alt text stands in"),
                );
                None
            }
            ImageTarget::Active => {
                self.warning(range, "image with a script or data URL removed; its alt text stands in");
                None
            }
            ImageTarget::Outside => {
                self.error(range, format!("image '{dest}' is outside the book folder"));
                None
            }
            ImageTarget::Empty => {
                self.error(range, "image without a path");
                None
            }
        }
    }

    fn start_image(&mut self, dest: &str, title: &str, range: &Range<usize>) {
        let src = self.use_image(dest, range);
        self.image =
            Some(PendingImage { src, range: range.clone(), title: title.to_string(), alt: String::new(), nested: 0 });
    }

    fn end_image(&mut self) {
        let image = self.image.take().expect("image open");
        match image.src {
            Some(src) => {
                if image.alt.trim().is_empty() {
                    self.accessibility_warning(&image.range, "image has no alt text; screen readers will skip it")
                        .hint = Some("describe the image inside the brackets: ![A chart of …](chart.png)".to_string());
                }
                self.push("<img src=\"");
                escape_href(self.out(), &src);
                self.push("\" alt=\"");
                let before = self.out().len();
                escape(self.out(), &image.alt);
                let described = self.out().len() > before;
                self.buffer().written.image(described);
                self.push("\"");
                if !image.title.is_empty() {
                    self.push(" title=\"");
                    escape(self.out(), &image.title);
                    self.push("\"");
                }
                self.push("/>");
            }
            None => escape(self.out(), &image.alt),
        }
    }

    /// Writes a plain inline tag directly, keeping the chapter off the HTML5 parser while raw tags stay
    /// balanced inside the same Markdown inline element; anything else falls back to sanitizing.
    fn write_simple_tag(&mut self, tag: html::SimpleTag, raw: &str) {
        match tag {
            html::SimpleTag::Comment => {}
            html::SimpleTag::Start(name, attrs, void) => {
                let mut out = format!("<{name}");
                for (key, value) in &attrs {
                    let _ = write!(out, " {key}=\"");
                    escape(&mut out, value);
                    out.push('"');
                }
                out.push_str(if void { "/>" } else { ">" });
                self.push(&out);
                if !void {
                    self.raw.open.push((name, self.raw.inline_depth));
                }
            }
            html::SimpleTag::End(name) => {
                if self.raw.open.last() == Some(&(name.clone(), self.raw.inline_depth)) {
                    self.raw.open.pop();
                    let _ = write!(self.out(), "</{name}>");
                } else {
                    self.raw.needs_sanitize = true;
                    self.push(raw);
                }
            }
        }
    }

    /// At the end of an inline container every raw tag opened in it must be closed, or the chapter is sanitized.
    fn close_inline_container(&mut self) {
        if !self.raw.open.is_empty() {
            self.raw.needs_sanitize = true;
            self.raw.open.clear();
        }
    }

    /// Reports, at their Markdown position, what raw HTML will lose, and registers its links and images.
    /// Returns the fragment as a tag folio can write itself, when it is that simple.
    fn scan_html(&mut self, raw: &str, start: usize) -> Option<html::SimpleTag> {
        let report = html::scan(raw, &mut self.raw.scan);
        if self.raw.scan.max_depth > html::MAX_DEPTH && self.raw.too_deep.is_none() {
            self.raw.too_deep = Some(start);
            let message = format!("raw HTML nests deeper than {} elements; folio refuses it", html::MAX_DEPTH);
            self.error(&(start..start), message);
        }
        let source = &self.chapter.text.text();
        let line_start = |line: u64| -> usize {
            source[start..]
                .match_indices('\n')
                .nth(line.saturating_sub(2) as usize)
                .filter(|_| line > 1)
                .map_or(start, |(i, _)| start + i + 1)
        };
        for (line, message) in report.warnings {
            let at = line_start(line);
            self.warning(&(at..at), message);
        }
        for (line, message) in report.accessibility {
            let at = line_start(line);
            self.accessibility_warning(&(at..at), message);
        }
        for (line, reference) in report.references {
            let at = line_start(line);
            match reference {
                Reference::Link(href) => {
                    let target = self.resolve_link(&href);
                    self.report_link(&target, &href, &(at..at));
                }
                Reference::Image(src) => {
                    self.use_image(&src, &(at..at));
                }
            }
        }
        report.simple
    }

    fn finish(mut self) -> RenderedChapter {
        for (key, def) in &self.definitions {
            if !self.notes.is_referenced(key) {
                let d = self
                    .chapter
                    .text
                    .warning(def.range.clone(), format!("footnote '[^{}]' is never referenced", def.label));
                self.result.diagnostics.push(d);
            }
        }
        let Buffer { xhtml: mut content, mut written } = self.buffers.pop().expect("chapter buffer");
        let mut definitions = std::mem::take(&mut self.definitions);
        let mut definitions_written = std::mem::take(&mut self.definitions_written);
        // Too deep was reported as an error; sanitizing it would only cost time.
        if self.raw.needs_sanitize && self.raw.too_deep.is_none() {
            let this = &self;
            let own_images: HashSet<String> = (self.result.images.iter().map(ImageRef::src))
                .chain(self.result.formula_images.iter().map(math_image::FormulaImage::src))
                .collect();
            // The body mixes the author's raw HTML with hrefs folio already rewrote; those are kept as they are.
            let rewrite = |reference: &Reference| match reference {
                Reference::Link(href) if this.ctx.files.iter().any(|f| href.split('#').next() == Some(f.as_str())) => {
                    Some(href.clone())
                }
                Reference::Image(src) if own_images.contains(src) => Some(src.clone()),
                Reference::Link(href) => match this.resolve_link(href) {
                    LinkTarget::Href(h) | LinkTarget::Chapter { href: h, .. } | LinkTarget::Local { href: h, .. } => {
                        Some(h)
                    }
                    LinkTarget::OutOfBook { absolute, .. } => absolute,
                    _ => None,
                },
                Reference::Image(src) => match this.resolve_image(src) {
                    ImageTarget::Local(image) => Some(image.src()),
                    _ => None,
                },
            };
            let mut ids = html::Ids {
                headings: self.headings.done.iter().map(|h| h.id.clone()).collect(),
                note_token: self.notes.token().to_string(),
                ..html::Ids::default()
            };
            let clean = html::sanitize(&content, &rewrite, &mut ids);
            (content, written) = (clean.xhtml, clean.written);
            let (mut has_svg, mut has_mathml) = (clean.has_svg, clean.has_mathml);
            // Each note is sanitized on its own, so an unclosed tag in one cannot reach into the next.
            let mut in_order: Vec<(&String, &mut Definition)> = definitions.iter_mut().collect();
            in_order.sort_by_key(|(_, d)| d.range.start);
            for (key, definition) in in_order {
                let clean = html::sanitize(&definition.xhtml, &rewrite, &mut ids);
                definition.xhtml = clean.xhtml;
                definitions_written.insert(key.clone(), clean.written);
                has_svg |= clean.has_svg;
                has_mathml |= clean.has_mathml;
            }
            self.result.has_svg = has_svg;
            self.result.has_mathml = has_mathml;
        }
        self.definitions = definitions;
        let mut notes = String::new();
        self.notes.write_section(&mut notes, &self.definitions, self.ctx.strings);
        // The notes section holds each note that has a text (a citation, or a footnote with a definition)
        // and, in it, the definition.
        for (note_id, label) in self.notes.ids_and_labels() {
            let definition = match label {
                Some(key) => match definitions_written.remove(key) {
                    Some(definition) => Some(definition),
                    None => continue,
                },
                None => None,
            };
            written.ids.push(note_id);
            written.append(definition.unwrap_or_default());
        }
        let ids: HashSet<String> = written.ids.into_iter().collect();
        // Malformed raw HTML can swallow a heading (`<a&` takes the next tag as attributes).
        let chapter_file = self.chapter.text.chapter_file().path.clone();
        self.headings.done.retain(|h| {
            let kept = ids.contains(&h.id);
            if !kept {
                let message = format!("heading '{}' was swallowed by malformed raw HTML before it", h.text);
                self.result.diagnostics.push(Diagnostic::warning(&chapter_file, message));
            }
            kept
        });
        let matter = self.ctx.outline.entries[self.entry].matter;
        let mut body = String::with_capacity(content.len() + notes.len() + 128);
        body.push_str("<section");
        if matter == crate::outline::Matter::Body {
            body.push_str(" epub:type=\"chapter\" role=\"doc-chapter\"");
        }
        if let Some(first) = self.headings.done.first() {
            let _ = write!(body, " aria-labelledby=\"{}\"", crate::text::escaped(&first.id));
        }
        body.push_str(">\n");
        body.push_str(&content);
        body.push_str("</section>\n");
        body.push_str(&notes);
        self.result.undescribed_images = written.undescribed;
        self.notes.unmark_chapter(&mut self.result, body, &ids);
        self.result.title = self.chapter.text.title().map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
        self.result.headings = self.headings.done;
        self.result.note_count = self.notes.len();
        self.result
    }
}

#[cfg(test)]
mod xhtml_tests;

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::diagnostic::SourceText;
    use crate::include::Expanded;
    use crate::outline::{Entry, Matter};

    /// Renders `markdown` as `chapter.md` of a book of two chapters (the other `sub/other.md`) whose
    /// book.toml adds `toml` under [book].
    pub(super) fn render_chapter(toml: &str, markdown: &str) -> RenderedChapter {
        render_numbered(toml, markdown, 0)
    }

    /// [`render_chapter`] with the chapter's notes numbered after `offset` others.
    fn render_numbered(toml: &str, markdown: &str, offset: usize) -> RenderedChapter {
        let config_source = SourceText::new("book.toml", format!("[book]\ntitle = \"T\"\n{toml}"));
        let config = crate::config::load(&config_source).0.expect("valid book.toml");
        let entry = |title: &str, path: &str| Entry {
            title: title.into(),
            depth: 0,
            nesting: 0,
            matter: Matter::Body,
            target: Target::Chapter(PathBuf::from(path)),
            range: 0..0,
        };
        let outline = Outline { entries: vec![entry("One", "chapter.md"), entry("Two", "sub/other.md")] };
        let ctx = Context::new(&config, &outline, None);
        let text = Expanded::plain(SourceText::new("src/chapter.md", markdown.to_string()));
        let chapter = ChapterSource { path: PathBuf::from("chapter.md"), title: "One".into(), text };
        let mut rendered = render(&ctx, &chapter, 0);
        notes::number(&mut rendered, offset, &ctx.files[0]);
        rendered
    }

    /// The body `markdown` renders to in the book of [`render_chapter`], the images' package names and the messages.
    fn render_in_book(toml: &str, markdown: &str) -> (String, Vec<String>, Vec<String>) {
        let rendered = render_chapter(toml, markdown);
        let images = rendered.images.iter().map(|i| format!("{} {}", i.path.display(), i.name)).collect();
        let messages = rendered.diagnostics.iter().map(|d| d.message.clone()).collect();
        (rendered.body, images, messages)
    }

    /// The paragraph `markdown` renders to, with its images and messages.
    fn paragraph(markdown: &str) -> (String, Vec<String>, Vec<String>) {
        let (body, images, messages) = render_in_book("", markdown);
        let start = body.find("<p>").expect("a paragraph");
        let end = body.rfind("</p>").expect("a paragraph") + "</p>".len();
        (body[start..end].to_string(), images, messages)
    }

    #[test]
    fn links_to_chapters_become_their_package_files() {
        for markdown in
            ["[a](sub/other.md)", "[a](sub/other.html)", "[a](sub%2Fother.md)", "[a](./sub/../sub/other.md)"]
        {
            assert_eq!(
                paragraph(markdown),
                ("<p><a href=\"c002-two.xhtml\">a</a></p>".into(), vec![], vec![]),
                "{markdown}"
            );
        }
        // The fragment becomes an XML id; a query means nothing inside a book.
        let (p, _, _) = paragraph("[a](<sub/other.md#Part Two>)");
        assert_eq!(p, "<p><a href=\"c002-two.xhtml#Part_20_Two\">a</a></p>");
        let (p, _, _) = paragraph("[a](sub/other.md?x=1#f)");
        assert_eq!(p, "<p><a href=\"c002-two.xhtml#f\">a</a></p>");
        let (p, _, _) = paragraph("[a](https://example.com/x)");
        assert_eq!(p, "<p><a href=\"https://example.com/x\">a</a></p>");
    }

    /// Links to the chapter's notes are checked with its other anchors, against the numbers its notes
    /// end up with: here the book has a note before this chapter's.
    #[test]
    fn anchors_and_notes_are_checked_alike_once_the_notes_are_numbered() {
        let rendered = render_numbered(
            "",
            "# Here\n\nA[^a]: [1](#note.1) [2](#note.2) [3](#noteref.2) [4](#here) [5](#gone).\n\n[^a]: Note.\n",
            1,
        );
        let p = &rendered.body[rendered.body.find("<p>A").unwrap()..];
        let p = &p[..p.find("</p>").unwrap()];
        assert!(
            p.ends_with(
                "<a href=\"c001-one.xhtml\">1</a> <a href=\"#note.2\">2</a> <a href=\"#noteref.2\">3</a> \
             <a href=\"#here\">4</a> <a href=\"c001-one.xhtml\">5</a>."
            ),
            "{p}"
        );
        let mut messages: Vec<&str> = rendered.diagnostics.iter().map(|d| d.message.as_str()).collect();
        messages.sort();
        assert_eq!(
            messages,
            [
                "no heading or anchor '#gone' in this chapter; the link points to its top",
                "no heading or anchor '#note.1' in this chapter; the link points to its top"
            ]
        );
    }

    #[test]
    fn anchors_in_the_chapter_are_kept_and_missing_ones_point_to_its_top() {
        let (body, _, messages) = render_in_book("", "# Start {#start}\n\n[a](#start) [b](chapter.md#start)\n");
        assert!(body.contains("<p><a href=\"#start\">a</a> <a href=\"#start\">b</a></p>"), "{body}");
        assert_eq!(messages, Vec::<String>::new());
        let (p, _, messages) = paragraph("[a](#Top)");
        assert_eq!(p, "<p><a href=\"c001-one.xhtml\">a</a></p>");
        assert_eq!(messages, ["no heading or anchor '#Top' in this chapter; the link points to its top"]);
    }

    #[test]
    fn links_that_lead_nowhere_in_the_book_become_text() {
        for (markdown, message) in [
            ("[a](missing.md)", "link to 'missing.md', which is not a chapter in SUMMARY.md, becomes plain text"),
            ("[a](../outside.md)", "link '../outside.md' leads out of the book and becomes plain text"),
            ("[a](/abs.md)", "link '/abs.md' leads out of the book and becomes plain text"),
            ("[a](javascript:alert(1))", "script link 'javascript:alert(1)' removed; its text stays"),
        ] {
            assert_eq!(paragraph(markdown), ("<p>a</p>".into(), vec![], vec![message.to_string()]), "{markdown}");
        }
    }

    #[test]
    fn images_are_named_by_their_path_in_the_book() {
        // Relative to the chapter, percent-decoded, without query or fragment; the package name is unique
        // for the path.
        let (p, images, _) = paragraph("![alt](img/a%20b.png)");
        assert_eq!(p, "<p><img src=\"../images/src-img-a-b-9bd5effa.png\" alt=\"alt\"/></p>");
        assert_eq!(images, ["src/img/a b.png src-img-a-b-9bd5effa.png"]);
        let (_, images, _) = paragraph("![alt](img/a.png?v=2#f)");
        assert_eq!(images, ["src/img/a.png src-img-a-7690e4cc.png"]);
        // Outside `src` but inside the book folder is allowed.
        let (p, images, _) = paragraph("![alt](../x.png)");
        assert_eq!(
            (p.as_str(), images),
            ("<p><img src=\"../images/x.png\" alt=\"alt\"/></p>", vec!["x.png x.png".to_string()])
        );
        let (p, images, messages) = paragraph("![alt](https://x/y.png)");
        assert_eq!((p.as_str(), images.len()), ("<p>alt</p>", 0));
        assert_eq!(
            messages,
            ["remote image 'https://x/y.png' is not embedded (folio works offline); its alt text stands in"]
        );
    }

    #[test]
    fn an_authors_altimg_is_an_image_of_the_book_like_a_src() {
        let (p, images, _) = paragraph("<math altimg=\"img/f.png\" alttext=\"x\"><mi>x</mi></math>");
        assert!(p.contains(" altimg=\"../images/src-img-f-"), "{p}");
        assert_eq!(images.len(), 1, "{images:?}");
        assert!(images[0].starts_with("src/img/f.png src-img-f-"), "{images:?}");
        // Remote or on another element, it goes.
        let (p, images, _) = paragraph("<math altimg=\"https://x/f.png\"><mi altimg=\"f.png\">x</mi></math>");
        assert!(!p.contains("altimg"), "{p}");
        assert!(images.is_empty(), "{images:?}");
    }
}
