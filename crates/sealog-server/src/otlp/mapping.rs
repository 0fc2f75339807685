//! What spans and log records share in becoming events (spec/otlp-mapping.md): the action,
//! the agent, the session, `context.model`, `.tool` and `.metrics`, and the last step that
//! fits what is left into `attributes` within the event limits, saying what was cut.

use super::content::{self, Content, Keep};
use super::values::Attrs;
use crate::ingest::Parsed;
use sealog_core::commitment::CommitmentKey;
use sealog_core::event::{self, EventError, FieldError, Limits};
use serde_json::{Map, Value, json};

/// The version of the mapping, recorded in every event it makes.
pub const MAPPING: &str = "sealog-otlp/1";
/// Longest leftover attribute kept, in bytes of JSON.
const MAX_VALUE_BYTES: usize = 4096;
/// Most bytes of JSON all leftover attributes of one event may take.
const MAX_ATTRIBUTE_BYTES: usize = 16 * 1024;
/// Most leftover attributes of one event.
const MAX_ATTRIBUTES: usize = 200;
/// Most names of cut attributes listed (the rest are counted).
const MAX_CUT_NAMES: usize = 64;

/// How one request's records are mapped.
pub struct Cx<'a> {
    /// The log's commitment key and its id.
    pub key: &'a CommitmentKey,
    /// Its public id.
    pub key_id: &'a str,
    /// Whether the log keeps content as it came.
    pub keep_content: bool,
    /// The server's event limits.
    pub limits: &'a Limits,
}

/// The action an AI record stands for, or `None` for a record that is not AI work.
pub fn action(a: &mut Attrs) -> Option<String> {
    let op = a.take_str(&["gen_ai.operation.name"]);
    let mcp = a.take_str(&["mcp.method.name"]);
    let oi = a.take_str(&["openinference.span.kind"]);
    let request_type = a.take_str(&["llm.request.type"]);
    let traceloop = a.take_str(&["traceloop.span.kind"]);
    let name = if let Some(op) = op {
        match op.as_str() {
            "chat" | "text_completion" | "generate_content" => "llm_call".into(),
            "execute_tool" => "tool_call".into(),
            "embeddings" | "invoke_agent" | "create_agent" | "invoke_workflow" => custom(&op),
            _ => custom(&format!("gen_ai.{op}")),
        }
    } else if let Some(m) = mcp {
        match m.as_str() {
            "tools/call" => "tool_call".into(),
            "resources/read" => "retrieval".into(),
            _ => custom(&format!("mcp.{m}")),
        }
    } else if let Some(kind) = oi {
        match kind.to_ascii_uppercase().as_str() {
            "LLM" => "llm_call".into(),
            "TOOL" => "tool_call".into(),
            "RETRIEVER" => "retrieval".into(),
            "EMBEDDING" => custom("embeddings"),
            "AGENT" => custom("invoke_agent"),
            "RERANKER" => custom("rerank"),
            other => custom(other),
        }
    } else if let Some(t) = request_type {
        match t.as_str() {
            "embedding" => custom("embeddings"),
            "rerank" => custom("rerank"),
            _ => "llm_call".into(),
        }
    } else if let Some(kind) = traceloop {
        match kind.as_str() {
            "workflow" => custom("invoke_workflow"),
            "agent" => custom("invoke_agent"),
            "tool" => "tool_call".into(),
            other => custom(other),
        }
    } else if PROVIDER.iter().any(|k| a.0.contains_key(*k)) || a.has_prefix("gen_ai.request.") {
        "llm_call".into()
    } else {
        return None;
    };
    Some(name)
}

/// A custom action `x-<name>`: lowercase, other characters as `_`, at most 64 of them.
fn custom(name: &str) -> String {
    let clean: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_.-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    format!("x-{clean}")
}

const PROVIDER: &[&str] = &[
    "gen_ai.provider.name",
    "gen_ai.system",
    "llm.provider",
    "llm.system",
    "llm.vendor",
];

