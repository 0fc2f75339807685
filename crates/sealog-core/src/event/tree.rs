//! An event's JSON parsed once, into a tree that borrows from the text it was parsed from.
//!
//! This is the one pass of ingest: the strict parser of [`jcs`] reads the text once, into
//! [`Node`]s whose strings point into the text wherever the text has no escape; validation
//! reads the tree; the canonical bytes are written from it. There is no `serde_json::Value`
//! on the way and no second parse: a `Value` would allocate every string and every map node.
//!
//! The parser is serde_json's own tokenizer driven by a visitor, so its refusals are those of
//! [`jcs::parse_strict`] word for word, line and column included: the same tokenizer, the
//! same duplicate-key check at the same place, the same end-of-input check. Objects keep their
//! members sorted by their keys' bytes, the order of a `serde_json::Map`, so the validation
//! walk visits (and reports) members in the order it always did.

use crate::jcs;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

/// A JSON value borrowed from its text where it can be.
#[derive(Debug)]
pub(super) enum Node<'a> {
    Null,
    Bool(bool),
    Number(Number),
    /// A string, and whether it is plain: borrowed from JSON text without escapes, so it holds
    /// no quote, backslash or control character (the parser refuses raw ones in a string)
    /// and its canonical form is itself between quotes.
    String(Cow<'a, str>, bool),
    Array(Vec<Node<'a>>),
    Object(Obj<'a>),
}

/// An object's members, sorted by the bytes of their keys (which are unique).
#[derive(Debug, Default)]
pub(super) struct Obj<'a> {
    members: Vec<(Cow<'a, str>, Node<'a>)>,
}

static NULL: Node<'static> = Node::Null;

impl<'a> Node<'a> {
    /// Borrows a parsed `Value` as a tree, for the callers that build their events as values.
    pub fn from_value(value: &'a Value) -> Node<'a> {
        match value {
            Value::Null => Node::Null,
            Value::Bool(b) => Node::Bool(*b),
            Value::Number(n) => Node::Number(n.clone()),
            Value::String(s) => Node::String(Cow::Borrowed(s), false),
            Value::Array(items) => Node::Array(items.iter().map(Node::from_value).collect()),
            // A `Map` iterates in key order already.
            Value::Object(map) => Node::Object(Obj {
                members: map
                    .iter()
                    .map(|(k, v)| (Cow::Borrowed(k.as_str()), Node::from_value(v)))
                    .collect(),
            }),
        }
    }

    /// An owned copy, for the free-form parts of the typed event.
    pub fn to_value(&self) -> Value {
        match self {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Number(n) => Value::Number(n.clone()),
            Node::String(s, _) => Value::String(s.as_ref().to_owned()),
            Node::Array(items) => Value::Array(items.iter().map(Node::to_value).collect()),
            Node::Object(obj) => Value::Object(obj.to_map()),
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Node::Null)
    }

    /// As `Value::as_u64`.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Node::Number(n) => n.as_u64(),
            _ => None,
        }
    }

    /// As `Value::as_f64`.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Node::Number(n) => n.as_f64(),
            _ => None,
        }
    }

    /// As `Value::is_f64`.
    pub fn is_f64(&self) -> bool {
        matches!(self, Node::Number(n) if n.is_f64())
    }

    /// Appends the RFC 8785 canonical bytes of this value to `out`, with the number and
    /// string writers of [`jcs`].
    pub fn write_canonical(&self, out: &mut Vec<u8>) {
        match self {
            Node::Null => out.extend_from_slice(b"null"),
            Node::Bool(true) => out.extend_from_slice(b"true"),
            Node::Bool(false) => out.extend_from_slice(b"false"),
            Node::Number(n) => jcs::write_number(n, out),
            Node::String(s, true) => {
                out.push(b'"');
                out.extend_from_slice(s.as_bytes());
                out.push(b'"');
            }
            Node::String(s, false) => jcs::write_string(s, out),
            Node::Array(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    item.write_canonical(out);
                }
                out.push(b']');
            }
            Node::Object(obj) => obj.write_canonical(out),
        }
    }
}

