//! Turns the JSON-RPC messages the proxy relays into events, off the relay's path.
//!
//! The relay hands every message it forwarded to a channel and goes on; this thread pairs each
//! request with its response (by direction and id) and records one event per pair through
//! `sealog-client`, which queues, retries and spools: a slow or absent server costs the MCP
//! traffic nothing.

use sealog_client::{Client, Event, Session};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::mpsc::{Receiver, Sender};
use std::time::{Instant, SystemTime};

/// Who sent a message.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Dir {
    /// The MCP client (the agent's host) to the server.
    ToServer,
    /// The MCP server to the client.
    ToClient,
}

/// What the relay tells the recorder.
pub enum Note {
    /// A message relayed (`session` names the MCP session: the stdio proxy has one).
    Message {
        /// The MCP session (the `Mcp-Session-Id`, or "" for stdio).
        session: String,
        /// Who sent it.
        dir: Dir,
        /// The HTTP exchange it came in (0 for stdio): the client's requests are paired with
        /// the answers of the same exchange, as JSON-RPC ids are only unique per connection.
        exchange: u64,
        /// Its bytes.
        bytes: Vec<u8>,
        /// When it passed.
        at: (Instant, SystemTime),
    },
    /// A tools/call the policy refused (the client got a JSON-RPC error instead).
    Blocked {
        /// The MCP session.
        session: String,
        /// The request.
        request: Value,
        /// Why.
        reason: String,
    },
    /// A tools/call held for a reviewer (`--require-approval`): record it as `pending`.
    Held {
        /// The MCP session.
        session: String,
        /// The request.
        request: Value,
        /// The id of its `pending` event.
        id: String,
    },
    /// A held call was approved and is forwarded now: its result's event names the held one.
    Approved {
        /// The MCP session.
        session: String,
        /// The request's JSON-RPC id.
        call_id: Value,
        /// The id of its `pending` event.
        held: String,
    },
    /// The MCP session ended.
    End {
        /// The MCP session.
        session: String,
    },
}

/// A request waiting for its response.
struct Pending {
    method: String,
    params: Value,
    at: (Instant, SystemTime),
}

/// One MCP session on the record.
struct McpSession {
    session: Session,
    agent: Option<Value>,
    pending: HashMap<(Dir, u64, String), Pending>,
    /// Approved held calls by JSON-RPC id: the id of their `pending` event.
    approved: HashMap<String, String>,
    started: bool,
}

/// The recorder thread's state.
pub struct Recorder {
    client: Client,
    /// `--agent`: the agent id, overriding `clientInfo`.
    agent: Option<String>,
    sessions: HashMap<String, McpSession>,
}

/// Starts the recorder thread; returns the channel to feed it and its handle.
pub fn spawn(client: Client, agent: Option<String>) -> (Sender<Note>, std::thread::JoinHandle<()>) {
    let (tx, rx) = std::sync::mpsc::channel();
    let mut rec = Recorder {
        client,
        agent,
        sessions: HashMap::new(),
    };
    let handle = std::thread::spawn(move || rec.run(rx));
    (tx, handle)
}

fn record(s: &Session, ev: Event) {
    if let Err(e) = s.record(ev) {
        eprintln!("sealog mcp-proxy: could not record an event: {e}");
    }
}

impl Recorder {
    fn run(&mut self, rx: Receiver<Note>) {
        for note in rx {
            match note {
                Note::Message {
                    session,
                    dir,
                    exchange,
                    bytes,
                    at,
                } => match serde_json::from_slice::<Value>(&bytes) {
                    Ok(Value::Array(batch)) => {
                        for m in batch {
                            self.message(&session, (dir, exchange), m, at);
                        }
                    }
                    Ok(m) => self.message(&session, (dir, exchange), m, at),
                    Err(e) => eprintln!(
                        "sealog mcp-proxy: relayed a message that is not JSON ({e}); not recorded"
                    ),
                },
                Note::Blocked {
                    session,
                    request,
                    reason,
                } => self.blocked(&session, &request, &reason),
                Note::Held {
                    session,
                    request,
                    id,
                } => self.held(&session, &request, &id),
                Note::Approved {
                    session,
                    call_id,
                    held,
                } => {
                    self.session(&session)
                        .approved
                        .insert(id_text(&call_id), held);
                }
                Note::End { session } => self.end(&session),
            }
        }
        let open: Vec<String> = self.sessions.keys().cloned().collect();
        for s in open {
            self.end(&s);
        }
    }

