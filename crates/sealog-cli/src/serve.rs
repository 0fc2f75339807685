//! `sealog serve`: settings from flags, a TOML file and `SEALOG_*` variables (in that order of
//! precedence), first-start bootstrap, and graceful shutdown on SIGTERM or SIGINT.

use clap::Args;
use sealog_server::{Server, ServerOptions};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Flags of `sealog serve`; each also reads from the config file and `SEALOG_<NAME>`.
#[derive(Args, Default)]
pub struct ServeArgs {
    /// A TOML file with any of the settings below (by their long names, `-` as `_`).
    #[arg(long, env = "SEALOG_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory [default: ./sealog-data]. With --store, it keeps only what is this
    /// node's own: its lock, the derived query indexes, dashboard sessions, and admin.token
    /// if this node made the store's first admin key (the keys themselves are in the store).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Keep the logs in a shared PostgreSQL store, `postgres://user@host:port/db` (with
    /// `?sslmode=require` across a network), so that several nodes serve them [default: the
    /// embedded store in the data directory].
    #[arg(long)]
    store: Option<String>,
    /// A file (mode 0600) holding the store key, 64 hex digits, that seals every log's
    /// signing key in the database; every node of a store needs the same one. Also
    /// `SEALOG_STORE_KEY` (the key itself).
    #[arg(long)]
    store_key_file: Option<PathBuf>,
    /// How long in ms a node's writer lease on a log of the shared store lasts unless
    /// renewed; a log whose node died moves to another within about this [default: 5000].
    #[arg(long)]
    lease_ms: Option<u64>,
    /// A PEM file of the CAs the database's certificate may chain to, besides the public web
    /// roots. TLS is used with `sslmode=require` in the --store URL, and then always verifies
    /// the server's certificate and name.
    #[arg(long)]
    store_ca_file: Option<PathBuf>,
    /// With --store: the `http://host:port` where the other nodes reach this one; a node
    /// with a log on standby hands that log's requests to the node writing it there
    /// [default: http://<listen address> when that is a concrete address; none on 0.0.0.0
    /// or [::], or with TLS: then other nodes answer 503 for this node's logs].
    #[arg(long)]
    advertise_url: Option<String>,
    /// Address to listen on [default: 127.0.0.1:7300]; port 0 picks a free one.
    #[arg(long)]
    listen: Option<String>,
    /// Server name, the first part of every log origin (`<name>/<log>`) [default: localhost].
    #[arg(long)]
    name: Option<String>,
    /// TLS certificate chain (PEM); with --tls-key, serve HTTPS.
    #[arg(long)]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long)]
    tls_key: Option<PathBuf>,
    /// Requests per second per API key; 0 disables the limit [default: 1000].
    #[arg(long)]
    rate_limit: Option<u32>,
    /// Largest request body in bytes, after decompression [default: 16777216].
    #[arg(long)]
    max_body_bytes: Option<usize>,
    /// Bytes all in-flight ingest bodies may hold at once, compressed and decompressed; past
    /// it ingest answers 503 with Retry-After [default: 268435456].
    #[arg(long)]
    max_inflight_body_bytes: Option<usize>,
    /// A file holding the server-wide admin key to use on a first start (`slk_…`, e.g. from
    /// `sealog keys generate`), instead of making one and writing it to admin.token. Also
    /// `SEALOG_ADMIN_KEY` (the key itself).
    #[arg(long)]
    admin_key_file: Option<PathBuf>,
    /// Longest time in ms a request's body may take to arrive (408 after) [default: 30000].
    #[arg(long)]
    body_timeout_ms: Option<u64>,
    /// Most exports one API key may run at once (429 beyond) [default: 2].
    #[arg(long)]
    max_exports_per_key: Option<usize>,
    /// Longest time in ms an export's download may go unread before it is dropped and its
    /// scratch file freed [default: 60000].
    #[arg(long)]
    export_idle_timeout_ms: Option<u64>,
    /// Free bytes the data directory's disk keeps for ingest; below it exports are refused
    /// with 507 [default: 268435456].
    #[arg(long)]
    export_disk_reserve_bytes: Option<u64>,
    /// Most events per ingest request [default: 10000].
    #[arg(long)]
    max_batch_events: Option<usize>,
    /// Longest time in ms between the tree growing and a checkpoint covering it [default: 1000].
    #[arg(long)]
    checkpoint_interval_ms: Option<u64>,
    /// Events that may wait for one log's writer before ingest answers 503 [default: 200000].
    #[arg(long)]
    queue_entries: Option<usize>,
    /// A directory outside the data directory (another disk or host, never restored from a
    /// backup with it) that keeps each log's newest checkpoint a second time, so that a start
    /// from an old backup of the whole data directory is refused instead of forking the log.
    #[arg(long)]
    checkpoint_lock: Option<PathBuf>,
    /// Longest time in ms a request may take until its response starts (503 `timeout`
    /// after) [default: 120000].
    #[arg(long)]
    request_timeout_ms: Option<u64>,
    /// Longest time in ms in-flight requests get to finish after SIGTERM [default: 30000].
    #[arg(long)]
    drain_timeout_ms: Option<u64>,
    /// Longest time in ms `?wait=checkpoint` and an export wait for a covering checkpoint
    /// [default: 30000].
    #[arg(long)]
    checkpoint_wait_ms: Option<u64>,
    /// Longest time in ms an HTTP/1 connection may take to send a request's headers, or stay
    /// idle between requests, before it is closed [default: 10000].
    #[arg(long)]
    header_timeout_ms: Option<u64>,
    /// Most connections open at once; more are closed as they arrive, with a log line
    /// [default: 4096].
    #[arg(long)]
    max_connections: Option<usize>,
    /// Most connections open at once from one IP address [default: 256].
    #[arg(long)]
    max_connections_per_peer: Option<usize>,
    /// Serve `/metrics` without a key. It names every log, so by default it needs the
    /// server-wide admin key (`Authorization: Bearer`, as a Prometheus `authorization` block
    /// sends it).
    #[arg(long)]
    public_metrics: bool,
    /// A C2SP tlog-policy file (`witness NAME VKEY URL`, `group`, `quorum`): every new
    /// checkpoint of every log is sent to its witnesses, and `?wait=witnessed` waits for one
    /// that meets the quorum.
    #[arg(long)]
    witness_policy: Option<PathBuf>,
    /// Longest time in ms a log may miss its witness quorum before /readyz reports it
    /// [default: 60000].
    #[arg(long)]
    witness_alarm_ms: Option<u64>,
    /// An RFC 3161 time-stamping authority's URL (repeatable: asked in order until one
    /// grants); every log's checkpoint is time-stamped when the tree grew (also
    /// `SEALOG_TSA_URL`, comma-separated).
    #[arg(long)]
    tsa_url: Vec<String>,
    /// A PEM file of the roots the TSAs' certificates must chain to (needed with --tsa-url).
    #[arg(long)]
    tsa_roots: Option<PathBuf>,
    /// A header sent with every time-stamp request, as `Name: value` (a TSA's credentials).
    #[arg(long)]
    tsa_auth_header: Option<String>,
    /// Least time in ms between two time-stamps of one log [default: 60000].
    #[arg(long)]
    tsa_interval_ms: Option<u64>,
    /// Time in ms between two prunes of content past each log's retention; the first comes
    /// one interval after the start [default: 3600000].
    #[arg(long)]
    prune_interval_ms: Option<u64>,
}

