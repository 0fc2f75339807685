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

/// Writes files as a ZIP: sorted by name, deflated, with a fixed time stamp, so the same pack
/// always gives the same bytes.
pub fn write_zip<W: Write + Seek>(files: &Files, out: W) -> Result<W, ArchiveError> {
    let mut zip = ZipWriter::new(out);
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(DateTime::default())
        .unix_permissions(0o644)
        .large_file(false);
    for (name, bytes) in files {
        let options = if bytes.len() as u64 >= u32::MAX as u64 {
            options.large_file(true)
        } else {
            options
        };
        zip.start_file(name.as_str(), options)?;
        zip.write_all(bytes)?;
    }
    Ok(zip.finish()?)
}
