//! The witnessed log, over the real binaries: three `sealog witness serve` and a `sealog
//! serve --witness-policy` with a 2-of-3 quorum under continuous ingest. Checkpoints become
//! witnessed; with one witness down they stay so; with two down `?wait=witnessed` times out
//! saying why; restarted witnesses catch up; a kill -9 of the server never makes a witness
//! refuse it; and a data directory restored from an old copy (no checkpoint lock) is refused
//! by the witnesses and reported as a fork on the log, in /readyz and in /metrics.

mod support;
mod witness;

use serde_json::{Value, json};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use support::*;
use witness::{ThreeWitnesses, Witness, free_addr};

const SERVE: &[&str] = &[
    "--checkpoint-interval-ms",
    "100",
    "--checkpoint-wait-ms",
    "3000",
    "--witness-alarm-ms",
    "1000",
];

fn serve(data: &Path, log: &Path) -> Serve {
    let policy = data.parent().unwrap().join("policy");
    let args = [SERVE, &["--witness-policy", policy.to_str().unwrap()]].concat();
    let envs = [("SEALOG_LOG", "error")];
    Serve::start_logging(
        data,
        &[&["--name", "test.local"], &args[..]].concat(),
        &envs,
        log,
    )
}

/// The cosigner names on a receipt's checkpoint.
fn cosigners(reply: &Reply) -> Vec<String> {
    let proof = reply.json()["results"][0]["proof"]
        .as_str()
        .unwrap()
        .to_owned();
    proof
        .lines()
        .filter_map(|l| l.strip_prefix("— "))
        .filter_map(|l| l.split(' ').next())
        .filter(|n| n.starts_with('w'))
        .map(str::to_owned)
        .collect()
}

fn witnessing(s: &Serve, token: &str) -> Value {
    let reply = call(
        "GET",
        &format!("{}/v1/logs/default", s.url),
        Some(token),
        None,
    );
    reply.json()["witnessing"].clone()
}

/// Starts ingest in the background (batches of 5, no waiting for checkpoints) until `stop`.
fn continuous_ingest<'s>(
    scope: &'s std::thread::Scope<'s, '_>,
    url: String,
    token: String,
    next: &'s AtomicU64,
    stop: &'s AtomicBool,
) -> std::thread::ScopedJoinHandle<'s, u64> {
    scope.spawn(move || {
        let mut batches = 0;
        while !stop.load(Ordering::Relaxed) {
            let first = next.fetch_add(5, Ordering::Relaxed);
            let events: Vec<Value> = (first..first + 5).map(|i| event(&uuid7(i), "bg")).collect();
            let body = serde_json::to_vec(&json!({ "events": events })).unwrap();
            let reply = call(
                "POST",
                &format!("{url}/v1/logs/default/events"),
                Some(&token),
                Some(&body),
            );
            assert_eq!(reply.status, 200, "{}", reply.body);
            batches += 1;
            std::thread::sleep(Duration::from_millis(20));
        }
        batches
    })
}

