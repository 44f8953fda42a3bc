//! TeX formulas → MathML, with math-core (LaTeX to MathML Core).
//!
//! Formulas come from pulldown-cmark's math option (`$…$`, `$$…$$`, on with `[epub] math = true`) or
//! from mdBook's MathJax delimiters (`\\( … \\)`, `\\[ … \\]`, on with `[output.html]
//! mathjax-support = true`), found by [`mathjax_delimiters`] in the text Markdown leaves, as MathJax
//! finds them in the page mdBook writes. Each `<math>` carries its TeX twice, for readers and screen
//! readers that cannot lay out MathML: as `alttext` and as a TeX `<annotation>` in `<semantics>`. The
//! MathML is passed through folio's own sanitizer like any raw MathML, so a formula can never carry
//! more than an author's `<math>` could.

use std::ops::Range;
use std::sync::LazyLock;

use math_core::{LatexToMathML, MathCoreConfig, MathDisplay};
use pulldown_cmark::{CowStr, Event, Tag, TagEnd};

use super::html::{self, Reference};
use super::math_image::Drawn;
use crate::text::escape;

/// One converter for the whole process: it holds no state between formulas.
static CONVERTER: LazyLock<LatexToMathML> = LazyLock::new(|| {
    LatexToMathML::new(MathCoreConfig { annotation: true, ..MathCoreConfig::default() }).expect("no macros to parse")
});

/// math-core's parser recurses once for each group, command or script it opens, with no limit of its
/// own, and a level takes some 20 KB of stack in a debug build: a hundred nested braces would overflow a
/// 2 MiB thread and abort the build. Each `{`, `\\`, `^` and `_` opens at most one level, so their count
/// bounds the depth. Formulas with few of them convert where they are; the others on a thread with room
/// for every level; beyond [`MAX_LEVELS`], not at all.
const LEVELS_ON_ANY_STACK: usize = 40;
/// The most groups, commands and scripts a formula may have (a 20 × 20 matrix of fractions has 1,200).
pub const MAX_LEVELS: usize = 4_000;
const STACK_PER_LEVEL: usize = 64 << 10;

fn convert(tex: &str, layout: MathDisplay) -> Result<String, String> {
    let run = || {
        CONVERTER
            .convert_with_local_state(tex, layout)
            .map(|converted| converted.mathml)
            .map_err(|e| lower_first(e.error_message().trim().trim_end_matches('.')))
    };
    let levels = tex.bytes().filter(|b| matches!(b, b'{' | b'\\' | b'^' | b'_')).count();
    if levels <= LEVELS_ON_ANY_STACK {
        return run();
    }
    if levels > MAX_LEVELS {
        return Err(format!("it has {levels} groups, commands and scripts, and folio converts at most {MAX_LEVELS}"));
    }
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new().stack_size((levels + 16) * STACK_PER_LEVEL).spawn_scoped(scope, run);
        match thread.map(|t| t.join()) {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err("the converter failed on it".to_string()),
            Err(e) => Err(format!("no thread to convert it on: {e}")),
        }
    })
}

/// Converts one formula (without its delimiters) to sanitized MathML, `display="block"` for display
/// math, with `image` as its `altimg` when given; or says, in lower case without a final period, why
/// it cannot.
pub fn to_mathml(tex: &str, display: bool, image: Option<&Drawn>) -> Result<String, String> {
    let layout = if display { MathDisplay::Block } else { MathDisplay::Inline };
    let mathml = convert(tex, layout)?;
    // math-core writes `<math` first; the sanitizer adds the namespace.
    let rest = mathml.strip_prefix("<math").expect("math-core writes a <math> element");
    let mut tagged = String::with_capacity(mathml.len() + tex.len() + 16);
    tagged.push_str("<math alttext=\"");
    escape(&mut tagged, tex.trim());
    tagged.push('"');
    if let Some(image) = image {
        tagged.push_str(&image.altimg());
    }
    let image_src = image.map(|image| image.image.src());
    tagged.push_str(rest);
    // The formula's own image is the only reference kept. `\label` gives an equation's number an id.
    // Each formula is converted on its own, so `\eqref` reaches only labels of its own formula, and an
    // id could clash with the chapter's: ids are left out.
    let keep_image = |reference: &Reference| match reference {
        Reference::Image(src) if image_src.as_ref() == Some(src) => Some(src.clone()),
        _ => None,
    };
    Ok(html::sanitize_without_ids(&tagged, &keep_image).xhtml)
}

