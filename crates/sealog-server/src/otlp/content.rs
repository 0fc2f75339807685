//! Content stays private: which attributes hold content, how they become commitments under the
//! log's key (or, opted in, stay as they came), and redaction of secrets exporters carry.

use sealog_core::commitment::CommitmentKey;
use sealog_core::jcs;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// Which payload of the event content goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// What went in: prompts, system instructions, tool arguments.
    Input,
    /// What came out: completions, tool results, retrieved documents, error text.
    Output,
}

/// Attributes that hold content, whole keys or (ending in `.`) prefixes.
const INPUT: &[&str] = &[
    "gen_ai.input.messages",
    "gen_ai.system_instructions",
    "gen_ai.tool.call.arguments",
    "gen_ai.prompt",
    "gen_ai.prompt.",
    "input.value",
    "llm.input_messages.",
    "llm.prompts",
    "llm.prompts.",
    "llm.prompt_template.variables",
    "traceloop.entity.input",
    "embedding.embeddings.",
    "mcp.request.argument.",
];
const OUTPUT: &[&str] = &[
    "gen_ai.output.messages",
    "gen_ai.tool.call.result",
    "gen_ai.completion",
    "gen_ai.completion.",
    "output.value",
    "llm.output_messages.",
    "llm.completions",
    "llm.completions.",
    "traceloop.entity.output",
    "retrieval.documents.",
    "reranker.input_documents.",
    "reranker.output_documents.",
    "exception.message",
    "exception.stacktrace",
    "otel.status_message",
];

fn matches(key: &str, rules: &[&str]) -> bool {
    rules
        .iter()
        .any(|r| key == *r || (r.ends_with('.') && key.starts_with(r)))
}

/// Whether `key` holds content, and which side.
pub fn side_of(key: &str) -> Option<Side> {
    if matches(key, INPUT) {
        Some(Side::Input)
    } else if matches(key, OUTPUT) {
        Some(Side::Output)
    } else {
        None
    }
}

/// The content of one record, by side: attribute name → value.
#[derive(Default)]
pub struct Content {
    /// What went in.
    pub input: BTreeMap<String, Value>,
    /// What came out.
    pub output: BTreeMap<String, Value>,
}

impl Content {
    /// Adds `value` under `key` to `side`.
    pub fn add(&mut self, side: Side, key: String, value: Value) {
        match side {
            Side::Input => self.input.insert(key, value),
            Side::Output => self.output.insert(key, value),
        };
    }

    /// Adds every content attribute of `attrs`, taking them out.
    pub fn take_from(&mut self, attrs: &mut super::values::Attrs) {
        for (key, value) in attrs.take_where(|k| side_of(k).is_some()) {
            let side = side_of(&key).expect("only content keys were taken");
            self.add(side, key, value);
        }
    }
}

/// How content is recorded.
pub enum Keep<'a> {
    /// As a commitment under this key.
    Commit(&'a CommitmentKey),
    /// As it came (the log opted in), with secrets redacted.
    Plain,
}

/// The payload for one side's content, if it has any: a commitment to the canonical JSON of
/// the attribute object, or the object itself; with the redactions made to plain content.
pub fn payload(content: &BTreeMap<String, Value>, keep: &Keep) -> Option<(Value, Vec<String>)> {
    if content.is_empty() {
        return None;
    }
    let object: Map<String, Value> = content.clone().into_iter().collect();
    Some(match keep {
        Keep::Commit(key) => {
            let bytes = jcs::canonicalize(&Value::Object(object));
            let commitment = key.commit_bytes(&bytes);
            let payload = json!({
                "commitment": commitment.to_string(),
                "size": bytes.len(),
                "media_type": "application/json",
            });
            (payload, Vec::new())
        }
        Keep::Plain => {
            let mut value = Value::Object(object);
            let redacted = redact_tree(&mut value);
            let mut payload = json!({"content": value, "media_type": "application/json"});
            if !redacted.is_empty() {
                payload["redacted"] = json!(["secret"]);
            }
            (payload, redacted)
        }
    })
}

/// Header names (the last part of `….header.<name>`) and attribute names whose whole value is
/// a secret.
const SECRET_NAMES: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "api-key",
    "api_key",
    "apikey",
    "x-auth-token",
    "password",
    "secret",
    "token",
    "access_token",
    "client_secret",
];
/// URL query parameters whose value is a secret.
const SECRET_PARAMS: &[&str] = &[
    "key",
    "api_key",
    "apikey",
    "api-key",
    "token",
    "access_token",
    "secret",
    "client_secret",
    "password",
    "sig",
    "signature",
    "x-amz-signature",
    "x-amz-credential",
    "x-amz-security-token",
    "code",
];
/// What a redacted secret is replaced by.
pub const REDACTED: &str = "[redacted]";

/// Redacts secrets in attribute `key`'s value: the whole value when the key names a secret
/// (an `Authorization` header, an `api_key`), else secret parts of strings (URL credentials
/// and secret query parameters, bearer tokens, `sk-…` API keys). Says whether it changed.
pub fn redact(key: &str, value: &mut Value) -> bool {
    let last = key
        .rsplit(['.', '/'])
        .next()
        .unwrap_or(key)
        .to_ascii_lowercase();
    if SECRET_NAMES.contains(&last.as_str()) && *value != json!(REDACTED) {
        *value = json!(REDACTED);
        return true;
    }
    !redact_tree(value).is_empty()
}

