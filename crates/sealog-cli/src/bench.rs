//! `sealog bench`: load generators for durable ingest, over HTTP against a running server or
//! in-process against the engine alone, which print events/s and acknowledgement latency; and
//! proof latency over HTTP (`bench proofs`), for measuring it while other clients ingest.

use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// `sealog bench …`.
#[derive(Subcommand)]
pub enum BenchCommand {
    /// Durable ingest over HTTP against a running `sealog serve`.
    Ingest(IngestArgs),
    /// Durable ingest into the engine in this process (no HTTP), in a fresh directory.
    Engine(EngineArgs),
    /// Inclusion-proof latency over HTTP against a running `sealog serve`: records events, then
    /// fetches their proofs for a while.
    Proofs(ProofsArgs),
}

/// The workload, shared by both modes.
#[derive(Args, Clone)]
pub struct Workload {
    /// Events to send in all.
    #[arg(long, default_value_t = 200_000)]
    pub(crate) events: u64,
    /// Events per request (or per append).
    #[arg(long, default_value_t = 1_000)]
    pub(crate) batch: u64,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 8)]
    pub(crate) concurrency: u64,
    /// Approximate size of each event's JSON, in bytes.
    #[arg(long, default_value_t = 300)]
    pub(crate) payload_bytes: usize,
    /// Each event's `input` over HTTP: none, a commitment to 256 B, or 256 B of private
    /// content that the server encrypts under the data subject's key.
    #[arg(long, value_enum, default_value_t = InputKind::None)]
    pub(crate) input: InputKind,
    /// With `--input private`: how many data subjects the events are spread over.
    #[arg(long, default_value_t = 100)]
    pub(crate) subjects: u64,
}

/// What an HTTP benchmark event carries as its `input`.
#[derive(clap::ValueEnum, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// No input.
    None,
    /// A commitment (the content stays with the agent).
    Commitment,
    /// Private content, stored encrypted by the server.
    Private,
}

/// Event `seq` of the workload, with its input.
fn workload_event(seq: u64, w: &Workload) -> String {
    let ev = event(seq, w.payload_bytes);
    let input = match w.input {
        InputKind::None => return ev,
        InputKind::Commitment => format!(
            r#""input":{{"commitment":"hmac-sha256:{}=","size":256}}"#,
            "A".repeat(43)
        ),
        InputKind::Private => format!(
            r#""input":{{"private":"{}"}},"context":{{"subject":{{"pseudo_id":"pseudo-{}"}}}}"#,
            "p".repeat(256),
            seq % w.subjects.max(1)
        ),
    };
    format!("{},{input}}}", &ev[..ev.len() - 1])
}

/// The server, log and key an HTTP benchmark talks to.
#[derive(Args)]
pub struct Target {
    /// The server's URL.
    #[arg(long, env = "SEALOG_URL", default_value = "http://127.0.0.1:7300")]
    server: String,
    /// The log to use.
    #[arg(long, default_value = "default")]
    log: String,
    /// An API key: ingest (or admin) to send events; read or admin to time the checkpoint and
    /// fetch proofs.
    #[arg(long, env = "SEALOG_API_KEY", hide_env_values = true)]
    token: String,
}

impl Target {
    /// The URL of `rest` under the log, e.g. `/events`.
    fn url(&self, rest: &str) -> String {
        format!(
            "{}/v1/logs/{}{rest}",
            self.server.trim_end_matches('/'),
            crate::client::encode(&self.log)
        )
    }

    fn auth(&self) -> String {
        format!("Bearer {}", self.token)
    }
}

/// `sealog bench ingest`.
#[derive(Args)]
pub struct IngestArgs {
    #[command(flatten)]
    target: Target,
    /// Ask for receipts (`?wait=checkpoint`): each answer waits for a checkpoint and carries
    /// every event's inclusion proof.
    #[arg(long)]
    wait_checkpoint: bool,
    /// Stop sending after this many seconds, even if not every event was sent.
    #[arg(long)]
    seconds: Option<f64>,
    /// What sends the events: `http`, batches posted from `--concurrency` threads; or `sdk`,
    /// the Rust SDK (`sealog-client`) with `--concurrency` threads calling `record()`.
    #[arg(long, value_enum, default_value_t = BenchClient::Http, conflicts_with_all = ["wait_checkpoint", "seconds"])]
    client: BenchClient,
    #[command(flatten)]
    workload: Workload,
}

