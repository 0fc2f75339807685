//! The embedded page: files from `assets/`, served with a content-hash `ETag`.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// An embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "index.html",
        content_type: "text/html; charset=utf-8",
        body: include_bytes!("../assets/index.html"),
    },
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../assets/app.css"),
    },
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/app.js"),
    },
    Asset {
        name: "api.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/api.js"),
    },
    Asset {
        name: "anchors.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/anchors.js"),
    },
    Asset {
        name: "approvals.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/approvals.js"),
    },
    Asset {
        name: "incidents.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/incidents.js"),
    },
    Asset {
        name: "dom.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/dom.js"),
    },
    Asset {
        name: "verify.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/verify.js"),
    },
    // verify.js's fallback where WebCrypto is missing (plain HTTP on a host name), unmodified
    // from their npm packages with their licences; see assets/vendor/README.md.
    Asset {
        name: "vendor/noble-ed25519/index.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/vendor/noble-ed25519/index.js"),
    },
    Asset {
        name: "vendor/noble-ed25519/LICENSE",
        content_type: "text/plain; charset=utf-8",
        body: include_bytes!("../assets/vendor/noble-ed25519/LICENSE"),
    },
    Asset {
        name: "vendor/noble-hashes/sha2.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/vendor/noble-hashes/sha2.js"),
    },
    Asset {
        name: "vendor/noble-hashes/_md.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/vendor/noble-hashes/_md.js"),
    },
    Asset {
        name: "vendor/noble-hashes/_u64.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/vendor/noble-hashes/_u64.js"),
    },
    Asset {
        name: "vendor/noble-hashes/utils.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/vendor/noble-hashes/utils.js"),
    },
    Asset {
        name: "vendor/noble-hashes/LICENSE",
        content_type: "text/plain; charset=utf-8",
        body: include_bytes!("../assets/vendor/noble-hashes/LICENSE"),
    },
];

/// Quoted `ETag`s of [`ASSETS`], computed once: a strong validator that changes whenever the
/// binary ships a different file, so `no-cache` revalidation is cheap and never stale.
fn etags() -> &'static [HeaderValue] {
    static ETAGS: OnceLock<Vec<HeaderValue>> = OnceLock::new();
    ETAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| {
                let sum = Sha256::digest(a.body);
                let tag = sealog_core::hex::encode(&sum[..12]);
                HeaderValue::from_str(&format!("\"{tag}\"")).expect("hex is a valid header")
            })
            .collect()
    })
}

fn serve(i: usize, headers: &HeaderMap) -> Response {
    let asset = &ASSETS[i];
    let etag = etags()[i].clone();
    // Revalidate every time: the files are small, and a stale app after an upgrade would
    // talk to an API it does not match.
    let cache = (header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes());
    if matches {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag), cache]).into_response();
    }
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            ),
            (header::ETAG, etag),
            cache,
        ],
        asset.body,
    )
        .into_response()
}

/// `GET /`, `/ui`, `/ui/…`: the app's page; the client-side router reads the URL.
pub(crate) async fn index(headers: HeaderMap) -> Response {
    serve(0, &headers)
}

/// `GET /assets/{*file}` (`vendor/…` files sit one folder down, as their relative imports expect).
pub(crate) async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    match ASSETS.iter().position(|a| a.name == file) {
        Some(i) => serve(i, &headers),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}
