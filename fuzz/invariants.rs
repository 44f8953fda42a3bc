//! The invariants the fuzz targets check, shared with `tests/fuzz_regressions.rs`
//! (included there with `#[path]`, so a saved crash is checked exactly as the fuzzer checked it).
//!
//! Every check panics with the offending input on failure.

#![allow(dead_code)]

use std::collections::HashSet;

use folio::diagnostic::{Diagnostic, SourceText};

/// What the `book_files` target feeds, chosen by the first input byte (`byte % 3`;
/// ASCII `'0'`, `'1'` and `'2'` pick them in this order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookFile {
    /// `book.toml`, through `folio::config::load`.
    Config,
    /// `SUMMARY.md`, through `folio::outline::parse`.
    Summary,
    /// The sources file, through `folio::cite::load`.
    Sources,
}

impl BookFile {
    pub const ALL: [BookFile; 3] = [BookFile::Config, BookFile::Summary, BookFile::Sources];

    pub fn from_selector(byte: u8) -> Self {
        Self::ALL[usize::from(byte % 3)]
    }
}

/// The XHTML document a chapter body is checked in.
pub fn body_document(body: &str) -> String {
    format!("<body xmlns=\"http://www.w3.org/1999/xhtml\" xmlns:epub=\"http://www.idpf.org/2007/ops\">{body}</body>")
}

/// The `href` targets of the note references folio wrote (`<a … role="doc-noteref" … href="#note.N">`).
pub fn noteref_targets(xhtml: &str) -> Vec<&str> {
    xhtml
        .match_indices("role=\"doc-noteref\"")
        .filter_map(|(i, _)| {
            let tag = &xhtml[i..i + xhtml[i..].find('>')?];
            let start = tag.find("href=\"#")? + 7;
            Some(&tag[start..start + tag[start..].find('"')?])
        })
        .collect()
}

/// Markdown → XHTML: no panic, well-formed body, every note reference has its note,
/// every diagnostic position 1-based; Kobo's flavour of a well-formed body is well-formed too.
pub fn check_render(markdown: &str) {
    let chapter = folio::render_markdown(markdown);
    if let Err(e) = well_formed_body(markdown, &chapter) {
        panic!("rendered body is not well-formed: {e}\nMarkdown: {markdown:?}\nXHTML: {}", chapter.body);
    }
    match roxmltree::Document::parse(&body_document(&chapter.body)) {
        Ok(parsed) => {
            let ids: HashSet<&str> = parsed.descendants().filter_map(|n| n.attribute("id")).collect();
            // What the renderer recorded as it wrote is what it wrote.
            assert_eq!(chapter.ids.iter().collect::<HashSet<_>>(), ids, "Markdown: {markdown:?}");
            for target in noteref_targets(&chapter.body) {
                assert!(
                    ids.contains(target),
                    "note reference to missing #{target}\nMarkdown: {markdown:?}\nXHTML: {}",
                    chapter.body
                );
            }
        }
        // Only a body refused as too deep is left unsanitized.
        Err(e) => assert!(chapter.diagnostics.iter().any(|d| d.is_error()), "{e}\nMarkdown: {markdown:?}"),
    }
    check_positions("chapter.md", markdown, &chapter.diagnostics);
    // Kobo's spans keep a well-formed body well-formed, ids still unique.
    if folio::validate::well_formed(&body_document(&chapter.body)).is_ok() {
        let kobo = folio::target::kobo::body(&chapter.body);
        if let Err(e) = folio::validate::well_formed(&body_document(&kobo)) {
            panic!("Kobo's flavour is not well-formed: {e}\nMarkdown: {markdown:?}\nXHTML: {kobo}");
        }
    }
}

/// One book file through its parser: no panic, every diagnostic position 1-based.
pub fn check_book_file(kind: BookFile, text: &str) {
    match kind {
        BookFile::Config => {
            let (_, diagnostics) = folio::config::load(&SourceText::new("book.toml", text.to_string()));
            check_positions("book.toml", text, &diagnostics);
        }
        BookFile::Summary => {
            let (_, diagnostics) = folio::outline::parse(&SourceText::new("SUMMARY.md", text.to_string()));
            check_positions("SUMMARY.md", text, &diagnostics);
        }
        BookFile::Sources => {
            let (_, diagnostics) = folio::cite::load(SourceText::new("sources.toml", text.to_string()), "en");
            check_positions("sources.toml", text, &diagnostics);
        }
    }
}

