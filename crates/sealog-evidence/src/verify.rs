//! Verifying packs on every core, as they are read, and single receipts.

use crate::archive::{self, ArchiveError, Files, ReadLimits};
use crate::chunks::ChunkReader;
use sealog_core::checkpoint::Checkpoint;
use sealog_core::evidence::{
    self, CHECKPOINT, CONSISTENCY, ENTRIES, MANIFEST, MANIFEST_SIG, PROOF_RESTART_LINES, PROOFS,
    PackError, PackVerifier, Report, Trust, VerifiedChunk,
};
use sealog_core::receipt::{self, ReceiptError, VerifiedReceipt};
use sealog_core::tlog_proof::TlogProof;
use std::collections::BTreeMap;
use std::io::{Cursor, Read};
use std::sync::{Mutex, mpsc};
use zip::ZipArchive;

/// Lines each worker verifies at a time: big enough to amortise the shared upper proof path,
/// small enough to keep every core busy. A multiple of [`PROOF_RESTART_LINES`], where chunks
/// must start.
const CHUNK_LINES: u64 = 8 * PROOF_RESTART_LINES;

/// A chunk ends early, at a proof restart, once its entries hold this many bytes, so that
/// large events do not make chunks (and memory) large.
const CHUNK_BYTES: usize = 8 << 20;

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
    // A second view of the same bytes, so both large files can be inflated side by side.
    let mut second = first.clone();
    let (files, used) = archive::read_files_except(&mut first, limits, &[ENTRIES, PROOFS])?;
    let mut entries = member(&mut first, ENTRIES)?;
    let mut proofs = member(&mut second, PROOFS)?;
    let rest = ReadLimits {
        max_total_bytes: limits.max_total_bytes - used,
        ..limits
    };
    verify_parts(&files, &mut entries, &mut proofs, trust, threads, rest)
}

fn file<'f>(files: &'f Files, name: &'static str) -> Result<&'f [u8], PackError> {
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
/// both files into chunks and hands them to `threads` workers; it absorbs their results in
/// order while they go on, so memory stays bounded by a few chunks.
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
    let mut entries = ChunkReader::new(ENTRIES, entries, limits.max_line_bytes);
    let mut proofs = ChunkReader::new(PROOFS, proofs, limits.max_line_bytes);
    let mut budget = limits.max_total_bytes;
    let cp = v.checkpoint().clone();
    let threads = threads.max(1);
    let (jobs, queue) = mpsc::sync_channel::<Job>(threads);
    let queue = Mutex::new(queue);
    let (done, results) = mpsc::channel::<(usize, VerifiedChunk)>();
    let mut in_order = InOrder::default();
    std::thread::scope(|s| {
        for _ in 0..threads {
            let (done, queue, cp) = (done.clone(), &queue, &cp);
            s.spawn(move || work(queue, &done, cp));
        }
        drop(done);
        let outcome = send_jobs(&mut entries, &mut proofs, &mut budget, &jobs, || {
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
    v.file_digest(ENTRIES, &entries.sha256());
    v.file_digest(PROOFS, &proofs.sha256());
    v.consistency(consistency, &trust.log);
    Ok(v.finish())
}

/// Opens the pack's signed parts and digests every file that is not streamed.
fn open_verifier(files: &Files, trust: &Trust) -> Result<PackVerifier, VerifyError> {
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

/// Reads both files into numbered jobs of matching lines and sends them to `jobs`, calling
/// `absorb_ready` after each so that results are absorbed while the workers go on.
fn send_jobs(
    entries: &mut ChunkReader,
    proofs: &mut ChunkReader,
    budget: &mut u64,
    jobs: &mpsc::SyncSender<Job>,
    mut absorb_ready: impl FnMut(),
) -> Result<(), ArchiveError> {
    let (mut n, mut first_line) = (0, 1);
    while !(entries.done() && proofs.done()) {
        let (e, e_lines) = entries.next_run(budget, |lines, bytes| {
            lines == CHUNK_LINES
                || (lines.is_multiple_of(PROOF_RESTART_LINES) && bytes >= CHUNK_BYTES)
        })?;
        // As many proof lines as entry lines; past the last entry, whole chunks.
        let want = if e_lines > 0 { e_lines } else { CHUNK_LINES };
        let (p, p_lines) = proofs.next_run(budget, |lines, _| lines == want)?;
        if e_lines == 0 && p_lines == 0 {
            continue;
        }
        let job = Job {
            n,
            first_line,
            entries: e,
            proofs: p,
        };
        jobs.send(job).expect("workers run until the queue closes");
        (n, first_line) = (n + 1, first_line + e_lines.max(p_lines));
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
