//! JPEG: within the limit, its image data is left as it is, and the metadata no reader shows is
//! dropped (unless the effort is `none`): comments, XMP, Photoshop's resources, and EXIF unless it
//! turns the image. Over the limit, decoded, scaled and encoded again as a baseline JPEG with the
//! quantization tables and chroma subsampling it was saved with, so that it keeps its quality without
//! growing. Its ICC profile is kept; EXIF is dropped once its orientation is applied. Baseline, not
//! progressive: some e-readers have not shown progressive JPEGs.

use super::resample::RowScaler;
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
    /// The parts of the ICC profile, each with its number (from 1) and the number of parts it says there are.
    icc: Vec<(u8, u8, &'a [u8])>,
    /// Where the first scan's segment starts.
    scan_start: usize,
    /// Whether its scans each hold part of the image (progressive, or one component a scan), so that
    /// libjpeg buffers the coefficients of the whole image before it hands over a row.
    buffered: bool,
}

impl Header<'_> {
    /// The ICC profile, its parts joined in their order, when it has one and every part is there once.
    fn icc_profile(&self) -> Option<Vec<u8>> {
        let count = self.icc.len();
        let mut profile = Vec::new();
        for number in 1..=count {
            let mut parts = self.icc.iter().filter(|(n, _, _)| usize::from(*n) == number);
            let (Some((_, of, part)), None) = (parts.next(), parts.next()) else { return None };
            if usize::from(*of) != count {
                return None;
            }
            profile.extend_from_slice(part);
        }
        (count > 0).then_some(profile)
    }
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
    let _permit = match budget::admit_scaled(data, "image/jpeg", to, effort) {
        Ok(permit) => permit,
        Err(refused) => return Optimized::refused(refused),
    };
    match downscale(data, &header, to) {
        Ok((jpeg, damaged)) => {
            Optimized { data: Some(jpeg), outcome: Outcome::Downscaled { from: header.size, to, damaged } }
        }
        Err(cause) => Optimized::undecodable(cause),
    }
}

/// The JPEG scaled to `to`, and the first warning libjpeg gave decoding it.
fn downscale(data: &[u8], header: &Header<'_>, to: (u32, u32)) -> Result<(Vec<u8>, Option<String>), String> {
    let grey = header.components.len() == 1;
    let (pixels, warning) = decode_scaled(data, header, to)?;
    let pixels = pixels.orient(header.exif.and_then(exif_orientation).unwrap_or(1));

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
    if let Some(icc) = header.icc_profile() {
        encoder.add_icc_profile(&icc).map_err(|e| e.to_string())?;
    }
    let color_type = if grey { jpeg_encoder::ColorType::Luma } else { jpeg_encoder::ColorType::Rgb };
    let (width, height) = (u16::try_from(pixels.width), u16::try_from(pixels.height));
    let (Ok(width), Ok(height)) = (width, height) else { return Err("it is too wide for a JPEG".into()) };
    encoder.encode(&pixels.data, width, height, color_type).map_err(|e| e.to_string())?;
    Ok((jpeg, warning))
}

/// Decodes a JPEG scaled to `to`: libjpeg decodes it row by row, and each row goes straight to the
/// scaler; so neither the image at full size nor all its decoded rows are ever held, only the result.
/// (libjpeg can also scale by eighths while it decodes, which saved a quarter of the time on camera
/// photos, but its result was visibly softer on sharp detail: 34 to 39 dB from a whole decode scaled
/// with Lanczos3, against 49 dB for this.)
fn decode_scaled(data: &[u8], header: &Header<'_>, to: (u32, u32)) -> Result<(Pixels, Option<String>), String> {
    // libjpeg makes up the end of a file that is cut short; folio reports it instead.
    if memchr::memmem::find(&data[header.scan_start..], b"\xff\xd9").is_none() {
        return Err("it is cut short".into());
    }
    let channels = if header.components.len() == 1 { 1 } else { 3 };
    let mut scaler = None;
    let warning = decode_rows(data, channels, |size, row| {
        scaler.get_or_insert_with(|| RowScaler::new(size, channels, to)).push(row);
    })?;
    let data = scaler.ok_or("it has no rows")?.finish();
    Ok((Pixels { data, width: to.0, height: to.1, channels }, warning))
}

