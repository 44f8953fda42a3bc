//! The safety cap and memory budget for decoding images: every decode of an image in folio (scaling and
//! recompressing the book's images, drawing the images an SVG cover embeds) first passes through
//! [`admit`], given the image's bytes, and decodes only with the [`Permit`] it returns.
//!
//! 1. The width and height the image's header declares are read, without decoding anything; an image
//!    whose header cannot be read is not decoded.
//! 2. What decoding it may take is estimated from them: [`WORKING_COPIES`] copies of its pixels, at 4
//!    bytes each (8 for a 16-bit PNG). An image over [`MAX_DECODE_BYTES`] on its own is never decoded:
//!    a 127-byte PNG can claim 100 000 × 100 000 pixels.
//! 3. Decodes running at once on different threads share [`SHARED_DECODE_BYTES`]: one that would take
//!    the total past it waits until it can run alone. So small images are decoded side by side, a large
//!    one by itself, and a build's peak memory is about that of its largest decode, not the sum of two.
//!
//! An image scaled as it is decoded ([`admit_scaled`]) is never held at full size: its cost is that of
//! its scaled pixels (a PNG's binned ones too) and a band of its rows, plus what its decoder holds whole
//! (an interlaced PNG's pixels, a progressive JPEG's coefficients). So a 60-megapixel photo can be
//! scaled, within [`MAX_STREAMED_PIXELS`].
//!
//! The cap is not a setting: `max-image-pixels` chooses what images are scaled down to, not whether folio
//! may run out of memory. Whether an image is decoded depends only on its header, never on timing.

use std::sync::{Condvar, Mutex};

use super::Effort;

/// The most memory decoding images may take at once, in bytes, and so the most one image may take.
pub const MAX_DECODE_BYTES: u64 = 512 << 20;

/// What decodes running side by side may take together; a decode over it runs alone. 48 MiB lets a
/// 4-megapixel image (the default `max-image-pixels`) be decoded next to a screenshot, and keeps a book's
/// build within 64 MB when its largest image takes no more (see `bench/README.md`).
pub const SHARED_DECODE_BYTES: u64 = 48 << 20;

/// How many copies of an image's pixels a decode is taken to hold at its peak: the decoded pixels, the
/// encoder's or scaler's working copy, and the decoder's own buffers (measured on oxipng, the PNG and
/// JPEG decoders and resvg; see SECURITY.md). oxipng, recompressing a PNG of 6 megapixels in a process
/// of its own, peaked at 2.0 to 2.5 copies under `fast` and 2.2 to 2.8 under `max` (its reductions'
/// copies, a trial's filtered rows and deflated data): RGB, RGBA, few colours, grey in RGBA, 16 bits.
pub const WORKING_COPIES: u64 = 3;

/// The most pixels an image scaled as it is decoded may have: the memory it takes hardly grows with its
/// size, but the time does, and a PNG of a few MB may declare 100 million blank pixels (a 54-megapixel
/// PNG took 4.6 s to scale on one core of the benchmark machine). 2^26 (8,192 × 8,192, 67 million) is
/// more than cameras take but medium-format ones (100 million).
pub const MAX_STREAMED_PIXELS: u64 = 1 << 26;

/// Rows at the image's full width that a decode handing over rows holds at most: libjpeg's band of up to
/// 16 rows and its output row, the PNG decoder's row and the one above, the scaler's row weighted by its
/// alpha.
const STREAMED_ROWS: u64 = 24;

/// Why an image is not decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Its header does not say its size.
    Unreadable,
    /// Decoding the declared width and height would take more than [`MAX_DECODE_BYTES`].
    TooLarge((u32, u32)),
}

/// The width and height an image's header declares, and the bytes a decoded pixel takes at most.
pub fn declared(data: &[u8], media_type: &str) -> Option<((u32, u32), u64)> {
    match media_type {
        "image/png" => {
            // The signature, then IHDR: length, name, width, height, bit depth.
            let ihdr = data.get(8..25).filter(|ihdr| &ihdr[4..8] == b"IHDR")?;
            let be32 = |at: usize| u32::from_be_bytes(ihdr[at..at + 4].try_into().expect("four bytes"));
            let bytes_per_pixel = if ihdr[16] == 16 { 8 } else { 4 };
            Some(((be32(8), be32(12)), bytes_per_pixel))
        }
        "image/jpeg" => super::jpeg::declared_size(data).map(|size| (size, 4)),
        "image/gif" | "image/webp" => super::header_size(data, media_type).map(|size| (size, 4)),
        _ => None,
    }
}

