//! `GET /v1/logs/{log}/events/histogram` end to end: the real binary over real HTTP. Counts per
//! bucket and action equal a brute-force count of the recorded events, over the whole filtered
//! range (more events than any page holds), for every filter and for open and closed ranges;
//! malformed requests get a 400 that says what to change; only read (and admin) keys of the
//! log may ask.

mod support;

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use support::{Reply, Serve, call, uuid7};

/// 2026-03-01T10:00:00Z in µs since the Unix epoch.
const BASE_US: i64 = 1_772_359_200_000_000;
/// Events recorded: more than the largest page of `GET /v1/logs/{log}/events` (1,000).
const EVENTS: usize = 1_500;
const ACTIONS: [&str; 4] = ["llm_call", "tool_call", "decision", "policy_flag"];

/// One recorded event's fields, as the test counts them.
struct Ev {
    ts_us: i64,
    agent: String,
    session: String,
    action: &'static str,
    status: &'static str,
}

/// Event `i`: every 400 ms over ten minutes, three agents, sessions of 50, actions of unequal
/// frequency, every fifth an error; every 97th from a client clock two minutes behind.
fn ev(i: usize) -> Ev {
    let skew = if i.is_multiple_of(97) { 120_000_000 } else { 0 };
    Ev {
        ts_us: BASE_US + i as i64 * 400_000 + 123 - skew,
        agent: format!("agent-{}", i % 3),
        session: format!("s-{}", i / 50),
        action: ACTIONS[[0, 0, 0, 1, 1, 2, 3][i % 7]],
        status: if i.is_multiple_of(5) { "error" } else { "ok" },
    }
}

fn rfc3339(us: i64) -> String {
    sealog_core::leaf::format_received(us)
}

fn get(server: &Serve, token: &str, path_and_query: &str) -> Reply {
    call(
        "GET",
        &format!("{}{path_and_query}", server.url),
        Some(token),
        None,
    )
}

