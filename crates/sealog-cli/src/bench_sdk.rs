//! `sealog bench ingest --client sdk`: the same workload recorded through `sealog-client`, the
//! Rust SDK, as an agent would: `--concurrency` threads call `record()`, the SDK's one sender
//! batches (`--batch`), commits inputs, gzips and posts; the time runs until `close()` has
//! every event acknowledged.

use crate::bench::{InputKind, Workload};
use sealog_client::{Client, Event, Options};
use serde_json::json;
use std::time::{Duration, Instant};

/// The commitment key of the benchmark's events (any 16+ bytes: nobody checks them).
const BENCH_KEY: &[u8] = b"sealog bench commitment key";

/// Records the workload through the SDK and prints what `report` prints for HTTP.
pub fn ingest(url: &str, log: &str, token: &str, w: &Workload) -> Result<(), String> {
    if w.input == InputKind::Private {
        return Err("--input private is not offered with --client sdk".into());
    }
    let spool = std::env::temp_dir().join(format!("sealog-bench-spool-{}", std::process::id()));
    std::fs::create_dir_all(&spool).map_err(|e| format!("cannot make {spool:?}: {e}"))?;
    let result = run(url, log, token, w, &spool);
    let _ = std::fs::remove_dir_all(&spool);
    result
}

fn run(
    url: &str,
    log: &str,
    token: &str,
    w: &Workload,
    spool: &std::path::Path,
) -> Result<(), String> {
    let client = Client::new(Options {
        url: url.to_owned(),
        log: log.to_owned(),
        api_key: Some(token.to_owned()),
        commitment_key: Some(BENCH_KEY.to_vec()),
        batch_size: usize::try_from(w.batch).unwrap_or(usize::MAX),
        // Hold the whole run in memory: the benchmark measures delivery, not the spool.
        max_queue: usize::try_from(w.events).unwrap_or(usize::MAX).max(50_000),
        spool_dir: spool.to_owned(),
        ..Options::from_env()
    })
    .map_err(|e| e.to_string())?;
    let pad = "x".repeat(w.payload_bytes.saturating_sub(220));
    let start = Instant::now();
    let threads = w.concurrency.max(1);
    std::thread::scope(|scope| {
        for t in 0..threads {
            let (client, pad) = (&client, &pad);
            scope.spawn(move || {
                for seq in (t..w.events).step_by(threads as usize) {
                    let _ = client.record(bench_event(seq, pad, w.input));
                }
            });
        }
    });
    let recorded = start.elapsed();
    let all_acknowledged = client.close(Duration::from_secs(600));
    let elapsed = start.elapsed();
    let stats = client.stats();
    println!(
        "sdk ingest: {} events ({} accepted) in {:.2} s = {:.0} events/s; batch {}, {} recording threads, ~{} B/event",
        w.events,
        stats.sent,
        elapsed.as_secs_f64(),
        stats.sent as f64 / elapsed.as_secs_f64(),
        w.batch,
        threads,
        w.payload_bytes
    );
    println!(
        "record(): {:.0} calls/s; spooled {}, retried {}, rejected {}, invalid {}",
        w.events as f64 / recorded.as_secs_f64(),
        stats.spooled,
        stats.retried,
        stats.rejected,
        stats.invalid
    );
    if !all_acknowledged || stats.sent < w.events {
        return Err(format!(
            "only {} of {} events were acknowledged",
            stats.sent, w.events
        ));
    }
    Ok(())
}

/// Event `seq` of the workload, as the SDK builds it.
fn bench_event(seq: u64, pad: &str, input: InputKind) -> Event {
    let ev = Event::new("tool_call")
        .agent(json!({"id": format!("bench-{}", seq % 16)}))
        .attribute("pad", json!(pad));
    match input {
        InputKind::Commitment => ev.input(json!("p".repeat(256))),
        _ => ev,
    }
}