fn lower_first(message: &str) -> String {
    let mut chars = message.chars();
    chars.next().map(|c| c.to_lowercase().chain(chars).collect()).unwrap_or_default()
}

/// What stands in for a formula that could not be converted: its TeX, as code.
pub fn fallback(tex: &str) -> String {
    let mut out = String::from("<code class=\"tex\">");
    escape(&mut out, tex.trim());
    out.push_str("</code>");
    out
}

/// A formula in the text Markdown left, with its place in both.
struct Found {
    /// Byte range of the formula, delimiters included, in the merged text of a run of events.
    merged: Range<usize>,
    /// The TeX between the delimiters.
    tex: Range<usize>,
    display: bool,
}

/// Replaces mdBook's MathJax delimiters in the text of `events` by pulldown-cmark's math events, so that
/// formulas written either way render alike. MathJax sees the page after Markdown took one backslash of
/// each pair, so `\\(` in the source is `\(` in the text: formulas are found in runs of text events (text
/// and line breaks, outside code), whose events are kept as they are wherever no formula touches them.
pub fn mathjax_delimiters<'a>(events: Vec<(Event<'a>, Range<usize>)>, source: &str) -> Vec<(Event<'a>, Range<usize>)> {
    let mut out = Vec::with_capacity(events.len());
    let mut run: Vec<(Event<'a>, Range<usize>)> = Vec::new();
    let mut in_code = false;
    for (event, range) in events {
        let textual = !in_code && matches!(event, Event::Text(_) | Event::SoftBreak | Event::HardBreak);
        match &event {
            Event::Start(Tag::CodeBlock(_)) => in_code = true,
            Event::End(TagEnd::CodeBlock) => in_code = false,
            _ => {}
        }
        if textual {
            run.push((event, range));
        } else {
            flush(&mut run, &mut out, source);
            out.push((event, range));
        }
    }
    flush(&mut run, &mut out, source);
    out
}

/// The text an event adds to a run.
fn event_text<'e>(event: &'e Event<'_>) -> &'e str {
    match event {
        Event::Text(t) => t,
        _ => "\n",
    }
}

/// Formulas between `\(` and `\)` or `\[` and `\]` in `text`; `\\` (a TeX line break) never opens or closes one.
fn find_formulas(text: &str) -> Vec<Found> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i + 1 < bytes.len() {
        if bytes[i] != b'\\' {
            i += 1;
            continue;
        }
        let (display, close) = match bytes[i + 1] {
            b'(' => (false, b')'),
            b'[' => (true, b']'),
            _ => {
                i += 2;
                continue;
            }
        };
        let mut j = i + 2;
        while j + 1 < bytes.len() && !(bytes[j] == b'\\' && bytes[j + 1] == close) {
            j += if bytes[j] == b'\\' { 2 } else { 1 };
        }
        if j + 1 < bytes.len() {
            found.push(Found { merged: i..j + 2, tex: i + 2..j, display });
            i = j + 2;
        } else {
            i += 2;
        }
    }
    found
}

/// Characters smart punctuation writes for `'`, `"`, `--`, `---` and `...`.
const SMART: &[&str] = &["\u{2018}", "\u{2019}", "\u{201c}", "\u{201d}", "\u{2013}", "\u{2014}", "\u{2026}"];

/// A run of text events, with the text they make together.
struct Run<'r, 'a> {
    events: &'r [(Event<'a>, Range<usize>)],
    /// Where each event starts in `merged`, and where the last ends.
    starts: Vec<usize>,
    merged: String,
    source: &'r str,
}

