//! Measures the query + dedup index (`sealog_storage::index`) at ingest scale.
//!
//! ```text
//! cargo run --release -p sealog-storage --example index_bench -- [leaves] [batch] [dir]
//! ```
//!
//! Defaults: 1,000,000 synthetic leaves of about 300 bytes, applied 1,000 per durable batch,
//! each batch preceded by `lookup_ids` of its 1,000 fresh ids (what the engine does on ingest),
//! in a temporary directory. Prints throughput, latency percentiles, disk use against the leaf
//! bytes, lookups of old ids, reopen time and query times. The results are recorded in
//! `src/index/README.md`.

use sealog_core::leaf;
use sealog_storage::index::{IdIndex, Query};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const AGENTS: u64 = 100;
const TOOLS: u64 = 20;
const ACTIVE_SESSIONS: usize = 1000;
const ACTIONS: [&str; 6] = [
    "llm_call",
    "tool_call",
    "retrieval",
    "decision",
    "policy_flag",
    "human_oversight",
];
/// Start of the synthetic clock: 2026-11-22T00:00:00Z, in µs; one event every 10 µs (100 k/s).
const T0: i64 = 1_795_305_600_000_000;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u64 = args
        .next()
        .map_or(1_000_000, |a| a.parse().expect("leaves: a number"));
    let batch: u64 = args
        .next()
        .map_or(1_000, |a| a.parse().expect("batch: a number"));
    let dir = args.next().map_or_else(
        || std::env::temp_dir().join(format!("sealog-index-bench-{}", std::process::id())),
        PathBuf::from,
    );
    IdIndex::destroy(&dir).expect("clear the bench directory");
    let index = IdIndex::open(&dir).expect("open index");
    let mut g = Generator::new();
    // Generated up front so that the timed loop (and its CPU time) is the index's alone.
    let batches: Vec<(Vec<Vec<u8>>, Vec<u128>)> = (0..n)
        .step_by(batch as usize)
        .map(|first| (first..n.min(first + batch)).map(|i| g.leaf(i)).unzip())
        .collect();
    let leaf_bytes: u64 = batches
        .iter()
        .flat_map(|b| &b.0)
        .map(|l| l.len() as u64)
        .sum();
    let (mut apply_t, mut lookup_t, mut sample_ids) = (Vec::new(), Vec::new(), Vec::new());
    let (start, cpu_start) = (Instant::now(), cpu_seconds());
    let mut window = Instant::now();
    let mut first = 0;
    for (leaves, ids) in &batches {
        let count = leaves.len() as u64;
        sample_ids.extend((0..count).step_by(97).map(|k| (ids[k as usize], first + k)));
        let t = Instant::now();
        let found = index.lookup_ids(ids).expect("lookup");
        lookup_t.push(t.elapsed());
        assert!(
            found.iter().all(Option::is_none),
            "fresh ids must be absent"
        );
        let refs: Vec<&[u8]> = leaves.iter().map(Vec::as_slice).collect();
        let t = Instant::now();
        index.apply(first, &refs).expect("apply");
        apply_t.push(t.elapsed());
        first += count;
        if first % 200_000 < batch {
            let rate = 200_000.0 / window.elapsed().as_secs_f64();
            println!("  {first:>9} leaves, last 200k at {rate:>8.0}/s");
            window = Instant::now();
        }
    }
    let cpu = cpu_seconds() - cpu_start;
    drop(batches);
    let busy: Duration = apply_t.iter().chain(&lookup_t).sum();
    println!("leaves {n}, batch {batch}, mean leaf {} B", leaf_bytes / n);
    println!(
        "ingest (lookup + apply) {:.0}/s over {:.1} s wall ({:.0}/s counting index time only)",
        n as f64 / start.elapsed().as_secs_f64(),
        start.elapsed().as_secs_f64(),
        n as f64 / busy.as_secs_f64()
    );
    println!(
        "CPU {:.1} µs per leaf ({:.0}/s per core)",
        cpu * 1e6 / n as f64,
        n as f64 / cpu
    );
    report("apply per batch", &mut apply_t);
    report("lookup_ids per batch (fresh)", &mut lookup_t);
    let disk = dir_bytes(&dir);
    println!(
        "disk {:.1} MB = {:.1} B/leaf = {:.3} x leaf bytes",
        disk as f64 / 1e6,
        disk as f64 / n as f64,
        disk as f64 / leaf_bytes as f64
    );
    old_lookups(&index, &sample_ids);
    drop(index);
    let t = Instant::now();
    let index = IdIndex::open(&dir).expect("reopen");
    println!(
        "reopen {:.1} ms, watermark {}",
        ms(t.elapsed()),
        index.watermark()
    );
    queries(&index, &mut g);
    drop(index);
    IdIndex::destroy(&dir).expect("clean up");
    let _ = std::fs::remove_dir(&dir);
}

