//! Field-level checks shared by the event and its context blocks. Each check records a
//! precise error and returns `None` on failure, so validation goes on and reports every
//! problem at once.

use super::tree::{Node, Obj};
use super::{FieldError, Limits, MAX_REPORTED_ERRORS};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Largest integer that survives canonical JSON exactly (RFC 8785 numbers are IEEE doubles).
pub(super) const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Collects the errors of one event.
pub(super) struct Checker<'l> {
    pub limits: &'l Limits,
    pub errors: Vec<FieldError>,
}

/// `parent.key`, or `key` at the top.
pub(super) fn join(path: &str, key: &str) -> String {
    // Not `format!`: this runs for every field of every event, and the formatting
    // machinery cost more than the rest of validation.
    let mut out = String::with_capacity(path.len() + key.len() + 1);
    out.push_str(path);
    if !path.is_empty() {
        out.push('.');
    }
    out.push_str(key);
    out
}

fn kind(value: &Node) -> &'static str {
    match value {
        Node::Null => "null",
        Node::Bool(_) => "a boolean",
        Node::Number(_) => "a number",
        Node::String(..) => "a string",
        Node::Array(_) => "an array",
        Node::Object(_) => "an object",
    }
}

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// A present, non-null value, or `None` (recording "is required" when it must be there).
fn present<'v, 'a>(
    cx: &mut Checker,
    path: &str,
    v: Option<&'v Node<'a>>,
    required: bool,
) -> Option<&'v Node<'a>> {
    match v {
        Some(Node::Null) | None => {
            if required {
                cx.error(path, "is required");
            }
            None
        }
        Some(v) => Some(v),
    }
}

