//! The leaf: what the log stores and hashes for each accepted event (docs/DESIGN.md §2.2).
//!
//! The server wraps an accepted event as
//! `{"event":{…},"log":"<origin>","received":"<RFC 3339, µs, UTC>","v":1}` — the RFC 8785
//! canonical form, so the keys are in this order. The leaf bytes are stored and served byte
//! for byte and the leaf hash is `SHA-256(0x00 ‖ leaf bytes)`. Verifiers hash the stored
//! bytes; they never re-serialize.
//!
//! Building a leaf does not re-canonicalize the event: the event's canonical bytes are
//! spliced between the other members, which is both exact (a canonical object nested in a
//! canonical object stays canonical) and cheap on the ingest path.
//!
//! ```
//! use sealog_core::leaf;
//! let bytes = leaf::build("example.com/default", 1_700_000_000_123_456, br#"{"a":1}"#);
//! assert_eq!(
//!     std::str::from_utf8(&bytes).unwrap(),
//!     r#"{"event":{"a":1},"log":"example.com/default","received":"2023-11-14T22:13:20.123456Z","v":1}"#
//! );
//! let parsed = leaf::Leaf::parse(&bytes).unwrap();
//! assert_eq!(parsed.log, "example.com/default");
//! ```

use crate::jcs;
use crate::merkle::{self, Hash};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The leaf format version.
pub const VERSION: u64 = 1;

/// Formats a receive time, given in microseconds since the Unix epoch, as the leaf's
/// `received` string: RFC 3339, UTC, always six fractional digits.
///
/// Times outside years 0000–9999 cannot be written in RFC 3339 and are clamped; a server
/// clock that far off is a bug elsewhere, and the clamp keeps the leaf well-formed.
pub fn format_received(unix_micros: i64) -> String {
    let nanos = i128::from(unix_micros) * 1000;
    let t = OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let (date, time) = (t.date(), t.time());
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        date.year().clamp(0, 9999),
        u8::from(date.month()),
        date.day(),
        time.hour(),
        time.minute(),
        time.second(),
        time.microsecond()
    )
}

/// Builds the canonical leaf bytes for an event, given the log origin, the receive time in
/// microseconds since the Unix epoch, and the event's canonical (RFC 8785) bytes.
pub fn build(origin: &str, received_unix_micros: i64, event_canonical: &[u8]) -> Vec<u8> {
    let received = format_received(received_unix_micros);
    let mut out = Vec::with_capacity(event_canonical.len() + origin.len() + 64);
    out.extend_from_slice(b"{\"event\":");
    out.extend_from_slice(event_canonical);
    out.extend_from_slice(b",\"log\":");
    out.extend_from_slice(jcs::string_literal(origin).as_bytes());
    out.extend_from_slice(b",\"received\":\"");
    out.extend_from_slice(received.as_bytes());
    out.extend_from_slice(b"\",\"v\":1}");
    out
}

/// Whether `leaf_bytes` (a leaf made by [`build`]) holds exactly the event whose canonical
/// bytes are `event_canonical`: how a re-sent id is told apart from a different event reusing
/// it, without parsing the leaf.
pub fn holds_event(leaf_bytes: &[u8], event_canonical: &[u8]) -> bool {
    leaf_bytes
        .strip_prefix(b"{\"event\":")
        .and_then(|rest| rest.strip_prefix(event_canonical))
        .is_some_and(|rest| rest.starts_with(b",\"log\":"))
}

/// The leaf hash of leaf bytes: `SHA-256(0x00 ‖ bytes)`.
pub fn hash(leaf_bytes: &[u8]) -> Hash {
    merkle::leaf_hash(leaf_bytes)
}

/// A parsed leaf, for reading (reports, queries). Verification uses the bytes, not this.
#[derive(Debug, Clone, PartialEq)]
pub struct Leaf {
    /// The log origin the leaf was appended to.
    pub log: String,
    /// When the server received the event (RFC 3339, UTC).
    pub received: String,
    /// The receive time as a timestamp.
    pub received_at: OffsetDateTime,
    /// The event as recorded.
    pub event: Value,
}

/// Why leaf bytes are not a valid leaf.
#[derive(Debug, thiserror::Error)]
pub enum LeafError {
    /// Not strict JSON.
    #[error("leaf is not valid JSON: {0}")]
    Json(#[from] jcs::JcsError),
    /// Valid JSON, but not the leaf's shape.
    #[error("leaf {0}")]
    Shape(&'static str),
    /// The bytes are not in canonical form, so their hash is not the one a server would have
    /// computed for this content.
    #[error("leaf bytes are not in RFC 8785 canonical form")]
    NotCanonical,
}

impl Leaf {
    /// Parses leaf bytes strictly: canonical JSON with exactly the members `v` (1), `log`,
    /// `received` (RFC 3339) and `event` (an object).
    pub fn parse(bytes: &[u8]) -> Result<Leaf, LeafError> {
        let value = jcs::parse_strict(bytes)?;
        if jcs::canonicalize(&value) != bytes {
            return Err(LeafError::NotCanonical);
        }
        let Value::Object(mut map) = value else {
            return Err(LeafError::Shape("must be a JSON object"));
        };
        if map.len() != 4 {
            return Err(LeafError::Shape(
                "must have exactly the members event, log, received and v",
            ));
        }
        if map.get("v").and_then(Value::as_u64) != Some(VERSION) {
            return Err(LeafError::Shape(
                "has an unsupported version: `v` must be 1",
            ));
        }
        let Some(Value::String(log)) = map.remove("log") else {
            return Err(LeafError::Shape("`log` must be a string"));
        };
        let Some(Value::String(received)) = map.remove("received") else {
            return Err(LeafError::Shape("`received` must be a string"));
        };
        let received_at = OffsetDateTime::parse(&received, &Rfc3339)
            .map_err(|_| LeafError::Shape("`received` must be an RFC 3339 time"))?;
        let Some(event @ Value::Object(_)) = map.remove("event") else {
            return Err(LeafError::Shape("`event` must be an object"));
        };
        Ok(Leaf {
            log,
            received,
            received_at,
            event,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leaf_holds_its_own_event_and_no_other() {
        let event = br#"{"a":1}"#;
        let leaf = build("test/log", 0, event);
        assert!(holds_event(&leaf, event));
        // A different event, a prefix of it, and an event that merely starts the same way.
        assert!(!holds_event(&leaf, br#"{"a":2}"#));
        assert!(!holds_event(&leaf, br#"{"a":"#));
        let longer = build("test/log", 0, br#"{"a":1,"b":2}"#);
        assert!(!holds_event(&longer, event));
        assert!(!holds_event(b"", event));
    }
}
