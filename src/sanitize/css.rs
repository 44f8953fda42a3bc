//! CSS → the same CSS with every URL decided on: kept, pointed elsewhere, or dropped with the
//! declaration or rule that holds it.
//!
//! cssparser tokenizes the text exactly as a browser does, escapes included (`u\72l(` is `url(`),
//! and the walk visits every token of every block, down to [`MAX_NESTING`] blocks deep. A URL is a
//! `url(…)` token or function, a `src("…")` function, a string in `image-set()` or `image()`, or
//! the string of an `@import`. Everything that is not a URL is left as the author wrote it; a
//! statement (declaration or rule) holding a dropped URL, `@import` or an IE `expression()` is cut
//! out whole, from the delimiter before it to the one after it, so no token is split.
//!
//! The result is checked by walking it again: a URL in it that the first walk did not accept, or
//! nesting too deep to check, and the whole text is refused. That makes the promise hold even if
//! cutting text were ever to make tokens the first walk did not see.

use std::collections::HashSet;
use std::ops::Range;

use cssparser::{ParseError, Parser, Token};

/// Blocks (`{}`, `()`, `[]`, functions) nested deeper than this make the CSS refused: the walk
/// follows them by recursion, and no real stylesheet comes near.
pub const MAX_NESTING: u8 = 64;

/// A URL found in CSS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url<'a> {
    /// The URL, escapes resolved.
    pub value: &'a str,
    /// Byte offset of its token in the CSS.
    pub offset: usize,
    /// It is what an `@import` rule imports: the rule is dropped whatever the verdict.
    pub import: bool,
}

/// What to do with a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Keep it as it is.
    Keep,
    /// Write this URL instead.
    Replace(String),
    /// Drop the declaration or rule that holds it.
    Drop,
}

/// CSS after [`rewrite`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewritten {
    /// The CSS to package (empty when refused).
    pub css: String,
    /// Byte offsets of `expression()` functions dropped (IE's scripts in CSS).
    pub scripts: Vec<usize>,
    /// The CSS nests blocks deeper than [`MAX_NESTING`], or the check of the result found a URL the walk
    /// did not accept: `css` is empty.
    pub refused: bool,
}

/// Rewrites every URL of `css` (a stylesheet, a `<style>` element or a `style` attribute's
/// declarations) as `decide` says.
pub fn rewrite(css: &str, decide: &mut dyn FnMut(&Url<'_>) -> Verdict) -> Rewritten {
    let mut walker =
        Walker { decide, edits: Vec::new(), accepted: HashSet::new(), scripts: Vec::new(), too_deep: false };
    walker.walk(css);
    let Walker { edits, accepted, scripts, too_deep, .. } = walker;
    let refused = Rewritten { css: String::new(), scripts: scripts.clone(), refused: true };
    if too_deep {
        return refused;
    }
    let mut out = String::with_capacity(css.len());
    let mut at = 0;
    for (range, replacement) in &edits {
        out.push_str(&css[at..range.start]);
        out.push_str(replacement);
        at = range.end;
    }
    out.push_str(&css[at..]);
    // The check: every URL left must be one the walk accepted, and nothing may need cutting.
    let mut unchecked = false;
    let mut check = |url: &Url<'_>| {
        if url.import || !accepted.contains(url.value) {
            unchecked = true;
        }
        Verdict::Keep
    };
    let mut checker = Walker {
        decide: &mut check,
        edits: Vec::new(),
        accepted: HashSet::new(),
        scripts: Vec::new(),
        too_deep: false,
    };
    checker.walk(&out);
    let clean = !checker.too_deep && checker.edits.is_empty() && checker.scripts.is_empty();
    if !clean || unchecked {
        return refused;
    }
    Rewritten { css: out, scripts, refused: false }
}

/// `css` with every URL but fragments (`#id`) dropped: for `style` attributes and `<style>` elements,
/// whose CSS may only point inside its own document.
pub fn fragments_only(css: &str) -> Rewritten {
    rewrite(css, &mut |url| match super::classify(url.value) {
        super::UrlKind::Fragment => Verdict::Keep,
        _ => Verdict::Drop,
    })
}

