//! JPEG: within the limit, its image data is left as it is, and the metadata no reader shows is
//! dropped (unless the effort is `none`): comments, XMP, Photoshop's resources, and EXIF unless it
//! turns the image. Over the limit, decoded, scaled and encoded again as a baseline JPEG with the
//! quantization tables and chroma subsampling it was saved with, so that it keeps its quality without
//! growing. Its ICC profile is kept; EXIF is dropped once its orientation is applied. Baseline, not
//! progressive: some e-readers have not shown progressive JPEGs.

use super::{Effort, NotResized, Optimized, Outcome, Pixels, budget, exif_orientation};

/// Used when the file has no quantization table folio can reuse.
const FALLBACK_QUALITY: u8 = 90;

/// Where each of the 64 coefficients of a table written in zigzag order belongs.
const ZIGZAG: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21,
    28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54,
    47, 55, 62, 63,
];

/// What folio needs from the segments before the image data.
#[derive(Default)]
struct Header<'a> {
    size: (u32, u32),
    /// Per component: horizontal and vertical sampling factors and quantization table number.
    components: Vec<(u8, u8, usize)>,
    /// Quantization tables by number, in natural order.
    tables: [Option<[u16; 64]>; 4],
    /// EXIF data (a TIFF structure).
    exif: Option<&'a [u8]>,
    /// Where each segment of metadata no reader shows starts and ends.
    unshown: Vec<std::ops::Range<usize>>,
}

pub(super) fn optimize(data: &[u8], over: impl Fn((u32, u32)) -> Option<(u32, u32)>, effort: Effort) -> Optimized {
    let header = match header(data) {
        Ok(header) => header,
        Err(cause) => return Optimized::undecodable(cause),
    };
    let Some(to) = over(header.size) else {
        return match effort {
            Effort::None => Optimized::kept(),
            Effort::Fast | Effort::Max => without(data, &header.unshown),
        };
    };
    if !matches!(header.components.len(), 1 | 3) {
        return Optimized::not_resized(header.size, NotResized::CmykJpeg);
    }
    let _permit = match budget::admit(data, "image/jpeg") {
        Ok(permit) => permit,
        Err(refused) => return Optimized::refused(refused),
    };
    match downscale(data, &header, to) {
        Ok(jpeg) => Optimized { data: Some(jpeg), outcome: Outcome::Downscaled { from: header.size, to } },
        Err(cause) => Optimized::undecodable(cause),
    }
}

fn downscale(data: &[u8], header: &Header<'_>, to: (u32, u32)) -> Result<Vec<u8>, String> {
    use zune_jpeg::zune_core::{colorspace::ColorSpace, options::DecoderOptions};
    let grey = header.components.len() == 1;
    let options = DecoderOptions::default()
        .set_max_width(usize::from(u16::MAX))
        .set_max_height(usize::from(u16::MAX))
        .jpeg_set_out_colorspace(if grey { ColorSpace::Luma } else { ColorSpace::RGB });
    let mut decoder =
        zune_jpeg::JpegDecoder::new_with_options(zune_jpeg::zune_core::bytestream::ZCursor::new(data), options);
    let decoded = decoder.decode().map_err(|e| e.to_string())?;
    let channels = if grey { 1 } else { 3 };
    let pixels = Pixels { data: decoded, width: header.size.0, height: header.size.1, channels };
    let pixels = pixels.resize(to).orient(header.exif.and_then(exif_orientation).unwrap_or(1));

    let mut jpeg = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut jpeg, FALLBACK_QUALITY);
    let table = |component: usize| {
        let (_, _, number) = header.components.get(component)?;
        header.tables.get(*number)?.map(|t| jpeg_encoder::QuantizationTableType::Custom(Box::new(t)))
    };
    if let Some(luma) = table(0) {
        let chroma = table(1).unwrap_or_else(|| luma.clone());
        encoder.set_quantization_tables(luma, chroma);
    }
    let (h, v, _) = header.components[0];
    encoder.set_sampling_factor(
        jpeg_encoder::SamplingFactor::from_factors(h, v).unwrap_or(jpeg_encoder::SamplingFactor::R_4_2_0),
    );
    encoder.set_optimized_huffman_tables(true);
    if let Some(icc) = decoder.icc_profile() {
        encoder.add_icc_profile(&icc).map_err(|e| e.to_string())?;
    }
    let color_type = if grey { jpeg_encoder::ColorType::Luma } else { jpeg_encoder::ColorType::Rgb };
    let (width, height) = (u16::try_from(pixels.width), u16::try_from(pixels.height));
    let (Ok(width), Ok(height)) = (width, height) else { return Err("it is too wide for a JPEG".into()) };
    encoder.encode(&pixels.data, width, height, color_type).map_err(|e| e.to_string())?;
    Ok(jpeg)
}