/// An identifier as the format allows one: control characters as spaces, at most 256 bytes.
pub fn ident(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut end = out.len().min(256);
    while !out.is_char_boundary(end) {
        end -= 1;
    }
    out.truncate(end);
    out
}

/// The agent: `gen_ai.agent.*`, else the resource's service.
pub fn agent(a: &mut Attrs, resource: &mut Attrs) -> Value {
    let id = a.take_str(&["gen_ai.agent.id"]);
    let name = a.take_str(&["gen_ai.agent.name"]);
    let service = resource.take_str(&["service.name"]);
    let version = a
        .take_str(&["gen_ai.agent.version"])
        .or_else(|| resource.take_str(&["service.version"]));
    let env = resource.take_str(&["deployment.environment.name", "deployment.environment"]);
    let agent_id = id
        .or_else(|| name.clone())
        .or_else(|| service.clone())
        .unwrap_or_else(|| "unknown_service".into());
    let mut agent = json!({"id": ident(&agent_id)});
    if let Some(n) = name.or(service) {
        agent["name"] = json!(ident(&n));
    }
    if let Some(v) = version {
        agent["version"] = json!(ident(&v));
    }
    if let Some(e) = env {
        agent["environment"] = json!(ident(&e));
    }
    agent
}

/// The session, from `gen_ai.conversation.id` or its older spellings. It has no `seq`: an
/// exporter numbers nothing (spec/otlp-mapping.md §5).
pub fn session(a: &mut Attrs) -> Option<Value> {
    let id = a.take_str(&[
        "gen_ai.conversation.id",
        "session.id",
        "traceloop.association.properties.session_id",
        "mcp.session.id",
    ])?;
    Some(json!({"id": ident(&id)}))
}

/// Request parameters: the name in `context.model.params`, then the attributes it comes from.
const PARAMS: &[(&str, &[&str])] = &[
    (
        "temperature",
        &[
            "gen_ai.request.temperature",
            "llm.request.temperature",
            "llm.temperature",
        ],
    ),
    (
        "max_tokens",
        &["gen_ai.request.max_tokens", "llm.request.max_tokens"],
    ),
    (
        "top_p",
        &["gen_ai.request.top_p", "llm.request.top_p", "llm.top_p"],
    ),
    ("top_k", &["gen_ai.request.top_k", "llm.top_k"]),
    (
        "frequency_penalty",
        &["gen_ai.request.frequency_penalty", "llm.frequency_penalty"],
    ),
    (
        "presence_penalty",
        &["gen_ai.request.presence_penalty", "llm.presence_penalty"],
    ),
    (
        "stop_sequences",
        &["gen_ai.request.stop_sequences", "llm.chat.stop_sequences"],
    ),
    ("seed", &["gen_ai.request.seed"]),
    ("choice_count", &["gen_ai.request.choice.count"]),
    ("encoding_formats", &["gen_ai.request.encoding_formats"]),
    ("stream", &["gen_ai.request.stream", "llm.is_streaming"]),
];