/// Lookups of ids from all ages (mostly hits), in groups of 1,000.
fn old_lookups(index: &IdIndex, samples: &[(u128, u64)]) {
    let mut times = Vec::new();
    for group in samples.chunks(1000).filter(|c| c.len() == 1000) {
        let ids: Vec<u128> = group.iter().map(|s| s.0).collect();
        let t = Instant::now();
        let found = index.lookup_ids(&ids).expect("lookup");
        times.push(t.elapsed());
        for (f, s) in found.iter().zip(group) {
            assert_eq!(*f, Some(s.1), "an indexed id must be found at its index");
        }
    }
    report("lookup_ids of 1,000 old ids (hits)", &mut times);
}

fn queries(index: &IdIndex, g: &mut Generator) {
    let mid = T0 + (index.watermark() as i64) * 5;
    let cases = [
        ("newest page, no filter", Query::default()),
        (
            "agent",
            Query {
                agent: Some("agent-007".into()),
                ..Query::default()
            },
        ),
        (
            "status=blocked (2%)",
            Query {
                status: Some("blocked".into()),
                ..Query::default()
            },
        ),
        (
            "action=human_oversight & status=error (0.1%)",
            Query {
                action: Some("human_oversight".into()),
                status: Some("error".into()),
                ..Query::default()
            },
        ),
        (
            "agent & 1 s time range mid-log",
            Query {
                agent: Some("agent-007".into()),
                since: Some(mid),
                until: Some(mid + 1_000_000),
                ..Query::default()
            },
        ),
        (
            "session (index order)",
            Query {
                session: Some(g.old_session()),
                ..Query::default()
            },
        ),
    ];
    for (name, q) in cases {
        let t = Instant::now();
        let mut page = index.query(&q).expect("query");
        let (mut pages, mut found) = (1, page.indices.len());
        let first_page = t.elapsed();
        while let Some(next) = page.next.take().filter(|_| pages < 10) {
            page = index
                .query(&Query {
                    cursor: Some(next),
                    ..q.clone()
                })
                .expect("query");
            pages += 1;
            found += page.indices.len();
        }
        println!(
            "query {name}: first page {:.2} ms; {pages} pages, {found} entries in {:.2} ms",
            ms(first_page),
            ms(t.elapsed())
        );
    }
    searches(index);
    let session = g.old_session();
    let t = Instant::now();
    let page = index.session(&session, None, 1000).expect("session");
    println!(
        "session in seq order: {} entries in {:.2} ms",
        page.entries.len(),
        ms(t.elapsed())
    );
}

/// Searches (`Query::terms`): every match of each, in pages of 1,000.
fn searches(index: &IdIndex) {
    let cases = [
        "tool:tool-07",
        "tool:tool-07 status:error",
        "rc-3 attr.tenant:t-4",
        "model:model-2 agent:agent-007",
        "acme status:blocked",
    ];
    for search in cases {
        let t = Instant::now();
        let mut q = Query {
            limit: 1000,
            ..Query::default()
        }
        .with_search(search)
        .expect("a valid search");
        let (mut pages, mut found) = (0, 0);
        loop {
            let page = index.query(&q).expect("search");
            pages += 1;
            found += page.indices.len();
            match page.next {
                Some(next) => q.cursor = Some(next),
                None => break,
            }
        }
        println!(
            "search {search:?}: {found} entries in {pages} pages, {:.2} ms",
            ms(t.elapsed())
        );
    }
}

