//! Verifying packs on every core, as they are read, and single receipts.

use crate::archive::{self, ArchiveError, Files, ReadLimits};
use crate::chunks::{ChunkReader, next_pair};
use sealog_core::checkpoint::Checkpoint;
use sealog_core::evidence::{
    self, CHECKPOINT, CONSISTENCY, ENTRIES, MANIFEST, MANIFEST_SIG, PROOFS, PackError,
    PackVerifier, Report, Trust, VerifiedChunk, layout,
};
use sealog_core::merkle::Hash;
use sealog_core::receipt::{self, ReceiptError, VerifiedReceipt};
use sealog_core::tlog_proof::TlogProof;
use std::collections::BTreeMap;
use std::io::{Cursor, Read};
use std::sync::atomic::AtomicU64;
use std::sync::{Mutex, mpsc};
use zip::ZipArchive;

/// Why a pack could not be verified at all.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The pack's signed parts are missing or do not verify.
    #[error(transparent)]
    Pack(#[from] PackError),
    /// The pack could not be read.
    #[error(transparent)]
    Archive(#[from] ArchiveError),
}

impl From<zip::result::ZipError> for VerifyError {
    fn from(e: zip::result::ZipError) -> Self {
        VerifyError::Archive(e.into())
    }
}

/// Verifies a pack held in memory, on `threads` threads (at least one).
pub fn verify_pack(files: &Files, trust: &Trust, threads: usize) -> Result<Report, VerifyError> {
    let mut entries = file(files, ENTRIES)?;
    let mut proofs = file(files, PROOFS)?;
    verify_read(files, &mut entries, &mut proofs, trust, threads)
}

/// Verifies a pack whose entries and proofs come from readers the caller trusts to end (its
/// own files), and whose other files are in `files`.
pub(crate) fn verify_read(
    files: &Files,
    entries: &mut dyn Read,
    proofs: &mut dyn Read,
    trust: &Trust,
    threads: usize,
) -> Result<Report, VerifyError> {
    let unbounded = ReadLimits {
        max_total_bytes: u64::MAX,
        max_line_bytes: usize::MAX,
        ..ReadLimits::default()
    };
    verify_parts(files, entries, proofs, trust, threads, unbounded)
}

/// Verifies a pack in ZIP form on `threads` threads (at least one), inflating its entries and
/// proofs as they are verified: memory stays within a few chunks, whatever the pack's size,
/// and `limits` bound what a hostile file can make this read.
///
/// ```no_run
/// # use sealog_core::{evidence::Trust, note::Verifier};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let trust = Trust {
///     log: Verifier::from_vkey("sealog.example/agents+1a2b3c4d+AbC…")?,
///     witnesses: Vec::new(),
///     policy: None,
/// };
/// let zip = std::fs::read("pack.zip")?;
/// let report = sealog_evidence::verify::verify_zip(&zip, Default::default(), &trust, 2)?;
/// println!("{report}");
/// # Ok(()) }
/// ```
pub fn verify_zip(
    zip: &[u8],
    limits: ReadLimits,
    trust: &Trust,
    threads: usize,
) -> Result<Report, VerifyError> {
    let mut first = ZipArchive::new(Cursor::new(zip))?;
    let chunked = match archive::read_one(Cursor::new(zip), MANIFEST, limits.max_total_bytes) {
        Ok(manifest) => archive::is_chunked_manifest(&manifest),
        // Said when the signed parts are opened.
        Err(_) => false,
    };
    let large = |name: &str| match chunked {
        true => layout::parse_chunk_name(name).is_some(),
        false => name == ENTRIES || name == PROOFS,
    };
    let (files, used, skipped) = archive::read_files_except(&mut first, limits, large)?;
    let rest = ReadLimits {
        max_total_bytes: limits.max_total_bytes - used,
        ..limits
    };
    if chunked {
        return crate::verify_chunks::verify(&first, &files, skipped, trust, threads, rest);
    }
    // A second view of the same bytes, so both large files can be inflated side by side.
    let mut second = first.clone();
    let mut entries = member(&mut first, ENTRIES)?;
    let mut proofs = member(&mut second, PROOFS)?;
    verify_parts(&files, &mut entries, &mut proofs, trust, threads, rest)
}

pub(crate) fn file<'f>(files: &'f Files, name: &'static str) -> Result<&'f [u8], PackError> {
    files
        .get(name)
        .map(Vec::as_slice)
        .ok_or(PackError::Missing(name))
}

fn member<'z>(
    zip: &'z mut ZipArchive<Cursor<&'z [u8]>>,
    name: &'static str,
) -> Result<zip::read::ZipFile<'z, Cursor<&'z [u8]>>, VerifyError> {
    match zip.by_name(name) {
        Ok(f) => Ok(f),
        Err(zip::result::ZipError::FileNotFound) => Err(PackError::Missing(name).into()),
        Err(e) => Err(e.into()),
    }
}