/// True when a CSS value may hold a URL or a function at all: both start with a literal `(` (an
/// escaped one is part of a name), so a value without one needs no walk.
pub fn may_hold_urls(value: &str) -> bool {
    value.contains('(')
}

/// What the tokens inside a function are.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Inside {
    /// `url("…")`, `src("…")`: one string, the URL, and nothing else.
    UrlFunction,
    /// `image-set()`, `image()`: strings are URLs.
    Images,
    /// Anything else.
    Other,
}

struct Walker<'d> {
    decide: &'d mut dyn FnMut(&Url<'_>) -> Verdict,
    /// Replacements in order, none overlapping.
    edits: Vec<(Range<usize>, String)>,
    /// URLs as they are written in the result.
    accepted: HashSet<String>,
    scripts: Vec<usize>,
    too_deep: bool,
}

impl Walker<'_> {
    fn walk(&mut self, css: &str) {
        let mut parser = Parser::new(css);
        parser.set_nested_block_limit(MAX_NESTING);
        self.statements(&mut parser);
    }

    /// Walks the content of a block whose opening token was just read.
    fn nested<'i>(&mut self, p: &mut Parser<'i>, walk: impl FnOnce(&mut Self, &mut Parser<'i>) -> bool) -> bool {
        let mut drop = false;
        let walked = p.parse_nested_block(|p| {
            drop = walk(self, p);
            Ok::<(), ParseError<()>>(())
        });
        if walked.is_err() {
            self.too_deep = true;
        }
        drop
    }

    /// The statements of one level: a stylesheet, a block of rules or declarations, a `style` attribute.
    fn statements(&mut self, p: &mut Parser<'_>) -> bool {
        let mut start = p.position().byte_index();
        let mut at_rule: Option<String> = None;
        let mut empty = true;
        let mut drop = false;
        loop {
            let before = p.position().byte_index();
            let Ok(token) = p.next_including_whitespace_and_comments().cloned() else { break };
            match token {
                Token::WhiteSpace(_) | Token::Comment(_) => continue,
                Token::Semicolon | Token::CurlyBracketBlock => {
                    let import = at_rule.as_deref() == Some("import");
                    if token == Token::CurlyBracketBlock {
                        // A block that goes is still read to its end, so that it goes whole.
                        let skip = drop || import;
                        self.nested(p, |w, p| {
                            if !skip {
                                return w.statements(p);
                            }
                            while p.next_including_whitespace_and_comments().is_ok() {}
                            false
                        });
                    }
                    let end = p.position().byte_index();
                    self.end_statement(start..end, drop || import);
                    (start, at_rule, empty, drop) = (end, None, true, false);
                    continue;
                }
                Token::AtKeyword(ref name) if empty => at_rule = Some(name.to_ascii_lowercase()),
                // Where no browser would import (inside a rule's prelude), but no reason to keep it either.
                Token::AtKeyword(ref name) if name.eq_ignore_ascii_case("import") => drop = true,
                // A namespace is a name, never fetched: `url(…)` there is written as the string it stands for.
                _ if at_rule.as_deref() == Some("namespace") => drop |= self.namespace_token(p, &token, before),
                Token::QuotedString(ref value) if at_rule.as_deref() == Some("import") => {
                    self.url(value, before..p.position().byte_index(), true);
                }
                _ => drop |= self.value_token(p, &token, before, at_rule.as_deref() == Some("import")),
            }
            empty = false;
        }
        let end = p.position().byte_index();
        self.end_statement(start..end, drop || at_rule.as_deref() == Some("import"));
        false
    }

    /// A token of an `@namespace` rule: a `url(…)` becomes a string, which names the same namespace;
    /// anything but a prefix or a string, and the rule is dropped (true).
    fn namespace_token(&mut self, p: &mut Parser<'_>, token: &Token<'_>, before: usize) -> bool {
        let name = match token {
            Token::Ident(_) | Token::QuotedString(_) => return false,
            Token::UnquotedUrl(name) => Some(name.to_string()),
            Token::Function(function) if function.eq_ignore_ascii_case("url") => {
                let mut found = None;
                let extra = self.nested(p, |w, p| w.function(p, Inside::UrlFunction, false, &mut found));
                found.filter(|_| !extra)
            }
            _ => return true,
        };
        let mut string = String::new();
        let _ = cssparser::serialize_string(name.as_deref().unwrap_or(""), &mut string);
        self.edits.push((before..p.position().byte_index(), string));
        false
    }

    /// Closes a statement; a dropped one is cut out with the edits made inside it.
    fn end_statement(&mut self, range: Range<usize>, drop: bool) {
        if drop {
            while self.edits.last().is_some_and(|(r, _)| r.start >= range.start) {
                self.edits.pop();
            }
            self.edits.push((range, String::new()));
        }
    }

    /// Looks at one token of a statement (and inside it, when it opens a block); true to drop the statement.
    fn value_token(&mut self, p: &mut Parser<'_>, token: &Token<'_>, before: usize, import: bool) -> bool {
        match token {
            Token::UnquotedUrl(value) => self.url(value, before..p.position().byte_index(), import),
            Token::BadUrl(_) => true,
            Token::Function(name) => {
                let name = name.to_ascii_lowercase();
                if name == "expression" {
                    self.scripts.push(before);
                    return true;
                }
                let inside = match name.as_str() {
                    "url" | "src" => Inside::UrlFunction,
                    "image-set" | "-webkit-image-set" | "image" | "-webkit-image" => Inside::Images,
                    _ => Inside::Other,
                };
                let mut found: Option<String> = None;
                let drop = self.nested(p, |w, p| w.function(p, inside, import, &mut found));
                match (inside, found) {
                    (Inside::UrlFunction, Some(value)) if !drop => {
                        self.url(&value, before..p.position().byte_index(), import)
                    }
                    // `url()` with no string is no URL at all; a reader drops the declaration.
                    (Inside::UrlFunction, None) => true,
                    _ => drop,
                }
            }
            Token::ParenthesisBlock | Token::SquareBracketBlock | Token::CurlyBracketBlock => {
                let mut found = None;
                self.nested(p, |w, p| w.function(p, Inside::Other, import, &mut found))
            }
            _ => false,
        }
    }

    /// The tokens inside a function or a bracketed block; true to drop the statement.
    fn function(&mut self, p: &mut Parser<'_>, inside: Inside, import: bool, found: &mut Option<String>) -> bool {
        let mut drop = false;
        loop {
            let before = p.position().byte_index();
            let Ok(token) = p.next_including_whitespace_and_comments().cloned() else { break };
            match (&token, inside) {
                (Token::WhiteSpace(_) | Token::Comment(_), _) => {}
                (Token::QuotedString(value), Inside::UrlFunction) if found.is_none() => {
                    *found = Some(value.to_string());
                }
                // `url("a" x)`: modifiers folio cannot vouch for.
                (_, Inside::UrlFunction) => drop = true,
                (Token::AtKeyword(name), _) if name.eq_ignore_ascii_case("import") => drop = true,
                (Token::QuotedString(value), Inside::Images) => {
                    let end = p.position().byte_index();
                    drop |= self.string_url(value, before..end, import);
                }
                _ => drop |= self.value_token(p, &token, before, import),
            }
        }
        drop
    }

    /// Decides on a URL written as a whole `url(…)`; true to drop the statement.
    fn url(&mut self, value: &str, range: Range<usize>, import: bool) -> bool {
        self.decided(value, range, import, |new| {
            let mut out = String::from("url(");
            let _ = cssparser::serialize_string(new, &mut out);
            out.push(')');
            out
        })
    }

    /// Decides on a URL written as a plain string (in `image-set()`); true to drop the statement.
    fn string_url(&mut self, value: &str, range: Range<usize>, import: bool) -> bool {
        self.decided(value, range, import, |new| {
            let mut out = String::new();
            let _ = cssparser::serialize_string(new, &mut out);
            out
        })
    }

    fn decided(&mut self, value: &str, range: Range<usize>, import: bool, write: impl Fn(&str) -> String) -> bool {
        match (self.decide)(&Url { value, offset: range.start, import }) {
            _ if import => true,
            Verdict::Keep => {
                self.accepted.insert(value.to_string());
                false
            }
            Verdict::Replace(new) => {
                self.edits.push((range, write(&new)));
                self.accepted.insert(new);
                false
            }
            Verdict::Drop => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rewrites with a policy: `keep.png` kept, `move.png` moved to `../images/moved.png`, the rest dropped;
    /// also returns the URLs seen.
    fn run(css: &str) -> (String, Vec<(String, bool)>) {
        let mut seen = Vec::new();
        let out = rewrite(css, &mut |url| {
            seen.push((url.value.to_string(), url.import));
            match url.value {
                "keep.png" | "#f" => Verdict::Keep,
                "move.png" => Verdict::Replace("../images/moved.png".into()),
                _ => Verdict::Drop,
            }
        });
        assert!(!out.refused, "{css}");
        (out.css, seen)
    }

    #[test]
    fn urls_are_found_however_they_are_written() {
        let (out, seen) =
            run("a{background:url(keep.png);color:red}\nb{background:u\\72l( move.png );x:url(\"move.png\")}\n\
             c { background: URL('http://x/y.png'); color: blue }");
        assert_eq!(
            out,
            "a{background:url(keep.png);color:red}\nb{background:url(\"../images/moved.png\");x:url(\"../images/moved.png\")}\n\
             c { color: blue }"
        );
        assert_eq!(seen.len(), 4);
    }

    #[test]
    fn imports_and_scripts_go_whole() {
        let (out, seen) =
            run("@import url(keep.png) screen;\n@import \"other.css\";p{width:expression(alert(1));color:red}");
        assert_eq!(out, "p{color:red}");
        assert_eq!(seen, [("keep.png".to_string(), true), ("other.css".to_string(), true)]);
        let (out, seen) = run("@namespace epub \"http://www.idpf.org/2007/ops\";\n@namespace url(http://x);");
        assert_eq!(out, "@namespace epub \"http://www.idpf.org/2007/ops\";\n@namespace \"http://x\";");
        assert!(seen.is_empty());
    }

    #[test]
    fn strings_in_image_functions_and_nested_rules_are_urls() {
        let (out, _) = run("@media screen { p { background-image: image-set(\"move.png\" 1x, url(keep.png) 2x) } }\n\
             @font-face { font-family: X; src: url(gone.woff) format('woff') }");
        assert_eq!(
            out,
            "@media screen { p { background-image: image-set(\"../images/moved.png\" 1x, url(keep.png) 2x) } }\n\
             @font-face { font-family: X;}"
        );
        let (out, _) = run("p{mask:url(\"keep.png\" extra);filter:url(#f);x:url()}");
        assert_eq!(out, "p{filter:url(#f);}");
        let (out, _) = run("p{background:url(bad url)} q{color:red}");
        assert_eq!(out, "p{} q{color:red}");
        let (out, _) = run("@import url(x.css) { a { b: c } } q{color:red}");
        assert_eq!(out, " q{color:red}");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let deep = format!("p{{{}}}", "(".repeat(10_000));
        assert!(rewrite(&deep, &mut |_| Verdict::Keep).refused);
        assert!(!rewrite(&"(".repeat(30), &mut |_| Verdict::Keep).refused);
    }

    #[test]
    fn style_attributes_keep_fragments_only() {
        assert_eq!(fragments_only("color:red;background:u\\72l(x.png)").css, "color:red;");
        assert_eq!(fragments_only("fill:url(#g) red; stroke: url( 'javascript:x' )").css, "fill:url(#g) red;");
        assert!(!may_hold_urls("u\\72l\\28 x"));
    }
}