    fn session(&mut self, key: &str) -> &mut McpSession {
        let client = &self.client;
        self.sessions
            .entry(key.to_owned())
            .or_insert_with(|| McpSession {
                session: client.session(None),
                agent: None,
                pending: HashMap::new(),
                approved: HashMap::new(),
                started: false,
            })
    }

    /// Notes a request, or records the pair a response completes. The client's requests are
    /// keyed by their exchange; the server's (sampling, elicitation) are answered in another.
    fn message(&mut self, key: &str, from: (Dir, u64), m: Value, at: (Instant, SystemTime)) {
        let (dir, exchange) = from;
        let id = m.get("id").filter(|i| !i.is_null()).map(id_text);
        let method = m.get("method").and_then(Value::as_str);
        match (method, id) {
            (Some(method), Some(id)) => {
                let flag_agent = self.agent.clone();
                let s = self.session(key);
                let info = client_info(&m["params"]);
                if s.agent.is_none() && !info.is_null() {
                    s.agent = Some(agent_of(info, flag_agent));
                }
                let p = Pending {
                    method: method.into(),
                    params: m.get("params").cloned().unwrap_or(Value::Null),
                    at,
                };
                let ex = if dir == Dir::ToServer { exchange } else { 0 };
                s.pending.insert((dir, ex, id), p);
            }
            (None, Some(id)) => {
                let asked = match dir {
                    Dir::ToClient => (Dir::ToServer, exchange),
                    Dir::ToServer => (Dir::ToClient, 0),
                };
                let s = self.session(key);
                if let Some(p) = s.pending.remove(&(asked.0, asked.1, id.clone())) {
                    self.pair(key, &id, p, &m, at);
                }
            }
            _ => {} // notifications are not pairs
        }
    }

    fn agent(&self, s: &McpSession) -> Value {
        s.agent
            .clone()
            .unwrap_or_else(|| agent_of(&Value::Null, self.agent.clone()))
    }

    fn pair(&mut self, key: &str, id: &str, req: Pending, resp: &Value, at: (Instant, SystemTime)) {
        let s = self.sessions.get_mut(key).expect("the session exists");
        if !s.started {
            s.started = true;
            let mut start = Event::new("session_start");
            if is_handshake(&req.method) {
                start = handshake_attributes(start, &req.params, resp);
            }
            let agent = s.agent.clone();
            let s = &self.sessions[key];
            record(
                &s.session,
                start.agent(agent.unwrap_or_else(|| self.agent(s))),
            );
        }
        if is_handshake(&req.method) {
            return; // its session_start says what was agreed
        }
        let held = match req.method.as_str() {
            "tools/call" => self
                .sessions
                .get_mut(key)
                .and_then(|s| s.approved.remove(id)),
            _ => None,
        };
        let s = &self.sessions[key];
        let error = resp.get("error").filter(|e| !e.is_null());
        let result = resp.get("result").cloned().unwrap_or(Value::Null);
        let failed = error.is_some() || result["isError"] == json!(true);
        let latency = at.0.saturating_duration_since(req.at.0).as_secs_f64() * 1e3;
        let mut ev = event_for(&req, id)
            .status(if failed { "error" } else { "ok" })
            .started(req.at.1)
            .ts(at.1)
            .context("metrics", json!({"latency_ms": latency}))
            .attribute("mcp.method", json!(req.method))
            .agent(self.agent(s));
        if let Some(held) = held {
            ev = ev.attribute("approval.target", json!(held));
        }
        ev = match error {
            Some(e) => ev
                .attribute("mcp.error.code", e["code"].clone())
                .output(e.clone()),
            None => ev.output(result),
        };
        record(&s.session, ev);
    }

    fn blocked(&mut self, key: &str, request: &Value, reason: &str) {
        let agent = {
            let s = self.session(key);
            s.agent.clone()
        };
        let s = &self.sessions[key];
        let params = &request["params"];
        let ev = self
            .client
            .flag(reason, "blocked", Event::new("policy_flag"))
            .context("tool", tool_context(params, &id_text(&request["id"])))
            .attribute("mcp.method", json!("tools/call"))
            .input(params["arguments"].clone())
            .agent(agent.unwrap_or_else(|| self.agent(s)));
        record(&s.session, ev);
    }

