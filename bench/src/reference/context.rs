//! Validation of the typed context blocks (the reference copy, over `serde_json::Value`).

use super::fields::{Checker, join};
use sealog_core::event::{
    Check, Context, DataProvenance, Decision, HumanOversight, ModelContext, OversightDecision,
    PerformanceMetrics, PolicyContext, PromptContext, Subject, ToolContext,
};
use serde_json::Value;

const BLOCKS: &[&str] = &[
    "model",
    "prompt",
    "tool",
    "policy",
    "data",
    "checks",
    "decision",
    "oversight",
    "metrics",
    "subject",
];

/// Validates the `context` object.
pub(super) fn context(cx: &mut Checker, path: &str, value: &Value) -> Option<Context> {
    let map = cx.object(path, value, BLOCKS, true)?;
    let before = cx.errors.len();
    let mut out = Context::default();
    let p = |k: &str| join(path, k);
    if let Some(v) = cx.member(path, map, "model", false) {
        out.model = model(cx, &p("model"), v);
    }
    if let Some(v) = cx.member(path, map, "prompt", false) {
        out.prompt =
            named_version_hash(cx, &p("prompt"), v).map(|(name, version, hash)| PromptContext {
                name,
                version,
                hash,
            });
    }
    if let Some(v) = cx.member(path, map, "tool", false) {
        let q = p("tool");
        if let Some(m) = cx.object(&q, v, &["name", "call_id", "type"], true) {
            let name = cx.ident(&join(&q, "name"), m.get("name"), true);
            let call_id = cx.ident(&join(&q, "call_id"), m.get("call_id"), false);
            let kind = cx.ident(&join(&q, "type"), m.get("type"), false);
            out.tool = name.map(|name| ToolContext {
                name,
                call_id,
                kind,
            });
        }
    }
    if let Some(v) = cx.member(path, map, "policy", false) {
        out.policy =
            named_version_hash(cx, &p("policy"), v).map(|(name, version, hash)| PolicyContext {
                name,
                version,
                hash,
            });
    }
    if let Some(v) = cx.member(path, map, "data", false) {
        let q = p("data");
        if let Some(m) = cx.object(&q, v, &["sources", "datasets", "version", "lineage"], true) {
            out.data = Some(DataProvenance {
                sources: cx.ident_list(&join(&q, "sources"), m.get("sources")),
                datasets: cx.ident_list(&join(&q, "datasets"), m.get("datasets")),
                version: cx.ident(&join(&q, "version"), m.get("version"), false),
                lineage: m.get("lineage").filter(|v| !v.is_null()).cloned(),
            });
        }
    }
    if let Some(v) = cx.member(path, map, "checks", false) {
        out.checks = checks(cx, &p("checks"), v);
    }
    if let Some(v) = cx.member(path, map, "decision", false) {
        let q = p("decision");
        if let Some(m) = cx.object(&q, v, &["outcome", "reason_codes"], true) {
            out.decision = Some(Decision {
                outcome: cx.ident(&join(&q, "outcome"), m.get("outcome"), false),
                reason_codes: cx.ident_list(&join(&q, "reason_codes"), m.get("reason_codes")),
            });
        }
    }
    if let Some(v) = cx.member(path, map, "oversight", false) {
        out.oversight = oversight(cx, &p("oversight"), v);
    }
    if let Some(v) = cx.member(path, map, "metrics", false) {
        out.metrics = metrics(cx, &p("metrics"), v);
    }
    if let Some(v) = cx.member(path, map, "subject", false) {
        let q = p("subject");
        if let Some(m) = cx.object(&q, v, &["pseudo_id"], true) {
            out.subject = cx
                .ident(&join(&q, "pseudo_id"), m.get("pseudo_id"), true)
                .map(|pseudo_id| Subject { pseudo_id });
        }
    }
    (cx.errors.len() == before).then_some(out)
}

fn named_version_hash(
    cx: &mut Checker,
    path: &str,
    v: &Value,
) -> Option<(Option<String>, Option<String>, Option<String>)> {
    let m = cx.object(path, v, &["name", "version", "hash"], true)?;
    Some((
        cx.ident(&join(path, "name"), m.get("name"), false),
        cx.ident(&join(path, "version"), m.get("version"), false),
        cx.ident(&join(path, "hash"), m.get("hash"), false),
    ))
}

