//! One witness's side of tlog-witness add-checkpoint, as the log calls it: the request body,
//! the answer read into what the log must do next. Blocking (ureq, rustls): it runs on the
//! blocking pool, never on the ingest path.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sealog_core::checkpoint::{Checkpoint, parse_decimal};
use sealog_core::merkle::Hash;
use sealog_core::note::{Note, NoteSignature};
use sealog_core::policy::PolicyWitness;
use std::time::Duration;

/// What a witness answered.
#[derive(Debug)]
pub enum Answer {
    /// 200 with a cosignature that verifies against the pinned key.
    Cosigned(NoteSignature),
    /// 409: the witness last cosigned this size, not the one sent as `old`.
    Conflict(u64),
    /// 422: the witness holds a checkpoint this one is not consistent with.
    Inconsistent(String),
    /// Anything else: unreachable, timed out, another status, a bad cosignature.
    Failed(String),
}

/// An HTTP agent with `timeout` for the whole of each call.
pub fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .build()
        .into()
}

/// The add-checkpoint body: `old N`, the proof lines, a blank line, the signed note.
pub fn body(old: u64, proof: &[Hash], note: &[u8]) -> Vec<u8> {
    let mut out = format!("old {old}\n");
    for h in proof {
        out.push_str(&STANDARD.encode(h));
        out.push('\n');
    }
    out.push('\n');
    let mut out = out.into_bytes();
    out.extend_from_slice(note);
    out
}

/// Sends one add-checkpoint request for `cp` (signed as `note`) to `witness`.
pub fn add_checkpoint(
    agent: &ureq::Agent,
    witness: &PolicyWitness,
    cp: &Checkpoint,
    note: &[u8],
    body: Vec<u8>,
) -> Answer {
    let Some(url) = &witness.url else {
        return Answer::Failed("the policy gives this witness no URL".into());
    };
    let url = format!("{}/add-checkpoint", url.trim_end_matches('/'));
    let mut resp = match agent.post(&url).send(&body[..]) {
        Ok(r) => r,
        Err(e) => return Answer::Failed(format!("{url}: {e}")),
    };
    let status = resp.status().as_u16();
    let text = resp
        .body_mut()
        .with_config()
        .limit(64 * 1024)
        .read_to_string()
        .unwrap_or_default();
    match status {
        200 => cosignature(witness, cp, note, &text),
        409 => match parse_decimal(text.trim_end_matches('\n').as_bytes()) {
            Ok(size) => Answer::Conflict(size),
            Err(e) => Answer::Failed(format!("409 with a size that {e}: {text:?}")),
        },
        422 => Answer::Inconsistent(text.trim().to_owned()),
        other => Answer::Failed(format!("status {other}: {}", text.trim())),
    }
}

/// The witness's cosignature among the answer's signature lines (others are ignored): the
/// answer appended to the checkpoint note must parse as one note (tlog-witness).
fn cosignature(witness: &PolicyWitness, cp: &Checkpoint, note: &[u8], text: &str) -> Answer {
    let v = &witness.verifier;
    let joined = [note, text.as_bytes()].concat();
    let parsed = match Note::parse(&joined) {
        Ok(n) => n,
        Err(e) => return Answer::Failed(format!("200 with malformed signature lines: {e}")),
    };
    let mine = |s: &NoteSignature| s.name == v.name() && s.key_id == v.key_id();
    let Some(sig) = parsed.signatures.into_iter().find(mine) else {
        return Answer::Failed(format!("200 without a cosignature from {}", v.name()));
    };
    match v.verify(cp, &sig) {
        Ok(_) => Answer::Cosigned(sig),
        Err(e) => Answer::Failed(e.to_string()),
    }
}