/// True when `FOLIO_FUZZ_IGNORE_KNOWN_BUGS` is set: a fuzzing run then looks past the open bugs
/// below instead of finding them again and again. Never set for `tests/fuzz_regressions.rs`.
fn ignore_known_bugs() -> bool {
    static IGNORE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *IGNORE.get_or_init(|| std::env::var_os("FOLIO_FUZZ_IGNORE_KNOWN_BUGS").is_some())
}

/// Known open bug (tests/fuzz-regressions/render-raw-id-*.md): an id the author wrote in raw HTML
/// (`id="x"`, `<a name="x">`) can come out twice, once in the chapter text and once in a footnote,
/// or clash with an id folio writes itself (`note.1`). Recognised loosely: the input has an `id=`
/// or `name=` attribute and the duplicate id, less folio's `h-` prefix, appears in it.
fn duplicate_from_raw_html(markdown: &str, id: &str) -> bool {
    let lower = markdown.to_lowercase();
    (lower.contains("id=") || lower.contains("name="))
        && (markdown.contains(id) || id.strip_prefix("h-").is_some_and(|rest| markdown.contains(rest)))
}

/// `folio::validate::well_formed` on the body, with narrow excuses for chapters the renderer
/// itself refused with an *error* (a book with an error is never packaged):
/// - raw HTML nested deeper than folio accepts ("raw HTML nests deeper than … elements"): the body
///   is then deliberately left unsanitized, so it need not be well-formed;
/// - a duplicate id reported as "duplicate heading id" (say `## A {#a}` then `## A`): the later
///   copies are renamed and the check goes on, to keep looking for other problems in the body.
///
/// With `FOLIO_FUZZ_IGNORE_KNOWN_BUGS` set, duplicates from raw HTML ids are renamed the same way.
fn well_formed_body(markdown: &str, chapter: &folio::render::RenderedChapter) -> Result<(), String> {
    let refused_too_deep =
        chapter.diagnostics.iter().any(|d| d.is_error() && d.message.starts_with("raw HTML nests deeper than"));
    if refused_too_deep {
        return Ok(());
    }
    let mut body = chapter.body.clone();
    // Each round renames every later copy of one id, so this ends; the bound is only a backstop.
    for round in 0..10_000 {
        let Err(e) = folio::validate::well_formed(&body_document(&body)) else { return Ok(()) };
        let Some(id) = e.strip_prefix("duplicate id '").and_then(|rest| rest.strip_suffix('\'')) else { return Err(e) };
        let reported = format!("duplicate heading id '{id}'");
        let excused = chapter.diagnostics.iter().any(|d| d.is_error() && d.message == reported)
            || (ignore_known_bugs() && duplicate_from_raw_html(markdown, id));
        if !excused {
            return Err(e);
        }
        let attribute = format!(" id=\"{}\"", folio::text::escaped(id));
        let mut copies = 0;
        body = body.split(&attribute).enumerate().fold(String::with_capacity(body.len()), |mut out, (i, piece)| {
            match i {
                0 => {}
                1 => out.push_str(&attribute),
                _ => {
                    copies += 1;
                    out.push_str(&format!(" id=\"{}.fuzz-duplicate-{round}-{copies}\"", folio::text::escaped(id)));
                }
            }
            out.push_str(piece);
            out
        });
        if copies == 0 {
            return Err(e);
        }
    }
    Err("too many duplicate ids".into())
}

fn check_positions(file: &str, text: &str, diagnostics: &[Diagnostic]) {
    for d in diagnostics {
        if let Some(p) = d.position {
            assert!(
                p.line >= 1 && p.column >= 1,
                "{file}: diagnostic at line {}, column {}: {d}\nInput: {text:?}",
                p.line,
                p.column
            );
        }
    }
}

/// What the `sanitize` target feeds, chosen by the first input byte (`byte % 3`; ASCII `'0'`, `'1'`
/// and `'2'` pick them in this order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sanitized {
    /// An SVG file, through `folio::sanitize::svg::sanitize`.
    Svg,
    /// A stylesheet, through `folio::sanitize::css::rewrite`.
    Css,
    /// Raw HTML (inline SVG, `style` attributes), through `folio::render::html::sanitize`.
    Html,
}

impl Sanitized {
    pub const ALL: [Sanitized; 3] = [Sanitized::Svg, Sanitized::Css, Sanitized::Html];

