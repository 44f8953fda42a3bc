//! Just enough of the sfnt container (TrueType and OpenType fonts) to read its table directory and the
//! OS/2 embedding flags, and to write a font back from its tables.

/// One table of a font.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table<'a> {
    /// Its tag (`glyf`, `OS/2`, …).
    pub tag: [u8; 4],
    /// The checksum the font's directory gives.
    pub checksum: u32,
    /// Its bytes.
    pub data: &'a [u8],
}

pub(super) fn u16_at(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(data.get(at..at + 2)?.try_into().ok()?))
}

pub(super) fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(data.get(at..at + 4)?.try_into().ok()?))
}

/// The sfnt version (`0x00010000`, `OTTO`, `true`) and tables of a font, or `None` when the directory does not
/// fit the bytes.
pub fn tables(sfnt: &[u8]) -> Option<(u32, Vec<Table<'_>>)> {
    let version = u32_at(sfnt, 0)?;
    let count = usize::from(u16_at(sfnt, 4)?);
    let mut tables = Vec::with_capacity(count);
    for i in 0..count {
        let record = 12 + 16 * i;
        let tag = sfnt.get(record..record + 4)?.try_into().ok()?;
        let checksum = u32_at(sfnt, record + 4)?;
        let offset = usize::try_from(u32_at(sfnt, record + 8)?).ok()?;
        let length = usize::try_from(u32_at(sfnt, record + 12)?).ok()?;
        tables.push(Table { tag, checksum, data: sfnt.get(offset..offset.checked_add(length)?)? });
    }
    Some((version, tables))
}

/// What the font's OS/2 `fsType` says about embedding it in a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Embedding {
    /// "Restricted License embedding": the font must not be embedded without the owner's permission.
    pub restricted: bool,
    /// "No subsetting": the font may be embedded only whole.
    pub no_subsetting: bool,
}

/// The embedding permissions of an sfnt font (none set when it has no OS/2 table).
pub fn embedding(sfnt: &[u8]) -> Embedding {
    let fs_type = tables(sfnt)
        .and_then(|(_, tables)| tables.into_iter().find(|t| &t.tag == b"OS/2"))
        .and_then(|os2| u16_at(os2.data, 8))
        .unwrap_or(0);
    // The low four bits hold one usage level; 2 is "restricted" (OpenType spec, OS/2 fsType).
    Embedding { restricted: fs_type & 0x000f == 0x0002, no_subsetting: fs_type & 0x0100 != 0 }
}

/// Writes an sfnt font from its tables, sorted by tag and each 4-byte aligned, as OpenType requires.
pub fn write(version: u32, tables: &mut [Table<'_>]) -> Vec<u8> {
    tables.sort_by_key(|t| t.tag);
    let count = tables.len() as u16;
    let entry_selector = count.checked_ilog2().unwrap_or(0) as u16;
    let search_range = (1u16 << entry_selector).saturating_mul(16);
    let mut out = Vec::with_capacity(12 + tables.iter().map(|t| 16 + t.data.len() + 3).sum::<usize>());
    out.extend_from_slice(&version.to_be_bytes());
    for n in [count, search_range, entry_selector, count.saturating_mul(16).saturating_sub(search_range)] {
        out.extend_from_slice(&n.to_be_bytes());
    }
    let mut offset = 12 + 16 * tables.len();
    for table in tables.iter() {
        out.extend_from_slice(&table.tag);
        out.extend_from_slice(&table.checksum.to_be_bytes());
        out.extend_from_slice(&(offset as u32).to_be_bytes());
        out.extend_from_slice(&(table.data.len() as u32).to_be_bytes());
        offset += table.data.len().next_multiple_of(4);
    }
    for table in tables.iter() {
        out.extend_from_slice(table.data);
        out.resize(out.len().next_multiple_of(4), 0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_embedding_flags() {
        let mut font = include_bytes!("../../tests/books/fonts/fonts/Caladea-Regular.ttf").to_vec();
        assert_eq!(embedding(&font), Embedding { restricted: false, no_subsetting: false });
        let os2 = tables(&font).unwrap().1.iter().find(|t| &t.tag == b"OS/2").unwrap().data.as_ptr() as usize
            - font.as_ptr() as usize;
        font[os2 + 8..os2 + 10].copy_from_slice(&0x0102u16.to_be_bytes());
        assert_eq!(embedding(&font), Embedding { restricted: true, no_subsetting: true });
        assert_eq!(embedding(b"not a font"), Embedding { restricted: false, no_subsetting: false });
    }

    #[test]
    fn writes_what_it_reads() {
        let font = include_bytes!("../../tests/books/fonts/fonts/Caladea-Regular.ttf");
        let (version, mut read) = tables(font).unwrap();
        let written = write(version, &mut read.clone());
        read.sort_by_key(|t| t.tag);
        assert_eq!(tables(&written).unwrap(), (version, read));
    }
}
