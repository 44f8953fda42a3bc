//! Allow-lists for what a book may carry into the EPUB besides its Markdown: SVG images and covers
//! ([`svg`]), CSS in stylesheets, `<style>` elements and `style` attributes ([`css`]), and the URLs
//! both hold. The raw-HTML sanitiser (`render::html`) applies the same SVG and CSS policy to inline
//! `<svg>` and `style` attributes.
//!
//! Each input is parsed by a real parser (roxmltree for SVG, cssparser's tokenizer for CSS) and
//! written out again from what the policy keeps, never searched as text. What a URL may be:
//! - a fragment (`#id`) inside the same document: kept;
//! - a relative path: resolved by the caller against the file that holds it, to a resource folio
//!   packages, or refused when it leaves the book or is missing;
//! - a `data:` image whose bytes are a PNG, JPEG, GIF or WebP image of the type it claims: kept;
//! - a remote URL (`http:`, `https:`, `//host`): dropped, with a warning (folio works offline);
//! - anything else (`javascript:`, `file:`, `data:` of another kind): dropped.

pub mod css;
pub mod mathml;
pub mod svg;

use crate::diagnostic::Severity;

/// The most findings listed for one file; the rest are summed up in one: a position costs time that
/// grows with the length of its line, and a minified SVG or stylesheet is one line.
pub const MAX_LISTED: usize = 100;

/// Something a sanitiser removed or refused, at a byte offset of its input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Byte offset in the sanitised text.
    pub offset: usize,
    /// An error when the input cannot be packaged, a warning when something was dropped.
    pub severity: Severity,
    /// Lower case, no final period.
    pub message: String,
}

impl Finding {
    /// A warning at `offset`.
    pub fn warning(offset: usize, message: impl Into<String>) -> Self {
        Self { offset, severity: Severity::Warning, message: message.into() }
    }

    /// An error at `offset`.
    pub fn error(offset: usize, message: impl Into<String>) -> Self {
        Self { offset, severity: Severity::Error, message: message.into() }
    }
}

/// What kind of place a URL points to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlKind<'a> {
    /// Nothing: an empty URL.
    Empty,
    /// `#id` in the same document.
    Fragment,
    /// A path relative to the file that holds the URL, without its query and fragment, percent-decoded
    /// by the caller as needed.
    Relative(&'a str),
    /// `data:…`.
    Data,
    /// `http:`, `https:` or a scheme-relative `//host/…`.
    Remote,
    /// `file:` or an absolute path: outside the book by construction.
    Local,
    /// `javascript:`, `vbscript:` and every other scheme.
    Other,
}

/// Classifies a URL as the author wrote it.
pub fn classify(url: &str) -> UrlKind<'_> {
    let url = as_read(url);
    // Browsers ignore ASCII whitespace and control characters inside a scheme (`java\tscript:`).
    let compact: String = url.chars().filter(|c| !c.is_ascii_whitespace() && !c.is_control()).collect();
    if url.is_empty() {
        UrlKind::Empty
    } else if url.starts_with('#') {
        UrlKind::Fragment
    } else if compact.starts_with("//") || compact.starts_with("\\\\") {
        UrlKind::Remote
    } else if url.starts_with(['/', '\\']) || has_windows_drive(url) {
        UrlKind::Local
    } else if crate::text::has_scheme(&compact) {
        let scheme = compact.split(':').next().unwrap_or("").to_ascii_lowercase();
        match scheme.as_str() {
            "http" | "https" => UrlKind::Remote,
            "data" => UrlKind::Data,
            "file" => UrlKind::Local,
            _ => UrlKind::Other,
        }
    } else {
        UrlKind::Relative(url.split(['#', '?']).next().unwrap_or(""))
    }
}

/// A URL as browsers read it: without the ASCII whitespace and control characters around it. What a
/// sanitizer keeps, it writes in this form, so a later reader cannot take ` #x` for anything but `#x`.
pub fn as_read(url: &str) -> &str {
    url.trim_matches(|c: char| c.is_ascii_whitespace() || c.is_control())
}

/// `C:\…` or `C:/…`.
fn has_windows_drive(url: &str) -> bool {
    let b = url.as_bytes();
    b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && matches!(b[2], b'/' | b'\\')
}

/// The bytes and media type a `data:` URL holds, when it is base64 or percent-encoded.
pub fn data_url(url: &str) -> Option<(String, Vec<u8>)> {
    let rest = url.trim().get(5..)?;
    let (header, payload) = rest.split_once(',')?;
    let mut parts = header.split(';');
    let media_type = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let base64 = parts.any(|p| p.trim().eq_ignore_ascii_case("base64"));
    let decoded = crate::link::percent_decode(payload).into_bytes();
    let data = if base64 {
        let text: Vec<u8> = decoded.into_iter().filter(|b| !b.is_ascii_whitespace()).collect();
        decode_base64(&text)?
    } else {
        decoded
    };
    Some((media_type, data))
}

fn decode_base64(text: &[u8]) -> Option<Vec<u8>> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' | b'-' => Some(62),
        b'/' | b'_' => Some(63),
        _ => None,
    };
    let text = text.strip_suffix(b"==").or_else(|| text.strip_suffix(b"=")).unwrap_or(text);
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut bits, mut count) = (0u32, 0);
    for &c in text {
        bits = (bits << 6) | u32::from(value(c)?);
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    Some(out)
}

/// The media type of a `data:` URL that holds a raster image of the type it claims, which readers
/// show and folio's decode budget checks before any decoding; `None` for anything else (SVG included,
/// whose content would need sanitising of its own).
pub fn data_image(url: &str) -> Option<&'static str> {
    let (claimed, data) = data_url(url)?;
    let sniffed = crate::media::sniff_image(&data)?;
    (sniffed != "image/svg+xml" && sniffed == claimed).then_some(sniffed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_urls() {
        assert_eq!(classify("#a"), UrlKind::Fragment);
        assert_eq!(classify(" img/a.png?x#y"), UrlKind::Relative("img/a.png"));
        assert_eq!(classify("../a.png"), UrlKind::Relative("../a.png"));
        assert_eq!(classify("HTTPS://x"), UrlKind::Remote);
        assert_eq!(classify("//x/y"), UrlKind::Remote);
        assert_eq!(classify("file:///etc/passwd"), UrlKind::Local);
        assert_eq!(classify("/etc/passwd"), UrlKind::Local);
        assert_eq!(classify("C:\\x"), UrlKind::Local);
        assert_eq!(classify("java\tscript:alert(1)"), UrlKind::Other);
        assert_eq!(classify("javascript:x"), UrlKind::Other);
        assert_eq!(classify(" data:image/png;base64,AA"), UrlKind::Data);
        assert_eq!(classify(""), UrlKind::Empty);
    }

    #[test]
    fn data_images_must_be_what_they_claim() {
        assert_eq!(data_url("data:text/plain,a%20b"), Some(("text/plain".into(), b"a b".to_vec())));
        assert_eq!(data_url("data:;base64,aGk="), Some((String::new(), b"hi".to_vec())));
        let png = "data:image/png;base64,iVBORw0KGgo=";
        assert_eq!(data_image(png), Some("image/png"));
        assert_eq!(data_image("data:image/jpeg;base64,iVBORw0KGgo="), None);
        assert_eq!(data_image("data:image/svg+xml,<svg/>"), None);
    }
}
