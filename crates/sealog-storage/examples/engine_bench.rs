//! In-process engine benchmark: durable appends of ~300-byte events in batches, next to a
//! physical baseline (raw append + fdatasync of the same bytes per batch) measured in the
//! same run.
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target-engine cargo run --release -p sealog-storage \
//!     --example engine_bench -- [events=300000] [batch=1000] [concurrency=8] [dir=/tmp]
//! ```

use sealog_core::event::{self, Limits, ValidatedEvent};
use sealog_storage::{Engine, EngineOptions};
use std::io::Write;
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: u64| args.get(i).map_or(default, |a| a.parse().expect("number"));
    let (total, batch, concurrency) = (arg(0, 300_000), arg(1, 1000), arg(2, 8));
    let base = args.get(3).map_or_else(std::env::temp_dir, Into::into);
    let dir = tempfile::tempdir_in(&base).expect("temp dir");

    let batches: Vec<Vec<ValidatedEvent>> = (0..total / batch)
        .map(|b| (0..batch).map(|i| make_event(b * batch + i)).collect())
        .collect();
    let event_bytes = batches[0][0].canonical.len();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("runtime");
    let engine = Engine::open(dir.path(), EngineOptions::default()).expect("open");
    let log = engine
        .create_log("bench", "bench.example/bench")
        .expect("log");
    let leaf_bytes = {
        let start = Instant::now();
        let latencies = runtime.block_on(run(&log, batches, concurrency as usize));
        let took = start.elapsed();
        report("engine", total, took, latencies);
        let cp_start = Instant::now();
        runtime
            .block_on(log.wait_checkpoint(log.size()))
            .expect("checkpoint");
        println!(
            "  time to a checkpoint covering the last event: {:?}",
            cp_start.elapsed()
        );
        let leaves = log.entries(0, 1000).expect("entries");
        leaves.iter().map(Vec::len).sum::<usize>() / leaves.len()
    };
    let stats = log.stats();
    println!(
        "  groups {}, mean group {:.0} events, mean fsync {:.2} ms, event {event_bytes} B, leaf {leaf_bytes} B",
        stats.groups,
        stats.accepted as f64 / stats.groups as f64,
        stats.fsync_micros_sum as f64 / stats.groups as f64 / 1000.0
    );
    let buckets: Vec<String> = stats
        .fsync_micros_buckets
        .iter()
        .filter(|b| b.1 > 0)
        .map(|(bound, n)| format!("<={}ms:{n}", *bound as f64 / 1000.0))
        .collect();
    println!("  fsync latency histogram: {}", buckets.join(" "));
    engine.shutdown().expect("shutdown");
    let disk = du(dir.path());
    println!(
        "  disk {:.2} MB = {:.2} x leaf bytes (index included)",
        disk as f64 / 1e6,
        disk as f64 / (leaf_bytes as f64 * total as f64)
    );
    baseline(dir.path(), total, batch, leaf_bytes + 8);
}

/// Appends every batch from `concurrency` tasks; returns each batch's ack latency.
async fn run(
    log: &sealog_storage::Log,
    batches: Vec<Vec<ValidatedEvent>>,
    concurrency: usize,
) -> Vec<Duration> {
    let queue = std::sync::Arc::new(std::sync::Mutex::new(batches));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (log, queue) = (log.clone(), queue.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let Some(batch) = queue.lock().expect("queue").pop() else {
                    return latencies;
                };
                let start = Instant::now();
                log.append(batch).await.expect("append");
                latencies.push(start.elapsed());
            }
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("task"));
    }
    all
}

/// Raw append + one fdatasync per batch of the same record bytes.
fn baseline(dir: &std::path::Path, total: u64, batch: u64, record: usize) {
    let mut file = std::fs::File::create(dir.join("baseline")).expect("baseline file");
    let buf = vec![0x5a; record * batch as usize];
    let mut latencies = Vec::new();
    let start = Instant::now();
    for _ in 0..total / batch {
        let t = Instant::now();
        file.write_all(&buf).expect("write");
        file.sync_data().expect("fdatasync");
        latencies.push(t.elapsed());
    }
    report(
        "baseline (append + fdatasync)",
        total,
        start.elapsed(),
        latencies,
    );
}

fn report(what: &str, events: u64, took: Duration, mut latencies: Vec<Duration>) {
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize];
    println!(
        "{what}: {events} events in {took:.2?} = {:.0} events/s; batch ack p50 {:.2?}, p99 {:.2?}, max {:.2?}",
        events as f64 / took.as_secs_f64(),
        pct(0.5),
        pct(0.99),
        latencies.last().copied().unwrap_or_default()
    );
}

fn du(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| {
            let e = e.expect("entry");
            let meta = e.metadata().expect("metadata");
            if meta.is_dir() {
                du(&e.path())
            } else {
                meta.len()
            }
        })
        .sum()
}

/// A ~300-byte event (canonical JSON).
fn make_event(n: u64) -> ValidatedEvent {
    let text = format!(
        r#"{{"id":"0190b3a4-8d0e-7cc1-9a53-{n:012x}","ts":"2026-11-22T10:00:00.250Z",
            "agent":{{"id":"agent-{}"}},"action":"tool_call","status":"ok",
            "session":{{"id":"session-{}","seq":{}}},"attributes":{{"note":"{}"}}}}"#,
        n % 100,
        n / 50 % 1000,
        n % 50,
        "p".repeat(110)
    );
    event::parse(text.as_bytes(), &Limits::default()).expect("valid event")
}
