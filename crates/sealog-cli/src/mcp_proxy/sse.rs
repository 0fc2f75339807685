//! Server-Sent Events as MCP uses them: the framing of event streams, and the older HTTP+SSE
//! transport (protocol 2024-11-05).
//!
//! In that transport the client opens a `GET` event stream whose first event, `endpoint`,
//! names the URL to `POST` its messages to; every answer comes back on the stream, and a `POST`
//! only gets `202 Accepted`. The proxy follows it so: the tap of the stream notes the endpoint
//! (an absolute URL on the upstream's origin is made a path, so the client posts through the
//! proxy); posts to an open endpoint belong to that stream's MCP session; and what the proxy
//! itself answers (a refused call) goes onto the stream, where the client looks for it.

use bytes::Bytes;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

/// (end of the event, end of its blank line) of the first complete SSE event in `buf`.
pub fn find_event_end(buf: &[u8]) -> Option<(usize, usize)> {
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

/// The values of one SSE event's `name:` lines (`data`, `event`), joined by newlines.
pub fn field(event: &[u8], name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut seen = false;
    for line in event.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(value) = line
            .strip_prefix(name.as_bytes())
            .and_then(|l| l.strip_prefix(b":"))
        else {
            continue;
        };
        if seen {
            out.push(b'\n');
        }
        seen = true;
        out.extend_from_slice(value.strip_prefix(b" ").unwrap_or(value));
    }
    out
}

/// A JSON-RPC message as one SSE `message` event.
pub fn message_event(json: &[u8]) -> Bytes {
    let json = json.trim_ascii_end();
    let mut out = Vec::with_capacity(json.len() + 24);
    out.extend_from_slice(b"event: message\ndata: ");
    out.extend_from_slice(json);
    out.extend_from_slice(b"\n\n");
    out.into()
}

/// What an `endpoint` event says, as the proxy passes it on.
#[derive(Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// The path and query the client will post to, through the proxy.
    pub path: String,
    /// The event rewritten when the upstream named itself by an absolute URL.
    pub rewritten: Option<Vec<u8>>,
}

/// If `event`, the first of the `GET` stream at `stream_path` from `origin`
/// (`http://host:port`), is an HTTP+SSE `endpoint` event: where the client will post.
pub fn endpoint(event: &[u8], stream_path: &str, origin: &str) -> Result<Option<Endpoint>, String> {
    if field(event, "event") != b"endpoint" {
        return Ok(None);
    }
    let data = String::from_utf8(field(event, "data"))
        .map_err(|_| "the MCP server's endpoint event is not UTF-8".to_owned())?;
    if let Some(rest) = data.strip_prefix(origin)
        && (rest.is_empty() || rest.starts_with(['/', '?']))
    {
        let path = format!("/{}", rest.trim_start_matches('/'));
        let text = String::from_utf8_lossy(event).replacen(&data, &path, 1);
        return Ok(Some(Endpoint {
            path,
            rewritten: Some(text.into_bytes()),
        }));
    }
    if data.contains("://") || data.starts_with("//") {
        return Err(format!(
            "the MCP server names a message endpoint elsewhere ({data}); what the client \
             posts there does not pass the proxy and is not recorded"
        ));
    }
    let path = if data.starts_with('/') {
        data
    } else {
        let dir = stream_path.rsplit_once('/').map_or("", |(d, _)| d);
        format!("{dir}/{data}")
    };
    Ok(Some(Endpoint {
        path,
        rewritten: None,
    }))
}

/// The message endpoints of the open HTTP+SSE streams, each with a way onto its stream.
#[derive(Clone, Default)]
pub struct Endpoints(Arc<Mutex<HashMap<String, UnboundedSender<Bytes>>>>);

impl Endpoints {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, UnboundedSender<Bytes>>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Notes a stream's endpoint; the receiver yields the events the proxy adds to the stream.
    pub fn open(&self, path: &str) -> UnboundedReceiver<Bytes> {
        let (tx, rx) = unbounded_channel();
        self.map().insert(path.to_owned(), tx);
        rx
    }

    /// Forgets an endpoint whose stream ended.
    pub fn close(&self, path: &str) {
        self.map().remove(path);
    }

    /// True when `path` is the endpoint of an open stream.
    pub fn is_open(&self, path: &str) -> bool {
        self.map().contains_key(path)
    }

    /// Puts a JSON-RPC message onto the stream of `path`; false if that stream is gone.
    pub fn send(&self, path: &str, json: &[u8]) -> bool {
        self.map()
            .get(path)
            .is_some_and(|tx| tx.send(message_event(json)).is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_on_blank_lines_and_join_data_lines() {
        let buf = b"event: message\r\ndata: {\"a\":\r\ndata: 1}\r\n\r\nid: 2\n";
        let (end, next) = find_event_end(buf).unwrap();
        assert_eq!(next, end + 4);
        assert_eq!(field(&buf[..end], "data"), b"{\"a\":\n1}");
        assert_eq!(field(&buf[..end], "event"), b"message");
        assert_eq!(find_event_end(&buf[next..]), None);
    }

    const ORIGIN: &str = "http://127.0.0.1:8000";

    #[test]
    fn a_path_endpoint_is_kept_and_a_relative_one_resolved_against_the_stream() {
        let e = endpoint(
            b"event: endpoint\r\ndata: /messages/?s=1\r\n",
            "/sse",
            ORIGIN,
        );
        assert_eq!(
            e.unwrap().unwrap(),
            Endpoint {
                path: "/messages/?s=1".into(),
                rewritten: None
            }
        );
        let e = endpoint(b"event:endpoint\ndata:messages?s=2", "/mcp/sse", ORIGIN);
        assert_eq!(e.unwrap().unwrap().path, "/mcp/messages?s=2");
        assert_eq!(endpoint(b"data: {}", "/sse", ORIGIN), Ok(None));
    }

    #[test]
    fn an_absolute_endpoint_on_the_upstream_becomes_a_path_and_a_foreign_one_an_error() {
        let event = b"event: endpoint\ndata: http://127.0.0.1:8000/m?s=1\n";
        let e = endpoint(event, "/sse", ORIGIN).unwrap().unwrap();
        assert_eq!(e.path, "/m?s=1");
        assert_eq!(e.rewritten.unwrap(), b"event: endpoint\ndata: /m?s=1\n");
        let port = b"event: endpoint\ndata: http://127.0.0.1:80001/m\n";
        assert!(endpoint(port, "/sse", ORIGIN).is_err());
        let other = b"event: endpoint\ndata: https://elsewhere/m\n";
        assert!(
            endpoint(other, "/sse", ORIGIN)
                .unwrap_err()
                .contains("elsewhere")
        );
    }

    #[test]
    fn a_message_event_carries_the_json_on_one_data_line() {
        assert_eq!(
            &message_event(b"{\"id\":1}\n")[..],
            b"event: message\ndata: {\"id\":1}\n\n"
        );
    }
}
