//! Search terms: the words of an event that `?q=` finds, and how a search string becomes them.
//!
//! Each indexed value of an event becomes terms: `field:value` (found by `tool:search_web`),
//! `*:value` (found by a bare `search_web`, whatever field holds it) and, for a value of several
//! words, `*:word` for each word (a bare `bot` finds the agent named `Support Bot`). Terms are lowercased,
//! so search ignores case; they are interned like agents and sessions and get one posting list
//! per applied batch, so a search reads the posting lists of its terms, never the whole log.
//!
//! What is indexed is bounded per event ([`MAX_TERMS`], [`MAX_VALUE_BYTES`]), because the index
//! shares the CPU with ingest and a client controls the event: values past the bounds are not
//! searchable, and the event is still found by its other terms and by the exact filters.

use serde::Deserialize;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// The fields a search can name, besides `attr.<key>` (a top-level attribute).
pub const SEARCH_FIELDS: [&str; 13] = [
    "agent", "session", "action", "status", "tool", "model", "provider", "reason", "outcome",
    "check", "flag", "reviewer", "subject",
];

/// Terms indexed per event at most (fields first, then attributes in key order).
pub const MAX_TERMS: usize = 48;

/// Values longer than this (in bytes) are not indexed.
pub const MAX_VALUE_BYTES: usize = 128;

/// Terms a search string may hold at most.
pub const MAX_QUERY_TERMS: usize = 8;

/// The searched parts of an event's `context`, as the borrowed leaf view reads them.
#[derive(Deserialize, Default, Debug, PartialEq)]
pub(super) struct ContextView<'a> {
    #[serde(borrow)]
    tool: Option<Named<'a>>,
    #[serde(borrow)]
    model: Option<ModelView<'a>>,
    #[serde(borrow)]
    decision: Option<DecisionView<'a>>,
    #[serde(borrow)]
    checks: Option<Vec<CheckView<'a>>>,
    #[serde(borrow)]
    metrics: Option<MetricsView<'a>>,
    #[serde(borrow)]
    oversight: Option<OversightView<'a>>,
    #[serde(borrow)]
    subject: Option<SubjectView<'a>>,
}

#[derive(Deserialize, Debug, PartialEq)]
struct Named<'a> {
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Debug, PartialEq)]
struct ModelView<'a> {
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    provider: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Debug, PartialEq)]
struct DecisionView<'a> {
    #[serde(borrow)]
    outcome: Option<Cow<'a, str>>,
    #[serde(borrow)]
    reason_codes: Option<Vec<Cow<'a, str>>>,
}

#[derive(Deserialize, Debug, PartialEq)]
struct CheckView<'a> {
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    fired: Option<bool>,
}

#[derive(Deserialize, Debug, PartialEq)]
struct MetricsView<'a> {
    #[serde(borrow)]
    anomaly_flags: Option<Vec<Cow<'a, str>>>,
}

#[derive(Deserialize, Debug, PartialEq)]
struct OversightView<'a> {
    #[serde(borrow)]
    reviewer: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Debug, PartialEq)]
struct SubjectView<'a> {
    #[serde(borrow)]
    pseudo_id: Option<Cow<'a, str>>,
}

/// A top-level attribute value: scalars are searchable, anything else is skipped.
#[derive(Deserialize, Debug, PartialEq)]
#[serde(untagged)]
pub(super) enum AttrValue<'a> {
    /// A string.
    Text(#[serde(borrow)] Cow<'a, str>),
    /// A number, as written in the leaf.
    Number(serde_json::Number),
    /// A boolean.
    Bool(bool),
    /// An object, array or null: not indexed.
    Other(serde::de::IgnoredAny),
}

/// The event's attributes, in key order.
pub(super) type Attributes<'a> = BTreeMap<Cow<'a, str>, AttrValue<'a>>;

/// Collects an event's terms, lowercased, without repeats, at most [`MAX_TERMS`].
#[derive(Default)]
pub(super) struct TermSet(Vec<String>);

impl TermSet {
    /// Adds `field:value`, `*:value` and, for a value of several words, `*:word` for each,
    /// if `value` is short enough and while room is left.
    pub fn add(&mut self, field: &str, value: &str) {
        if value.is_empty() || value.len() > MAX_VALUE_BYTES {
            return;
        }
        let value = value.to_lowercase();
        let words = value.split_whitespace().filter(|w| *w != value);
        let terms = [term(field, &value), term("*", &value)];
        for term in terms.into_iter().chain(words.map(|w| term("*", w))) {
            if self.0.len() == MAX_TERMS {
                return;
            }
            if !self.0.contains(&term) {
                self.0.push(term);
            }
        }
    }

