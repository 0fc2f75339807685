//! Top-level event validation: fields, payloads and the rules that join fields.

use super::fields::{Checker, join};
use super::tree::{self, Node, Obj};
use super::{
    ACTIONS, Agent, AgentSignature, EncryptedRef, Event, EventError, FieldError, Limits, Payload,
    STATUSES, Session, Trace, ValidatedEvent, context,
};
use crate::{commitment::Commitment, jcs};
use base64::Engine as _;
use serde_json::Value;

const FIELDS: &[&str] = &[
    "id",
    "ts",
    "started",
    "agent",
    "action",
    "status",
    "session",
    "trace",
    "input",
    "output",
    "context",
    "attributes",
    "sig",
];

/// Parses JSON text strictly and validates it as an event, in one pass: the text is parsed
/// once into a tree that borrows from it, validated, and its canonical bytes written from the
/// tree. Accepts and refuses exactly what [`jcs::parse_strict`] followed by [`validate`]
/// would, with the same errors and the same canonical bytes.
pub fn parse(text: &[u8], limits: &Limits) -> Result<ValidatedEvent, EventError> {
    match tree::parse_strict(text) {
        // Canonical bytes are rarely longer than the text (`1e21` becomes `1e+21`).
        Ok(node) => validate_tree(&node, limits, text.len() + 16),
        Err(e) => Err(EventError {
            errors: vec![FieldError {
                path: String::new(),
                message: e.to_string(),
            }],
        }),
    }
}

/// Validates a parsed JSON value as an event and canonicalizes it.
pub fn validate(value: &Value, limits: &Limits) -> Result<ValidatedEvent, EventError> {
    validate_tree(&Node::from_value(value), limits, 256)
}

fn validate_tree(
    value: &Node,
    limits: &Limits,
    capacity: usize,
) -> Result<ValidatedEvent, EventError> {
    let mut cx = Checker {
        limits,
        errors: Vec::new(),
    };
    cx.structure(&mut String::with_capacity(64), value, 1);
    let event = event(&mut cx, value);
    let mut canonical = Vec::with_capacity(capacity);
    value.write_canonical(&mut canonical);
    if canonical.len() > limits.max_event_bytes {
        cx.error(
            "",
            format!(
                "event is {} bytes in canonical form; the limit is {} — put large content in a commitment or the encrypted store",
                canonical.len(),
                limits.max_event_bytes
            ),
        );
    }
    match event {
        Some((event, id)) if cx.errors.is_empty() => Ok(ValidatedEvent {
            event,
            id,
            canonical,
        }),
        _ => {
            if cx.errors.is_empty() {
                cx.error("", "is not a valid event");
            }
            Err(EventError { errors: cx.errors })
        }
    }
}

/// Parses a lowercase hyphenated UUID of version 7 and the RFC 9562 variant.
pub(super) fn parse_uuid_v7(s: &str) -> Option<u128> {
    let lower_hyphenated = s.len() == 36 && !s.bytes().any(|b| b.is_ascii_uppercase());
    let uuid = uuid::Uuid::try_parse(s).ok().filter(|_| lower_hyphenated)?;
    (uuid.get_version_num() == 7 && uuid.get_variant() == uuid::Variant::RFC4122)
        .then(|| uuid.as_u128())
}

fn event(cx: &mut Checker, value: &Node) -> Option<(Event, u128)> {
    let map = cx.object("", value, FIELDS, false)?;
    let id_text = cx.text("id", map.get("id"), true);
    let id = id_text.as_deref().and_then(|s| {
        let id = parse_uuid_v7(s);
        if id.is_none() {
            cx.error("id", "must be a UUIDv7 in lowercase hyphenated form, such as 0190b3a4-8d0e-7cc1-9a53-8e5c2b7f1d20");
        }
        id
    });
    let ts = cx.timestamp("ts", map.get("ts"), true);
    let started = cx.timestamp("started", map.get("started"), false);
    if let (Some((_, end)), Some((_, start))) = (&ts, &started)
        && start > end
    {
        cx.error("started", "must not be later than `ts`");
    }
    let agent = cx.member("", map, "agent", true).and_then(|v| agent(cx, v));
    let action = cx
        .text("action", map.get("action"), true)
        .filter(|a| known_or_custom(cx, "action", a, ACTIONS));
    let status = cx
        .text("status", map.get("status"), true)
        .filter(|s| known_or_custom(cx, "status", s, STATUSES));
    let session = cx
        .member("", map, "session", false)
        .and_then(|v| session(cx, v, action.as_deref()));
    let trace = cx
        .member("", map, "trace", false)
        .and_then(|v| trace(cx, v));
    let input = cx
        .member("", map, "input", false)
        .and_then(|v| payload(cx, "input", v));
    let output = cx
        .member("", map, "output", false)
        .and_then(|v| payload(cx, "output", v));
    let context = cx
        .member("", map, "context", false)
        .and_then(|v| context::context(cx, "context", v));
    let attributes = match cx.member("", map, "attributes", false) {
        Some(Node::Object(a)) => Some(a.to_map()),
        Some(_) => {
            cx.error("attributes", "must be an object");
            None
        }
        None => None,
    };
    let sig = cx
        .member("", map, "sig", false)
        .and_then(|v| signature(cx, v));
    if action.as_deref() == Some("human_oversight") {
        let reviewed = context.as_ref().and_then(|c| c.oversight.as_ref());
        if reviewed.is_none_or(|o| o.decision.is_none() || o.reviewer.is_none()) {
            cx.error("context.oversight", "a human_oversight event must say who reviewed (`reviewer`) and what they decided (`decision`)");
        }
    }
    Some((
        Event {
            id: id_text?,
            ts: ts?.0,
            started: started.map(|(s, _)| s),
            agent: agent?,
            action: action?,
            status: status?,
            session,
            trace,
            input,
            output,
            context,
            attributes,
            sig,
        },
        id?,
    ))
}

