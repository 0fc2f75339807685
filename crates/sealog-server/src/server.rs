//! A server over one data directory: opening, first-start bootstrap, the router, and serving
//! until a shutdown signal with a final checkpoint.

use crate::keys::Keys;
use crate::metrics::Metrics;
use crate::state::{AppState, RateLimiter, ServerOptions};
use crate::{ops, routes};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use sealog_dashboard::{DashboardOptions, Role};
use sealog_storage::{Engine, EngineOptions};
use std::future::Future;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The log a first start creates.
pub const DEFAULT_LOG: &str = "default";

/// A server over one data directory.
pub struct Server {
    dir: PathBuf,
    state: AppState,
    dashboard: Router,
}

impl Server {
    /// Opens the data directory (taking its lock and recovering every log) and the key store.
    pub fn open(dir: &Path, options: ServerOptions) -> Result<Server, String> {
        Self::open_with(dir, options, EngineOptions::default())
    }

    /// [`Server::open`] with tuned engine options.
    pub fn open_with(
        dir: &Path,
        options: ServerOptions,
        engine: EngineOptions,
    ) -> Result<Server, String> {
        let engine = Engine::open(dir, engine).map_err(|e| e.to_string())?;
        let keys = Keys::open(dir)?;
        let dashboard_options = DashboardOptions {
            secure_cookies: options.tls,
            ..DashboardOptions::default()
        };
        let (dashboard, sessions) = sealog_dashboard::router(keys.clone(), dashboard_options);
        let state = AppState {
            engine,
            keys,
            sessions,
            limiter: Arc::new(RateLimiter::new(options.rate_limit_per_key)),
            options: Arc::new(options),
            metrics: Arc::new(Metrics::default()),
        };
        Ok(Server {
            dir: dir.to_owned(),
            state,
            dashboard,
        })
    }

    /// On a first start (no key yet): creates the log `default` if missing and a server-wide
    /// admin key, writes the key to `DIR/admin.token` (mode 0600) and returns it. Later starts
    /// return `None`.
    pub fn bootstrap(&self) -> Result<Option<String>, String> {
        if !self.state.keys.is_empty() {
            return Ok(None);
        }
        if self.state.engine.log(DEFAULT_LOG).is_none() {
            let origin = format!("{}/{DEFAULT_LOG}", self.state.options.name);
            self.state
                .engine
                .create_log(DEFAULT_LOG, &origin)
                .map_err(|e| e.to_string())?;
        }
        // The token file is written before the key is stored: a crash in between leaves no
        // stored key, so the next start bootstraps again and overwrites the file.
        let (record, key) = Keys::generate(Role::Admin, None, "first-start admin");
        let token = self.dir.join("admin.token");
        write_private(&token, format!("{key}\n").as_bytes())
            .map_err(|e| format!("cannot write {}: {e}", token.display()))?;
        self.state.keys.insert(record)?;
        Ok(Some(key))
    }

    /// The whole application: the API, the dashboard, and the fallbacks.
    pub fn router(&self) -> Router {
        let mut api = Router::new();
        for route in routes() {
            api = api.route(route.path, route.handler);
        }
        let body_limit = self.state.options.max_body_bytes;
        api.method_not_allowed_fallback(ops::method_not_allowed)
            .layer(DefaultBodyLimit::max(body_limit))
            .with_state(self.state.clone())
            .merge(self.dashboard.clone())
            .fallback(ops::not_found)
            .layer(axum::middleware::from_fn_with_state(
                self.state.clone(),
                ops::observe,
            ))
    }

    /// Serves on `listener` until `shutdown` resolves, then finishes in-flight requests,
    /// commits what is queued and signs a final checkpoint for every log that grew.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), String> {
        let app = self.router();
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(|e| format!("the server failed: {e}"))?;
        self.shutdown().await
    }

    /// Stops the engine: commits what is queued and signs final checkpoints.
    pub async fn shutdown(&self) -> Result<(), String> {
        let engine = self.state.engine.clone();
        tokio::task::spawn_blocking(move || engine.shutdown())
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())
    }
}

/// Writes `bytes` to `path` with mode 0600 through a temporary file, fsync and rename.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(path.parent().unwrap_or(Path::new(".")))?.sync_all()
}
