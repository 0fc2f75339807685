//! Building one event: what the caller says, and what the client adds (id, time, agent,
//! commitments, session numbering).

use serde_json::{Map, Value, json};
use std::time::SystemTime;

/// A payload (`input` or `output`) before it is committed or sent in plain.
#[derive(Clone, Debug)]
pub enum Payload {
    /// A JSON value, committed through its canonical (RFC 8785) bytes.
    Json(Value),
    /// Raw bytes with their media type, committed as they are.
    Bytes(Vec<u8>, String),
}

/// An event to record: `Event::new("tool_call").status("error").input(json!({...}))`.
///
/// The client fills in `id` (a fresh UUIDv7), `ts` (now), `agent` and the session number.
#[derive(Clone, Debug)]
pub struct Event {
    pub(crate) action: String,
    pub(crate) status: String,
    pub(crate) input: Option<Payload>,
    pub(crate) output: Option<Payload>,
    pub(crate) content: Option<bool>,
    pub(crate) context: Map<String, Value>,
    pub(crate) attributes: Map<String, Value>,
    pub(crate) started: Option<SystemTime>,
    pub(crate) ts: Option<SystemTime>,
    pub(crate) id: Option<String>,
    pub(crate) agent: Option<Value>,
    pub(crate) trace: Option<Value>,
}

impl Event {
    /// An event of `action` (`tool_call`, `llm_call`, … or `x-<name>`), status `ok`.
    pub fn new(action: &str) -> Self {
        Event {
            action: action.into(),
            status: "ok".into(),
            input: None,
            output: None,
            content: None,
            context: Map::new(),
            attributes: Map::new(),
            started: None,
            ts: None,
            id: None,
            agent: None,
            trace: None,
        }
    }

    /// How it ended: `ok`, `error`, `blocked`, `pending`, `cancelled`, `timeout` or `x-<name>`.
    pub fn status(mut self, status: &str) -> Self {
        self.status = status.into();
        self
    }

    /// What went in (committed unless content is captured).
    pub fn input(mut self, value: Value) -> Self {
        self.input = Some(Payload::Json(value));
        self
    }

    /// What came out (committed unless content is captured).
    pub fn output(mut self, value: Value) -> Self {
        self.output = Some(Payload::Json(value));
        self
    }

    /// Raw bytes as the output, with their media type.
    pub fn output_bytes(mut self, bytes: Vec<u8>, media_type: &str) -> Self {
        self.output = Some(Payload::Bytes(bytes, media_type.into()));
        self
    }

    /// `true`: this event's payloads in plain (redacted if the client redacts); `false`:
    /// commitments even when the client captures content.
    pub fn content(mut self, plain: bool) -> Self {
        self.content = Some(plain);
        self
    }

    /// A context block: `context("tool", json!({"name": "search"}))`.
    pub fn context(mut self, block: &str, value: Value) -> Self {
        self.context.insert(block.into(), value);
        self
    }

    /// One free-form attribute.
    pub fn attribute(mut self, name: &str, value: Value) -> Self {
        self.attributes.insert(name.into(), value);
        self
    }

    /// When the action began (the event's `ts` is when it ended).
    pub fn started(mut self, at: SystemTime) -> Self {
        self.started = Some(at);
        self
    }

    /// The event's time instead of now.
    pub fn ts(mut self, at: SystemTime) -> Self {
        self.ts = Some(at);
        self
    }

    /// The event's id instead of a fresh UUIDv7 (sending it again is then idempotent).
    pub fn id(mut self, id: &str) -> Self {
        self.id = Some(id.into());
        self
    }

    /// The agent for this event only (`{"id": …}`), instead of the client's.
    pub fn agent(mut self, agent: Value) -> Self {
        self.agent = Some(agent);
        self
    }

    /// W3C trace ids (`trace_id`, `span_id`, `parent_span_id`).
    pub fn trace(mut self, trace: Value) -> Self {
        self.trace = Some(trace);
        self
    }
}

/// RFC 3339 UTC with microseconds, as the other SDKs write it.
pub(crate) fn format_ts(t: SystemTime) -> String {
    let dt = time::OffsetDateTime::from(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        dt.year(),
        u8::from(dt.month()),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        dt.microsecond()
    )
}

/// A fresh event id for time `t`.
pub(crate) fn uuid7(t: SystemTime) -> String {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let ts = uuid::Timestamp::from_unix(uuid::NoContext, d.as_secs(), d.subsec_nanos());
    uuid::Uuid::new_v7(ts).hyphenated().to_string()
}

/// A commitment payload `{"commitment", "size", "media_type"?}`.
pub(crate) fn commitment(key: &sealog_core::commitment::CommitmentKey, p: &Payload) -> Value {
    match p {
        Payload::Json(v) => {
            let bytes = sealog_core::jcs::canonicalize(v);
            json!({"commitment": key.commit_bytes(&bytes).to_string(), "size": bytes.len()})
        }
        Payload::Bytes(b, media) => json!({
            "commitment": key.commit_bytes(b).to_string(),
            "size": b.len(),
            "media_type": media,
        }),
    }
}

/// A plain payload `{"content", "media_type"?, "redacted"?}` (redacted when `redact`).
pub(crate) fn plain(p: &Payload, redact: bool) -> Value {
    use base64::Engine as _;
    match p {
        Payload::Json(v) if redact => match crate::redact::redact(v) {
            (content, found) if found.is_empty() => json!({ "content": content }),
            (content, found) => json!({ "content": content, "redacted": found }),
        },
        Payload::Json(v) => json!({ "content": v }),
        Payload::Bytes(b, media) => json!({
            "content": base64::engine::general_purpose::STANDARD.encode(b),
            "media_type": media,
        }),
    }
}