/// One chunk for a worker: runs of whole lines of both files, from line `first_line`.
struct Job {
    n: usize,
    first_line: u64,
    entries: Vec<u8>,
    proofs: Vec<u8>,
}

/// Verifies a pack whose entries and proofs are read from `entries` and `proofs` and whose
/// other files are in `files` (any entries or proofs there are ignored). This thread reads
/// both files into runs and hands them to `threads` workers; it absorbs their results in
/// order while they go on, so memory stays bounded by a few runs. A chunked pack's chunks
/// (see [`layout`]) are hashed as the exporter split them.
fn verify_parts(
    files: &Files,
    entries: &mut dyn Read,
    proofs: &mut dyn Read,
    trust: &Trust,
    threads: usize,
    limits: ReadLimits,
) -> Result<Report, VerifyError> {
    let mut v = open_verifier(files, trust)?;
    let consistency = file(files, CONSISTENCY)?;
    let chunked = v.manifest().is_chunked();
    let mut entries = ChunkReader::new(ENTRIES, entries, limits.max_line_bytes);
    let mut proofs = ChunkReader::new(PROOFS, proofs, limits.max_line_bytes);
    let budget = AtomicU64::new(limits.max_total_bytes);
    let cp = v.checkpoint().clone();
    let threads = threads.max(1);
    let (jobs, queue) = mpsc::sync_channel::<Job>(threads);
    let queue = Mutex::new(queue);
    let (done, results) = mpsc::channel::<(usize, VerifiedChunk)>();
    let mut in_order = InOrder::default();
    let mut digests = Vec::new();
    std::thread::scope(|s| {
        for _ in 0..threads {
            let (done, queue, cp) = (done.clone(), &queue, &cp);
            s.spawn(move || work(queue, &done, cp));
        }
        drop(done);
        let mut readers = Readers {
            entries: &mut entries,
            proofs: &mut proofs,
            budget: &budget,
            chunk: chunked.then(ChunkAt::default),
            digests: &mut digests,
        };
        let outcome = send_jobs(&mut readers, &jobs, || {
            for (k, chunk) in results.try_iter() {
                in_order.absorb(k, chunk, &mut v);
            }
        });
        drop(jobs);
        for (k, chunk) in results.iter() {
            in_order.absorb(k, chunk, &mut v);
        }
        outcome
    })?;
    if !chunked {
        digests.push((ENTRIES.into(), entries.take_sha256()));
        digests.push((PROOFS.into(), proofs.take_sha256()));
    }
    for (name, sha) in digests {
        v.file_digest(&name, &sha);
    }
    v.consistency(consistency, &trust.log);
    Ok(v.finish())
}

/// Opens the pack's signed parts and digests every file that is not streamed.
pub(crate) fn open_verifier(files: &Files, trust: &Trust) -> Result<PackVerifier, VerifyError> {
    let mut v = PackVerifier::open(
        file(files, MANIFEST)?,
        file(files, MANIFEST_SIG)?,
        file(files, CHECKPOINT)?,
        trust,
    )?;
    let streamed = [MANIFEST, MANIFEST_SIG, ENTRIES, PROOFS];
    for (name, bytes) in files {
        if !streamed.contains(&name.as_str()) {
            v.file_digest(name, &evidence::sha256(bytes));
        }
    }
    Ok(v)
}

/// A worker: verifies the jobs it takes from `queue` against `cp` and sends each result,
/// numbered, to `done`, until the queue closes or the results are no longer wanted.
fn work(
    queue: &Mutex<mpsc::Receiver<Job>>,
    done: &mpsc::Sender<(usize, VerifiedChunk)>,
    cp: &Checkpoint,
) {
    loop {
        // Its own statement, so the lock is released before the work starts.
        let next = queue.lock().expect("no worker panics").recv();
        let Ok(job) = next else { break };
        let e = evidence::lines(&job.entries);
        let p = evidence::lines(&job.proofs);
        let chunk = evidence::verify_chunk(cp, job.first_line, &e, &p);
        if done.send((job.n, chunk)).is_err() {
            break;
        }
    }
}

