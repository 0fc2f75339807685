//! Prometheus text exposition of the witness: requests by log and status, and the size it
//! last cosigned for each log.

use crate::witness::Refusal;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// Counters kept in memory since start (the cosigned sizes are also read from the store).
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
}

impl Metrics {
    /// Counts one add-checkpoint answer; requests for no known, authenticated log count under
    /// the origin `unknown` so that callers cannot create labels.
    pub fn count(&self, origin: Option<&str>, refusal: Option<&Refusal>) {
        let status = refusal.map_or(200, |r| r.status);
        let key = (origin.unwrap_or("unknown").to_owned(), status);
        *self.lock().entry(key).or_default() += 1;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<(String, u16), u64>> {
        self.requests.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The exposition text, with `sizes` the latest cosigned size per origin.
    pub fn render(&self, sizes: &[(String, u64)]) -> String {
        let mut out = String::from(
            "# HELP sealog_witness_add_checkpoint_total add-checkpoint requests, by log and HTTP status.\n\
             # TYPE sealog_witness_add_checkpoint_total counter\n",
        );
        for ((origin, status), n) in self.lock().iter() {
            let origin = escape(origin);
            let _ = writeln!(
                out,
                "sealog_witness_add_checkpoint_total{{origin=\"{origin}\",status=\"{status}\"}} {n}"
            );
        }
        out.push_str(
            "# HELP sealog_witness_cosigned_size The tree size of the latest checkpoint cosigned, by log.\n\
             # TYPE sealog_witness_cosigned_size gauge\n",
        );
        for (origin, size) in sizes {
            let _ = writeln!(
                out,
                "sealog_witness_cosigned_size{{origin=\"{}\"}} {size}",
                escape(origin)
            );
        }
        out
    }
}

/// A Prometheus label value: backslash and double quote escaped (origins hold no newline).
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}
