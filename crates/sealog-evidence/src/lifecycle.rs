//! The data-lifecycle records of a pack — retention changes, prunes, legal holds, erasures and
//! incidents, each an event only the server records (agent `sealog`) — gathered for the
//! report's compliance table and `sealog verify`. They are cited as evidence of what was
//! done, never as a claim that anything complies.

use serde_json::Value;

/// The actions of the lifecycle records.
pub const ACTIONS: [&str; 6] = [
    "retention_changed",
    "prune",
    "legal_hold",
    "legal_hold_lifted",
    "erasure",
    "incident",
];

/// One record: its index, time and attributes.
struct Record {
    index: u64,
    ts: String,
    attributes: Value,
}

/// The lifecycle records of a pack, by kind, in log order.
#[derive(Default)]
pub struct Lifecycle {
    retention: Vec<Record>,
    prunes: Vec<Record>,
    holds: Vec<Record>,
    lifted: Vec<Record>,
    erasures: Vec<Record>,
    incidents: Vec<Record>,
}

impl Lifecycle {
    /// Adds the event at `index` if it is a lifecycle record of the server.
    pub fn add(&mut self, index: u64, event: &Value) {
        if event["agent"]["id"] != "sealog" {
            return;
        }
        let Some(action) = event["action"].as_str() else {
            return;
        };
        let list = match action {
            "retention_changed" => &mut self.retention,
            "prune" => &mut self.prunes,
            "legal_hold" => &mut self.holds,
            "legal_hold_lifted" => &mut self.lifted,
            "erasure" => &mut self.erasures,
            "incident" => &mut self.incidents,
            _ => return,
        };
        list.push(Record {
            index,
            ts: event["ts"].as_str().unwrap_or_default().to_owned(),
            attributes: event["attributes"].clone(),
        });
    }

    /// The retention the pack records: its latest change, or the default.
    pub fn retention(&self) -> String {
        let Some(r) = self.retention.last() else {
            return "no retention change recorded in this pack (a log's default is 180 days)"
                .into();
        };
        let days = &r.attributes["retention_days"];
        let below = if r.attributes["below_minimum"] == true {
            ", below the six-month minimum by an explicit override"
        } else {
            ""
        };
        format!(
            "retention set to {days} days{below} on {} (entry {})",
            r.ts, r.index
        )
    }

    /// The prunes the pack records.
    pub fn prunes(&self) -> String {
        let Some(last) = self.prunes.last() else {
            return "no prune recorded in this pack".into();
        };
        let blobs: u64 = self
            .prunes
            .iter()
            .filter_map(|p| p.attributes["blobs"].as_u64())
            .sum();
        let held: u64 = last.attributes["held"].as_u64().unwrap_or(0);
        let whole = self
            .prunes
            .iter()
            .filter(|p| p.attributes["entries_pruned"] == true)
            .filter_map(|p| p.attributes["to"].as_u64())
            .max()
            .map_or(String::new(), |to| {
                format!(
                    "; entries 0 to {} were pruned whole (tree hashes kept)",
                    to - 1
                )
            });
        format!(
            "{} prune(s) removed {blobs} encrypted payload(s) past retention (entries and proofs \
             kept); the latest on {} (entry {}) examined entries {} to {}, {held} payload(s) \
             kept under a hold{whole}",
            self.prunes.len(),
            last.ts,
            last.index,
            last.attributes["from"],
            last.attributes["to"]
                .as_u64()
                .unwrap_or(1)
                .saturating_sub(1),
        )
    }

    /// The legal holds the pack records.
    pub fn holds(&self) -> String {
        if self.holds.is_empty() && self.lifted.is_empty() {
            return "no legal hold recorded in this pack".into();
        }
        format!(
            "{} legal hold(s) placed{} and {} lifted",
            self.holds.len(),
            entries(&self.holds),
            self.lifted.len()
        )
    }

    /// The erasures the pack records.
    pub fn erasures(&self) -> String {
        if self.erasures.is_empty() {
            return "no erasure recorded in this pack".into();
        }
        format!(
            "{} erasure(s) of a data subject's content by destroying its key{}; the entries \
             still verify",
            self.erasures.len(),
            entries(&self.erasures)
        )
    }

    /// The incidents the pack records.
    pub fn incidents(&self) -> String {
        if self.incidents.is_empty() {
            return "no incident recorded in this pack".into();
        }
        format!(
            "{} incident(s) recorded{}",
            self.incidents.len(),
            entries(&self.incidents)
        )
    }

    /// The lines `sealog verify` prints for the retention and prunes a pack records.
    pub fn notes(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .retention
            .iter()
            .map(|r| {
                let below = if r.attributes["below_minimum"] == true {
                    " (below the six-month minimum: explicit override)"
                } else {
                    ""
                };
                format!(
                    "retention set to {} days on {}{below}",
                    r.attributes["retention_days"], r.ts
                )
            })
            .collect();
        out.extend(self.prunes.iter().map(|p| {
            if p.attributes["entries_pruned"] == true {
                return format!(
                    "entries {} to {} pruned on {} by retention ({} days): their records are \
                     removed, their tree hashes kept, so the kept entries verify",
                    p.attributes["from"],
                    p.attributes["to"].as_u64().unwrap_or(1).saturating_sub(1),
                    p.ts,
                    p.attributes["retention_days"],
                );
            }
            format!(
                "content pruned on {} by retention ({} days): {} payload(s) of entries {} to {} \
                 removed, {} kept under a hold; the entries verify",
                p.ts,
                p.attributes["retention_days"],
                p.attributes["blobs"],
                p.attributes["from"],
                p.attributes["to"].as_u64().unwrap_or(1).saturating_sub(1),
                p.attributes["held"]
            )
        }));
        out
    }
}

/// " (entries 3, 9, …)": where the records are, the first ten of them.
fn entries(records: &[Record]) -> String {
    let shown: Vec<String> = records
        .iter()
        .take(10)
        .map(|r| r.index.to_string())
        .collect();
    let more = if records.len() > 10 { ", …" } else { "" };
    format!(" (entries {}{more})", shown.join(", "))
}