/// Decodes a JPEG into `channels` (grey or RGB), handing each row, top to bottom, to `row` with the
/// width and height; gives the first warning libjpeg gave, if any: data it found damaged and decoded
/// as best it could (a row of blocks left grey, say), which the reader will see.
fn decode_rows(data: &[u8], channels: usize, mut row: impl FnMut((u32, u32), &[u8])) -> Result<Option<String>, String> {
    // libjpeg's fatal errors unwind out of it (without the panic hook, so nothing is printed) and are
    // caught here.
    FIRST_WARNING.with_borrow_mut(Option::take);
    let decode = std::panic::AssertUnwindSafe(|| -> std::io::Result<()> {
        let decompress = mozjpeg::Decompress::with_err(error_manager()).from_mem(data)?;
        let mut started = if channels == 1 { decompress.grayscale()? } else { decompress.rgb()? };
        let (width, height) = (started.width(), started.height());
        let size = (
            u32::try_from(width).map_err(std::io::Error::other)?,
            u32::try_from(height).map_err(std::io::Error::other)?,
        );
        let mut buffer = vec![0u8; width * channels];
        for _ in 0..height {
            row(size, started.read_scanlines_into(&mut buffer)?);
        }
        started.finish()
    });
    let decoded = match std::panic::catch_unwind(decode) {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(cause) => Err(cause.downcast::<String>().map_or_else(|_| "its decoder failed".to_string(), |m| *m)),
    };
    let warning = FIRST_WARNING.with_borrow_mut(Option::take);
    decoded.map(|()| warning)
}