/// The same settings, from the config file.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    data: Option<PathBuf>,
    store: Option<String>,
    store_key_file: Option<PathBuf>,
    lease_ms: Option<u64>,
    store_ca_file: Option<PathBuf>,
    advertise_url: Option<String>,
    listen: Option<String>,
    name: Option<String>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    rate_limit: Option<u32>,
    max_body_bytes: Option<usize>,
    max_inflight_body_bytes: Option<usize>,
    admin_key_file: Option<PathBuf>,
    body_timeout_ms: Option<u64>,
    max_exports_per_key: Option<usize>,
    export_idle_timeout_ms: Option<u64>,
    export_disk_reserve_bytes: Option<u64>,
    max_batch_events: Option<usize>,
    checkpoint_interval_ms: Option<u64>,
    queue_entries: Option<usize>,
    checkpoint_lock: Option<PathBuf>,
    request_timeout_ms: Option<u64>,
    drain_timeout_ms: Option<u64>,
    checkpoint_wait_ms: Option<u64>,
    header_timeout_ms: Option<u64>,
    max_connections: Option<usize>,
    max_connections_per_peer: Option<usize>,
    public_metrics: Option<bool>,
    witness_policy: Option<PathBuf>,
    witness_alarm_ms: Option<u64>,
    tsa_url: Option<Vec<String>>,
    tsa_roots: Option<PathBuf>,
    tsa_auth_header: Option<String>,
    tsa_interval_ms: Option<u64>,
    prune_interval_ms: Option<u64>,
    /// A directory holding each log's key-encryption key as `<log>.kek` (mode 0600), e.g. a
    /// secrets mount outside the data directory and its backups (also `SEALOG_KEK_DIR`)
    /// [default: each log's `content/<log>/kek` in the data directory].
    kek_dir: Option<PathBuf>,
}

