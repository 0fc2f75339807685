//! The answer's body passed on frame by frame, with a copy of its messages to the recorder.
//!
//! A JSON body is copied whole when it ends; an SSE stream event by event. The first event of
//! a `GET` stream is held until complete (a client acts on whole events only), as it may be
//! the `endpoint` of the older HTTP+SSE transport ([`super::sse`]); from then on the stream
//! is that MCP session's, and carries the messages the proxy answers itself.

use super::recorder::{Dir, Note};
use super::sse::{self, Endpoints};
use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming};
use std::pin::Pin;
use std::sync::mpsc::Sender;
use std::task::{Context, Poll, ready};
use std::time::{Instant, SystemTime};
use tokio::sync::mpsc::UnboundedReceiver;

/// What the body is.
pub enum Kind {
    /// One JSON-RPC message (or batch); `false` when there is nothing to record (`202`).
    Json(bool),
    /// An event stream: `Some((stream path, upstream origin))` for a `GET` stream.
    Sse(Option<(String, String)>),
}

/// The HTTP+SSE session a `GET` stream turned out to be.
struct Legacy {
    endpoints: Endpoints,
    path: String,
    added: UnboundedReceiver<Bytes>,
}

/// A tapped answer body.
pub struct Tap {
    inner: Incoming,
    kind: Kind,
    buf: Vec<u8>,
    /// The first event's bytes while it is incomplete (`GET` streams only).
    held: Option<Vec<u8>>,
    session: String,
    exchange: u64,
    tx: Sender<Note>,
    endpoints: Endpoints,
    legacy: Option<Legacy>,
}

impl Tap {
    /// Taps `inner`, the answer of `exchange` in `session`.
    pub fn new(
        inner: Incoming,
        kind: Kind,
        (session, exchange): (String, u64),
        tx: Sender<Note>,
        endpoints: Endpoints,
    ) -> Tap {
        let held = matches!(kind, Kind::Sse(Some(_))).then(Vec::new);
        Tap {
            inner,
            kind,
            buf: Vec::new(),
            held,
            session,
            exchange,
            tx,
            endpoints,
            legacy: None,
        }
    }

    fn send(&self, bytes: Vec<u8>) {
        let _ = self.tx.send(Note::Message {
            session: self.session.clone(),
            dir: Dir::ToClient,
            exchange: self.exchange,
            bytes,
            at: (Instant::now(), SystemTime::now()),
        });
    }

    /// Hands on each complete SSE event's data (the JSON-RPC message it carries).
    fn events(&mut self) {
        while let Some(end) = sse::find_event_end(&self.buf) {
            let event: Vec<u8> = self.buf.drain(..end.1).collect();
            let data = sse::field(&event[..end.0], "data");
            if matches!(data.first(), Some(b'{' | b'[')) {
                self.send(data);
            }
        }
    }

    /// Takes a frame's data; returns what to pass on now.
    fn take(&mut self, data: Bytes) -> Bytes {
        self.buf.extend_from_slice(&data);
        match &self.kind {
            Kind::Json(record) => {
                if self.inner.is_end_stream() && *record && !self.buf.is_empty() {
                    let whole = std::mem::take(&mut self.buf);
                    self.send(whole);
                }
                data
            }
            Kind::Sse(_) if self.held.is_none() => {
                self.events();
                data
            }
            Kind::Sse(get) => {
                let held = self.held.as_mut().expect("holding");
                held.extend_from_slice(&data);
                let Some((end, _)) = sse::find_event_end(&self.buf) else {
                    return Bytes::new();
                };
                let (path, origin) = get.as_ref().expect("a GET stream");
                let mut out = self.held.take().expect("holding");
                match sse::endpoint(&self.buf[..end], path, origin) {
                    Ok(Some(e)) => {
                        if let Some(event) = e.rewritten {
                            out.splice(..end, event);
                        }
                        self.follow(e.path);
                    }
                    Ok(None) => {}
                    Err(why) => eprintln!("sealog mcp-proxy: {why}"),
                }
                self.events();
                out.into()
            }
        }
    }

    /// From now on the stream is the HTTP+SSE session of the endpoint `path`.
    fn follow(&mut self, path: String) {
        self.session = path.clone();
        self.exchange = 0;
        let added = self.endpoints.open(&path);
        self.legacy = Some(Legacy {
            endpoints: self.endpoints.clone(),
            path,
            added,
        });
    }
}

impl Body for Tap {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = &mut *self;
        loop {
            // The proxy's own messages go between events, never inside one.
            if this.buf.is_empty()
                && let Some(l) = &mut this.legacy
                && let Poll::Ready(Some(event)) = l.added.poll_recv(cx)
            {
                return Poll::Ready(Some(Ok(Frame::data(event))));
            }
            match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => {
                        let out = this.take(data);
                        if !out.is_empty() {
                            return Poll::Ready(Some(Ok(Frame::data(out))));
                        }
                    }
                    Err(trailers) => return Poll::Ready(Some(Ok(trailers))),
                },
                None => {
                    if matches!(this.kind, Kind::Json(true)) && !this.buf.is_empty() {
                        let whole = std::mem::take(&mut this.buf);
                        this.send(whole);
                    }
                    let rest = this.held.take().filter(|h| !h.is_empty());
                    return Poll::Ready(rest.map(|h| Ok(Frame::data(h.into()))));
                }
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.held.as_ref().is_none_or(Vec::is_empty)
            && self.legacy.is_none()
            && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        match self.kind {
            Kind::Sse(Some(_)) => hyper::body::SizeHint::default(),
            _ => self.inner.size_hint(),
        }
    }
}

impl Drop for Tap {
    /// An HTTP+SSE session ends with its stream.
    fn drop(&mut self) {
        if let Some(l) = self.legacy.take() {
            l.endpoints.close(&l.path);
            let _ = self.tx.send(Note::End { session: l.path });
        }
    }
}
