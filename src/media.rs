//! What kind of file some bytes are: the image and font types EPUB readers must support, told by the
//! bytes, never by the file's name.

/// The image type of some bytes, if they are an image EPUB readers must support.
pub fn sniff_image(data: &[u8]) -> Option<&'static str> {
    if data.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if data.starts_with(b"\xff\xd8\xff") {
        Some("image/jpeg")
    } else if data.starts_with(b"GIF87a") || data.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if data.len() >= 12 && &data[..4] == b"RIFF" && &data[8..12] == b"WEBP" {
        Some("image/webp")
    } else if looks_like_svg(data) {
        Some("image/svg+xml")
    } else {
        None
    }
}

fn looks_like_svg(data: &[u8]) -> bool {
    let head = String::from_utf8_lossy(&data[..data.len().min(1024)]);
    let head = head.trim_start_matches('\u{feff}').trim_start();
    (head.starts_with("<?xml")
        || head.starts_with("<svg")
        || head.starts_with("<!--")
        || head.starts_with("<!DOCTYPE svg"))
        && head.contains("<svg")
}

/// The font type of some bytes.
pub fn sniff_font(data: &[u8]) -> Option<&'static str> {
    match data.get(..4)? {
        b"OTTO" => Some("font/otf"),
        [0, 1, 0, 0] | b"true" => Some("font/ttf"),
        b"wOFF" => Some("font/woff"),
        b"wOF2" => Some("font/woff2"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_bytes() {
        assert_eq!(sniff_image(b"\x89PNG\r\n\x1a\nrest"), Some("image/png"));
        assert_eq!(sniff_image(b"\xff\xd8\xff\xe0"), Some("image/jpeg"));
        assert_eq!(sniff_image(b"<?xml version=\"1.0\"?>\n<svg xmlns=\"x\"/>"), Some("image/svg+xml"));
        assert_eq!(sniff_image(b"hello"), None);
        assert_eq!(sniff_font(b"wOF2...."), Some("font/woff2"));
        assert_eq!(sniff_font(b"\x00\x01\x00\x00"), Some("font/ttf"));
    }
}
