//! Shared test helpers: a stub authenticator, a local HTTP server and a headless Chromium
//! that reports back by posting to `/test/result`.

#![allow(dead_code)] // Each test binary uses a different subset of these helpers.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use sealog_auth::{Authenticator, Principal, Role};
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;
use tokio::sync::mpsc;

/// Keys: `read-key` (read, log demo), `admin-key` (server-wide admin), `ingest-key`; whose ids
/// are `k-read`, `k-admin` and `k-ingest`.
#[derive(Clone)]
pub struct StubAuth;

impl Authenticator for StubAuth {
    fn authenticate(&self, api_key: &str) -> Option<Principal> {
        self.principal(&format!("k-{}", api_key.strip_suffix("-key")?))
    }

    fn principal(&self, key_id: &str) -> Option<Principal> {
        let (key_id, role, log) = match key_id {
            "k-read" => ("k-read", Role::Read, Some("demo")),
            "k-admin" => ("k-admin", Role::Admin, None),
            "k-ingest" => ("k-ingest", Role::Ingest, Some("demo")),
            _ => return None,
        };
        Some(Principal {
            key_id: key_id.into(),
            role,
            log: log.map(Into::into),
        })
    }
}

/// Serves `app` plus `POST /test/result` on an ephemeral port; returns its address and the
/// channel the results arrive on.
pub async fn serve(app: Router) -> (SocketAddr, mpsc::Receiver<String>) {
    let (tx, rx) = mpsc::channel(4);
    let app = app.merge(
        Router::new()
            .route("/test/result", post(result))
            .with_state(tx),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, rx)
}

async fn result(State(tx): State<mpsc::Sender<String>>, body: Bytes) {
    let _ = tx.send(String::from_utf8_lossy(&body).into_owned()).await;
}

/// Opens `url` in a fresh headless Chromium and waits for the page to post its result.
pub async fn run_in_chromium(url: &str, rx: &mut mpsc::Receiver<String>) -> String {
    run_in_chromium_with(url, rx, &[]).await
}

/// Chromium's flag that makes `http://sealog.test:PORT/` reach this machine's loopback: a
/// plain-HTTP origin that is not localhost, so not a secure context (no WebCrypto).
pub const INSECURE_HOST_RULES: &str = "--host-resolver-rules=MAP sealog.test 127.0.0.1";

/// [`run_in_chromium`] with extra command-line flags.
pub async fn run_in_chromium_with(
    url: &str,
    rx: &mut mpsc::Receiver<String>,
    flags: &[&str],
) -> String {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let profile = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(chromium)
        .args([
            "--headless=new",
            // Tests run as root in containers, where the sandbox cannot start.
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-popup-blocking",
            // The harness page waits while a popup is in front; unthrottled timers keep each
            // test to a few seconds.
            "--disable-background-timer-throttling",
            "--disable-renderer-backgrounding",
            "--disable-backgrounding-occluded-windows",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(flags)
        .arg(url)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("run chromium (apt-get install chromium)");
    let got = tokio::time::timeout(Duration::from_secs(60), rx.recv()).await;
    let _ = child.kill().await;
    got.expect("the page did not report within 60 s")
        .expect("result channel closed")
}
