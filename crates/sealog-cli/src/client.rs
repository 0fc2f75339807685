//! Subcommands that talk to a running server: `logs`, `keys` and `export`.

use clap::{Args, Subcommand};
use sealog_evidence::render::shell_quote;
use serde_json::{Value, json};
use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::time::Instant;

/// Where the server is and which key to use.
#[derive(Args, Clone)]
pub struct Remote {
    /// The server's URL.
    #[arg(long, env = "SEALOG_URL", default_value = "http://127.0.0.1:7300")]
    pub server: String,
    /// An API key.
    #[arg(long, env = "SEALOG_API_KEY", hide_env_values = true)]
    pub token: String,
    /// PEM file of the CA certificates to trust for an https server (a private CA or a
    /// self-signed certificate) instead of the built-in web roots.
    #[arg(long, env = "SEALOG_CA_CERT")]
    pub ca_cert: Option<PathBuf>,
}

/// `sealog logs …`.
#[derive(Subcommand)]
pub enum LogsCommand {
    /// Create a log (needs the server-wide admin key).
    Create {
        /// The new log's name: a-z, 0-9, '-' and '_'.
        name: String,
        /// Serve its checkpoint and tiles without a key.
        #[arg(long)]
        public: bool,
        #[command(flatten)]
        remote: Remote,
    },
    /// List the logs the key may read.
    List {
        #[command(flatten)]
        remote: Remote,
    },
}

