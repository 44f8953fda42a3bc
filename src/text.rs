//! Small text helpers shared by the stages: escaping, slugs, URL tests, "did you mean".

use std::fmt::Write as _;

/// A set of characters, for cutting fonts down to those a book shows. Control characters are left out:
/// they are never drawn. ASCII, most of any Latin text, goes into a bit mask.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CharSet {
    ascii: u128,
    other: std::collections::BTreeSet<char>,
}

impl CharSet {
    /// Adds one character.
    pub fn insert(&mut self, c: char) {
        if c.is_control() {
            return;
        }
        if c.is_ascii() {
            self.ascii |= 1 << (c as u32);
        } else {
            self.other.insert(c);
        }
    }

    /// Adds every character of `text`.
    pub fn insert_str(&mut self, text: &str) {
        if text.is_ascii() {
            for b in text.bytes().filter(|b| !b.is_ascii_control()) {
                self.ascii |= 1 << b;
            }
        } else {
            text.chars().for_each(|c| self.insert(c));
        }
    }

    /// True when the set holds `c`.
    pub fn contains(&self, c: char) -> bool {
        if c.is_ascii() { self.ascii & (1 << (c as u32)) != 0 } else { self.other.contains(&c) }
    }

    /// The characters in order.
    pub fn iter(&self) -> impl Iterator<Item = char> + '_ {
        let ascii = (0..128u8).filter(|&b| self.ascii & (1 << b) != 0).map(char::from);
        ascii.chain(self.other.iter().copied())
    }

    /// The characters in order, each once.
    pub fn into_string(self) -> String {
        self.iter().collect()
    }
}

/// Escapes text for XHTML element content and double-quoted attribute values, dropping the
/// characters XML 1.0 forbids (control characters other than tab and newlines, U+FFFE, U+FFFF).
pub fn escape(out: &mut String, text: &str) {
    // Writing to a String cannot fail.
    let _ = pulldown_cmark_escape::escape_html(&mut *out, &without_forbidden(text));
}

/// Escapes text for element content only: quotes stay as they are, which keeps code listings, full
/// of them, short. Characters XML forbids are dropped, as in [`escape`].
pub fn escape_text(out: &mut String, text: &str) {
    let _ = pulldown_cmark_escape::escape_html_body_text(&mut *out, &without_forbidden(text));
}

/// The text without the characters XML forbids (borrowed when it has none).
pub fn without_forbidden(text: &str) -> std::borrow::Cow<'_, str> {
    if first_forbidden(text).is_some() {
        std::borrow::Cow::Owned(text.chars().filter(|c| !is_forbidden_in_xml(*c)).collect())
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// Byte index of the first character XML forbids, if any. Every chapter's text passes through here
/// twice (escaping, validation), so it scans bytes in blocks the compiler vectorises: the forbidden
/// characters are single bytes below 0x20, or U+FFFE and U+FFFF (`EF BF BE`, `EF BF BF`).
pub fn first_forbidden(text: &str) -> Option<usize> {
    let suspect = |b: u8| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0xEF;
    let bytes = text.as_bytes();
    let mut from = 0;
    while from < bytes.len() {
        let block = &bytes[from..bytes.len().min(from + 64)];
        if !block.iter().fold(false, |any, &b| any | suspect(b)) {
            from += block.len();
            continue;
        }
        let i = from + block.iter().position(|&b| suspect(b)).unwrap_or(0);
        if bytes[i] < 0x20 || (bytes.get(i + 1) == Some(&0xBF) && matches!(bytes.get(i + 2), Some(0xBE | 0xBF))) {
            return Some(i);
        }
        from = i + 1;
    }
    None
}

/// Characters that may not appear in an XML 1.0 document, even escaped.
pub fn is_forbidden_in_xml(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
}

/// Escapes text into a new string.
pub fn escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape(&mut out, text);
    out
}

