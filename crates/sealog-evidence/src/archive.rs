//! Packs as ZIP files: deterministic to write (sorted names, fixed times), bounded to read.

use std::collections::BTreeMap;
use std::io::{Read, Seek, Write};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipArchive, ZipWriter};

/// A pack's files by name.
pub type Files = BTreeMap<String, Vec<u8>>;

/// Bounds on what reading a ZIP may allocate, so a hostile file cannot exhaust memory.
#[derive(Clone, Copy, Debug)]
pub struct ReadLimits {
    /// Most files.
    pub max_files: usize,
    /// Most bytes, all files uncompressed together.
    pub max_total_bytes: u64,
    /// Longest line of a streamed `.jsonl` file (see [`crate::verify::verify_zip`]).
    pub max_line_bytes: usize,
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            max_files: 10_000,
            max_total_bytes: 8 << 30,
            // Four times the largest request body the server accepts by default.
            max_line_bytes: 64 << 20,
        }
    }
}

/// Why a ZIP could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// Not a readable ZIP.
    #[error("not a readable ZIP file: {0}")]
    Zip(#[from] zip::result::ZipError),
    /// Reading failed.
    #[error("reading the pack failed: {0}")]
    Io(#[from] std::io::Error),
    /// Over a [`ReadLimits`] bound.
    #[error("the pack is too large: {0}")]
    TooLarge(String),
    /// Two files with one name.
    #[error("the pack holds {0:?} twice")]
    Duplicate(String),
}

/// Reads every file of a ZIP into memory, within `limits`.
pub fn read_zip<R: Read + Seek>(reader: R, limits: ReadLimits) -> Result<Files, ArchiveError> {
    let mut zip = ZipArchive::new(reader)?;
    Ok(read_files_except(&mut zip, limits, &[])?.0)
}

/// Reads the one file `name` of a ZIP, at most `max_bytes` of it.
pub fn read_one<R: Read + Seek>(
    reader: R,
    name: &str,
    max_bytes: u64,
) -> Result<Vec<u8>, ArchiveError> {
    let mut zip = ZipArchive::new(reader)?;
    let mut bytes = Vec::new();
    zip.by_name(name)?
        .take(max_bytes + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max_bytes {
        return Err(ArchiveError::TooLarge(format!(
            "{name} is over {max_bytes} bytes"
        )));
    }
    Ok(bytes)
}

/// Reads every file of `zip` into memory but those named in `skip`, within `limits`; returns
/// them and the bytes they hold, which count against `limits` for whatever is read next.
/// Names are checked for repeats over every file, the skipped ones included.
pub(crate) fn read_files_except<R: Read + Seek>(
    zip: &mut ZipArchive<R>,
    limits: ReadLimits,
    skip: &[&str],
) -> Result<(Files, u64), ArchiveError> {
    if zip.len() > limits.max_files {
        return Err(ArchiveError::TooLarge(format!(
            "{} files; at most {} are read",
            zip.len(),
            limits.max_files
        )));
    }
    let mut files = Files::new();
    let mut skipped = Vec::new();
    let mut total = 0u64;
    for i in 0..zip.len() {
        let mut file = zip.by_index(i)?;
        if file.is_dir() {
            continue;
        }
        let name = file.name()?.into_owned();
        if skip.contains(&name.as_str()) {
            if skipped.contains(&name) {
                return Err(ArchiveError::Duplicate(name));
            }
            skipped.push(name);
            continue;
        }
        let budget = limits.max_total_bytes - total;
        let mut bytes = Vec::with_capacity(file.size().min(budget).min(1 << 30) as usize);
        // Read at most one byte past the budget, whatever the header claims.
        (&mut file).take(budget + 1).read_to_end(&mut bytes)?;
        total += bytes.len() as u64;
        if total > limits.max_total_bytes {
            return Err(ArchiveError::TooLarge(format!(
                "more than {} bytes uncompressed",
                limits.max_total_bytes
            )));
        }
        if files.insert(name.clone(), bytes).is_some() {
            return Err(ArchiveError::Duplicate(name));
        }
    }
    Ok((files, total))
}

/// A file written into a ZIP from a reader rather than from memory.
pub struct Streamed<'r> {
    /// Its name in the ZIP.
    pub name: &'static str,
    /// Its length in bytes.
    pub len: u64,
    /// Its content.
    pub reader: &'r mut dyn Read,
}

/// Bytes handed to the compressor at a time. Deflate's output depends on how its input is
/// split into writes, so every file goes in blocks of this size, whether it comes from memory
/// or from a reader: the same files always give the same ZIP.
const WRITE_BLOCK: usize = 64 << 10;

/// Copies `from` into `to` in full blocks of [`WRITE_BLOCK`] bytes (the last one shorter).
fn copy_in_blocks(from: &mut dyn Read, to: &mut impl Write) -> std::io::Result<()> {
    let mut block = vec![0; WRITE_BLOCK];
    loop {
        let mut filled = 0;
        while filled < block.len() {
            match from.read(&mut block[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        to.write_all(&block[..filled])?;
        if filled < block.len() {
            return Ok(());
        }
    }
}

/// Where a file's bytes come from.
enum Source<'a, 'r> {
    Bytes(&'a [u8]),
    Reader(&'r mut dyn Read),
}

/// Writes files as a ZIP: sorted by name, deflated, with a fixed time stamp, so the same pack
/// always gives the same bytes.
pub fn write_zip<W: Write + Seek>(files: &Files, out: W) -> Result<W, ArchiveError> {
    write_zip_with(files, Vec::new(), out)
}

/// Writes `files` and the `streamed` ones as one ZIP, all sorted by name as [`write_zip`]
/// does; a streamed file is copied from its reader, never held in memory.
pub fn write_zip_with<W: Write + Seek>(
    files: &Files,
    mut streamed: Vec<Streamed<'_>>,
    out: W,
) -> Result<W, ArchiveError> {
    let mut zip = ZipWriter::new(out);
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(DateTime::default())
        .unix_permissions(0o644)
        .large_file(false);
    let mut all: Vec<(&str, u64, Source<'_, '_>)> = files
        .iter()
        .map(|(name, bytes)| (name.as_str(), bytes.len() as u64, Source::Bytes(bytes)))
        .chain(
            streamed
                .iter_mut()
                .map(|s| (s.name, s.len, Source::Reader(&mut *s.reader))),
        )
        .collect();
    all.sort_by_key(|(name, _, _)| *name);
    for (name, len, source) in all {
        zip.start_file(name, options.large_file(len >= u32::MAX as u64))?;
        match source {
            Source::Bytes(mut bytes) => copy_in_blocks(&mut bytes, &mut zip)?,
            Source::Reader(reader) => copy_in_blocks(reader, &mut zip)?,
        }
    }
    Ok(zip.finish()?)
}
