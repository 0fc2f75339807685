//! Search (`Query::terms`): every page walk and histogram agrees with a brute-force filter over
//! the same generated events, across batch boundaries, combined with the exact filters.

mod index_support;

use index_support::{T0, TempDir, id};
use sealog_core::leaf;
use sealog_storage::index::{IdIndex, MAX_TERMS, Query};
use serde_json::{Value, json};

const TOOLS: [&str; 4] = ["search_web", "send_email", "Read_File", "run sql"];
const MODELS: [&str; 3] = ["gpt-x", "claude-y", "search_web"];
const REASONS: [&str; 3] = ["pii_detected", "off_topic", "quota"];

/// A deterministic event `i`: which fields it has follows small primes, so the searches below
/// match overlapping, irregular subsets.
fn event(i: u64) -> Value {
    let pick = |n: u64, m: usize| (i / n) as usize % m;
    let mut e = json!({
        "id": uuid::Uuid::from_u128(id(i)).to_string(),
        "ts": leaf::format_received(T0 + i as i64 * 1_000),
        "agent": {"id": format!("agent-{}", i % 5), "name": format!("Bot {}", i % 3)},
        "action": if i.is_multiple_of(2) { "tool_call" } else { "llm_call" },
        "status": if i.is_multiple_of(7) { "error" } else { "ok" },
        "session": {"id": format!("s{}", i % 11), "seq": i / 11},
        "context": {
            "tool": {"name": TOOLS[pick(1, 4)]},
            "model": {"id": MODELS[pick(3, 3)], "provider": "Acme"},
            "decision": {"reason_codes": [REASONS[pick(5, 3)], REASONS[pick(13, 3)]]},
            "checks": [{"name": "toxicity", "fired": i.is_multiple_of(17)}],
        },
        "attributes": {"customer": i % 4, "region": if i.is_multiple_of(3) { "EU" } else { "US" },
                       "nested": {"region": "EU"}},
    });
    if i.is_multiple_of(19) {
        // A value past the bound is not indexed; the rest of the event still is.
        e["context"]["tool"]["name"] = Value::from("t".repeat(200));
    }
    e
}

fn leaf_of(e: &Value) -> Vec<u8> {
    let bytes = serde_json::to_vec(e).unwrap();
    leaf::build("test.example/log", T0, &bytes)
}

