//! The RFC 3161 time-stamps a pack carries: `timestamps/<size>.tsr`, the TSA's reply over the
//! text of the pack's checkpoint or of an earlier checkpoint in `consistency.jsonl` (covered by
//! the manifest like every file; packs without them stay valid). Once the pack verified,
//! `sealog verify --tsa-roots PEM` checks every token offline against the pinned roots and
//! says, for the events under each time-stamped checkpoint, when they were recorded at the
//! latest.

use crate::tsp::{self, Roots, Stamp};
use sealog_core::evidence::{CHECKPOINT, CONSISTENCY, PROOFS, ProofLine};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Cursor, Read};

/// The folder of the tokens in a pack.
pub const DIR: &str = "timestamps/";

/// The pack file holding the time-stamp of the checkpoint of `size`.
pub fn file_name(size: u64) -> String {
    format!("{DIR}{size}.tsr")
}

/// What a pack's time-stamps show: text lines, a JSON value, and what they leave unproven.
#[derive(Clone, Debug, Default)]
pub struct Stamps {
    /// One statement per time-stamped range of the pack's events, and one for the rest.
    pub lines: Vec<String>,
    /// The same for machines (`tokens`, `checked`, `bounds`, `not_time_stamped`).
    pub value: Value,
    /// What the time-stamps (or their absence) leave unproven.
    pub not_proven: Vec<String>,
}

impl Stamps {
    /// What to say when a token did not verify: `why`, and that the times are unattested.
    pub fn failed(why: &str) -> Stamps {
        Stamps {
            lines: vec![format!("time-stamps: a token does not verify: {why}")],
            value: json!({"checked": false, "error": why}),
            not_proven: vec![UNTIMED.into()],
        }
    }
}

impl Stamps {
    /// What to say of a receipt, which never carries a time-stamp: where its checkpoint's is.
    pub fn for_receipt() -> Stamps {
        Stamps {
            lines: vec![
                "time-stamps: a receipt carries none; a time-stamping server serves its \
                 checkpoint's at GET /v1/logs/<log>/checkpoints/<size>/timestamp, which openssl \
                 ts -verify checks over the checkpoint's text"
                    .into(),
            ],
            value: json!({"tokens": 0, "checked": false}),
            not_proven: vec![UNTIMED.into()],
        }
    }
}

/// What a verified pack's time-stamps say; an error when a token does not verify against
/// the pinned roots.
pub fn notes(zip: &[u8], roots: Option<&Roots>) -> Result<Stamps, String> {
    let mut archive = zip::ZipArchive::new(Cursor::new(zip)).map_err(|e| e.to_string())?;
    let names: Vec<String> = archive
        .file_names()
        .filter_map(Result::ok)
        .filter(|n| n.starts_with(DIR))
        .map(|n| n.into_owned())
        .collect();
    let mut tokens = Vec::with_capacity(names.len());
    for name in names {
        let reply = read(&mut archive, &name)?;
        tokens.push((name, reply));
    }
    let checkpoint = read(&mut archive, CHECKPOINT)?;
    let consistency = read(&mut archive, CONSISTENCY)?;
    let counts = |sizes: &[u64]| {
        crate::archive::with_stream(zip, PROOFS, |proofs| range_counts(proofs, sizes))?
    };
    check(&checkpoint, &consistency, &tokens, roots, counts)
}

/// Checks the `tokens` (file name, reply) of a pack whose checkpoint note and
/// `consistency.jsonl` are given against `roots`; `counts` counts the pack's entries in the
/// ranges the time-stamped sizes make (see [`range_counts`]), needed only when tokens are
/// checked.
pub fn check(
    checkpoint: &[u8],
    consistency: &[u8],
    tokens: &[(String, Vec<u8>)],
    roots: Option<&Roots>,
    counts: impl FnOnce(&[u64]) -> Result<Vec<usize>, String>,
) -> Result<Stamps, String> {
    if tokens.is_empty() {
        return Ok(Stamps {
            lines: vec![
                "time-stamps: none in the pack: when the events were recorded rests on the \
                 operator's clock alone"
                    .into(),
            ],
            value: json!({"tokens": 0, "checked": false}),
            not_proven: vec![UNTIMED.into()],
        });
    }
    let Some(roots) = roots else {
        let line = format!(
            "{} RFC 3161 time-stamp(s) in the pack were NOT checked: pass --tsa-roots PEM (the \
             TSA roots you trust) to learn when the events were recorded at the latest",
            tokens.len()
        );
        return Ok(Stamps {
            lines: vec![line],
            value: json!({"tokens": tokens.len(), "checked": false}),
            not_proven: vec![UNTIMED.into()],
        });
    };
    let texts = checkpoint_texts(checkpoint, consistency);
    let mut bounds: BTreeMap<u64, Stamp> = BTreeMap::new();
    for (name, reply) in tokens {
        let size = name[DIR.len()..]
            .strip_suffix(".tsr")
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or_else(|| format!("{name} is not named timestamps/<size>.tsr"))?;
        let text = texts
            .get(&size)
            .ok_or_else(|| format!("{name} is for no checkpoint the pack holds"))?;
        let stamp = tsp::verify(reply, &tsp::imprint(text), None, roots)
            .map_err(|e| format!("time-stamp {name}: {e}"))?;
        bounds.insert(size, stamp);
    }
    let sizes: Vec<u64> = bounds.keys().copied().collect();
    Ok(describe(&bounds, &counts(&sizes)?))
}