    pub fn from_selector(byte: u8) -> Self {
        Self::ALL[usize::from(byte % 3)]
    }
}

/// One input through its sanitiser, checked for the promises of `SECURITY.md`.
pub fn check_sanitized(kind: Sanitized, data: &[u8]) {
    match kind {
        Sanitized::Svg => check_svg(data),
        Sanitized::Css => check_css(&String::from_utf8_lossy(data)),
        Sanitized::Html => check_inline_html(&String::from_utf8_lossy(data)),
    }
}

/// What the resolver of the SVG check gives for a relative image path: even lengths resolve,
/// odd ones are refused, so both paths are taken.
const RESOLVED: &str = "resolved.png";

/// An SVG file: no panic; refused with an error, or well-formed XML without a DOCTYPE, `<svg>` at
/// the root, only allow-listed elements and attributes, no handler, and every URL inside the SVG, a
/// checked `data:` raster image, or what the resolver gave.
pub fn check_svg(data: &[u8]) {
    let mut resolve = |href: &str, _: usize| match href.len() % 2 {
        0 => Ok(RESOLVED.to_string()),
        _ => Err("refused".to_string()),
    };
    let out = folio::sanitize::svg::sanitize(data, &mut resolve);
    let input = String::from_utf8_lossy(data);
    let Some(svg) = out.svg else {
        assert!(
            out.findings.iter().any(|f| f.severity == folio::diagnostic::Severity::Error),
            "refused without an error\nInput: {input:?}"
        );
        return;
    };
    let document = roxmltree::Document::parse(&svg)
        .unwrap_or_else(|e| panic!("sanitised SVG is not well-formed ({e})\nInput: {input:?}\nOutput: {svg}"));
    let root = document.root_element();
    assert_eq!(root.tag_name().name(), "svg", "{svg}");
    for node in document.descendants().filter(roxmltree::Node::is_element) {
        let name = node.tag_name().name();
        let fail = |why: &str| panic!("{why} on <{name}>\nInput: {input:?}\nOutput: {svg}");
        if node.tag_name().namespace() != Some(folio::sanitize::svg::SVG_NS)
            || !folio::sanitize::svg::element_allowed(name, false)
        {
            fail("element off the allow-list");
        }
        if name == "style" {
            check_css_output(node.text().unwrap_or_default(), &|url| url.starts_with('#'), &svg);
        }
        for attribute in node.attributes() {
            let qualified = match attribute.namespace() {
                Some("http://www.w3.org/1999/xlink") => format!("xlink:{}", attribute.name()),
                Some("http://www.w3.org/XML/1998/namespace") => format!("xml:{}", attribute.name()),
                Some(_) => fail("attribute in a foreign namespace"),
                None => attribute.name().to_string(),
            };
            if !folio::sanitize::svg::attribute_allowed(&qualified) || qualified.to_ascii_lowercase().starts_with("on")
            {
                fail(&format!("attribute `{qualified}` off the allow-list"));
            }
            let value = attribute.value();
            if attribute.name() == "href" {
                let ok = value.starts_with('#')
                    || value == RESOLVED
                    || folio::sanitize::data_image(value).is_some()
                    || (name == "a" && matches!(folio::sanitize::classify(value), folio::sanitize::UrlKind::Remote));
                if !ok {
                    fail(&format!("href '{value}'"));
                }
            } else {
                check_css_output(value, &|url| url.starts_with('#'), &svg);
            }
        }
    }
}

/// A stylesheet with a policy that keeps fragments and `keep.png`, moves `move.png`, drops the rest:
/// no panic, and the result holds no `@import`, no `expression()`, and no URL but those.
pub fn check_css(css: &str) {
    use folio::sanitize::css::{Verdict, rewrite};
    let out = rewrite(css, &mut |url| match url.value {
        "keep.png" => Verdict::Keep,
        "move.png" => Verdict::Replace("../images/moved.png".into()),
        v if v.starts_with('#') => Verdict::Keep,
        _ => Verdict::Drop,
    });
    if out.refused {
        assert!(out.css.is_empty());
        return;
    }
    check_css_output(&out.css, &|url| url.starts_with('#') || url == "keep.png" || url == "../images/moved.png", css);
}

