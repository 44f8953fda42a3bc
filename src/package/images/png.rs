//! PNG: recompressed without loss by oxipng; over the limit, decoded, scaled and written again by folio
//! ([`downscale`], [`encode`]).
//!
//! Kept: every chunk that changes how the image looks (colour profile, sRGB, gamma, chromaticities,
//! cICP, animation) and EXIF. Dropped: text (tEXt, zTXt, iTXt, which hold editors' XMP) and the
//! modification time, which no reader shows. A downscaled PNG keeps only its colour chunks and is
//! written with 8 bits per channel (or a palette of them): screens show no more.

use std::io::{Cursor, Write as _};

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
/// - `fast`: one cheap try of each colour reduction with one fixed filter, none for indexed pixels and
///   Sub (each byte minus the one to its left) for the others, and libdeflate at level 5; a try that
///   grows past the original stops early. On the benchmark book's screenshots Sub saves 13% in 36% of
///   the instructions that none and oxipng's per-row Bigrams heuristic took to save 11%; none and Sub
///   together saved 15% in 54%, as a screenshot of few colours does better as a palette unfiltered.
///   Preset 1 (level 10, near-optimal) saved 5 points more in 3 to 4 times the time.
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
    // An animation is kept whole: its frames are not scaled.
    let scaled_to = to.filter(|_| !animated);
    // Recompressing decodes the image as surely as scaling it does.
    let admitted = match scaled_to {
        Some(to) => budget::admit_scaled(data, "image/png", to, effort),
        None => budget::admit(data, "image/png"),
    };
    let _permit = match admitted {
        Ok(permit) => permit,
        Err(refused) => return Optimized::refused(refused),
    };
    match scaled_to {
        Some(to) => match downscale(data, &chunks, size, to) {
            Ok((png, to)) => {
                let outcome = Outcome::Downscaled { from: size, to, damaged: None };
                // Under `max`, oxipng's search may still find a smaller file.
                if budget::search_cost(to, effort).is_some() {
                    match recompress(&png, outcome.clone(), effort, false) {
                        Optimized { data: None, .. } => Optimized { data: Some(png), outcome },
                        smaller => smaller,
                    }
                } else {
                    Optimized { data: Some(png), outcome }
                }
            }
            Err(cause) => Optimized::undecodable(cause),
        },
        None => recompress(data, unchanged, effort, indexed),
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

/// The PNG of `size` scaled to fit within `to`, and the size it got.
///
/// Scaled to `to` with Lanczos3 first. Resampling a screenshot by a factor that is not whole gives each
/// sharp edge new in-between colours that differ wherever the edge falls between pixels, so text that
/// repeated exactly no longer does: a 2,560 × 1,600 screenshot of 0.4 MB came out at 4.1 MB scaled by
/// 0.99. An image that scaling would make larger than it was is binned instead, by the smallest whole
/// factor that fits (2 for a hi-DPI screenshot: the size its screen showed), each output pixel the
/// average of a square, so edges take few colours and repeat as the input did (that screenshot: 0.2 MB).
/// Should that too be larger than the original, the scaled image is kept, as it has more pixels. A try
/// stops as soon as its deflated rows pass the original's size.
///
/// A screenshot is decoded once, into both scalers at once; a photo, which rarely needs binning, into the
/// Lanczos3 one alone, then again should it need binning after all. The original's size tells them apart:
/// under a byte for each scaled pixel, the scaled PNG must be written in less, which resampled text
/// rarely is (the benchmark book's hi-DPI screenshots take 0.1 to 0.4 bytes, photo-like PNGs 1.7).
/// Binning beside the fit costs a 6.75-megapixel photo 60% of what decoding it again would; decoding a
/// screenshot again would add 8% to its whole optimisation. The binned pixels held beside the scaled ones are in
/// [`budget::scaling_cost`].
fn downscale(
    data: &[u8],
    chunks: &[Chunk<'_>],
    size: (u32, u32),
    to: (u32, u32),
) -> Result<(Vec<u8>, (u32, u32)), String> {
    let factor = binning_factor(size, to);
    let fitting = |channels| RowScaler::new(size, channels, to);
    let binning = |channels| RowScaler::binned(size, channels, factor);
    let (scaled, binned) = if (data.len() as u64) < u64::from(to.0) * u64::from(to.1) {
        let [scaled, binned] = decode_scaled(data, chunks, |channels| [fitting(channels), binning(channels)])?;
        (scaled, Some(binned))
    } else {
        let [scaled] = decode_scaled(data, chunks, |channels| [fitting(channels)])?;
        (scaled, None)
    };
    let scaled = Reduced::new(scaled);
    if let Some(png) = encode(&scaled, chunks, data.len())? {
        return Ok((png, to));
    }
    let binned = match binned {
        Some(binned) => binned,
        None => {
            let [binned] = decode_scaled(data, chunks, |channels| [binning(channels)])?;
            binned
        }
    };
    let binned = Reduced::new(binned);
    if let Some(png) = encode(&binned, chunks, data.len())? {
        // The size as the file has it, like `size` and `to`: the pixels may have been turned upright.
        return Ok((png, (size.0.div_ceil(factor), size.1.div_ceil(factor))));
    }
    drop(binned);
    // Binned, it is still larger than it was: scaled to fit after all, as it fits more pixels.
    Ok((encode(&scaled, chunks, usize::MAX)?.ok_or("it cannot be written")?, to))
}

/// The smallest whole factor that shrinks `size` to fit within `to`.
pub(super) fn binning_factor(size: (u32, u32), to: (u32, u32)) -> u32 {
    size.0.div_ceil(to.0).max(size.1.div_ceil(to.1))
}

/// Decodes a PNG through the scalers `scalers` makes for its channel count, each fed every row as it is
/// decoded, turned upright by its EXIF orientation: 8-bit grey, grey and alpha, RGB or RGBA.
fn decode_scaled<const N: usize>(
    data: &[u8],
    chunks: &[Chunk<'_>],
    scalers: impl FnOnce(usize) -> [RowScaler; N],
) -> Result<[Pixels; N], String> {
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
    let channels = reader.output_color_type().0.samples();
    let mut scalers = scalers(channels);
    let mut push = |row: &[u8]| scalers.iter_mut().for_each(|scaler| scaler.push(row));
    if reader.info().interlaced {
        // Its passes each cover the whole image: it is decoded whole, then scaled.
        let mut buffer = vec![0; reader.output_buffer_size().ok_or("it is too large")?];
        let frame = reader.next_frame(&mut buffer).map_err(|e| e.to_string())?;
        buffer[..frame.buffer_size()].chunks_exact(width as usize * channels).for_each(&mut push);
    } else {
        // Scaled row by row as they are decoded, so the image is never held at full size.
        let mut rows = 0;
        while let Some(row) = reader.next_row().map_err(|e| e.to_string())? {
            push(row.data());
            rows += 1;
        }
        if rows != height {
            return Err("it is cut short".into());
        }
    }
    let orientation = chunks.iter().find(|(name, _)| name == b"eXIf").and_then(|(_, exif)| exif_orientation(exif));
    Ok(scalers.map(|scaler| {
        let (width, height) = scaler.size();
        Pixels { data: scaler.finish(), width, height, channels }.orient(orientation.unwrap_or(1))
    }))
}

/// Scaled pixels ready to be written, perhaps more than once: reduced as oxipng would reduce them (no
/// alpha channel when every pixel is opaque, grey when every pixel is), with their palette when 256
/// colours or fewer, which a binned screenshot often has.
struct Reduced {
    pixels: Pixels,
    palette: Option<Palette>,
}

impl Reduced {
    fn new(pixels: Pixels) -> Self {
        let pixels = pixels.without_opaque_alpha().without_grey_colour();
        let palette = Palette::of(&pixels);
        Self { pixels, palette }
    }
}

/// Writes scaled pixels as a PNG with the original's colour chunks, itself rather than through oxipng:
/// row by row into a deflate stream, so nothing but the pixels (and a palette's indices) and the result
/// is held (oxipng held three more copies of a scaled 4-megapixel image), in the form [`Reduced`] found
/// for them. Filters as `fast` recompresses: none for a palette, Sub for other pixels (on the binned
/// hi-DPI screenshots with a photo in them Sub took 0.58 MB where none took 0.68 and png's per-row
/// choice 0.75).
///
/// `None` as soon as the image data written is longer than `within` bytes.
fn encode(image: &Reduced, chunks: &[Chunk<'_>], within: usize) -> Result<Option<Vec<u8>>, String> {
    let Reduced { pixels, palette } = image;
    // The colour chunks go right after IHDR (signature and IHDR take 33 bytes): iCCP, sRGB, gAMA, cHRM,
    // cICP, mDCV and cLLI must come before PLTE, which the encoder writes with the header.
    let mut colour = Vec::new();
    for (name, body) in chunks.iter().filter(|(name, _)| COLOUR_CHUNKS.contains(&name)) {
        let len = u32::try_from(body.len()).map_err(|e| e.to_string())?;
        colour.extend_from_slice(&len.to_be_bytes());
        colour.extend_from_slice(name);
        colour.extend_from_slice(body);
        colour.extend_from_slice(&zlib_rs::crc32::crc32(zlib_rs::crc32::crc32(0, name), body).to_be_bytes());
    }
    let mut out = Capped { data: Vec::new(), within: within.saturating_sub(colour.len()), over: false };
    let mut encoder = png::Encoder::new(&mut out, pixels.width, pixels.height);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_deflate_compression(png::DeflateCompression::Level(DEFLATE_LEVEL));
    // Indices unfiltered, other pixels each minus the one to its left.
    encoder.set_filter(if palette.is_some() { png::Filter::NoFilter } else { png::Filter::Sub });
    match palette {
        Some(palette) => {
            encoder.set_color(png::ColorType::Indexed);
            encoder.set_palette(palette.colours.as_slice());
            if let Some(alphas) = &palette.alphas {
                encoder.set_trns(alphas.as_slice());
            }
        }
        None => encoder.set_color(match pixels.channels {
            1 => png::ColorType::Grayscale,
            2 => png::ColorType::GrayscaleAlpha,
            3 => png::ColorType::Rgb,
            _ => png::ColorType::Rgba,
        }),
    }
    // Streamed: `write_image_data` would deflate the whole image before writing its first IDAT, so a
    // try too large would be finished before the cap could stop it.
    let written = encoder.write_header().and_then(|mut writer| {
        let mut stream = writer.stream_writer_with_size(STREAMED_BYTES)?;
        stream.write_all(palette.as_ref().map_or(&pixels.data, |palette| &palette.indices))?;
        stream.finish()?;
        writer.finish()
    });
    let mut out = match written {
        Ok(()) => out.data,
        Err(_) if out.over => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    out.splice(33..33, colour);
    Ok(Some(out))
}

/// Image data deflated between two IDAT chunks.
const STREAMED_BYTES: usize = 64 << 10;

/// Bytes written up to a length: a write that would take them past `within` fails and sets `over`.
struct Capped {
    data: Vec<u8>,
    within: usize,
    over: bool,
}

impl std::io::Write for Capped {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if self.data.len() + bytes.len() > self.within {
            self.over = true;
            return Err(std::io::Error::other("longer than allowed"));
        }
        self.data.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// zlib's level for scaled images: on the benchmark book's binned hi-DPI screenshots level 9 saved 1% to
/// 6% more in more than twice the time, level 5 as much as 6.
const DEFLATE_LEVEL: u8 = 6;

impl Pixels {
    /// The same pixels without their alpha channel when every pixel is opaque.
    fn without_opaque_alpha(mut self) -> Self {
        let channels = self.channels;
        if channels % 2 == 1 || self.data.chunks_exact(channels).any(|pixel| pixel[channels - 1] != u8::MAX) {
            return self;
        }
        self.keep(channels - 1, |pixel, out| out.extend_from_slice(&pixel[..channels - 1]));
        self
    }

    /// The same pixels as grey (and alpha) when every pixel's red, green and blue are equal.
    fn without_grey_colour(mut self) -> Self {
        let channels = self.channels;
        if channels < 3 || self.data.chunks_exact(channels).any(|pixel| pixel[0] != pixel[1] || pixel[1] != pixel[2]) {
            return self;
        }
        self.keep(channels - 2, |pixel, out| {
            out.push(pixel[0]);
            out.extend_from_slice(&pixel[3..]);
        });
        self
    }

    /// Rewrites each pixel in place as the `channels` bytes `write` makes of it.
    fn keep(&mut self, channels: usize, write: impl Fn(&[u8], &mut Vec<u8>)) {
        let mut pixel = Vec::with_capacity(self.channels);
        let mut out = Vec::with_capacity(self.channels);
        for at in 0..self.data.len() / self.channels {
            pixel.clear();
            pixel.extend_from_slice(&self.data[at * self.channels..][..self.channels]);
            out.clear();
            write(&pixel, &mut out);
            self.data[at * channels..][..channels].copy_from_slice(&out);
        }
        self.data.truncate(self.data.len() / self.channels * channels);
        self.channels = channels;
    }
}

/// The colours of an image with 256 or fewer, and its pixels as indices into them.
struct Palette {
    /// RGB triples, in order of first appearance.
    colours: Vec<u8>,
    /// Each colour's alpha, when the image has an alpha channel.
    alphas: Option<Vec<u8>>,
    indices: Vec<u8>,
}

impl Palette {
    /// The palette of colour pixels with 256 colours or fewer; `None` for more, or for grey, which a
    /// grey PNG holds as compactly.
    fn of(pixels: &Pixels) -> Option<Self> {
        let channels = pixels.channels;
        if channels < 3 {
            return None;
        }
        let mut seen: std::collections::HashMap<&[u8], u8> = std::collections::HashMap::new();
        let mut order: Vec<&[u8]> = Vec::new();
        let mut indices = Vec::with_capacity(pixels.data.len() / channels);
        // A run of one colour (most of a screenshot) costs a comparison a pixel, not a lookup.
        let mut last: Option<(&[u8], u8)> = None;
        for pixel in pixels.data.chunks_exact(channels) {
            let index = match last {
                Some((colour, index)) if colour == pixel => index,
                _ => match seen.get(pixel) {
                    Some(&index) => index,
                    None => {
                        let index = u8::try_from(order.len()).ok()?;
                        seen.insert(pixel, index);
                        order.push(pixel);
                        index
                    }
                },
            };
            last = Some((pixel, index));
            indices.push(index);
        }
        Some(Self {
            colours: order.iter().flat_map(|pixel| &pixel[..3]).copied().collect(),
            alphas: (channels == 4).then(|| order.iter().map(|pixel| pixel[3]).collect()),
            indices,
        })
    }
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
        assert_eq!(optimized.outcome, Outcome::Downscaled { from: (300, 200), to: (150, 100), damaged: None });
        let (w, h, pixels) = rgba(&optimized.data.unwrap());
        assert_eq!((w, h), (150, 100));
        // The opaque half keeps its red; the transparent half stays transparent.
        assert_eq!(&pixels[(10 * 150 + 140) * 4..][..4], &[200, 10, 10, 255]);
        assert_eq!(pixels[(10 * 150 + 5) * 4 + 3], 0);
    }

    /// Pixel rows as a PNG, deflated at png's default level as a screenshot tool would.
    fn screenshot(width: u32, height: u32) -> Vec<u8> {
        // Lines of "words" drawn from eight glyphs of ink, half-tone and paper, on 11-pixel lines 20 apart.
        let (ink, half, paper) = ([36u8, 38, 44], [144u8, 145, 147], [252u8, 252, 250]);
        let glyph = |g: u32, x: u32, y: u32| match (g * 7 + x * 3 + y * 5) % 11 {
            0..=3 => ink,
            4 => half,
            _ => paper,
        };
        let pixel = |x: u32, y: u32| {
            let (line, row, cell) = (y / 20, y % 20, x / 8);
            let word = (cell * 7 + line * 13) % 9;
            if row >= 11 || x % 8 == 7 || word == 0 { paper } else { glyph((cell + line) % 8, x % 8, row) }
        };
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().unwrap();
        let data: Vec<u8> = (0..height).flat_map(|y| (0..width).flat_map(move |x| pixel(x, y))).collect();
        writer.write_image_data(&data).unwrap();
        writer.finish().unwrap();
        out
    }

    #[test]
    fn a_screenshot_just_over_the_limit_is_binned_and_not_larger() {
        let original = screenshot(480, 320);
        let optimized = optimize(&original, |size| super::super::fit(size, 150_000), Effort::Fast);
        // Scaled by 0.99 it would fit 150,000 pixels, but come out larger than it was.
        assert_eq!(optimized.outcome, Outcome::Downscaled { from: (480, 320), to: (240, 160), damaged: None });
        let binned = optimized.data.unwrap();
        assert!(binned.len() <= original.len(), "{} bytes from {}", binned.len(), original.len());
        // Each pixel the average of its square (rounded twice: across, then down).
        let ((_, _, big), (w, h, small)) = (rgba(&original), rgba(&binned));
        assert_eq!((w, h), (240, 160));
        for (x, y) in [(0, 0), (3, 4), (17, 5), (100, 90), (239, 159)] {
            for c in 0..3 {
                let at = |dx: usize, dy: usize| i32::from(big[((2 * y + dy) * 480 + 2 * x + dx) * 4 + c]);
                let mean = (at(0, 0) + at(1, 0) + at(0, 1) + at(1, 1)) / 4;
                let got = i32::from(small[(y * 240 + x) * 4 + c]);
                assert!((got - mean).abs() <= 1, "({x}, {y}) channel {c}: {got}, the square's mean {mean}");
            }
        }
    }

    #[test]
    fn an_image_binned_after_a_second_decode_is_binned_alike() {
        // A checkerboard of colour noise: over a byte for each scaled pixel, so it is decoded for the
        // Lanczos3 fit alone, which its pattern makes larger than it was; binned, it is a quarter the size.
        let mut seed = 12345u32;
        let mut data = Vec::new();
        for (x, y) in (0..320).flat_map(|y| (0..480).map(move |x| (x, y))) {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let (base, red, green) =
                (if (x + y) % 2 == 0 { 220 } else { 0 }, (seed >> 29) as u8, (seed >> 21) as u8 >> 5);
            data.extend_from_slice(&[base + red, base + green, base]);
        }
        let mut original = Vec::new();
        let mut encoder = png::Encoder::new(&mut original, 480, 320);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_compression(png::Compression::High);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(&data).unwrap();
        writer.finish().unwrap();
        assert!(original.len() > 150_000, "{} bytes", original.len());
        let optimized = optimize(&original, |size| super::super::fit(size, 150_000), Effort::Fast);
        assert_eq!(optimized.outcome, Outcome::Downscaled { from: (480, 320), to: (240, 160), damaged: None });
        let (w, h, small) = rgba(&optimized.data.unwrap());
        assert_eq!((w, h), (240, 160));
        for (x, y) in [(0, 0), (17, 5), (239, 159)] {
            for c in 0..3 {
                let at = |dx: usize, dy: usize| u32::from(data[((2 * y + dy) * 480 + 2 * x + dx) * 3 + c]);
                let mean = (at(0, 0) + at(1, 0) + at(0, 1) + at(1, 1)) / 4;
                let got = u32::from(small[(y * 240 + x) * 4 + c]);
                assert!(got.abs_diff(mean) <= 1, "({x}, {y}) channel {c}: {got}, the square's mean {mean}");
            }
        }
    }

    #[test]
    fn a_smooth_image_is_scaled_to_fit_not_binned() {
        let original = plain_png(480, 320, png::ColorType::Rgb, |x, y| vec![(x / 2) as u8, (y / 2) as u8, 90]);
        let optimized = optimize(&original, |size| super::super::fit(size, 150_000), Effort::Fast);
        let to = super::super::fit((480, 320), 150_000).unwrap();
        assert_eq!(optimized.outcome, Outcome::Downscaled { from: (480, 320), to, damaged: None });
        assert!(optimized.data.unwrap().len() < original.len());
    }

    #[test]
    fn scaled_pixels_are_written_as_compactly_as_they_allow() {
        // The chunks in order, IDATs counted once (streamed, the image data may come in several).
        let header = |png: &[u8]| -> (u8, Vec<[u8; 4]>) {
            let mut names: Vec<[u8; 4]> = chunks(png).unwrap().iter().map(|(name, _)| *name).collect();
            names.dedup();
            (png[25], names)
        };
        // Opaque RGBA in two colours: a palette, after the colour chunk (which must come before PLTE).
        let two =
            plain_png(
                64,
                64,
                png::ColorType::Rgba,
                |x, _| if x < 32 { vec![200, 0, 0, 255] } else { vec![0, 0, 200, 255] },
            );
        let scaled = optimize(&two, |_| Some((32, 32)), Effort::Fast).data.unwrap();
        let names: Vec<[u8; 4]> = vec![*b"IHDR", *b"sRGB", *b"PLTE", *b"IDAT"];
        assert_eq!(header(&scaled), (3, names));
        assert_eq!(&rgba(&scaled).2[..4], &[200, 0, 0, 255]);
        // Opaque grey pixels stored as RGBA, of many shades: grey without alpha.
        let grey = plain_png(300, 64, png::ColorType::Rgba, |x, _| vec![x as u8, x as u8, x as u8, 255]);
        let scaled = optimize(&grey, |_| Some((150, 32)), Effort::Fast).data.unwrap();
        assert_eq!(header(&scaled).0, 0);
        // Transparency kept: grey and alpha.
        let faded = plain_png(300, 64, png::ColorType::Rgba, |x, _| vec![9, 9, 9, x as u8]);
        assert_eq!(header(&optimize(&faded, |_| Some((150, 32)), Effort::Fast).data.unwrap()).0, 4);
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
