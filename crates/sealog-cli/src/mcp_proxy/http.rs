//! HTTP mode: a reverse proxy in front of an MCP server's Streamable HTTP or HTTP+SSE endpoint.
//!
//! Each request is sent on to the upstream origin with its path, query, headers and body;
//! each answer comes back as it streams (JSON or Server-Sent Events), frame by frame, through
//! a [`Tap`] that copies every JSON-RPC message to the recorder, keyed by the `Mcp-Session-Id`
//! of the exchange or, over HTTP+SSE, by the stream's message endpoint ([`super::sse`]).

use super::approval::{Gate, Verdict};
use super::policy::{self, Policy};
use super::recorder::{Dir, Note};
use super::sse::Endpoints;
use super::tap::{Kind, Tap};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, combinators::BoxBody};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::{Client, connect::HttpConnector};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::Value;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::time::{Instant, SystemTime};

type Out = BoxBody<Bytes, hyper::Error>;

/// What every connection shares.
struct Proxy {
    upstream: hyper::Uri,
    client: Client<HttpConnector, Full<Bytes>>,
    policy: Policy,
    gate: Gate,
    tx: Sender<Note>,
    exchanges: std::sync::atomic::AtomicU64,
    /// The message endpoints of open HTTP+SSE streams.
    endpoints: Endpoints,
}

