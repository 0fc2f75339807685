//! RFC 8785 JSON Canonicalization Scheme (JCS), with a strict parser in front of it.
//!
//! Canonical bytes are what Sealog hashes and signs, so two programs must produce the same
//! bytes for the same value: numbers are formatted as ECMAScript does (RFC 8785 §3.2.2.3,
//! every number is an IEEE 754 double), object keys are sorted by their UTF-16 code units, and
//! strings use the minimal JSON escaping (no HTML escaping, no `\/`).
//!
//! Numbers are formatted by `ryu-js`, which implements ECMAScript's Number-to-String. The
//! rest is a short writer of our own: the general-purpose canonicalizer crates buffer and
//! re-parse every member name to sort it, which made canonicalization the largest cost of
//! ingest. The tests pin the writer to the RFC's examples and to Python's `rfc8785` on
//! thousands of generated documents.
//!
//! Parsing is ours too, because RFC 8785 §3.1 requires rejecting input that a lenient parser
//! accepts: duplicate object keys (serde_json keeps the last one silently), lone surrogates,
//! and NaN/Infinity (which JSON text cannot express; serde_json refuses them).
//!
//! ```
//! let canonical = sealog_core::jcs::canonicalize_json(br#"{"b": 1e21, "a": [1.50, "\u20ac"]}"#).unwrap();
//! assert_eq!(canonical, "{\"a\":[1.5,\"€\"],\"b\":1e+21}".as_bytes());
//! ```

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::fmt;

/// Why a document could not be parsed or canonicalized.
#[derive(Debug, thiserror::Error)]
pub enum JcsError {
    /// The text is not JSON that RFC 8785 accepts; the message names the line and column.
    #[error("invalid JSON: {0}")]
    Parse(#[from] serde_json::Error),
}

/// Parses JSON text strictly: the whole input must be one JSON value, valid UTF-8, with no
/// duplicate object keys and no lone surrogates. Errors carry the line and column.
pub fn parse_strict(text: &[u8]) -> Result<Value, JcsError> {
    let mut de = serde_json::Deserializer::from_slice(text);
    let StrictValue(value) = StrictValue::deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// Returns the RFC 8785 canonical bytes of `value`.
///
/// A [`Value`] cannot hold NaN or Infinity, so this cannot fail.
pub fn canonicalize(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write_canonical(value, &mut out);
    out
}

/// Appends the RFC 8785 canonical bytes of `value` to `out`.
pub fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => write_number(n, out),
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            out.push(b'{');
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            // serde_json's map is usually sorted by UTF-8 bytes, which differs from UTF-16
            // order only for characters at or above U+E000; sorting already-sorted input is
            // a single pass.
            members.sort_unstable_by(|a, b| utf16_cmp(a.0, b.0));
            for (i, (key, item)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(key, out);
                out.push(b':');
                write_canonical(item, out);
            }
            out.push(b'}');
        }
    }
}

/// Orders strings by their UTF-16 code units (RFC 8785 §3.2.3).
pub(crate) fn utf16_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    if a.is_ascii() && b.is_ascii() {
        a.cmp(b)
    } else {
        a.encode_utf16().cmp(b.encode_utf16())
    }
}

/// Every JSON number is an IEEE 754 double in RFC 8785; integers are converted first (with
/// round-to-nearest, as a JavaScript parser would) and formatted like any double.
pub(crate) fn write_number(n: &Number, out: &mut Vec<u8>) {
    // An integer of at most 2^53 in magnitude is a double exactly, and ECMAScript writes such
    // a double as its plain digits: the common case, and far
    // cheaper than the general algorithm.
    const EXACT: u64 = 1 << 53;
    if let Some(i) = n.as_i64().filter(|i| i.unsigned_abs() <= EXACT) {
        out.extend_from_slice(itoa::Buffer::new().format(i).as_bytes());
        return;
    }
    let f = n.as_f64().expect("serde_json numbers convert to f64");
    let mut buf = ryu_js::Buffer::new();
    out.extend_from_slice(buf.format_finite(f).as_bytes());
}

/// Writes a string with exactly the escapes of RFC 8785 §3.2.2.2: `\"`, `\\`, the five
/// short forms, and `\u00xx` (lowercase) for the other control characters.
pub(crate) fn write_string(s: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = s.as_bytes();
    // Most strings need no escape at all; finding that out first is a tighter loop.
    if bytes.iter().all(|&b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let short = match b {
            b'"' => b'"',
            b'\\' => b'\\',
            0x08 => b'b',
            0x0c => b'f',
            b'\n' => b'n',
            b'\r' => b'r',
            b'\t' => b't',
            0x00..=0x1f => 0,
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if short != 0 {
            out.extend_from_slice(&[b'\\', short]);
        } else {
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ]);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Parses `text` strictly and returns its canonical bytes.
pub fn canonicalize_json(text: &[u8]) -> Result<Vec<u8>, JcsError> {
    Ok(canonicalize(&parse_strict(text)?))
}

/// Returns the canonical JSON string literal for `s`, quotes included.
pub fn string_literal(s: &str) -> String {
    let bytes = canonicalize(&Value::String(s.to_owned()));
    String::from_utf8(bytes).expect("canonical JSON is UTF-8")
}

/// A `Value` whose deserialization rejects duplicate object keys.
struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("numbers must be finite"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(StrictValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(de::Error::custom(format_args!(
                    "duplicate key {}",
                    string_literal(&key)
                )));
            }
            let StrictValue(value) = map.next_value_seed(StrictSeed)?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

struct StrictSeed;

impl<'de> DeserializeSeed<'de> for StrictSeed {
    type Value = StrictValue;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<StrictValue, D::Error> {
        StrictValue::deserialize(deserializer)
    }
}
