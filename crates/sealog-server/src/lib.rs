//! Sealog's HTTP API v1 (docs/DESIGN.md §4) over the log engine: ingest, event queries, proofs and
//! receipts, checkpoints, the tlog-tiles read API, logs and API keys, evidence export, the
//! dashboard, and operations endpoints.
//!
//! ```no_run
//! # async fn run() -> Result<(), sealog_server::ServerError> {
//! use sealog_server::{Server, ServerOptions};
//! let server = Server::open(std::path::Path::new("./sealog-data"), ServerOptions::default())?;
//! if let Some(admin_key) = server.bootstrap(None)? {
//!     println!("admin key: {admin_key}");
//! }
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:7300").await.unwrap();
//! server.serve(listener, std::future::pending()).await
//! # }
//! ```
//!
//! Every route is listed once, in [`routes`], from which both the router and `/openapi.json`
//! are made, so the description cannot drift from the code.

mod access;
mod admin;
mod admin_keys;
mod approvals;
mod auth;
mod body;
mod body_deadline;
mod connections;
mod content;
mod encoding;
mod erasure;
mod error;
mod export;
mod export_limits;
mod extract;
mod forward;
mod holds;
mod incidents;
mod ingest;
mod key_store;
pub mod keys;
mod metrics;
mod openapi;
mod ops;
mod otlp;
mod prune_entries;
mod read;
mod receipt;
mod retention;
mod server;
mod state;
pub mod timestamping;
mod tlog;
pub mod tls;
mod witnessing;

pub use incidents::{CrashPoint, crash_at};

pub use witnessing::parse_policy;

pub use error::{ApiError, ServerError};
pub use ingest::{BodyFormat, parse_batch};
pub use server::Server;
pub use state::ServerOptions;

use axum::routing::{MethodRouter, delete, get, patch, post, put};
use serde_json::Value;
use state::AppState;

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone.
    Public,
    /// A key (or dashboard session) of the log with the role the route needs.
    Key,
    /// A read key, unless the log was made public.
    KeyUnlessPublic,
}

/// One documented route.
pub struct Route {
    /// HTTP method, upper case.
    pub method: &'static str,
    /// Path template, with `{name}` parameters (and `{*rest}` for a tail).
    pub path: &'static str,
    /// What it does.
    pub summary: &'static str,
    /// Who may call it.
    pub access: Access,
    /// The JSON Schema of its query parameters (an object), from the handler's type.
    query: Option<fn() -> Value>,
    /// The JSON Schema of its JSON request body, from the handler's type.
    body: Option<fn() -> Value>,
    handler: MethodRouter<AppState>,
}

macro_rules! route {
    ($method:ident, $path:literal, $access:ident, $summary:literal, $handler:expr
     $(, query = $query:ty)? $(, body = $body:expr)?) => {
        Route {
            method: const_upper(stringify!($method)),
            path: $path,
            summary: $summary,
            access: Access::$access,
            query: None $(.or(Some(openapi::schema_of::<$query> as fn() -> Value)))?,
            body: None $(.or(Some($body as fn() -> Value)))?,
            handler: $method($handler),
        }
    };
}