/// Resolved settings.
struct Settings {
    data: PathBuf,
    listen: String,
    tls: Option<(PathBuf, PathBuf)>,
    options: ServerOptions,
    checkpoint_interval: Duration,
    queue_entries: usize,
    checkpoint_lock: Option<PathBuf>,
    admin_key: Option<String>,
    postgres: Option<sealog_storage::PgOptions>,
    advertise_url: Option<String>,
}

/// `SEALOG_<NAME>` parsed as `T`.
fn env<T: std::str::FromStr>(name: &str) -> Result<Option<T>, String> {
    let var = format!("SEALOG_{name}");
    match std::env::var(&var) {
        Ok(v) => v
            .parse()
            .map(Some)
            .map_err(|_| format!("{var}={v:?} is not a valid value")),
        Err(_) => Ok(None),
    }
}

fn resolve(args: ServeArgs) -> Result<Settings, String> {
    let file: FileSettings = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read the config file {}: {e}", path.display()))?;
            toml::from_str(&text)
                .map_err(|e| format!("the config file {} is invalid: {e}", path.display()))?
        }
        None => FileSettings::default(),
    };
    macro_rules! pick {
        ($field:ident, $env:literal) => {
            args.$field.or(file.$field).or(env($env)?)
        };
    }
    let defaults = ServerOptions::default();
    let tls = match (pick!(tls_cert, "TLS_CERT"), pick!(tls_key, "TLS_KEY")) {
        (Some(cert), Some(key)) => Some((cert, key)),
        (None, None) => None,
        _ => return Err("TLS needs both --tls-cert and --tls-key".into()),
    };
    // A setting in milliseconds, or the server's default.
    macro_rules! millis {
        ($field:ident, $env:literal, $default:ident) => {
            pick!($field, $env).map_or(defaults.$default, Duration::from_millis)
        };
    }
    let options = ServerOptions {
        name: pick!(name, "NAME").unwrap_or(defaults.name),
        request_timeout: millis!(request_timeout_ms, "REQUEST_TIMEOUT_MS", request_timeout),
        drain_timeout: millis!(drain_timeout_ms, "DRAIN_TIMEOUT_MS", drain_timeout),
        checkpoint_wait: millis!(checkpoint_wait_ms, "CHECKPOINT_WAIT_MS", checkpoint_wait),
        header_timeout: millis!(header_timeout_ms, "HEADER_TIMEOUT_MS", header_timeout),
        body_timeout: millis!(body_timeout_ms, "BODY_TIMEOUT_MS", body_timeout),
        export_idle_timeout: millis!(
            export_idle_timeout_ms,
            "EXPORT_IDLE_TIMEOUT_MS",
            export_idle_timeout
        ),
        max_exports_per_key: pick!(max_exports_per_key, "MAX_EXPORTS_PER_KEY")
            .unwrap_or(defaults.max_exports_per_key),
        export_disk_reserve_bytes: pick!(export_disk_reserve_bytes, "EXPORT_DISK_RESERVE_BYTES")
            .unwrap_or(defaults.export_disk_reserve_bytes),
        max_connections: pick!(max_connections, "MAX_CONNECTIONS")
            .unwrap_or(defaults.max_connections),
        max_connections_per_peer: pick!(max_connections_per_peer, "MAX_CONNECTIONS_PER_PEER")
            .unwrap_or(defaults.max_connections_per_peer),
        public_metrics: args.public_metrics
            || file
                .public_metrics
                .or(env("PUBLIC_METRICS")?)
                .unwrap_or(false),
        max_body_bytes: pick!(max_body_bytes, "MAX_BODY_BYTES").unwrap_or(defaults.max_body_bytes),
        max_inflight_body_bytes: pick!(max_inflight_body_bytes, "MAX_INFLIGHT_BODY_BYTES")
            .unwrap_or(defaults.max_inflight_body_bytes),
        max_batch_events: pick!(max_batch_events, "MAX_BATCH_EVENTS")
            .unwrap_or(defaults.max_batch_events),
        rate_limit_per_key: pick!(rate_limit, "RATE_LIMIT").unwrap_or(defaults.rate_limit_per_key),
        tls: tls.is_some(),
        witness_policy: pick!(witness_policy, "WITNESS_POLICY")
            .map(|p| crate::witness::read_policy(&p))
            .transpose()?,
        witness_alarm: millis!(witness_alarm_ms, "WITNESS_ALARM_MS", witness_alarm),
        prune_interval: millis!(prune_interval_ms, "PRUNE_INTERVAL_MS", prune_interval),
        kek_dir: file.kek_dir.or(env("KEK_DIR")?),
        tsa: crate::tsa::config(crate::tsa::Settings {
            urls: match (args.tsa_url, file.tsa_url) {
                (urls, _) if !urls.is_empty() => urls,
                (_, Some(urls)) => urls,
                _ => env::<String>("TSA_URL")?
                    .map(|v| v.split(',').map(str::to_owned).collect())
                    .unwrap_or_default(),
            },
            roots: pick!(tsa_roots, "TSA_ROOTS"),
            auth_header: pick!(tsa_auth_header, "TSA_AUTH_HEADER"),
            interval_ms: pick!(tsa_interval_ms, "TSA_INTERVAL_MS"),
        })?,
        ..defaults
    };
    // The engine checks its own options (a zero interval or queue, a lock inside the data
    // directory) when it opens.
    let interval = pick!(checkpoint_interval_ms, "CHECKPOINT_INTERVAL_MS").unwrap_or(1000);
    let engine_defaults = sealog_storage::EngineOptions::default();
    let queue_entries =
        pick!(queue_entries, "QUEUE_ENTRIES").unwrap_or(engine_defaults.queue_entries);
    let data = pick!(data, "DATA").unwrap_or_else(|| PathBuf::from("./sealog-data"));
    let checkpoint_lock = pick!(checkpoint_lock, "CHECKPOINT_LOCK");
    let admin_key = match args.admin_key_file.or(file.admin_key_file) {
        Some(path) => Some(
            std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read the admin key file {}: {e}", path.display()))?
                .trim()
                .to_owned(),
        ),
        None => env("ADMIN_KEY")?,
    };
    let postgres = crate::store::StoreSettings {
        url: pick!(store, "STORE"),
        key_file: pick!(store_key_file, "STORE_KEY_FILE"),
        key: env("STORE_KEY")?,
        lease_ms: pick!(lease_ms, "LEASE_MS"),
        ca_file: pick!(store_ca_file, "STORE_CA_FILE"),
    }
    .resolve()?;
    let advertise_url = pick!(advertise_url, "ADVERTISE_URL");
    if advertise_url.is_some() && postgres.is_none() {
        return Err(
            "--advertise-url needs --store postgres://… (only nodes of a shared store \
                    hand each other requests)"
                .into(),
        );
    }
    Ok(Settings {
        advertise_url,
        postgres,
        admin_key,
        queue_entries,
        checkpoint_lock,
        data,
        listen: pick!(listen, "LISTEN").unwrap_or_else(|| "127.0.0.1:7300".into()),
        tls,
        options,
        checkpoint_interval: Duration::from_millis(interval),
    })
}

