//! The web font wrappers: WOFF 1.0 (zlib per table, written here on flate2) and WOFF 2.0 (Brotli with
//! glyph transforms, through Google's reference encoder and decoder in the `woff` crate, which comes with the
//! cargo feature `subset-fonts`). A subset goes back into the wrapper its font came in, so the book's
//! `@font-face` rules still name the right file and format.

use std::io::{Read as _, Write as _};

use super::sfnt::{self, Table, u16_at, u32_at};

/// Brotli quality for WOFF2: the densest; a subset is small and the result is cached.
#[cfg(feature = "subset-fonts")]
const WOFF2_QUALITY: usize = 11;
const WOFF1_HEADER: usize = 44;
/// The largest sfnt font a WOFF file may unwrap to: the WOFF2 reference decoder's own limits (30 MiB, and 100
/// times the file), so that a damaged header cannot make folio allocate gigabytes.
const MAX_SFNT: usize = 30 << 20;
const MAX_RATIO: usize = 100;
const WOFF1_ENTRY: usize = 20;

/// What a WOFF 1.0 file holds besides its tables: the extended metadata and private blocks, kept as they are
/// (the metadata may carry the font's licence).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Woff1Extras {
    version: (u16, u16),
    metadata: Option<(Vec<u8>, u32)>,
    private: Option<Vec<u8>>,
}

/// Unwraps a WOFF 1.0 font into its sfnt font and the blocks to carry over.
pub fn woff1_to_sfnt(woff: &[u8]) -> Option<(Vec<u8>, Woff1Extras)> {
    let flavor = u32_at(woff, 4)?;
    let count = usize::from(u16_at(woff, 12)?);
    let block = |offset: usize, length: usize| -> Option<Vec<u8>> {
        let length = usize::try_from(u32_at(woff, length)?).ok()?;
        let offset = usize::try_from(u32_at(woff, offset)?).ok()?;
        (length > 0).then(|| woff.get(offset..offset.checked_add(length)?).map(<[u8]>::to_vec)).flatten()
    };
    let extras = Woff1Extras {
        version: (u16_at(woff, 20)?, u16_at(woff, 22)?),
        metadata: block(24, 28).zip(u32_at(woff, 32)),
        private: block(36, 40),
    };
    let total = usize::try_from(u32_at(woff, 16)?).ok()?;
    if total > MAX_SFNT || total > woff.len().saturating_mul(MAX_RATIO) {
        return None;
    }
    let mut tables = Vec::with_capacity(count);
    let mut unwrapped = 0usize;
    for i in 0..count {
        let entry = WOFF1_HEADER + WOFF1_ENTRY * i;
        let tag: [u8; 4] = woff.get(entry..entry + 4)?.try_into().ok()?;
        let offset = usize::try_from(u32_at(woff, entry + 4)?).ok()?;
        let stored = usize::try_from(u32_at(woff, entry + 8)?).ok()?;
        let length = usize::try_from(u32_at(woff, entry + 12)?).ok()?;
        let checksum = u32_at(woff, entry + 16)?;
        unwrapped = unwrapped.checked_add(length)?;
        if unwrapped > total {
            return None;
        }
        let data = woff.get(offset..offset.checked_add(stored)?)?;
        let data = if stored == length {
            data.to_vec()
        } else {
            let mut inflated = Vec::with_capacity(length);
            flate2::read::ZlibDecoder::new(data).take(length as u64 + 1).read_to_end(&mut inflated).ok()?;
            (inflated.len() == length).then_some(inflated)?
        };
        tables.push((tag, checksum, data));
    }
    let mut tables: Vec<Table<'_>> =
        tables.iter().map(|(tag, checksum, data)| Table { tag: *tag, checksum: *checksum, data }).collect();
    Some((sfnt::write(flavor, &mut tables), extras))
}

