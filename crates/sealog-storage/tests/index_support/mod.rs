//! Helpers shared by the `index_*` tests: temporary directories and synthetic leaves.

#![allow(dead_code)] // each test file uses a different subset

use sealog_core::leaf;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A directory under the system temp dir, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("sealog-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// 2026-11-22T00:00:00Z in µs since the Unix epoch.
pub const T0: i64 = 1_795_305_600_000_000;

/// The fields of a synthetic event; `None` leaves the field out of the leaf.
#[derive(Clone, Debug, Default)]
pub struct Ev {
    pub id: u128,
    pub ts: Option<i64>,
    pub agent: Option<String>,
    pub action: Option<String>,
    pub status: Option<String>,
    pub session: Option<String>,
    pub seq: Option<u64>,
}

impl Ev {
    /// The leaf bytes the engine would store for this event (keys in canonical order).
    pub fn leaf(&self) -> Vec<u8> {
        let mut members = Vec::new();
        if let Some(a) = &self.action {
            members.push(format!(r#""action":"{a}""#));
        }
        if let Some(a) = &self.agent {
            members.push(format!(r#""agent":{{"id":"{a}"}}"#));
        }
        members.push(format!(r#""id":"{}""#, uuid_text(self.id)));
        if let Some(s) = &self.session {
            match self.seq {
                Some(seq) => members.push(format!(r#""session":{{"id":"{s}","seq":{seq}}}"#)),
                None => members.push(format!(r#""session":{{"id":"{s}"}}"#)),
            }
        }
        if let Some(s) = &self.status {
            members.push(format!(r#""status":"{s}""#));
        }
        if let Some(ts) = self.ts {
            members.push(format!(r#""ts":"{}""#, leaf::format_received(ts)));
        }
        let event = format!("{{{}}}", members.join(","));
        leaf::build("test.example/log", self.ts.unwrap_or(T0), event.as_bytes())
    }
}

/// A UUIDv7-shaped id whose time part grows with `n`.
pub fn id(n: u64) -> u128 {
    (u128::from(n + 1_000_000) << 80)
        | (0x7 << 76)
        | (0b10 << 62)
        | u128::from(n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 2)
}

fn uuid_text(id: u128) -> String {
    let h = format!("{id:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// Deterministic pseudo-random numbers (xorshift64*).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// `n` varied events: 5 agents, 12 sessions (seq in order per session), 4 actions, 3
/// statuses, times mostly increasing with some out of order, and some fields missing.
pub fn events(n: u64, seed: u64) -> Vec<Ev> {
    let mut rng = Rng(seed | 1);
    let mut seqs = [0u64; 12];
    (0..n)
        .map(|i| {
            let r = rng.next();
            let session = (r % 16 < 12).then_some((r % 16) as usize);
            Ev {
                id: id(i + seed * 1_000_000),
                ts: (r >> 8 & 31 != 0).then(|| T0 + i as i64 * 1000 - (r >> 16 & 3) as i64 * 5_000),
                agent: (r >> 20 & 15 != 0).then(|| format!("agent-{}", (r >> 24) % 5)),
                action: Some(
                    ["llm_call", "tool_call", "decision", "human_oversight"]
                        [(r >> 30 & 3) as usize]
                        .into(),
                ),
                status: (r >> 32 & 7 != 0)
                    .then(|| ["ok", "error", "blocked"][(r >> 35) as usize % 3].into()),
                session: session.map(|s| format!("session-{s}")),
                seq: session.map(|s| {
                    seqs[s] += 1;
                    seqs[s] - 1
                }),
            }
        })
        .collect()
}

/// Applies `events` from the index's watermark in batches of `batch`.
pub fn apply_all(index: &sealog_storage::index::IdIndex, events: &[Ev], batch: usize) {
    for group in events.chunks(batch) {
        let leaves: Vec<Vec<u8>> = group.iter().map(Ev::leaf).collect();
        let refs: Vec<&[u8]> = leaves.iter().map(Vec::as_slice).collect();
        index.apply(index.watermark(), &refs).expect("apply");
    }
}