/// What `sealog bench ingest` sends its events with.
#[derive(clap::ValueEnum, Clone, Copy, PartialEq, Eq)]
pub enum BenchClient {
    /// Prepared batches over plain HTTP.
    Http,
    /// The Rust SDK.
    Sdk,
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

/// `sealog bench proofs`.
#[derive(Args)]
pub struct ProofsArgs {
    // The key must be an admin key: it records the events it then proves.
    #[command(flatten)]
    target: Target,
    /// Events to record first (in batches of 1,000, each answered once a checkpoint covers it);
    /// their proofs are then fetched in turn.
    #[arg(long, default_value_t = 1_000)]
    events: u64,
    /// How long to fetch proofs for, in seconds.
    #[arg(long, default_value_t = 20.0)]
    seconds: f64,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 8)]
    concurrency: u64,
}

/// Runs a benchmark.
pub fn run(cmd: BenchCommand) -> Result<(), String> {
    match cmd {
        BenchCommand::Ingest(args) => ingest(&args),
        BenchCommand::Engine(args) => engine(&args),
        BenchCommand::Proofs(args) => proofs(&args),
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
    /// Events sent (all of them unless a time limit stopped the run early).
    sent: u64,
    accepted: u64,
    /// Events answered with their receipt (with `?wait=checkpoint`).
    receipts: u64,
    highest_index: u64,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.latencies.extend(other.latencies);
        self.sent += other.sent;
        self.accepted += other.accepted;
        self.receipts += other.receipts;
        self.highest_index = self.highest_index.max(other.highest_index);
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Prints `WHAT latency: p50 …, p99 …, max …` of `latencies` (sorting them).
fn print_latency(what: &str, latencies: &mut [Duration]) {
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{what} latency: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        ms(percentile(latencies, 0.5)),
        ms(percentile(latencies, 0.99)),
        ms(latencies.last().copied().unwrap_or_default())
    );
}

fn report(mode: &str, w: &Workload, elapsed: Duration, tally: &mut Tally) {
    println!(
        "{mode}: {} events ({} accepted) in {:.2} s = {:.0} events/s; batch {}, concurrency {}, ~{} B/event",
        tally.sent,
        tally.accepted,
        elapsed.as_secs_f64(),
        tally.accepted as f64 / elapsed.as_secs_f64(),
        w.batch,
        w.concurrency,
        w.payload_bytes
    );
    print_latency("ack", &mut tally.latencies);
}

/// An HTTP client that hands back error statuses as answers.
fn http_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// POSTs one batch body; returns the status and the answer's text.
fn post_batch(
    agent: &ureq::Agent,
    url: &str,
    target: &Target,
    body: &str,
) -> Result<(u16, String), String> {
    let mut answer = agent
        .post(url)
        .header("Authorization", &target.auth())
        .header("Content-Type", "application/json")
        .send(body.as_bytes())
        .map_err(|e| format!("cannot reach {url}: {e}"))?;
    let status = answer.status().as_u16();
    let text = answer
        .body_mut()
        .with_config()
        .limit(256 << 20)
        .read_to_string()
        .map_err(|e| format!("reading the answer from {url} failed: {e}"))?;
    Ok((status, text))
}

/// The JSON body of a batch of the events numbered `range`.
fn batch_body(range: std::ops::Range<u64>, w: &Workload) -> String {
    let events: Vec<String> = range.map(|s| workload_event(s, w)).collect();
    format!("{{\"events\":[{}]}}", events.join(","))
}

/// Adds an ingest answer's accepted events, receipts and highest index to `tally`.
fn count_answer(tally: &mut Tally, answer: &serde_json::Value) {
    let results = answer["results"].as_array().map_or(&[][..], Vec::as_slice);
    let highest = results.iter().filter_map(|r| r["index"].as_u64()).max();
    tally.accepted += answer["accepted"].as_u64().unwrap_or(0);
    tally.receipts += results.iter().filter(|r| r["proof"].is_string()).count() as u64;
    tally.highest_index = tally.highest_index.max(highest.unwrap_or(0));
}

/// Sends the workload from `concurrency` threads until every event is sent, the deadline passes
/// or a request fails; returns what the workers gathered.
fn send_batches(args: &IngestArgs, deadline: Option<Instant>) -> Result<Tally, String> {
    let w = &args.workload;
    let query = if args.wait_checkpoint {
        "?wait=checkpoint"
    } else {
        ""
    };
    let url = args.target.url(&format!("/events{query}"));
    let next = AtomicU64::new(0);
    let failure = Mutex::new(None::<String>);
    let worker = || {
        let agent = http_agent();
        let mut tally = Tally::default();
        while deadline.is_none_or(|d| Instant::now() < d)
            && failure.lock().expect("failure").is_none()
        {
            let first = next.fetch_add(w.batch, Ordering::Relaxed);
            if first >= w.events {
                break;
            }
            let last = (first + w.batch).min(w.events);
            let body = batch_body(first..last, w);
            let sent = Instant::now();
            match post_batch(&agent, &url, &args.target, &body) {
                Ok((200, text)) => {
                    tally.latencies.push(sent.elapsed());
                    tally.sent += last - first;
                    count_answer(&mut tally, &serde_json::from_str(&text).unwrap_or_default());
                }
                Ok((status, text)) => {
                    *failure.lock().expect("failure") =
                        Some(format!("the server answered {status}: {text}"));
                }
                Err(why) => *failure.lock().expect("failure") = Some(why),
            }
        }
        tally
    };
    let mut all = Tally::default();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..w.concurrency).map(|_| scope.spawn(worker)).collect();
        for done in workers {
            all.merge(done.join().expect("bench worker"));
        }
    });
    match failure.into_inner().expect("failure") {
        Some(why) => Err(why),
        None => Ok(all),
    }
}