thread_local! {
    /// The first warning libjpeg gave in the decode running on this thread, in its words.
    static FIRST_WARNING: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// libjpeg's standard error manager, but for what it does with messages: a fatal error unwinds out of
/// libjpeg with its message (as the mozjpeg crate's own manager does), and the first warning is kept
/// in [`FIRST_WARNING`] instead of being dropped.
fn error_manager() -> mozjpeg_sys::jpeg_error_mgr {
    // SAFETY: an all-zero jpeg_error_mgr is what jpeg_std_error expects to fill in (pointers null,
    // handlers none), and it fills in every field.
    let mut manager: mozjpeg_sys::jpeg_error_mgr = unsafe { std::mem::zeroed() };
    unsafe { mozjpeg_sys::jpeg_std_error(&mut manager) };
    manager.error_exit = Some(unwind_with_message);
    manager.emit_message = Some(keep_first_warning);
    manager
}

extern "C-unwind" fn unwind_with_message(cinfo: &mut mozjpeg_sys::jpeg_common_struct) {
    std::panic::resume_unwind(Box::new(libjpeg_message(cinfo)));
}

/// libjpeg calls this with level -1 for a warning, 0 and up for trace messages. Only the warnings that
/// mean pixels were lost are kept: cameras write JPEGs that draw the others (data after the image, a
/// newer JFIF version, an odd Adobe marker or ICC profile) and show perfectly.
extern "C-unwind" fn keep_first_warning(cinfo: &mut mozjpeg_sys::jpeg_common_struct, level: std::os::raw::c_int) {
    // SAFETY: libjpeg sets `err` before it calls a handler.
    let code = unsafe { cinfo.err.as_ref() }.map_or(0, |manager| manager.msg_code);
    let lost = [
        mozjpeg_sys::JWRN_HIT_MARKER,
        mozjpeg_sys::JWRN_HUFF_BAD_CODE,
        mozjpeg_sys::JWRN_MUST_RESYNC,
        mozjpeg_sys::JWRN_NOT_SEQUENTIAL,
        mozjpeg_sys::JWRN_BOGUS_PROGRESSION,
        mozjpeg_sys::JWRN_JPEG_EOF,
    ];
    if level < 0 && lost.contains(&code) && FIRST_WARNING.with_borrow(Option::is_none) {
        let message = libjpeg_message(cinfo);
        FIRST_WARNING.with_borrow_mut(|first| *first = Some(message));
    }
}

/// The message of the code libjpeg last set in `cinfo`'s error manager, in its words.
fn libjpeg_message(cinfo: &mut mozjpeg_sys::jpeg_common_struct) -> String {
    // libjpeg's JMSG_LENGTH_MAX: format_message writes at most this much, its closing NUL included.
    const LENGTH_MAX: usize = 200;
    // SAFETY: libjpeg sets `err` before it calls a handler; the binding declares format_message's
    // buffer 80 bytes long, but libjpeg writes up to LENGTH_MAX, so it is given that much, by pointer.
    let format = unsafe { cinfo.err.as_ref() }.and_then(|manager| manager.format_message);
    let Some(format) = format else { return "its decoder failed".to_string() };
    let mut buffer = [0u8; LENGTH_MAX];
    unsafe {
        let format = std::mem::transmute::<
            unsafe extern "C-unwind" fn(&mut mozjpeg_sys::jpeg_common_struct, &[u8; 80]),
            unsafe extern "C-unwind" fn(&mut mozjpeg_sys::jpeg_common_struct, *mut u8),
        >(format);
        format(cinfo, buffer.as_mut_ptr());
    }
    let text = buffer.split(|&byte| byte == 0).next().unwrap_or_default();
    String::from_utf8_lossy(text).into_owned()
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

/// What libjpeg holds for the whole image while decoding a JPEG row by row: nothing for one scan of
/// every component; otherwise its coefficients, 2 bytes each, at most one per pixel and component.
pub(super) fn buffered_bytes(data: &[u8]) -> u64 {
    header(data)
        .ok()
        .filter(|header| header.buffered)
        .map_or(0, |header| u64::from(header.size.0) * u64::from(header.size.1) * header.components.len() as u64 * 2)
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
                // SOF2, SOF6, SOF10, SOF14: progressive.
                header.buffered = matches!(marker, 0xc2 | 0xc6 | 0xca | 0xce);
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
            // ICC_PROFILE, the part's number, how many parts there are, then the part.
            0xe2 if body.starts_with(b"ICC_PROFILE\0") && body.len() > 14 => {
                header.icc.push((body[12], body[13], &body[14..]))
            }
            0xda => {
                header.scan_start = at;
                header.buffered |= body.first().is_some_and(|&count| usize::from(count) < header.components.len());
                break;
            }
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
        assert_eq!(optimized.outcome, Outcome::Downscaled { from: (400, 200), to: (200, 100), damaged: None });
        let smaller = optimized.data.unwrap();
        assert!(smaller.len() < data.len());
        let header = header(&smaller).unwrap();
        assert_eq!(header.size, (100, 200));
        assert_eq!(header.tables[0], super::header(&data).unwrap().tables[0]);
        assert!(header.exif.is_none());
    }

    #[test]
    fn the_decoder_hands_over_rows_one_by_one() {
        let data = jpeg(400, 200, 75, false);
        let mut rows = Vec::new();
        decode_rows(&data, 3, |size, row| rows.push((size, row.len()))).unwrap();
        assert_eq!(rows.len(), 200);
        assert!(rows.iter().all(|&(size, len)| size == (400, 200) && len == 400 * 3), "{:?}", rows[0]);
        let header = header(&data).unwrap();
        let (pixels, warning) = decode_scaled(&data, &header, (90, 45)).unwrap();
        assert_eq!((pixels.width, pixels.height, pixels.data.len()), (90, 45, 90 * 45 * 3));
        assert_eq!(warning, None);
    }

    #[test]
    fn damage_libjpeg_decodes_past_is_told() {
        // The image data stops two thirds of the way, then the file ends as it should: libjpeg warns and
        // leaves the rest grey.
        let mut data = jpeg(400, 200, 75, false);
        data.truncate(data.len() * 2 / 3);
        data.extend_from_slice(b"\xff\xd9");
        let optimized = optimize(&data, |size| super::super::fit(size, 20_000), Effort::Fast);
        let Outcome::Downscaled { damaged: Some(warning), .. } = &optimized.outcome else {
            panic!("{:?}", optimized.outcome)
        };
        assert!(warning.contains("premature end of data segment"), "{warning}");
        // The next decode on the thread starts without it.
        let clean = optimize(&jpeg(400, 200, 75, false), |size| super::super::fit(size, 20_000), Effort::Fast);
        assert!(matches!(clean.outcome, Outcome::Downscaled { damaged: None, .. }), "{:?}", clean.outcome);
    }

    #[test]
    fn the_icc_profile_is_joined_from_its_parts_in_order() {
        let plain = jpeg(16, 16, 75, false);
        let parts =
            with_segments(&plain, &[(0xe2, b"ICC_PROFILE\0\x02\x02world"), (0xe2, b"ICC_PROFILE\0\x01\x02hello ")]);
        assert_eq!(header(&parts).unwrap().icc_profile().as_deref(), Some(&b"hello world"[..]));
        let missing = with_segments(&plain, &[(0xe2, b"ICC_PROFILE\0\x02\x02world")]);
        assert_eq!(header(&missing).unwrap().icc_profile(), None);
        assert_eq!(header(&plain).unwrap().icc_profile(), None);
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
