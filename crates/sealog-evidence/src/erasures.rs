//! The erasures a verified pack records: for each `erasure` event (which only the server
//! records), one line saying whose content was erased on which date and how many events of
//! the pack refer to it, since those events' content can no longer be read though their
//! leaves and proofs verify; and likewise a line for each retention change and prune.

use sealog_core::evidence::ENTRIES;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};

/// What `sealog verify` says of a pack's data lifecycle.
#[derive(Default)]
pub struct Notes {
    /// One line per erasure, in log order.
    pub erasures: Vec<String>,
    /// One line per retention change, then one per prune.
    pub retention: Vec<String>,
}

/// The notes of the pack `zip` (already verified).
pub fn notes(zip: &[u8]) -> Notes {
    crate::archive::with_stream(zip, ENTRIES, |entries| notes_of(entries)).unwrap_or_default()
}

/// The notes of a pack whose entries are read from `entries`.
fn notes_of(entries: &mut dyn std::io::Read) -> Notes {
    let mut lifecycle = crate::lifecycle::Lifecycle::default();
    let mut erasures: Vec<(String, String, String)> = Vec::new();
    let mut refs: BTreeMap<String, u64> = BTreeMap::new();
    for line in BufReader::new(entries).split(b'\n').map_while(Result::ok) {
        let erasure = contains(&line, br#""action":"erasure""#);
        let retention = contains(&line, br#""action":"prune""#)
            || contains(&line, br#""action":"retention_changed""#);
        if !erasure && !retention && !contains(&line, br#""encrypted":"#) {
            continue;
        }
        let Ok(leaf) = serde_json::from_slice::<Value>(&line) else {
            continue;
        };
        let event = &leaf["event"];
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        if retention {
            // The lines say no index, so the line's position does not matter here.
            lifecycle.add(0, event);
        }
        if erasure && event["agent"]["id"] == "sealog" {
            erasures.push((
                text(&event["context"]["subject"]["pseudo_id"]),
                text(&event["ts"]),
                text(&event["attributes"]["reason"]),
            ));
        }
        for field in ["input", "output"] {
            if let Some(subject) = event[field]["encrypted"]["subject"].as_str() {
                *refs.entry(subject.to_owned()).or_default() += 1;
            }
        }
    }
    let erasures = erasures
        .into_iter()
        .map(|(subject, ts, reason)| {
            format!(
                "content erased on {ts}: subject {subject:?} ({reason}); {} payload(s) in this \
                 pack refer to it and can no longer be read, while their entries verify",
                refs.get(&subject).copied().unwrap_or(0)
            )
        })
        .collect();
    Notes {
        erasures,
        retention: lifecycle.notes(),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