/// A defined name, or a custom `x-<name>` of lowercase letters, digits, `_`, `.` and `-`.
fn known_or_custom(cx: &mut Checker, path: &str, value: &str, known: &[&str]) -> bool {
    let custom = value.strip_prefix("x-").is_some_and(|rest| {
        (1..=64).contains(&rest.len())
            && rest
                .bytes()
                .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-'))
    });
    if !known.contains(&value) && !custom {
        cx.error(
            path,
            format!(
                "unknown {path} {}; use one of {} or a custom `x-<name>`",
                jcs::string_literal(value),
                known.join(", ")
            ),
        );
        return false;
    }
    true
}

fn agent(cx: &mut Checker, v: &Node) -> Option<Agent> {
    let m = cx.object("agent", v, &["id", "name", "version", "environment"], false)?;
    let id = cx.ident("agent.id", m.get("id"), true);
    Some(Agent {
        id: id?,
        name: cx.ident("agent.name", m.get("name"), false),
        version: cx.ident("agent.version", m.get("version"), false),
        environment: cx.ident("agent.environment", m.get("environment"), false),
    })
}

fn session(cx: &mut Checker, v: &Node, action: Option<&str>) -> Option<Session> {
    let m = cx.object("session", v, &["id", "seq", "count"], false)?;
    let id = cx.ident("session.id", m.get("id"), true);
    let seq = cx.uint("session.seq", m.get("seq"), false);
    let count = cx.uint("session.count", m.get("count"), false);
    if let Some(count) = count {
        if action != Some("session_end") {
            cx.error("session.count", "is only allowed on a session_end event");
        } else if seq.is_none() {
            cx.error(
                "session.count",
                "needs `session.seq`: a count is checked against it",
            );
        } else if seq.is_some_and(|seq| seq.checked_add(1) != Some(count)) {
            cx.error(
                "session.count",
                "must equal `session.seq` + 1: the events of the session, session_end included",
            );
        }
    }
    Some(Session {
        id: id?,
        seq,
        count,
    })
}

fn trace(cx: &mut Checker, v: &Node) -> Option<Trace> {
    let m = cx.object(
        "trace",
        v,
        &["trace_id", "span_id", "parent_span_id"],
        false,
    )?;
    let trace_id = cx.hex("trace.trace_id", m.get("trace_id"), true, 32, true);
    let span_id = cx.hex("trace.span_id", m.get("span_id"), true, 16, true);
    let parent_span_id = cx.hex(
        "trace.parent_span_id",
        m.get("parent_span_id"),
        false,
        16,
        true,
    );
    if parent_span_id.is_some() && parent_span_id == span_id {
        cx.error("trace.parent_span_id", "must differ from `span_id`");
    }
    Some(Trace {
        trace_id: trace_id?,
        span_id: span_id?,
        parent_span_id,
    })
}

fn media_type(cx: &mut Checker, path: &str, v: Option<&Node>) -> Option<String> {
    let s = cx.ident(path, v, false)?;
    let ok = s.split_once('/').is_some_and(|(t, sub)| {
        !t.is_empty() && !sub.is_empty() && !s.contains(char::is_whitespace)
    });
    if !ok {
        cx.error(
            path,
            "must be a media type such as text/plain or application/json",
        );
        return None;
    }
    Some(s)
}