/// Redacts secret parts of every string in `value`; returns the paths changed.
fn redact_tree(value: &mut Value) -> Vec<String> {
    let mut changed = Vec::new();
    walk(value, String::new(), &mut changed);
    changed
}

fn walk(value: &mut Value, path: String, changed: &mut Vec<String>) {
    match value {
        Value::String(s) => {
            if let Some(clean) = redact_str(s) {
                *s = clean;
                changed.push(path);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                walk(item, format!("{path}[{i}]"), changed);
            }
        }
        Value::Object(members) => {
            for (k, v) in members.iter_mut() {
                let at = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                if redact(k, v) {
                    changed.push(at);
                } else {
                    walk(v, at, changed);
                }
            }
        }
        _ => {}
    }
}

/// `s` with its secrets replaced, or `None` if it has none.
fn redact_str(s: &str) -> Option<String> {
    let mut out = redact_url(s).unwrap_or_else(|| s.to_owned());
    out = replace_after(&out, "Bearer ", 8);
    out = replace_after(&out, "sk-", 20);
    (out != s).then_some(out)
}

/// Replaces the token that follows each `marker` (letters, digits, `-`, `_`, `.`, at least
/// `min` of them) by [`REDACTED`].
fn replace_after(s: &str, marker: &str, min: usize) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find(marker) {
        let after = &rest[at + marker.len()..];
        let len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c)))
            .unwrap_or(after.len());
        out.push_str(&rest[..at + marker.len()]);
        if len >= min {
            out.push_str(REDACTED);
        } else {
            out.push_str(&after[..len]);
        }
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}

/// A URL with its credentials and secret query values replaced, if it had any.
fn redact_url(s: &str) -> Option<String> {
    let scheme_end = s.find("://")? + 3;
    let mut out = s.to_owned();
    let authority_end = s[scheme_end..]
        .find(['/', '?', '#'])
        .map_or(s.len(), |i| scheme_end + i);
    if let Some(at) = s[scheme_end..authority_end].rfind('@') {
        out.replace_range(scheme_end..scheme_end + at, REDACTED);
    }
    let Some(q) = out.find('?') else {
        return (out != s).then_some(out);
    };
    let (head, query) = out.split_at(q + 1);
    let (query, fragment) = query.split_at(query.find('#').unwrap_or(query.len()));
    let params: Vec<String> = query
        .split('&')
        .map(|p| match p.split_once('=') {
            Some((name, _)) if SECRET_PARAMS.contains(&name.to_ascii_lowercase().as_str()) => {
                format!("{name}={REDACTED}")
            }
            _ => p.to_owned(),
        })
        .collect();
    let rebuilt = format!("{head}{}{fragment}", params.join("&"));
    (rebuilt != s).then_some(rebuilt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_headers_urls_and_strings_are_redacted() {
        let mut auth = json!("Bearer abc");
        assert!(redact("http.request.header.authorization", &mut auth));
        assert_eq!(auth, json!(REDACTED));
        let mut url = json!("https://u:p@api.example/v1?key=s3cret&page=2#x");
        assert!(redact("url.full", &mut url));
        assert_eq!(
            url,
            json!("https://[redacted]@api.example/v1?key=[redacted]&page=2#x")
        );
        let mut text = json!(["token sk-abcdefghijklmnopqrstuvwxyz1234 here"]);
        assert!(redact("x", &mut text));
        assert_eq!(text, json!(["token sk-[redacted] here"]));
        let mut plain = json!("https://api.example/v1?page=2");
        assert!(!redact("url.full", &mut plain));
        assert!(!redact("gen_ai.usage.input_tokens", &mut json!(5)));
    }

    #[test]
    fn content_keys_are_sorted_into_sides() {
        assert_eq!(side_of("gen_ai.input.messages"), Some(Side::Input));
        assert_eq!(
            side_of("llm.input_messages.0.message.content"),
            Some(Side::Input)
        );
        assert_eq!(side_of("gen_ai.completion.0.content"), Some(Side::Output));
        assert_eq!(side_of("output.value"), Some(Side::Output));
        assert_eq!(side_of("gen_ai.request.model"), None);
        assert_eq!(side_of("input.mime_type"), None);
    }

    #[test]
    fn a_commitment_covers_the_canonical_attribute_object() {
        let key = CommitmentKey::new(&[7; 32]).unwrap();
        let content = BTreeMap::from([("input.value".to_owned(), json!("hi"))]);
        let (p, _) = payload(&content, &Keep::Commit(&key)).unwrap();
        let c: sealog_core::commitment::Commitment =
            p["commitment"].as_str().unwrap().parse().unwrap();
        assert!(key.check_json(&json!({"input.value": "hi"}), &c));
        assert_eq!(p["size"], json!(br#"{"input.value":"hi"}"#.len()));
    }
}
