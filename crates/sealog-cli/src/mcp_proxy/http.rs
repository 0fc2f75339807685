//! Streamable HTTP mode: a reverse proxy in front of an MCP server's HTTP endpoint.
//!
//! Each request is sent on to the upstream origin with its path, query, headers and body;
//! each answer comes back as it streams (JSON or Server-Sent Events, the older HTTP+SSE
//! transport's `GET` stream included), frame by frame. A copy of every JSON-RPC message goes to
//! the recorder, keyed by the `Mcp-Session-Id` of the exchange.

use super::approval::{Gate, Verdict};
use super::policy::{self, Policy};
use super::recorder::{Dir, Note};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, combinators::BoxBody};
use hyper::body::{Body, Frame, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::{Client, connect::HttpConnector};
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::mpsc::Sender;
use std::task::{Context, Poll};
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
    let proxy = std::sync::Arc::new(Proxy {
        upstream,
        client: Client::builder(TokioExecutor::new()).build_http(),
        policy: policy.clone(),
        gate: gate.clone(),
        tx: tx.clone(),
        exchanges: std::sync::atomic::AtomicU64::new(1),
    });
    rt.block_on(serve(listen, proxy))?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(listen: &str, proxy: std::sync::Arc<Proxy>) -> Result<(), String> {
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
        let proxy = std::sync::Arc::clone(&proxy);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let proxy = std::sync::Arc::clone(&proxy);
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

fn session_of<B>(m: &hyper::http::request::Parts, resp: Option<&Response<B>>) -> String {
    let header = |h: &hyper::HeaderMap| {
        h.get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    header(&m.headers)
        .or_else(|| resp.and_then(|r| header(r.headers())))
        .unwrap_or_default()
}

fn reply(status: StatusCode, content_type: &str, body: Vec<u8>) -> Response<Out> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(body)).map_err(|e| match e {}).boxed())
        .expect("a valid response")
}

impl Proxy {
    async fn handle(&self, req: Request<Incoming>) -> Response<Out> {
        let (parts, body) = req.into_parts();
        let body = match body.collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) => return reply(StatusCode::BAD_REQUEST, "text/plain", e.to_string().into()),
        };
        let at = now();
        let exchange = self
            .exchanges
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Some((request, reason)) = policy::refused(&self.policy, &body) {
            let session = session_of::<()>(&parts, None);
            let _ = self.tx.send(Note::Blocked {
                session,
                request: request.clone(),
                reason: reason.clone(),
            });
            return reply(
                StatusCode::OK,
                "application/json",
                policy::error_reply(&request, &reason),
            );
        }
        if let Some(request) = self.gate.holds(&body) {
            // The request's own task waits; other requests go on meanwhile.
            let (gate, tx) = (self.gate.clone(), self.tx.clone());
            let session = session_of::<()>(&parts, None);
            let held = request.clone();
            let verdict = tokio::task::spawn_blocking(move || gate.hold(&tx, &session, &held))
                .await
                .unwrap_or_else(|e| Verdict::Refused(format!("the approval wait failed: {e}")));
            if let Verdict::Refused(why) = verdict {
                let reply_body = policy::error_reply(&request, &why);
                return reply(StatusCode::OK, "application/json", reply_body);
            }
        }
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
        let session = session_of(&parts, Some(&resp));
        if !body.is_empty() {
            let _ = self.tx.send(Note::Message {
                session: session.clone(),
                dir: Dir::ToServer,
                exchange,
                bytes: body.to_vec(),
                at,
            });
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
        let (rparts, rbody) = resp.into_parts();
        let tap = Tap {
            inner: rbody,
            sse,
            buf: Vec::new(),
            session,
            exchange,
            tx: self.tx.clone(),
        };
        Response::from_parts(rparts, tap.boxed())
    }
}

/// The answer's body passed on frame by frame, with a copy of its messages to the recorder.
struct Tap {
    inner: Incoming,
    sse: bool,
    buf: Vec<u8>,
    session: String,
    exchange: u64,
    tx: Sender<Note>,
}

impl Tap {
    fn send(&self, bytes: Vec<u8>) {
        let _ = self.tx.send(Note::Message {
            session: self.session.clone(),
            dir: Dir::ToClient,
            exchange: self.exchange,
            bytes,
            at: now(),
        });
    }

    /// Hands on each complete SSE event's data (the JSON-RPC message it carries).
    fn events(&mut self) {
        while let Some(end) = find_event_end(&self.buf) {
            let event: Vec<u8> = self.buf.drain(..end.1).collect();
            let data = sse_data(&event[..end.0]);
            if matches!(data.first(), Some(b'{' | b'[')) {
                self.send(data);
            }
        }
    }
}

/// (end of the event, end of its blank line) of the first complete SSE event in `buf`.
fn find_event_end(buf: &[u8]) -> Option<(usize, usize)> {
    let lf = buf
        .windows(2)
        .position(|w| w == b"\n\n")
        .map(|i| (i, i + 2));
    let crlf = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, i + 4));
    match (lf, crlf) {
        (Some(a), Some(b)) => Some(if a.0 < b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

/// The `data:` lines of one SSE event, joined by newlines.
fn sse_data(event: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for line in event.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let Some(d) = line.strip_prefix(b"data:") {
            if !out.is_empty() {
                out.push(b'\n');
            }
            out.extend_from_slice(d.strip_prefix(b" ").unwrap_or(d));
        }
    }
    out
}

impl Body for Tap {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.buf.extend_from_slice(data);
                    if this.sse {
                        this.events();
                    } else if this.inner.is_end_stream() {
                        let whole = std::mem::take(&mut this.buf);
                        this.send(whole);
                    }
                }
            }
            Poll::Ready(None) if !this.sse && !this.buf.is_empty() => {
                let whole = std::mem::take(&mut this.buf);
                this.send(whole);
            }
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_events_split_on_blank_lines_and_join_data_lines() {
        let buf = b"event: message\r\ndata: {\"a\":\r\ndata: 1}\r\n\r\nid: 2\n";
        let (end, next) = find_event_end(buf).unwrap();
        assert_eq!(next, end + 4);
        assert_eq!(sse_data(&buf[..end]), b"{\"a\":\n1}");
        assert_eq!(find_event_end(&buf[next..]), None);
    }
}
