//! Private content and erasure over real HTTP against the real binary: a `{"private": …}`
//! payload is stored encrypted outside the tree and read back by read keys only; erasing the
//! subject makes it unreadable everywhere (410, and nowhere under the data directory) while
//! packs and receipts made before and after the erasure verify.

mod support;

use serde_json::{Value, json};
use std::path::Path;
use support::*;

const MARKER: &str = "MARKER-7f3a9c-private-prompt";

/// Whether `needle` occurs in any file under `dir`.
fn found_under(dir: &Path, needle: &[u8]) -> bool {
    std::fs::read_dir(dir).unwrap().any(|entry| {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found_under(&path, needle)
        } else {
            let bytes = std::fs::read(&path).unwrap_or_default();
            bytes.windows(needle.len()).any(|w| w == needle)
        }
    })
}

fn private_event(n: u64, subject: Option<&str>, text: &str) -> Value {
    let mut e = event(&uuid7(n), "support-bot");
    e["action"] = json!("llm_call");
    e["input"] = json!({"private": {"prompt": format!("{MARKER} {text}")}, "media_type": "application/json"});
    e["output"] = json!({"private": format!("answer {n}")});
    if let Some(s) = subject {
        e["context"] = json!({"subject": {"pseudo_id": s}});
    }
    e
}

struct Ctx {
    server: Serve,
    admin: String,
    read: String,
    ingest: String,
}