/// Runs the server until SIGTERM or SIGINT.
pub fn run(args: ServeArgs) -> Result<(), String> {
    init_tracing();
    let settings = resolve(args)?;
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(serve(settings))
}

/// Logs to stderr at the level `SEALOG_LOG` sets (default `info`).
pub(crate) fn init_tracing() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SEALOG_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

async fn serve(settings: Settings) -> Result<(), String> {
    // Bound first: a start that cannot listen must not leave behind an admin key that was
    // never shown.
    let listener = tokio::net::TcpListener::bind(&settings.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", settings.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let mut postgres = settings.postgres.clone();
    if let Some(pg) = &mut postgres {
        pg.advertise_url = crate::store::advertise_url(
            settings.advertise_url.as_deref(),
            addr,
            settings.tls.is_some(),
        )?;
    }
    let engine = sealog_storage::EngineOptions {
        checkpoint_interval: settings.checkpoint_interval,
        queue_entries: settings.queue_entries,
        checkpoint_lock: settings.checkpoint_lock.clone(),
        postgres,
        ..Default::default()
    };
    test_clock(addr, settings.tls.is_some())?;
    test_incident_crash(addr, settings.tls.is_some())?;
    private_data_dir(&settings.data)?;
    let server =
        Server::open_with(&settings.data, settings.options, engine).map_err(|e| e.to_string())?;
    let admin_key = server
        .bootstrap(settings.admin_key.as_deref())
        .map_err(|e| e.to_string())?;
    let scheme = if settings.tls.is_some() {
        "https"
    } else {
        "http"
    };
    println!(
        "sealog {} listening on {scheme}://{addr}",
        env!("CARGO_PKG_VERSION")
    );
    if let Some(key) = admin_key {
        print_welcome(&settings.data, &format!("{scheme}://{addr}"), &key);
    }
    let served = match settings.tls {
        Some((cert, key)) => {
            sealog_server::tls::serve(server, listener, &cert, &key, shutdown()).await
        }
        None => server.serve(listener, shutdown()).await,
    };
    served.map_err(|e| e.to_string())
}

/// Applies `SEALOG_TEST_ONLY_CLOCK_OFFSET_SECONDS`, the test clock (module
/// `sealog_storage::clock`): only on a loopback address without TLS, so that no server that
/// others reach runs on a shifted clock, and loudly.
fn test_clock(addr: std::net::SocketAddr, tls: bool) -> Result<(), String> {
    const VAR: &str = "TEST_ONLY_CLOCK_OFFSET_SECONDS";
    let Some(seconds) = env::<i64>(VAR)? else {
        return Ok(());
    };
    loopback_only(VAR, "shifts the server's clock", addr, tls)?;
    sealog_storage::clock::set_test_offset(seconds);
    tracing::warn!(
        offset_seconds = seconds,
        "TEST CLOCK: the server's clock is shifted by SEALOG_{VAR}; never use it in production"
    );
    Ok(())
}

/// Refuses the test-only variable `SEALOG_{var}` (which `does` something) unless the server
/// listens on a loopback address without TLS, so that no server others reach runs with it.
fn loopback_only(
    var: &str,
    does: &str,
    addr: std::net::SocketAddr,
    tls: bool,
) -> Result<(), String> {
    if !addr.ip().is_loopback() || tls {
        return Err(format!(
            "SEALOG_{var} {does} for tests; it is refused on {addr}{}: only a server on a \
             loopback address without TLS may use it",
            if tls { " with TLS" } else { "" }
        ));
    }
    Ok(())
}

/// Applies `SEALOG_TEST_ONLY_INCIDENT_CRASH` (recorded, held, logged or packed): the process
/// kills itself with SIGKILL when an incident freeze reaches that point, for crash tests.
fn test_incident_crash(addr: std::net::SocketAddr, tls: bool) -> Result<(), String> {
    const VAR: &str = "TEST_ONLY_INCIDENT_CRASH";
    let Some(point) = env::<sealog_server::CrashPoint>(VAR)? else {
        return Ok(());
    };
    loopback_only(VAR, "kills the server", addr, tls)?;
    sealog_server::crash_at(point, || {
        let _ =
            rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::KILL);
    });
    tracing::warn!(
        ?point,
        "TEST CRASH: SEALOG_{VAR} kills the server during an incident freeze"
    );
    Ok(())
}

