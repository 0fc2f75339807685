//! Legal holds over real HTTP: an admin places, lists and lifts them; a hold blocks the
//! erasure of what it covers with a 409 naming it, and lifting it lets the erasure through;
//! placing and lifting are events in the log.

mod support;

use serde_json::{Value, json};
use std::time::Duration;
use support::*;

fn post(server: &Serve, path: &str, token: &str, body: Value) -> Reply {
    let url = format!("{}/v1/logs/default{path}", server.url);
    call("POST", &url, Some(token), Some(body.to_string().as_bytes()))
}

fn actions(server: &Serve, token: &str) -> Vec<String> {
    let url = format!("{}/v1/logs/default/events?agent=sealog", server.url);
    for _ in 0..100 {
        let page = call("GET", &url, Some(token), None).json();
        if page["index_watermark"] == page["size"] {
            let mut out: Vec<String> = page["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["event"]["action"].as_str().unwrap().to_owned())
                .collect();
            out.reverse();
            return out;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the index never caught up");
}

#[test]
fn a_hold_blocks_erasure_until_it_is_lifted_and_both_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let admin = server.admin_token();
    let mut e = event(&uuid7(1), "bot");
    e["input"] = json!({"private": "held content"});
    e["context"] = json!({"subject": {"pseudo_id": "pseudo-h"}});
    let r = post(&server, "/events", &admin, json!({"events": [e]}));
    assert_eq!(r.json()["accepted"], 1, "{}", r.body);

    let bad = post(
        &server,
        "/holds",
        &admin,
        json!({"reason": "case", "since": "yesterday"}),
    );
    assert_eq!(bad.status, 400, "{}", bad.body);
    let read = post(&server, "/keys", &admin, json!({"role": "read"})).json()["key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        post(&server, "/holds", &read, json!({"reason": "case"})).status,
        403
    );

    let on_subject = post(
        &server,
        "/holds",
        &admin,
        json!({"reason": "court order 7", "subject": "pseudo-h"}),
    );
    assert_eq!(on_subject.status, 201, "{}", on_subject.body);
    let subject_hold = on_subject.json()["id"].as_str().unwrap().to_owned();
    let on_range = post(
        &server,
        "/holds",
        &admin,
        json!({"reason": "audit", "since": "2026-01-01T00:00:00Z", "until": "2026-02-01T00:00:00Z"}),
    );
    let range_hold = on_range.json()["id"].as_str().unwrap().to_owned();
    let listed = call(
        "GET",
        &format!("{}/v1/logs/default/holds", server.url),
        Some(&admin),
        None,
    )
    .json();
    let ids: Vec<&str> = listed["holds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [subject_hold.as_str(), range_hold.as_str()],
        "{listed}"
    );
    assert_eq!(listed["holds"][0]["subject"], "pseudo-h");

    let erase = |subject: &str| {
        post(
            &server,
            &format!("/subjects/{subject}/erasure"),
            &admin,
            json!({"reason": "Art. 17"}),
        )
    };
    let blocked = erase("pseudo-h");
    assert_eq!(
        (blocked.status, blocked.error_code().as_str()),
        (409, "held"),
        "{}",
        blocked.body
    );
    assert!(
        blocked.body.contains(&subject_hold) && blocked.body.contains("court order 7"),
        "{}",
        blocked.body
    );
    let delete = |id: &str| {
        call(
            "DELETE",
            &format!("{}/v1/logs/default/holds/{id}", server.url),
            Some(&admin),
            None,
        )
    };
    assert_eq!(delete(&subject_hold).status, 200);
    // The time-range hold names no subject, so it may cover this subject's events: it blocks too.
    let blocked = erase("pseudo-h");
    assert_eq!(blocked.status, 409, "{}", blocked.body);
    assert!(blocked.body.contains(&range_hold), "{}", blocked.body);
    assert_eq!(delete(&range_hold).status, 200);
    assert_eq!(delete(&range_hold).status, 404, "lifted already");

    let done = erase("pseudo-h");
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(done.json()["blobs"], 1);
    let url = format!("{}/v1/logs/default/events/{}/content", server.url, uuid7(1));
    assert_eq!(call("GET", &url, Some(&admin), None).status, 410);
    assert_eq!(
        actions(&server, &admin),
        [
            "legal_hold",
            "legal_hold",
            "legal_hold_lifted",
            "legal_hold_lifted",
            "erasure"
        ]
    );
}