impl<'a> Run<'_, 'a> {
    /// The source offset of an offset in the merged text: exact inside text that Markdown left as written.
    fn source_at(&self, offset: usize) -> usize {
        let i = self.starts.partition_point(|&s| s <= offset).saturating_sub(1).min(self.events.len() - 1);
        let (event, range) = &self.events[i];
        if self.source.get(range.clone()) == Some(event_text(event)) {
            range.start + (offset - self.starts[i]).min(range.len())
        } else {
            range.start
        }
    }

    /// The events overlapping `range` of the merged text, each with the part of `range` it covers.
    fn overlapping(&self, range: Range<usize>) -> impl Iterator<Item = (usize, Range<usize>)> + '_ {
        (0..self.events.len()).filter_map(move |i| {
            let part = range.start.max(self.starts[i])..range.end.min(self.starts[i + 1]);
            (!part.is_empty()).then_some((i, part))
        })
    }

    /// A formula's TeX. Smart punctuation is undone: `f'(x)` is a prime, not a quotation mark.
    fn tex(&self, range: Range<usize>) -> String {
        let mut tex = String::with_capacity(range.len());
        for (i, part) in self.overlapping(range) {
            let written = self.source.get(self.events[i].1.clone()).unwrap_or("");
            let whole = part == (self.starts[i]..self.starts[i + 1]);
            if whole && SMART.contains(&event_text(&self.events[i].0)) && written.bytes().all(|b| b"'\"-.".contains(&b))
            {
                tex.push_str(written);
            } else {
                tex.push_str(&self.merged[part]);
            }
        }
        tex
    }

    /// The events of the merged text in `range`: those wholly inside as they were, parts of others as text.
    fn events_in(&self, range: Range<usize>, out: &mut Vec<(Event<'a>, Range<usize>)>) {
        for (i, part) in self.overlapping(range) {
            if part == (self.starts[i]..self.starts[i + 1]) {
                out.push(self.events[i].clone());
            } else {
                let source = self.source_at(part.start)..self.source_at(part.end);
                out.push((Event::Text(CowStr::from(self.merged[part].to_string())), source));
            }
        }
    }
}

/// Writes a run of text events to `out`, with its formulas as math events.
fn flush<'a>(run: &mut Vec<(Event<'a>, Range<usize>)>, out: &mut Vec<(Event<'a>, Range<usize>)>, source: &str) {
    if !run.iter().any(|(e, _)| event_text(e).contains('\\')) {
        out.append(run);
        return;
    }
    let mut starts = Vec::with_capacity(run.len() + 1);
    let mut merged = String::new();
    for (event, _) in run.iter() {
        starts.push(merged.len());
        merged.push_str(event_text(event));
    }
    starts.push(merged.len());
    let found = find_formulas(&merged);
    if found.is_empty() {
        out.append(run);
        return;
    }
    let run_text = Run { events: run, starts, merged, source };
    let mut at = 0;
    for formula in found {
        run_text.events_in(at..formula.merged.start, out);
        let tex = CowStr::from(run_text.tex(formula.tex));
        let event = if formula.display { Event::DisplayMath(tex) } else { Event::InlineMath(tex) };
        // Markdown left one backslash of `\\(`: the formula starts at the other.
        let start = run_text.source_at(formula.merged.start);
        let start = if source[..start].ends_with('\\') { start - 1 } else { start };
        out.push((event, start..run_text.source_at(formula.merged.end)));
        at = formula.merged.end;
    }
    run_text.events_in(at..run_text.merged.len(), out);
    run.clear();
}

#[cfg(test)]
mod tests {
    use pulldown_cmark::{Options, Parser};

    use super::*;

    const MATHML: &str = "xmlns=\"http://www.w3.org/1998/Math/MathML\"";

