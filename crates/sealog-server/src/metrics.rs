//! Prometheus metrics, rendered in the text exposition format on `/metrics`.

use sealog_storage::Engine;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

/// Upper bounds of the HTTP latency histogram, in seconds.
const LATENCY_BOUNDS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];
/// Upper bounds of the ingest batch-size histogram, in events.
const BATCH_BOUNDS: [f64; 6] = [1.0, 10.0, 100.0, 1_000.0, 5_000.0, 10_000.0];

/// A cumulative histogram.
#[derive(Clone, Default)]
struct Histogram {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, bounds: &[f64], value: f64) {
        if self.counts.is_empty() {
            self.counts = vec![0; bounds.len()];
        }
        for (count, bound) in self.counts.iter_mut().zip(bounds) {
            if value <= *bound {
                *count += 1;
            }
        }
        self.sum += value;
        self.count += 1;
    }

    fn render(&self, out: &mut String, name: &str, labels: &str, bounds: &[f64]) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (count, bound) in self.counts.iter().zip(bounds) {
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {count}");
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}",
            self.count
        );
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{braces} {}", self.sum);
        let _ = writeln!(out, "{name}_count{braces} {}", self.count);
    }
}

/// The server's own counters (the engine keeps the per-log ones).
#[derive(Default)]
pub struct Metrics {
    accepted: AtomicU64,
    duplicates: AtomicU64,
    conflicts: AtomicU64,
    rejected: AtomicU64,
    batches: Mutex<Histogram>,
    http: Mutex<BTreeMap<(String, String, u16), Histogram>>,
}

impl Metrics {
    /// Counts one ingest request's outcome.
    pub fn ingest(&self, accepted: u64, duplicates: u64, conflicts: u64, rejected: u64) {
        self.accepted.fetch_add(accepted, Ordering::Relaxed);
        self.duplicates.fetch_add(duplicates, Ordering::Relaxed);
        self.conflicts.fetch_add(conflicts, Ordering::Relaxed);
        self.rejected.fetch_add(rejected, Ordering::Relaxed);
        let events = (accepted + duplicates + conflicts + rejected) as f64;
        lock(&self.batches).observe(&BATCH_BOUNDS, events);
    }

    /// Records one HTTP request's latency under its route template (never the raw path, whose
    /// ids would make the label set unbounded).
    pub fn http(&self, method: &str, route: &str, status: u16, seconds: f64) {
        lock(&self.http)
            .entry((method.to_owned(), route.to_owned(), status))
            .or_default()
            .observe(&LATENCY_BOUNDS, seconds);
    }

    /// Everything, in the Prometheus text format.
    pub fn render(&self, engine: &Engine) -> String {
        let mut out = String::new();
        out.push_str("# HELP sealog_ingest_events_total Events by result of ingest.\n");
        out.push_str("# TYPE sealog_ingest_events_total counter\n");
        for (result, counter) in [
            ("accepted", &self.accepted),
            ("duplicate", &self.duplicates),
            ("conflict", &self.conflicts),
            ("rejected", &self.rejected),
        ] {
            let n = counter.load(Ordering::Relaxed);
            let _ = writeln!(out, "sealog_ingest_events_total{{result=\"{result}\"}} {n}");
        }
        out.push_str("# HELP sealog_ingest_batch_events Events per ingest request.\n");
        out.push_str("# TYPE sealog_ingest_batch_events histogram\n");
        lock(&self.batches).render(&mut out, "sealog_ingest_batch_events", "", &BATCH_BOUNDS);
        render_logs(&mut out, engine);
        out.push_str("# HELP sealog_http_request_duration_seconds HTTP latency by route.\n");
        out.push_str("# TYPE sealog_http_request_duration_seconds histogram\n");
        for ((method, route, status), h) in lock(&self.http).iter() {
            let labels = format!("method=\"{method}\",route=\"{route}\",status=\"{status}\"");
            h.render(
                &mut out,
                "sealog_http_request_duration_seconds",
                &labels,
                &LATENCY_BOUNDS,
            );
        }
        out
    }
}

/// Per-log gauges and the engine's fsync histogram.
fn render_logs(out: &mut String, engine: &Engine) {
    let now = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000;
    let gauges: [(&str, &str); 5] = [
        ("sealog_tree_size", "Durable entries of the log."),
        (
            "sealog_queue_entries",
            "Entries waiting for the log's writer.",
        ),
        (
            "sealog_index_lag_entries",
            "Entries the query index has not caught up to.",
        ),
        (
            "sealog_checkpoint_age_seconds",
            "Age of the latest signed checkpoint.",
        ),
        (
            "sealog_group_commits_total",
            "Group commits (one fsync each) since start.",
        ),
    ];
    let _ = writeln!(
        out,
        "# HELP sealog_log_damaged A log that could not be opened at start and is not served.\n\
         # TYPE sealog_log_damaged gauge"
    );
    for name in engine.damaged().keys() {
        let _ = writeln!(out, "sealog_log_damaged{{log=\"{name}\"}} 1");
    }
    let logs = engine.logs();
    for (name, help) in gauges {
        let kind = if name.ends_with("_total") {
            "counter"
        } else {
            "gauge"
        };
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for log in &logs {
            let stats = log.stats();
            let value = match name {
                "sealog_tree_size" => stats.size as f64,
                "sealog_queue_entries" => stats.queue_entries as f64,
                "sealog_index_lag_entries" => {
                    stats.size.saturating_sub(stats.index_watermark) as f64
                }
                "sealog_checkpoint_age_seconds" => {
                    (now as i64 - log.checkpoint().signed_unix_micros) as f64 / 1e6
                }
                _ => stats.groups as f64,
            };
            let _ = writeln!(out, "{name}{{log=\"{}\"}} {value}", log.name());
        }
    }
    out.push_str("# HELP sealog_fsync_duration_seconds Latency of the writer's fsyncs.\n");
    out.push_str("# TYPE sealog_fsync_duration_seconds histogram\n");
    for log in &logs {
        let stats = log.stats();
        let mut cumulative = 0;
        for (bound, count) in &stats.fsync_micros_buckets {
            cumulative += count;
            let le = if *bound == u64::MAX {
                "+Inf".to_owned()
            } else {
                (*bound as f64 / 1e6).to_string()
            };
            let _ = writeln!(
                out,
                "sealog_fsync_duration_seconds_bucket{{log=\"{}\",le=\"{le}\"}} {cumulative}",
                log.name()
            );
        }
        let name = log.name();
        let sum = stats.fsync_micros_sum as f64 / 1e6;
        let _ = writeln!(
            out,
            "sealog_fsync_duration_seconds_sum{{log=\"{name}\"}} {sum}"
        );
        let _ = writeln!(
            out,
            "sealog_fsync_duration_seconds_count{{log=\"{name}\"}} {cumulative}"
        );
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
