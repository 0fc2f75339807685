//! RFC 3161 anchoring end to end: a real `sealog serve --tsa-url … --tsa-roots …` against a
//! local TSA (`openssl ts -reply` behind HTTP). Tokens are stored, served, and pass `openssl
//! ts -verify` over the checkpoint's text; a token over another checkpoint is refused by
//! openssl and by Sealog's verifier; a TSA answering garbage, another nonce or from an
//! untrusted chain is counted as a failure and nothing is stored.

mod support;
mod tsa;

use sealog_evidence::tsp as token;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use support::{Serve, call, event, sealog_verify as verify, uuid7};
use tsa::{Tsa, make_pki};

fn serve(data: &Path, tsa_url: &str, roots: &Path) -> Serve {
    serve_every(data, tsa_url, roots, "100")
}

/// A server time-stamping at most once per `interval_ms`.
fn serve_every(data: &Path, tsa_url: &str, roots: &Path, interval_ms: &str) -> Serve {
    let roots = roots.to_str().unwrap();
    let args = [
        "--name",
        "test.local",
        "--tsa-url",
        tsa_url,
        "--tsa-roots",
        roots,
        "--tsa-interval-ms",
        interval_ms,
        "--checkpoint-interval-ms",
        "50",
    ];
    Serve::start_with(data, &args, &[])
}

fn record(server: &Serve, first: u64, n: u64) {
    let events: Vec<_> = (first..first + n)
        .map(|i| event(&uuid7(i), "bot"))
        .collect();
    let url = format!("{}/v1/logs/default/events?wait=checkpoint", server.url);
    let body = serde_json::to_vec(&json!({ "events": events })).unwrap();
    let reply = call("POST", &url, Some(&server.admin_token()), Some(&body));
    assert_eq!(reply.status, 200, "{}", reply.body);
}

fn timestamping(server: &Serve) -> Value {
    let url = format!("{}/v1/logs/default", server.url);
    call("GET", &url, Some(&server.admin_token()), None).json()["timestamping"].clone()
}