/// Whether event `e` holds the search term `field:value` (lowercased), as the README says.
fn holds(e: &Value, term: &str) -> bool {
    let (field, value) = term.split_once(':').unwrap();
    let text = |v: &Value| match v {
        Value::String(s) if s.len() <= 128 => Some(s.to_lowercase()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let c = &e["context"];
    let mut pairs: Vec<(String, &Value)> = vec![
        ("name".into(), &e["agent"]["name"]),
        ("tool".into(), &c["tool"]["name"]),
        ("model".into(), &c["model"]["id"]),
        ("provider".into(), &c["model"]["provider"]),
    ];
    for r in c["decision"]["reason_codes"].as_array().unwrap() {
        pairs.push(("reason".into(), r));
    }
    for k in c["checks"].as_array().unwrap() {
        if k["fired"] == true {
            pairs.push(("check".into(), &k["name"]));
        }
    }
    for (k, v) in e["attributes"].as_object().unwrap() {
        if !v.is_object() {
            pairs.push((format!("attr.{}", k.to_lowercase()), v));
        }
    }
    pairs.into_iter().any(|(f, v)| {
        let Some(t) = text(v) else { return false };
        match field {
            "*" => t == value || t.split_whitespace().any(|w| w == value),
            _ => f == field && t == value,
        }
    })
}

fn walk(index: &IdIndex, q: &Query) -> Vec<u64> {
    let mut q = Query {
        limit: 37,
        ..q.clone()
    };
    let mut all = Vec::new();
    loop {
        let page = index.query(&q).unwrap();
        all.extend(page.indices);
        match page.next {
            Some(next) => q.cursor = Some(next),
            None => return all,
        }
    }
}

#[test]
fn searches_match_a_brute_force_filter() {
    let dir = TempDir::new("index-search");
    let index = IdIndex::open(dir.path()).unwrap();
    let events: Vec<Value> = (0..3_000).map(event).collect();
    let leaves: Vec<Vec<u8>> = events.iter().map(leaf_of).collect();
    let mut first = 0;
    // Uneven batches, so matches straddle chunk boundaries.
    for size in [1, 700, 13, 1_286, 1_000] {
        let batch: Vec<&[u8]> = leaves[first..first + size]
            .iter()
            .map(Vec::as_slice)
            .collect();
        index.apply(first as u64, &batch).unwrap();
        first += size;
    }
    let cases: [(&str, Query); 10] = [
        ("tool:search_web", Query::default()),
        ("search_web", Query::default()),
        ("TOOL:\"Run SQL\" reason:quota", Query::default()),
        ("pii_detected attr.region:eu", Query::default()),
        ("check:toxicity", Query::default()),
        (
            "attr.customer:3 model:claude-y",
            Query {
                agent: Some("agent-2".into()),
                ..Default::default()
            },
        ),
        ("provider:acme session:s4 status:error", Query::default()),
        (
            "status:ok tool:\"run sql\"",
            Query {
                action: Some("llm_call".into()),
                ..Default::default()
            },
        ),
        ("bot", Query::default()),
        (
            "\"bot 1\" off_topic",
            Query {
                since: Some(T0 + 500_000),
                until: Some(T0 + 2_500_000),
                ..Default::default()
            },
        ),
    ];
    for (search, filters) in cases {
        let q = filters.clone().with_search(search).unwrap();
        let expected: Vec<u64> = (0..events.len() as u64)
            .rev()
            .filter(|&i| {
                let e = &events[i as usize];
                let ts = T0 + i as i64 * 1_000;
                let is =
                    |want: &Option<String>, have: &Value| want.as_deref().is_none_or(|w| have == w);
                q.terms.iter().all(|t| holds(e, t))
                    && is(&q.agent, &e["agent"]["id"])
                    && is(&q.session, &e["session"]["id"])
                    && is(&q.action, &e["action"])
                    && is(&q.status, &e["status"])
                    && q.since.is_none_or(|s| ts >= s)
                    && q.until.is_none_or(|u| ts < u)
            })
            .collect();
        assert!(
            !expected.is_empty(),
            "{search:?} matches nothing, so it tests little"
        );
        assert_eq!(walk(&index, &q), expected, "{search:?} with {filters:?}");
        let histogram = index.histogram(&q, 10).unwrap();
        let counted: u64 = histogram.series.iter().map(|s| s.total).sum();
        assert_eq!(counted, expected.len() as u64, "histogram of {search:?}");
    }
    // The long tool name was not indexed: nothing finds it by that name.
    let search = |q: &str| walk(&index, &Query::default().with_search(q).unwrap());
    let long_tool = format!("tool:{}", "t".repeat(128));
    assert!(search(&long_tool).is_empty());
    assert!(search("nowhere").is_empty());
    // Words naming the agent, session, action or status are exact, so case counts there.
    assert!(search("status:ERROR").is_empty());
    assert!(!search("status:error").is_empty());
}

#[test]
fn terms_per_event_are_bounded() {
    let dir = TempDir::new("index-search-bound");
    let index = IdIndex::open(dir.path()).unwrap();
    let mut e = event(1);
    let attrs: serde_json::Map<String, Value> = (0..200)
        .map(|k| (format!("k{k:03}"), Value::from(k)))
        .collect();
    e["attributes"] = Value::Object(attrs);
    index.apply(0, &[&leaf_of(&e)]).unwrap();
    let found = |s: &str| walk(&index, &Query::default().with_search(s).unwrap()).len();
    // Fields come first, so they are always searchable; attributes fill what is left.
    assert_eq!(found("tool:send_email"), 1);
    assert_eq!(found("attr.k000:0"), 1);
    assert_eq!(found("attr.k199:199"), 0);
    const { assert!(MAX_TERMS < 200 * 2) };
}
