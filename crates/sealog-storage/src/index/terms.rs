//! Search terms: the words of an event that `?q=` finds, and how a search string becomes them.
//!
//! Each indexed value of an event becomes terms: `field:value` (found by `tool:search_web`),
//! `*:value` (found by a bare `search_web`, whatever field holds it) and, for a value of several
//! words, `*:word` for each word (a bare `bot` finds the agent named `Support Bot`). Terms are
//! lowercased, so search ignores case; they are interned like agents and sessions and get one
//! posting list per applied batch, so a search reads the posting lists of its terms, never the
//! whole log.
//!
//! The agent id, session, action and status are not terms: the index already has them (posting
//! lists and zone maps), so search words naming them become the exact filters. Indexing them
//! twice cost more CPU and disk than all the other terms together (session ids are as many as
//! the sessions).
//!
//! What is indexed is bounded per event ([`MAX_TERMS`], [`MAX_VALUE_BYTES`]), because the index
//! shares the CPU with ingest and a client controls the event: values past the bounds are not
//! searchable, and the event is still found by its other terms and by the exact filters.

use super::Query;
use serde::Deserialize;
use std::borrow::Cow;

/// The fields a search word can name as terms, besides `attr.<key>` (a top-level attribute).
/// `name` is the agent's name.
pub const SEARCH_FIELDS: [&str; 10] = [
    "name", "tool", "model", "provider", "reason", "outcome", "check", "flag", "reviewer",
    "subject",
];

/// The fields a search word sets as the exact filters of the query (compared as recorded, case
/// included): the agent id, session, action and status.
pub const EXACT_FIELDS: [&str; 4] = ["agent", "session", "action", "status"];

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
#[derive(Debug, PartialEq)]
pub(super) enum AttrValue<'a> {
    /// A string.
    Text(Cow<'a, str>),
    /// A number, as its canonical JSON text.
    Number(String),
    /// A boolean.
    Bool(bool),
    /// An object, array or null: not indexed.
    Other,
}

/// The event's attributes, in the leaf's (canonical, so sorted) key order.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Attributes<'a>(Vec<(Cow<'a, str>, AttrValue<'a>)>);