/// `sealog keys …`.
#[derive(Subcommand)]
pub enum KeysCommand {
    /// Create an API key for a log; prints the secret once.
    Create {
        /// The log.
        #[arg(long, default_value = "default")]
        log: String,
        /// ingest, read or admin.
        #[arg(long)]
        role: String,
        /// A label to recognise it by.
        #[arg(long, default_value = "")]
        label: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// List a log's keys (never their secrets).
    List {
        /// The log.
        #[arg(long, default_value = "default")]
        log: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Replace the server-wide admin key given with --token by a new one: prints the new
    /// secret once, revokes the old key, and the server removes admin.token if it held it.
    RotateAdmin {
        /// A label for the new key.
        #[arg(long, default_value = "rotated admin")]
        label: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Print a new admin key, made here and sent nowhere, for `serve --admin-key-file` (or
    /// `SEALOG_ADMIN_KEY`) on a first start.
    Generate,
    /// Revoke a key at once.
    Revoke {
        /// The key's id (as listed).
        id: String,
        /// The log.
        #[arg(long, default_value = "default")]
        log: String,
        #[command(flatten)]
        remote: Remote,
    },
}

/// `sealog export`.
#[derive(Args)]
pub struct ExportArgs {
    /// The log to export from.
    #[arg(long, default_value = "default")]
    log: String,
    /// Only this agent's events.
    #[arg(long)]
    agent: Option<String>,
    /// Only this session's events.
    #[arg(long)]
    session: Option<String>,
    /// Only events with this action.
    #[arg(long)]
    action: Option<String>,
    /// Only events with this status.
    #[arg(long)]
    status: Option<String>,
    /// Only events at or after this time (RFC 3339).
    #[arg(long)]
    since: Option<String>,
    /// Only events before this time (RFC 3339).
    #[arg(long)]
    until: Option<String>,
    /// Only events holding every word of this search (`tool:search_web status:error`, or bare
    /// values; see the API's `q`).
    #[arg(long)]
    search: Option<String>,
    /// Include the decrypted content of the pack's private events (read and admin keys), in
    /// its content.jsonl.
    #[arg(long)]
    content: bool,
    /// Subject access (GDPR Art. 15/20): every event about this data subject (its
    /// `context.subject.pseudo_id`), with its decrypted content where it still exists.
    #[arg(long, conflicts_with_all = ["agent", "session", "action", "status", "since", "until", "search", "content"])]
    subject: Option<String>,
    /// Where to write the pack.
    #[arg(short = 'o', long, default_value = "evidence.zip")]
    output: PathBuf,
    #[command(flatten)]
    remote: Remote,
}

/// An HTTP(S) client for `remote`, trusting its `--ca-cert` if given.
fn agent(remote: &Remote) -> Result<ureq::Agent, String> {
    use ureq::tls::{PemItem, RootCerts, TlsConfig, parse_pem};
    let mut config = ureq::Agent::config_builder().http_status_as_error(false);
    if let Some(path) = &remote.ca_cert {
        let bad = |why: String| format!("--ca-cert {}: {why}", path.display());
        let pem = std::fs::read(path).map_err(|e| bad(format!("cannot read it: {e}")))?;
        let mut certs = Vec::new();
        for item in parse_pem(&pem) {
            if let PemItem::Certificate(cert) = item.map_err(|e| bad(e.to_string()))? {
                certs.push(cert);
            }
        }
        if certs.is_empty() {
            return Err(bad("holds no PEM certificate".into()));
        }
        let tls = TlsConfig::builder()
            .root_certs(RootCerts::new_with_certs(&certs))
            .build();
        config = config.tls_config(tls);
    }
    Ok(config.build().into())
}

/// Percent-encodes a path segment or query value.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Sends a request; returns the parsed JSON of a success, or the server's error message.
fn call(remote: &Remote, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
    let url = format!("{}{path}", remote.server.trim_end_matches('/'));
    let auth = format!("Bearer {}", remote.token);
    let agent = agent(remote)?;
    let sent = match (method, body) {
        ("GET", _) => agent.get(&url).header("Authorization", &auth).call(),
        ("DELETE", _) => agent.delete(&url).header("Authorization", &auth).call(),
        (_, body) => agent
            .post(&url)
            .header("Authorization", &auth)
            .header("Content-Type", "application/json")
            .send(body.unwrap_or(Value::Null).to_string().as_bytes()),
    };
    let mut response = sent.map_err(|e| format!("cannot reach {url}: {e}"))?;
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .read_to_string()
        .map_err(|e| format!("reading the answer from {url} failed: {e}"))?;
    let value: Value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    if (200..300).contains(&status) {
        Ok(value)
    } else {
        let message = value["error"]["message"]
            .as_str()
            .map_or_else(|| value.to_string(), str::to_owned);
        Err(format!("the server answered {status}: {message}"))
    }
}

/// Runs `sealog logs …`.
pub fn logs(cmd: LogsCommand) -> Result<(), String> {
    match cmd {
        LogsCommand::Create {
            name,
            public,
            remote,
        } => {
            let out = call(
                &remote,
                "POST",
                "/v1/logs",
                Some(json!({"name": name, "public": public})),
            )?;
            let text = |f: &str| out[f].as_str().unwrap_or("?").to_owned();
            say(format_args!(
                "created log {}\norigin: {}\nvkey:   {}",
                text("name"),
                text("origin"),
                text("vkey")
            ))?;
            say("Keep the vkey: auditors pin it to verify this log's evidence.")?;
        }
        LogsCommand::List { remote } => {
            let out = call(&remote, "GET", "/v1/logs", None)?;
            let logs = out["logs"].as_array().cloned().unwrap_or_default();
            let cell = |log: &Value, f: &str| match &log[f] {
                Value::String(s) => s.clone(),
                Value::Null => "?".to_owned(),
                v => v.to_string(),
            };
            // Columns as wide as their longest value, so every vkey starts in one column.
            let width = |f: &str, head: &str| {
                logs.iter()
                    .map(|l| cell(l, f).len())
                    .chain([head.len()])
                    .max()
                    .unwrap_or(0)
            };
            let (name_w, size_w) = (width("name", "name"), width("size", "size"));
            say(format_args!(
                "{:<name_w$}  {:>size_w$}  vkey",
                "name", "size"
            ))?;
            for log in &logs {
                say(format_args!(
                    "{:<name_w$}  {:>size_w$}  {}",
                    cell(log, "name"),
                    cell(log, "size"),
                    cell(log, "vkey")
                ))?;
            }
        }
    }
    Ok(())
}

/// Writes `text` and a line break to stdout. When its reader has gone (a closed pipe, as with
/// `| head`), the command ends here, quietly and successfully: nobody is left to read the rest.
pub fn say(text: impl std::fmt::Display) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        written => written.map_err(|e| format!("cannot write to stdout: {e}")),
    }
}

/// Runs `sealog keys …`.
pub fn keys(cmd: KeysCommand) -> Result<(), String> {
    match cmd {
        KeysCommand::Create {
            log,
            role,
            label,
            remote,
        } => {
            let path = format!("/v1/logs/{}/keys", encode(&log));
            let out = call(
                &remote,
                "POST",
                &path,
                Some(json!({"role": role, "label": label})),
            )?;
            say(out["key"].as_str().unwrap_or_default())?;
            eprintln!(
                "created {role} key {} for log {log}; the line above is its secret, shown only now",
                out["id"].as_str().unwrap_or("?")
            );
        }
        KeysCommand::List { log, remote } => {
            let out = call(
                &remote,
                "GET",
                &format!("/v1/logs/{}/keys", encode(&log)),
                None,
            )?;
            say(format_args!(
                "{:<18} {:<7} {:<22} {:<22} label",
                "id", "role", "created", "revoked"
            ))?;
            for k in out["keys"].as_array().into_iter().flatten() {
                let s = |f: &str| k[f].as_str().unwrap_or("-").to_owned();
                say(format_args!(
                    "{:<18} {:<7} {:<22} {:<22} {}",
                    s("id"),
                    s("role"),
                    s("created"),
                    s("revoked"),
                    s("label")
                ))?;
            }
        }
        KeysCommand::RotateAdmin { label, remote } => {
            let out = call(
                &remote,
                "POST",
                "/v1/admin/keys/rotate",
                Some(json!({"label": label})),
            )?;
            say(out["key"].as_str().unwrap_or_default())?;
            let token = if out["admin_token_removed"] == true {
                "; admin.token held it and is removed"
            } else {
                ""
            };
            eprintln!(
                "key {} is revoked{token}. The line above is the new admin key {}, shown only \
                 now: store it where your secrets live",
                out["revoked"].as_str().unwrap_or("?"),
                out["id"].as_str().unwrap_or("?")
            );
        }
        KeysCommand::Generate => {
            let (_, key) = sealog_server::keys::Keys::generate(sealog_auth::Role::Admin, None, "");
            say(key)?;
        }
        KeysCommand::Revoke { id, log, remote } => {
            let path = format!("/v1/logs/{}/keys/{}", encode(&log), encode(&id));
            call(&remote, "DELETE", &path, None)?;
            say(format_args!("revoked key {id} of log {log}"))?;
        }
    }
    Ok(())
}

/// Runs `sealog export`: streams the pack to a temporary file with progress, then renames it
/// into place, so a failed download never leaves a partial pack under the final name.
pub fn export(args: &ExportArgs) -> Result<(), String> {
    let url = export_url(args);
    let progress = std::io::stderr().is_terminal();
    if progress {
        // The server proves and checks every entry before the first byte is sent.
        eprint!("the server is building and checking the pack…");
    }
    let response = agent(&args.remote)?
        .get(&url)
        .header("Authorization", &format!("Bearer {}", args.remote.token))
        .call();
    if progress {
        eprint!("\r\x1b[K");
    }
    let mut response = response.map_err(|e| format!("cannot reach {url}: {e}"))?;
    let status = response.status().as_u16();
    if status != 200 {
        let text = response.body_mut().read_to_string().unwrap_or_default();
        let message = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
            .unwrap_or(text);
        return Err(format!("the server answered {status}: {message}"));
    }
    let tmp = args.output.with_extension("zip.part");
    let start = Instant::now();
    let total = download(&mut response, &tmp, progress)?;
    std::fs::rename(&tmp, &args.output).map_err(|e| e.to_string())?;
    let dir = args.output.parent().filter(|p| !p.as_os_str().is_empty());
    sealog_storage::durable::sync_dir(dir.unwrap_or(std::path::Path::new(".")))
        .map_err(|e| e.to_string())?;
    if progress {
        eprintln!();
    }
    warn_if_empty(&args.output)?;
    say(format_args!(
        "wrote {} ({total} bytes in {:.1} s)\nverify it with the log's vkey, from its operator, \
         in place of LOG_VKEY:\n  sealog verify {} --log-key 'LOG_VKEY'",
        args.output.display(),
        start.elapsed().as_secs_f64(),
        shell_quote(&args.output.to_string_lossy())
    ))
}

/// Warns on stderr when the pack at `path` holds no event: a filter that matched nothing is
/// more likely a mistake than the evidence wanted.
fn warn_if_empty(path: &std::path::Path) -> Result<(), String> {
    let unreadable = |e: &dyn std::fmt::Display| format!("cannot read {}: {e}", path.display());
    let file = std::fs::File::open(path).map_err(|e| unreadable(&e))?;
    let manifest = sealog_evidence::archive::read_one(file, "manifest.json", 1 << 20)
        .map_err(|e| unreadable(&e))?;
    let manifest: Value = serde_json::from_slice(&manifest).map_err(|e| unreadable(&e))?;
    if manifest["entries"] == 0 {
        eprintln!(
            "sealog: warning: the pack holds no events: nothing in the log matches the filters \
             given (check the log name, agent, session, action, status and time range)"
        );
    }
    Ok(())
}

/// The export URL with the filters that were given.
fn export_url(args: &ExportArgs) -> String {
    let server = args.remote.server.trim_end_matches('/');
    let log = encode(&args.log);
    if let Some(subject) = &args.subject {
        return format!("{server}/v1/logs/{log}/subjects/{}/export", encode(subject));
    }
    let content = args.content.then(|| "true".to_owned());
    let filters = [
        ("agent", &args.agent),
        ("session", &args.session),
        ("action", &args.action),
        ("status", &args.status),
        ("since", &args.since),
        ("until", &args.until),
        ("q", &args.search),
        ("content", &content),
    ];
    let query: Vec<String> = filters
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", encode(v))))
        .collect();
    format!(
        "{server}/v1/logs/{log}/export{}{}",
        if query.is_empty() { "" } else { "?" },
        query.join("&")
    )
}

/// Writes the response body to `tmp`, fsynced, showing MB of MB on a terminal; returns its
/// length.
fn download(
    response: &mut ureq::http::Response<ureq::Body>,
    tmp: &std::path::Path,
    progress: bool,
) -> Result<u64, String> {
    let mut file =
        std::fs::File::create(tmp).map_err(|e| format!("cannot create {}: {e}", tmp.display()))?;
    let length: Option<u64> = response
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok()?.parse().ok());
    let mut reader = response.body_mut().with_config().limit(u64::MAX).reader();
    let (mut total, mut buf) = (0u64, vec![0u8; 1 << 16]);
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(|e| format!("the download failed: {e}"))?;
        if n == 0 {
            break;
        }
        file.write_all(&buf[..n])
            .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        total += n as u64;
        if progress {
            let mb = |b: u64| b as f64 / 1e6;
            match length {
                Some(len) if len > 0 => eprint!(
                    "\r\x1b[Kdownloading: {:.1} of {:.1} MB ({}%)",
                    mb(total),
                    mb(len),
                    total * 100 / len
                ),
                _ => eprint!("\r\x1b[Kdownloading: {:.1} MB", mb(total)),
            }
        }
    }
    file.sync_all().map_err(|e| e.to_string())?;
    Ok(total)
}