/// What decoding an image of `media_type` may take, in bytes, from its header; refused when its header
/// says nothing or it is over [`MAX_DECODE_BYTES`].
pub fn decode_cost(data: &[u8], media_type: &str) -> Result<u64, Refused> {
    let (size, bytes_per_pixel) = declared(data, media_type).ok_or(Refused::Unreadable)?;
    let cost = u64::from(size.0) * u64::from(size.1) * bytes_per_pixel * WORKING_COPIES;
    if cost > MAX_DECODE_BYTES { Err(Refused::TooLarge(size)) } else { Ok(cost) }
}

/// Checks an image's declared size and waits for room to decode it: decode only while holding the permit.
pub fn admit(data: &[u8], media_type: &str) -> Result<Permit, Refused> {
    decode_cost(data, media_type).map(Permit::acquire)
}

/// What scaling a PNG or JPEG to `to` takes when its rows go to the scaler as they are decoded: the
/// scaled pixels, taken [`WORKING_COPIES`] times at 4 bytes (the scaler's result, a palette's indices or
/// the encoder's working copy, the file written), [`STREAMED_ROWS`] rows of the full width, what the
/// decoder holds whole, and for a PNG the same image binned, which is made beside it (see
/// `png::downscale`); a PNG that oxipng then searches takes at least its [`search_cost`]. Refused over
/// [`MAX_STREAMED_PIXELS`] or [`MAX_DECODE_BYTES`].
pub fn scaling_cost(data: &[u8], media_type: &str, to: (u32, u32), effort: Effort) -> Result<u64, Refused> {
    let ((width, height), bytes_per_pixel) = declared(data, media_type).ok_or(Refused::Unreadable)?;
    let pixels = u64::from(width) * u64::from(height);
    let held = match media_type {
        "image/png" => {
            // The interlace method, the last byte of IHDR: its passes each cover the whole image.
            let interlaced = if data.get(28) == Some(&1) { pixels * bytes_per_pixel } else { 0 };
            // The binned pixels, twice at 4 bytes: they and their palette's indices or their turned copy.
            let factor = super::png::binning_factor((width, height), to);
            interlaced + u64::from(width.div_ceil(factor)) * u64::from(height.div_ceil(factor)) * 4 * 2
        }
        "image/jpeg" => super::jpeg::buffered_bytes(data),
        _ => 0,
    };
    let streaming = u64::from(to.0) * u64::from(to.1) * 4 * WORKING_COPIES
        + u64::from(width) * bytes_per_pixel * STREAMED_ROWS
        + held;
    // The search begins once the scaled pixels are written and let go.
    let searched = if media_type == "image/png" { search_cost(to, effort) } else { None };
    let cost = streaming.max(searched.unwrap_or(0));
    if pixels > MAX_STREAMED_PIXELS || cost > MAX_DECODE_BYTES {
        Err(Refused::TooLarge((width, height)))
    } else {
        Ok(cost)
    }
}

/// [`admit`] for an image scaled to `to` as it is decoded ([`scaling_cost`]).
pub fn admit_scaled(data: &[u8], media_type: &str, to: (u32, u32), effort: Effort) -> Result<Permit, Refused> {
    scaling_cost(data, media_type, to, effort).map(Permit::acquire)
}

/// What oxipng's search (`optimize-images = "max"`) of a PNG of `size` that folio wrote takes: the PNG,
/// at most 4 bytes a pixel, and [`WORKING_COPIES`] copies of its pixels at 4 bytes. Measured on scaled
/// 4-megapixel photos, whole process less a build that only packages the original: RGB 8.8 bytes a
/// scaled pixel, RGBA 12.3, where the scaling itself had taken at most 5.4. `None` when `effort` asks
/// for no search, or the search would take more than [`MAX_DECODE_BYTES`]: the scaled PNG is kept as
/// folio wrote it.
pub fn search_cost(size: (u32, u32), effort: Effort) -> Option<u64> {
    let cost = u64::from(size.0) * u64::from(size.1) * 4 * (WORKING_COPIES + 1);
    (effort == Effort::Max && cost <= MAX_DECODE_BYTES).then_some(cost)
}