/// `context.model`: the response's model (else the requested one), the provider, the
/// parameters, and the requested model when it differs.
pub fn model(a: &mut Attrs) -> Option<Value> {
    let requested = a.take_str(&["gen_ai.request.model", "llm.request.model"]);
    let responded = a.take_str(&[
        "gen_ai.response.model",
        "llm.response.model",
        "llm.model_name",
    ]);
    let provider = a.take_str(PROVIDER);
    let mut params = Map::new();
    for (name, keys) in PARAMS {
        if let Some(v) = a.take(keys) {
            params.insert((*name).into(), v);
        }
    }
    // OpenInference sends every parameter as one JSON text.
    if let Some(Value::String(text)) = a.0.get("llm.invocation_parameters")
        && let Ok(Value::Object(more)) = serde_json::from_str::<Value>(text)
    {
        a.0.remove("llm.invocation_parameters");
        for (k, v) in more {
            params.entry(k).or_insert(v);
        }
    }
    let response_id = a.take_str(&["gen_ai.response.id", "llm.response.id"]);
    let finish = a.take(&[
        "gen_ai.response.finish_reasons",
        "llm.response.finish_reason",
    ]);
    let id = responded.clone().or_else(|| requested.clone());
    if id.is_none() && provider.is_none() && params.is_empty() {
        return None;
    }
    let mut m = Map::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            m.insert(k.into(), v);
        }
    };
    put("id", id.as_deref().map(|s| json!(ident(s))));
    put("provider", provider.map(|s| json!(ident(&s))));
    put(
        "params",
        (!params.is_empty()).then_some(Value::Object(params)),
    );
    if requested.is_some() && requested != responded && responded.is_some() {
        put("x-request_model", requested.map(Value::from));
    }
    put("x-response_id", response_id.map(Value::from));
    put("x-finish_reasons", finish);
    Some(Value::Object(m))
}

/// `context.tool` for a tool call: its name (the span's, if no attribute names it), call id
/// and type.
pub fn tool(a: &mut Attrs, fallback_name: &str) -> Value {
    let name = a
        .take_str(&[
            "gen_ai.tool.name",
            "tool.name",
            "mcp.tool.name",
            "traceloop.entity.name",
        ])
        .unwrap_or_else(|| fallback_name.to_owned());
    let mut t = json!({"name": ident(if name.is_empty() { "unnamed" } else { &name })});
    if let Some(id) = a.take_str(&["gen_ai.tool.call.id", "tool_call.id", "tool.id"]) {
        t["call_id"] = json!(ident(&id));
    }
    if let Some(kind) = a.take_str(&["gen_ai.tool.type"]) {
        t["type"] = json!(ident(&kind));
    }
    t
}

/// Token counts under `context.metrics`: the format's own names, then `x-` ones.
const TOKENS: &[(&str, &[&str])] = &[
    (
        "input_tokens",
        &[
            "gen_ai.usage.input_tokens",
            "gen_ai.usage.prompt_tokens",
            "llm.token_count.prompt",
            "llm.usage.prompt_tokens",
        ],
    ),
    (
        "output_tokens",
        &[
            "gen_ai.usage.output_tokens",
            "gen_ai.usage.completion_tokens",
            "llm.token_count.completion",
            "llm.usage.completion_tokens",
        ],
    ),
    (
        "x-total_tokens",
        &[
            "gen_ai.usage.total_tokens",
            "llm.usage.total_tokens",
            "llm.token_count.total",
        ],
    ),
    (
        "x-cache_read_input_tokens",
        &[
            "gen_ai.usage.cache_read.input_tokens",
            "gen_ai.usage.cache_read_input_tokens",
            "llm.token_count.prompt_details.cache_read",
        ],
    ),
    (
        "x-cache_creation_input_tokens",
        &[
            "gen_ai.usage.cache_creation.input_tokens",
            "gen_ai.usage.cache_creation_input_tokens",
            "llm.token_count.prompt_details.cache_write",
        ],
    ),
    (
        "x-reasoning_tokens",
        &[
            "gen_ai.usage.reasoning.output_tokens",
            "gen_ai.usage.reasoning_tokens",
            "llm.usage.reasoning_tokens",
            "llm.token_count.completion_details.reasoning",
        ],
    ),
];

/// `context.metrics`: latency and token counts.
pub fn metrics(a: &mut Attrs, latency_ms: Option<f64>) -> Option<Value> {
    let mut m = Map::new();
    if let Some(l) = latency_ms {
        m.insert("latency_ms".into(), json!(l));
    }
    for (name, keys) in TOKENS {
        if let Some(n) = a.take_count(keys) {
            m.insert((*name).into(), json!(n));
        }
    }
    (!m.is_empty()).then_some(Value::Object(m))
}

