//! Packs as ZIP files: deterministic to write (sorted names, fixed times), bounded to read.

use sealog_core::evidence::{CHUNKED_FORMAT, ENTRIES, MANIFEST, PROOFS, layout};
use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom, Write};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipArchive, ZipWriter};

/// A pack's files by name; a chunked pack's entries and proofs each as one file,
/// `entries.jsonl` and `proofs.jsonl` (its ZIP holds them as chunks: see
/// [`sealog_core::evidence::layout`]).
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

/// Reads every file of a ZIP into memory, within `limits`; the chunks of a chunked pack are
/// joined, in order, into `entries.jsonl` and `proofs.jsonl`. This does not check that the
/// chunks are whole: [`crate::verify::verify_zip`] does.
pub fn read_zip<R: Read + Seek>(reader: R, limits: ReadLimits) -> Result<Files, ArchiveError> {
    let mut files = read_members(reader, limits)?;
    if is_chunked(&files) {
        let chunks: Vec<(String, &'static str)> = files
            .keys()
            .filter_map(|name| Some((name.clone(), layout::parse_chunk_name(name)?.0)))
            .collect();
        for (name, file) in chunks {
            let bytes = files.remove(&name).expect("listed just now");
            files.entry(file.into()).or_default().extend(bytes);
        }
    }
    Ok(files)
}

/// Reads every member of a ZIP into memory as it is stored, within `limits`: a chunked
/// pack's chunks stay apart, by their names (see [`sealog_core::evidence::layout`]).
pub fn read_members<R: Read + Seek>(reader: R, limits: ReadLimits) -> Result<Files, ArchiveError> {
    let mut zip = ZipArchive::new(reader)?;
    Ok(read_files_except(&mut zip, limits, |_| false)?.0)
}

/// Whether the manifest among `files` says the pack is chunked.
pub(crate) fn is_chunked(files: &Files) -> bool {
    files.get(MANIFEST).is_some_and(|m| is_chunked_manifest(m))
}

/// Whether `manifest.json` says the pack is chunked (whether it is signed is checked later).
pub(crate) fn is_chunked_manifest(manifest: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Format {
        format: String,
    }
    serde_json::from_slice::<Format>(manifest).is_ok_and(|m| m.format == CHUNKED_FORMAT)
}

/// Runs `f` over the pack's `file` ([`ENTRIES`] or [`PROOFS`]) as one stream, whether the
/// ZIP holds it whole or in chunks (each inflated in turn, one in memory at a time), or as
/// nothing at all for a chunked pack without entries.
pub(crate) fn with_stream<T>(
    zip: &[u8],
    file: &'static str,
    f: impl FnOnce(&mut dyn Read) -> T,
) -> Result<T, String> {
    let mut archive = ZipArchive::new(std::io::Cursor::new(zip)).map_err(|e| e.to_string())?;
    if archive.index_for_name(file).is_some() {
        let mut whole = archive.by_name(file).map_err(|e| format!("{file}: {e}"))?;
        return Ok(f(&mut whole));
    }
    let mut names: Vec<String> = archive
        .file_names()
        .filter_map(Result::ok)
        .filter(|n| layout::parse_chunk_name(n).is_some_and(|(of, _)| of == file))
        .map(|n| n.into_owned())
        .collect();
    if names.is_empty() {
        // A chunked pack of no entries has no chunks; one whose chunks were taken out is
        // refused by the manifest check, which names every chunk the signed manifest lists.
        return Ok(f(&mut std::io::empty()));
    }
    names.sort();
    let mut chunks = Chunks {
        archive,
        names: names.into_iter(),
        current: std::io::Cursor::new(Vec::new()),
    };
    Ok(f(&mut chunks))
}

/// A file's chunks read one after another.
struct Chunks<'z> {
    archive: ZipArchive<std::io::Cursor<&'z [u8]>>,
    names: std::vec::IntoIter<String>,
    current: std::io::Cursor<Vec<u8>>,
}

