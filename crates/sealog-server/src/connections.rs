//! Connections: the one accept loop of plain HTTP and HTTPS, with bounds on what a client can
//! hold open — a deadline for each request's headers and for idling between requests, a cap on
//! connections in all and per peer address — and a bounded drain at shutdown.

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};

/// The bounds on connections (from `ServerOptions`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct ConnectionLimits {
    /// Longest an HTTP/1 connection may take to send a request's headers or stay idle.
    pub(crate) header_timeout: Duration,
    /// Most connections at once.
    pub(crate) max_connections: usize,
    /// Most connections at once from one address.
    pub(crate) max_per_peer: usize,
    /// Longest in-flight requests get after the shutdown signal.
    pub(crate) drain: Duration,
}

/// How many connections are open, in all and per peer; a slot is given back when its
/// [`Slot`] is dropped.
#[derive(Default)]
struct Open {
    total: usize,
    per_peer: HashMap<IpAddr, usize>,
    /// When a refusal was last logged: at most one line a second, so a flood cannot fill the
    /// log.
    last_logged: Option<Instant>,
}

/// One open connection's place in [`Open`].
struct Slot {
    open: Arc<Mutex<Open>>,
    peer: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = lock(&self.open);
        open.total -= 1;
        if let Some(n) = open.per_peer.get_mut(&self.peer) {
            *n -= 1;
            if *n == 0 {
                open.per_peer.remove(&self.peer);
            }
        }
    }
}

fn lock(open: &Mutex<Open>) -> std::sync::MutexGuard<'_, Open> {
    open.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Takes a slot for a connection from `peer`, or logs (at most once a second) why not.
fn admit(open: &Arc<Mutex<Open>>, peer: IpAddr, limits: &ConnectionLimits) -> Option<Slot> {
    let mut o = lock(open);
    let from_peer = o.per_peer.get(&peer).copied().unwrap_or(0);
    let refused = if o.total >= limits.max_connections {
        Some("the server's connection limit (--max-connections)")
    } else if from_peer >= limits.max_per_peer {
        Some("the per-address connection limit (--max-connections-per-peer)")
    } else {
        None
    };
    if let Some(limit) = refused {
        if o.last_logged
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(1))
        {
            o.last_logged = Some(Instant::now());
            tracing::warn!(
                %peer,
                open = o.total,
                from_peer,
                "refused a connection: {limit} is reached"
            );
        }
        return None;
    }
    o.total += 1;
    *o.per_peer.entry(peer).or_default() += 1;
    Some(Slot {
        open: open.clone(),
        peer,
    })
}

/// Accepts connections on `listener` until `shutdown`, turns each into a transport with
/// `transport` (nothing for HTTP, a handshake for HTTPS; `None` drops the connection) and
/// serves `app` on it over HTTP/1.1 or HTTP/2, within `limits`. After `shutdown`, stops
/// accepting and lets in-flight requests finish for at most `limits.drain`; connections still
/// open then are closed.
pub(crate) async fn serve_connections<T, F, IO>(
    listener: TcpListener,
    app: Router,
    transport: T,
    shutdown: impl Future<Output = ()> + Send + 'static,
    limits: ConnectionLimits,
) where
    T: Fn(TcpStream) -> F + Clone + Send + 'static,
    F: Future<Output = Option<IO>> + Send,
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let graceful = GracefulShutdown::new();
    let open = Arc::new(Mutex::new(Open::default()));
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (tcp, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of descriptors, most likely: wait instead of spinning.
                        tracing::warn!(error = %e, "cannot accept a connection");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Some(slot) = admit(&open, peer.ip(), &limits) else { continue };
                let (transport, app, watcher) = (transport.clone(), app.clone(), graceful.watcher());
                tokio::spawn(async move {
                    let _slot = slot;
                    // A client that connects and says nothing is dropped too: the protocol
                    // is only detected (and its header timer started) once a byte arrives.
                    let mut byte = [0u8; 1];
                    let first = tokio::time::timeout(limits.header_timeout, tcp.peek(&mut byte));
                    if !matches!(first.await, Ok(Ok(1..))) {
                        return;
                    }
                    let Some(io) = transport(tcp).await else { return };
                    let mut builder = auto::Builder::new(TokioExecutor::new());
                    builder
                        .http1()
                        .timer(TokioTimer::new())
                        .header_read_timeout(limits.header_timeout);
                    // HTTP/2 has no header timer of its own: a peer that stops answering
                    // pings is dropped after the same deadline, and one connection carries
                    // at most as many requests at once as HTTP/1 connections one peer may open.
                    builder
                        .http2()
                        .timer(TokioTimer::new())
                        .keep_alive_interval(limits.header_timeout)
                        .keep_alive_timeout(limits.header_timeout)
                        .max_concurrent_streams(u32::try_from(limits.max_per_peer).unwrap_or(u32::MAX));
                    // Handlers that count per address (the sign-in) read it from ConnectInfo.
                    let app = tower::ServiceExt::map_request(app, move |mut req: hyper::Request<hyper::body::Incoming>| {
                        req.extensions_mut().insert(axum::extract::ConnectInfo(peer));
                        req
                    });
                    let conn = builder
                        .serve_connection_with_upgrades(TokioIo::new(io), TowerToHyperService::new(app));
                    // A failed connection concerns only that client.
                    let _ = watcher.watch(conn.into_owned()).await;
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(limits.drain, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            drain_ms = limits.drain.as_millis() as u64,
            "in-flight requests did not finish within the drain timeout; their connections \
             are closed"
        );
    }
}