impl<'a> Obj<'a> {
    /// The member named `key`.
    pub fn get(&self, key: &str) -> Option<&Node<'a>> {
        // An event's objects are small: a scan that compares lengths first beats a binary
        // search, whose every step compares bytes.
        if self.members.len() <= 12 {
            return self
                .members
                .iter()
                .find(|(k, _)| k.len() == key.len() && k == key)
                .map(|(_, v)| v);
        }
        self.members
            .binary_search_by(|(k, _)| k.as_ref().cmp(key))
            .ok()
            .map(|at| &self.members[at].1)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.members.iter().map(|(k, _)| k.as_ref())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Node<'a>)> {
        self.members.iter().map(|(k, v)| (k.as_ref(), v))
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// An owned copy.
    pub fn to_map(&self) -> Map<String, Value> {
        self.iter()
            .map(|(k, v)| (k.to_owned(), v.to_value()))
            .collect()
    }

    fn write_canonical(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        let mut write = |i: usize, key: &str, value: &Node| {
            if i > 0 {
                out.push(b',');
            }
            jcs::write_string(key, out);
            out.push(b':');
            value.write_canonical(out);
        };
        // Byte order is UTF-16 order for ASCII keys, the common case; otherwise sort again.
        if self.keys().all(str::is_ascii) {
            for (i, (key, value)) in self.iter().enumerate() {
                write(i, key, value);
            }
        } else {
            let mut members: Vec<(&str, &Node)> = self.iter().collect();
            members.sort_unstable_by(|a, b| jcs::utf16_cmp(a.0, b.0));
            for (i, (key, value)) in members.into_iter().enumerate() {
                write(i, key, value);
            }
        }
        out.push(b'}');
    }
}

impl<'a> std::ops::Index<&str> for Obj<'a> {
    type Output = Node<'a>;

    /// The member named `key`, or `null` (as indexing a `serde_json::Map` does).
    fn index(&self, key: &str) -> &Node<'a> {
        self.get(key).unwrap_or(&NULL)
    }
}

/// Parses JSON text strictly, as [`jcs::parse_strict`] does and with the same errors, into a
/// tree borrowing from `text`.
pub(super) fn parse_strict(text: &[u8]) -> Result<Node<'_>, jcs::JcsError> {
    let mut de = serde_json::Deserializer::from_slice(text);
    let node = NodeSeed.deserialize(&mut de)?;
    de.end()?;
    Ok(node)
}

struct NodeSeed;

impl<'de> DeserializeSeed<'de> for NodeSeed {
    type Value = Node<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Node<'de>, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Node<'de>, E> {
        Ok(Node::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Node<'de>, E> {
        Ok(Node::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Node<'de>, E> {
        Ok(Node::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node<'de>, E> {
        Number::from_f64(v)
            .map(Node::Number)
            .ok_or_else(|| E::custom("numbers must be finite"))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Node<'de>, E> {
        Ok(Node::String(Cow::Borrowed(v), true))
    }

    fn visit_str<E>(self, v: &str) -> Result<Node<'de>, E> {
        Ok(Node::String(Cow::Owned(v.to_owned()), false))
    }

    fn visit_string<E>(self, v: String) -> Result<Node<'de>, E> {
        Ok(Node::String(Cow::Owned(v), false))
    }

    fn visit_unit<E>(self) -> Result<Node<'de>, E> {
        Ok(Node::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node<'de>, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(NodeSeed)? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node<'de>, A::Error> {
        /// Past this many members, duplicates are looked up in a set, not by a scan.
        const SCAN: usize = 16;
        let mut members: Vec<(Cow<'de, str>, Node<'de>)> = Vec::new();
        let mut seen: HashSet<Cow<'de, str>> = HashSet::new();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let duplicate = if members.len() < SCAN {
                members.iter().any(|(k, _)| *k == key)
            } else {
                if seen.is_empty() {
                    seen.extend(members.iter().map(|(k, _)| k.clone()));
                }
                !seen.insert(key.clone())
            };
            if duplicate {
                return Err(de::Error::custom(format_args!(
                    "duplicate key {}",
                    jcs::string_literal(&key)
                )));
            }
            let value = map.next_value_seed(NodeSeed)?;
            members.push((key, value));
        }
        if !members.is_sorted_by(|a, b| a.0 <= b.0) {
            members.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        }
        Ok(Node::Object(Obj { members }))
    }
}

/// A member name, borrowed from the text unless it has escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}
