//! The HTTP side of RFC 3161 (§3.4): POST an `application/timestamp-query`, read an
//! `application/timestamp-reply`. Blocking (ureq, rustls): it runs on the blocking pool.

use std::time::Duration;

/// Longest one time-stamp request may take.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Largest reply read (a token with its certificate chain is a few KiB).
const MAX_REPLY: u64 = 256 * 1024;

/// An HTTP agent with the request timeout.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(TIMEOUT))
        .build()
        .into()
}

/// Sends `query` to `url`; the reply's bytes on a 200.
pub fn post(
    agent: &ureq::Agent,
    url: &str,
    auth: Option<&(String, String)>,
    query: Vec<u8>,
) -> Result<Vec<u8>, String> {
    let mut req = agent
        .post(url)
        .header("content-type", "application/timestamp-query");
    if let Some((name, value)) = auth {
        req = req.header(name.as_str(), value.as_str());
    }
    let mut resp = req.send(&query[..]).map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let body = resp
        .body_mut()
        .with_config()
        .limit(MAX_REPLY)
        .read_to_vec()
        .map_err(|e| format!("reading the reply: {e}"))?;
    if status != 200 {
        let text = String::from_utf8_lossy(&body);
        let text: String = text.trim().chars().take(200).collect();
        return Err(format!("status {status}: {text}"));
    }
    Ok(body)
}