impl Read for Chunks<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let n = self.current.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            let Some(name) = self.names.next() else {
                return Ok(0);
            };
            let mut bytes = Vec::new();
            self.archive
                .by_name(&name)
                .map_err(std::io::Error::other)?
                .read_to_end(&mut bytes)?;
            self.current = std::io::Cursor::new(bytes);
        }
    }
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

/// Reads every file of `zip` into memory but those `skip` says, within `limits`; returns
/// them, the bytes they hold, which count against `limits` for whatever is read next, and the
/// names skipped. Names are checked for repeats over every file, the skipped ones included.
pub(crate) fn read_files_except<R: Read + Seek>(
    zip: &mut ZipArchive<R>,
    limits: ReadLimits,
    skip: impl Fn(&str) -> bool,
) -> Result<(Files, u64, Vec<String>), ArchiveError> {
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
        if skip(&name) {
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
    Ok((files, total, skipped))
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

/// Where a ZIP member's bytes come from.
pub(crate) enum Source<'a> {
    /// Memory.
    Bytes(&'a [u8]),
    /// `len` bytes from `at` of one of the seekable files handed to [`write_members`].
    Part { file: usize, at: u64, len: u64 },
}

/// Something to read parts of.
pub(crate) trait ReadSeek: Read + Seek {}

impl<T: Read + Seek> ReadSeek for T {}

/// Writes files as a ZIP: sorted by name, deflated, with a fixed time stamp, so the same pack
/// always gives the same bytes. A chunked pack's `entries.jsonl` and `proofs.jsonl` are
/// written as their chunks (see [`sealog_core::evidence::layout`]); any other file, a chunk
/// given by name included, is written as it is.
pub fn write_zip<W: Write + Seek>(files: &Files, out: W) -> Result<W, ArchiveError> {
    let chunked = is_chunked(files);
    let empty = Vec::new();
    let large = |name: &str| chunked && (name == ENTRIES || name == PROOFS);
    let mut members: Vec<(String, Source<'_>)> = files
        .iter()
        .filter(|(name, _)| !large(name))
        .map(|(name, bytes)| (name.clone(), Source::Bytes(bytes)))
        .collect();
    if chunked {
        let (entries, proofs) = (
            files.get(ENTRIES).unwrap_or(&empty),
            files.get(PROOFS).unwrap_or(&empty),
        );
        for chunk in layout::split(entries, proofs) {
            for (name, bytes, range) in [
                (ENTRIES, entries, chunk.entries),
                (PROOFS, proofs, chunk.proofs),
            ] {
                // A file missing from the pack stays missing.
                if files.contains_key(name) {
                    let part = Source::Bytes(&bytes[range]);
                    members.push((layout::chunk_name(name, chunk.first), part));
                }
            }
        }
    }
    write_members(members, &mut [], out)
}

/// Writes `members` as one ZIP, sorted by name as [`write_zip`] does; a [`Source::Part`] is
/// copied from its file in `parts`, never held in memory whole.
pub(crate) fn write_members<W: Write + Seek>(
    mut members: Vec<(String, Source<'_>)>,
    parts: &mut [&mut dyn ReadSeek],
    out: W,
) -> Result<W, ArchiveError> {
    let mut zip = ZipWriter::new(out);
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(DateTime::default())
        .unix_permissions(0o644)
        .large_file(false);
    members.sort_by(|(a, _), (b, _)| a.cmp(b));
    for (name, source) in members {
        let len = match source {
            Source::Bytes(bytes) => bytes.len() as u64,
            Source::Part { len, .. } => len,
        };
        zip.start_file(name, options.large_file(len >= u32::MAX as u64))?;
        match source {
            Source::Bytes(mut bytes) => copy_in_blocks(&mut bytes, &mut zip)?,
            Source::Part { file, at, len } => {
                let from = &mut *parts[file];
                from.seek(SeekFrom::Start(at))?;
                copy_in_blocks(&mut from.take(len), &mut zip)?;
            }
        }
    }
    Ok(zip.finish()?)
}