fn metric_lines(url: &str, token: Option<&str>, prefix: &str) -> Vec<String> {
    let text = call("GET", &format!("{url}/metrics"), token, None).body;
    text.lines()
        .filter(|l| l.starts_with(prefix))
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_two_of_three_witnessed_log_survives_outages_and_crashes_and_reports_a_fork() {
    let dir = tempfile::tempdir().unwrap();
    let (data, stderr) = (dir.path().join("data"), dir.path().join("serve.log"));
    // A first start makes the log and its key; the witnesses are told that key.
    let mut three = ThreeWitnesses::start(dir.path(), &data);
    let (token, vkey) = (three.token.clone(), three.vkey.clone());
    three.two_of_three_policy(["W0", "W1", "W2"]);

    let server = serve(&data, &stderr);
    let next = AtomicU64::new(1_000_000);
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let bg = continuous_ingest(scope, server.url.clone(), token.clone(), &next, &stop);
        let reply = record_waiting(&server, &token, 1, 3, "witnessed");
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert!(cosigners(&reply).len() >= 2, "{:?}", cosigners(&reply));
        // The receipt verifies offline against the policy.
        let receipt = dir.path().join("receipt.tlog-proof");
        std::fs::write(
            &receipt,
            reply.json()["results"][0]["proof"].as_str().unwrap(),
        )
        .unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_sealog"))
            .arg("verify")
            .arg(&receipt)
            .args(["--log-key", &vkey, "--policy"])
            .arg(dir.path().join("policy"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );

        three.witnesses[2].take().unwrap().kill();
        let reply = record_waiting(&server, &token, 10, 3, "witnessed");
        assert_eq!(reply.status, 200, "one witness down: {}", reply.body);
        assert_eq!(cosigners(&reply).len(), 2, "{:?}", cosigners(&reply));

        three.witnesses[1].take().unwrap().kill();
        let started = Instant::now();
        let reply = record_waiting(&server, &token, 20, 3, "witnessed");
        assert_eq!(reply.status, 503, "{}", reply.body);
        assert_eq!(reply.error_code(), "witness_timeout");
        let message = reply.json()["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(
            message.contains("quorum") && message.contains("W1"),
            "{message}"
        );
        assert!(
            started.elapsed() >= Duration::from_secs(3),
            "it waited the checkpoint wait"
        );
        let status = witnessing(&server, &token);
        assert!(status["witnesses"][1]["last_error"].is_string(), "{status}");
        // Quorum missed for longer than the alarm: /readyz says so.
        let ready = call("GET", &format!("{}/readyz", server.url), None, None);
        assert_eq!(ready.status, 503, "{}", ready.body);
        assert!(
            ready.body.contains("missed its witness quorum"),
            "{}",
            ready.body
        );

        three.witnesses[1] = Some(three.start_witness(1));
        three.witnesses[2] = Some(three.start_witness(2));
        let reply = record_waiting(&server, &token, 30, 3, "witnessed");
        assert_eq!(reply.status, 200, "witnesses back: {}", reply.body);
        // Each restarted witness is sent a proof from the size it last cosigned, and cosigns.
        let target = witnessing(&server, &token)["witnessed_size"]
            .as_u64()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let status = witnessing(&server, &token);
            let caught_up = |i: usize| {
                status["witnesses"][i]["cosigned_size"]
                    .as_u64()
                    .unwrap_or(0)
                    >= target
                    && status["witnesses"][i]["last_error"].is_null()
            };
            if (0..3).all(caught_up) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the witnesses did not catch up: {status}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        stop.store(true, Ordering::Relaxed);
        assert!(bg.join().unwrap() > 10, "ingest went on throughout");
    });
    assert_eq!(
        call("GET", &format!("{}/readyz", server.url), None, None).status,
        200
    );

    // kill -9 and restart: the server resumes with what the witnesses cosigned.
    server.kill();
    let backup = dir.path().join("backup");
    copy_dir(&data, &backup);
    let server = serve(&data, &stderr);
    let reply = record_waiting(&server, &token, 40, 3, "witnessed");
    assert_eq!(reply.status, 200, "after kill -9: {}", reply.body);
    let url = format!(
        "{}/v1/logs/default/events/{}/proof?wait=witnessed",
        server.url,
        uuid7(40)
    );
    let proof = call("GET", &url, Some(&token), None);
    assert_eq!(proof.status, 200, "{}", proof.body);
    let cosigned = proof.body.lines().filter(|l| l.starts_with("— w")).count();
    assert!(cosigned >= 2, "{}", proof.body);
    let _ = record_waiting(&server, &token, 50, 3, "witnessed");
    for w in three.witnesses.iter().flatten() {
        let refused = metric_lines(&w.url, None, "sealog_witness_add_checkpoint_total");
        assert!(
            !refused.iter().any(|l| l.contains("status=\"422\"")),
            "{refused:?}"
        );
    }
    assert!(witnessing(&server, &token)["fork"].is_null());
    // A log created now is witnessed too: these witnesses do not know its key (404).
    let body = br#"{"name": "second"}"#;
    let created = call(
        "POST",
        &format!("{}/v1/logs", server.url),
        Some(&token),
        Some(body),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let url = format!("{}/v1/logs/second", server.url);
        let status = call("GET", &url, Some(&token), None).json()["witnessing"].clone();
        let error = status["witnesses"][0]["last_error"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if error.contains("404") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the new log was not sent to the witnesses: {status}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(server);

    // A restored old copy, then new events: a different tree at sizes the witnesses saw.
    std::fs::remove_dir_all(&data).unwrap();
    std::fs::rename(&backup, &data).unwrap();
    let server = serve(&data, &stderr);
    let reply = record_waiting(&server, &token, 60, 20, "witnessed");
    assert_eq!(reply.status, 503, "{}", reply.body);
    let status = witnessing(&server, &token);
    let fork = status["fork"].as_str().unwrap_or_default();
    assert!(
        fork.contains("inconsistent") || fork.contains("larger"),
        "{status}"
    );
    let ready = call("GET", &format!("{}/readyz", server.url), None, None);
    assert!(
        ready.status == 503 && ready.body.contains("forked"),
        "{}",
        ready.body
    );
    let forked = metric_lines(&server.url, Some(&token), "sealog_log_forked");
    assert_eq!(forked, ["sealog_log_forked{log=\"default\"} 1"]);
    let log = std::fs::read_to_string(&stderr).unwrap();
    assert!(log.contains("FORK DETECTED"), "{log}");
    assert!(reply.body.contains("forked"), "{}", reply.body);
}

fn copy_dir(from: &Path, to: &Path) {
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn wait_witnessed_without_a_policy_is_refused_before_anything_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), &[]);
    let token = server.admin_token();
    let reply = record_waiting(&server, &token, 1, 1, "witnessed");
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert!(reply.body.contains("--witness-policy"), "{}", reply.body);
    let log = call(
        "GET",
        &format!("{}/v1/logs/default", server.url),
        Some(&token),
        None,
    );
    assert_eq!(log.json()["size"], 0);
    assert!(log.json()["witnessing"].is_null());
}

