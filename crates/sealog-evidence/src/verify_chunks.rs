//! Verifying a chunked pack (`sealog-evidence/v2`, see [`layout`]) in ZIP form: each worker
//! inflates, hashes and verifies whole chunks on its own; this thread only checks that the
//! chunks follow each other and merges their summaries, in order.

use crate::archive::{ArchiveError, Files, ReadLimits};
use crate::chunks::{ChunkReader, next_pair};
use crate::verify::{VerifyError, file, open_verifier};
use sealog_core::checkpoint::Checkpoint;
use sealog_core::evidence::{
    self, CONSISTENCY, ENTRIES, PROOF_RESTART_LINES, PROOFS, PackError, PackVerifier, Report,
    Trust, VerifiedChunk, layout,
};
use sealog_core::merkle::Hash;
use std::collections::BTreeMap;
use std::io::Cursor;
use std::sync::atomic::AtomicU64;
use std::sync::{Mutex, mpsc};
use zip::ZipArchive;

type Zip<'z> = ZipArchive<Cursor<&'z [u8]>>;

/// One chunk to verify: its number in order, its first line (from 0) and its two members.
struct Job {
    n: usize,
    first: u64,
    entries: String,
    proofs: String,
}

/// What a worker found in one chunk.
struct Verified {
    first: u64,
    names: [String; 2],
    runs: Vec<VerifiedChunk>,
    /// Lines of its entries.
    lines: u64,
    /// Whether each of its two members ends in a newline (or is empty).
    whole_lines: [bool; 2],
    sha256: [Hash; 2],
}

/// Verifies the pack `zip`, whose files but the chunks, named in `chunks`, are in `files`.
pub(crate) fn verify(
    zip: &Zip<'_>,
    files: &Files,
    chunks: Vec<String>,
    trust: &Trust,
    threads: usize,
    limits: ReadLimits,
) -> Result<Report, VerifyError> {
    let mut v = open_verifier(files, trust)?;
    let consistency = file(files, CONSISTENCY)?;
    let jobs = pair_up(chunks, &mut v)?;
    let cp = v.checkpoint().clone();
    let budget = AtomicU64::new(limits.max_total_bytes);
    let threads = threads.max(1);
    let (send, queue) = mpsc::sync_channel::<Job>(threads);
    let queue = Mutex::new(queue);
    let (done, results) = mpsc::channel::<(usize, Result<Verified, ArchiveError>)>();
    let mut merge = Merge::default();
    std::thread::scope(|s| {
        for _ in 0..threads {
            let (done, queue, cp, budget) = (done.clone(), &queue, &cp, &budget);
            let zips = [zip.clone(), zip.clone()];
            s.spawn(move || work(zips, queue, &done, cp, budget, limits.max_line_bytes));
        }
        drop(done);
        // At most this many chunks are read ahead of the one merged next, so memory stays
        // bounded by a few chunks' summaries however slow one chunk is.
        let window = 2 * threads;
        let mut outcome = Ok(());
        for job in jobs {
            while outcome.is_ok() && job.n >= merge.next + window {
                let (n, r) = results.recv().expect("a worker answers every job");
                outcome = merge.take(n, r, &mut v);
            }
            if outcome.is_err() {
                break;
            }
            send.send(job).expect("workers run until the queue closes");
        }
        drop(send);
        for (n, r) in results.iter() {
            if outcome.is_ok() {
                outcome = merge.take(n, r, &mut v);
            }
        }
        outcome
    })?;
    v.consistency(consistency, &trust.log);
    Ok(v.finish())
}

/// Pairs each entries chunk with the proofs chunk of the same first line, in order; a chunk
/// without its pair, or not starting at a proof restart, is a failure of the pack and not
/// verified. Refuses a pack with one file's chunks and none of the other's.
fn pair_up(chunks: Vec<String>, v: &mut PackVerifier) -> Result<Vec<Job>, PackError> {
    let mut by_first: BTreeMap<u64, [Option<String>; 2]> = BTreeMap::new();
    for name in chunks {
        let (file, first) = layout::parse_chunk_name(&name).expect("only chunks are skipped");
        by_first.entry(first).or_default()[usize::from(file == PROOFS)] = Some(name);
    }
    let has = |i: usize| by_first.values().any(|pair| pair[i].is_some());
    match (has(0), has(1)) {
        (true, false) => return Err(PackError::Missing(PROOFS)),
        (false, true) => return Err(PackError::Missing(ENTRIES)),
        _ => {}
    }
    let mut jobs = Vec::new();
    for (first, pair) in by_first {
        match pair {
            [Some(entries), Some(proofs)] if first.is_multiple_of(PROOF_RESTART_LINES) => {
                let n = jobs.len();
                jobs.push(Job {
                    n,
                    first,
                    entries,
                    proofs,
                })
            }
            [Some(name), Some(_)] => v.pack_failure(format!(
                "{name}: a chunk starts at a multiple of {PROOF_RESTART_LINES} lines, \
                 this one at line {}: the chunk is not one the exporter wrote",
                first + 1
            )),
            [Some(name), None] | [None, Some(name)] => {
                let other = match name.starts_with("entries/") {
                    true => layout::chunk_name(PROOFS, first),
                    false => layout::chunk_name(ENTRIES, first),
                };
                v.pack_failure(format!(
                    "{name}: the pack has no {other} to go with it: a chunk was removed"
                ))
            }
            [None, None] => unreachable!("every entry has a chunk"),
        }
    }
    Ok(jobs)
}

