//! Assembling a pack from what a log serves, and checking it before anyone sees it.

use crate::archive::{self, ArchiveError, Files, ReadSeek, Source};
use crate::content::CONTENT;
use crate::render;
use crate::timestamps;
use crate::tsp::Roots;
use crate::verify::{VerifyError, verify_read};
use sealog_core::evidence::{
    self, CHECKPOINT, CHUNKED_FORMAT, CONSISTENCY, ConsistencyLine, ENTRIES, MANIFEST,
    MANIFEST_SIG, Manifest, PROOFS, PackError, ProofLineWriter, Report, Trust, layout,
};
use sealog_core::merkle::Hash;
use sealog_core::note::Signer;
use sealog_core::policy::Policy;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{BufReader, BufWriter, Cursor, Read, Seek, SeekFrom, Write};

/// One entry of a pack: its index, leaf bytes and inclusion proof to the pack's checkpoint.
pub struct PackEntry {
    /// Log index.
    pub index: u64,
    /// Leaf bytes, exactly as stored.
    pub leaf: Vec<u8>,
    /// Inclusion proof to the pack's checkpoint.
    pub inclusion: Vec<Hash>,
    /// Its lines of `content.jsonl` (see [`crate::content`]): one per encrypted payload, when
    /// the pack includes content; empty otherwise.
    pub content: Vec<u8>,
}

/// Everything a pack is made of, as the log serves it. `entries` may be any iterator, so a
/// server can read each entry and compute its proof only as the pack is written, instead of
/// holding every leaf and whole proof at once.
pub struct PackParts<I = Vec<PackEntry>> {
    /// The (cosigned) checkpoint note every entry is proven against.
    pub checkpoint: Vec<u8>,
    /// The selected entries, by ascending index.
    pub entries: I,
    /// Earlier checkpoint notes with their consistency proofs to `checkpoint`.
    pub earlier: Vec<(Vec<u8>, Vec<Hash>)>,
    /// The filters used (empty for the whole log).
    pub filters: BTreeMap<String, String>,
    /// Where the entries retention pruned end, if it pruned any (stated in the manifest).
    pub pruned_below: Option<u64>,
    /// Export time, RFC 3339.
    pub exported_at: String,
    /// The exporting program and version.
    pub tool: String,
    /// Witness vkeys the log knows, shipped for information only.
    pub witness_vkeys: Vec<String>,
    /// RFC 3161 replies over the text of `checkpoint` or of an earlier checkpoint, by size.
    pub timestamps: Vec<(u64, Vec<u8>)>,
    /// The log's witness policy, if it has one: the report says what the cosignatures show
    /// under it (an auditor checks them under their own with `sealog verify --policy`).
    pub policy: Option<Policy>,
    /// The TSA roots the log's time-stamps chain to, if it has any, for the same report.
    pub tsa_roots: Option<Roots>,
    /// Whether the pack includes the content of private events (`content.jsonl`, from each
    /// entry's `content`), which is then checked against the entries before the pack is
    /// handed out.
    pub content: bool,
}