/// What the mapping says about the event it made, in `context.x-otlp`.
#[derive(Default)]
pub struct Notes {
    /// `span` or `log`.
    pub source: &'static str,
    /// Attributes whose secrets were redacted.
    pub redacted: Vec<String>,
    /// Counts the exporter dropped before sending.
    pub dropped: Map<String, Value>,
}

/// Assembles the event: the payloads, the leftover attributes within the limits, and the
/// notes; validated like any ingested event. If it does not fit, kept content is committed
/// instead, then the leftover attributes go, each step said in the event.
pub fn finish(
    mut base: Map<String, Value>,
    content: &Content,
    leftover: Vec<(String, Value)>,
    mut notes: Notes,
    cx: &Cx,
) -> Parsed {
    let mut leftover = leftover;
    for (k, v) in &mut leftover {
        if content::redact(k, v) {
            notes.redacted.push(k.clone());
        }
    }
    let (kept, cut) = fit(leftover);
    // (keep content plain, keep leftover attributes), most faithful first.
    let mut attempts = vec![(false, true), (false, false)];
    if cx.keep_content {
        attempts.insert(0, (true, true));
    }
    let mut last = None;
    for (keep_plain, with_attributes) in attempts {
        let keep = if keep_plain {
            Keep::Plain
        } else {
            Keep::Commit(cx.key)
        };
        let mut event = base.clone();
        let mut x = json!({"mapping": MAPPING, "source": notes.source});
        let mut redacted = notes.redacted.clone();
        for (name, side) in [("input", &content.input), ("output", &content.output)] {
            if let Some((payload, more)) = content::payload(side, &keep) {
                event.insert(name.into(), payload);
                redacted.extend(more.into_iter().map(|p| format!("{name}.{p}")));
                if !keep_plain {
                    x["commitment_key"] = json!(cx.key_id);
                }
            }
        }
        if cx.keep_content && !keep_plain {
            x["content_committed"] = json!("the content did not fit in the event");
        }
        let mut cut = cut.clone();
        if !with_attributes {
            cut.extend(kept.iter().map(|(k, _)| k.clone()));
        } else if !kept.is_empty() {
            event.insert(
                "attributes".into(),
                Value::Object(kept.iter().cloned().collect()),
            );
        }
        if !cut.is_empty() {
            x["cut_attributes"] = json!(cut.iter().take(MAX_CUT_NAMES).collect::<Vec<_>>());
            x["cut_count"] = json!(cut.len());
        }
        if !redacted.is_empty() {
            x["redacted"] = json!(redacted);
        }
        if !notes.dropped.is_empty() {
            x["dropped_by_exporter"] = Value::Object(notes.dropped.clone());
        }
        let context = event.entry("context").or_insert_with(|| json!({}));
        context["x-otlp"] = x;
        let value = Value::Object(event);
        match event::validate(&value, cx.limits) {
            Ok(valid) => return Ok(valid),
            Err(e) => last = Some(e),
        }
    }
    let id = base
        .remove("id")
        .and_then(|v| v.as_str().map(str::to_owned));
    Err((id, last.expect("at least one attempt ran")))
}

/// The leftover attributes that fit, in order, and the names of those cut.
fn fit(leftover: Vec<(String, Value)>) -> (Vec<(String, Value)>, Vec<String>) {
    let (mut kept, mut cut, mut total) = (Vec::new(), Vec::new(), 0);
    for (k, v) in leftover {
        let size = k.len() + serde_json::to_string(&v).map_or(usize::MAX, |s| s.len());
        if size <= MAX_VALUE_BYTES
            && total + size <= MAX_ATTRIBUTE_BYTES
            && kept.len() < MAX_ATTRIBUTES
        {
            total += size;
            kept.push((k, v));
        } else {
            cut.push(k);
        }
    }
    (kept, cut)
}

