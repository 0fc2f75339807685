//! The tlog-tiles read API under `/tlog/{log}/`: `checkpoint`, `tile/<L>/<N>[.p/<W>]` and
//! `tile/entries/<N>[.p/<W>]`.
//!
//! Full tiles never change, so they are served with a year-long immutable cache lifetime;
//! partial tiles exist only as implied by the latest signed checkpoint and are cached briefly.
//! A log's tiles are private (read keys only) unless an admin made the log public.

use crate::auth::authenticate;
use crate::error::{ApiError, ApiResult};
use crate::read::{blocking, note_response};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, header};
use axum::response::{IntoResponse, Response};
use sealog_core::tiles::{EntryBundle, Tile};
use sealog_storage::Log;

/// What of the tlog API a request reads.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    /// The checkpoint or a hash tile: hashes only.
    Hashes,
    /// An entry bundle: events, whole.
    Entries,
}

/// The log, if the caller may read this part of its tlog API: a read key, or a log whose
/// settings publish that part.
fn readable(
    state: &AppState,
    name: &str,
    part: Part,
    headers: &HeaderMap,
    method: &Method,
) -> ApiResult<Log> {
    let settings = state.keys.settings(name);
    let public = match part {
        Part::Hashes => settings.public,
        Part::Entries => settings.public && settings.public_entries,
    };
    if !public {
        authenticate(state, headers, method)?.read(name)?;
    }
    state.log(name)
}

/// `GET /tlog/{log}/checkpoint`.
pub async fn checkpoint(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    method: Method,
) -> ApiResult<Response> {
    let log = readable(&state, &name, Part::Hashes, &headers, &method)?;
    let cp = state.witnessing.decorate(log.name(), log.checkpoint());
    Ok(note_response(&cp).into_response())
}

/// `GET /tlog/{log}/tile/{*path}`: a hash tile or an entry bundle.
pub async fn tile(
    State(state): State<AppState>,
    Path((name, path)): Path<(String, String)>,
    headers: HeaderMap,
    method: Method,
) -> ApiResult<Response> {
    let path = format!("tile/{path}");
    let part = if path.starts_with("tile/entries/") {
        Part::Entries
    } else {
        Part::Hashes
    };
    let log = readable(&state, &name, part, &headers, &method)?;
    let bad = |e: sealog_core::tiles::TilePathError| ApiError::not_found(e.to_string());
    let (bytes, partial) = if part == Part::Entries {
        let bundle = EntryBundle::parse_path(&path).map_err(bad)?;
        let partial = bundle.width < sealog_core::tiles::TILE_WIDTH;
        (
            blocking(&log, move |log| Ok(log.entry_bundle(bundle)?)).await?,
            partial,
        )
    } else {
        let tile = Tile::parse_path(&path).map_err(bad)?;
        (
            blocking(&log, move |log| Ok(log.tile(tile)?)).await?,
            tile.is_partial(),
        )
    };
    let cache = if partial {
        "public, max-age=60"
    } else {
        "public, max-age=31536000, immutable"
    };
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, cache),
        ],
        bytes,
    )
        .into_response())
}
