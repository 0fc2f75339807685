//! The one HTTP connection pool of a client: gzip'd POSTs of event batches, and reads.

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::Value;
use std::io::Write;
use std::time::Duration;

/// Bodies at least this long are sent gzip'd.
const GZIP_FROM: usize = 1024;

/// A keep-alive agent for one server, log and key.
pub(crate) struct Http {
    agent: ureq::Agent,
    events_url: String,
    base: String,
    auth: Option<String>,
}

/// A server's answer.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) body: Value,
    pub(crate) text: String,
}

impl Answer {
    /// The per-event results of an ingest answer.
    pub(crate) fn results(&self) -> Option<&Vec<Value>> {
        self.body["results"].as_array()
    }

    /// `(code, message)` of an error answer.
    pub(crate) fn error_parts(&self) -> (String, String) {
        let e = &self.body["error"];
        match (e["code"].as_str(), e["message"].as_str()) {
            (Some(c), m) => (c.into(), m.unwrap_or_default().into()),
            _ => ("http_error".into(), self.text.chars().take(200).collect()),
        }
    }

    /// `code: message` of an error answer.
    pub(crate) fn error(&self) -> String {
        let (c, m) = self.error_parts();
        format!("{c}: {m}")
    }
}

impl Http {
    pub(crate) fn new(url: &str, log: &str, api_key: Option<&str>, timeout: Duration) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .build()
            .into();
        let log_path: String = url_escape(log);
        Http {
            agent,
            events_url: format!("{url}/v1/logs/{log_path}/events"),
            base: format!("{url}/v1/logs/{log_path}"),
            auth: api_key.map(|k| format!("Bearer {k}")),
        }
    }

    /// POSTs a batch body (`?wait=` when given).
    pub(crate) fn post_events(&self, body: &[u8], wait: Option<&str>) -> Result<Answer, String> {
        let url = match wait {
            Some(w) => format!("{}?wait={w}", self.events_url),
            None => self.events_url.clone(),
        };
        let mut req = self
            .agent
            .post(&url)
            .header("Content-Type", "application/json");
        if let Some(a) = &self.auth {
            req = req.header("Authorization", a);
        }
        let answer = if body.len() >= GZIP_FROM {
            let mut gz = GzEncoder::new(Vec::with_capacity(body.len() / 4), Compression::fast());
            gz.write_all(body).map_err(|e| e.to_string())?;
            let packed = gz.finish().map_err(|e| e.to_string())?;
            req.header("Content-Encoding", "gzip").send(&packed[..])
        } else {
            req.send(body)
        };
        read(answer)
    }

    /// GETs `path` under the log's URL (`/events/{id}/proof`, or "" for the log itself).
    pub(crate) fn get(&self, path: &str) -> Result<Answer, String> {
        let mut req = self.agent.get(format!("{}{path}", self.base));
        if let Some(a) = &self.auth {
            req = req.header("Authorization", a);
        }
        read(req.call())
    }

    /// POSTs a JSON `body` to `path` under the log's URL.
    pub(crate) fn post(&self, path: &str, body: &Value) -> Result<Answer, String> {
        let mut req = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("Content-Type", "application/json");
        if let Some(a) = &self.auth {
            req = req.header("Authorization", a);
        }
        read(req.send(body.to_string().as_bytes()))
    }
}

fn read(answer: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Result<Answer, String> {
    let mut answer = answer.map_err(|e| e.to_string())?;
    let status = answer.status().as_u16();
    let retry_after = answer
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64);
    let text = answer
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_string()
        .map_err(|e| e.to_string())?;
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Ok(Answer {
        status,
        retry_after,
        body,
        text,
    })
}

/// Percent-encodes a path segment.
pub(crate) fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
