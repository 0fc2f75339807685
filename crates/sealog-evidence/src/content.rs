//! The content of private events in a pack: `content.jsonl` (optional, covered by the manifest
//! like every file), one line per encrypted payload of the pack's entries, in entry order:
//!
//! ```text
//! {"index":N,"id":"<event id>","field":"input","content":<the payload, its JCS bytes as stored>}
//! {"index":N,"id":"<event id>","field":"output","erased":"<RFC 3339>","reason":"<why>"}
//! {"index":N,"id":"<event id>","field":"input","unavailable":"<why it could not be read>"}
//! ```
//!
//! What proves what: the leaf commits to the ciphertext the server stored (its SHA-256) and to
//! the plaintext's size, never to the plaintext, and the pack holds no key that could decrypt
//! the ciphertext. So [`check`] proves that every encrypted payload of the pack has exactly one
//! line, that each line names the event and field it belongs to, and that each included
//! content has the size its leaf commits to; that the plaintext is the decryption of that
//! ciphertext rests on the log key's signature over the manifest, which covers this file: it
//! is the operator's statement, made at export time.

use crate::archive::with_stream;
use sealog_core::evidence::{ENTRIES, PROOFS, ProofLine};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Cursor};

/// The content file of a pack.
pub const CONTENT: &str = "content.jsonl";

/// The payload fields that may be encrypted.
pub const FIELDS: [&str; 2] = ["input", "output"];

/// One line of `content.jsonl`: exactly one of `content`, `erased` or `unavailable` is set.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContentLine {
    /// The entry's log index.
    pub index: u64,
    /// The event's id.
    pub id: String,
    /// `input` or `output`.
    pub field: String,
    /// The decrypted payload, exactly the bytes that were encrypted (JCS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Box<RawValue>>,
    /// When the subject's content was erased, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erased: Option<String>,
    /// The erasure's reason (its legal basis).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Why the content could not be read at export, if it could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
}

impl ContentLine {
    /// The line as it goes into `content.jsonl`, with its newline.
    pub fn to_line(&self) -> Vec<u8> {
        let mut line = serde_json::to_vec(self).expect("a content line serializes");
        line.push(b'\n');
        line
    }
}

/// What a pack's `content.jsonl` holds, once checked against its entries.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ContentSummary {
    /// Payloads whose decrypted content is included.
    pub included: u64,
    /// Payloads whose subject was erased before the export, by erasure time.
    pub erased: BTreeMap<String, u64>,
    /// Payloads that could not be read at export.
    pub unavailable: u64,
}

impl ContentSummary {
    /// What the summary says, as lines for `sealog verify` and the report.
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![format!(
            "content of private events: {} payload(s) included in {CONTENT}, each with the size \
             its leaf commits to; the leaf commits to the stored ciphertext, not to this \
             plaintext, which the log key's signature on the manifest vouches for as the \
             server's decryption at export",
            self.included
        )];
        for (when, n) in &self.erased {
            out.push(format!(
                "content erased on {when}: {n} payload(s) of this pack ({CONTENT} says why)"
            ));
        }
        if self.unavailable > 0 {
            out.push(format!(
                "{} payload(s) could not be read at export ({CONTENT} says why)",
                self.unavailable
            ));
        }
        out
    }
}

/// The `(size, event id)` an entry's encrypted payload `field` commits to.
fn committed(event: &Value, field: &str) -> Option<(Option<u64>, String)> {
    let payload = event.get(field)?;
    payload.get("encrypted")?;
    let id = event["id"].as_str().unwrap_or_default().to_owned();
    Some((payload["size"].as_u64(), id))
}

