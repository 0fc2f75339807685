//! What witnesses and time-stamps add to a verified pack, and what is still not proven: the
//! statements `sealog verify` prints after its verdict and the report's section "Witnesses
//! and time-stamps". One function makes both, so the report never claims more than the
//! verifier would.

use crate::timestamps::Stamps;
use sealog_core::checkpoint::{self, Checkpoint};
use sealog_core::evidence::{ConsistencyLine, Trust};
use sealog_core::note::Note;
use sealog_core::policy::{Member, Policy};
use serde_json::{Value, json};

/// The statements about a pack's witnesses and time-stamps.
#[derive(Clone, Debug, Default)]
pub struct Findings {
    /// What the cosignatures and time-stamps show, one statement each.
    pub shown: Vec<String>,
    /// What the pack still does not prove, one statement each.
    pub not_proven: Vec<String>,
    /// The same for machines: `witnesses`, `timestamps` and `not_proven`.
    pub value: Value,
}

impl Findings {
    /// The statements as lines of text: the findings, then `not proven:` and a list.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for line in &self.shown {
            out.push_str(line);
            out.push('\n');
        }
        out.push_str("not proven:\n");
        for line in &self.not_proven {
            out.push_str("  - ");
            out.push_str(line);
            out.push('\n');
        }
        out
    }
}

/// The findings of a pack that verified against `trust`: its checkpoint note, its
/// `consistency.jsonl`, and what its time-stamps showed.
pub fn findings(checkpoint: &[u8], consistency: &[u8], trust: &Trust, stamps: Stamps) -> Findings {
    let mut f = Findings::default();
    let witnesses = witness_findings(checkpoint, consistency, trust, &mut f);
    f.shown.extend(stamps.lines);
    f.not_proven.extend(stamps.not_proven);
    f.not_proven.push(
        "that what the events say is true, or that every agent recorded everything it did \
         (session gaps show only what sessions reveal)"
            .into(),
    );
    f.value = json!({
        "witnesses": witnesses,
        "timestamps": stamps.value,
        "not_proven": f.not_proven,
    });
    f
}

/// How the pinned keys judge one checkpoint's cosignatures.
struct Judged {
    /// Names (policy names, or key names of pinned witnesses) whose cosignatures verified.
    cosigned: Vec<String>,
    /// Known witnesses that did not cosign.
    missing: Vec<String>,
    /// Whether the quorum (or every pinned witness) is met, `None` when nothing is pinned.
    met: Option<bool>,
    /// Cosignature lines from keys the verifier does not know: their claimed key names.
    unknown: Vec<String>,
}

/// Judges the cosignatures of `note` (the signed `cp`) against the pinned witnesses and
/// policy. Cosignatures that fail were refused when the pack was opened; here they count as
/// absent.
fn judge(note: &Note, cp: &Checkpoint, trust: &Trust) -> Judged {
    let mut j = Judged {
        cosigned: Vec::new(),
        missing: Vec::new(),
        met: None,
        unknown: Vec::new(),
    };
    let mut known: Vec<(String, u32)> = vec![(trust.log.name().to_owned(), trust.log.key_id())];
    for w in &trust.witnesses {
        known.push((w.name().to_owned(), w.key_id()));
        match w.verify_in(note, cp) {
            Ok(Some(_)) => j.cosigned.push(w.name().to_owned()),
            _ => j.missing.push(w.name().to_owned()),
        }
    }
    if !trust.witnesses.is_empty() {
        j.met = Some(j.missing.is_empty());
    }
    if let Some(policy) = &trust.policy {
        for w in policy.witnesses() {
            known.push((w.verifier.name().to_owned(), w.verifier.key_id()));
            let name = w.name.clone();
            let ok = matches!(w.verifier.verify_in(note, cp), Ok(Some(_)));
            match (ok, j.cosigned.contains(&name)) {
                (true, false) => j.cosigned.push(name),
                (false, _) if !j.missing.contains(&name) => j.missing.push(name),
                _ => {}
            }
        }
        let met = policy.quorum().is_none()
            || (policy.check_quorum(&j.cosigned).is_ok() && !j.cosigned.is_empty());
        j.met = Some(j.met.unwrap_or(true) && met);
    }
    j.unknown = note
        .signatures
        .iter()
        .filter(|s| !known.iter().any(|(n, id)| *n == s.name && *id == s.key_id))
        .map(|s| s.name.clone())
        .collect();
    j
}

