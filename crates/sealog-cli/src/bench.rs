//! `sealog bench`: load generators for durable ingest, over HTTP against a running server or
//! in-process against the engine alone. Both print events/s and acknowledgement latency.

use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// `sealog bench …`.
#[derive(Subcommand)]
pub enum BenchCommand {
    /// Durable ingest over HTTP against a running `sealog serve`.
    Ingest(IngestArgs),
    /// Durable ingest into the engine in this process (no HTTP), in a fresh directory.
    Engine(EngineArgs),
}

/// The workload, shared by both modes.
#[derive(Args, Clone)]
pub struct Workload {
    /// Events to send in all.
    #[arg(long, default_value_t = 200_000)]
    events: u64,
    /// Events per request (or per append).
    #[arg(long, default_value_t = 1_000)]
    batch: u64,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 8)]
    concurrency: u64,
    /// Approximate size of each event's JSON, in bytes.
    #[arg(long, default_value_t = 300)]
    payload_bytes: usize,
}

/// `sealog bench ingest`.
#[derive(Args)]
pub struct IngestArgs {
    /// The server's URL.
    #[arg(long, env = "SEALOG_URL", default_value = "http://127.0.0.1:7300")]
    server: String,
    /// The log to write to.
    #[arg(long, default_value = "default")]
    log: String,
    /// An ingest (or admin) key; a read or admin key also lets it time the checkpoint.
    #[arg(long, env = "SEALOG_API_KEY", hide_env_values = true)]
    token: String,
    #[command(flatten)]
    workload: Workload,
}

/// `sealog bench engine`.
#[derive(Args)]
pub struct EngineArgs {
    /// Where to create the engine's data (a fresh temporary directory under it).
    #[arg(long, default_value = ".")]
    dir: PathBuf,
    #[command(flatten)]
    workload: Workload,
}

/// Runs a benchmark.
pub fn run(cmd: BenchCommand) -> Result<(), String> {
    match cmd {
        BenchCommand::Ingest(args) => ingest(&args),
        BenchCommand::Engine(args) => engine(&args),
    }
}

/// A valid event of about `size` bytes with a fresh, time-ordered UUIDv7.
pub fn event(seq: u64, size: usize) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let n = u128::from(COUNTER.fetch_add(1, Ordering::Relaxed));
    // The counter makes ids unique within the process, the process id across processes.
    let rand_b = ((u128::from(std::process::id()) << 32) | (n >> 12)) & ((1 << 62) - 1);
    let id = (millis << 80) | (0x7 << 76) | ((n & 0xfff) << 64) | (0b10 << 62) | rand_b;
    let id = uuid::Uuid::from_u128(id);
    let head = format!(
        r#"{{"id":"{id}","ts":"2026-11-22T12:00:00Z","agent":{{"id":"bench-{}"}},"action":"tool_call","status":"ok","session":{{"id":"s{}","seq":{}}},"attributes":{{"pad":""#,
        seq % 16,
        seq / 100,
        seq % 100
    );
    let pad = size.saturating_sub(head.len() + 3);
    format!("{head}{}\"}}}}", "x".repeat(pad))
}

/// Latencies and counts gathered by the workers.
#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    accepted: u64,
    highest_index: u64,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn report(mode: &str, w: &Workload, elapsed: Duration, tally: &mut Tally) {
    tally.latencies.sort();
    let l = &tally.latencies;
    println!(
        "{mode}: {} events ({} accepted) in {:.2} s = {:.0} events/s; batch {}, concurrency {}, ~{} B/event",
        w.events,
        tally.accepted,
        elapsed.as_secs_f64(),
        tally.accepted as f64 / elapsed.as_secs_f64(),
        w.batch,
        w.concurrency,
        w.payload_bytes
    );
    println!(
        "ack latency: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(l, 0.5).as_secs_f64() * 1e3,
        percentile(l, 0.99).as_secs_f64() * 1e3,
        l.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    );
}