/// Checks `content` (the bytes of `content.jsonl`) against the pack's entries and proof lines,
/// read once from `entries` and `proofs`: every encrypted payload has exactly one line, which
/// names its event, and included content has the committed size. The error says what is wrong.
pub fn check(
    content: &[u8],
    entries: &mut dyn BufRead,
    proofs: &mut dyn BufRead,
) -> Result<ContentSummary, String> {
    let mut lines: BTreeMap<(u64, String), ContentLine> = BTreeMap::new();
    for (n, line) in content.split(|&b| b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let bad = |m: String| format!("{CONTENT} line {}: {m}", n + 1);
        let parsed: ContentLine =
            serde_json::from_slice(line).map_err(|e| bad(format!("not a content line: {e}")))?;
        let states = [
            parsed.content.is_some(),
            parsed.erased.is_some(),
            parsed.unavailable.is_some(),
        ];
        if states.iter().filter(|s| **s).count() != 1 {
            return Err(bad(
                "needs exactly one of content, erased or unavailable".into()
            ));
        }
        let key = (parsed.index, parsed.field.clone());
        if lines.insert(key, parsed).is_some() {
            return Err(bad("repeats an earlier line's index and field".into()));
        }
    }
    let mut summary = ContentSummary::default();
    let (mut leaf, mut proof) = (Vec::new(), Vec::new());
    let next = |from: &mut dyn BufRead, line: &mut Vec<u8>| {
        crate::digest::next_line(from, line).map_err(|e| e.to_string())
    };
    while next(entries, &mut leaf)? && next(proofs, &mut proof)? {
        if memchr::memmem::find(&leaf, b"\"encrypted\"").is_none() {
            continue;
        }
        let index = serde_json::from_slice::<ProofLine>(&proof)
            .map_err(|e| format!("{PROOFS}: {e}"))?
            .index;
        let event = serde_json::from_slice::<Value>(&leaf)
            .map_err(|e| format!("{ENTRIES}: entry {index}: {e}"))?
            .get("event")
            .cloned()
            .unwrap_or_default();
        for field in FIELDS {
            let Some((size, id)) = committed(&event, field) else {
                continue;
            };
            let line = lines.remove(&(index, field.to_owned())).ok_or_else(|| {
                format!("entry {index}: its {field} is encrypted, but {CONTENT} has no line for it")
            })?;
            tally(&line, size, &id, &mut summary)?;
        }
    }
    if let Some(((index, field), _)) = lines.into_iter().next() {
        return Err(format!(
            "{CONTENT}: the line for entry {index}'s {field} matches no encrypted payload of the \
             pack: it was added or moved after export"
        ));
    }
    Ok(summary)
}

/// Checks one line against its entry's commitment and counts it.
fn tally(
    line: &ContentLine,
    size: Option<u64>,
    id: &str,
    summary: &mut ContentSummary,
) -> Result<(), String> {
    let (index, field) = (line.index, &line.field);
    if line.id != id {
        return Err(format!(
            "{CONTENT}: the line for entry {index}'s {field} names event {}, but the entry is \
             event {id}",
            line.id
        ));
    }
    if let Some(content) = &line.content {
        let len = content.get().len() as u64;
        if size != Some(len) {
            return Err(format!(
                "{CONTENT}: entry {index}'s {field} has {len} bytes of content, but its leaf \
                 commits to {}: the content is not what was recorded",
                size.map_or_else(|| "no size".into(), |s| format!("{s} bytes"))
            ));
        }
        summary.included += 1;
    } else if let Some(when) = &line.erased {
        *summary.erased.entry(when.clone()).or_default() += 1;
    } else {
        summary.unavailable += 1;
    }
    Ok(())
}

/// What a verified pack's `content.jsonl` says, checked against its entries (see [`check`]),
/// reading at most `max_bytes` of it and streaming the entries: `None` for a pack without
/// content; an error when the content does not match.
pub fn notes(zip: &[u8], max_bytes: u64) -> Result<Option<ContentSummary>, String> {
    let first = zip::ZipArchive::new(Cursor::new(zip)).map_err(|e| e.to_string())?;
    if first.index_for_name(CONTENT).is_none() {
        return Ok(None);
    }
    let content = crate::archive::read_one(Cursor::new(zip), CONTENT, max_bytes)
        .map_err(|e| e.to_string())?;
    let checked = with_stream(zip, ENTRIES, |entries| {
        with_stream(zip, PROOFS, |proofs| {
            check(
                &content,
                &mut BufReader::new(entries),
                &mut BufReader::new(proofs),
            )
        })
    });
    checked??.map(Some)
}