fn model(cx: &mut Checker, path: &str, v: &Value) -> Option<ModelContext> {
    const FIELDS: &[&str] = &[
        "id",
        "version",
        "provider",
        "type",
        "deployment",
        "params",
        "config_hash",
    ];
    let m = cx.object(path, v, FIELDS, true)?;
    let params = match cx.member(path, m, "params", false) {
        Some(Value::Object(p)) => Some(p.clone()),
        Some(_) => {
            cx.error(&join(path, "params"), "must be an object");
            None
        }
        None => None,
    };
    Some(ModelContext {
        id: cx.ident(&join(path, "id"), m.get("id"), false),
        version: cx.ident(&join(path, "version"), m.get("version"), false),
        provider: cx.ident(&join(path, "provider"), m.get("provider"), false),
        kind: cx.ident(&join(path, "type"), m.get("type"), false),
        deployment: cx.ident(&join(path, "deployment"), m.get("deployment"), false),
        params,
        config_hash: cx.ident(&join(path, "config_hash"), m.get("config_hash"), false),
    })
}

fn checks(cx: &mut Checker, path: &str, v: &Value) -> Option<Vec<Check>> {
    let Value::Array(items) = v else {
        cx.error(path, "must be an array of check objects");
        return None;
    };
    const FIELDS: &[&str] = &["name", "version", "score", "threshold", "fired", "result"];
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let q = format!("{path}[{i}]");
        let Some(m) = cx.object(&q, item, FIELDS, true) else {
            continue;
        };
        let name = cx.ident(&join(&q, "name"), m.get("name"), true);
        let check = Check {
            name: name.unwrap_or_default(),
            version: cx.ident(&join(&q, "version"), m.get("version"), false),
            score: cx.number(&join(&q, "score"), m.get("score"), f64::MIN, f64::MAX),
            threshold: cx.number(
                &join(&q, "threshold"),
                m.get("threshold"),
                f64::MIN,
                f64::MAX,
            ),
            fired: cx.boolean(&join(&q, "fired"), m.get("fired")),
            result: cx.ident(&join(&q, "result"), m.get("result"), false),
        };
        out.push(check);
    }
    Some(out)
}

fn oversight(cx: &mut Checker, path: &str, v: &Value) -> Option<HumanOversight> {
    const FIELDS: &[&str] = &[
        "required",
        "reviewer",
        "role",
        "decision",
        "reason",
        "target",
        "reviewed_at",
    ];
    let m = cx.object(path, v, FIELDS, true)?;
    let decision = cx
        .text(&join(path, "decision"), m.get("decision"), false)
        .and_then(|d| {
            let parsed = match d.as_str() {
                "approved" => Some(OversightDecision::Approved),
                "rejected" => Some(OversightDecision::Rejected),
                "overridden" => Some(OversightDecision::Overridden),
                "stopped" => Some(OversightDecision::Stopped),
                _ => None,
            };
            if parsed.is_none() {
                cx.error(
                    &join(path, "decision"),
                    "must be one of: approved, rejected, overridden, stopped",
                );
            }
            parsed
        });
    let target = cx.text(&join(path, "target"), m.get("target"), false);
    if target
        .as_deref()
        .is_some_and(|t| super::validate::parse_uuid_v7(t).is_none())
    {
        cx.error(
            &join(path, "target"),
            "must be the id (a UUIDv7) of the event reviewed",
        );
    }
    Some(HumanOversight {
        required: cx.boolean(&join(path, "required"), m.get("required")),
        reviewer: cx.ident(&join(path, "reviewer"), m.get("reviewer"), false),
        role: cx.ident(&join(path, "role"), m.get("role"), false),
        decision,
        reason: cx.text(&join(path, "reason"), m.get("reason"), false),
        target,
        reviewed_at: cx
            .timestamp(&join(path, "reviewed_at"), m.get("reviewed_at"), false)
            .map(|(s, _)| s),
    })
}

fn metrics(cx: &mut Checker, path: &str, v: &Value) -> Option<PerformanceMetrics> {
    const FIELDS: &[&str] = &[
        "latency_ms",
        "input_tokens",
        "output_tokens",
        "cost",
        "confidence",
        "anomaly_flags",
    ];
    let m = cx.object(path, v, FIELDS, true)?;
    Some(PerformanceMetrics {
        latency_ms: cx.number(
            &join(path, "latency_ms"),
            m.get("latency_ms"),
            0.0,
            f64::MAX,
        ),
        input_tokens: cx.uint(&join(path, "input_tokens"), m.get("input_tokens"), false),
        output_tokens: cx.uint(&join(path, "output_tokens"), m.get("output_tokens"), false),
        cost: cx.number(&join(path, "cost"), m.get("cost"), 0.0, f64::MAX),
        confidence: cx.number(&join(path, "confidence"), m.get("confidence"), 0.0, 1.0),
        anomaly_flags: cx.ident_list(&join(path, "anomaly_flags"), m.get("anomaly_flags")),
    })
}
