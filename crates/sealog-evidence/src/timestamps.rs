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
const DIR: &str = "timestamps/";

/// The pack file holding the time-stamp of the checkpoint of `size`.
pub fn file_name(size: u64) -> String {
    format!("{DIR}{size}.tsr")
}

/// What a verified pack's time-stamps say: text lines and a JSON value; an error when a token
/// does not verify against the pinned roots.
pub fn notes(zip: &[u8], roots: Option<&Roots>) -> Result<(Vec<String>, Value), String> {
    let mut archive = zip::ZipArchive::new(Cursor::new(zip)).map_err(|e| e.to_string())?;
    let names: Vec<String> = archive
        .file_names()
        .filter_map(Result::ok)
        .filter(|n| n.starts_with(DIR))
        .map(|n| n.into_owned())
        .collect();
    if names.is_empty() {
        let line = "no RFC 3161 time-stamp: when the events were recorded rests on the operator's \
                    clock alone";
        return Ok((vec![line.into()], json!({"tokens": 0, "checked": false})));
    }
    let Some(roots) = roots else {
        let line = format!(
            "{} RFC 3161 time-stamp(s) in the pack were NOT checked: pass --tsa-roots PEM (the \
             TSA roots you trust) to learn when the events were recorded at the latest",
            names.len()
        );
        return Ok((vec![line], json!({"tokens": names.len(), "checked": false})));
    };
    let texts = checkpoint_texts(&mut archive)?;
    let mut bounds: BTreeMap<u64, Stamp> = BTreeMap::new();
    for name in &names {
        let size = name[DIR.len()..]
            .strip_suffix(".tsr")
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or_else(|| format!("{name} is not named timestamps/<size>.tsr"))?;
        let text = texts
            .get(&size)
            .ok_or_else(|| format!("{name} is for no checkpoint the pack holds"))?;
        let reply = read(&mut archive, name)?;
        let stamp = tsp::verify(&reply, &tsp::imprint(text), None, roots)
            .map_err(|e| format!("time-stamp {name}: {e}"))?;
        bounds.insert(size, stamp);
    }
    let indices = indices(&mut archive)?;
    Ok(describe(&bounds, &indices))
}

/// One line per time-stamped checkpoint for the pack's events under it and not under a
/// smaller one, and one for the events under none.
fn describe(bounds: &BTreeMap<u64, Stamp>, indices: &[u64]) -> (Vec<String>, Value) {
    let (mut lines, mut list, mut from) = (Vec::new(), Vec::new(), 0);
    for (size, stamp) in bounds {
        let events = indices.iter().filter(|&&i| i >= from && i < *size).count();
        let t = stamp.gen_time_rfc3339();
        lines.push(format!(
            "time-stamp of checkpoint {size} verified: {events} event(s) of this pack (log index \
             {from} to {}) recorded no later than {t}, per TSA {}",
            size - 1,
            stamp.tsa
        ));
        list.push(
            json!({"size": size, "gen_time": t, "tsa": stamp.tsa, "events": events,
            "from_index": from}),
        );
        from = *size;
    }
    let rest = indices.iter().filter(|&&i| i >= from).count();
    if rest > 0 {
        lines.push(format!(
            "{rest} event(s) of this pack (log index {from} and above) are under no time-stamp"
        ));
    }
    let value = json!({"tokens": bounds.len(), "checked": true, "bounds": list,
        "not_time_stamped": rest});
    (lines, value)
}

/// The text (the note without its signature lines) of every checkpoint in the pack, by size.
fn checkpoint_texts<R: Read + std::io::Seek>(
    archive: &mut zip::ZipArchive<R>,
) -> Result<BTreeMap<u64, Vec<u8>>, String> {
    let mut notes = vec![read(archive, CHECKPOINT)?];
    for line in read(archive, CONSISTENCY)?.split(|&b| b == b'\n') {
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
    Ok(texts)
}

/// The log index of every entry of the pack, from `proofs.jsonl`.
fn indices<R: Read + std::io::Seek>(archive: &mut zip::ZipArchive<R>) -> Result<Vec<u64>, String> {
    let file = archive
        .by_name(PROOFS)
        .map_err(|e| format!("{PROOFS}: {e}"))?;
    let mut out = Vec::new();
    for line in BufReader::new(file).split(b'\n') {
        let line = line.map_err(|e| format!("{PROOFS}: {e}"))?;
        if let Ok(p) = serde_json::from_slice::<ProofLine>(&line) {
            out.push(p.index);
        }
    }
    Ok(out)
}

fn read<R: Read + std::io::Seek>(
    archive: &mut zip::ZipArchive<R>,
    name: &str,
) -> Result<Vec<u8>, String> {
    let mut file = archive.by_name(name).map_err(|e| format!("{name}: {e}"))?;
    let mut out = Vec::new();
    file.read_to_end(&mut out)
        .map_err(|e| format!("{name}: {e}"))?;
    Ok(out)
}