/// The tree size of the log's latest checkpoint, or `None` if the key may not read it.
fn checkpoint_size(agent: &ureq::Agent, target: &Target) -> Result<Option<u64>, String> {
    let url = target.url("/checkpoint");
    let mut note = agent
        .get(&url)
        .header("Authorization", &target.auth())
        .call()
        .map_err(|e| format!("cannot reach {url}: {e}"))?;
    if note.status() != 200 {
        return Ok(None);
    }
    let text = note.body_mut().read_to_string().unwrap_or_default();
    Ok(Some(
        text.lines()
            .nth(1)
            .and_then(|l| l.parse().ok())
            .unwrap_or(0),
    ))
}

/// Time until a checkpoint covers the entry at `highest_index`, or `None` if the key may not
/// read the checkpoint.
fn wait_for_checkpoint(target: &Target, highest_index: u64) -> Result<Option<Duration>, String> {
    let agent = http_agent();
    let waited = Instant::now();
    while waited.elapsed() < Duration::from_secs(30) {
        match checkpoint_size(&agent, target)? {
            None => return Ok(None),
            Some(size) if size > highest_index => return Ok(Some(waited.elapsed())),
            Some(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    Err("no checkpoint covered the acknowledged events within 30 s".into())
}

fn ingest(args: &IngestArgs) -> Result<(), String> {
    if args.client == BenchClient::Sdk {
        let t = &args.target;
        return crate::bench_sdk::ingest(&t.server, &t.log, &t.token, &args.workload);
    }
    let start = Instant::now();
    let deadline = args.seconds.map(|s| start + Duration::from_secs_f64(s));
    let mut tally = send_batches(args, deadline)?;
    let mode = if args.wait_checkpoint {
        "http ingest (wait=checkpoint)"
    } else {
        "http ingest"
    };
    report(mode, &args.workload, start.elapsed(), &mut tally);
    if args.wait_checkpoint {
        println!(
            "receipts: {} of {} accepted events",
            tally.receipts, tally.accepted
        );
    }
    match wait_for_checkpoint(&args.target, tally.highest_index)? {
        Some(after) => println!(
            "checkpoint covering every acknowledged event: {:.0} ms after the last ack",
            after.as_secs_f64() * 1e3
        ),
        None => println!("checkpoint: not timed (the key cannot read the log)"),
    }
    Ok(())
}

/// Records `args.events` events, each batch answered once a checkpoint covers it, and returns
/// their ids.
fn record_for_proofs(args: &ProofsArgs) -> Result<Vec<String>, String> {
    let agent = http_agent();
    let url = args.target.url("/events?wait=checkpoint");
    let mut ids = Vec::new();
    for first in (0..args.events).step_by(1_000) {
        let plain = Workload {
            events: args.events,
            batch: 1_000,
            concurrency: 1,
            payload_bytes: 300,
            input: InputKind::None,
            subjects: 1,
        };
        let body = batch_body(first..(first + 1_000).min(args.events), &plain);
        let (status, text) = post_batch(&agent, &url, &args.target, &body)?;
        if status != 200 {
            return Err(format!(
                "recording events: the server answered {status}: {text}"
            ));
        }
        let answer: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("recording events: {e}"))?;
        ids.extend(
            answer["results"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|r| r["status"] == "accepted")
                .filter_map(|r| r["id"].as_str().map(str::to_owned)),
        );
    }
    if ids.is_empty() {
        return Err("no event was recorded to prove (--events 0?)".into());
    }
    Ok(ids)
}

/// What the proof workers gathered: latencies of the proofs served, and the statuses of the
/// requests that failed.
#[derive(Default)]
struct ProofTally {
    latencies: Vec<Duration>,
    failed: std::collections::BTreeMap<String, u64>,
}

/// Fetches the proofs of `ids` in turn from `concurrency` threads until `deadline`.
fn fetch_proofs(args: &ProofsArgs, ids: &[String], deadline: Instant) -> ProofTally {
    let next = AtomicUsize::new(0);
    let worker = || {
        let agent = http_agent();
        let mut tally = ProofTally::default();
        while Instant::now() < deadline {
            let id = &ids[next.fetch_add(1, Ordering::Relaxed) % ids.len()];
            let url = args.target.url(&format!("/events/{id}/proof"));
            let sent = Instant::now();
            let answer = agent
                .get(&url)
                .header("Authorization", &args.target.auth())
                .call()
                .and_then(|mut r| Ok((r.status().as_u16(), r.body_mut().read_to_string()?)));
            let took = sent.elapsed();
            let failure = match answer {
                Ok((200, text)) if text.starts_with("c2sp.org/tlog-proof@v1") => {
                    tally.latencies.push(took);
                    continue;
                }
                Ok((200, _)) => "200 without a tlog-proof".to_owned(),
                Ok((status, _)) => status.to_string(),
                Err(e) => format!("unreachable ({e})"),
            };
            *tally.failed.entry(failure).or_default() += 1;
        }
        tally
    };
    let mut all = ProofTally::default();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..args.concurrency).map(|_| scope.spawn(worker)).collect();
        for done in workers {
            let t = done.join().expect("proof worker");
            all.latencies.extend(t.latencies);
            for (why, n) in t.failed {
                *all.failed.entry(why).or_default() += n;
            }
        }
    });
    all
}

