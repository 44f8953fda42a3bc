//! The web font wrappers: WOFF 1.0 (zlib per table, written here on flate2) and WOFF 2.0 (Brotli with
//! glyph transforms, through Google's reference encoder and decoder in the `woff` crate). A subset goes back
//! into the wrapper its font came in, so the book's `@font-face` rules still name the right file and format.

use std::io::{Read as _, Write as _};

use super::sfnt::{self, Table, u16_at, u32_at};

/// Brotli quality for WOFF2: the densest; a subset is small and the result is cached.
const WOFF2_QUALITY: usize = 11;
const WOFF1_HEADER: usize = 44;
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
    let mut tables = Vec::with_capacity(count);
    for i in 0..count {
        let entry = WOFF1_HEADER + WOFF1_ENTRY * i;
        let tag: [u8; 4] = woff.get(entry..entry + 4)?.try_into().ok()?;
        let offset = usize::try_from(u32_at(woff, entry + 4)?).ok()?;
        let stored = usize::try_from(u32_at(woff, entry + 8)?).ok()?;
        let length = usize::try_from(u32_at(woff, entry + 12)?).ok()?;
        let checksum = u32_at(woff, entry + 16)?;
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
pub fn woff2_to_sfnt(woff2: &[u8]) -> Option<Vec<u8>> {
    woff::version2::decompress(woff2)
}

/// Wraps an sfnt font as WOFF 2.0.
pub fn sfnt_to_woff2(sfnt: &[u8]) -> Option<Vec<u8>> {
    woff::version2::compress(sfnt, String::new(), WOFF2_QUALITY, true)
}
