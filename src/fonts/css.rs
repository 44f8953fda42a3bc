//! What the stylesheets may draw that no document's text holds (list markers, `content:` and `quotes:`
//! strings, letters changed in case) and the OpenType features they ask for by name. A plain scan, not a CSS
//! parser: finding too much costs a few glyphs, finding too little would leave a reader without one.

use crate::text::CharSet;

/// Drawn by readers and default stylesheets whatever the book's CSS says: the space, digits and full stop of
/// ordered lists and counters, hyphens where a reader hyphenates, the markers of unordered lists, `<q>`'s
/// quotation marks and the ellipsis of truncated text.
const ALWAYS: &str = " 0123456789.-\u{2010}\u{2022}\u{25e6}\u{25aa}\u{201c}\u{201d}\u{2018}\u{2019}\u{2026}";

/// List style keywords and the characters their markers use.
const LIST_STYLES: &[(&str, &str)] = &[
    ("lower-alpha", "abcdefghijklmnopqrstuvwxyz"),
    ("lower-latin", "abcdefghijklmnopqrstuvwxyz"),
    ("upper-alpha", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    ("upper-latin", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    ("lower-roman", "ivxlcdm"),
    ("upper-roman", "IVXLCDM"),
    ("lower-greek", "αβγδεζηθικλμνξοπρστυφχψω"),
];

/// Keywords that draw letters in another case than the text's.
const CASE_CHANGES: &[&str] = &["uppercase", "lowercase", "capitalize", "small-caps", "petite-caps", "unicase"];

/// `font-variant-*` keywords and the OpenType features they turn on (CSS Fonts 4).
const VARIANT_FEATURES: &[(&str, &[&[u8; 4]])] = &[
    ("all-small-caps", &[b"smcp", b"c2sc"]),
    ("small-caps", &[b"smcp"]),
    ("all-petite-caps", &[b"pcap", b"c2pc"]),
    ("petite-caps", &[b"pcap"]),
    ("unicase", &[b"unic"]),
    ("titling-caps", &[b"titl"]),
    ("oldstyle-nums", &[b"onum"]),
    ("lining-nums", &[b"lnum"]),
    ("proportional-nums", &[b"pnum"]),
    ("tabular-nums", &[b"tnum"]),
    ("diagonal-fractions", &[b"frac"]),
    ("stacked-fractions", &[b"afrc"]),
    ("ordinal", &[b"ordn"]),
    ("slashed-zero", &[b"zero"]),
    ("discretionary-ligatures", &[b"dlig"]),
    ("historical-ligatures", &[b"hlig"]),
    ("historical-forms", &[b"hist"]),
    ("super", &[b"sups"]),
    ("sub", &[b"subs"]),
];

/// Properties whose values may name list marker styles.
const LIST_PROPERTIES: &[&str] = &["list-style", "list-style-type"];

/// Properties whose values may change case or turn on OpenType features.
const VARIANT_PROPERTIES: &[&str] = &[
    "font",
    "font-variant",
    "font-variant-caps",
    "font-variant-numeric",
    "font-variant-ligatures",
    "font-variant-position",
    "font-variant-alternates",
    "text-transform",
];

/// Adds to `characters` what `stylesheets` may draw, and returns the features they name, sorted, each once.
pub fn generated(stylesheets: &[&str], characters: &mut CharSet) -> Vec<[u8; 4]> {
    characters.insert_str(ALWAYS);
    let mut features = Vec::new();
    let mut case_changes = false;
    for css in stylesheets {
        for value in LIST_PROPERTIES.iter().flat_map(|p| values(css, p)) {
            for (keyword, markers) in LIST_STYLES {
                if has_keyword(value, keyword) {
                    characters.insert_str(markers);
                }
            }
        }
        for value in ["content", "quotes"].iter().flat_map(|p| values(css, p)) {
            strings(value).for_each(|s| characters.insert_str(&s));
        }
        for value in values(css, "font-feature-settings") {
            features.extend(strings(value).filter_map(|s| <[u8; 4]>::try_from(s.as_bytes()).ok()));
        }
        for value in VARIANT_PROPERTIES.iter().flat_map(|p| values(css, p)) {
            case_changes |= CASE_CHANGES.iter().any(|k| has_keyword(value, k));
            for (keyword, tags) in VARIANT_FEATURES {
                if has_keyword(value, keyword) {
                    features.extend(tags.iter().map(|t| **t));
                }
            }
        }
    }
    if case_changes {
        let text: Vec<char> = characters.iter().collect();
        for c in text {
            c.to_uppercase().chain(c.to_lowercase()).for_each(|c| characters.insert(c));
        }
    }
    features.sort_unstable();
    features.dedup();
    features
}

/// True when `keyword` stands in `value` as a whole word (`small-caps` is not in `all-small-caps`).
fn has_keyword(value: &str, keyword: &str) -> bool {
    value.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')).any(|word| word.eq_ignore_ascii_case(keyword))
}

/// The values of every declaration of `property` (`content: "x"` → `"x"`), up to `;` or `}` outside strings.
fn values<'a>(css: &'a str, property: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    css.match_indices(property).filter_map(move |(at, _)| {
        let before = css[..at].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-') {
            return None;
        }
        let rest = css[at + property.len()..].trim_start().strip_prefix(':')?;
        let mut quote = None;
        let mut escaped = false;
        for (i, c) in rest.char_indices() {
            match (quote, c) {
                _ if escaped => escaped = false,
                (_, '\\') => escaped = true,
                (Some(q), c) if c == q => quote = None,
                (None, '"' | '\'') => quote = Some(c),
                (None, ';' | '}') => return Some(&rest[..i]),
                _ => {}
            }
        }
        Some(rest)
    })
}