/// Raw HTML in a chapter: every SVG element allow-listed, no script element anywhere, no handler,
/// no script URL, and CSS in `style` attributes pointing inside the document only.
pub fn check_inline_html(html: &str) {
    use folio::render::html::{Ids, Reference, sanitize};
    let rewrite = |reference: &Reference| match reference {
        Reference::Image(src) | Reference::Link(src) => Some(format!("../images/{}", src.len())),
    };
    let out = sanitize(html, &rewrite, &mut Ids::default()).xhtml;
    let document = body_document(&out);
    let parsed = roxmltree::Document::parse(&document)
        .unwrap_or_else(|e| panic!("sanitised HTML is not well-formed ({e})\nInput: {html:?}\nOutput: {out}"));
    for node in parsed.descendants().filter(roxmltree::Node::is_element) {
        let name = node.tag_name().name();
        let fail = |why: &str| panic!("{why} on <{name}>\nInput: {html:?}\nOutput: {out}");
        if name.eq_ignore_ascii_case("script") || name.eq_ignore_ascii_case("handler") {
            fail("script element");
        }
        if node.tag_name().namespace() == Some(folio::sanitize::svg::SVG_NS)
            && !folio::sanitize::svg::element_allowed(name, true)
        {
            fail("SVG element off the allow-list");
        }
        if node.tag_name().namespace() == Some("http://www.w3.org/1998/Math/MathML")
            && !folio::sanitize::mathml::element_allowed(name)
        {
            fail("MathML element off the allow-list");
        }
        for attribute in node.attributes() {
            let value = attribute.value();
            if attribute.name().to_ascii_lowercase().starts_with("on") {
                fail("event handler");
            }
            if attribute.namespace() == Some("http://www.w3.org/XML/1998/namespace") && attribute.name() == "base" {
                fail("xml:base");
            }
            if matches!(attribute.name(), "href" | "src") && !value.starts_with('#') && !value.starts_with("../images/")
            {
                fail(&format!("URL '{value}'"));
            }
            if attribute.name() == "style" || node.tag_name().namespace() == Some(folio::sanitize::svg::SVG_NS) {
                check_css_output(value, &|url| url.starts_with('#'), &format!("{out}\nInput: {html:?}"));
            }
        }
    }
}

/// Tokenises CSS (independently of folio's walk) and checks every URL against `allowed`; no `@import`,
/// no `expression()`.
pub fn check_css_output(css: &str, allowed: &dyn Fn(&str) -> bool, context: &str) {
    fn walk<'i>(
        parser: &mut cssparser::Parser<'i>,
        allowed: &dyn Fn(&str) -> bool,
        url_function: bool,
    ) -> Result<(), String> {
        let mut seen_string = false;
        while let Ok(token) = parser.next_including_whitespace_and_comments() {
            let token = token.clone();
            match &token {
                cssparser::Token::UnquotedUrl(url) if !allowed(url) => return Err(format!("url({url})")),
                cssparser::Token::AtKeyword(name) if name.eq_ignore_ascii_case("import") => {
                    return Err("@import".into());
                }
                cssparser::Token::QuotedString(url) if url_function && !seen_string => {
                    seen_string = true;
                    if !allowed(url) {
                        return Err(format!("url(\"{url}\")"));
                    }
                }
                cssparser::Token::Function(name) if name.eq_ignore_ascii_case("expression") => {
                    return Err("expression()".into());
                }
                _ => {}
            }
            if matches!(
                token,
                cssparser::Token::Function(_)
                    | cssparser::Token::ParenthesisBlock
                    | cssparser::Token::SquareBracketBlock
                    | cssparser::Token::CurlyBracketBlock
            ) {
                let inner_is_url = matches!(&token, cssparser::Token::Function(n)
                    if ["url", "src", "image-set", "-webkit-image-set", "image", "-webkit-image"].iter().any(|f| n.eq_ignore_ascii_case(f)));
                let result = parser
                    .parse_nested_block(|p| walk(p, allowed, inner_is_url).map_err(cssparser::ParseError::custom));
                match result {
                    Ok(()) => {}
                    Err(cssparser::ParseError { kind: cssparser::ParseErrorKind::Custom(e), .. }) => return Err(e),
                    // Too deep for cssparser (75 blocks): folio refuses what it cannot check below 64.
                    Err(_) => return Err("nesting too deep to check".into()),
                }
            }
        }
        Ok(())
    }
    let mut parser = cssparser::Parser::new(css);
    if let Err(e) = walk(&mut parser, allowed, false) {
        panic!("CSS holds {e}: {css:?}\nIn: {context}");
    }
}