/// Bytes taken by decodes running now.
static IN_FLIGHT: Mutex<u64> = Mutex::new(0);
static RELEASED: Condvar = Condvar::new();

/// A share of the decoding memory, given back when dropped.
#[derive(Debug)]
#[must_use = "the share is given back when the permit is dropped"]
pub struct Permit(u64);

impl Permit {
    /// Waits until `bytes` (at most [`MAX_DECODE_BYTES`]) fit within [`SHARED_DECODE_BYTES`] beside the
    /// decodes running now, or no other decode runs, and takes them.
    pub fn acquire(bytes: u64) -> Self {
        let bytes = bytes.min(MAX_DECODE_BYTES);
        let mut in_flight = IN_FLIGHT.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        while *in_flight > 0 && *in_flight + bytes > SHARED_DECODE_BYTES {
            in_flight = RELEASED.wait(in_flight).unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        *in_flight += bytes;
        Self(bytes)
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut in_flight = IN_FLIGHT.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *in_flight -= self.0;
        RELEASED.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PNG header declaring `width` × `height` at `depth` bits, nothing after it.
    fn png_header(width: u32, height: u32, depth: u8) -> Vec<u8> {
        let mut data = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        data.extend_from_slice(&width.to_be_bytes());
        data.extend_from_slice(&height.to_be_bytes());
        data.extend_from_slice(&[depth, 6, 0, 0, 0]);
        data
    }

    #[test]
    fn declared_sizes_decide_before_any_decoding() {
        assert_eq!(
            decode_cost(&png_header(100_000, 100_000, 8), "image/png"),
            Err(Refused::TooLarge((100_000, 100_000)))
        );
        assert_eq!(decode_cost(&png_header(1000, 500, 8), "image/png"), Ok(1000 * 500 * 4 * WORKING_COPIES));
        assert_eq!(decode_cost(&png_header(1000, 500, 16), "image/png"), Ok(1000 * 500 * 8 * WORKING_COPIES));
        // The 16-bit image of the issue: 10 000 × 10 000 pixels.
        assert!(decode_cost(&png_header(10_000, 10_000, 16), "image/png").is_err());
        assert_eq!(decode_cost(b"\x89PNG\r\n\x1a\n", "image/png"), Err(Refused::Unreadable));
        assert_eq!(decode_cost(b"GIF89a\xff\xff\xff\xff", "image/gif"), Err(Refused::TooLarge((65535, 65535))));
        let mut webp = b"RIFF\0\0\0\0WEBPVP8X\x0a\0\0\0\0\0\0\0".to_vec();
        webp.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(decode_cost(&webp, "image/webp"), Err(Refused::TooLarge((1 << 24, 1 << 24))));
        assert_eq!(decode_cost(b"<svg/>", "image/svg+xml"), Err(Refused::Unreadable));
    }

    #[test]
    fn images_scaled_as_they_are_decoded_cost_their_scaled_size() {
        let to = (2449, 1632);
        let scaled = 2449 * 1632 * 4 * WORKING_COPIES;
        // 63 megapixels: refused whole, scaled as rows come within the shared budget and a band of rows.
        let png = png_header(9_000, 7_000, 8);
        assert_eq!(decode_cost(&png, "image/png"), Err(Refused::TooLarge((9_000, 7_000))));
        let cost = scaling_cost(&png, "image/png", to, Effort::Fast).unwrap();
        // Binned beside it by 5 (7,000 rows in 1,632), 1,800 × 1,400 pixels held twice.
        assert_eq!(cost, scaled + 9_000 * 4 * STREAMED_ROWS + 1_800 * 1_400 * 4 * 2);
        assert!(cost < MAX_DECODE_BYTES, "{cost}");
        // Interlaced, it is decoded whole: at 16 bits, refused.
        let mut interlaced = png_header(9_000, 7_000, 16);
        interlaced[28] = 1;
        assert_eq!(scaling_cost(&interlaced, "image/png", to, Effort::Fast), Err(Refused::TooLarge((9_000, 7_000))));
        // Past MAX_STREAMED_PIXELS the time, not the memory, refuses it.
        let huge = png_header(10_000, 10_000, 8);
        assert_eq!(scaling_cost(&huge, "image/png", to, Effort::Fast), Err(Refused::TooLarge((10_000, 10_000))));
    }

    #[test]
    fn a_png_searched_by_oxipng_after_scaling_costs_the_search() {
        // A PNG just over 4 megapixels, scaled to them: streaming it takes less than the search.
        let png = png_header(2_700, 1_800, 8);
        let to = (2449, 1632);
        let streaming = scaling_cost(&png, "image/png", to, Effort::Fast).unwrap();
        assert_eq!(streaming, 2449 * 1632 * 4 * WORKING_COPIES + 2_700 * 4 * STREAMED_ROWS + 1_350 * 900 * 4 * 2);
        let search = 2449 * 1632 * 4 * 4;
        assert_eq!(search_cost(to, Effort::Max), Some(search));
        assert_eq!(scaling_cost(&png, "image/png", to, Effort::Max), Ok(search));
        assert_eq!((search_cost(to, Effort::Fast), search_cost(to, Effort::None)), (None, None));
        assert_eq!(scaling_cost(&png, "image/png", to, Effort::None), Ok(streaming));
        // Interlaced at 16 bits, the streaming takes more: the permit covers the larger of the two.
        let mut interlaced = png_header(2_700, 1_800, 16);
        interlaced[28] = 1;
        let streaming = scaling_cost(&interlaced, "image/png", to, Effort::Fast).unwrap();
        assert!(streaming > search);
        assert_eq!(scaling_cost(&interlaced, "image/png", to, Effort::Max), Ok(streaming));
        // Scaled to 33.6 megapixels, the search alone would pass the cap: the PNG is scaled, not searched.
        let (big, to) = (png_header(9_000, 7_000, 8), (7_000, 4_800));
        assert_eq!(search_cost(to, Effort::Max), None);
        let streaming = scaling_cost(&big, "image/png", to, Effort::Fast).unwrap();
        assert_eq!(scaling_cost(&big, "image/png", to, Effort::Max), Ok(streaming));
    }

    #[test]
    fn a_progressive_jpeg_costs_its_coefficients() {
        // SOI, then a frame header (SOF0 or SOF2) of 9,000 × 6,000 in three components, then a scan of all three.
        let jpeg = |frame: u8| {
            let mut data = vec![0xff, 0xd8, 0xff, frame, 0, 17, 8, 0x17, 0x70, 0x23, 0x28, 3];
            data.extend_from_slice(&[1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
            data.extend_from_slice(&[0xff, 0xda, 0, 12, 3, 1, 0, 2, 0x11, 3, 0x11, 0, 63, 0]);
            data
        };
        let to = (2449, 1632);
        let baseline = scaling_cost(&jpeg(0xc0), "image/jpeg", to, Effort::Max).unwrap();
        assert_eq!(baseline, 2449 * 1632 * 4 * WORKING_COPIES + 9000 * 4 * STREAMED_ROWS);
        let progressive = scaling_cost(&jpeg(0xc2), "image/jpeg", to, Effort::Max).unwrap();
        assert_eq!(progressive, baseline + 9000 * 6000 * 3 * 2);
    }

    /// The most decodes of `bytes` each that ran at once, out of six started together.
    fn most_at_once(bytes: u64) -> u64 {
        use std::sync::atomic::{AtomicU64, Ordering};
        let most = AtomicU64::new(0);
        let now = AtomicU64::new(0);
        std::thread::scope(|scope| {
            for _ in 0..6 {
                scope.spawn(|| {
                    let _permit = Permit::acquire(bytes);
                    let running = now.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(running, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    now.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        most.load(Ordering::SeqCst)
    }

    #[test]
    fn decodes_wait_for_room() {
        // The other tests of the crate decode too, so only upper bounds can be asserted.
        assert!(most_at_once(SHARED_DECODE_BYTES * 2 / 5) <= 2);
        // Each over half the shared budget: one at a time, however much of MAX_DECODE_BYTES is left.
        assert_eq!(most_at_once(SHARED_DECODE_BYTES * 3 / 5), 1);
        assert_eq!(most_at_once(MAX_DECODE_BYTES), 1);
    }
}