/// The quorum of `policy` in words: `quorum "two-of-three" (2 of W0, W1, W2)`.
pub fn quorum_words(policy: &Policy) -> String {
    match policy.quorum() {
        None => "quorum none (no cosignature required)".into(),
        Some(Member::Witness(i)) => {
            let name = policy.name_of(Member::Witness(i));
            format!("quorum {name:?} (the witness {name})")
        }
        Some(Member::Group(i)) => {
            let g = &policy.groups()[i];
            let members: Vec<&str> = g.members.iter().map(|&m| policy.name_of(m)).collect();
            format!(
                "quorum {:?} ({} of {})",
                g.name,
                g.threshold,
                members.join(", ")
            )
        }
    }
}

/// What was pinned, in words: the policy's quorum and/or every pinned witness.
fn requirement(trust: &Trust) -> String {
    let mut parts = Vec::new();
    if let Some(policy) = &trust.policy {
        parts.push(quorum_words(policy));
    }
    if !trust.witnesses.is_empty() {
        parts.push("every pinned --witness".to_owned());
    }
    parts.join(" and ")
}

/// Adds the statements about the cosignatures of the pack's checkpoint and of the earlier
/// checkpoints it holds; returns them for machines.
fn witness_findings(
    checkpoint_note: &[u8],
    consistency: &[u8],
    trust: &Trust,
    f: &mut Findings,
) -> Value {
    let Ok((cp, note)) = checkpoint::open(checkpoint_note, &trust.log) else {
        return Value::Null;
    };
    let j = judge(&note, &cp, trust);
    let Some(met) = j.met else {
        let line = if j.unknown.is_empty() {
            "witnesses: the checkpoint carries no witness cosignature".to_owned()
        } else {
            format!(
                "witnesses: the checkpoint carries {} cosignature(s), claimed by {}, NOT \
                 checked: pass --policy FILE (or --witness VKEY) naming the witnesses you trust",
                j.unknown.len(),
                j.unknown.join(", ")
            )
        };
        f.shown.push(line);
        f.not_proven.push(
            "that the operator showed everyone this same log: no witness cosignature was \
             checked, and the operator holds the log key, so it could sign another history \
             for someone else"
                .into(),
        );
        return json!({"checked": false, "claimed": j.unknown});
    };
    let verdict = if met { "meets" } else { "does NOT meet" };
    let mut line = format!(
        "witnesses: the checkpoint of size {} {verdict} {}: cosigned by {}",
        cp.size,
        requirement(trust),
        list_or(&j.cosigned, "none of them")
    );
    if !j.missing.is_empty() {
        line.push_str(&format!("; not by {}", j.missing.join(", ")));
    }
    if !j.unknown.is_empty() {
        line.push_str(&format!(
            "; {} cosignature(s) from keys you did not pin, ignored ({})",
            j.unknown.len(),
            j.unknown.join(", ")
        ));
    }
    f.shown.push(line);
    let earlier = earlier_witnessed(consistency, trust, &cp, f);
    if met && !j.cosigned.is_empty() {
        f.not_proven.push(
            "that the witnesses are independent of the operator and of each other: that rests \
             on the keys you pinned"
                .into(),
        );
    } else {
        f.not_proven.push(
            "that the operator showed everyone this same log: this checkpoint does not meet \
             the witness requirement"
                .into(),
        );
    }
    json!({
        "checked": true, "requirement": requirement(trust), "met": met,
        "cosigned": j.cosigned, "missing": j.missing, "ignored": j.unknown,
        "earlier_witnessed": earlier,
    })
}

/// One statement per earlier checkpoint of the pack that meets the requirement too (the pack
/// verified, so each is consistent with the pack's checkpoint); returns their sizes.
fn earlier_witnessed(
    consistency: &[u8],
    trust: &Trust,
    cp: &Checkpoint,
    f: &mut Findings,
) -> Value {
    let mut sizes = Vec::new();
    for line in consistency.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let Ok(parsed) = serde_json::from_slice::<ConsistencyLine>(line) else {
            continue;
        };
        let Ok((old, note)) = checkpoint::open(parsed.checkpoint.as_bytes(), &trust.log) else {
            continue;
        };
        let j = judge(&note, &old, trust);
        if j.met != Some(true) || j.cosigned.is_empty() || old.size >= cp.size {
            continue;
        }
        f.shown.push(format!(
            "witnesses: the earlier checkpoint of size {}, cosigned by {}, meets it too, and \
             the checkpoint of size {} is consistent with it: the witnessed history was only \
             appended to",
            old.size,
            j.cosigned.join(", "),
            cp.size
        ));
        sizes.push(json!({"size": old.size, "cosigned": j.cosigned}));
    }
    Value::Array(sizes)
}

fn list_or(names: &[String], none: &str) -> String {
    if names.is_empty() {
        none.to_owned()
    } else {
        names.join(", ")
    }
}
