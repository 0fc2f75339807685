//! The event an agent records (docs/DESIGN.md §2.1), and its strict validation.
//!
//! An event arrives as JSON from an SDK or an OpenTelemetry bridge. [`validate`] checks it
//! against the format and the [`Limits`], and returns a [`ValidatedEvent`]: the typed
//! [`Event`] plus its canonical bytes, which are what the log stores inside the leaf. The
//! canonical bytes come from the JSON as received, not from re-serializing the typed struct,
//! so a field this version does not model (inside `attributes`, `model.params` or an `x-`
//! extension) is kept exactly.
//!
//! Errors name the field and the reason, for every problem found (up to a cap), so a user can
//! fix an event in one round trip:
//!
//! ```
//! use sealog_core::event::{parse, Limits};
//! let err = parse(br#"{"id":"0190b3a4-8d0e-7cc1-9a53-8e5c2b7f1d20","ts":"2026-11-22T10:00:00Z",
//!     "agent":{"id":"support-bot"},"action":"tool_call","status":"ok",
//!     "session":{"id":"s-1","seq":-1}}"#, &Limits::default()).unwrap_err();
//! assert_eq!(err.to_string(), "`session.seq`: must be a non-negative integer");
//! ```

mod context;
mod fields;
mod tree;
mod validate;

pub use context::{
    Check, Context, DataProvenance, Decision, HumanOversight, ModelContext, OversightDecision,
    PerformanceMetrics, PolicyContext, PromptContext, Subject, ToolContext,
};
pub use validate::{parse, validate};

use serde::Serialize;
use serde_json::{Map, Value};
use std::fmt;

/// Actions defined by the format; anything else must be a custom `x-<name>` action.
pub const ACTIONS: &[&str] = &[
    "llm_call",
    "tool_call",
    "retrieval",
    "decision",
    "human_oversight",
    "policy_flag",
    "session_start",
    "session_end",
    "config_change",
    "error",
    "gap",
    "erasure",
    "legal_hold",
    "legal_hold_lifted",
    "prune",
    "retention_changed",
    "incident",
];

/// Statuses defined by the format; anything else must be a custom `x-<name>` status.
pub const STATUSES: &[&str] = &["ok", "error", "blocked", "pending", "cancelled", "timeout"];

/// Size limits applied to every event. The defaults are the format's; a server may lower them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest canonical event, in bytes (64 KiB: the tlog-tiles entry limit, with room for
    /// the leaf envelope).
    pub max_event_bytes: usize,
    /// Deepest nesting of objects and arrays, the event itself being depth 1.
    pub max_depth: usize,
    /// Most elements in one array.
    pub max_array_len: usize,
    /// Most members in one object.
    pub max_object_members: usize,
    /// Longest string value or object key, in UTF-8 bytes.
    pub max_string_bytes: usize,
    /// Longest identifier (ids, names, versions, key ids), in UTF-8 bytes.
    pub max_ident_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_event_bytes: 64 * 1024 - 512,
            max_depth: 16,
            max_array_len: 1024,
            max_object_members: 256,
            max_string_bytes: 32 * 1024,
            max_ident_bytes: 256,
        }
    }
}

/// One recorded action of an agent.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Event {
    /// Client-generated UUIDv7, lowercase and hyphenated; the idempotency key.
    pub id: String,
    /// When the action ended or was recorded: RFC 3339, UTC (`Z`).
    pub ts: String,
    /// When the action started, for actions with a duration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started: Option<String>,
    /// The agent that acted.
    pub agent: Agent,
    /// What kind of action: one of [`ACTIONS`] or `x-<custom>`.
    pub action: String,
    /// How it ended: one of [`STATUSES`] or `x-<custom>`.
    pub status: String,
    /// The session this event belongs to, numbered so gaps are detectable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<Session>,
    /// W3C / OpenTelemetry trace position.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<Trace>,
    /// What went in (a prompt, tool arguments), usually as a commitment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<Payload>,
    /// What came out, usually as a commitment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<Payload>,
    /// Typed context blocks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<Context>,
    /// Free-form, small attributes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Map<String, Value>>,
    /// The agent's own Ed25519 signature over the canonical event without `sig`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sig: Option<AgentSignature>,
}