impl Ctx {
    fn start(data: &Path) -> Ctx {
        let server = Serve::start(data, &[]);
        let admin = server.admin_token();
        let key = |role: &str| {
            let r = call(
                "POST",
                &format!("{}/v1/logs/default/keys", server.url),
                Some(&admin),
                Some(json!({"role": role}).to_string().as_bytes()),
            );
            assert_eq!(r.status, 201, "{}", r.body);
            r.json()["key"].as_str().unwrap().to_owned()
        };
        let (read, ingest) = (key("read"), key("ingest"));
        Ctx {
            server,
            admin,
            read,
            ingest,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/v1/logs/default{path}", self.server.url)
    }

    fn ingest(&self, events: &[Value]) -> Value {
        let body = json!({"events": events}).to_string();
        let r = call(
            "POST",
            &self.url("/events?wait=checkpoint"),
            Some(&self.ingest),
            Some(body.as_bytes()),
        );
        assert!(r.status == 200 || r.status == 422, "{}", r.body);
        r.json()
    }

    fn content(&self, n: u64, token: &str) -> Reply {
        call(
            "GET",
            &self.url(&format!("/events/{}/content", uuid7(n))),
            Some(token),
            None,
        )
    }

    /// Exports the whole log, with the `sealog export` flags `extra`, once a checkpoint covers
    /// all of it.
    fn export(&self, to: &Path, extra: &[&str]) {
        for _ in 0..100 {
            let info = call("GET", &self.url(""), Some(&self.admin), None).json();
            if info["checkpoint"]["size"] == info["size"] {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let (code, out) = sealog(
            &[
                "export",
                "--server",
                &self.server.url,
                "--token",
                &self.admin,
                "-o",
                to.to_str().unwrap(),
            ]
            .iter()
            .chain(extra)
            .copied()
            .collect::<Vec<_>>(),
        );
        assert_eq!(code, 0, "{out}");
    }

    fn erase(&self, subject: &str, token: &str, body: Value) -> Reply {
        call(
            "POST",
            &self.url(&format!("/subjects/{subject}/erasure")),
            Some(token),
            Some(body.to_string().as_bytes()),
        )
    }
}

#[test]
fn private_content_round_trips_for_read_keys_and_erasure_keeps_every_proof() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let ctx = Ctx::start(&data);
    let reply = ctx.ingest(&[
        private_event(1, Some("pseudo-1"), "one"),
        private_event(2, Some("pseudo-1"), "two"),
        private_event(3, Some("pseudo-2"), "three"),
        private_event(4, None, "no subject"),
        {
            let mut e = event(&uuid7(5), "forger");
            e["action"] = json!("erasure");
            e
        },
    ]);
    let results = reply["results"].as_array().unwrap();
    let statuses: Vec<&str> = results
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["accepted", "accepted", "accepted", "rejected", "rejected"],
        "{reply}"
    );
    assert_eq!(
        results[3]["errors"][0]["path"], "context.subject.pseudo_id",
        "{reply}"
    );
    assert!(
        results[4]["error"]
            .as_str()
            .unwrap()
            .contains("recorded by the server"),
        "{reply}"
    );
    let receipt_before = results[0]["proof"].as_str().unwrap().to_owned();

    // The leaf holds only the reference, with the ciphertext's digest; the content is nowhere
    // in the data directory in the clear.
    let got = call(
        "GET",
        &ctx.url(&format!("/events/{}", uuid7(1))),
        Some(&ctx.read),
        None,
    )
    .json();
    let input = &got["event"]["input"];
    assert_eq!(input["encrypted"]["subject"], "pseudo-1", "{got}");
    assert_eq!(
        input["encrypted"]["ciphertext_sha256"]
            .as_str()
            .unwrap()
            .len(),
        64
    );
    assert_eq!(input["media_type"], "application/json");
    assert!(!got["leaf"].as_str().unwrap().contains(MARKER));
    assert!(!found_under(&data, MARKER.as_bytes()));

    // Read and admin keys read it back; an ingest key never does.
    for token in [&ctx.read, &ctx.admin] {
        let c = ctx.content(1, token);
        assert_eq!(c.status, 200, "{}", c.body);
        assert_eq!(
            c.json(),
            json!({"input": {"prompt": format!("{MARKER} one")}, "output": "answer 1"})
        );
    }
    assert_eq!(ctx.content(1, &ctx.ingest).status, 403);
    // A retry of the same event is a duplicate, not a conflict, though blobs get fresh nonces.
    let again = ctx.ingest(&[private_event(1, Some("pseudo-1"), "one")]);
    assert_eq!(again["results"][0]["status"], "duplicate", "{again}");

    // Subject access: the subject's events with their content, for read keys only.
    let access = call("GET", &ctx.url("/subjects/pseudo-1"), Some(&ctx.read), None).json();
    let found: Vec<&Value> = access["events"].as_array().unwrap().iter().collect();
    assert_eq!(found.len(), 2, "{access}");
    assert_eq!(found[1]["content"]["output"], "answer 2", "{access}");
    assert!(access["erased"].is_null());
    assert_eq!(
        call(
            "GET",
            &ctx.url("/subjects/pseudo-1"),
            Some(&ctx.ingest),
            None
        )
        .status,
        403
    );

    let vkey = call("GET", &ctx.url(""), Some(&ctx.admin), None).json()["vkey"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = dir.path().join("before.zip");
    ctx.export(&before, &[]);
    verify(&before, &vkey);

    // Erasure needs an admin key and a reason.
    assert_eq!(
        ctx.erase("pseudo-1", &ctx.read, json!({"reason": "x"}))
            .status,
        403
    );
    let no_reason = ctx.erase("pseudo-1", &ctx.admin, json!({"reason": " "}));
    assert_eq!(no_reason.status, 422, "{}", no_reason.body);
    let erased = ctx.erase(
        "pseudo-1",
        &ctx.admin,
        json!({"reason": "GDPR Art. 17 request 42"}),
    );
    assert_eq!(erased.status, 200, "{}", erased.body);
    let erased = erased.json();
    assert_eq!(
        erased["blobs"], 4,
        "two events, input and output each: {erased}"
    );
    let again = ctx
        .erase("pseudo-1", &ctx.admin, json!({"reason": "again"}))
        .json();
    assert_eq!(
        (&again["erased"], &again["event"]),
        (&erased["erased"], &erased["event"]),
        "idempotent"
    );

    let gone = ctx.content(1, &ctx.read);
    assert_eq!(
        (gone.status, gone.error_code().as_str()),
        (410, "erased"),
        "{}",
        gone.body
    );
    assert!(
        gone.body.contains(erased["erased"].as_str().unwrap()),
        "{}",
        gone.body
    );
    assert_eq!(
        ctx.content(3, &ctx.read).status,
        200,
        "another subject is kept"
    );
    // One erasure event, by the server, naming the subject, the count and the reason.
    // The query index follows the log asynchronously: read it once it has caught up.
    let events = (0..100)
        .map(|_| {
            std::thread::sleep(std::time::Duration::from_millis(20));
            call(
                "GET",
                &ctx.url("/events?action=erasure"),
                Some(&ctx.read),
                None,
            )
            .json()
        })
        .find(|page| page["index_watermark"] == page["size"])
        .expect("the index catches up");
    let list = events["events"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{events}");
    let e = &list[0]["event"];
    assert_eq!(e["context"]["subject"]["pseudo_id"], "pseudo-1");
    assert_eq!(
        (&e["attributes"]["blobs"], &e["attributes"]["reason"]),
        (&json!(4), &json!("GDPR Art. 17 request 42"))
    );
    assert_eq!(e["agent"]["id"], "sealog");
    // After the erasure, subject access lists the same events (and the erasure), no content.
    let access = call("GET", &ctx.url("/subjects/pseudo-1"), Some(&ctx.read), None).json();
    let found = access["events"].as_array().unwrap();
    assert_eq!(found.len(), 3, "{access}");
    assert!(found.iter().all(|e| e["content"].is_null()), "{access}");
    assert_eq!(access["erased"]["erased"], erased["erased"], "{access}");
    // New private content about an erased subject is refused, by name.
    let refused = ctx.ingest(&[private_event(6, Some("pseudo-1"), "later")]);
    assert!(
        refused["results"][0]["error"]
            .as_str()
            .unwrap()
            .contains("was erased on"),
        "{refused}"
    );

    // Packs from before and after, and the receipt, still verify.
    let after = dir.path().join("after.zip");
    ctx.export(&after, &[]);
    let out = verify(&before, &vkey);
    assert!(!out.contains("content erased"), "{out}");
    let out = verify(&after, &vkey);
    let when = erased["erased"].as_str().unwrap();
    let line = format!(
        "content erased on {when}: subject \"pseudo-1\" (GDPR Art. 17 request 42); 4 payload(s)"
    );
    assert!(out.contains(&line), "{out}");
    let receipt = dir.path().join("e1.tlog-proof");
    std::fs::write(&receipt, receipt_before).unwrap();
    verify(&receipt, &vkey);

    // The plaintext of the erased subject is nowhere in the data directory, nor is it after a
    // restart; the other subject's content survives the restart.
    let server_dir = data.clone();
    let Ctx { server, read, .. } = ctx;
    server.kill();
    let restarted = Serve::start(&server_dir, &[]);
    let url = |n: u64| {
        format!(
            "{}/v1/logs/default/events/{}/content",
            restarted.url,
            uuid7(n)
        )
    };
    assert_eq!(call("GET", &url(1), Some(&read), None).status, 410);
    assert_eq!(call("GET", &url(3), Some(&read), None).status, 200);
    assert!(!found_under(&data, MARKER.as_bytes()));
}

/// With `SEALOG_KEK_DIR`, the log's KEK lives there (mode 0600) and not in the data directory;
/// a rotation by an admin replaces it and the content stays readable.
#[test]
fn the_kek_lives_in_the_kek_dir_and_rotates() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let (data, keks) = (dir.path().join("data"), dir.path().join("keks"));
    let server = Serve::start_with(
        &data,
        &["--name", "test.local"],
        &[("SEALOG_KEK_DIR", keks.to_str().unwrap())],
    );
    let admin = server.admin_token();
    let url = |path: &str| format!("{}/v1/logs/default{path}", server.url);
    let body = json!({"events": [private_event(1, Some("pseudo-k"), "kek")]}).to_string();
    let r = call("POST", &url("/events"), Some(&admin), Some(body.as_bytes()));
    assert_eq!(r.json()["accepted"], 1, "{}", r.body);
    let kek_file = keks.join("default.kek");
    let kek_id = || {
        let kek: Value = serde_json::from_slice(&std::fs::read(&kek_file).unwrap()).unwrap();
        kek["id"].as_str().unwrap().to_owned()
    };
    let mode = std::fs::metadata(&kek_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(!data.join("content/default/kek").exists());
    let before = kek_id();

    let read = call(
        "POST",
        &url("/keys"),
        Some(&admin),
        Some(br#"{"role": "read"}"#),
    );
    let read = read.json()["key"].as_str().unwrap().to_owned();
    assert_eq!(
        call("POST", &url("/kek/rotate"), Some(&read), None).status,
        403
    );
    let rotated = call("POST", &url("/kek/rotate"), Some(&admin), None);
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    assert_eq!(rotated.json()["kek_id"].as_str().unwrap(), kek_id());
    assert_ne!(kek_id(), before);
    let content = call(
        "GET",
        &url(&format!("/events/{}/content", uuid7(1))),
        Some(&read),
        None,
    );
    assert_eq!(content.status, 200, "{}", content.body);
    assert_eq!(content.json()["output"], "answer 1");
}

/// The lines of `content.jsonl` in the pack at `path`, by (index, field); none if it has none.
fn content_of(path: &Path) -> Option<Vec<Value>> {
    let files =
        sealog_evidence::archive::read_zip(std::fs::File::open(path).unwrap(), Default::default())
            .unwrap();
    let lines = files.get("content.jsonl")?;
    Some(
        sealog_core::evidence::lines(lines)
            .into_iter()
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect(),
    )
}

fn manifest_of(path: &Path) -> Value {
    let file = std::fs::File::open(path).unwrap();
    let bytes = sealog_evidence::archive::read_one(file, "manifest.json", 1 << 20).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// `sealog export --content` puts the decrypted content of private events in the pack and
/// `--subject` exports one data subject's events with theirs; both verify, before and after
/// the subject's erasure, which turns the content into the time and reason of the erasure.
#[test]
fn packs_carry_decrypted_content_and_subject_access_is_a_pack() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = Ctx::start(&dir.path().join("data"));
    ctx.ingest(&[
        private_event(1, Some("pseudo-1"), "one"),
        private_event(2, Some("pseudo-2"), "two"),
        event(&uuid7(3), "plain-bot"),
        private_event(4, Some("pseudo-1"), "four"),
    ]);
    let vkey = call("GET", &ctx.url(""), Some(&ctx.admin), None).json()["vkey"]
        .as_str()
        .unwrap()
        .to_owned();
    let bad = call(
        "GET",
        &ctx.url("/export?content=yes"),
        Some(&ctx.read),
        None,
    );
    assert_eq!(bad.status, 400, "{}", bad.body);
    let ingest = call(
        "GET",
        &ctx.url("/export?content=true"),
        Some(&ctx.ingest),
        None,
    );
    assert_eq!(ingest.status, 403, "{}", ingest.body);

    let plain = dir.path().join("plain.zip");
    ctx.export(&plain, &[]);
    assert_eq!(content_of(&plain), None);
    assert!(!verify(&plain, &vkey).contains("content of private events"));

    let with = dir.path().join("with.zip");
    ctx.export(&with, &["--content"]);
    let out = verify(&with, &vkey);
    assert!(
        out.contains("content of private events: 6 payload(s) included in content.jsonl"),
        "{out}"
    );
    assert!(out.contains("not to this plaintext"), "{out}");
    let lines = content_of(&with).unwrap();
    assert_eq!(lines.len(), 6, "{lines:?}");
    assert_eq!(
        lines[0],
        json!({"index": 0, "id": uuid7(1), "field": "input",
               "content": {"prompt": format!("{MARKER} one")}})
    );
    assert_eq!(lines[5]["content"], "answer 4");
    let files =
        sealog_evidence::archive::read_zip(std::fs::File::open(&with).unwrap(), Default::default())
            .unwrap();
    let report = String::from_utf8(files["report.md"].clone()).unwrap();
    assert!(report.contains("## Content of private events"), "{report}");
    assert!(manifest_of(&with)["files"]["content.jsonl"].is_string());

    let subject = dir.path().join("subject.zip");
    ctx.export(&subject, &["--subject", "pseudo-1"]);
    let out = verify(&subject, &vkey);
    assert!(out.contains("4 payload(s) included"), "{out}");
    let manifest = manifest_of(&subject);
    assert_eq!(manifest["filters"], json!({"subject": "pseudo-1"}));
    assert_eq!(manifest["entries"], 2, "only pseudo-1's events: {manifest}");
    let ids: Vec<&str> = ["input", "output", "input", "output"].to_vec();
    let lines = content_of(&subject).unwrap();
    assert_eq!(
        lines
            .iter()
            .map(|l| l["field"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ids
    );
    assert_eq!(lines[2]["content"]["prompt"], format!("{MARKER} four"));

    let erased = ctx.erase("pseudo-1", &ctx.admin, json!({"reason": "GDPR Art. 17 #9"}));
    assert_eq!(erased.status, 200, "{}", erased.body);
    let when = erased.json()["erased"].as_str().unwrap().to_owned();
    let after = dir.path().join("subject-after.zip");
    ctx.export(&after, &["--subject", "pseudo-1"]);
    let out = verify(&after, &vkey);
    assert!(out.contains("0 payload(s) included"), "{out}");
    assert!(
        out.contains(&format!(
            "content erased on {when}: 4 payload(s) of this pack"
        )),
        "{out}"
    );
    assert_eq!(
        manifest_of(&after)["entries"],
        3,
        "the erasure event is about the subject too"
    );
    for line in content_of(&after).unwrap() {
        assert_eq!(
            (&line["erased"], &line["reason"], &line["content"]),
            (&json!(when), &json!("GDPR Art. 17 #9"), &Value::Null),
            "{line}"
        );
    }
    // The other subject's content is still in a whole-log pack; the packs from before the
    // erasure still verify, and still hold what they held.
    let all = dir.path().join("all-after.zip");
    ctx.export(&all, &["--content"]);
    let lines = content_of(&all).unwrap();
    assert_eq!(lines[2]["content"]["prompt"], format!("{MARKER} two"));
    assert!(verify(&all, &vkey).contains("2 payload(s) included"));
    verify(&with, &vkey);
    verify(&subject, &vkey);
}