impl Checker<'_> {
    /// Records a problem (up to the cap).
    pub fn error(&mut self, path: &str, message: impl Into<String>) {
        if self.errors.len() < MAX_REPORTED_ERRORS {
            self.errors.push(FieldError {
                path: path.to_owned(),
                message: message.into(),
            });
        }
    }

    /// An object whose keys are all in `allowed` (or, with `extensions`, start with `x-`).
    pub fn object<'v, 'a>(
        &mut self,
        path: &str,
        value: &'v Node<'a>,
        allowed: &[&str],
        extensions: bool,
    ) -> Option<&'v Obj<'a>> {
        let Node::Object(map) = value else {
            self.error(path, format!("must be an object, not {}", kind(value)));
            return None;
        };
        for key in map.keys() {
            let extension = extensions && key.starts_with("x-");
            if !extension && !allowed.contains(&key) {
                let ext = if extensions {
                    ", or an `x-` extension"
                } else {
                    ""
                };
                self.error(
                    &join(path, key),
                    format!(
                        "unknown field; expected one of: {}{ext}",
                        allowed.join(", ")
                    ),
                );
            }
        }
        Some(map)
    }

    /// An optional object member: absent and `null` are both `None`.
    pub fn member<'v, 'a>(
        &mut self,
        path: &str,
        map: &'v Obj<'a>,
        key: &str,
        required: bool,
    ) -> Option<&'v Node<'a>> {
        match map.get(key) {
            // The path is built only for the error: this runs for every field of every event.
            Some(Node::Null) | None => {
                if required {
                    self.error(&join(path, key), "is required");
                }
                None
            }
            Some(v) => Some(v),
        }
    }

    /// A string of any content within the string limit (the structure check enforces it).
    pub fn text(&mut self, path: &str, v: Option<&Node>, required: bool) -> Option<String> {
        match present(self, path, v, required)? {
            Node::String(s, _) => Some(s.as_ref().to_owned()),
            other => {
                self.error(path, format!("must be a string, not {}", kind(other)));
                None
            }
        }
    }

    /// An identifier: non-empty, short, no control characters.
    pub fn ident(&mut self, path: &str, v: Option<&Node>, required: bool) -> Option<String> {
        let s = self.text(path, v, required)?;
        let max = self.limits.max_ident_bytes;
        if s.is_empty() {
            self.error(path, "must not be empty");
        } else if s.len() > max {
            self.error(
                path,
                format!("must be at most {max} bytes long, not {}", s.len()),
            );
        } else if has_control(&s) {
            self.error(path, "must not contain control characters");
        } else {
            return Some(s);
        }
        None
    }

    /// A non-negative integer that canonical JSON represents exactly.
    pub fn uint(&mut self, path: &str, v: Option<&Node>, required: bool) -> Option<u64> {
        let v = present(self, path, v, required)?;
        match v.as_u64() {
            Some(n) if !v.is_f64() => (n <= MAX_SAFE_INTEGER).then_some(n), // else: `structure` reported it
            _ => {
                self.error(path, "must be a non-negative integer");
                None
            }
        }
    }

    /// A number in `[min, max]`.
    pub fn number(&mut self, path: &str, v: Option<&Node>, min: f64, max: f64) -> Option<f64> {
        let v = present(self, path, v, false)?;
        match v.as_f64() {
            Some(n) if (min..=max).contains(&n) => Some(n),
            Some(n) => {
                self.error(path, format!("must be between {min} and {max}, not {n}"));
                None
            }
            None => {
                self.error(path, format!("must be a number, not {}", kind(v)));
                None
            }
        }
    }

    /// A boolean.
    pub fn boolean(&mut self, path: &str, v: Option<&Node>) -> Option<bool> {
        match present(self, path, v, false)? {
            Node::Bool(b) => Some(*b),
            other => {
                self.error(path, format!("must be true or false, not {}", kind(other)));
                None
            }
        }
    }

    /// An array of identifiers.
    pub fn ident_list(&mut self, path: &str, v: Option<&Node>) -> Option<Vec<String>> {
        match present(self, path, v, false)? {
            Node::Array(items) => {
                let before = self.errors.len();
                let list: Vec<String> = items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, item)| self.ident(&format!("{path}[{i}]"), Some(item), true))
                    .collect();
                (self.errors.len() == before).then_some(list)
            }
            other => {
                self.error(
                    path,
                    format!("must be an array of strings, not {}", kind(other)),
                );
                None
            }
        }
    }

    /// An RFC 3339 time in UTC with a `Z` suffix; returns the text and nanoseconds since the
    /// Unix epoch.
    pub fn timestamp(
        &mut self,
        path: &str,
        v: Option<&Node>,
        required: bool,
    ) -> Option<(String, i128)> {
        let s = self.text(path, v, required)?;
        let parsed = OffsetDateTime::parse(&s, &Rfc3339).ok();
        match parsed {
            // RFC 3339 also allows a space or a lowercase `t`; the format is stricter.
            Some(t) if s.ends_with('Z') && s.as_bytes().get(10) == Some(&b'T') && s.len() <= 40 => {
                Some((s, t.unix_timestamp_nanos()))
            }
            _ => {
                self.error(
                    path,
                    "must be an RFC 3339 time in UTC ending in Z, such as 2026-11-22T14:03:28.123Z",
                );
                None
            }
        }
    }

    /// Lowercase hex of exactly `digits` digits, not all zero when `nonzero`.
    pub fn hex(
        &mut self,
        path: &str,
        v: Option<&Node>,
        required: bool,
        digits: usize,
        nonzero: bool,
    ) -> Option<String> {
        let s = self.text(path, v, required)?;
        let is_hex = s.len() == digits && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !is_hex {
            self.error(
                path,
                format!("must be {digits} lowercase hexadecimal digits"),
            );
        } else if nonzero && s.bytes().all(|b| b == b'0') {
            self.error(
                path,
                "must not be all zeros (an invalid id in W3C trace context)",
            );
        } else {
            return Some(s);
        }
        None
    }

    /// Checks sizes everywhere in `value`: nesting depth, array lengths, object sizes, string
    /// and key lengths, and integers that canonical JSON could not represent exactly.
    /// `path` is a scratch buffer holding the path of `value`; it is restored on return.
    pub fn structure(&mut self, path: &mut String, value: &Node, depth: usize) {
        let l = *self.limits;
        match value {
            Node::String(s, _) if s.len() > l.max_string_bytes => self.error(
                path,
                format!("string is {} bytes; the limit is {}", s.len(), l.max_string_bytes),
            ),
            Node::Number(n)
                if !n.is_f64()
                    && n.as_i64().is_none_or(|i| i.unsigned_abs() > MAX_SAFE_INTEGER) =>
            {
                self.error(
                    path,
                    format!("{n} is outside ±(2^53 - 1), the range canonical JSON keeps exact; send it as a string"),
                )
            }
            // A double from 2^53 up to 1e21 is written by canonical JSON as a plain integer,
            // which would then be refused above when the canonical bytes are read again.
            Node::Number(n)
                if n.as_f64().is_some_and(|f| {
                    n.is_f64() && f.abs() > MAX_SAFE_INTEGER as f64 && f.abs() < 1e21
                }) =>
            {
                self.error(
                    path,
                    format!("{n} is a whole number outside ±(2^53 - 1), the range canonical JSON keeps exact; send it as a string"),
                )
            }
            Node::Array(_) | Node::Object(_) if depth > l.max_depth => {
                self.error(path, format!("nesting is deeper than {} levels", l.max_depth))
            }
            Node::Array(items) => {
                if items.len() > l.max_array_len {
                    self.error(path, format!("array has {} elements; the limit is {}", items.len(), l.max_array_len));
                }
                let len = path.len();
                for (i, item) in items.iter().enumerate() {
                    path.push('[');
                    path.push_str(itoa::Buffer::new().format(i));
                    path.push(']');
                    self.structure(path, item, depth + 1);
                    path.truncate(len);
                }
            }
            Node::Object(map) => {
                if map.len() > l.max_object_members {
                    self.error(path, format!("object has {} members; the limit is {}", map.len(), l.max_object_members));
                }
                let len = path.len();
                for (key, item) in map.iter() {
                    if key.len() > l.max_ident_bytes {
                        self.error(path, format!("has a key of {} bytes; the limit is {}", key.len(), l.max_ident_bytes));
                    }
                    if len > 0 {
                        path.push('.');
                    }
                    path.push_str(key);
                    self.structure(path, item, depth + 1);
                    path.truncate(len);
                }
            }
            _ => {}
        }
    }
}