/// A worker: inflates, hashes and verifies the chunks it takes from `queue`, with its own
/// views of the ZIP, and sends each result, numbered, to `done`.
fn work(
    mut zips: [Zip<'_>; 2],
    queue: &Mutex<mpsc::Receiver<Job>>,
    done: &mpsc::Sender<(usize, Result<Verified, ArchiveError>)>,
    cp: &Checkpoint,
    budget: &AtomicU64,
    max_line_bytes: usize,
) {
    loop {
        // Its own statement, so the lock is released before the work starts.
        let next = queue.lock().expect("no worker panics").recv();
        let Ok(job) = next else { break };
        let result = verify_one(&mut zips, &job, cp, budget, max_line_bytes);
        if done.send((job.n, result)).is_err() {
            break;
        }
    }
}

fn verify_one(
    zips: &mut [Zip<'_>; 2],
    job: &Job,
    cp: &Checkpoint,
    budget: &AtomicU64,
    max_line_bytes: usize,
) -> Result<Verified, ArchiveError> {
    let [first_zip, second_zip] = zips;
    let mut e_file = first_zip.by_name(&job.entries)?;
    let mut p_file = second_zip.by_name(&job.proofs)?;
    let (before, max) = (job.first, max_line_bytes);
    let mut e = ChunkReader::chunk(ENTRIES, job.entries.clone(), before, &mut e_file, max);
    let mut p = ChunkReader::chunk(PROOFS, job.proofs.clone(), before, &mut p_file, max);
    let mut runs = Vec::new();
    let mut line = job.first + 1;
    let mut whole_lines = [true; 2];
    let ends_well = |run: &[u8], before: bool| run.last().map_or(before, |&b| b == b'\n');
    while let Some(pair) = next_pair(&mut e, &mut p, budget, |_, _| false)? {
        let (entries, proofs) = (
            evidence::lines(&pair.entries),
            evidence::lines(&pair.proofs),
        );
        runs.push(evidence::verify_chunk(cp, line, &entries, &proofs));
        line += pair.lines;
        whole_lines = [
            ends_well(&pair.entries, whole_lines[0]),
            ends_well(&pair.proofs, whole_lines[1]),
        ];
    }
    Ok(Verified {
        first: job.first,
        names: [job.entries.clone(), job.proofs.clone()],
        runs,
        lines: e.lines(),
        whole_lines,
        sha256: [e.take_sha256(), p.take_sha256()],
    })
}

/// Chunk results, which arrive in any order, merged in order.
#[derive(Default)]
struct Merge {
    early: BTreeMap<usize, Verified>,
    next: usize,
    /// Lines of the entries merged so far: where the next chunk must start.
    lines: u64,
}

impl Merge {
    /// Takes the result of chunk `n`, and merges every chunk now next in order: each must
    /// start where the one before it ended.
    fn take(
        &mut self,
        n: usize,
        result: Result<Verified, ArchiveError>,
        v: &mut PackVerifier,
    ) -> Result<(), VerifyError> {
        self.early.insert(n, result?);
        while let Some(chunk) = self.early.remove(&self.next) {
            let [entries, proofs] = &chunk.names;
            if chunk.first != self.lines {
                v.pack_failure(format!(
                    "{entries}: starts at line {} of {ENTRIES}, but the chunks before it end \
                     at line {}: a chunk is missing, repeated or out of place",
                    chunk.first + 1,
                    self.lines
                ));
            }
            for (name, whole) in chunk.names.iter().zip(chunk.whole_lines) {
                if !whole {
                    v.pack_failure(format!(
                        "{name}: its last line does not end in a newline: a chunk holds whole lines"
                    ));
                }
            }
            for run in chunk.runs {
                v.absorb(run);
            }
            v.file_digest(entries, &chunk.sha256[0]);
            v.file_digest(proofs, &chunk.sha256[1]);
            self.lines = chunk.first + chunk.lines;
            self.next += 1;
        }
        Ok(())
    }
}