    /// Adds the searched parts of `context`.
    pub fn add_context(&mut self, c: &ContextView<'_>) {
        let one = |v: &Option<Cow<'_, str>>| v.as_deref().map(str::to_owned);
        let mut pairs: Vec<(&str, String)> = Vec::new();
        pairs.extend(
            c.tool
                .as_ref()
                .and_then(|t| one(&t.name))
                .map(|v| ("tool", v)),
        );
        if let Some(m) = &c.model {
            pairs.extend(one(&m.id).map(|v| ("model", v)));
            pairs.extend(one(&m.provider).map(|v| ("provider", v)));
        }
        if let Some(d) = &c.decision {
            pairs.extend(one(&d.outcome).map(|v| ("outcome", v)));
            let codes = d.reason_codes.iter().flatten();
            pairs.extend(codes.map(|r| ("reason", r.to_string())));
        }
        let fired = c.checks.iter().flatten().filter(|k| k.fired == Some(true));
        pairs.extend(fired.filter_map(|k| one(&k.name)).map(|v| ("check", v)));
        let flags = c
            .metrics
            .iter()
            .flat_map(|m| m.anomaly_flags.iter().flatten());
        pairs.extend(flags.map(|f| ("flag", f.to_string())));
        let reviewer = c.oversight.as_ref().and_then(|o| one(&o.reviewer));
        pairs.extend(reviewer.map(|v| ("reviewer", v)));
        let subject = c.subject.as_ref().and_then(|s| one(&s.pseudo_id));
        pairs.extend(subject.map(|v| ("subject", v)));
        for (field, value) in pairs {
            self.add(field, &value);
        }
    }

    /// Adds the scalar top-level attributes as `attr.<key>:<value>`.
    pub fn add_attributes(&mut self, attributes: &Attributes<'_>) {
        for (key, value) in attributes {
            let text = match value {
                AttrValue::Text(s) => Cow::Borrowed(s.as_ref()),
                AttrValue::Number(n) => Cow::Owned(n.to_string()),
                AttrValue::Bool(b) => Cow::Owned(b.to_string()),
                AttrValue::Other(_) => continue,
            };
            if key.len() <= MAX_VALUE_BYTES {
                self.add(&format!("attr.{}", key.to_lowercase()), &text);
            }
        }
    }

    /// The collected terms.
    pub fn into_vec(self) -> Vec<String> {
        self.0
    }
}

fn term(field: &str, value: &str) -> String {
    format!("{field}:{value}")
}

/// A search string that cannot be used, with what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SearchError(String);

/// Parses a search string into the terms it requires (all of them, AND).
///
/// Words are separated by spaces; `field:value` names a field (one of [`SEARCH_FIELDS`] or
/// `attr.<key>`) and matches its whole value, a bare `value` matches the whole value of any
/// field or one of its space-separated words, and double quotes keep spaces inside a
/// value (`tool:"web search"`). Case is ignored. A word whose part before the first colon is
/// not a field is a bare value (so `https://example.com` searches for that whole text).
pub fn parse_search(q: &str) -> Result<Vec<String>, SearchError> {
    let mut terms = Vec::new();
    for word in split_words(q)? {
        let (field, value) = match word.split_once(':') {
            Some((f, v)) if is_field(f) => (f.to_lowercase(), v),
            _ => ("*".to_owned(), word.as_str()),
        };
        if value.is_empty() {
            return Err(SearchError(format!(
                "`{word}` has no value after the colon; write {field}:VALUE"
            )));
        }
        if value.len() > MAX_VALUE_BYTES {
            return Err(SearchError(format!(
                "a search value is at most {MAX_VALUE_BYTES} bytes (longer values are not indexed)"
            )));
        }
        let t = term(&field, &value.to_lowercase());
        if !terms.contains(&t) {
            terms.push(t);
        }
    }
    if terms.is_empty() {
        return Err(SearchError(
            "the search is empty; give words such as tool:search_web or status:error".into(),
        ));
    }
    if terms.len() > MAX_QUERY_TERMS {
        return Err(SearchError(format!(
            "a search holds at most {MAX_QUERY_TERMS} words; narrow it with the exact filters"
        )));
    }
    Ok(terms)
}

fn is_field(f: &str) -> bool {
    let f = f.to_lowercase();
    SEARCH_FIELDS.contains(&f.as_str()) || f.strip_prefix("attr.").is_some_and(|k| !k.is_empty())
}

/// Splits on spaces outside double quotes; quotes are removed.
fn split_words(q: &str) -> Result<Vec<String>, SearchError> {
    let (mut words, mut word, mut quoted) = (Vec::new(), String::new(), false);
    for c in q.chars() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if quoted {
        return Err(SearchError(
            "a double quote in the search is not closed; close it or remove it".into(),
        ));
    }
    if !word.is_empty() {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_becomes_field_and_bare_terms() {
        assert_eq!(
            parse_search(r#"Tool:"Web Search"  blocked https://x.example/a"#).unwrap(),
            ["tool:web search", "*:blocked", "*:https://x.example/a"]
        );
        assert_eq!(
            parse_search("attr.Customer:42 status:error status:ERROR").unwrap(),
            ["attr.customer:42", "status:error"]
        );
    }

    #[test]
    fn bad_searches_say_what_to_change() {
        for (q, says) in [
            ("", "empty"),
            ("tool:", "no value"),
            ("\"open", "not closed"),
            ("a b c d e f g h i", "at most 8"),
        ] {
            let e = parse_search(q).unwrap_err().to_string();
            assert!(e.contains(says), "{q:?}: {e}");
        }
        let long = format!("tool:{}", "x".repeat(MAX_VALUE_BYTES + 1));
        assert!(parse_search(&long).is_err());
    }

    #[test]
    fn terms_are_bounded_lowercased_and_unique() {
        let mut t = TermSet::default();
        t.add("tool", "Search");
        t.add("model", "search");
        t.add("tool", &"x".repeat(MAX_VALUE_BYTES + 1));
        assert_eq!(t.into_vec(), ["tool:search", "*:search", "model:search"]);
        let mut t = TermSet::default();
        (0..100).for_each(|i| t.add("reason", &format!("r{i}")));
        assert_eq!(t.into_vec().len(), MAX_TERMS);
    }
}