/// The string literals of a CSS value, escapes resolved (`"\2014 "` → `—`).
fn strings(value: &str) -> impl Iterator<Item = String> + '_ {
    let mut chars = value.chars().peekable();
    std::iter::from_fn(move || {
        let quote = chars.find(|c| matches!(c, '"' | '\''))?;
        let mut out = String::new();
        while let Some(c) = chars.next() {
            match c {
                c if c == quote => break,
                '\\' => {
                    let mut hex = String::new();
                    while hex.len() < 6 && chars.peek().is_some_and(char::is_ascii_hexdigit) {
                        hex.extend(chars.next());
                    }
                    if hex.is_empty() {
                        out.extend(chars.next().filter(|c| *c != '\n'));
                    } else {
                        chars.next_if(|c| c.is_ascii_whitespace());
                        out.extend(u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32));
                    }
                }
                c => out.push(c),
            }
        }
        Some(out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_generated_text_and_features() {
        let css = r#"
            li.step::before { content: "Step " counter(step) "\2014 "; }
            q { quotes: '«' '»'; }
            ol.appendix { list-style-type: upper-roman; }
            h2 { text-transform: uppercase; font-variant: small-caps; }
            p.figures { font-feature-settings: "onum" 1, 'tnum'; }
            x { my-content: "not this"; vertical-align: super; }
        "#;
        let mut characters = CharSet::default();
        characters.insert_str("ab");
        let features = generated(&[css], &mut characters);
        for c in "Step—«»IVXLCDMAB".chars() {
            assert!(characters.contains(c), "{c} missing");
        }
        assert!(!characters.contains('n'), "my-content is not content");
        assert_eq!(features, [*b"onum", *b"smcp", *b"tnum"]);
    }

    #[test]
    fn plain_stylesheets_add_only_the_defaults() {
        let mut characters = CharSet::default();
        let features = generated(&["p { margin: 0 }"], &mut characters);
        assert!(features.is_empty());
        assert_eq!(characters.into_string().chars().count(), ALWAYS.chars().count());
    }
}