/// Why a pack could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The parts do not make a pack that verifies.
    #[error(transparent)]
    Pack(#[from] PackError),
    /// Writing or reading back the pack's large files failed.
    #[error("writing the pack's files failed: {0}")]
    Io(#[from] std::io::Error),
    /// The content lines do not match the entries.
    #[error("the pack's content does not match its entries: {0}")]
    Content(String),
}

/// A built, verified pack: `entries.jsonl` and `proofs.jsonl` in `S` (memory, or temporary
/// files on the server, so that a pack of any size costs no memory), every other file in
/// memory.
pub struct Pack<S> {
    /// Every file but `entries.jsonl` and `proofs.jsonl`: manifest, checkpoint, reports…
    pub files: Files,
    entries: S,
    proofs: S,
    /// Where each chunk of the two files is in `entries` and `proofs`.
    chunks: Vec<Chunk>,
    /// What verifying the finished pack found.
    pub report: Report,
}

/// One chunk of a pack being built (see [`layout`]): its first line, where it is in the
/// two files, and its digests.
struct Chunk {
    first: u64,
    entries: (u64, u64),
    proofs: (u64, u64),
    sha256: [Hash; 2],
}

impl<S: Read + Seek> Pack<S> {
    /// Writes the pack as a deterministic ZIP (see [`archive::write_zip`]), its entries and
    /// proofs in chunks.
    pub fn write_zip<W: Write + Seek>(&mut self, out: W) -> Result<W, ArchiveError> {
        let mut members: Vec<(String, Source<'_>)> = self
            .files
            .iter()
            .map(|(name, bytes)| (name.clone(), Source::Bytes(bytes)))
            .collect();
        for c in &self.chunks {
            for (file, name, (at, len)) in [(0, ENTRIES, c.entries), (1, PROOFS, c.proofs)] {
                let part = Source::Part { file, at, len };
                members.push((layout::chunk_name(name, c.first), part));
            }
        }
        let parts: &mut [&mut dyn ReadSeek] = &mut [&mut self.entries, &mut self.proofs];
        archive::write_members(members, parts, out)
    }
}

impl Pack<Cursor<Vec<u8>>> {
    /// Every file of the pack, in memory.
    pub fn into_files(mut self) -> Files {
        self.files.insert(ENTRIES.into(), self.entries.into_inner());
        self.files.insert(PROOFS.into(), self.proofs.into_inner());
        self.files
    }
}

/// Returns the length of `s` and leaves it at its start.
fn rewind<S: Seek>(s: &mut S) -> std::io::Result<u64> {
    let len = s.seek(SeekFrom::End(0))?;
    s.rewind()?;
    Ok(len)
}

/// Builds a pack in memory; see [`build_into`]. Returns its files and verification report.
pub fn build<I: IntoIterator<Item = PackEntry>>(
    parts: PackParts<I>,
    log: &Signer,
) -> Result<(Files, Report), BuildError> {
    let pack = build_into(parts, log, Cursor::default(), Cursor::default())?;
    let report = pack.report.clone();
    Ok((pack.into_files(), report))
}

/// Builds the files of a pack, writing its entries and proofs into `entries` and `proofs`
/// (empty), signs its manifest with the log key, verifies the result exactly as an auditor
/// would (refusing to hand out a pack that would not verify), and adds the human report.
pub fn build_into<I, S>(
    parts: PackParts<I>,
    log: &Signer,
    mut entries: S,
    mut proofs: S,
) -> Result<Pack<S>, BuildError>
where
    I: IntoIterator<Item = PackEntry>,
    S: Read + Write + Seek,
{
    let trust = Trust {
        log: log.verifier(),
        witnesses: Vec::new(),
        policy: None,
    };
    let (cp, _) = evidence::open_checkpoint(&parts.checkpoint, &trust)?;
    let mut content = Vec::new();
    let (count, chunks) = write_entries(parts.entries, &mut entries, &mut proofs, &mut content)?;
    let streamed: Vec<(String, Hash)> = chunks
        .iter()
        .flat_map(|c| {
            [
                (layout::chunk_name(ENTRIES, c.first), c.sha256[0]),
                (layout::chunk_name(PROOFS, c.first), c.sha256[1]),
            ]
        })
        .collect();
    let mut consistency = Vec::new();
    for (note, proof) in &parts.earlier {
        let line = ConsistencyLine::new(note, proof);
        consistency.extend(serde_json::to_vec(&line).expect("a consistency line serializes"));
        consistency.push(b'\n');
    }
    let mut files = Files::new();
    files.insert(CHECKPOINT.into(), parts.checkpoint);
    files.insert(CONSISTENCY.into(), consistency);
    if parts.content {
        files.insert(CONTENT.into(), content);
    }
    for (size, reply) in parts.timestamps {
        files.insert(crate::timestamps::file_name(size), reply);
    }
    files.insert(
        "keys/log.vkey".into(),
        format!("{}\n", log.vkey()).into_bytes(),
    );
    if !parts.witness_vkeys.is_empty() {
        let list = parts.witness_vkeys.join("\n") + "\n";
        files.insert("keys/witnesses.vkey".into(), list.into_bytes());
    }
    let manifest = Manifest {
        format: CHUNKED_FORMAT.into(),
        origin: cp.origin.clone(),
        checkpoint_size: cp.size,
        entries: count,
        filters: parts.filters,
        pruned_below: parts.pruned_below,
        exported_at: parts.exported_at,
        tool: parts.tool,
        files: BTreeMap::new(),
    };
    sign_manifest_with(&mut files, &streamed, manifest.clone(), log);
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    rewind(&mut entries)?;
    rewind(&mut proofs)?;
    let report =
        verify_read(&files, &mut entries, &mut proofs, &trust, threads).map_err(|e| match e {
            VerifyError::Pack(e) => BuildError::Pack(e),
            VerifyError::Archive(e) => BuildError::Io(std::io::Error::other(e)),
        })?;
    if !report.valid {
        return Err(PackError::Manifest(format!(
            "the exported pack does not verify, so it was not handed out: {report}"
        ))
        .into());
    }
    let content = match files.get(CONTENT) {
        Some(lines) => {
            rewind(&mut entries)?;
            rewind(&mut proofs)?;
            let checked = crate::content::check(
                lines,
                &mut BufReader::new(&mut entries),
                &mut BufReader::new(&mut proofs),
            );
            Some(checked.map_err(BuildError::Content)?)
        }
        None => None,
    };
    rewind(&mut proofs)?;
    let anchors = Trust {
        policy: parts.policy,
        ..trust
    };
    let findings = findings(&files, &mut proofs, &anchors, parts.tsa_roots.as_ref());
    rewind(&mut entries)?;
    rewind(&mut proofs)?;
    let (md, html) = render::reports(
        &report,
        &mut BufReader::new(&mut entries),
        &mut BufReader::new(&mut proofs),
        &log.vkey(),
        &findings,
        content.as_ref(),
    )?;
    files.insert("report.md".into(), md.into_bytes());
    files.insert("report.html".into(), html.into_bytes());
    sign_manifest_with(&mut files, &streamed, manifest, log);
    Ok(Pack {
        files,
        entries,
        proofs,
        chunks,
        report,
    })
}

/// What the witnesses and time-stamps of a built pack show under the log's own policy and
/// TSA roots, for its report. A token that fails is said in the report (the server checked
/// each when it arrived, so that means the roots changed since).
fn findings(
    files: &Files,
    proofs: &mut impl Read,
    trust: &Trust,
    roots: Option<&Roots>,
) -> crate::assurance::Findings {
    let empty = Vec::new();
    let file = |name: &str| files.get(name).unwrap_or(&empty);
    let tokens: Vec<(String, Vec<u8>)> = files
        .iter()
        .filter(|(name, _)| name.starts_with(timestamps::DIR))
        .map(|(name, reply)| (name.clone(), reply.clone()))
        .collect();
    let (checkpoint, consistency) = (file(CHECKPOINT), file(CONSISTENCY));
    let stamps = timestamps::check(checkpoint, consistency, &tokens, roots, |sizes| {
        timestamps::range_counts(proofs, sizes)
    })
    .unwrap_or_else(|e| timestamps::Stamps::failed(&e));
    crate::assurance::findings(checkpoint, consistency, trust, stamps)
}

/// Writes the entries and their proof lines, and appends their content lines to `content`;
/// returns how many, and the chunks the two files are split into (see [`layout`]).
fn write_entries(
    from: impl IntoIterator<Item = PackEntry>,
    entries: &mut impl Write,
    proofs: &mut impl Write,
    content: &mut Vec<u8>,
) -> std::io::Result<(u64, Vec<Chunk>)> {
    let mut entries = Hashing::new(BufWriter::with_capacity(1 << 20, entries));
    let mut proofs = Hashing::new(BufWriter::with_capacity(1 << 20, proofs));
    let mut proof_lines = ProofLineWriter::default();
    let mut chunks = Vec::new();
    let (mut count, mut first) = (0u64, 0u64);
    let mut line = Vec::new();
    for e in from {
        count += 1;
        entries.write(&e.leaf)?;
        entries.write(b"\n")?;
        line.clear();
        serde_json::to_writer(&mut line, &proof_lines.line(e.index, &e.inclusion))
            .expect("a proof line serializes");
        line.push(b'\n');
        proofs.write(&line)?;
        content.extend_from_slice(&e.content);
        if layout::chunk_ends(count - first, entries.chunk_bytes()) {
            chunks.push(end_chunk(first, &mut entries, &mut proofs));
            first = count;
        }
    }
    if count > first {
        chunks.push(end_chunk(first, &mut entries, &mut proofs));
    }
    entries.out.flush()?;
    proofs.out.flush()?;
    Ok((count, chunks))
}

fn end_chunk(
    first: u64,
    entries: &mut Hashing<impl Write>,
    proofs: &mut Hashing<impl Write>,
) -> Chunk {
    let (e, e_sha) = entries.end_chunk();
    let (p, p_sha) = proofs.end_chunk();
    Chunk {
        first,
        entries: e,
        proofs: p,
        sha256: [e_sha, p_sha],
    }
}

/// A writer that hashes what it writes, chunk by chunk.
struct Hashing<W: Write> {
    out: W,
    sha: Sha256,
    /// Where the current chunk starts, and bytes written.
    start: u64,
    written: u64,
}

impl<W: Write> Hashing<W> {
    fn new(out: W) -> Self {
        Hashing {
            out,
            sha: Sha256::new(),
            start: 0,
            written: 0,
        }
    }

    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.sha.update(bytes);
        self.written += bytes.len() as u64;
        self.out.write_all(bytes)
    }

    fn chunk_bytes(&self) -> u64 {
        self.written - self.start
    }

    /// Where the current chunk is (start, length) and its SHA-256; the next one starts.
    fn end_chunk(&mut self) -> ((u64, u64), Hash) {
        let span = (self.start, self.chunk_bytes());
        self.start = self.written;
        (span, std::mem::take(&mut self.sha).finalize().into())
    }
}

/// Lists every other file's SHA-256 in `manifest`, signs it with `log`, and stores the
/// manifest and its signature in `files` (replacing any there). A chunked manifest lists the
/// chunks of `entries.jsonl` and `proofs.jsonl` (see [`layout`]) instead of the two files.
pub fn sign_manifest(files: &mut Files, manifest: Manifest, log: &Signer) {
    if !manifest.is_chunked() {
        return sign_manifest_with(files, &[], manifest, log);
    }
    let (entries, proofs) = (files.remove(ENTRIES), files.remove(PROOFS));
    let empty = Vec::new();
    let (e, p) = (
        entries.as_ref().unwrap_or(&empty),
        proofs.as_ref().unwrap_or(&empty),
    );
    let mut chunks = Vec::new();
    for c in layout::split(e, p) {
        for (name, bytes, range) in [(ENTRIES, e, c.entries), (PROOFS, p, c.proofs)] {
            let sha = evidence::sha256(&bytes[range]);
            chunks.push((layout::chunk_name(name, c.first), sha));
        }
    }
    sign_manifest_with(files, &chunks, manifest, log);
    for (name, bytes) in [(ENTRIES, entries), (PROOFS, proofs)] {
        if let Some(bytes) = bytes {
            files.insert(name.into(), bytes);
        }
    }
}

/// [`sign_manifest`], for a pack whose files are `files` and, outside them, the `streamed`
/// ones, whose digests are given.
fn sign_manifest_with(
    files: &mut Files,
    streamed: &[(String, Hash)],
    mut manifest: Manifest,
    log: &Signer,
) {
    files.remove(MANIFEST);
    files.remove(MANIFEST_SIG);
    manifest.files = files
        .iter()
        .map(|(name, bytes)| (name.clone(), evidence::sha256(bytes)))
        .chain(streamed.iter().map(|(name, h)| (name.clone(), *h)))
        .map(|(name, h)| (name, sealog_core::hex::encode(&h)))
        .collect();
    let (text, sig) = manifest.sign(log);
    files.insert(MANIFEST.into(), text);
    files.insert(MANIFEST_SIG.into(), sig);
}
