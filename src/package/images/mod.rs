//! Images made ready for e-book stores: bytes in, bytes out, the same bytes every time.
//!
//! Procedure for one image, chosen by the type its bytes show:
//! 1. Read its size from its header. An image within `max-image-pixels` is not decoded, except
//!    that a PNG is recompressed without loss ([`png`]) with the [`Effort`] the book asks for, and
//!    kept only when that makes it smaller; a JPEG loses the metadata no reader shows ([`jpeg`]).
//! 2. A PNG or JPEG over the limit is decoded and scaled down with a Lanczos3 filter so that it fits,
//!    keeping its aspect ratio, row by row as its rows are decoded (an interlaced PNG whole), so that a
//!    camera photo is never held at full size ([`resample::RowScaler`]); then turned upright by its
//!    EXIF orientation and encoded again in its own format with its colour profile: a PNG without
//!    loss, a JPEG with the quantization tables and chroma subsampling it was saved with ([`jpeg`]).
//!    A PNG that this would make larger than it was (a screenshot of sharp text) is binned by a whole
//!    factor instead ([`png`]).
//! 3. GIF, WebP, animated PNG and CMYK JPEG are never re-encoded (folio has no encoder that would
//!    not lose their animation, their compression or their colours), nor is SVG; one over the
//!    limit is packaged as it is and the caller warns.
//!
//! Nothing is decoded before [`budget::admit`] (or [`budget::admit_scaled`], for a decode that streams
//! into the scaler) has checked the size the header declares: an image too large to decode safely is
//! packaged as it is, and the caller warns.
//!
//! Nothing here depends on the processor's extensions or on timing: resampling works on integers
//! ([`resample`]), the JPEG decoder (libjpeg, as MozJPEG builds it) is built without its SIMD code, the
//! encoders are single-threaded and never time-limited.

pub mod budget;
mod jpeg;
mod png;
mod resample;

use serde::{Deserialize, Serialize};

/// Kindle and Kobo advise at most 5 MB an image (see the README).
pub const ADVISED_MAX_BYTES: usize = 5_000_000;

pub use crate::config::{DEFAULT_MAX_PIXELS, Effort};

/// What became of an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// Packaged as it is.
    Kept,
    /// Made smaller without loss: a PNG recompressed, a JPEG without the metadata no reader shows.
    Recompressed,
    /// Scaled down to fit the pixel limit.
    Downscaled {
        /// Width and height before.
        from: (u32, u32),
        /// Width and height after.
        to: (u32, u32),
        /// What its decoder warned of: data it found damaged and decoded as best it could.
        damaged: Option<String>,
    },
    /// Over the pixel limit, but packaged as it is (then recompressed without loss if a PNG).
    NotResized {
        /// Width and height.
        size: (u32, u32),
        /// Why folio leaves it so.
        why: NotResized,
    },
    /// Its bytes could not be decoded; packaged as it is.
    Undecodable(String),
    /// Its header declares more pixels than folio decodes safely ([`budget::MAX_DECODE_BYTES`]); packaged
    /// as it is.
    TooLarge {
        /// Width and height, as declared.
        size: (u32, u32),
    },
}

/// Why an image over the pixel limit is not scaled down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NotResized {
    /// A GIF, animated or not: scaling needs a new palette, which loses colours.
    Gif,
    /// A WebP: folio has no lossy WebP encoder.
    Webp,
    /// An animated PNG.
    AnimatedPng,
    /// A JPEG in CMYK or YCCK colours.
    CmykJpeg,
}

impl NotResized {
    /// Says why, for a warning.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Gif => "folio does not resize GIF images",
            Self::Webp => "folio does not resize WebP images",
            Self::AnimatedPng => "folio does not resize animated PNG images",
            Self::CmykJpeg => "folio does not resize CMYK JPEG images",
        }
    }
}

/// An image after [`optimize`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Optimized {
    /// The new bytes, or `None` to package the original.
    pub data: Option<Vec<u8>>,
    /// What happened.
    pub outcome: Outcome,
}

impl Optimized {
    fn kept() -> Self {
        Self { data: None, outcome: Outcome::Kept }
    }

    fn undecodable(cause: impl std::fmt::Display) -> Self {
        Self { data: None, outcome: Outcome::Undecodable(cause.to_string()) }
    }

    fn not_resized(size: (u32, u32), why: NotResized) -> Self {
        Self { data: None, outcome: Outcome::NotResized { size, why } }
    }

    /// The outcome of an image [`budget`] refused.
    fn refused(refused: budget::Refused) -> Self {
        match refused {
            budget::Refused::TooLarge(size) => Self { data: None, outcome: Outcome::TooLarge { size } },
            budget::Refused::Unreadable => Self::undecodable("its header does not say its size"),
        }
    }
}