/// A record that cannot become an event, with why.
pub fn refuse(path: &str, message: impl Into<String>) -> Parsed {
    Err((
        None,
        EventError {
            errors: vec![FieldError {
                path: path.into(),
                message: message.into(),
            }],
        },
    ))
}

/// Nanoseconds since the epoch as the format's RFC 3339 UTC time.
pub fn rfc3339(nanos: u64) -> Option<String> {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos)).ok()?;
    t.format(&time::format_description::well_known::Rfc3339)
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value as V};

    fn attrs(pairs: &[(&str, V)]) -> Attrs {
        let kvs: Vec<KeyValue> = pairs
            .iter()
            .map(|(k, v)| KeyValue {
                key: (*k).into(),
                value: Some(AnyValue {
                    value: Some(v.clone()),
                }),
                ..KeyValue::default()
            })
            .collect();
        Attrs::of(&kvs)
    }

    #[test]
    fn each_convention_names_its_action() {
        let s = |v: &str| V::StringValue(v.into());
        let cases = [
            (vec![("gen_ai.operation.name", s("chat"))], Some("llm_call")),
            (
                vec![("gen_ai.operation.name", s("invoke_agent"))],
                Some("x-invoke_agent"),
            ),
            (
                vec![("gen_ai.operation.name", s("execute_tool"))],
                Some("tool_call"),
            ),
            (
                vec![("openinference.span.kind", s("RETRIEVER"))],
                Some("retrieval"),
            ),
            (
                vec![("traceloop.span.kind", s("workflow"))],
                Some("x-invoke_workflow"),
            ),
            (
                vec![
                    ("llm.request.type", s("chat")),
                    ("gen_ai.system", s("openai")),
                ],
                Some("llm_call"),
            ),
            (
                vec![("mcp.method.name", s("tools/call"))],
                Some("tool_call"),
            ),
            (
                vec![("mcp.method.name", s("initialize"))],
                Some("x-mcp.initialize"),
            ),
            (vec![("http.request.method", s("GET"))], None),
        ];
        for (pairs, want) in cases {
            assert_eq!(action(&mut attrs(&pairs)).as_deref(), want, "{pairs:?}");
        }
    }

    #[test]
    fn model_and_tokens_come_from_old_and_new_names() {
        let mut a = attrs(&[
            ("gen_ai.system", V::StringValue("openai".into())),
            ("gen_ai.request.model", V::StringValue("gpt-4o".into())),
            (
                "gen_ai.response.model",
                V::StringValue("gpt-4o-2024".into()),
            ),
            ("gen_ai.usage.prompt_tokens", V::IntValue(7)),
            ("llm.usage.total_tokens", V::IntValue(10)),
            ("gen_ai.usage.cache_read.input_tokens", V::IntValue(2)),
            ("llm.temperature", V::DoubleValue(0.5)),
        ]);
        let m = model(&mut a).unwrap();
        assert_eq!(m["id"], "gpt-4o-2024");
        assert_eq!(m["x-request_model"], "gpt-4o");
        assert_eq!(m["provider"], "openai");
        assert_eq!(m["params"]["temperature"], 0.5);
        let t = metrics(&mut a, Some(1.5)).unwrap();
        assert_eq!(
            t,
            json!({"latency_ms": 1.5, "input_tokens": 7, "x-total_tokens": 10, "x-cache_read_input_tokens": 2})
        );
        assert!(a.0.is_empty(), "{:?}", a.0);
    }

    #[test]
    fn what_does_not_fit_is_cut_and_named() {
        let big = "x".repeat(MAX_VALUE_BYTES);
        let (kept, cut) = fit(vec![("a".into(), json!(1)), ("b".into(), json!(big))]);
        assert_eq!(kept, vec![("a".to_owned(), json!(1))]);
        assert_eq!(cut, vec!["b".to_owned()]);
    }
}
