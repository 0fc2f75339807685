//! A span as an event (spec/otlp-mapping.md §2).

use super::content::{Content, Side, side_of};
use super::ids::span_event_id;
use super::mapping::{self, Cx, Notes, refuse, rfc3339};
use super::values::{Attrs, object};
use crate::ingest::Parsed;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::trace::v1::{Span, span::SpanKind, status::StatusCode};
use sealog_core::hex;
use serde_json::{Map, Value, json};

/// A mapped span: whether it is AI work, its trace, and the event (or why there is none).
pub struct Mapped {
    /// Whether the span is AI work (it has an action of its own).
    pub ai: bool,
    /// Its trace id.
    pub trace_id: Vec<u8>,
    /// The event, or why the span was refused.
    pub parsed: Parsed,
}

/// Whether `id` is a valid W3C id of `len` bytes (not all zero).
pub fn valid_id(id: &[u8], len: usize) -> bool {
    id.len() == len && id.iter().any(|&b| b != 0)
}

/// The `trace` member for these ids, if the trace and span ids are valid.
pub fn trace(trace_id: &[u8], span_id: &[u8], parent: &[u8]) -> Option<Value> {
    if !valid_id(trace_id, 16) || !valid_id(span_id, 8) {
        return None;
    }
    let mut t = json!({"trace_id": hex::encode(trace_id), "span_id": hex::encode(span_id)});
    if valid_id(parent, 8) && parent != span_id {
        t["parent_span_id"] = json!(hex::encode(parent));
    }
    Some(t)
}

/// Maps `span` of `scope`, whose resource has the attributes `resource`.
pub fn map(span: &Span, scope: Option<&InstrumentationScope>, resource: &Attrs, cx: &Cx) -> Mapped {
    let mapped = |ai, parsed| Mapped {
        ai,
        trace_id: span.trace_id.clone(),
        parsed,
    };
    let Some(trace) = trace(&span.trace_id, &span.span_id, &span.parent_span_id) else {
        return mapped(
            false,
            refuse(
                "trace",
                "a span needs a 16-byte trace id and an 8-byte span id, not all zero",
            ),
        );
    };
    if span.start_time_unix_nano == 0 {
        return mapped(false, refuse("started", "the span has no start time"));
    }
    let start = span.start_time_unix_nano;
    let end = span.end_time_unix_nano.max(start);
    let (Some(started), Some(ts)) = (rfc3339(start), rfc3339(end)) else {
        return mapped(
            false,
            refuse("ts", "the span's times are outside years 0-9999"),
        );
    };
    let mut a = Attrs::of(&span.attributes);
    let mut resource = Attrs(resource.0.clone());
    let action = mapping::action(&mut a);
    let ai = action.is_some();
    let action = action.unwrap_or_else(|| "x-span".into());
    let status = match span.status.as_ref().map(|s| s.code()) {
        Some(StatusCode::Error) => "error",
        _ => "ok",
    };
    let mut content = Content::default();
    content.take_from(&mut a);
    if let Some(s) = span.status.as_ref().filter(|s| !s.message.is_empty()) {
        content.add(Side::Output, "otel.status_message".into(), json!(s.message));
    }
    let mut base = Map::new();
    base.insert(
        "id".into(),
        json!(span_event_id(&span.trace_id, &span.span_id, start)),
    );
    base.insert("ts".into(), json!(ts));
    base.insert("started".into(), json!(started));
    base.insert("agent".into(), mapping::agent(&mut a, &mut resource));
    base.insert("status".into(), json!(status));
    if let Some(s) = mapping::session(&mut a) {
        base.insert("session".into(), s);
    }
    base.insert("trace".into(), trace);
    let mut context = Map::new();
    if let Some(m) = mapping::model(&mut a) {
        context.insert("model".into(), m);
    }
    if action == "tool_call" {
        context.insert("tool".into(), mapping::tool(&mut a, &span.name));
    }
    let latency = (end - start) as f64 / 1e6;
    if let Some(m) = mapping::metrics(&mut a, Some(latency)) {
        context.insert("metrics".into(), m);
    }
    base.insert("action".into(), json!(action));
    base.insert("context".into(), Value::Object(context));
    let mut leftover = vec![
        ("otel.span.name".to_owned(), json!(span.name)),
        ("otel.span.kind".to_owned(), json!(kind_name(span.kind()))),
    ];
    if let Some(scope) = scope.filter(|s| !s.name.is_empty()) {
        leftover.push(("otel.scope.name".into(), json!(scope.name)));
        if !scope.version.is_empty() {
            leftover.push(("otel.scope.version".into(), json!(scope.version)));
        }
    }
    if let Some(events) = events(span, &mut content) {
        leftover.push(("otel.span.events".into(), events));
    }
    if !span.links.is_empty() {
        leftover.push(("otel.span.links".into(), json!(span.links.len())));
    }
    leftover.extend(a.0);
    leftover.extend(
        resource
            .0
            .into_iter()
            .map(|(k, v)| (format!("otel.resource.{k}"), v)),
    );
    let mut notes = Notes {
        source: "span",
        ..Notes::default()
    };
    for (name, n) in [
        ("attributes", span.dropped_attributes_count),
        ("events", span.dropped_events_count),
        ("links", span.dropped_links_count),
    ] {
        if n > 0 {
            notes.dropped.insert(name.into(), json!(n));
        }
    }
    mapped(ai, mapping::finish(base, &content, leftover, notes, cx))
}

/// The span's events by name with their attributes that are not content; their content (a
/// GenAI message event's, an exception's message) goes to the payloads.
fn events(span: &Span, content: &mut Content) -> Option<Value> {
    if span.events.is_empty() {
        return None;
    }
    let list = span.events.iter().enumerate().map(|(i, e)| {
        let side = if matches!(
            e.name.as_str(),
            "gen_ai.choice" | "gen_ai.content.completion" | "exception"
        ) {
            Side::Output
        } else {
            Side::Input
        };
        let mut shown = Map::new();
        shown.insert("name".into(), json!(e.name));
        for (k, v) in object(&e.attributes) {
            if e.name.starts_with("gen_ai.") || side_of(&k).is_some() {
                content.add(side, format!("otel.span.events[{i}].{k}"), v);
            } else {
                shown.insert(k, v);
            }
        }
        Value::Object(shown)
    });
    Some(Value::Array(list.collect()))
}

fn kind_name(kind: SpanKind) -> &'static str {
    match kind {
        SpanKind::Internal => "internal",
        SpanKind::Server => "server",
        SpanKind::Client => "client",
        SpanKind::Producer => "producer",
        SpanKind::Consumer => "consumer",
        SpanKind::Unspecified => "unspecified",
    }
}