/// The JPEG without the `unshown` segments, when it has any.
fn without(data: &[u8], unshown: &[std::ops::Range<usize>]) -> Optimized {
    if unshown.is_empty() {
        return Optimized::kept();
    }
    let mut jpeg = Vec::with_capacity(data.len());
    let mut at = 0;
    for segment in unshown {
        jpeg.extend_from_slice(&data[at..segment.start]);
        at = segment.end;
    }
    jpeg.extend_from_slice(&data[at..]);
    Optimized { data: Some(jpeg), outcome: Outcome::Recompressed }
}

/// True for a segment (marker and body) that changes nothing a reader shows: a comment, XMP (with its
/// extension), Photoshop's resources, or EXIF that does not turn the image.
fn is_unshown(marker: u8, body: &[u8]) -> bool {
    match marker {
        0xfe => true,
        0xe1 => match body.strip_prefix(b"Exif\0\0") {
            Some(exif) => exif_orientation(exif).is_none_or(|orientation| orientation == 1),
            None => {
                body.starts_with(b"http://ns.adobe.com/xap/1.0/\0")
                    || body.starts_with(b"http://ns.adobe.com/xmp/extension/\0")
            }
        },
        0xed => body.starts_with(b"Photoshop 3.0\0"),
        _ => false,
    }
}

/// The width and height a JPEG's frame header declares.
pub(super) fn declared_size(data: &[u8]) -> Option<(u32, u32)> {
    header(data).ok().map(|header| header.size)
}