/// Wraps an sfnt font as WOFF 1.0, each table deflated when that makes it smaller.
pub fn sfnt_to_woff1(sfnt: &[u8], extras: &Woff1Extras) -> Option<Vec<u8>> {
    let (flavor, mut tables) = sfnt::tables(sfnt)?;
    tables.sort_by_key(|t| t.tag);
    let stored: Vec<Vec<u8>> = tables
        .iter()
        .map(|t| {
            let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
            let deflated = encoder.write_all(t.data).and_then(|()| encoder.finish()).ok();
            deflated.filter(|d| d.len() < t.data.len()).unwrap_or_else(|| t.data.to_vec())
        })
        .collect();
    let total_sfnt = 12 + tables.iter().map(|t| 16 + t.data.len().next_multiple_of(4)).sum::<usize>();
    let mut body = Vec::new();
    let mut offset = WOFF1_HEADER + WOFF1_ENTRY * tables.len();
    let mut directory = Vec::with_capacity(WOFF1_ENTRY * tables.len());
    for (table, data) in tables.iter().zip(&stored) {
        directory.extend_from_slice(&table.tag);
        for n in [offset, data.len(), table.data.len()] {
            directory.extend_from_slice(&u32::try_from(n).ok()?.to_be_bytes());
        }
        directory.extend_from_slice(&table.checksum.to_be_bytes());
        body.extend_from_slice(data);
        body.resize(body.len().next_multiple_of(4), 0);
        offset += data.len().next_multiple_of(4);
    }
    let mut blocks = [(0usize, 0usize); 2];
    let metadata = extras.metadata.as_ref().map(|(m, _)| m.as_slice());
    for (slot, block) in blocks.iter_mut().zip([metadata, extras.private.as_deref()]) {
        if let Some(block) = block {
            body.resize(body.len().next_multiple_of(4), 0);
            *slot = (WOFF1_HEADER + directory.len() + body.len(), block.len());
            body.extend_from_slice(block);
        }
    }
    let length = WOFF1_HEADER + directory.len() + body.len();
    let mut out = Vec::with_capacity(length);
    out.extend_from_slice(b"wOFF");
    out.extend_from_slice(&flavor.to_be_bytes());
    out.extend_from_slice(&u32::try_from(length).ok()?.to_be_bytes());
    out.extend_from_slice(&u16::try_from(tables.len()).ok()?.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&u32::try_from(total_sfnt).ok()?.to_be_bytes());
    out.extend_from_slice(&extras.version.0.to_be_bytes());
    out.extend_from_slice(&extras.version.1.to_be_bytes());
    let metadata_length = extras.metadata.as_ref().map_or(0, |(_, original)| *original);
    for n in [blocks[0].0 as u32, blocks[0].1 as u32, metadata_length, blocks[1].0 as u32, blocks[1].1 as u32] {
        out.extend_from_slice(&n.to_be_bytes());
    }
    out.extend_from_slice(&directory);
    out.extend_from_slice(&body);
    Some(out)
}

/// Unwraps a WOFF 2.0 font into its sfnt font.
#[cfg(feature = "subset-fonts")]
pub fn woff2_to_sfnt(woff2: &[u8]) -> Option<Vec<u8>> {
    let size = usize::try_from(u32_at(woff2, 16)?).ok()?;
    let plausible = woff2.starts_with(b"wOF2")
        && u32_at(woff2, 8).is_some_and(|length| length as usize == woff2.len())
        && size <= MAX_SFNT
        && size <= woff2.len().saturating_mul(MAX_RATIO);
    plausible.then(|| woff::version2::decompress(woff2)).flatten()
}

/// Wraps an sfnt font as WOFF 2.0.
#[cfg(feature = "subset-fonts")]
pub fn sfnt_to_woff2(sfnt: &[u8]) -> Option<Vec<u8>> {
    woff::version2::compress(sfnt, String::new(), WOFF2_QUALITY, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FONT: &[u8] = include_bytes!("../../tests/books/fonts/fonts/Caladea-Regular.ttf");

    #[test]
    fn woff1_round_trips_tables_and_blocks() {
        let extras =
            Woff1Extras { version: (1, 2), metadata: Some((b"zipped".to_vec(), 99)), private: Some(vec![7; 5]) };
        let woff = sfnt_to_woff1(FONT, &extras).unwrap();
        assert!(woff.starts_with(b"wOFF") && woff.len() < FONT.len());
        assert_eq!(u32_at(&woff, 8), Some(woff.len() as u32));
        let (sfnt, read_extras) = woff1_to_sfnt(&woff).unwrap();
        assert_eq!(read_extras, extras);
        let (version, tables) = sfnt::tables(FONT).unwrap();
        assert_eq!(sfnt::tables(&sfnt).unwrap(), (version, tables));
        assert_eq!(u32_at(&woff, 16), Some(sfnt.len() as u32), "totalSfntSize is the rebuilt font's size");
    }

    #[test]
    fn damaged_woff_is_refused() {
        let woff = sfnt_to_woff1(FONT, &Woff1Extras::default()).unwrap();
        assert!(woff1_to_sfnt(&woff[..woff.len() / 2]).is_none());
        let mut huge = woff.clone();
        huge[16..20].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(woff1_to_sfnt(&huge).is_none());
    }

    #[test]
    #[cfg(feature = "subset-fonts")]
    fn damaged_woff2_is_refused() {
        assert!(woff2_to_sfnt(b"wOF2 and nothing else").is_none());
        // A header that asks for 4 GiB is refused before anything is allocated.
        let mut huge = sfnt_to_woff2(FONT).unwrap();
        huge[16..20].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(woff2_to_sfnt(&huge).is_none());
        // A file damaged inside is refused by the decoder.
        let mut damaged = sfnt_to_woff2(FONT).unwrap();
        let middle = damaged.len() / 2;
        damaged[middle..middle + 16].fill(0xff);
        assert!(woff2_to_sfnt(&damaged).is_none());
    }
}