fn ingest(args: &IngestArgs) -> Result<(), String> {
    let w = &args.workload;
    let url = format!(
        "{}/v1/logs/{}/events",
        args.server.trim_end_matches('/'),
        args.log
    );
    let next = Arc::new(AtomicU64::new(0));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let failure = Arc::new(Mutex::new(None::<String>));
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..w.concurrency {
            let (next, tally, failure, url) =
                (next.clone(), tally.clone(), failure.clone(), url.clone());
            scope.spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .build()
                    .into();
                loop {
                    let first = next.fetch_add(w.batch, Ordering::Relaxed);
                    if first >= w.events {
                        break;
                    }
                    let last = (first + w.batch).min(w.events);
                    let body: Vec<String> =
                        (first..last).map(|s| event(s, w.payload_bytes)).collect();
                    let body = format!("{{\"events\":[{}]}}", body.join(","));
                    let sent = Instant::now();
                    let answer = agent
                        .post(&url)
                        .header("Authorization", &format!("Bearer {}", args.token))
                        .header("Content-Type", "application/json")
                        .send(body.as_bytes());
                    let text = answer.and_then(|mut r| {
                        let status = r.status().as_u16();
                        r.body_mut()
                            .with_config()
                            .limit(64 << 20)
                            .read_to_string()
                            .map(|t| (status, t))
                    });
                    let took = sent.elapsed();
                    match text {
                        Ok((200, text)) => {
                            let v: serde_json::Value =
                                serde_json::from_str(&text).unwrap_or_default();
                            let highest = v["results"]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .filter_map(|r| r["index"].as_u64())
                                .max()
                                .unwrap_or(0);
                            let mut t = tally.lock().expect("tally");
                            t.latencies.push(took);
                            t.accepted += v["accepted"].as_u64().unwrap_or(0);
                            t.highest_index = t.highest_index.max(highest);
                        }
                        Ok((status, text)) => {
                            *failure.lock().expect("failure") =
                                Some(format!("the server answered {status}: {text}"));
                            break;
                        }
                        Err(e) => {
                            *failure.lock().expect("failure") =
                                Some(format!("cannot reach {url}: {e}"));
                            break;
                        }
                    }
                }
            });
        }
    });
    let elapsed = start.elapsed();
    if let Some(why) = failure.lock().expect("failure").take() {
        return Err(why);
    }
    let mut tally = std::mem::take(&mut *tally.lock().expect("tally"));
    report("http ingest", w, elapsed, &mut tally);
    // Time until a checkpoint covers everything acknowledged.
    let cp_url = format!(
        "{}/v1/logs/{}/checkpoint",
        args.server.trim_end_matches('/'),
        args.log
    );
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let waited = Instant::now();
    while waited.elapsed() < Duration::from_secs(30) {
        let note = agent
            .get(&cp_url)
            .header("Authorization", &format!("Bearer {}", args.token))
            .call();
        let Ok(mut note) = note else { break };
        if note.status() != 200 {
            println!("checkpoint: not timed (the key cannot read the log)");
            return Ok(());
        }
        let text = note.body_mut().read_to_string().unwrap_or_default();
        let size: u64 = text
            .lines()
            .nth(1)
            .and_then(|l| l.parse().ok())
            .unwrap_or(0);
        if size > tally.highest_index {
            println!(
                "checkpoint covering every acknowledged event: {:.0} ms after the last ack",
                waited.elapsed().as_secs_f64() * 1e3
            );
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Err("no checkpoint covered the acknowledged events within 30 s".into())
}

fn engine(args: &EngineArgs) -> Result<(), String> {
    use sealog_core::event::{Limits, parse};
    let w = &args.workload;
    let dir = args
        .dir
        .join(format!(".sealog-bench-{}", std::process::id()));
    let engine = sealog_storage::Engine::open(&dir, sealog_storage::EngineOptions::default())
        .map_err(|e| e.to_string())?;
    let log = engine
        .create_log("bench", "bench.local/bench")
        .map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tally = runtime.block_on(async {
        let mut tasks = Vec::new();
        for _ in 0..w.concurrency {
            let (next, log, w) = (next.clone(), log.clone(), w.clone());
            tasks.push(tokio::spawn(async move {
                let mut t = Tally::default();
                loop {
                    let first = next.fetch_add(w.batch, Ordering::Relaxed);
                    if first >= w.events {
                        break;
                    }
                    let last = (first + w.batch).min(w.events);
                    let events = (first..last)
                        .map(|s| {
                            parse(event(s, w.payload_bytes).as_bytes(), &Limits::default())
                                .expect("bench events are valid")
                        })
                        .collect();
                    let sent = Instant::now();
                    let n = log.append(events).await.expect("append").len() as u64;
                    t.latencies.push(sent.elapsed());
                    t.accepted += n;
                }
                t
            }));
        }
        let mut all = Tally::default();
        for task in tasks {
            let t = task.await.expect("bench task");
            all.latencies.extend(t.latencies);
            all.accepted += t.accepted;
        }
        all
    });
    let elapsed = start.elapsed();
    report(
        "engine ingest (validation included)",
        w,
        elapsed,
        &mut tally,
    );
    engine.shutdown().map_err(|e| e.to_string())?;
    drop(engine);
    std::fs::remove_dir_all(&dir).map_err(|e| e.to_string())
}