/// Makes the data directory, and everything the server creates from now on, private to the
/// service user: events, keys and the admin token are nobody else's to read.
pub(crate) fn private_data_dir(data: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    std::fs::create_dir_all(data)
        .map_err(|e| format!("cannot create the data directory {}: {e}", data.display()))?;
    std::fs::set_permissions(data, std::fs::Permissions::from_mode(0o700)).map_err(|e| {
        format!(
            "cannot make the data directory {} private (mode 0700): {e}",
            data.display()
        )
    })
}

/// The first start's message: the admin key (once), the dashboard, and a first event.
fn print_welcome(data: &Path, url: &str, key: &str) {
    let token = data.join("admin.token");
    println!(
        "\nFirst start: created the log \"default\" and an admin API key (also in {token}):\n\n  \
         {key}\n\nThe key stays in {token} until it is rotated: store it elsewhere, then run \
         `sealog keys rotate-admin`\n(which revokes it and removes the file), or start with \
         --admin-key-file to bring your own.\n\nDashboard: {url}/  (sign in with the key)\n\nRecord an event and fetch its \
         receipt:\n\n  curl -s -H \"Authorization: Bearer $(cat {token})\" \
         -H 'Content-Type: application/json' \\\n    -d '{{\"events\": [{{\"id\": \
         \"0192f3a0-0000-7000-8000-000000000001\", \"ts\": \"2026-01-01T00:00:00Z\", \
         \"agent\": {{\"id\": \"demo\"}}, \"action\": \"decision\", \"status\": \"ok\"}}]}}' \
         \\\n    {url}/v1/logs/default/events\n  curl -s -H \"Authorization: Bearer $(cat \
         {token})\" \\\n    {url}/v1/logs/default/events/0192f3a0-0000-7000-8000-000000000001/proof\n",
        token = token.display()
    );
}

/// Resolves on SIGTERM or SIGINT.
async fn shutdown() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("a SIGTERM handler installs");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    tracing::info!("shutting down: finishing in-flight requests and signing a final checkpoint");
}
