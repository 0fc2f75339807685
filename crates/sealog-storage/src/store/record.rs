//! The record format of entry segments: `len: u32 LE ‖ crc: u32 LE ‖ leaf bytes`.
//!
//! The checksum (CRC-32 over the length bytes and the data) is what tells a torn tail — a
//! group whose fsync never completed, so it was never acknowledged — from good records.

/// Bytes before each record's data.
pub(crate) const HEADER: usize = 8;

/// Appends one record holding `data` to `out`.
pub(crate) fn encode(out: &mut Vec<u8>, data: &[u8]) {
    let len = u32::try_from(data.len())
        .expect("leaves are far below 4 GiB (events are limited to 64 KiB)")
        .to_le_bytes();
    let mut crc = crc32fast::Hasher::new();
    crc.update(&len);
    crc.update(data);
    out.extend_from_slice(&len);
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    out.extend_from_slice(data);
}

/// The data length a record header announces.
pub(crate) fn data_len(header: &[u8]) -> usize {
    u32::from_le_bytes(header[..4].try_into().expect("4 bytes")) as usize
}

/// Walks the records of a buffer from its start, stopping at the first record that is
/// incomplete or fails its checksum; [`Scan::end`] is then where the good records end.
pub(crate) struct Scan<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Scan<'a> {
    /// Scans `buf`, which must start on a record boundary.
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Scan { buf, pos: 0 }
    }

    /// The end of the last good record returned so far.
    pub(crate) fn end(&self) -> usize {
        self.pos
    }
}

impl<'a> Iterator for Scan<'a> {
    /// The record's offset in the buffer and its data.
    type Item = (usize, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let rest = &self.buf[self.pos..];
        if rest.len() < HEADER {
            return None;
        }
        let len = data_len(rest);
        let data = rest.get(HEADER..HEADER + len)?;
        let mut crc = crc32fast::Hasher::new();
        crc.update(&rest[..4]);
        crc.update(data);
        if crc.finalize().to_le_bytes() != rest[4..HEADER] {
            return None;
        }
        let at = self.pos;
        self.pos += HEADER + len;
        Some((at, data))
    }
}