/// Validates a payload: exactly one of `commitment`, `content` or `encrypted` says its kind,
/// and each kind has its own fields.
fn payload(cx: &mut Checker, path: &str, v: &Node) -> Option<Payload> {
    const FIELDS: &[&str] = &[
        "commitment",
        "size",
        "media_type",
        "content",
        "redacted",
        "encrypted",
    ];
    let m = cx.object(path, v, FIELDS, false)?;
    let kinds: Vec<&str> = ["commitment", "content", "encrypted"]
        .into_iter()
        .filter(|k| m.contains_key(k))
        .collect();
    match kinds.as_slice() {
        ["commitment"] => commitment_payload(cx, path, m),
        ["content"] => content_payload(cx, path, m),
        ["encrypted"] => encrypted_payload(cx, path, m),
        _ => {
            cx.error(
                path,
                "must have exactly one of `commitment`, `content` or `encrypted`",
            );
            None
        }
    }
}

/// Records an error if the payload `m` has `field`, which a `kind` payload must not have.
fn refuse(cx: &mut Checker, path: &str, m: &Obj, field: &str, kind: &str) {
    if m.contains_key(field) {
        cx.error(
            &join(path, field),
            format!("is not allowed in a {kind} payload"),
        );
    }
}

/// A payload recorded as a commitment to content kept elsewhere, with its size.
fn commitment_payload(cx: &mut Checker, path: &str, m: &Obj) -> Option<Payload> {
    let p = |k: &str| join(path, k);
    refuse(cx, path, m, "redacted", "commitment");
    let text = cx.text(&p("commitment"), m.get("commitment"), true);
    let commitment = text.filter(|t| {
        let ok = t.parse::<Commitment>().is_ok();
        if !ok {
            cx.error(
                &p("commitment"),
                "must be \"hmac-sha256:\" followed by the standard base64 of 32 bytes",
            );
        }
        ok
    });
    let size = cx.uint(&p("size"), m.get("size"), true);
    let media_type = media_type(cx, &p("media_type"), m.get("media_type"));
    Some(Payload::Commitment {
        commitment: commitment?,
        size: size?,
        media_type,
    })
}

/// A payload recorded in clear, possibly with parts redacted.
fn content_payload(cx: &mut Checker, path: &str, m: &Obj) -> Option<Payload> {
    refuse(cx, path, m, "size", "content");
    let media_type = media_type(cx, &join(path, "media_type"), m.get("media_type"));
    let redacted = cx.ident_list(&join(path, "redacted"), m.get("redacted"));
    Some(Payload::Content {
        content: m["content"].to_value(),
        media_type,
        redacted,
    })
}

/// A payload kept encrypted elsewhere, named by its subject, key and ciphertext digest.
fn encrypted_payload(cx: &mut Checker, path: &str, m: &Obj) -> Option<Payload> {
    let p = |k: &str| join(path, k);
    refuse(cx, path, m, "redacted", "encrypted");
    let q = p("encrypted");
    let r = cx.object(
        &q,
        &m["encrypted"],
        &["subject", "key_id", "ciphertext_sha256"],
        false,
    );
    let encrypted = r.and_then(|r| {
        let subject = cx.ident(&join(&q, "subject"), r.get("subject"), true);
        let key_id = cx.ident(&join(&q, "key_id"), r.get("key_id"), true);
        let sha = cx.hex(
            &join(&q, "ciphertext_sha256"),
            r.get("ciphertext_sha256"),
            true,
            64,
            false,
        );
        Some(EncryptedRef {
            subject: subject?,
            key_id: key_id?,
            ciphertext_sha256: sha?,
        })
    });
    let size = cx.uint(&p("size"), m.get("size"), false);
    let media_type = media_type(cx, &p("media_type"), m.get("media_type"));
    Some(Payload::Encrypted {
        encrypted: encrypted?,
        size,
        media_type,
    })
}

fn signature(cx: &mut Checker, v: &Node) -> Option<AgentSignature> {
    let m = cx.object("sig", v, &["key_id", "sig"], false)?;
    let key_id = cx.ident("sig.key_id", m.get("key_id"), true);
    let sig = cx.text("sig.sig", m.get("sig"), true).filter(|s| {
        let engine = base64::engine::general_purpose::STANDARD;
        let ok = engine
            .decode(s)
            .is_ok_and(|b| b.len() == 64 && engine.encode(&b) == *s);
        if !ok {
            cx.error(
                "sig.sig",
                "must be the standard base64 of a 64-byte Ed25519 signature",
            );
        }
        ok
    });
    Some(AgentSignature {
        key_id: key_id?,
        sig: sig?,
    })
}