/// Read with visitors rather than `#[serde(untagged)]`, which buffers every value first: the
/// indexer reads the attributes of every event.
impl<'de: 'a, 'a> Deserialize<'de> for AttrValue<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visit<'a> {
            type Value = AttrValue<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(AttrValue::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(AttrValue::Text(Cow::Owned(v.to_owned())))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
                Ok(AttrValue::Bool(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(AttrValue::Number(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(AttrValue::Number(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
                let n = serde_json::Number::from_f64(v);
                Ok(n.map_or(AttrValue::Other, |n| AttrValue::Number(n.to_string())))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(AttrValue::Other)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Self::Value, A::Error> {
                while a.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(AttrValue::Other)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Self::Value, A::Error> {
                while a
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(AttrValue::Other)
            }
        }
        d.deserialize_any(Visit(std::marker::PhantomData))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Attributes<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visit<'a> {
            type Value = Attributes<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                // A key is read as a value so that it borrows from the leaf when it can.
                while let Some((key, value)) = a.next_entry::<AttrValue<'a>, AttrValue<'a>>()? {
                    if let AttrValue::Text(key) = key {
                        out.push((key, value));
                    }
                }
                Ok(Attributes(out))
            }
        }
        d.deserialize_map(Visit(std::marker::PhantomData))
    }
}

/// An event's terms, lowercased, at most [`MAX_TERMS`].
///
/// Kept in one buffer because the indexer builds a dozen of them per event at ingest rates:
/// one string per term cost more than parsing the leaf.
#[derive(Default, Debug, PartialEq)]
pub(super) struct TermSet {
    text: String,
    ends: Vec<usize>,
    /// The value being added, lowercased (reused between values).
    lower: String,
}

impl TermSet {
    /// Adds `field:value`, `*:value` and, for a value of several words, `*:word` for each,
    /// if `value` is short enough and while room is left.
    pub fn add(&mut self, field: &str, value: &str) {
        if value.is_empty() || value.len() > MAX_VALUE_BYTES {
            return;
        }
        let mut lower = std::mem::take(&mut self.lower);
        lower.clear();
        lowercase_into(&mut lower, value);
        self.push(field, &lower);
        self.push("*", &lower);
        if lower.contains(char::is_whitespace) {
            lower.split_whitespace().for_each(|w| self.push("*", w));
        }
        self.lower = lower;
    }

    /// Appends `field:value` unless the set is full. A repeated term (one value in two fields
    /// makes `*:value` twice) is kept: the posting list it goes to drops the repeat in O(1),
    /// where looking for it here cost more than the rest of the term.
    fn push(&mut self, field: &str, value: &str) {
        if self.ends.len() == MAX_TERMS {
            return;
        }
        if self.ends.is_empty() {
            self.text.reserve(256);
        }
        self.text.push_str(field);
        self.text.push(':');
        self.text.push_str(value);
        self.ends.push(self.text.len());
    }

    /// Adds the data subject's pseudo id of `context`. Called first, so that the term is there
    /// whatever else the event holds: subject access finds a subject's entries by it.
    pub fn add_subject(&mut self, c: &ContextView<'_>) {
        if let Some(pseudo_id) = c.subject.as_ref().and_then(|s| s.pseudo_id.as_deref()) {
            self.add("subject", pseudo_id);
        }
    }

    /// Adds the searched parts of `context` but the subject ([`TermSet::add_subject`]).
    pub fn add_context(&mut self, c: &ContextView<'_>) {
        let single = [
            ("tool", c.tool.as_ref().and_then(|t| t.name.as_deref())),
            ("model", c.model.as_ref().and_then(|m| m.id.as_deref())),
            (
                "provider",
                c.model.as_ref().and_then(|m| m.provider.as_deref()),
            ),
            (
                "outcome",
                c.decision.as_ref().and_then(|d| d.outcome.as_deref()),
            ),
            (
                "reviewer",
                c.oversight.as_ref().and_then(|o| o.reviewer.as_deref()),
            ),
        ];
        let mut pairs: Vec<(&str, &str)> = single
            .into_iter()
            .filter_map(|(f, v)| Some((f, v?)))
            .collect();
        let codes = c
            .decision
            .iter()
            .flat_map(|d| d.reason_codes.iter().flatten());
        pairs.extend(codes.map(|r| ("reason", r.as_ref())));
        let fired = c.checks.iter().flatten().filter(|k| k.fired == Some(true));
        pairs.extend(fired.filter_map(|k| Some(("check", k.name.as_deref()?))));
        let flags = c
            .metrics
            .iter()
            .flat_map(|m| m.anomaly_flags.iter().flatten());
        pairs.extend(flags.map(|f| ("flag", f.as_ref())));
        for (field, value) in pairs {
            self.add(field, value);
        }
    }

    /// Adds the scalar top-level attributes as `attr.<key>:<value>`.
    pub fn add_attributes(&mut self, attributes: &Attributes<'_>) {
        let mut field = String::new();
        for (key, value) in &attributes.0 {
            let text = match value {
                AttrValue::Text(s) => s.as_ref(),
                AttrValue::Number(n) => n,
                AttrValue::Bool(b) => {
                    if *b {
                        "true"
                    } else {
                        "false"
                    }
                }
                AttrValue::Other => continue,
            };
            if key.len() <= MAX_VALUE_BYTES {
                field.clear();
                field.push_str("attr.");
                lowercase_into(&mut field, key);
                self.add(&field, text);
            }
        }
    }

    /// The terms, in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts.zip(&self.ends).map(|(a, &b)| &self.text[a..b])
    }
}

/// Appends `value` lowercased to `out`, without the Unicode tables when it is ASCII.
fn lowercase_into(out: &mut String, value: &str) {
    if value.is_ascii() {
        let start = out.len();
        out.push_str(value);
        out[start..].make_ascii_lowercase();
    } else {
        out.push_str(&value.to_lowercase());
    }
}

fn term(field: &str, value: &str) -> String {
    format!("{field}:{value}")
}

/// A search string that cannot be used, with what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SearchError(String);

impl Query {
    /// This query narrowed by a search string: every word must hold.
    ///
    /// Words are separated by spaces and double quotes keep spaces inside a value
    /// (`tool:"web search"`). `field:value` with a field of [`SEARCH_FIELDS`] or `attr.<key>`
    /// matches that field's whole value, case ignored; with a field of [`EXACT_FIELDS`] it sets
    /// that exact filter (`status:error` is `status = "error"`); a bare `value` matches the
    /// whole value of any searched field or one of its space-separated words. A word whose part
    /// before the first colon is not a field is a bare value (`https://example.com`).
    pub fn with_search(mut self, q: &str) -> Result<Query, SearchError> {
        let words = split_words(q)?;
        if words.is_empty() {
            return Err(SearchError(
                "the search is empty; give words such as tool:search_web or status:error".into(),
            ));
        }
        if words.len() > MAX_QUERY_TERMS {
            return Err(SearchError(format!(
                "a search holds at most {MAX_QUERY_TERMS} words; narrow it with the exact filters"
            )));
        }
        for word in &words {
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
            match self.exact_filter(&field) {
                Some(slot) => set_exact(slot, &field, value)?,
                None => {
                    let t = term(&field, &value.to_lowercase());
                    if !self.terms.contains(&t) {
                        self.terms.push(t);
                    }
                }
            }
        }
        Ok(self)
    }

    /// This query narrowed to events whose `context.subject.pseudo_id` is `pseudo_id`, case
    /// ignored (the caller compares the case); `None` if a pseudo id that long is not indexed
    /// (over [`MAX_VALUE_BYTES`]). Unlike a search word, any text is taken as it is.
    pub fn with_subject(mut self, pseudo_id: &str) -> Option<Query> {
        if pseudo_id.is_empty() || pseudo_id.len() > MAX_VALUE_BYTES {
            return None;
        }
        let mut lower = String::new();
        lowercase_into(&mut lower, pseudo_id);
        let t = term("subject", &lower);
        if !self.terms.contains(&t) {
            self.terms.push(t);
        }
        Some(self)
    }

    /// The exact filter a search field names, if it names one.
    fn exact_filter(&mut self, field: &str) -> Option<&mut Option<String>> {
        match field {
            "agent" => Some(&mut self.agent),
            "session" => Some(&mut self.session),
            "action" => Some(&mut self.action),
            "status" => Some(&mut self.status),
            _ => None,
        }
    }
}

/// Sets an exact filter from a search word, refusing two different values for one field.
fn set_exact(slot: &mut Option<String>, field: &str, value: &str) -> Result<(), SearchError> {
    match slot {
        Some(have) if have != value => Err(SearchError(format!(
            "the search says {field}:{value} but the query already asks for {field} = {have:?}; \
             an event has one {field}, so keep one of them"
        ))),
        _ => {
            *slot = Some(value.to_owned());
            Ok(())
        }
    }
}

fn is_field(f: &str) -> bool {
    let f = f.to_lowercase();
    let named = SEARCH_FIELDS.contains(&f.as_str()) || EXACT_FIELDS.contains(&f.as_str());
    named || f.strip_prefix("attr.").is_some_and(|k| !k.is_empty())
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

    fn search(q: &str) -> Result<Query, SearchError> {
        Query::default().with_search(q)
    }

    #[test]
    fn a_search_becomes_terms_and_exact_filters() {
        let q = search(r#"Tool:"Web Search"  blocked https://x.example/a Status:Error"#).unwrap();
        assert_eq!(
            q.terms,
            ["tool:web search", "*:blocked", "*:https://x.example/a"]
        );
        assert_eq!(q.status.as_deref(), Some("Error"));
        let q = search("attr.Customer:42 name:bot name:BOT agent:a-1").unwrap();
        assert_eq!(q.terms, ["attr.customer:42", "name:bot"]);
        assert_eq!(q.agent.as_deref(), Some("a-1"));
    }

    #[test]
    fn bad_searches_say_what_to_change() {
        for (q, says) in [
            ("", "empty"),
            ("tool:", "no value"),
            ("\"open", "not closed"),
            ("a b c d e f g h i", "at most 8"),
            ("status:ok status:error", "keep one of them"),
        ] {
            let e = search(q).unwrap_err().to_string();
            assert!(e.contains(says), "{q:?}: {e}");
        }
        let long = format!("tool:{}", "x".repeat(MAX_VALUE_BYTES + 1));
        assert!(search(&long).is_err());
        let agent = Query {
            agent: Some("a".into()),
            ..Query::default()
        };
        assert!(agent.clone().with_search("agent:a").is_ok());
        assert!(agent.with_search("agent:b").is_err());
    }

    #[test]
    fn terms_are_bounded_and_lowercased() {
        let mut t = TermSet::default();
        t.add("tool", "Search");
        t.add("model", "search");
        t.add("tool", &"x".repeat(MAX_VALUE_BYTES + 1));
        assert_eq!(
            t.iter().collect::<Vec<_>>(),
            ["tool:search", "*:search", "model:search", "*:search"]
        );
        let mut t = TermSet::default();
        (0..100).for_each(|i| t.add("reason", &format!("r{i}")));
        assert_eq!(t.iter().count(), MAX_TERMS);
    }
}
