//! What the index reads from a leaf: only the fields it indexes.
//!
//! Leaves passed event validation before they were logged, so the fast path is a borrowed
//! serde view that skips everything else. The log is the truth and the index must never refuse
//! to advance, so a leaf the view cannot read (a field of an unexpected type, or not JSON at all)
//! falls back to a generic parse that keeps whatever fields are readable, and a missing field is
//! simply not indexed.

use super::terms::{Attributes, ContextView, TermSet};
use serde::Deserialize;
use serde_json::Value;
use std::borrow::Cow;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The indexed fields of one leaf.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Entry<'a> {
    pub id: Option<u128>,
    pub ts: Option<i64>,
    pub agent: Option<Cow<'a, str>>,
    pub action: Option<Cow<'a, str>>,
    pub status: Option<Cow<'a, str>>,
    pub session: Option<Cow<'a, str>>,
    pub seq: Option<i64>,
    /// Search terms (module `terms`).
    pub terms: TermSet,
}

#[derive(Deserialize)]
struct LeafView<'a> {
    #[serde(borrow)]
    event: Option<EventView<'a>>,
}

#[derive(Deserialize)]
struct EventView<'a> {
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    ts: Option<Cow<'a, str>>,
    #[serde(borrow)]
    agent: Option<IdView<'a>>,
    #[serde(borrow)]
    action: Option<Cow<'a, str>>,
    #[serde(borrow)]
    status: Option<Cow<'a, str>>,
    #[serde(borrow)]
    session: Option<SessionView<'a>>,
    #[serde(borrow)]
    context: Option<ContextView<'a>>,
    #[serde(borrow)]
    attributes: Option<Attributes<'a>>,
}

#[derive(Deserialize)]
struct IdView<'a> {
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct SessionView<'a> {
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    seq: Option<u64>,
}

/// Reads the indexed fields of a leaf; never fails.
pub(super) fn parse(leaf: &[u8]) -> Entry<'_> {
    match serde_json::from_slice::<LeafView>(leaf) {
        Ok(view) => view.event.map(from_view).unwrap_or_default(),
        Err(_) => serde_json::from_slice::<Value>(leaf)
            .map(|v| from_value(&v))
            .unwrap_or_default(),
    }
}

fn from_view(e: EventView<'_>) -> Entry<'_> {
    let (session, seq) = match e.session {
        Some(s) => (s.id, s.seq),
        None => (None, None),
    };
    let (agent, agent_name) = match e.agent {
        Some(a) => (a.id, a.name),
        None => (None, None),
    };
    Entry {
        id: e.id.as_deref().and_then(parse_id),
        ts: e.ts.as_deref().and_then(parse_ts),
        agent,
        action: e.action,
        status: e.status,
        session,
        seq: seq.and_then(|s| i64::try_from(s).ok()),
        terms: terms(
            agent_name.as_deref(),
            e.context.as_ref(),
            e.attributes.as_ref(),
        ),
    }
}

fn from_value(leaf: &Value) -> Entry<'static> {
    let event = &leaf["event"];
    let text = |v: &Value| v.as_str().map(|s| Cow::Owned(s.to_owned()));
    // Each part that cannot be read loses only its own terms.
    let context = ContextView::deserialize(&event["context"]).ok();
    let attributes = Attributes::deserialize(&event["attributes"]).ok();
    Entry {
        id: event["id"].as_str().and_then(parse_id),
        ts: event["ts"].as_str().and_then(parse_ts),
        agent: text(&event["agent"]["id"]),
        action: text(&event["action"]),
        status: text(&event["status"]),
        session: text(&event["session"]["id"]),
        seq: event["session"]["seq"].as_i64().filter(|s| *s >= 0),
        terms: terms(
            event["agent"]["name"].as_str(),
            context.as_ref(),
            attributes.as_ref(),
        ),
    }
}

/// The search terms of an event: its subject, its agent's name, then the rest of its context,
/// then its attributes.
fn terms(
    agent_name: Option<&str>,
    context: Option<&ContextView<'_>>,
    attributes: Option<&Attributes<'_>>,
) -> TermSet {
    let mut set = TermSet::default();
    context.into_iter().for_each(|c| set.add_subject(c));
    agent_name.into_iter().for_each(|v| set.add("name", v));
    context.into_iter().for_each(|c| set.add_context(c));
    attributes.into_iter().for_each(|a| set.add_attributes(a));
    set
}

/// An event id as the engine passes it to `lookup_ids`: the UUID's 128 bits, big-endian.
fn parse_id(s: &str) -> Option<u128> {
    uuid::Uuid::try_parse(s).ok().map(|u| u.as_u128())
}

/// Parses an RFC 3339 time into microseconds since the Unix epoch, as the index stores `ts`.
///
/// Query bounds (`since`, `until`) should be parsed with this same function so that they
/// compare exactly like the indexed times. Returns `None` for text that is not RFC 3339.
pub fn parse_ts(s: &str) -> Option<i64> {
    let t = OffsetDateTime::parse(s, &Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos().div_euclid(1000)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0190c3e2-6f4a-7b3c-8d2e-1f0a9b8c7d6e";

    #[test]
    fn reads_the_indexed_fields() {
        let leaf = format!(
            r#"{{"event":{{"action":"tool_call","agent":{{"id":"a\u00e9","name":"x"}},"id":"{ID}","input":{{"content":[1,{{"k":"v"}}]}},"session":{{"id":"s1","seq":3}},"status":"ok","ts":"2026-11-22T14:03:28.123456Z"}},"log":"l","received":"2026-11-22T14:03:28.5Z","v":1}}"#
        );
        let e = parse(leaf.as_bytes());
        assert_eq!(e.id, Some(uuid::Uuid::parse_str(ID).unwrap().as_u128()));
        assert_eq!(e.ts, Some(1_795_356_208_123_456));
        assert_eq!(e.agent.as_deref(), Some("aé"));
        assert_eq!(e.action.as_deref(), Some("tool_call"));
        assert_eq!(e.status.as_deref(), Some("ok"));
        assert_eq!((e.session.as_deref(), e.seq), (Some("s1"), Some(3)));
    }

    #[test]
    fn a_field_of_the_wrong_type_loses_only_that_field() {
        let leaf = format!(
            r#"{{"event":{{"agent":"flat","id":"{ID}","session":{{"id":"s","seq":-1}},"status":7}}}}"#
        );
        let e = parse(leaf.as_bytes());
        assert!(e.id.is_some());
        assert_eq!((e.agent, e.status, e.seq), (None, None, None));
        assert_eq!(e.session.as_deref(), Some("s"));
    }

    #[test]
    fn garbage_yields_an_empty_entry() {
        assert_eq!(parse(b"not json"), Entry::default());
        assert_eq!(
            parse(br#"{"event":{"ts":"yesterday","id":"nope"}}"#),
            Entry::default()
        );
    }

    #[test]
    fn times_with_offsets_are_the_same_instant() {
        assert_eq!(
            parse_ts("2026-11-22T15:03:28.1+01:00"),
            parse_ts("2026-11-22T14:03:28.100Z")
        );
        assert_eq!(parse_ts("1969-12-31T23:59:59.999999Z"), Some(-1));
        assert_eq!(parse_ts("2026-11-22"), None);
    }
}