const fn const_upper(m: &'static str) -> &'static str {
    match m.as_bytes() {
        b"get" => "GET",
        b"post" => "POST",
        b"patch" => "PATCH",
        b"delete" => "DELETE",
        b"put" => "PUT",
        _ => panic!("unknown method"),
    }
}

/// Every route of the API.
pub fn routes() -> Vec<Route> {
    vec![
        route!(
            post,
            "/v1/logs",
            Key,
            "Create a log (server-wide admin key).",
            admin::create_log,
            body = openapi::schema_of::<admin::NewLog>
        ),
        route!(
            get,
            "/v1/logs",
            Key,
            "List the logs the key may read: those this node serves, those it could not open (damaged), and on a shared store those another node writes now (elsewhere, with the node).",
            admin::list_logs
        ),
        route!(
            get,
            "/v1/logs/{log}",
            Key,
            "A log's origin, vkey, size, latest checkpoint, index lag and retention (days, below_minimum when an override set less than 180, content_pruned_below, held_from, last_prune).",
            read::log_info
        ),
        route!(
            patch,
            "/v1/logs/{log}",
            Key,
            "Change a log's settings (admin): public (checkpoint and hash tiles without a key), public_entries (every event too), otlp_content (keep OTLP content instead of commitments), otlp_other_spans (in_ai_traces, keep, drop), retention_days (default 180), retention_below_minimum (the override a retention below 180 days needs) and prune_entries (whether retention also prunes whole entries, keeping their tree hashes; embedded store only); retention changes are recorded as a retention_changed event.",
            admin::patch_log,
            body = openapi::schema_of::<admin::LogPatch>
        ),
        route!(
            post,
            "/v1/logs/{log}/events",
            Key,
            "Record events: {\"events\": [...]} or NDJSON, gzip accepted; ?wait=checkpoint adds receipts.",
            ingest::ingest,
            query = ingest::IngestParams,
            body = openapi::event_batch
        ),
        route!(
            get,
            "/v1/logs/{log}/events",
            Key,
            "Query events newest first: agent, session, action, status, since, until, limit, cursor.",
            read::list_events,
            query = read::EventFilters
        ),
        route!(
            get,
            "/v1/logs/{log}/events/histogram",
            Key,
            "Counts of the events matching agent, session, action, status, since, until per time bucket and action: buckets (1-1000, default 60).",
            read::events_histogram,
            query = read::HistogramParams
        ),
        route!(
            get,
            "/v1/logs/{log}/events/{id}",
            Key,
            "One event with its leaf and inclusion proof to the latest checkpoint.",
            read::get_event
        ),
        route!(
            get,
            "/v1/logs/{log}/events/{id}/proof",
            Key,
            "The event's receipt: a C2SP tlog-proof (text/plain); ?wait=witnessed waits for the witness quorum.",
            read::get_proof,
            query = read::ProofParams
        ),
        route!(
            get,
            "/v1/logs/{log}/events/{id}/content",
            Key,
            "The event's private input and output, decrypted (read and admin keys); 410 `erased` once its subject was erased, 410 `pruned` (with the range) once retention removed it.",
            content::get_content
        ),
        route!(
            get,
            "/v1/logs/{log}/subjects/{pseudo_id}",
            Key,
            "Subject access: every event about the data subject, with its decrypted content where it still exists (read and admin keys; scans the log).",
            access::subject_access
        ),
        route!(
            get,
            "/v1/logs/{log}/subjects/{pseudo_id}/export",
            Key,
            "Subject access as an evidence pack (ZIP): every event about the data subject, proven, with its decrypted content in content.jsonl where it still exists (read and admin keys; scans the log).",
            access::subject_export
        ),
        route!(
            post,
            "/v1/logs/{log}/subjects/{pseudo_id}/erasure",
            Key,
            "Erase a data subject {\"reason\"} (admin): destroys its data key, records an erasure event; 409 under a legal hold.",
            erasure::erase,
            body = openapi::schema_of::<erasure::Erasure>
        ),
        route!(
            post,
            "/v1/logs/{log}/incidents",
            Key,
            "Freeze an incident {id?, \"title\", reason?, \"since\", \"until\", agent?, session?, subject?, action?, status?} (admin): records an incident event, places a legal hold on the range, builds and stores a sealed evidence pack of its events; answers 201 with the pack's url (200 for a retry with the same id).",
            incidents::create,
            body = openapi::schema_of::<incidents::NewIncident>
        ),
        route!(
            get,
            "/v1/logs/{log}/incidents",
            Key,
            "The log's incidents, oldest first, each with its pack: pending, ready or failed and why (read and admin keys).",
            incidents::list
        ),
        route!(
            get,
            "/v1/logs/{log}/incidents/{id}/pack",
            Key,
            "An incident's sealed evidence pack (ZIP), as stored when it was frozen (read and admin keys).",
            incidents::pack
        ),
        route!(
            post,
            "/v1/logs/{log}/holds",
            Key,
            "Place a legal hold {\"reason\", subject?, session?, since?, until?} (admin); answers {\"id\"}.",
            holds::place,
            body = openapi::schema_of::<holds::NewHold>
        ),
        route!(
            get,
            "/v1/logs/{log}/holds",
            Key,
            "The legal holds in place (admin).",
            holds::list
        ),
        route!(
            delete,
            "/v1/logs/{log}/holds/{id}",
            Key,
            "Lift a legal hold (admin).",
            holds::lift
        ),
        route!(
            get,
            "/v1/logs/{log}/approvals",
            Key,
            "Held calls (tool_call events with status pending) waiting for a reviewer's decision (read and admin keys).",
            approvals::list
        ),
        route!(
            get,
            "/v1/logs/{log}/approvals/{event_id}",
            Key,
            "The decision on a held call, or {\"decision\": \"pending\"} (any key of the log).",
            approvals::get
        ),
        route!(
            post,
            "/v1/logs/{log}/approvals/{event_id}",
            Key,
            "Decide a held call {\"decision\": \"approved\"|\"rejected\", \"reason\"?} (admin; an ingest key may record {\"decision\": \"rejected\", \"timeout\": true}): a human_oversight event targeting it; 409 if decided already.",
            approvals::decide,
            body = openapi::schema_of::<approvals::Decision>
        ),
        route!(
            post,
            "/v1/logs/{log}/kek/rotate",
            Key,
            "Re-wrap every data key of the log under a new key-encryption key (admin).",
            erasure::rotate_kek
        ),
        route!(
            get,
            "/v1/logs/{log}/sessions/{session}/events",
            Key,
            "One session's events in seq order, a page at a time: limit (1-1000, default 100), cursor.",
            read::session_events,
            query = read::SessionParams
        ),
        route!(
            get,
            "/v1/logs/{log}/checkpoint",
            Key,
            "The latest signed checkpoint note (text/plain).",
            read::get_checkpoint
        ),
        route!(
            get,
            "/v1/logs/{log}/witness-policy",
            Key,
            "The witness policy the log is witnessed under (admin): source (log, server or none), its own tlog-policy text, the quorum and the witnesses.",
            witnessing::routes::get_policy
        ),
        route!(
            put,
            "/v1/logs/{log}/witness-policy",
            Key,
            "Set the log's own witness policy (admin), a C2SP tlog-policy whose witnesses have http(s) URLs; it takes precedence over --witness-policy and applies at once. A 400 invalid_policy names the line.",
            witnessing::routes::put_policy,
            body = openapi::schema_of::<witnessing::routes::PolicyBody>
        ),
        route!(
            delete,
            "/v1/logs/{log}/witness-policy",
            Key,
            "Remove the log's own witness policy (admin): the server-wide --witness-policy applies again, if any.",
            witnessing::routes::delete_policy
        ),
        route!(
            get,
            "/v1/logs/{log}/checkpoints/{size}/timestamp",
            Key,
            "The RFC 3161 time-stamp of the checkpoint of that size (application/timestamp-reply; --tsa-url); its imprint is the SHA-256 of the checkpoint's text without signature lines.",
            timestamping::get_timestamp
        ),
        route!(
            get,
            "/v1/logs/{log}/proofs/consistency",
            Key,
            "Consistency proof between tree sizes: from, to.",
            read::get_consistency,
            query = read::ConsistencyParams
        ),
        route!(
            get,
            "/v1/logs/{log}/export",
            Key,
            "An evidence pack (ZIP) of the events matching agent, session, action, status, since, until, q; content=true adds the decrypted content of its private events (content.jsonl).",
            export::export,
            query = export::ExportParams
        ),
        route!(
            post,
            "/v1/logs/{log}/keys",
            Key,
            "Create an API key {\"role\", \"label\"?}; the secret is shown once (admin).",
            admin::create_key,
            body = openapi::schema_of::<admin::NewKey>
        ),
        route!(
            get,
            "/v1/logs/{log}/keys",
            Key,
            "List the log's keys, without secrets (admin).",
            admin::list_keys
        ),
        route!(
            get,
            "/v1/logs/{log}/keys/{id}",
            Key,
            "One key, without its secret (admin).",
            admin::get_key
        ),
        route!(
            delete,
            "/v1/logs/{log}/keys/{id}",
            Key,
            "Revoke a key (admin).",
            admin::revoke_key
        ),
        route!(
            get,
            "/v1/admin/keys",
            Key,
            "List the server-wide keys, without secrets (server-wide admin).",
            admin_keys::list
        ),
        route!(
            post,
            "/v1/admin/keys",
            Key,
            "Create a server-wide admin key {\"label\"?}; the secret is shown once (server-wide admin).",
            admin_keys::create,
            body = openapi::schema_of::<admin_keys::NewAdminKey>
        ),
        route!(
            post,
            "/v1/admin/keys/rotate",
            Key,
            "Replace the calling server-wide admin key by a new one {\"label\"?}: the old key is revoked and admin.token removed if it held it.",
            admin_keys::rotate,
            body = openapi::schema_of::<admin_keys::NewAdminKey>
        ),
        route!(
            delete,
            "/v1/admin/keys/{id}",
            Key,
            "Revoke a server-wide key; the last admin key is refused with 409 (server-wide admin).",
            admin_keys::revoke_one
        ),
        route!(
            get,
            "/tlog/{log}/checkpoint",
            KeyUnlessPublic,
            "tlog-tiles: the latest checkpoint.",
            tlog::checkpoint
        ),
        route!(
            get,
            "/tlog/{log}/tile/{*path}",
            KeyUnlessPublic,
            "tlog-tiles: a hash tile or entry bundle.",
            tlog::tile
        ),
        route!(
            post,
            "/otlp/v1/traces",
            Key,
            "OTLP/HTTP traces (protobuf or JSON, gzip accepted) into the log of the ingest key; spans become events (spec/otlp-mapping.md).",
            otlp::traces
        ),
        route!(
            post,
            "/otlp/v1/logs",
            Key,
            "OTLP/HTTP logs (protobuf or JSON, gzip accepted) into the log of the ingest key; log records become events (spec/otlp-mapping.md).",
            otlp::logs
        ),
        route!(
            post,
            "/v1/logs/{log}/otlp/commitment-key",
            Key,
            "The key OTLP content is committed under, shown once (admin); later calls get 409.",
            otlp::settings::fetch_key
        ),
        route!(
            post,
            "/v1/logs/{log}/otlp/commitment-key/rotate",
            Key,
            "Replace the OTLP commitment key by a new one, shown in this response only (admin).",
            otlp::settings::rotate_key
        ),
        route!(get, "/healthz", Public, "Liveness.", ops::healthz),
        route!(
            get,
            "/readyz",
            Public,
            "Readiness: logs recovered and the data directory writable.",
            ops::readyz
        ),
        route!(
            get,
            "/metrics",
            KeyUnlessPublic,
            "Prometheus metrics (server-wide admin key, unless the server runs with --public-metrics).",
            ops::metrics
        ),
        route!(
            get,
            "/openapi.json",
            Public,
            "This API's OpenAPI 3.1 description.",
            openapi_handler
        ),
    ]
}

async fn openapi_handler() -> axum::Json<Value> {
    axum::Json(openapi::document(&routes()))
}

/// The OpenAPI 3.1 description of [`routes`].
pub fn openapi() -> Value {
    openapi::document(&routes())
}