fn proofs(args: &ProofsArgs) -> Result<(), String> {
    let ids = record_for_proofs(args)?;
    eprintln!(
        "recorded {} events; fetching their proofs for {} s",
        ids.len(),
        args.seconds
    );
    let start = Instant::now();
    let mut tally = fetch_proofs(args, &ids, start + Duration::from_secs_f64(args.seconds));
    let elapsed = start.elapsed();
    let served = tally.latencies.len();
    println!(
        "proofs: {served} served in {:.2} s = {:.0} proofs/s; {} events proved in turn, concurrency {}",
        elapsed.as_secs_f64(),
        served as f64 / elapsed.as_secs_f64(),
        ids.len(),
        args.concurrency
    );
    print_latency("proof", &mut tally.latencies);
    if !tally.failed.is_empty() {
        let failed: Vec<String> = tally
            .failed
            .iter()
            .map(|(why, n)| format!("{n} × {why}"))
            .collect();
        println!("failed: {}", failed.join(", "));
    }
    if served == 0 {
        return Err("no proof was served".into());
    }
    Ok(())
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
                    t.sent += last - first;
                    t.accepted += n;
                }
                t
            }));
        }
        let mut all = Tally::default();
        for task in tasks {
            all.merge(task.await.expect("bench task"));
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
