//! Legal holds over real HTTP: an admin places, lists and lifts them; a hold blocks the
//! erasure of what it covers with a 409 naming it, and lifting it lets the erasure through;
//! placing and lifting are events in the log.

mod support;

use serde_json::{Value, json};
use support::*;

fn post(server: &Serve, path: &str, token: &str, body: Value) -> Reply {
    let url = format!("{}/v1/logs/default{path}", server.url);
    call("POST", &url, Some(token), Some(body.to_string().as_bytes()))
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
        server_actions(&server, &admin),
        [
            "legal_hold",
            "legal_hold",
            "legal_hold_lifted",
            "legal_hold_lifted",
            "erasure"
        ]
    );
}

/// An incident freeze records an `incident` event, holds its range (so an erasure of a
/// subject in it is refused, naming the hold) and stores a sealed pack of its events, its
/// own records included, that `sealog verify` accepts; incidents are listed for read keys.
#[test]
fn an_incident_freezes_its_range_in_a_stored_pack_that_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let admin = server.admin_token();
    let at = |n: u64, ts: &str, session: &str| {
        let mut e = event(&uuid7(n), "bot");
        e["ts"] = json!(ts);
        e["session"] = json!({"id": session, "seq": n});
        e["input"] = json!({"private": format!("prompt {n}")});
        e["context"] = json!({"subject": {"pseudo_id": format!("pseudo-{n}")}});
        e
    };
    let events = [
        at(1, "2026-03-01T10:00:00Z", "s-1"),
        at(2, "2026-03-01T11:00:00Z", "s-1"),
        at(3, "2026-03-01T11:30:00Z", "s-2"),
        at(4, "2026-03-02T09:00:00Z", "s-1"),
    ];
    let r = post(&server, "/events", &admin, json!({"events": events}));
    assert_eq!(r.json()["accepted"], 4, "{}", r.body);
    let read = post(&server, "/keys", &admin, json!({"role": "read"})).json()["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let incident = json!({"title": "refund bot paid out twice", "since": "2026-03-01T10:30:00Z",
        "until": "2026-03-02T00:00:00Z", "session": "s-1"});
    assert_eq!(
        post(&server, "/incidents", &read, incident.clone()).status,
        403
    );
    let backwards =
        json!({"title": "t", "since": "2026-03-02T00:00:00Z", "until": "2026-03-01T00:00:00Z"});
    assert_eq!(post(&server, "/incidents", &admin, backwards).status, 400);
    assert_eq!(
        post(
            &server,
            "/incidents",
            &admin,
            json!({"title": " ", "since": "2026-03-01T00:00:00Z", "until": "2026-03-02T00:00:00Z"})
        )
        .status,
        422
    );

    let made = post(&server, "/incidents", &admin, incident);
    assert_eq!(made.status, 201, "{}", made.body);
    let made = made.json();
    let id = made["id"].as_str().unwrap().to_owned();
    assert_eq!(made["filters"]["session"], "s-1", "{made}");
    // Event 2 is the only one in the range and session, with the hold and the incident event.
    assert_eq!(made["pack"]["entries"], 3, "{made}");
    assert_eq!(made["pack"]["cosigned"], false, "no witness policy: {made}");

    let listed = call(
        "GET",
        &format!("{}/v1/logs/default/incidents", server.url),
        Some(&read),
        None,
    )
    .json();
    assert_eq!(listed["incidents"].as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed["incidents"][0]["id"], json!(id));
    let url = format!("{}{}", server.url, made["pack"]["url"].as_str().unwrap());
    let pack = ureq_bytes(&url, &read);
    assert_eq!(pack.len() as u64, made["pack"]["bytes"].as_u64().unwrap());
    let sha = sealog_core::hex::encode(&sealog_core::evidence::sha256(&pack));
    assert_eq!(made["pack"]["sha256"], json!(sha));
    let path = dir.path().join("incident.zip");
    std::fs::write(&path, &pack).unwrap();
    let vkey = call(
        "GET",
        &format!("{}/v1/logs/default", server.url),
        Some(&read),
        None,
    )
    .json()["vkey"]
        .as_str()
        .unwrap()
        .to_owned();
    verify(&path, &vkey);
    let files = sealog_evidence::archive::read_zip(std::io::Cursor::new(&pack), Default::default())
        .unwrap();
    let manifest: Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    assert_eq!(manifest["entries"], 3, "{manifest}");
    assert_eq!(
        manifest["filters"]["until"], "2026-03-02T00:00:00Z",
        "{manifest}"
    );
    let entries = String::from_utf8(files["entries.jsonl"].clone()).unwrap();
    assert!(entries.contains(&uuid7(2)), "{entries}");
    for outside in [1, 3, 4] {
        assert!(!entries.contains(&uuid7(outside)), "{entries}");
    }
    assert!(entries.contains(r#""action":"incident""#), "{entries}");
    assert!(entries.contains(r#""action":"legal_hold""#), "{entries}");

    // The hold covers the range: erasing a subject of it is refused, naming the hold.
    let hold = made["hold"].as_str().unwrap();
    let refused = post(
        &server,
        "/subjects/pseudo-2/erasure",
        &admin,
        json!({"reason": "Art. 17"}),
    );
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(refused.body.contains(hold), "{}", refused.body);
    assert!(
        refused.body.contains("refund bot paid out twice"),
        "{}",
        refused.body
    );
    assert_eq!(
        server_actions(&server, &admin),
        ["legal_hold", "incident"],
        "the freeze is recorded in the log"
    );
    // Clients cannot record an incident themselves.
    let mut forged = event(&uuid7(9), "bot");
    forged["action"] = json!("incident");
    let r = post(&server, "/events", &admin, json!({"events": [forged]}));
    assert_eq!(r.json()["results"][0]["status"], "rejected", "{}", r.body);
}

/// The body of a GET with `token`, which must answer 200.
fn ureq_bytes(url: &str, token: &str) -> Vec<u8> {
    let mut r = agent()
        .get(url)
        .header("Authorization", &format!("Bearer {token}"))
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    r.body_mut()
        .with_config()
        .limit(1 << 30)
        .read_to_vec()
        .unwrap()
}