/// Polls the log's `timestamping` summary until `done` holds (10 s at most).
fn wait_for(server: &Serve, done: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let ts = timestamping(server);
        if done(&ts) {
            return ts;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "timed out: {ts}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The stored token of checkpoint `size`: status, content type, bytes.
fn fetch_token(server: &Serve, size: u64) -> (u16, String, Vec<u8>) {
    let url = format!(
        "{}/v1/logs/default/checkpoints/{size}/timestamp",
        server.url
    );
    let mut resp = support::agent()
        .get(&url)
        .header("Authorization", format!("Bearer {}", server.admin_token()))
        .call()
        .unwrap();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = resp.body_mut().read_to_vec().unwrap();
    (resp.status().as_u16(), ct.unwrap_or_default(), body)
}

/// The text of the latest checkpoint (the note without its signature lines) and its size.
fn checkpoint_text(server: &Serve) -> (u64, String) {
    let url = format!("{}/v1/logs/default/checkpoint", server.url);
    let note = call("GET", &url, Some(&server.admin_token()), None).body;
    let text = note.split_once("\n\n").unwrap().0.to_owned() + "\n";
    let size = text.lines().nth(1).unwrap().parse().unwrap();
    (size, text)
}

fn openssl_verify(dir: &Path, data: &str, token: &[u8]) -> bool {
    std::fs::write(dir.join("data.txt"), data).unwrap();
    std::fs::write(dir.join("token.tsr"), token).unwrap();
    Command::new("openssl")
        .args([
            "ts",
            "-verify",
            "-data",
            "data.txt",
            "-CAfile",
            "root.pem",
            "-untrusted",
            "tsa.pem",
            "-in",
            "token.tsr",
        ])
        .current_dir(dir)
        .output()
        .unwrap()
        .status
        .success()
}

fn roots(dir: &Path) -> token::Roots {
    token::Roots::from_pem(&std::fs::read(dir.join("root.pem")).unwrap()).unwrap()
}

#[test]
fn checkpoints_are_time_stamped_stored_served_and_pass_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let pki = dir.path().join("pki");
    make_pki(&pki);
    let tsa = Tsa::start(&pki, "ok");
    let server = serve(&dir.path().join("data"), &tsa.url, &pki.join("root.pem"));

    record(&server, 1, 3);
    let (size, text) = checkpoint_text(&server);
    let ts = wait_for(&server, |t| t["latest"]["size"] == size);
    assert_eq!(ts["latest"]["tsa"], "CN=Sealog Test TSA", "{ts}");
    assert_eq!(ts["latest"]["url"], tsa.url.as_str(), "{ts}");
    assert!(
        ts["latest"]["gen_time"].as_str().unwrap().ends_with('Z'),
        "{ts}"
    );
    assert_eq!(ts["last_error"], Value::Null, "{ts}");
    // The tree did not grow: no other request for many intervals.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(timestamping(&server)["requests"], ts["requests"]);

    let (status, ct, first) = fetch_token(&server, size);
    assert_eq!((status, ct.as_str()), (200, "application/timestamp-reply"));
    assert!(
        openssl_verify(&pki, &text, &first),
        "openssl refused the stored token"
    );
    let stamp =
        token::verify(&first, &token::imprint(text.as_bytes()), None, &roots(&pki)).unwrap();
    assert_eq!(stamp.tsa, "CN=Sealog Test TSA");

    // A later checkpoint gets its own token; it is no time-stamp of the first checkpoint.
    record(&server, 10, 2);
    let (later_size, later_text) = checkpoint_text(&server);
    wait_for(&server, |t| t["latest"]["size"] == later_size);
    let (_, _, later) = fetch_token(&server, later_size);
    assert!(openssl_verify(&pki, &later_text, &later));
    assert!(
        !openssl_verify(&pki, &text, &later),
        "openssl took a token over another checkpoint"
    );
    let err =
        token::verify(&later, &token::imprint(text.as_bytes()), None, &roots(&pki)).unwrap_err();
    assert!(err.contains("message imprint"), "{err}");

    let url = format!("{}/v1/logs/default/checkpoints/x1/timestamp", server.url);
    let reply = call("GET", &url, Some(&server.admin_token()), None);
    assert_eq!(
        (reply.status, reply.error_code().as_str()),
        (400, "bad_request"),
        "{}",
        reply.body
    );
    let (status, _, body) = fetch_token(&server, 1);
    assert_eq!(status, 404);
    let body = String::from_utf8(body).unwrap();
    assert!(
        body.contains("no time-stamp for the checkpoint of size 1"),
        "{body}"
    );

    let metrics = call(
        "GET",
        &format!("{}/metrics", server.url),
        Some(&server.admin_token()),
        None,
    )
    .body;
    assert!(
        metrics.contains("sealog_tsa_requests_total{log=\"default\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("sealog_tsa_failures_total{log=\"default\"} 0"),
        "{metrics}"
    );

    // The stored time-stamp survives a restart and is listed again.
    let data = server.data.clone();
    server.terminate();
    let server = serve(&data, &tsa.url, &pki.join("root.pem"));
    let ts = timestamping(&server);
    assert!(ts["latest"]["size"].as_u64().unwrap() >= later_size, "{ts}");
}

/// Runs a server against `tsa` with `roots` and checks that its time-stamps fail with an
/// error containing `why` and that nothing is stored or served.
fn refused(tsa: &Tsa, roots: &Path, why: &str) {
    let data = tempfile::tempdir().unwrap();
    let server = serve(data.path(), &tsa.url, roots);
    record(&server, 1, 2);
    let ts = wait_for(&server, |t| t["failures"].as_u64() >= Some(2));
    let error = ts["last_error"].as_str().unwrap_or_default();
    assert!(error.contains(why), "{why:?} not in {ts}");
    assert_eq!(ts["latest"], Value::Null, "{ts}");
    let (size, _) = checkpoint_text(&server);
    assert_eq!(fetch_token(&server, size).0, 404);
    let stored = data.path().join("timestamps/default");
    let files: Vec<_> = std::fs::read_dir(&stored)
        .map(|d| d.collect())
        .unwrap_or_default();
    assert!(files.is_empty(), "{files:?}");
}

#[test]
fn garbage_another_nonce_or_an_untrusted_chain_is_a_failure_never_stored() {
    let dir = tempfile::tempdir().unwrap();
    let (pki, other) = (dir.path().join("pki"), dir.path().join("other"));
    make_pki(&pki);
    make_pki(&other);
    let roots = pki.join("root.pem");
    refused(&Tsa::start(&pki, "garbage"), &roots, "not a TimeStampResp");
    refused(
        &Tsa::start(&pki, "wrong-nonce"),
        &roots,
        "nonce is not the one sent",
    );
    refused(
        &Tsa::start(&pki, "ok"),
        &other.join("root.pem"),
        "does not chain to the pinned roots",
    );
}

#[test]
fn evidence_packs_carry_the_tokens_and_verify_checks_them_offline() {
    let dir = tempfile::tempdir().unwrap();
    let (pki, other) = (dir.path().join("pki"), dir.path().join("other"));
    make_pki(&pki);
    make_pki(&other);
    let tsa = Tsa::start(&pki, "ok");
    // The first growth is time-stamped at once, the next not for a minute.
    let server = serve_every(
        &dir.path().join("data"),
        &tsa.url,
        &pki.join("root.pem"),
        "60000",
    );
    record(&server, 1, 3);
    let (size, _) = checkpoint_text(&server);
    wait_for(&server, |t| t["latest"]["size"] == size);
    record(&server, 10, 2);

    let url = format!("{}/v1/logs/default", server.url);
    let info = call("GET", &url, Some(&server.admin_token()), None).json();
    let vkey = info["vkey"].as_str().unwrap().to_owned();
    let pack = dir.path().join("pack.zip");
    support::export_pack(&server, &server.admin_token(), &pack);

    let root = pki.join("root.pem");
    let (code, out) = verify(&pack, &vkey, &["--tsa-roots", root.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    let bound = format!(
        "time-stamp of checkpoint {size} verified: 3 event(s) of this pack (log index 0 to 2) \
         recorded no later than "
    );
    assert!(out.contains(&bound), "{out}");
    assert!(out.contains("per TSA CN=Sealog Test TSA"), "{out}");
    assert!(
        out.contains("2 event(s) of this pack (log index 3 and above) are under no time-stamp"),
        "{out}"
    );

    let (code, out) = verify(&pack, &vkey, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("1 RFC 3161 time-stamp(s) in the pack were NOT checked"),
        "{out}"
    );

    let untrusted = other.join("root.pem");
    let (code, out) = verify(
        &pack,
        &vkey,
        &["--tsa-roots", untrusted.to_str().unwrap(), "--json"],
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("does not chain to the pinned roots"), "{out}");
}

#[test]
fn the_config_file_and_the_environment_set_the_tsas_and_bad_settings_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let pki = dir.path().join("pki");
    make_pki(&pki);
    let tsa = Tsa::start(&pki, "ok");
    let guarded = Tsa::start_requiring(&pki, "X-Tsa-Key: secret");
    let roots = pki.join("root.pem");
    let roots = roots.to_str().unwrap();
    let config = dir.path().join("sealog.toml");
    let toml = format!(
        "name = \"test.local\"\ntsa_url = [{:?}]\ntsa_roots = {roots:?}\ntsa_interval_ms = 100\n\
         tsa_auth_header = \"X-Tsa-Key: secret\"\n",
        guarded.url
    );
    std::fs::write(&config, toml).unwrap();
    let from_file = Serve::start_with(
        &dir.path().join("file"),
        &["--config", config.to_str().unwrap()],
        &[],
    );
    let env = [
        ("SEALOG_TSA_URL", tsa.url.as_str()),
        ("SEALOG_TSA_ROOTS", roots),
    ];
    let from_env = Serve::start_with(&dir.path().join("env"), &["--name", "test.local"], &env);
    for server in [&from_file, &from_env] {
        record(server, 1, 1);
        wait_for(server, |t| t["latest"]["size"] == 1);
    }
    // Without the header, the guarded TSA refuses.
    let env = [
        ("SEALOG_TSA_URL", guarded.url.as_str()),
        ("SEALOG_TSA_ROOTS", roots),
    ];
    let bare = Serve::start_with(&dir.path().join("bare"), &["--name", "test.local"], &env);
    record(&bare, 1, 1);
    let ts = wait_for(&bare, |t| t["failures"].as_u64() >= Some(1));
    assert!(
        ts["last_error"].as_str().unwrap().contains("status 401"),
        "{ts}"
    );

    let refused = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_sealog"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(dir.path().join("never"))
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = refused(&["--tsa-url", &tsa.url]);
    assert!(err.contains("--tsa-url needs --tsa-roots"), "{err}");
    let err = refused(&[
        "--tsa-url",
        &tsa.url,
        "--tsa-roots",
        roots,
        "--tsa-auth-header",
        "x",
    ]);
    assert!(err.contains("is not `Name: value`"), "{err}");
    let err = refused(&[
        "--tsa-url",
        &tsa.url,
        "--tsa-roots",
        config.to_str().unwrap(),
    ]);
    assert!(err.contains("sealog.toml: not PEM certificates"), "{err}");
}

/// `reply` with `cert_pem` as the only certificate of its SignedData. The signed attributes
/// and the signature are untouched, so a certificate of the same key, issuer and serial is
/// still the signer's.
fn with_certificate(reply: &[u8], cert_pem: &[u8]) -> Vec<u8> {
    use der::{Decode, DecodePem, Encode};
    let mut resp = x509_tsp::TimeStampResp::from_der(reply).unwrap();
    let token = resp.time_stamp_token.as_mut().unwrap();
    let mut sd: cms::signed_data::SignedData = token.content.decode_as().unwrap();
    let cert = x509_cert::Certificate::from_pem(cert_pem).unwrap();
    let choices = vec![cms::cert::CertificateChoices::Certificate(cert)];
    sd.certificates = Some(cms::signed_data::CertificateSet(
        choices.try_into().unwrap(),
    ));
    token.content = der::Any::encode_from(&sd).unwrap();
    resp.to_der().unwrap()
}

#[test]
fn a_signer_whose_time_stamping_usage_is_not_critical_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let pki = dir.path().join("pki");
    make_pki(&pki);
    // `openssl ts -reply` will not sign with a certificate whose timeStamping usage is not
    // critical, so the TSA signs with its own and the token is given another certificate of
    // the same key, issuer and serial that differs only there.
    let serial = Command::new("openssl")
        .args(["x509", "-in", "tsa.pem", "-noout", "-serial"])
        .current_dir(&pki)
        .output()
        .unwrap()
        .stdout;
    let serial = String::from_utf8(serial).unwrap();
    let serial = format!("0x{}", serial.trim().strip_prefix("serial=").unwrap());
    tsa::issue_tsa_cert(
        &pki,
        "lax.pem",
        "basicConstraints=CA:FALSE\nextendedKeyUsage=timeStamping\n",
        &["-set_serial", &serial],
    );
    let tsa = Tsa::start(&pki, "ok");
    let imprint = token::imprint(b"test.local/default\n1\nroot\n");
    let mut resp = support::agent()
        .post(&tsa.url)
        .header("Content-Type", "application/timestamp-query")
        .send(&token::request(&imprint, &[1, 2, 3])[..])
        .unwrap();
    let reply = resp.body_mut().read_to_vec().unwrap();

    // The swap alone changes nothing: with the TSA's own certificate the token verifies.
    let own = with_certificate(&reply, &std::fs::read(pki.join("tsa.pem")).unwrap());
    token::verify(&own, &imprint, None, &roots(&pki)).unwrap();
    let lax = with_certificate(&reply, &std::fs::read(pki.join("lax.pem")).unwrap());
    assert_eq!(
        token::verify(&lax, &imprint, None, &roots(&pki)),
        Err(
            "the TSA certificate's extended key usage must be critical and id-kp-timeStamping \
             alone"
                .to_owned()
        )
    );
}

/// An incident's sealed pack carries the time-stamps the log has of its checkpoints, like
/// every export, and `sealog verify --tsa-roots` bounds when its events were recorded.
#[test]
fn an_incident_pack_carries_the_time_stamps() {
    let dir = tempfile::tempdir().unwrap();
    let pki = dir.path().join("pki");
    make_pki(&pki);
    let tsa = Tsa::start(&pki, "ok");
    let server = serve(&dir.path().join("data"), &tsa.url, &pki.join("root.pem"));
    record(&server, 1, 3);
    let (size, _) = checkpoint_text(&server);
    wait_for(&server, |t| t["latest"]["size"] == size);

    let url = format!("{}/v1/logs/default", server.url);
    let admin = server.admin_token();
    let body = json!({"title": "a wrong refund", "since": "2000-01-01T00:00:00Z",
        "until": "2100-01-01T00:00:00Z"});
    let made = call(
        "POST",
        &format!("{url}/incidents"),
        Some(&admin),
        Some(body.to_string().as_bytes()),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    let made = made.json();
    let mut resp = support::agent()
        .get(format!(
            "{}{}",
            server.url,
            made["pack"]["url"].as_str().unwrap()
        ))
        .header("Authorization", format!("Bearer {admin}"))
        .call()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let pack = dir.path().join("incident.zip");
    std::fs::write(&pack, resp.body_mut().read_to_vec().unwrap()).unwrap();
    let vkey = call("GET", &url, Some(&admin), None).json()["vkey"]
        .as_str()
        .unwrap()
        .to_owned();
    let root = pki.join("root.pem");
    let (code, out) = verify(&pack, &vkey, &["--tsa-roots", root.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    let bound = format!("time-stamp of checkpoint {size} verified: 3 event(s) of this pack");
    assert!(out.contains(&bound), "{out}");
}
