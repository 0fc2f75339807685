//! A server over one data directory: opening, first-start bootstrap, the router, and serving
//! until a shutdown signal, with a bounded drain and a final checkpoint.

use crate::body::BodyBudget;
use crate::connections::{ConnectionLimits, serve_connections};
use crate::error::ServerError;
use crate::export_limits::ExportLimits;
use crate::keys::Keys;
use crate::metrics::Metrics;
use crate::state::{AppState, RateLimiter, ServerOptions};
use crate::{ops, routes};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use sealog_auth::Role;
use sealog_dashboard::DashboardOptions;
use sealog_storage::{Engine, EngineOptions, durable};
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use tokio::net::TcpListener;

/// The largest body of a route other than ingest (log and key settings).
const SMALL_BODY_BYTES: usize = 64 * 1024;

/// The file in the data directory that holds the admin key a first start made.
const ADMIN_TOKEN: &str = "admin.token";

/// The log a first start creates.
pub const DEFAULT_LOG: &str = "default";

/// A server over one data directory.
pub struct Server {
    state: AppState,
    dashboard: Router,
}

impl Server {
    /// Opens the data directory (taking its lock and recovering every log) and the key store.
    pub fn open(dir: &Path, options: ServerOptions) -> Result<Server, ServerError> {
        Self::open_with(dir, options, EngineOptions::default())
    }

    /// [`Server::open`] with tuned engine options.
    pub fn open_with(
        dir: &Path,
        options: ServerOptions,
        engine: EngineOptions,
    ) -> Result<Server, ServerError> {
        let engine = Engine::open_serving(dir, engine)?;
        let keys = Keys::open_for(dir, &engine)?;
        let content = sealog_storage::content::ContentStore::open_sharing_holds(
            dir,
            options.kek_dir.as_deref(),
            engine.shared_documents(),
        )
        .map_err(|e| ServerError::io("cannot open the encrypted content store", e))?;
        let dashboard_options = DashboardOptions {
            secure_cookies: options.tls,
            session_file: Some(dir.join("sessions.json")),
            ..DashboardOptions::default()
        };
        let (dashboard, sessions) = sealog_dashboard::router(keys.clone(), dashboard_options);
        let state = AppState {
            engine,
            keys,
            sessions,
            limiter: Arc::new(RateLimiter::new(options.rate_limit_per_key)),
            body_budget: BodyBudget::new(options.max_inflight_body_bytes),
            admin_token_file: dir.join(ADMIN_TOKEN).into(),
            exports: Arc::new(ExportLimits::new(
                options.max_exports_per_key,
                options.export_idle_timeout,
                options.export_disk_reserve_bytes,
            )),
            witnessing: Arc::new(crate::witnessing::Witnessing::new(
                dir,
                options.witness_policy.clone(),
                options.witness_alarm,
            )),
            timestamping: Arc::new(crate::timestamping::Timestamping::new(
                dir,
                options.tsa.clone(),
            )),
            options: Arc::new(options),
            metrics: Arc::new(Metrics::default()),
            otlp: Arc::default(),
            content: Arc::new(content),
            retention_clock: sealog_storage::clock::RetentionClock::start(),
            incidents: dir.join("incidents").into(),
            forwarder: Default::default(),
        };
        Ok(Server { state, dashboard })
    }