    #[test]
    fn an_image_of_the_formula_is_its_altimg_after_its_alttext() {
        let at = crate::diagnostic::Location { path: "a.md".into(), position: None };
        let image = super::super::math_image::draw("x^2", false, at).unwrap();
        let mathml = to_mathml(" x^2 ", false, Some(&image)).unwrap();
        let src = image.image.src();
        assert!(
            mathml.starts_with(&format!("<math {MATHML} alttext=\"x^2\" altimg=\"{src}\" altimg-width=\"")),
            "{mathml}"
        );
        assert!(mathml.contains(" altimg-height=\"") && mathml.contains(" altimg-valign=\""), "{mathml}");
        assert_eq!(mathml.replace(&image.altimg(), ""), to_mathml(" x^2 ", false, None).unwrap());
    }

    #[test]
    fn formulas_carry_their_tex_twice() {
        assert_eq!(
            to_mathml(" x^2 ", false, None).unwrap(),
            format!(
                "<math {MATHML} alttext=\"x^2\"><semantics><msup><mi>x</mi><mn>2</mn></msup><annotation encoding=\"application/x-tex\"> x^2 </annotation></semantics></math>"
            )
        );
        let block = to_mathml("\\frac{a}{b} < c", true, None).unwrap();
        assert!(
            block.starts_with(&format!(
                "<math {MATHML} alttext=\"\\frac{{a}}{{b}} &lt; c\" display=\"block\"><semantics><mrow><mfrac>"
            )),
            "{block}"
        );
        assert!(
            block.ends_with(
                "<annotation encoding=\"application/x-tex\">\\frac{a}{b} &lt; c</annotation></semantics></math>"
            ),
            "{block}"
        );
    }

