//! PNG: recompressed without loss by oxipng; over the limit, decoded, scaled and written again.
//!
//! Kept: every chunk that changes how the image looks (colour profile, sRGB, gamma, chromaticities,
//! cICP, animation) and EXIF. Dropped: text (tEXt, zTXt, iTXt, which hold editors' XMP) and the
//! modification time, which no reader shows. A downscaled PNG keeps only its colour chunks and is
//! written with 8 bits per channel: screens show no more.

use std::io::Cursor;

use super::resample::RowScaler;
use super::{Effort, NotResized, Optimized, Outcome, Pixels, budget, exif_orientation};

/// Chunks copied into a downscaled PNG: they describe colours, which scaling does not change.
const COLOUR_CHUNKS: [&[u8; 4]; 7] = [b"iCCP", b"sRGB", b"gAMA", b"cHRM", b"cICP", b"mDCV", b"cLLI"];

/// What the PNG decoder may allocate besides the pixels: enough for the rows of the widest image folio
/// decodes.
const DECODER_ALLOCATION_LIMIT: usize = 16 << 20;

/// A chunk's name and body.
type Chunk<'a> = ([u8; 4], &'a [u8]);

/// oxipng's options for `effort`, in one thread, without a time limit, for an image whose pixels are
/// `indexed` (a palette, or grey of fewer than 8 bits) or not. What they save and cost on real
/// screenshots, diagrams and photos is in the guide's "Images" (`examples/image_levels.rs`).
/// - `none` (for a PNG it must scale) and `fast`: one cheap try of each colour reduction with one fixed
///   filter, none for indexed pixels and Sub (each byte minus the one to its left) for the others, and
///   libdeflate at level 5; a try that grows past the original stops early. On the benchmark book's
///   screenshots Sub saves 13% in 36% of the instructions that none and oxipng's per-row Bigrams
///   heuristic took to save 11%; none and Sub together saved 15% in 54%, as a screenshot of few colours
///   does better as a palette unfiltered. Preset 1 (level 10, near-optimal) saved 5 points more in 3 to 4
///   times the time.
/// - `max`: preset 4 (six filter strategies, libdeflate at level 12). Preset 6 saved nothing more on
///   the same images in 5 times the time.
fn options(effort: Effort, indexed: bool) -> oxipng::Options {
    let mut options = match effort {
        Effort::None | Effort::Fast => {
            let mut options = oxipng::Options::from_preset(0);
            let filter = if indexed { oxipng::FilterStrategy::NONE } else { oxipng::FilterStrategy::SUB };
            options.filters = oxipng::indexset! { filter };
            options
        }
        Effort::Max => oxipng::Options::from_preset(4),
    };
    options.strip = oxipng::StripChunks::Strip(oxipng::indexset! { *b"tEXt", *b"zTXt", *b"iTXt", *b"tIME" });
    options
}

/// Under `fast`, the share of its bytes a PNG must lose for folio to package the recompressed one: less
/// is not worth a reader's while, and so an image is left byte for byte as its author made it.
const MIN_SAVING: f64 = 0.02;

pub(super) fn optimize(data: &[u8], over: impl Fn((u32, u32)) -> Option<(u32, u32)>, effort: Effort) -> Optimized {
    let chunks = match chunks(data) {
        Ok(chunks) => chunks,
        Err(cause) => return Optimized::undecodable(cause),
    };
    let Some((size, indexed)) = chunks.iter().find(|(name, _)| name == b"IHDR").and_then(|(_, ihdr)| {
        let size =
            (u32::from_be_bytes(ihdr.get(..4)?.try_into().ok()?), u32::from_be_bytes(ihdr.get(4..8)?.try_into().ok()?));
        // Colour type 3 is a palette; a bit depth under 8 packs several pixels in a byte.
        Some((size, *ihdr.get(9)? == 3 || *ihdr.get(8)? < 8))
    }) else {
        return Optimized::undecodable("it has no header");
    };
    let to = over(size);
    let animated = chunks.iter().any(|(name, _)| name == b"acTL");
    let unchanged = match to {
        Some(_) if animated => Outcome::NotResized { size, why: NotResized::AnimatedPng },
        _ => Outcome::Kept,
    };
    if effort == Effort::None && (to.is_none() || animated) {
        return Optimized { data: None, outcome: unchanged };
    }
    // Recompressing decodes the image as surely as scaling it does.
    let _permit = match budget::admit(data, "image/png") {
        Ok(permit) => permit,
        Err(refused) => return Optimized::refused(refused),
    };
    match to {
        Some(to) if !animated => match downscale(data, &chunks, to, effort) {
            Ok(png) => Optimized { data: Some(png), outcome: Outcome::Downscaled { from: size, to } },
            Err(cause) => Optimized::undecodable(cause),
        },
        _ => recompress(data, unchanged, effort, indexed),
    }
}