/// Escapes a URL for an `href`/`src` attribute, percent-encoding what a URL may not hold raw.
pub fn escape_href(out: &mut String, url: &str) {
    let _ = pulldown_cmark_escape::escape_href(&mut *out, url);
}

/// Turns straight quotation marks into typographic ones; `nested` uses single marks for double
/// ones, for text that will itself stand inside double quotation marks.
pub fn smart_quotes(text: &str, nested: bool) -> String {
    let (open, close) = if nested { ('\u{2018}', '\u{2019}') } else { ('\u{201c}', '\u{201d}') };
    let mut out = String::with_capacity(text.len() + 8);
    let mut previous: Option<char> = None;
    for c in text.chars() {
        let after_space = previous.is_none_or(|p| p.is_whitespace() || "([{\u{2014}\u{2013}".contains(p));
        out.push(match c {
            '"' if after_space => open,
            '"' => close,
            '\'' if after_space => '\u{2018}',
            '\'' => '\u{2019}',
            other => other,
        });
        previous = Some(c);
    }
    out
}

/// True for an absolute `http://` or `https://` URL with a host.
pub fn is_web_url(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    let rest = lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://"));
    rest.is_some_and(|r| {
        let host = r.split(['/', '?', '#']).next().unwrap_or("");
        !host.is_empty() && !host.contains(char::is_whitespace) && !url.trim().contains(char::is_whitespace)
    })
}

/// True when a link target names a scheme (`https:`, `mailto:`, …) rather than a path.
pub fn has_scheme(url: &str) -> bool {
    match url.find(':') {
        Some(i) if i > 1 => {
            let scheme = &url[..i];
            scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        }
        _ => false,
    }
}

/// An ASCII slug for file names: transliterated, lower case, words joined by hyphens.
pub fn ascii_slug(text: &str, max_len: usize) -> String {
    let folded = deunicode::deunicode(text);
    let mut slug = String::new();
    for word in folded.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()) {
        if slug.len() + word.len() + 1 > max_len && !slug.is_empty() {
            break;
        }
        if !slug.is_empty() {
            slug.push('-');
        }
        slug.push_str(&word.to_ascii_lowercase());
    }
    slug.truncate(max_len);
    slug
}

/// mdBook's heading id for a text: lower case, letters, digits, `_` and `-` kept, spaces to `-`.
///
/// folio keeps mdBook's ids so that `chapter.md#some-heading` links written for mdBook still work.
pub fn mdbook_id(text: &str) -> String {
    text.chars()
        .filter_map(|c| {
            if c.is_alphanumeric() || c == '_' || c == '-' {
                Some(c.to_lowercase().collect::<String>())
            } else if c.is_whitespace() {
                Some("-".to_string())
            } else {
                None
            }
        })
        .collect()
}

/// Turns any id into a valid XML NCName, the form EPUBCheck requires of XHTML ids.
///
/// Applied both to heading ids and to link fragments, so a link to `#1-intro` finds the heading
/// whose mdBook id is `1-intro` (folio's `h-1-intro`).
pub fn xml_id(id: &str) -> String {
    let valid_start = id.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_');
    let mut out = String::with_capacity(id.len() + 2);
    if !valid_start {
        out.push_str("h-");
    }
    for c in id.chars() {
        if c.is_alphanumeric() || matches!(c, '_' | '-' | '.') {
            out.push(c);
        } else {
            let _ = write!(out, "_{:x}_", c as u32);
        }
    }
    out
}

/// A package file name for an asset: its path made ASCII-safe, plus a hash of the original
/// path when anything had to change, so that two different paths never share a name.
pub fn asset_name(path: &std::path::Path) -> String {
    let original = path.to_string_lossy().replace('\\', "/");
    let (stem, extension) = match original.rsplit_once('.') {
        Some((s, e)) if !e.contains('/') && !s.is_empty() => (s, Some(e.to_ascii_lowercase())),
        _ => (original.as_str(), None),
    };
    let safe: String =
        stem.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '_' | '-') { c } else { '-' }).collect();
    let mut name = safe.clone();
    if safe != stem || !safe.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        // FNV-1a: tiny, stable across platforms and releases.
        let hash = original.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
        let _ = write!(name, "-{hash:08x}");
    }
    if let Some(e) = extension {
        name.push('.');
        name.push_str(&e);
    }
    name
}