    /// On a first start (no key yet, on a shared store on any node): creates the log
    /// `default` if missing and a server-wide admin key. Without `provided`, the key is made here, written to `DIR/admin.token` (mode
    /// 0600) and returned; with it (`slk_…`, from the operator), only its hash is stored and
    /// nothing is written. Later starts return `None`.
    pub fn bootstrap(&self, provided: Option<&str>) -> Result<Option<String>, ServerError> {
        if !self.state.keys.is_empty() {
            return Ok(None);
        }
        let engine = &self.state.engine;
        // On a shared store another node may have made it (and may write it now).
        let elsewhere = engine.standby().contains_key(DEFAULT_LOG);
        if engine.log(DEFAULT_LOG).is_none()
            && !engine.damaged().contains_key(DEFAULT_LOG)
            && !elsewhere
        {
            let origin = format!("{}/{DEFAULT_LOG}", self.state.options.name);
            match self.state.engine.create_log(DEFAULT_LOG, &origin) {
                Err(e) if e.kind() != sealog_storage::ErrorKind::AlreadyExists => Err(e)?,
                _ => {}
            }
        }
        // Stored only if still no key: of two nodes of a shared store starting together, one
        // makes the key and the other finds it.
        if let Some(key) = provided {
            let record = Keys::record_of(key, Role::Admin, None, "provided admin")?;
            self.state.keys.insert_first(record)?;
            return Ok(None);
        }
        // The token file is written before the key is stored: a crash in between leaves no
        // stored key, so the next start bootstraps again and overwrites the file.
        let (record, key) = Keys::generate(Role::Admin, None, "first-start admin");
        let token = &self.state.admin_token_file;
        durable::write_file(token, format!("{key}\n").as_bytes(), 0o600)
            .map_err(|e| ServerError::io(format_args!("cannot write {}", token.display()), e))?;
        if !self.state.keys.insert_first(record)? {
            // Another node made the first key meanwhile: this one's was never valid.
            std::fs::remove_file(token.as_ref()).map_err(|e| {
                ServerError::io(format_args!("cannot remove {}", token.display()), e)
            })?;
            return Ok(None);
        }
        Ok(Some(key))
    }

    /// The whole application: the API, the dashboard, and the fallbacks.
    pub fn router(&self) -> Router {
        let mut api = Router::new();
        for route in routes() {
            api = api.route(route.path, route.handler);
        }
        // Ingest reads its body within its own bounds (crate::body); every other body is a
        // small JSON object.
        api.method_not_allowed_fallback(ops::method_not_allowed)
            .layer(DefaultBodyLimit::max(SMALL_BODY_BYTES))
            .with_state(self.state.clone())
            .merge(self.dashboard.clone())
            .fallback(ops::not_found)
            // Inside `observe`, so that a forwarded request is timed, bounded and logged too.
            .layer(axum::middleware::from_fn_with_state(
                self.state.clone(),
                crate::forward::to_leader,
            ))
            .layer(axum::middleware::from_fn_with_state(
                self.state.clone(),
                ops::observe,
            ))
    }

    /// Serves plain HTTP on `listener` until `shutdown` resolves, then lets in-flight
    /// requests finish (for at most the drain timeout), commits what is queued and signs a
    /// final checkpoint for every log that grew.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        self.start_witnessing();
        let app = self.router();
        let limits = self.connection_limits();
        serve_connections(
            listener,
            app,
            |tcp| async move { Some(tcp) },
            shutdown,
            limits,
        )
        .await;
        self.shutdown().await
    }

    /// Starts asking the witnesses of `--witness-policy` to cosign every log's checkpoints,
    /// the TSAs of `--tsa-url` to time-stamp them, the pruning of content past retention, and the
    /// sealing of incident packs a stopped process left unsealed.
    pub(crate) fn start_witnessing(&self) {
        self.state.witnessing.start(&self.state.engine);
        self.state.timestamping.start(&self.state.engine);
        crate::retention::start(&self.state);
        crate::incidents::start(&self.state);
    }

    /// The bounds on connections, from the server's options.
    pub(crate) fn connection_limits(&self) -> ConnectionLimits {
        let o = &self.state.options;
        ConnectionLimits {
            header_timeout: o.header_timeout,
            max_connections: o.max_connections,
            max_per_peer: o.max_connections_per_peer,
            drain: o.drain_timeout,
        }
    }

    /// Stops the engine: commits what is queued and signs final checkpoints.
    pub async fn shutdown(&self) -> Result<(), ServerError> {
        let engine = self.state.engine.clone();
        tokio::task::spawn_blocking(move || engine.shutdown())
            .await
            .map_err(|e| ServerError::new(sealog_storage::ErrorKind::Io, e.to_string()))??;
        Ok(())
    }
}
