//! Runs the real `sealog serve` binary on a free port in a temporary directory, and talks to it
//! over real HTTP.

#![allow(dead_code)] // Each test binary uses a different subset of these helpers.

#[path = "../../../sealog-storage/tests/pg_support/mod.rs"]
pub mod pg_support;

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, mpsc};
use std::time::Duration;

/// The store key of servers that [`on_postgres`] puts on PostgreSQL.
const TEST_STORE_KEY: &str = "5e1095e1095e1095e1095e1095e1095e1095e1095e1095e1095e1095e1095e10";

/// Whether the servers of this test binary keep their logs in PostgreSQL: in the binaries
/// named `*_on_postgres` (which run another binary's tests over it), and in every binary with
/// `SEALOG_TEST_STORE=postgres`.
fn on_postgres() -> bool {
    env!("CARGO_CRATE_NAME").ends_with("_on_postgres")
        || std::env::var("SEALOG_TEST_STORE").is_ok_and(|v| v == "postgres")
}

/// The databases of this process's servers, each with the marker file next to its data
/// directory that names it: a restart on the same data finds its database there, and a
/// database whose marker is gone (its test's temporary directory was removed) is dropped.
static STORES: Mutex<Vec<(PathBuf, pg_support::TestDb)>> = Mutex::new(Vec::new());

/// The `--store` URL for a server on `data`: its database, made on its first start.
fn store_for(data: &Path) -> String {
    let marker = data.with_extension("pgstore");
    let mut stores = STORES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if stores.is_empty() {
        pg_support::TestDb::drop_stale();
    }
    stores.retain(|(marker, _)| marker.exists());
    if let Some((_, db)) = stores.iter().find(|(m, _)| *m == marker) {
        return db.url();
    }
    let db = pg_support::TestDb::create_for_process();
    std::fs::create_dir_all(marker.parent().expect("a data directory has a parent")).unwrap();
    std::fs::write(&marker, db.url()).unwrap();
    let url = db.url();
    stores.push((marker, db));
    url
}

/// A running `sealog serve`.
pub struct Serve {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The data directory.
    pub data: PathBuf,
    /// Everything the server printed on stdout before it listened (the first-start message).
    pub banner: String,
}

impl Serve {
    /// Starts `sealog serve --data DATA` with `extra` flags and waits until it listens.
    pub fn start(data: &Path, extra: &[&str]) -> Serve {
        let args = [&["--name", "test.local"], extra].concat();
        Serve::start_with(data, &args, &[])
    }

    /// Starts `sealog serve --listen 127.0.0.1:0 --data DATA` with `args` and the environment
    /// variables `envs` (and no `--name`), and waits until it listens.
    pub fn start_with(data: &Path, args: &[&str], envs: &[(&str, &str)]) -> Serve {
        Serve::launch(data, args, envs, Stdio::inherit())
    }

    /// Starts `sealog serve --name test.local` again on `data`, listening at `url` (the address
    /// an earlier server of the same data had), and waits until it listens.
    pub fn restart_at(data: &Path, url: &str) -> Serve {
        let addr = url.trim_start_matches("http://");
        let args = ["--name", "test.local", "--listen", addr];
        Serve::launch(data, &args, &[], Stdio::inherit())
    }

    /// Like [`Serve::start_with`], with the server's log (stderr) written to `log`.
    pub fn start_logging(data: &Path, args: &[&str], envs: &[(&str, &str)], log: &Path) -> Serve {
        let file = std::fs::File::create(log).expect("the log file can be created");
        Serve::launch(data, args, envs, Stdio::from(file))
    }