/// The closest candidate by edit (Levenshtein) distance, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::levenshtein(name, c), c))
        .filter(|(d, c)| *d <= (c.chars().count().max(3) / 3).max(1))
        .min()
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_and_ids() {
        assert_eq!(ascii_slug("Über die Brücke: Teil 2!", 40), "uber-die-brucke-teil-2");
        assert_eq!(ascii_slug("!!!", 40), "");
        assert_eq!(mdbook_id("Hello, World: 2 Ways"), "hello-world-2-ways");
        assert_eq!(mdbook_id("Ünïcode 中文"), "ünïcode-中文");
        assert_eq!(xml_id("1-intro"), "h-1-intro");
        assert_eq!(xml_id("intro"), "intro");
        assert_eq!(xml_id(""), "h-");
    }

    #[test]
    fn asset_names_are_safe_and_distinct() {
        use std::path::Path;
        let name = asset_name(Path::new("img/cover.PNG"));
        assert!(name.starts_with("img-cover-") && name.ends_with(".png") && name.len() == 10 + 8 + 4, "{name}");
        assert_ne!(asset_name(Path::new("a b.png")), asset_name(Path::new("a-b.png")));
        assert_eq!(asset_name(Path::new("plain.png")), "plain.png");
        assert!(asset_name(Path::new("src/Ünï code.jpg")).is_ascii());
    }

    #[test]
    fn quotes_become_typographic() {
        assert_eq!(
            smart_quotes("\"Save my wife\" pleads defector's 'friend'", false),
            "\u{201c}Save my wife\u{201d} pleads defector\u{2019}s \u{2018}friend\u{2019}"
        );
        assert_eq!(smart_quotes("a \"b\"", true), "a \u{2018}b\u{2019}");
    }

    #[test]
    fn escaping_drops_what_xml_forbids() {
        assert_eq!(escaped("a\u{1}b\tc\u{ffff}<&\""), "ab\tc&lt;&amp;&quot;");
        let mut text = String::new();
        escape_text(&mut text, "x\u{fffe}\"<'");
        assert_eq!(text, "x\"&lt;'");
    }

    #[test]
    fn the_first_forbidden_character_is_found_past_lookalikes() {
        let long = "a".repeat(100);
        for (text, expected) in [
            ("", None),
            ("tab\tnew\nline\r", None),
            ("\u{ff0c}\u{fffd}\u{f000}", None),
            ("\u{ff0c}\u{ffff}", Some(3)),
            ("中\u{fffe}", Some(3)),
            ("\u{0}", Some(0)),
        ] {
            assert_eq!(first_forbidden(text), expected, "{text:?}");
            let padded = format!("{long}\u{ff0c}{long}{text}");
            assert_eq!(first_forbidden(&padded), expected.map(|i| i + 203), "{text:?}");
            assert_eq!(first_forbidden(text), text.find(is_forbidden_in_xml));
        }
    }

    #[test]
    fn urls() {
        assert!(!is_web_url("https://example.org/a b"));
        assert!(is_web_url("http://example.org"));
        assert!(!is_web_url("example.org"));
        assert!(!is_web_url("https://"));
        assert!(has_scheme("mailto:x@y.z"));
        assert!(!has_scheme("c:/x"));
        assert!(!has_scheme("two.md#a:b"));
    }

    #[test]
    fn suggestions() {
        assert_eq!(did_you_mean("publsher", ["publisher", "date"]), Some("publisher"));
        assert_eq!(did_you_mean("zzz", ["publisher", "date"]), None);
    }
}