/// Without a verified time-stamp, what no one but the operator attests.
const UNTIMED: &str = "when the events were recorded: without a verified time-stamp every time \
                       shown comes from the operator's clock (received) or the agent's (ts)";

/// One line per time-stamped checkpoint for the pack's events under it and not under a
/// smaller one (with the earlier checkpoint's time-stamp, which is no lower bound), and one
/// for the events under none.
fn describe(bounds: &BTreeMap<u64, Stamp>, counts: &[usize]) -> Stamps {
    let (mut lines, mut list, mut from) = (Vec::new(), Vec::new(), 0);
    let mut previous: Option<&Stamp> = None;
    for ((size, stamp), &events) in bounds.iter().zip(counts) {
        let t = stamp.gen_time_rfc3339();
        let mut line = format!(
            "time-stamp of checkpoint {size} verified: {events} event(s) of this pack (log index \
             {from} to {}) recorded no later than {t}, per TSA {}",
            size - 1,
            stamp.tsa
        );
        if let Some(p) = previous {
            line.push_str(&format!(
                ", appended after the tree of size {from}, which TSA {} time-stamped at {} (no \
                 proof that they were recorded after that time)",
                p.tsa,
                p.gen_time_rfc3339()
            ));
        }
        lines.push(line);
        list.push(json!({
            "size": size, "gen_time": t, "tsa": stamp.tsa, "events": events, "from_index": from,
            "after_time_stamp_of": previous.map(|p| json!({"size": from,
                "gen_time": p.gen_time_rfc3339(), "tsa": p.tsa})),
        }));
        (from, previous) = (*size, Some(stamp));
    }
    let rest = counts.get(bounds.len()).copied().unwrap_or(0);
    let mut not_proven = vec![
        "that an event was recorded after any given time: a time-stamp bounds the recording \
         time from above only"
            .to_owned(),
    ];
    if rest > 0 {
        lines.push(format!(
            "{rest} event(s) of this pack (log index {from} and above) are under no time-stamp"
        ));
        not_proven.push(format!(
            "when the {rest} event(s) under no time-stamp were recorded: their times come from \
             the operator's clock"
        ));
    }
    let value = json!({"tokens": bounds.len(), "checked": true, "bounds": list,
        "not_time_stamped": rest});
    Stamps {
        lines,
        value,
        not_proven,
    }
}

/// The text (the note without its signature lines) of every checkpoint in the pack, by size.
fn checkpoint_texts(checkpoint: &[u8], consistency: &[u8]) -> BTreeMap<u64, Vec<u8>> {
    let mut notes = vec![checkpoint.to_vec()];
    for line in consistency.split(|&b| b == b'\n') {
        if let Ok(v) = serde_json::from_slice::<Value>(line)
            && let Some(note) = v["checkpoint"].as_str()
        {
            notes.push(note.as_bytes().to_vec());
        }
    }
    let mut texts = BTreeMap::new();
    for note in notes {
        let text = match note.windows(2).position(|w| w == b"\n\n") {
            Some(i) => note[..=i].to_vec(),
            None => note,
        };
        let size = String::from_utf8_lossy(&text)
            .lines()
            .nth(1)
            .and_then(|l| l.parse::<u64>().ok());
        if let Some(size) = size {
            texts.insert(size, text);
        }
    }
    texts
}

/// How many entries of a pack's `proofs.jsonl` fall below `sizes[0]`, in each range
/// `sizes[i]..sizes[i + 1]` (the sizes ascending) and at `sizes[last]` or above: one count more
/// than sizes, read in one pass without holding the indices.
pub fn range_counts(proofs: impl Read, sizes: &[u64]) -> Result<Vec<usize>, String> {
    let mut counts = vec![0; sizes.len() + 1];
    for line in BufReader::new(proofs).split(b'\n') {
        let line = line.map_err(|e| format!("{PROOFS}: {e}"))?;
        if let Ok(p) = serde_json::from_slice::<ProofLine>(&line) {
            counts[sizes.partition_point(|&s| s <= p.index)] += 1;
        }
    }
    Ok(counts)
}

/// The bytes of the pack file `name`.
pub(crate) fn read<R: Read + std::io::Seek>(
    archive: &mut zip::ZipArchive<R>,
    name: &str,
) -> Result<Vec<u8>, String> {
    let mut file = archive.by_name(name).map_err(|e| format!("{name}: {e}"))?;
    let mut out = Vec::new();
    file.read_to_end(&mut out)
        .map_err(|e| format!("{name}: {e}"))?;
    Ok(out)
}