/// Both files being read, and, for a chunked pack, where the current chunk is and the
/// digests of those read.
struct Readers<'a, 'r> {
    entries: &'a mut ChunkReader<'r>,
    proofs: &'a mut ChunkReader<'r>,
    budget: &'a AtomicU64,
    chunk: Option<ChunkAt>,
    digests: &'a mut Vec<(String, Hash)>,
}

impl Readers<'_, '_> {
    /// Records the digests of the chunk read so far; the next one starts.
    fn end_chunk(&mut self) {
        let c = self.chunk.as_mut().expect("only chunked packs have chunks");
        self.digests.extend([
            (
                layout::chunk_name(ENTRIES, c.first),
                self.entries.take_sha256(),
            ),
            (
                layout::chunk_name(PROOFS, c.first),
                self.proofs.take_sha256(),
            ),
        ]);
        *c = ChunkAt {
            first: c.first + c.lines,
            ..ChunkAt::default()
        };
    }
}

/// The chunk being read: its first line (from 0), its lines and entry bytes so far, and
/// whether it holds any line.
#[derive(Default)]
struct ChunkAt {
    first: u64,
    lines: u64,
    entry_bytes: u64,
    open: bool,
}

/// Reads both files into numbered jobs of matching lines and sends them to `jobs`, calling
/// `absorb_ready` after each so that results are absorbed while the workers go on.
fn send_jobs(
    r: &mut Readers,
    jobs: &mpsc::SyncSender<Job>,
    mut absorb_ready: impl FnMut(),
) -> Result<(), ArchiveError> {
    let (mut n, mut first_line) = (0, 1);
    loop {
        let at = r.chunk.as_ref().map(|c| (c.lines, c.entry_bytes));
        let ends = |lines: u64, bytes: usize| {
            at.is_some_and(|(l, b)| layout::chunk_ends(l + lines, b + bytes as u64))
        };
        let Some(pair) = next_pair(r.entries, r.proofs, r.budget, ends)? else {
            if r.chunk.as_ref().is_some_and(|c| c.open) {
                r.end_chunk();
            }
            break;
        };
        if let Some(c) = &mut r.chunk {
            c.lines += pair.entry_lines;
            c.entry_bytes += pair.entries.len() as u64;
            c.open = true;
            if layout::chunk_ends(c.lines, c.entry_bytes) {
                r.end_chunk();
            }
        }
        let job = Job {
            n,
            first_line,
            entries: pair.entries,
            proofs: pair.proofs,
        };
        jobs.send(job).expect("workers run until the queue closes");
        (n, first_line) = (n + 1, first_line + pair.lines);
        absorb_ready();
    }
    Ok(())
}

/// Chunk results, which arrive in any order, absorbed in order.
#[derive(Default)]
struct InOrder {
    early: BTreeMap<usize, VerifiedChunk>,
    want: usize,
}

impl InOrder {
    fn absorb(&mut self, n: usize, chunk: VerifiedChunk, v: &mut PackVerifier) {
        self.early.insert(n, chunk);
        while let Some(chunk) = self.early.remove(&self.want) {
            v.absorb(chunk);
            self.want += 1;
        }
    }
}

/// Why a receipt did not verify.
#[derive(Debug, thiserror::Error)]
pub enum ReceiptCheckError {
    /// The receipt itself failed.
    #[error(transparent)]
    Receipt(#[from] ReceiptError),
    /// Its checkpoint lacks a pinned witness.
    #[error(transparent)]
    Witness(#[from] PackError),
}

/// Verifies a single receipt (a tlog-proof file) against the pinned keys, witnesses included.
pub fn verify_receipt(bytes: &[u8], trust: &Trust) -> Result<VerifiedReceipt, ReceiptCheckError> {
    let mut verified = receipt::verify(bytes, &trust.log, trust.policy.as_ref())?;
    let proof = TlogProof::parse(bytes).map_err(ReceiptError::from)?;
    let (_, witnesses) = evidence::open_checkpoint(&proof.checkpoint, trust)?;
    for w in witnesses {
        if !verified.witnesses.contains(&w) {
            verified.witnesses.push(w);
        }
    }
    Ok(verified)
}