/// On a witnessed log, an incident's pack is sealed against a checkpoint that met the witness
/// policy, so `sealog verify --witness` accepts it.
#[test]
fn an_incident_pack_is_proven_against_a_witnessed_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let (data, stderr) = (dir.path().join("data"), dir.path().join("serve.log"));
    let first = Serve::start(&data, &[]);
    let token = first.admin_token();
    let url = format!("{}/v1/logs/default", first.url);
    let vkey = call("GET", &url, Some(&token), None).json()["vkey"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(first.terminate().success());
    let list = dir.path().join("logs");
    std::fs::write(&list, format!("log {vkey}\nquorum none\n")).unwrap();
    let witness = Witness::start(
        &dir.path().join("w0"),
        &list,
        &free_addr(),
        &["--name", "w0.test/w"],
    );
    let policy = format!("witness W0 {} {}\nquorum W0\n", witness.vkey(), witness.url);
    std::fs::write(dir.path().join("policy"), policy).unwrap();
    let server = serve(&data, &stderr);
    let reply = record_waiting(&server, &token, 1, 3, "witnessed");
    assert_eq!(reply.status, 200, "{}", reply.body);

    let body = json!({"title": "an unsafe answer", "since": "2000-01-01T00:00:00Z",
        "until": "2100-01-01T00:00:00Z"});
    let made = call(
        "POST",
        &format!("{}/v1/logs/default/incidents", server.url),
        Some(&token),
        Some(body.to_string().as_bytes()),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    let made = made.json();
    assert_eq!(made["pack"]["cosigned"], true, "{made}");
    let mut resp = agent()
        .get(format!(
            "{}{}",
            server.url,
            made["pack"]["url"].as_str().unwrap()
        ))
        .header("Authorization", format!("Bearer {token}"))
        .call()
        .unwrap();
    let pack = dir.path().join("incident.zip");
    std::fs::write(&pack, resp.body_mut().read_to_vec().unwrap()).unwrap();
    let (code, out) = sealog(&[
        "verify",
        pack.to_str().unwrap(),
        "--log-key",
        &vkey,
        "--witness",
        &witness.vkey(),
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("w0.test/w"), "{out}");
}