/// Downscales an image of `media_type` over `max_pixels` (`None`: no limit) and makes it smaller
/// without loss, as hard as `effort` says.
pub fn optimize(data: &[u8], media_type: &str, max_pixels: Option<u64>, effort: Effort) -> Optimized {
    let over = |size: (u32, u32)| max_pixels.and_then(|limit| fit(size, limit));
    let mut optimized = match media_type {
        "image/png" => png::optimize(data, over, effort),
        "image/jpeg" => jpeg::optimize(data, over, effort),
        "image/gif" | "image/webp" => {
            let why = if media_type == "image/gif" { NotResized::Gif } else { NotResized::Webp };
            match header_size(data, media_type) {
                Some(size) if over(size).is_some() => Optimized::not_resized(size, why),
                Some(_) => Optimized::kept(),
                None => Optimized::undecodable("its header is incomplete"),
            }
        }
        _ => Optimized::kept(),
    };
    // Held until the book is written: without what the encoders reserved to grow into.
    if let Some(data) = &mut optimized.data {
        data.shrink_to_fit();
    }
    optimized
}

/// True when [`optimize`] may spend real time on this type of image, so its result is worth caching.
pub fn is_expensive(media_type: &str) -> bool {
    matches!(media_type, "image/png" | "image/jpeg")
}

/// The largest size with the same aspect ratio and at most `limit` pixels, when `size` is over it.
pub fn fit((width, height): (u32, u32), limit: u64) -> Option<(u32, u32)> {
    let pixels = u64::from(width) * u64::from(height);
    if pixels <= limit {
        return None;
    }
    let scale = (limit as f64 / pixels as f64).sqrt();
    let mut to = (((f64::from(width) * scale) as u32).max(1), ((f64::from(height) * scale) as u32).max(1));
    // Rounding can leave the product a hair over the limit; take a pixel off the longer side.
    while u64::from(to.0) * u64::from(to.1) > limit {
        if to.0 >= to.1 { to.0 -= 1 } else { to.1 -= 1 }
    }
    Some(to)
}

