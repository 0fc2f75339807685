//! A log record as an event (spec/otlp-mapping.md §3).

use super::content::{Content, Side};
use super::ids::log_event_id;
use super::mapping::{self, Cx, Notes, refuse, rfc3339};
use super::spans::{Mapped, trace};
use super::values::{Attrs, to_json};
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use prost::Message;
use serde_json::{Map, Value, json};

/// The event name that records a whole inference (GenAI semantic conventions).
const INFERENCE: &str = "gen_ai.client.inference.operation.details";
/// Severity numbers from this one up are errors.
const SEVERITY_ERROR: i32 = 17;

/// Maps `record` of `scope`, whose resource has the attributes `resource`.
pub fn map(
    record: &LogRecord,
    scope: Option<&InstrumentationScope>,
    resource: &Attrs,
    cx: &Cx,
) -> Mapped {
    let mapped = |ai, parsed| Mapped {
        ai,
        trace_id: record.trace_id.clone(),
        parsed,
    };
    let time = match (record.time_unix_nano, record.observed_time_unix_nano) {
        (0, 0) => return mapped(false, refuse("ts", "the log record has no time")),
        (0, observed) => observed,
        (t, _) => t,
    };
    let Some(ts) = rfc3339(time) else {
        return mapped(
            false,
            refuse("ts", "the log record's time is outside years 0-9999"),
        );
    };
    let mut a = Attrs::of(&record.attributes);
    let mut resource = Attrs(resource.0.clone());
    let name = Some(record.event_name.clone())
        .filter(|n| !n.is_empty())
        .or_else(|| a.take_str(&["event.name"]))
        .unwrap_or_default();
    let action = if name == INFERENCE {
        a.take(&["gen_ai.operation.name"]);
        Some("llm_call".to_owned())
    } else {
        mapping::action(&mut a)
    };
    let ai = action.is_some() || name.starts_with("gen_ai.");
    let mut content = Content::default();
    content.take_from(&mut a);
    if let Some(body) = record.body.as_ref() {
        let side = if name == "gen_ai.choice" {
            Side::Output
        } else {
            Side::Input
        };
        content.add(side, "body".into(), to_json(body));
    }
    let mut base = Map::new();
    base.insert(
        "id".into(),
        json!(log_event_id(&record.encode_to_vec(), time)),
    );
    base.insert("ts".into(), json!(ts));
    base.insert("agent".into(), mapping::agent(&mut a, &mut resource));
    base.insert(
        "action".into(),
        json!(action.unwrap_or_else(|| "x-log".into())),
    );
    let error = record.severity_number >= SEVERITY_ERROR;
    base.insert("status".into(), json!(if error { "error" } else { "ok" }));
    if let Some(s) = mapping::session(&mut a) {
        base.insert("session".into(), s);
    }
    if let Some(t) = trace(&record.trace_id, &record.span_id, &[]) {
        base.insert("trace".into(), t);
    }
    let mut context = Map::new();
    if let Some(m) = mapping::model(&mut a) {
        context.insert("model".into(), m);
    }
    if let Some(m) = mapping::metrics(&mut a, None) {
        context.insert("metrics".into(), m);
    }
    base.insert("context".into(), Value::Object(context));
    let mut leftover = Vec::new();
    let mut put = |k: &str, v: &str| {
        if !v.is_empty() {
            leftover.push((k.to_owned(), json!(v)));
        }
    };
    put("otel.event_name", &name);
    put("otel.severity_text", &record.severity_text);
    if let Some(scope) = scope {
        put("otel.scope.name", &scope.name);
        put("otel.scope.version", &scope.version);
    }
    if record.severity_number > 0 {
        leftover.push(("otel.severity_number".into(), json!(record.severity_number)));
    }
    leftover.extend(a.0);
    leftover.extend(
        resource
            .0
            .into_iter()
            .map(|(k, v)| (format!("otel.resource.{k}"), v)),
    );
    let mut notes = Notes {
        source: "log",
        ..Notes::default()
    };
    if record.dropped_attributes_count > 0 {
        notes
            .dropped
            .insert("attributes".into(), json!(record.dropped_attributes_count));
    }
    mapped(ai, mapping::finish(base, &content, leftover, notes, cx))
}