fn report(name: &str, times: &mut [Duration]) {
    if times.is_empty() {
        return;
    }
    times.sort();
    let pick = |q: f64| ms(times[((times.len() - 1) as f64 * q) as usize]);
    println!(
        "{name}: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        pick(0.5),
        pick(0.99),
        pick(1.0)
    );
}

/// User + system CPU time of this process so far (Linux; 0 elsewhere).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields 14 and 15 (utime, stime) in clock ticks, counted after the command name's ')'.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: u64 = after
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|f| f.parse::<u64>().ok())
        .sum();
    ticks as f64 / 100.0
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn dir_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .expect("read bench dir")
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum()
}

/// Synthetic events: 100 agents, 1,000 sessions open at a time (about 50 events each), one
/// event in ten outside any session, UUIDv7 ids and times that follow a 100 k/s clock.
struct Generator {
    state: u64,
    sessions: Vec<(u64, u64)>,
    next_session: u64,
    ended: Vec<u64>,
}

impl Generator {
    fn new() -> Self {
        Generator {
            state: 0x9E37_79B9_7F4A_7C15,
            sessions: Vec::new(),
            next_session: 0,
            ended: Vec::new(),
        }
    }

    fn next(&mut self) -> u64 {
        // xorshift64*: deterministic and dependency-free.
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn leaf(&mut self, i: u64) -> (Vec<u8>, u128) {
        let t = T0 + i as i64 * 10;
        let ms = (t / 1000) as u128;
        let id = (ms << 80)
            | (0x7 << 76)
            | (u128::from(self.next() & 0xFFF) << 64)
            | (0b10 << 62)
            | u128::from(self.next() >> 2);
        let r = self.next();
        let action = ACTIONS[[300, 700, 850, 950, 990, 1000]
            .iter()
            .position(|&c| r % 1000 < c)
            .unwrap_or(0)];
        let status = match r >> 8 & 1023 {
            0..=71 => "error",
            72..=91 => "blocked",
            92..=101 => "pending",
            _ => "ok",
        };
        let session = if r >> 20 & 15 == 0 {
            String::new()
        } else {
            self.session_field()
        };
        let agent = (r >> 32) % AGENTS;
        // What search indexes besides the fields: a tool, a model or a reason code, and an
        // attribute, as real events carry them.
        let k = r >> 40;
        let context = match action {
            "tool_call" => format!(r#"{{"tool":{{"name":"tool-{:02}"}}}}"#, k % TOOLS),
            "llm_call" => format!(
                r#"{{"model":{{"id":"model-{}","provider":"acme"}}}}"#,
                k % 5
            ),
            _ => format!(r#"{{"decision":{{"reason_codes":["rc-{}"]}}}}"#, k % 8),
        };
        let event = format!(
            r#"{{"action":"{action}","agent":{{"id":"agent-{agent:03}"}},"attributes":{{"tenant":"t-{}"}},"context":{context},"id":"{}"{session},"status":"{status}","ts":"{}"}}"#,
            k % 50,
            uuid::Uuid::from_u128(id).hyphenated(),
            leaf::format_received(t - 3_000),
        );
        (
            leaf::build("bench.example/default", t, event.as_bytes()),
            id,
        )
    }

    fn session_field(&mut self) -> String {
        if self.sessions.len() < ACTIVE_SESSIONS {
            self.sessions.push((self.next_session, 0));
            self.next_session += 1;
        }
        let slot = (self.next() % ACTIVE_SESSIONS as u64) as usize % self.sessions.len();
        let (id, seq) = self.sessions[slot];
        self.sessions[slot].1 += 1;
        if seq >= 50 {
            self.ended.push(id);
            self.sessions[slot] = (self.next_session, 0);
            self.next_session += 1;
        }
        format!(r#","session":{{"id":"sess-{id:016x}","seq":{seq}}}"#)
    }

    fn old_session(&mut self) -> String {
        let slot = (self.next() % self.ended.len() as u64) as usize;
        let pick = self.ended[slot];
        format!("sess-{pick:016x}")
    }
}