/// Records [`EVENTS`] events in the log `default` and waits until the index covers them.
fn record_all(server: &Serve, token: &str) -> Vec<Ev> {
    let evs: Vec<Ev> = (0..EVENTS).map(ev).collect();
    for (k, batch) in evs.chunks(500).enumerate() {
        let events: Vec<Value> = batch
            .iter()
            .enumerate()
            .map(|(j, e)| {
                let i = k * 500 + j;
                json!({"id": uuid7(i as u64 + 1), "ts": rfc3339(e.ts_us), "agent": {"id": e.agent},
                    "action": e.action, "status": e.status,
                    "session": {"id": e.session, "seq": i % 50}})
            })
            .collect();
        let r = call(
            "POST",
            &format!("{}/v1/logs/default/events", server.url),
            Some(token),
            Some(json!({ "events": events }).to_string().as_bytes()),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let body = r.json();
        let refused = body["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["status"] != "accepted");
        assert_eq!(body["accepted"], batch.len(), "{refused:?}");
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while get(server, token, "/v1/logs/default").json()["index_lag"] != 0 {
        assert!(Instant::now() < deadline, "the index did not catch up");
        std::thread::sleep(Duration::from_millis(50));
    }
    evs
}

/// Filters of one request, by query-parameter name.
type Filters<'a> = &'a [(&'a str, &'a str)];

/// Whether `e` matches `filters` (times as RFC 3339, compared as instants).
fn matches(e: &Ev, filters: Filters) -> bool {
    let us = |v: &str| sealog_storage::index::parse_ts(v).unwrap();
    filters.iter().all(|&(k, v)| match k {
        "agent" => e.agent == v,
        "session" => e.session == v,
        "action" => e.action == v,
        "status" => e.status == v,
        "since" => e.ts_us >= us(v),
        "until" => e.ts_us < us(v),
        "buckets" => true,
        _ => panic!("unknown filter {k}"),
    })
}

/// The histogram the server must answer, counted from the events themselves: `buckets`
/// buckets of whole microseconds over `since..until`, an open end being the oldest match (or
/// one past the newest); actions the most frequent first, ties by name.
fn expected(evs: &[Ev], filters: Filters, buckets: i64) -> Value {
    let hits: Vec<&Ev> = evs.iter().filter(|e| matches(e, filters)).collect();
    let given = |k: &str| {
        filters
            .iter()
            .find(|f| f.0 == k)
            .map(|f| sealog_storage::index::parse_ts(f.1).unwrap())
    };
    let lo = given("since").or_else(|| hits.iter().map(|e| e.ts_us).min());
    let hi = given("until").or_else(|| hits.iter().map(|e| e.ts_us + 1).max());
    let (Some(lo), Some(hi)) = (lo, hi) else {
        return json!({"edges": [], "bucket_us": null, "actions": [], "other": null, "total": 0});
    };
    let width = (hi - lo + buckets - 1) / buckets;
    let n = (hi - lo + width - 1) / width;
    let mut edges: Vec<String> = (0..n).map(|i| rfc3339(lo + i * width)).collect();
    edges.push(rfc3339(hi));
    let mut by_action: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for e in &hits {
        by_action
            .entry(e.action)
            .or_insert_with(|| vec![0; n as usize])[((e.ts_us - lo) / width) as usize] += 1;
    }
    let mut actions: Vec<(&str, Vec<u64>, u64)> = by_action
        .into_iter()
        .map(|(a, c)| (a, c.clone(), c.iter().sum()))
        .collect();
    actions.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(b.0)));
    json!({
        "edges": edges,
        "bucket_us": width,
        "actions": actions.iter().map(|(a, c, t)| json!({"action": a, "counts": c, "total": t})).collect::<Vec<_>>(),
        "other": null,
        "total": hits.len(),
    })
}

/// The histogram for `filters`, less the fields that describe the index rather than the counts.
fn histogram(server: &Serve, token: &str, filters: Filters) -> Value {
    let q: Vec<String> = filters
        .iter()
        .map(|(k, v)| format!("{k}={}", v.replace('+', "%2B")))
        .collect();
    let r = get(
        server,
        token,
        &format!("/v1/logs/default/events/histogram?{}", q.join("&")),
    );
    assert_eq!(r.status, 200, "{filters:?}: {}", r.body);
    let mut body = r.json();
    assert_eq!(body["index_watermark"], EVENTS, "{body}");
    assert_eq!(body["size"], EVENTS, "{body}");
    let o = body.as_object_mut().unwrap();
    o.remove("index_watermark");
    o.remove("size");
    body
}

#[test]
fn counts_per_bucket_and_action_are_exact_over_the_whole_filtered_range() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let admin = server.admin_token();
    let evs = record_all(&server, &admin);

    // Ten two-minute buckets over a closed range: the counts follow from the schedule, every
    // event is counted (not one page of them), and the skewed ones fall two minutes early.
    let since = rfc3339(BASE_US);
    let until = rfc3339(BASE_US + 600_000_000);
    let closed = [
        ("since", since.as_str()),
        ("until", until.as_str()),
        ("buckets", "5"),
    ];
    let h = histogram(&server, &admin, &closed);
    assert_eq!(h, expected(&evs, &closed, 5));
    assert_eq!(h["bucket_us"], 120_000_000);
    assert_eq!(h["edges"][0], "2026-03-01T10:00:00.000000Z");
    assert_eq!(h["edges"][5], "2026-03-01T10:10:00.000000Z");
    let in_range = evs
        .iter()
        .filter(|e| (BASE_US..BASE_US + 600_000_000).contains(&e.ts_us))
        .count();
    assert_eq!(h["total"], in_range);
    assert!(in_range > 1_000, "more than one page of events: {in_range}");
    assert_eq!(
        h["actions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["action"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["llm_call", "tool_call", "decision", "policy_flag"],
        "the most frequent first"
    );

    // Open ranges end at the matching events: the oldest is a skewed one, the newest the
    // last event recorded plus one microsecond.
    let all = histogram(&server, &admin, &[]);
    assert_eq!(all, expected(&evs, &[], 60));
    assert_eq!(all["total"], EVENTS);
    assert_eq!(
        all["edges"][0],
        rfc3339(evs.iter().map(|e| e.ts_us).min().unwrap())
    );
    assert_eq!(
        all["edges"].as_array().unwrap().last().unwrap(),
        &json!(rfc3339(evs[EVENTS - 1].ts_us + 1))
    );

    // Every filter, alone and combined, with open and half-open ranges.
    let mid = rfc3339(BASE_US + 300_000_000);
    // Session s-14 runs from 280 s to 300 s: this cuts it in two.
    let cut = rfc3339(BASE_US + 290_000_000);
    for filters in [
        &[("agent", "agent-1")][..],
        &[("session", "s-7")],
        &[("action", "decision")],
        &[("status", "error")],
        &[
            ("action", "llm_call"),
            ("status", "error"),
            ("buckets", "7"),
        ],
        &[("agent", "agent-2"), ("since", mid.as_str())],
        &[
            ("session", "s-14"),
            ("until", cut.as_str()),
            ("buckets", "3"),
        ],
        &[("agent", "nobody")],
        &[("since", mid.as_str()), ("buckets", "1000")],
        &[("buckets", "1")],
    ] {
        let buckets = filters
            .iter()
            .find(|f| f.0 == "buckets")
            .map_or(60, |f| f.1.parse().unwrap());
        assert_eq!(
            histogram(&server, &admin, filters),
            expected(&evs, filters, buckets),
            "{filters:?}"
        );
    }

    // A name never recorded matches nothing: no buckets over an open range (above), empty
    // buckets over a closed one.
    let none = histogram(
        &server,
        &admin,
        &[
            ("agent", "nobody"),
            ("since", since.as_str()),
            ("until", until.as_str()),
            ("buckets", "2"),
        ],
    );
    assert_eq!(none["edges"].as_array().unwrap().len(), 3, "{none}");
    assert_eq!(none["actions"], json!([]));
    assert_eq!(none["total"], 0);

    // The counts agree with what the events endpoint lists, page after page.
    let mut listed = 0;
    let mut cursor: Option<String> = None;
    loop {
        let page = get(
            &server,
            &admin,
            &format!(
                "/v1/logs/default/events?agent=agent-0&limit=1000{}",
                cursor.map_or(String::new(), |c| format!("&cursor={c}"))
            ),
        )
        .json();
        listed += page["events"].as_array().unwrap().len();
        match page["next"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(
        histogram(&server, &admin, &[("agent", "agent-0")])["total"],
        listed
    );
}

#[test]
fn bad_requests_say_what_to_change_and_only_readers_of_the_log_may_ask() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let admin = server.admin_token();
    let url = &server.url;
    let post = |path: &str, body: Value| {
        call(
            "POST",
            &format!("{url}{path}"),
            Some(&admin),
            Some(body.to_string().as_bytes()),
        )
    };
    assert_eq!(post("/v1/logs", json!({"name": "other"})).status, 201);
    let key = |log: &str, role: &str| {
        let r = post(
            &format!("/v1/logs/{log}/keys"),
            json!({"role": role, "label": "test"}),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        r.json()["key"].as_str().unwrap().to_owned()
    };
    let read = key("default", "read");
    let ingest = key("default", "ingest");
    let other_read = key("other", "read");
    let other_admin = key("other", "admin");
    let e = json!({"id": uuid7(1), "ts": rfc3339(BASE_US), "agent": {"id": "a"},
        "action": "decision", "status": "ok"});
    let r = call(
        "POST",
        &format!("{url}/v1/logs/default/events"),
        Some(&ingest),
        Some(json!({"events": [e]}).to_string().as_bytes()),
    );
    assert_eq!(r.status, 200, "{}", r.body);

    let path = "/v1/logs/default/events/histogram";
    let deadline = Instant::now() + Duration::from_secs(20);
    let ok = loop {
        let r = get(&server, &read, path);
        assert_eq!(r.status, 200, "{}", r.body);
        if r.json()["total"] == 1 {
            break r.json();
        }
        assert!(Instant::now() < deadline, "the index did not catch up");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(ok["actions"][0]["action"], "decision");
    assert_eq!(
        ok["actions"][0]["counts"],
        json!([1]),
        "one event, one bucket"
    );
    assert_eq!(get(&server, &admin, path).status, 200);

    // Keys of another log, whatever their role, an ingest key, or no key: refused.
    for (token, status) in [
        (Some(other_read.as_str()), 403),
        (Some(other_admin.as_str()), 403),
        (Some(ingest.as_str()), 403),
        (None, 401),
        (Some("sealog_not_a_key"), 401),
    ] {
        let r = call("GET", &format!("{url}{path}"), token, None);
        assert_eq!(r.status, status, "{token:?}: {}", r.body);
        assert!(
            r.json()["error"]["message"].as_str().is_some(),
            "{}",
            r.body
        );
        assert!(!r.body.contains("decision"), "nothing leaks: {}", r.body);
    }
    let r = call(
        "GET",
        &format!("{url}/v1/logs/other/events/histogram"),
        Some(&read),
        None,
    );
    assert_eq!(r.status, 403, "{}", r.body);

    // Malformed requests: a 400 whose message names the parameter and what is allowed.
    let since = rfc3339(BASE_US);
    for (query, says) in [
        (
            "buckets=0",
            "buckets=0 is out of range; ask for 1 to 1000 buckets",
        ),
        (
            "buckets=1001",
            "buckets=1001 is out of range; ask for 1 to 1000 buckets",
        ),
        ("buckets=many", "buckets"),
        (
            "since=yesterday",
            "since=\"yesterday\" is not an RFC 3339 time such as 2026-01-31T12:00:00Z",
        ),
        (
            "until=2026-13-01",
            "until=\"2026-13-01\" is not an RFC 3339 time",
        ),
        (
            &format!("since={since}&until={since}"),
            "is not before until=",
        ),
        ("limit=10", "unknown field `limit`"),
        ("cursor=i5", "unknown field `cursor`"),
        ("colour=red", "unknown field `colour`"),
    ] {
        let r = get(&server, &read, &format!("{path}?{query}"));
        assert_eq!(r.status, 400, "{query}: {}", r.body);
        let message = r.json()["error"]["message"].as_str().unwrap().to_owned();
        assert!(message.contains(says), "{query}: {message}");
    }
}