/// Width and height from the header of a GIF or WebP.
fn header_size(data: &[u8], media_type: &str) -> Option<(u32, u32)> {
    let le16 = |at: usize| data.get(at..at + 2).map(|b| u32::from(u16::from_le_bytes([b[0], b[1]])));
    let le24 = |at: usize| data.get(at..at + 3).map(|b| u32::from_le_bytes([b[0], b[1], b[2], 0]));
    if media_type == "image/gif" {
        return Some((le16(6)?, le16(8)?));
    }
    // WebP: a RIFF container whose first chunk is VP8X (extended), VP8L (lossless) or VP8 (lossy).
    match data.get(12..16)? {
        b"VP8X" => Some((le24(24)? + 1, le24(27)? + 1)),
        b"VP8L" => {
            let bits = u32::from_le_bytes(data.get(21..25)?.try_into().ok()?);
            Some(((bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1))
        }
        b"VP8 " => Some((le16(26)? & 0x3fff, le16(28)? & 0x3fff)),
        _ => None,
    }
}

/// Decoded 8-bit pixels, 1 to 4 interleaved channels (grey, grey + alpha, RGB, RGBA).
struct Pixels {
    data: Vec<u8>,
    width: u32,
    height: u32,
    channels: usize,
}

impl Pixels {
    /// Applies an EXIF orientation (1–8), so the pixels stand as the photographer saw them and
    /// the EXIF data can be dropped: e-readers disagree on whether they honour it.
    fn orient(self, orientation: u16) -> Self {
        if !(2..=8).contains(&orientation) {
            return self;
        }
        let (w, h, c) = (self.width as usize, self.height as usize, self.channels);
        let swaps = orientation >= 5;
        let (out_w, out_h) = if swaps { (h, w) } else { (w, h) };
        let mut data = Vec::with_capacity(self.data.len());
        for y in 0..out_h {
            for x in 0..out_w {
                // The stored pixel shown at (x, y).
                let (sx, sy) = match orientation {
                    2 => (w - 1 - x, y),
                    3 => (w - 1 - x, h - 1 - y),
                    4 => (x, h - 1 - y),
                    5 => (y, x),
                    6 => (y, h - 1 - x),
                    7 => (w - 1 - y, h - 1 - x),
                    _ => (w - 1 - y, x),
                };
                let at = (sy * w + sx) * c;
                data.extend_from_slice(&self.data[at..at + c]);
            }
        }
        Self { data, width: out_w as u32, height: out_h as u32, channels: c }
    }
}

/// The orientation tag (1–8) of EXIF data (a TIFF structure), if it has one.
fn exif_orientation(tiff: &[u8]) -> Option<u16> {
    let big_endian = match tiff.get(..4)? {
        b"MM\0*" => true,
        b"II*\0" => false,
        _ => return None,
    };
    let u16_at = |at: usize| {
        let b: [u8; 2] = tiff.get(at..at + 2)?.try_into().ok()?;
        Some(if big_endian { u16::from_be_bytes(b) } else { u16::from_le_bytes(b) })
    };
    let u32_at = |at: usize| {
        let b: [u8; 4] = tiff.get(at..at + 4)?.try_into().ok()?;
        Some(if big_endian { u32::from_be_bytes(b) } else { u32::from_le_bytes(b) })
    };
    let ifd = usize::try_from(u32_at(4)?).ok()?;
    let entries = usize::from(u16_at(ifd)?);
    (0..entries)
        .map(|i| ifd + 2 + i * 12)
        .find(|&entry| u16_at(entry) == Some(0x0112))
        .and_then(|entry| u16_at(entry + 8))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// Damaged PNGs and JPEGs, decoded to be scaled or only recompressed, give an outcome, never a panic.
        #[test]
        fn damaged_images_never_panic(
            jpeg in any::<bool>(),
            damage in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
            cut in any::<prop::sample::Index>(),
        ) {
            let (mut data, media_type) = if jpeg {
                (jpeg::tests::jpeg(48, 32, 80, true), "image/jpeg")
            } else {
                (png::tests::plain_png(48, 32, ::png::ColorType::Rgba, |x, y| vec![x as u8, y as u8, 7, 200]), "image/png")
            };
            for (at, byte) in damage {
                let at = at.index(data.len());
                data[at] = byte;
            }
            let whole = optimize(&data, media_type, Some(500), Effort::Fast);
            let cut = &data[..cut.index(data.len())];
            let parts = optimize(cut, media_type, Some(500), Effort::Max);
            let unlimited = optimize(&data, media_type, None, Effort::Fast);
            let untouched = optimize(&data, media_type, None, Effort::None);
            for optimized in [whole, parts, unlimited, untouched] {
                if let Outcome::Downscaled { to, .. } = optimized.outcome {
                    prop_assert!(u64::from(to.0) * u64::from(to.1) <= 500);
                }
            }
        }
    }

    #[test]
    fn fit_keeps_the_aspect_ratio_under_the_limit() {
        assert_eq!(fit((2000, 2000), 4_000_000), None);
        assert_eq!(fit((6000, 4000), 4_000_000), Some((2449, 1632)));
        assert_eq!(fit((1600, 2560), 4_000_000), Some((1581, 2529)));
        assert_eq!(fit((100_000, 1), 10), Some((10, 1)));
        for (size, limit) in [((3001, 2999), 1_000_000), ((7, 5), 3), ((65535, 65535), 4_000_000)] {
            let (w, h) = fit(size, limit).unwrap();
            assert!(u64::from(w) * u64::from(h) <= limit, "{size:?} → {w}×{h}");
        }
    }

    #[test]
    fn orientation_turns_pixels_upright() {
        // Two pixels side by side, a and b; orientation 6 means "rotate 90° clockwise to view".
        let pixels = || Pixels { data: vec![1, 2], width: 2, height: 1, channels: 1 };
        let turned = pixels().orient(6);
        assert_eq!((turned.width, turned.height, turned.data), (1, 2, vec![1, 2]));
        let turned = pixels().orient(8);
        assert_eq!((turned.width, turned.height, turned.data), (1, 2, vec![2, 1]));
        assert_eq!(pixels().orient(2).data, vec![2, 1]);
        assert_eq!(pixels().orient(1).data, vec![1, 2]);
    }

    #[test]
    fn reads_exif_orientation_in_both_byte_orders() {
        let little = b"II*\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0\x06\0\0\0";
        let big = b"MM\0*\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x03\0\0";
        assert_eq!(exif_orientation(little), Some(6));
        assert_eq!(exif_orientation(big), Some(3));
        assert_eq!(exif_orientation(b"II*\0\xff\xff\0\0"), None);
    }

    #[test]
    fn gif_and_webp_sizes_come_from_their_headers() {
        assert_eq!(header_size(b"GIF89a\x20\x03\x58\x02", "image/gif"), Some((800, 600)));
        let mut vp8x = b"RIFF\0\0\0\0WEBPVP8X\x0a\0\0\0\0\0\0\0".to_vec();
        vp8x.extend_from_slice(&[0x1f, 0x03, 0x00, 0x57, 0x02, 0x00]);
        assert_eq!(header_size(&vp8x, "image/webp"), Some((800, 600)));
        assert_eq!(header_size(b"RIFF\0\0\0\0WEBP", "image/webp"), None);
        let over = optimize(b"GIF89a\x20\x03\x58\x02", "image/gif", Some(1000), Effort::Fast);
        assert_eq!(over.outcome, Outcome::NotResized { size: (800, 600), why: NotResized::Gif });
    }
}