    fn held(&mut self, key: &str, request: &Value, id: &str) {
        let agent = self.session(key).agent.clone();
        let s = &self.sessions[key];
        let params = &request["params"];
        let ev = Event::new("tool_call")
            .id(id)
            .status("pending")
            .context("tool", tool_context(params, &id_text(&request["id"])))
            .context("oversight", json!({"required": true}))
            .attribute("mcp.method", json!("tools/call"))
            .input(params["arguments"].clone())
            .agent(agent.unwrap_or_else(|| self.agent(s)));
        record(&s.session, ev);
    }

    fn end(&mut self, key: &str) {
        if let Some(s) = self.sessions.remove(key)
            && let Err(e) = s.session.end("ok")
        {
            eprintln!("sealog mcp-proxy: could not record the session end: {e}");
        }
    }
}

/// A JSON-RPC id as text (`7`, `"abc"`).
fn id_text(id: &Value) -> String {
    match id {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The agent: `--agent` if given, else the client's `clientInfo`, else `mcp-client`.
fn agent_of(info: &Value, flag: Option<String>) -> Value {
    let name = info["name"].as_str().filter(|n| !n.is_empty());
    let mut a = Map::new();
    a.insert(
        "id".into(),
        json!(flag.as_deref().or(name).unwrap_or("mcp-client")),
    );
    if let Some(n) = name {
        a.insert("name".into(), json!(n));
    }
    if let Some(v) = info["version"].as_str().filter(|v| !v.is_empty()) {
        a.insert("version".into(), json!(v));
    }
    Value::Object(a)
}

fn tool_context(params: &Value, id: &str) -> Value {
    json!({"name": params["name"].as_str().unwrap_or("?"), "call_id": id})
}

/// The event for a request of `req.method`, with what is known of it before the answer.
fn event_for(req: &Pending, id: &str) -> Event {
    let p = &req.params;
    match req.method.as_str() {
        "tools/call" => Event::new("tool_call")
            .context("tool", tool_context(p, id))
            .input(p["arguments"].clone()),
        "resources/read" => Event::new("retrieval")
            .attribute("mcp.resource.uri", p["uri"].clone())
            .input(p.clone()),
        "prompts/get" => Event::new("retrieval")
            .context("prompt", json!({"name": p["name"].as_str().unwrap_or("?")}))
            .input(p["arguments"].clone()),
        "sampling/createMessage" => Event::new("llm_call").input(p.clone()),
        "elicitation/create" => Event::new("x-mcp.elicitation").input(p.clone()),
        _ => Event::new("x-mcp.request").input(p.clone()),
    }
}

/// `initialize` (up to protocol 2025-11) and `server/discover` (2026-07 on) open a session.
fn is_handshake(method: &str) -> bool {
    method == "initialize" || method == "server/discover"
}

/// A member of a message's `_meta` under the protocol's own prefix.
fn meta<'v>(v: &'v Value, name: &str) -> &'v Value {
    &v["_meta"][format!("io.modelcontextprotocol/{name}")]
}

/// The client's `clientInfo`: `initialize` carries it, later protocols send it in `_meta`.
fn client_info(params: &Value) -> &Value {
    match &params["clientInfo"] {
        Value::Null => meta(params, "clientInfo"),
        info => info,
    }
}

/// What the handshake says of the server and the protocol, kept in clear (not content).
fn handshake_attributes(ev: Event, params: &Value, resp: &Value) -> Event {
    let r = &resp["result"];
    let info = match &r["serverInfo"] {
        Value::Null => meta(r, "serverInfo"),
        info => info,
    };
    let version = match &r["protocolVersion"] {
        Value::Null => meta(params, "protocolVersion"),
        v => v,
    };
    let caps: Vec<&String> = r["capabilities"]
        .as_object()
        .map(|c| c.keys().collect())
        .unwrap_or_default();
    ev.attribute("mcp.server.name", info["name"].clone())
        .attribute("mcp.server.version", info["version"].clone())
        .attribute("mcp.protocol_version", version.clone())
        .attribute("mcp.server.capabilities", json!(caps))
}