/// oxipng's result when it saves enough; `unchanged` says what it is otherwise.
fn recompress(data: &[u8], unchanged: Outcome, effort: Effort, indexed: bool) -> Optimized {
    let enough = match effort {
        Effort::Fast => (data.len() as f64 * (1.0 - MIN_SAVING)) as usize,
        Effort::None | Effort::Max => data.len().saturating_sub(1),
    };
    match oxipng::optimize_from_memory(data, &options(effort, indexed)) {
        Ok(png) if png.len() <= enough => {
            let outcome = if unchanged == Outcome::Kept { Outcome::Recompressed } else { unchanged };
            Optimized { data: Some(png), outcome }
        }
        Ok(_) => Optimized { data: None, outcome: unchanged },
        Err(e) => Optimized::undecodable(e),
    }
}

fn downscale(data: &[u8], chunks: &[Chunk<'_>], to: (u32, u32), effort: Effort) -> Result<Vec<u8>, String> {
    // The decoder's limit covers what it allocates besides the pixels: a few rows, and the ancillary
    // chunks it inflates, which it need not (an iCCP chunk can inflate to gigabytes); the colour chunks
    // are copied as they are.
    let mut decoder = png::Decoder::new_with_limits(Cursor::new(data), png::Limits { bytes: DECODER_ALLOCATION_LIMIT });
    decoder.set_ignore_text_chunk(true);
    decoder.set_ignore_iccp_chunk(true);
    // Palettes and low bit depths become 8-bit grey or RGB, transparency an alpha channel.
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(|e| e.to_string())?;
    let (width, height) = (reader.info().width, reader.info().height);
    let (channels, color_type) = match reader.output_color_type().0 {
        png::ColorType::Grayscale => (1, oxipng::ColorType::Grayscale { transparent_shade: None }),
        png::ColorType::GrayscaleAlpha => (2, oxipng::ColorType::GrayscaleAlpha),
        png::ColorType::Rgb => (3, oxipng::ColorType::RGB { transparent_color: None }),
        png::ColorType::Rgba => (4, oxipng::ColorType::RGBA),
        png::ColorType::Indexed => return Err("its palette could not be expanded".into()),
    };
    let pixels = if reader.info().interlaced {
        // Its passes each cover the whole image: it is decoded whole, then scaled.
        let mut buffer = vec![0; reader.output_buffer_size().ok_or("it is too large")?];
        let frame = reader.next_frame(&mut buffer).map_err(|e| e.to_string())?;
        buffer.truncate(frame.buffer_size());
        Pixels { data: buffer, width, height, channels }.resize(to)
    } else {
        // Scaled row by row as they are decoded, so the image is never held at full size.
        let mut scaler = RowScaler::new((width, height), channels, to);
        let mut rows = 0;
        while let Some(row) = reader.next_row().map_err(|e| e.to_string())? {
            scaler.push(row.data());
            rows += 1;
        }
        if rows != height {
            return Err("it is cut short".into());
        }
        Pixels { data: scaler.finish(), width: to.0, height: to.1, channels }
    };
    let orientation = chunks.iter().find(|(name, _)| name == b"eXIf").and_then(|(_, exif)| exif_orientation(exif));
    let pixels = pixels.orient(orientation.unwrap_or(1));
    let mut image =
        oxipng::RawImage::new(pixels.width, pixels.height, color_type, oxipng::BitDepth::Eight, pixels.data)
            .map_err(|e| e.to_string())?;
    for (name, body) in chunks.iter().filter(|(name, _)| COLOUR_CHUNKS.contains(&name)) {
        image.add_png_chunk(*name, body.to_vec());
    }
    // Scaled pixels are 8-bit grey or colour.
    image.create_optimized_png(&options(effort, false)).map_err(|e| e.to_string())
}

/// The chunks of a PNG, by name, up to IEND; their checksums are left to the decoders.
fn chunks(data: &[u8]) -> Result<Vec<Chunk<'_>>, &'static str> {
    let mut rest = data.get(8..).ok_or("it is cut short")?;
    let mut chunks = Vec::new();
    while let Some((head, after)) = rest.split_at_checked(8) {
        let len = u32::from_be_bytes(head[..4].try_into().expect("four bytes")) as usize;
        let name: [u8; 4] = head[4..].try_into().expect("four bytes");
        let (body, after) = after.split_at_checked(len).ok_or("it is cut short")?;
        rest = after.get(4..).ok_or("it is cut short")?;
        if &name == b"IEND" {
            return Ok(chunks);
        }
        chunks.push((name, body));
    }
    Err("it is cut short")
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A PNG written plainly (no filters, fast deflate), with an sRGB chunk and a text chunk.
    pub(crate) fn plain_png(
        width: u32,
        height: u32,
        color: png::ColorType,
        pixel: impl Fn(u32, u32) -> Vec<u8>,
    ) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(color);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_source_srgb(png::SrgbRenderingIntent::Perceptual);
        encoder.add_text_chunk("Comment".into(), "made by a test".into()).unwrap();
        encoder.set_compression(png::Compression::Fastest);
        let mut writer = encoder.write_header().unwrap();
        let pixel = &pixel;
        let data: Vec<u8> = (0..height).flat_map(|y| (0..width).flat_map(move |x| pixel(x, y))).collect();
        writer.write_image_data(&data).unwrap();
        writer.finish().unwrap();
        out
    }

    /// Decodes to 8-bit RGBA, whatever the colour type, for comparing pixels.
    pub(crate) fn rgba(data: &[u8]) -> (u32, u32, Vec<u8>) {
        let mut decoder = png::Decoder::new(Cursor::new(data));
        decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::ALPHA);
        let mut reader = decoder.read_info().unwrap();
        let mut buffer = vec![0; reader.output_buffer_size().unwrap()];
        let frame = reader.next_frame(&mut buffer).unwrap();
        buffer.truncate(frame.buffer_size());
        let rgba = match frame.color_type {
            png::ColorType::Rgba => buffer,
            png::ColorType::GrayscaleAlpha => buffer.chunks(2).flat_map(|p| [p[0], p[0], p[0], p[1]]).collect(),
            other => panic!("unexpected {other:?}"),
        };
        (frame.width, frame.height, rgba)
    }

    #[test]
    fn recompression_keeps_every_pixel_and_the_colour_chunk() {
        let original = plain_png(64, 48, png::ColorType::Rgb, |x, y| vec![(x * 4) as u8, (y * 5) as u8, 90]);
        let optimized = optimize(&original, |_| None, Effort::Fast);
        assert_eq!(optimized.outcome, Outcome::Recompressed);
        let smaller = optimized.data.unwrap();
        assert!(smaller.len() < original.len());
        assert_eq!(rgba(&smaller), rgba(&original));
        let names: Vec<[u8; 4]> = chunks(&smaller).unwrap().iter().map(|(n, _)| *n).collect();
        assert!(names.contains(b"sRGB") && !names.contains(b"tEXt"), "{names:?}");
    }

    #[test]
    fn an_oversized_png_is_scaled_with_its_alpha() {
        let original =
            plain_png(300, 200, png::ColorType::Rgba, |x, _| vec![200, 10, 10, if x < 150 { 0 } else { 255 }]);
        let optimized = optimize(&original, |size| super::super::fit(size, 15_000), Effort::None);
        assert_eq!(optimized.outcome, Outcome::Downscaled { from: (300, 200), to: (150, 100) });
        let (w, h, pixels) = rgba(&optimized.data.unwrap());
        assert_eq!((w, h), (150, 100));
        // The opaque half keeps its red; the transparent half stays transparent.
        assert_eq!(&pixels[(10 * 150 + 140) * 4..][..4], &[200, 10, 10, 255]);
        assert_eq!(pixels[(10 * 150 + 5) * 4 + 3], 0);
    }

    #[test]
    fn damaged_pngs_are_reported_not_fatal() {
        let original = plain_png(8, 8, png::ColorType::Rgb, |_, _| vec![1, 2, 3]);
        let cut = &original[..original.len() / 2];
        assert!(matches!(optimize(cut, |_| None, Effort::Fast).outcome, Outcome::Undecodable(_)));
        assert!(matches!(optimize(cut, |_| Some((2, 2)), Effort::Fast).outcome, Outcome::Undecodable(_)));
        let signature = b"\x89PNG\r\n\x1a\n";
        assert!(matches!(optimize(signature, |_| None, Effort::Fast).outcome, Outcome::Undecodable(_)));
    }
}