/// Serves until SIGINT or SIGTERM.
pub fn run(
    listen: &str,
    upstream: &str,
    (policy, gate): (&Policy, &Gate),
    tx: &Sender<Note>,
) -> Result<ExitCode, String> {
    let upstream: hyper::Uri = upstream
        .parse()
        .map_err(|e| format!("--upstream {upstream:?} is not a URL: {e}"))?;
    if upstream.scheme_str() != Some("http") || upstream.authority().is_none() {
        return Err("--upstream must be http://host:port (the MCP server's origin)".into());
    }
    let rt = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let proxy = Arc::new(Proxy {
        upstream,
        client: Client::builder(TokioExecutor::new()).build_http(),
        policy: policy.clone(),
        gate: gate.clone(),
        tx: tx.clone(),
        exchanges: std::sync::atomic::AtomicU64::new(1),
        endpoints: Endpoints::default(),
    });
    rt.block_on(serve(listen, proxy))?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(listen: &str, proxy: Arc<Proxy>) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    eprintln!(
        "sealog mcp-proxy: listening on http://{addr}, relaying to {}",
        proxy.upstream
    );
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| e.to_string())?;
    loop {
        let (stream, _) = tokio::select! {
            conn = listener.accept() => match conn {
                Ok(c) => c,
                Err(_) => continue,
            },
            _ = tokio::signal::ctrl_c() => return Ok(()),
            _ = term.recv() => return Ok(()),
        };
        let proxy = Arc::clone(&proxy);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let proxy = Arc::clone(&proxy);
                async move { Ok::<_, hyper::Error>(proxy.handle(req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn now() -> (Instant, SystemTime) {
    (Instant::now(), SystemTime::now())
}

fn session_header(h: &hyper::HeaderMap) -> Option<String> {
    h.get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn reply(status: StatusCode, content_type: &str, body: Vec<u8>) -> Response<Out> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(body)).map_err(|e| match e {}).boxed())
        .expect("a valid response")
}

/// What the HTTP+SSE transport answers a post whose answer goes onto the stream.
fn accepted() -> Response<Out> {
    reply(StatusCode::ACCEPTED, "text/plain", b"Accepted".to_vec())
}

/// Where a request belongs on the record.
#[derive(Clone)]
struct Route {
    /// The MCP session, if known before the answer (an `Mcp-Session-Id`, or an HTTP+SSE
    /// endpoint); else the answer's `Mcp-Session-Id` names it.
    session: Option<String>,
    /// The HTTP exchange (0 in an HTTP+SSE session, whose answers come on its stream).
    exchange: u64,
    /// True for a post to an HTTP+SSE endpoint.
    legacy: bool,
}

impl Route {
    fn session(&self) -> String {
        self.session.clone().unwrap_or_default()
    }
}

impl Proxy {
    fn route(&self, parts: &hyper::http::request::Parts) -> Route {
        let exchange = self
            .exchanges
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Some(s) = session_header(&parts.headers) {
            return Route {
                session: Some(s),
                exchange,
                legacy: false,
            };
        }
        let pq = parts.uri.path_and_query().map_or("", |p| p.as_str());
        if parts.method == hyper::Method::POST && self.endpoints.is_open(pq) {
            return Route {
                session: Some(pq.to_owned()),
                exchange: 0,
                legacy: true,
            };
        }
        Route {
            session: None,
            exchange,
            legacy: false,
        }
    }

    async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Response<Out> {
        let (parts, body) = req.into_parts();
        let body = match body.collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) => return reply(StatusCode::BAD_REQUEST, "text/plain", e.to_string().into()),
        };
        let at = now();
        let route = self.route(&parts);
        if let Some((request, reason)) = policy::refused(&self.policy, &body) {
            let _ = self.tx.send(Note::Blocked {
                session: route.session(),
                request: request.clone(),
                reason: reason.clone(),
            });
            return self.answer(&route, &policy::error_reply(&request, &reason));
        }
        if let Some(request) = self.gate.holds(&body) {
            if route.legacy {
                // The post is answered now, as its transport wants; the call's answer, the
                // server's or a refusal, comes on the stream once the reviewer has decided.
                tokio::spawn(async move {
                    if self.hold(&route, &request).await.is_none() {
                        let r = self.relay(parts, body, route.clone(), at).await;
                        if !r.status().is_success() {
                            let why =
                                format!("the MCP server did not take the call ({})", r.status());
                            self.answer(&route, &policy::error_reply(&request, &why));
                        }
                    }
                });
                return accepted();
            }
            // The request's own task waits; other requests go on meanwhile.
            if let Some(refusal) = self.hold(&route, &request).await {
                return refusal;
            }
        }
        self.relay(parts, body, route, at).await
    }

    /// Holds `request` for a reviewer; if refused, the client's error.
    async fn hold(&self, route: &Route, request: &Value) -> Option<Response<Out>> {
        let (gate, tx, session) = (self.gate.clone(), self.tx.clone(), route.session());
        let held = request.clone();
        let verdict = tokio::task::spawn_blocking(move || gate.hold(&tx, &session, &held))
            .await
            .unwrap_or_else(|e| Verdict::Refused(format!("the approval wait failed: {e}")));
        match verdict {
            Verdict::Approved => None,
            Verdict::Refused(why) => Some(self.answer(route, &policy::error_reply(request, &why))),
        }
    }

    /// The proxy's own answer to a request: its reply, or over HTTP+SSE an event on the stream.
    fn answer(&self, route: &Route, json: &[u8]) -> Response<Out> {
        if !route.legacy {
            return reply(StatusCode::OK, "application/json", json.to_vec());
        }
        if !self.endpoints.send(&route.session(), json) {
            eprintln!(
                "sealog mcp-proxy: the client's event stream closed before it got the proxy's \
                 answer to a refused call"
            );
        }
        accepted()
    }

    /// Sends the request upstream and the answer back, tapped.
    async fn relay(
        &self,
        parts: hyper::http::request::Parts,
        body: Bytes,
        route: Route,
        at: (Instant, SystemTime),
    ) -> Response<Out> {
        let note = |session: String| Note::Message {
            session,
            dir: Dir::ToServer,
            exchange: route.exchange,
            bytes: body.to_vec(),
            at,
        };
        // A session known now is noted before the request leaves: over HTTP+SSE the answer
        // may come on the stream before this post's own reply.
        if !body.is_empty()
            && let Some(s) = &route.session
        {
            let _ = self.tx.send(note(s.clone()));
        }
        let stream_path = (parts.method == hyper::Method::GET).then(|| parts.uri.path().to_owned());
        let mut target = hyper::Uri::builder()
            .scheme("http")
            .authority(self.upstream.authority().expect("checked").clone());
        if let Some(pq) = parts.uri.path_and_query() {
            target = target.path_and_query(pq.clone());
        }
        let up_parts = {
            let mut p = parts.clone();
            p.uri = target.build().expect("a valid URI");
            p.headers.remove("host");
            p
        };
        let upstream = Request::from_parts(up_parts, Full::new(body.clone()));
        let resp = match self.client.request(upstream).await {
            Ok(r) => r,
            Err(e) => {
                let text = format!(
                    "sealog mcp-proxy: the MCP server at {} did not answer: {e}",
                    self.upstream
                );
                return reply(StatusCode::BAD_GATEWAY, "text/plain", text.into());
            }
        };
        let session = route
            .session
            .clone()
            .or_else(|| session_header(resp.headers()))
            .unwrap_or_default();
        if !body.is_empty() && route.session.is_none() {
            let _ = self.tx.send(note(session.clone()));
        }
        if parts.method == hyper::Method::DELETE && resp.status().is_success() {
            let _ = self.tx.send(Note::End {
                session: session.clone(),
            });
        }
        let sse = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        let kind = if sse {
            let origin = format!("http://{}", self.upstream.authority().expect("checked"));
            Kind::Sse(stream_path.map(|p| (p, origin)))
        } else {
            Kind::Json(resp.status() != StatusCode::ACCEPTED)
        };
        let (rparts, rbody) = resp.into_parts();
        let tap = Tap::new(
            rbody,
            kind,
            (session, route.exchange),
            self.tx.clone(),
            self.endpoints.clone(),
        );
        Response::from_parts(rparts, tap.boxed())
    }
}