/// Walks the segments from the start of image to the start of scan.
fn header(data: &[u8]) -> Result<Header<'_>, &'static str> {
    const CUT: &str = "it is cut short";
    let mut header = Header::default();
    let mut at = 2;
    loop {
        // Markers are 0xFF and a code; any number of 0xFF may pad them.
        while data.get(at) == Some(&0xff) && data.get(at + 1) == Some(&0xff) {
            at += 1;
        }
        let segment = data.get(at..at + 4).ok_or(CUT)?;
        if segment[0] != 0xff {
            return Err("its segments are damaged");
        }
        let marker = segment[1];
        if matches!(marker, 0x01 | 0xd0..=0xd7) {
            at += 2;
            continue;
        }
        let len = usize::from(u16::from_be_bytes([segment[2], segment[3]]));
        let body = data.get(at + 4..at + 2 + len).ok_or(CUT)?;
        match marker {
            // Start of frame (every coding but DHT, JPG and DAC, which share the range).
            0xc0..=0xcf if !matches!(marker, 0xc4 | 0xc8 | 0xcc) => {
                let [_, h1, h0, w1, w0, count, ..] = *body else { return Err(CUT) };
                header.size = (u32::from(u16::from_be_bytes([w1, w0])), u32::from(u16::from_be_bytes([h1, h0])));
                let components = body.get(6..6 + 3 * usize::from(count)).ok_or(CUT)?;
                header.components =
                    components.chunks(3).map(|c| (c[1] >> 4, c[1] & 0x0f, usize::from(c[2] & 0x03))).collect();
            }
            0xdb => {
                let mut rest = body;
                while let Some((&spec, after)) = rest.split_first() {
                    let wide = spec >> 4 == 1;
                    let values = after.get(..if wide { 128 } else { 64 }).ok_or(CUT)?;
                    let mut table = [0u16; 64];
                    for (i, &natural) in ZIGZAG.iter().enumerate() {
                        table[natural] = if wide {
                            u16::from_be_bytes([values[2 * i], values[2 * i + 1]])
                        } else {
                            u16::from(values[i])
                        };
                    }
                    header.tables[usize::from(spec & 0x03)] = Some(table);
                    rest = &after[values.len()..];
                }
            }
            0xe1 if body.starts_with(b"Exif\0\0") => header.exif = Some(&body[6..]),
            0xda => break,
            0xd9 => return Err("it has no image data"),
            _ => {}
        }
        if is_unshown(marker, body) {
            header.unshown.push(at..at + 2 + len);
        }
        at += 2 + len;
    }
    if header.components.is_empty() || header.size.0 == 0 || header.size.1 == 0 {
        return Err("it has no frame header");
    }
    Ok(header)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A JPEG at `quality`, 4:2:0, with EXIF orientation 6 when asked.
    pub(crate) fn jpeg(width: u16, height: u16, quality: u8, rotated: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = jpeg_encoder::Encoder::new(&mut out, quality);
        if rotated {
            encoder.add_exif_metadata(b"MM\0*\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06\0\0").unwrap();
        }
        let pixels: Vec<u8> = (0..height)
            .flat_map(|y| (0..width).flat_map(move |x| [(x % 256) as u8, (y % 256) as u8, ((x + y) % 7 * 30) as u8]))
            .collect();
        encoder.encode(&pixels, width, height, jpeg_encoder::ColorType::Rgb).unwrap();
        out
    }

    #[test]
    fn reads_size_tables_and_orientation() {
        let data = jpeg(40, 30, 75, true);
        let header = header(&data).unwrap();
        assert_eq!(header.size, (40, 30));
        assert_eq!(header.components.len(), 3);
        assert_eq!(header.components[0].0, 2, "4:2:0 luma samples twice across");
        // Annex K's luminance table at quality 75 starts 16 * 0.5 = 8.
        assert_eq!(header.tables[0].unwrap()[0], 8);
        assert_eq!(header.exif.and_then(exif_orientation), Some(6));
        assert!(super::header(&data[..20]).is_err());
    }

    #[test]
    fn an_oversized_jpeg_is_scaled_upright_with_its_own_tables() {
        let data = jpeg(400, 200, 75, true);
        let optimized = optimize(&data, |size| super::super::fit(size, 20_000), Effort::Fast);
        // Stored 400×200, scaled to 200×100, then turned upright: 100×200.
        assert_eq!(optimized.outcome, Outcome::Downscaled { from: (400, 200), to: (200, 100) });
        let smaller = optimized.data.unwrap();
        assert!(smaller.len() < data.len());
        let header = header(&smaller).unwrap();
        assert_eq!(header.size, (100, 200));
        assert_eq!(header.tables[0], super::header(&data).unwrap().tables[0]);
        assert!(header.exif.is_none());
    }

    #[test]
    fn within_the_limit_or_damaged_it_stays() {
        let data = jpeg(40, 30, 75, false);
        assert_eq!(optimize(&data, |_| None, Effort::Fast), Optimized::kept());
        let cut = &data[..data.len() / 2];
        assert!(matches!(optimize(cut, |_| Some((4, 3)), Effort::Fast).outcome, Outcome::Undecodable(_)));
        assert!(matches!(optimize(b"\xff\xd8\xff", |_| None, Effort::Fast).outcome, Outcome::Undecodable(_)));
    }

    /// `jpeg` with the segments `extra` (marker, body) inserted after its start of image.
    fn with_segments(jpeg: &[u8], extra: &[(u8, &[u8])]) -> Vec<u8> {
        let mut out = jpeg[..2].to_vec();
        for (marker, body) in extra {
            out.extend_from_slice(&[0xff, *marker]);
            out.extend_from_slice(&u16::try_from(body.len() + 2).unwrap().to_be_bytes());
            out.extend_from_slice(body);
        }
        out.extend_from_slice(&jpeg[2..]);
        out
    }

    #[test]
    fn metadata_no_reader_shows_is_dropped_and_the_rest_kept() {
        let plain = jpeg(40, 30, 75, false);
        let upright = b"Exif\0\0MM\0*\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x01\0\0";
        let xmp = b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta/>";
        let icc = b"ICC_PROFILE\0\x01\x01profile";
        let noisy = with_segments(&plain, &[(0xfe, b"a comment"), (0xe1, upright), (0xe1, xmp), (0xe2, icc)]);
        let optimized = optimize(&noisy, |_| None, Effort::Fast);
        assert_eq!(optimized.outcome, Outcome::Recompressed);
        // The image data is untouched; only the comment, the EXIF that turns nothing and the XMP went.
        assert_eq!(optimized.data.unwrap(), with_segments(&plain, &[(0xe2, icc)]));
        assert_eq!(optimize(&noisy, |_| None, Effort::None), Optimized::kept());
        // EXIF that turns the image stays, or the image would show on its side.
        let rotated = jpeg(40, 30, 75, true);
        assert_eq!(optimize(&rotated, |_| None, Effort::Max), Optimized::kept());
    }
}