/// The agent that acted.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Agent {
    /// Stable identifier of the agent.
    pub id: String,
    /// Human-readable name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The agent's version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Deployment environment, such as `prod`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
}

/// A session and the event's place in it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Session {
    /// Session identifier.
    pub id: String,
    /// Position in the session, counting from 0; absent for an event whose source numbers
    /// nothing (OpenTelemetry), which makes the session's completeness unprovable.
    pub seq: Option<u64>,
    /// On `session_end` only: how many events the session holds, this one included
    /// (so it must equal `seq + 1`). Verifiers compare it with the events present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
}

/// W3C trace context ids, lowercase hex.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Trace {
    /// 16-byte trace id, 32 hex digits, not all zero.
    pub trace_id: String,
    /// 8-byte span id, 16 hex digits, not all zero.
    pub span_id: String,
    /// The parent span, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_span_id: Option<String>,
}

/// An input or output: committed (the default), plain (opt-in) or encrypted (opt-in).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Payload {
    /// A keyed commitment to content the server never sees.
    Commitment {
        /// `hmac-sha256:<base64>`.
        commitment: String,
        /// Size in bytes of the committed content.
        size: u64,
        /// Media type of the committed content.
        #[serde(skip_serializing_if = "Option::is_none")]
        media_type: Option<String>,
    },
    /// Plain content, recorded because the user opted in.
    Content {
        /// The content.
        content: Value,
        /// Media type, if the content is a string of a particular type.
        #[serde(skip_serializing_if = "Option::is_none")]
        media_type: Option<String>,
        /// Categories a redactor removed before the content left the agent (`email`, …).
        #[serde(skip_serializing_if = "Option::is_none")]
        redacted: Option<Vec<String>>,
    },
    /// Content stored encrypted outside the tree under a per-subject key.
    Encrypted {
        /// Where the ciphertext is and how to check it.
        encrypted: EncryptedRef,
        /// Size in bytes of the plaintext.
        #[serde(skip_serializing_if = "Option::is_none")]
        size: Option<u64>,
        /// Media type of the plaintext.
        #[serde(skip_serializing_if = "Option::is_none")]
        media_type: Option<String>,
    },
}

/// Reference to encrypted content; destroying the subject's key erases it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EncryptedRef {
    /// The data subject's pseudonymous id.
    pub subject: String,
    /// The id of the key the content was encrypted with.
    pub key_id: String,
    /// SHA-256 of the ciphertext, 64 lowercase hex digits.
    pub ciphertext_sha256: String,
}

/// An agent's own signature over its event.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AgentSignature {
    /// Which of the agent's keys signed.
    pub key_id: String,
    /// Standard base64 of the 64-byte Ed25519 signature.
    pub sig: String,
}

/// An event that passed validation, with its canonical bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct ValidatedEvent {
    /// The typed event.
    pub event: Event,
    /// The id as a number, for indexes and deduplication.
    pub id: u128,
    /// The RFC 8785 bytes of the event as received: what goes into the leaf.
    pub canonical: Vec<u8>,
}

/// One problem with an event: where and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Dotted path to the field, such as `session.seq` or `context.checks[2].score`; empty for
    /// the event as a whole.
    pub path: String,
    /// What is wrong, in words a user can act on.
    pub message: String,
}

/// Everything wrong with an event (at most [`MAX_REPORTED_ERRORS`] problems).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct EventError {
    /// The problems, in the order found.
    pub errors: Vec<FieldError>,
}

/// How many problems one event reports at most; past that, the event is clearly not ours.
pub const MAX_REPORTED_ERRORS: usize = 16;

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "`{}`: {}", self.path, self.message)
        }
    }
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}