    fn launch(data: &Path, args: &[&str], envs: &[(&str, &str)], stderr: Stdio) -> Serve {
        let store = (on_postgres() && !args.contains(&"--store")).then(|| store_for(data));
        let store_args = store.iter().flat_map(|url| ["--store", url.as_str()]);
        let mut child = Command::new(env!("CARGO_BIN_EXE_sealog"))
            .arg("serve")
            .args(
                ["--listen", "127.0.0.1:0"]
                    .iter()
                    .filter(|_| !args.contains(&"--listen")),
            )
            .arg("--data")
            .arg(data)
            .args(args)
            .args(store_args)
            .envs(store.iter().map(|_| ("SEALOG_STORE_KEY", TEST_STORE_KEY)))
            .env("SEALOG_LOG", "warn")
            .envs(envs.iter().copied())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("the sealog binary starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut banner = String::new();
        let url = loop {
            let line = rx
                .recv_timeout(Duration::from_secs(60))
                .expect("sealog serve prints its address");
            banner.push_str(&line);
            banner.push('\n');
            if let Some((_, url)) = line.split_once(" listening on ") {
                break url.trim().to_owned();
            }
        };
        // The welcome message follows the address line; collect what comes promptly.
        while let Ok(line) = rx.recv_timeout(Duration::from_millis(300)) {
            banner.push_str(&line);
            banner.push('\n');
        }
        Serve {
            child,
            url,
            data: data.to_owned(),
            banner,
        }
    }

    /// The first-start admin key from `DATA/admin.token`.
    pub fn admin_token(&self) -> String {
        std::fs::read_to_string(self.data.join("admin.token"))
            .unwrap()
            .trim()
            .to_owned()
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the server with `SIGKILL`, as a crash or power cut would.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Sends `SIGTERM` and returns the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        self.child.wait().unwrap()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response: status, headers we look at, and the body.
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: String,
    /// `Retry-After`, if sent.
    pub retry_after: Option<String>,
    /// The body as text.
    pub body: String,
}

impl Reply {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// The `error.code` of an error reply.
    pub fn error_code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    }
}

/// An HTTP client that hands back error statuses as answers instead of failing.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// Sends one JSON request; `token` goes into `Authorization: Bearer`.
pub fn call(method: &str, url: &str, token: Option<&str>, body: Option<&[u8]>) -> Reply {
    call_with(
        method,
        url,
        token,
        &[("Content-Type", "application/json")],
        body,
    )
}

/// Sends one request with the given headers.
pub fn call_with(
    method: &str,
    url: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Reply {
    let mut req = ureq::http::Request::builder().method(method).uri(url);
    if let Some(t) = token {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let req = req.body(body.unwrap_or_default().to_vec()).unwrap();
    let mut resp = agent().run(req).expect("the server answers");
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let content_type = header("content-type").unwrap_or_default();
    let retry_after = header("retry-after");
    Reply {
        status: resp.status().as_u16(),
        content_type,
        retry_after,
        body: resp.body_mut().read_to_string().unwrap_or_default(),
    }
}

/// One valid event with the given id (a UUIDv7) and agent.
pub fn event(id: &str, agent: &str) -> Value {
    serde_json::json!({
        "id": id,
        "ts": "2026-01-01T00:00:00Z",
        "agent": {"id": agent},
        "action": "decision",
        "status": "ok",
    })
}

/// A UUIDv7 string whose last digits are `n`.
pub fn uuid7(n: u64) -> String {
    format!("0192f3a0-0000-7000-8000-{n:012x}")
}

/// The events of session `id`, in `seq` order, once `n` of them are indexed.
pub fn session_events(server: &Serve, token: &str, id: &str, n: usize) -> Vec<Value> {
    let url = format!("{}/v1/logs/default/sessions/{id}/events", server.url);
    for _ in 0..200 {
        let page = call("GET", &url, Some(token), None).json();
        let events = page["events"].as_array().cloned().unwrap_or_default();
        if events.len() >= n {
            return events.into_iter().map(|e| e["event"].clone()).collect();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("session {id} never had {n} events");
}

/// Downloads the evidence pack of the whole log `default` to `to`.
pub fn export_pack(server: &Serve, token: &str, to: &Path) {
    let mut resp = agent()
        .get(format!("{}/v1/logs/default/export", server.url))
        .header("Authorization", format!("Bearer {token}"))
        .call()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    std::fs::write(to, resp.body_mut().read_to_vec().unwrap()).unwrap();
}

/// Runs `sealog verify FILE --log-key VKEY` with `extra` flags: exit code and stdout.
pub fn sealog_verify(file: &Path, vkey: &str, extra: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sealog"))
        .arg("verify")
        .arg(file)
        .args(["--log-key", vkey])
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Records events `first..first + n` of agent `bot` in `default` with `?wait=WAIT`
/// (`checkpoint` or `witnessed`).
pub fn record_waiting(server: &Serve, token: &str, first: u64, n: u64, wait: &str) -> Reply {
    let events: Vec<Value> = (first..first + n)
        .map(|i| event(&uuid7(i), "bot"))
        .collect();
    let url = format!("{}/v1/logs/default/events?wait={wait}", server.url);
    let body = serde_json::to_vec(&serde_json::json!({ "events": events })).unwrap();
    call("POST", &url, Some(token), Some(&body))
}

/// The actions of the server's own events (agent `sealog`) in log `default`, oldest first,
/// once the index has every event of the log.
pub fn server_actions(server: &Serve, token: &str) -> Vec<String> {
    let url = format!("{}/v1/logs/default/events?agent=sealog", server.url);
    for _ in 0..200 {
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
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("the index never caught up");
}

/// Polls `GET /v1/logs/default` until `done` holds (15 s at most), and returns it.
pub fn log_until(server: &Serve, token: &str, done: impl Fn(&Value) -> bool) -> Value {
    let start = std::time::Instant::now();
    loop {
        let url = format!("{}/v1/logs/default", server.url);
        let log = call("GET", &url, Some(token), None).json();
        if done(&log) {
            return log;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "timed out: {log}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs the `sealog` binary with `args`; its exit code and what it printed (stdout, then
/// stderr).
pub fn sealog(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sealog"))
        .args(args)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

/// `sealog verify` of the pack or receipt at `path` against `vkey`, which must say VALID;
/// returns what it printed.
pub fn verify(path: &Path, vkey: &str) -> String {
    let (code, out) = sealog(&["verify", path.to_str().unwrap(), "--log-key", vkey]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("VALID"), "{out}");
    out
}