    #[test]
    fn the_sanitizer_keeps_every_element_math_core_writes() {
        let elements = |xml: &str| -> std::collections::BTreeSet<String> {
            let document = roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("{e}: {xml}"));
            document.descendants().filter(|n| n.is_element()).map(|n| n.tag_name().name().to_string()).collect()
        };
        for (tex, display) in [
            ("\\sum_{i=0}^N x_i", true),
            ("\\textbf{bold}\\ \\mathrm{d}x \\quad \\text{if } x > 0", false),
            ("\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", true),
            ("\\begin{align} a &= b \\\\ c &= d \\end{align}", true),
            ("\\not\\equiv \\cancel{x} \\sqrt[3]{y} \\overbrace{a+b}^{n}", false),
            ("\\left( \\int_0^\\infty e^{-t^2}\\,dt \\right)", true),
        ] {
            let layout = if display { MathDisplay::Block } else { MathDisplay::Inline };
            let written = elements(&convert(tex, layout).unwrap());
            let kept = elements(&to_mathml(tex, display, None).unwrap());
            assert!(written.is_subset(&kept), "{tex}: {:?} removed", written.difference(&kept).collect::<Vec<_>>());
        }
    }

    #[test]
    fn equation_labels_leave_no_ids() {
        let mathml = to_mathml("\\begin{equation} a = b \\label{eq:one} \\end{equation}", true, None).unwrap();
        assert!(!mathml.contains(" id="), "{mathml}");
        assert!(mathml.contains("<mtext>(1)</mtext>"), "{mathml}");
    }

    /// Deep nesting is converted on a stack with room for it, on a thread with the default 2 MiB
    /// stack as rayon's are, and refused past the limit instead of overflowing a stack.
    #[test]
    fn deep_nesting_neither_overflows_nor_aborts() {
        let deep = |n: usize| format!("{}x{}", "{".repeat(n), "}".repeat(n));
        let chain = |n: usize| format!("{}x", "\\frac a".repeat(n));
        let small_stack = std::thread::Builder::new().stack_size(2 << 20);
        let results = small_stack
            .spawn(move || {
                [deep(1_000), chain(1_000), deep(MAX_LEVELS + 1)].map(|tex| to_mathml(&tex, true, None).map(|_| ()))
            })
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(results[..2], [Ok(()), Ok(())]);
        assert_eq!(
            results[2],
            Err(format!(
                "it has {} groups, commands and scripts, and folio converts at most {MAX_LEVELS}",
                MAX_LEVELS + 1
            ))
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]

        /// Whatever TeX an author writes: no panic, and MathML that is well-formed XML and that the
        /// sanitizer leaves as it is.
        #[test]
        fn any_tex_converts_to_sanitized_mathml_or_says_why(
            tex in r#"(\\(frac|sqrt|left|right|begin\{(matrix|cases|align)\}|end\{(matrix|cases|align)\}|text|mathbb|label|tag|eqref|operatorname|not|color|href)|[{}^_&<>'"a-z0-9 ()\[\]|\\#$%]){0,40}"#,
            display in proptest::bool::ANY,
        ) {
            if let Ok(mathml) = to_mathml(&tex, display, None) {
                let wrapped = format!("<body xmlns=\"http://www.w3.org/1999/xhtml\">{mathml}</body>");
                proptest::prop_assert!(roxmltree::Document::parse(&wrapped).is_ok(), "{}", mathml);
                let again = html::sanitize(&mathml, &|_| None, &mut html::Ids::default()).xhtml;
                proptest::prop_assert_eq!(again, mathml);
            }
        }
    }

    #[test]
    fn bad_tex_says_why_and_stays_as_code() {
        assert_eq!(
            to_mathml("\\frac{a", false, None),
            Err("expected closing token \"}\", but reached end of input".into())
        );
        assert_eq!(fallback(" a < \\frac{ "), "<code class=\"tex\">a &lt; \\frac{</code>");
    }

    fn mdbook_events(markdown: &str) -> Vec<(Event<'_>, Range<usize>)> {
        let events = Parser::new_ext(markdown, Options::ENABLE_SMART_PUNCTUATION).into_offset_iter().collect();
        mathjax_delimiters(events, markdown)
    }

    fn math_events<'m>(events: &[(Event<'m>, Range<usize>)]) -> Vec<(Event<'m>, Range<usize>)> {
        events.iter().filter(|(e, _)| matches!(e, Event::InlineMath(_) | Event::DisplayMath(_))).cloned().collect()
    }

    #[test]
    fn mdbook_delimiters_are_found_where_mathjax_finds_them() {
        let inline = "\\\\( \\int x dx \\\\)";
        let display = "\\\\[\n\\mu = \\frac{1}{N}\n\\sum_{i=0} x_i\n\\\\]";
        let markdown = format!("Integrate {inline} *now*, but not `\\\\(code\\\\)`.\n\n{display}\n");
        let at = |formula: &str| {
            let start = markdown.find(formula).unwrap();
            start..start + formula.len()
        };
        let events = mdbook_events(&markdown);
        assert_eq!(
            math_events(&events),
            [
                (Event::InlineMath(" \\int x dx ".into()), at(inline)),
                (Event::DisplayMath("\n\\mu = \\frac{1}{N}\n\\sum_{i=0} x_i\n".into()), at(display)),
            ]
        );
        assert_eq!(events[1], (Event::Text("Integrate ".into()), 0..10));
        assert!(events.iter().any(|(e, _)| *e == Event::Code("\\\\(code\\\\)".into())));
        // Markdown takes one backslash of each pair: `\\\\` is TeX's line break, which closes nothing.
        let events = mdbook_events("\\\\[ a \\\\\\\\] b \\\\]");
        assert_eq!(math_events(&events)[0].0, Event::DisplayMath(" a \\\\] b ".into()));
    }

    #[test]
    fn smart_punctuation_is_undone_inside_formulas_only() {
        let events = mdbook_events("It's \\\\( f'(x) -- 1 \\\\) isn't");
        assert_eq!(math_events(&events)[0].0, Event::InlineMath(" f'(x) -- 1 ".into()));
        assert!(events.iter().filter(|(e, _)| *e == Event::Text("\u{2019}".into())).count() == 2, "{events:?}");
    }

    #[test]
    fn text_without_formulas_keeps_its_events() {
        let markdown = "a \\\\( b\n\nc \\\\) d \\[e\\] f";
        let parsed: Vec<_> = Parser::new(markdown).into_offset_iter().collect();
        assert_eq!(mathjax_delimiters(parsed.clone(), markdown), parsed);
    }
}
