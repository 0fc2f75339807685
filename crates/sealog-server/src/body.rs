//! Reading an ingest body within bounds: its size, each event's size, and the memory all
//! in-flight bodies may hold at once.
//!
//! A body is charged to a server-wide [`BodyBudget`] as it arrives and again as it is
//! decompressed, so a client cannot make the server hold more than the budget by sending many
//! bodies at once or a small gzip member that inflates. While the bytes arrive, a scanner
//! measures each event's JSON text and refuses the body as soon as one exceeds
//! [`max_event_text`]: an oversized event costs the bytes read so far, not a parse of all of it.

use crate::error::{ApiError, ApiResult};
use crate::ingest::BodyFormat;
use axum::body::Body;
use axum::http::StatusCode;
use http_body_util::BodyExt;
use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The bytes all in-flight ingest bodies may hold at once, compressed and decompressed.
#[derive(Clone)]
pub struct BodyBudget {
    bytes: Arc<Semaphore>,
}

/// What a body holds of the budget; returned to it when dropped.
pub struct Charge {
    permit: Option<OwnedSemaphorePermit>,
}

impl BodyBudget {
    /// A budget of `bytes` (at most `Semaphore::MAX_PERMITS`).
    pub fn new(bytes: usize) -> Self {
        BodyBudget {
            bytes: Arc::new(Semaphore::new(bytes.min(Semaphore::MAX_PERMITS))),
        }
    }

    /// Nothing charged yet.
    pub fn empty_charge(&self) -> Charge {
        Charge { permit: None }
    }

    /// Adds `n` bytes to `charge`, or a 503 with `Retry-After` when the budget is spent.
    fn charge(&self, charge: &mut Charge, n: usize) -> ApiResult<()> {
        if n == 0 {
            return Ok(());
        }
        let more = u32::try_from(n)
            .ok()
            .and_then(|n| self.bytes.clone().try_acquire_many_owned(n).ok())
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "busy",
                    "the server holds as many request bodies as its memory budget allows \
                     (--max-inflight-body-bytes); nothing of this request was stored: retry \
                     after the Retry-After delay",
                )
                .retry_after(Duration::from_secs(1))
            })?;
        match &mut charge.permit {
            Some(held) => held.merge(more),
            None => charge.permit = Some(more),
        }
        Ok(())
    }
}

/// The longest JSON text of one event the server reads: four times the canonical limit,
/// which leaves room for whitespace and escapes no sender needs more of.
pub fn max_event_text(max_event_bytes: usize) -> usize {
    max_event_bytes.saturating_mul(4)
}

/// A body read into memory with what it holds of the budget.
pub struct ReadBody {
    /// The bytes, compressed as they came.
    pub bytes: Vec<u8>,
    /// Its share of the budget, kept until the request is answered.
    pub charge: Charge,
}

/// The bounds a body is read within.
#[derive(Clone, Copy)]
pub struct BodyLimits {
    /// Largest body, compressed or not.
    pub max_body: usize,
    /// Longest JSON text of one event.
    pub max_event_text: usize,
    /// How the events are laid out, for the scanner; `None` for a body that is not JSON
    /// events (an OTLP request), which only the body limits bound.
    pub format: Option<BodyFormat>,
}

/// Reads `body` as it arrives, charging each frame to `budget`. An uncompressed body is
/// scanned as it comes, so an oversized event stops the read.
pub async fn read(
    mut body: Body,
    gzip: bool,
    limits: BodyLimits,
    budget: &BodyBudget,
) -> ApiResult<ReadBody> {
    let mut read = ReadBody {
        bytes: Vec::new(),
        charge: budget.empty_charge(),
    };
    let mut scanner = EventScanner::new(limits);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            if crate::body_deadline::is_timeout(&e) {
                ApiError::new(StatusCode::REQUEST_TIMEOUT, "body_timeout", e.to_string())
            } else {
                ApiError::bad_request(format!("the request body could not be read: {e}"))
            }
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if read.bytes.len() + data.len() > limits.max_body {
            return Err(body_too_large(limits.max_body));
        }
        budget.charge(&mut read.charge, data.len())?;
        if !gzip && let Err(e) = scanner.scan(&data) {
            // Read the rest without keeping it, so the client is not cut off mid-send and
            // reads the answer instead of a broken pipe.
            discard(body, limits.max_body - read.bytes.len()).await;
            return Err(e);
        }
        read.bytes.extend_from_slice(&data);
    }
    Ok(read)
}

/// Reads up to `at_most` more bytes of `body` and drops them.
async fn discard(mut body: Body, at_most: usize) {
    let mut left = at_most;
    while let Some(Ok(frame)) = body.frame().await {
        let Ok(data) = frame.into_data() else {
            continue;
        };
        match left.checked_sub(data.len()) {
            Some(rest) => left = rest,
            None => return,
        }
    }
}

/// Decompresses a gzip body (one or more members, nothing after them), charging the output
/// to `budget` and scanning it as it is produced. Runs on the blocking pool.
pub fn gunzip(
    compressed: &[u8],
    limits: BodyLimits,
    budget: &BodyBudget,
    charge: &mut Charge,
) -> ApiResult<Vec<u8>> {
    let mut decoder = flate2::bufread::MultiGzDecoder::new(compressed);
    let mut scanner = EventScanner::new(limits);
    let mut out = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = decoder.read(&mut chunk).map_err(|e| {
            ApiError::bad_request(format!(
                "the gzip body cannot be decompressed ({e}); send one complete gzip stream \
                 and nothing after it"
            ))
        })?;
        if n == 0 {
            return Ok(out);
        }
        if out.len() + n > limits.max_body {
            return Err(ApiError::too_large(format!(
                "the decompressed body exceeds the limit of {} bytes; send smaller batches",
                limits.max_body
            )));
        }
        budget.charge(charge, n)?;
        scanner.scan(&chunk[..n])?;
        out.write_all(&chunk[..n])
            .expect("writing to a Vec cannot fail");
    }
}

fn body_too_large(max: usize) -> ApiError {
    ApiError::too_large(format!(
        "the body exceeds the limit of {max} bytes; send smaller batches"
    ))
}

/// What ends a run of an event's text.
enum Boundary {
    /// Between two events: the next one starts.
    Separator,
    /// The `events` array or the batch object opens or closes.
    Bracket,
}

/// Measures each event's text as bytes go by: the runs between newlines for NDJSON; for a JSON
/// batch, the runs between the separators of the `events` array (depth 2), outside strings.
struct EventScanner {
    limits: BodyLimits,
    depth: u32,
    in_string: bool,
    escaped: bool,
    run: usize,
    events: usize,
}

impl EventScanner {
    fn new(limits: BodyLimits) -> Self {
        EventScanner {
            limits,
            depth: 0,
            in_string: false,
            escaped: false,
            run: 0,
            events: 0,
        }
    }

    fn scan(&mut self, bytes: &[u8]) -> ApiResult<()> {
        let Some(format) = self.limits.format else {
            return Ok(());
        };
        for &b in bytes {
            let boundary = match format {
                BodyFormat::Ndjson => (b == b'\n').then_some(Boundary::Separator),
                BodyFormat::Json => self.json_boundary(b),
            };
            match boundary {
                Some(Boundary::Separator) => {
                    self.run = 0;
                    self.events += 1;
                }
                Some(Boundary::Bracket) => self.run = 0,
                None => {
                    self.run += 1;
                    if self.run > self.limits.max_event_text {
                        return Err(self.oversized());
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether `b` separates two elements of the `events` array, or opens or closes it (or
    /// the batch object).
    fn json_boundary(&mut self, b: u8) -> Option<Boundary> {
        if self.in_string {
            match (self.escaped, b) {
                (true, _) => self.escaped = false,
                (false, b'\\') => self.escaped = true,
                (false, b'"') => self.in_string = false,
                _ => {}
            }
            return None;
        }
        match b {
            b'"' => self.in_string = true,
            b'{' | b'[' => {
                self.depth += 1;
                return (self.depth <= 2).then_some(Boundary::Bracket);
            }
            b'}' | b']' => {
                let outer = self.depth <= 2;
                self.depth = self.depth.saturating_sub(1);
                return outer.then_some(Boundary::Bracket);
            }
            b',' if self.depth == 2 => return Some(Boundary::Separator),
            _ => {}
        }
        None
    }

    fn oversized(&self) -> ApiError {
        ApiError::too_large(format!(
            "event {} of the batch is more than {} bytes of JSON text, far over the limit \
                 of {} bytes an event may have in canonical form; nothing of this batch was \
                 stored: put large content in a commitment and send the batch again",
            self.events + 1,
            self.limits.max_event_text,
            self.limits.max_event_text / 4
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(format: BodyFormat) -> BodyLimits {
        BodyLimits {
            max_body: 1 << 20,
            max_event_text: 100,
            format: Some(format),
        }
    }

    fn scan(format: BodyFormat, text: &str) -> ApiResult<()> {
        EventScanner::new(limits(format)).scan(text.as_bytes())
    }

    #[test]
    fn the_scanner_measures_each_event_not_the_batch() {
        let event = format!("{{\"a\": \"{}\"}}", "x".repeat(80));
        let many = vec![event.clone(); 50].join(",");
        assert!(scan(BodyFormat::Json, &format!("{{\"events\": [{many}]}}")).is_ok());
        let lines = vec![event; 50].join("\n");
        assert!(scan(BodyFormat::Ndjson, &lines).is_ok());

        let big = format!("{{\"a\": \"{}\"}}", "x".repeat(200));
        let e = scan(BodyFormat::Json, &format!("{{\"events\": [{{}}, {big}]}}")).unwrap_err();
        assert_eq!(e.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(
            e.message.starts_with("event 2 of the batch"),
            "{}",
            e.message
        );
        assert!(scan(BodyFormat::Ndjson, &big).is_err());
    }

    #[test]
    fn separators_inside_strings_and_nested_values_do_not_end_an_event() {
        // Commas, brackets and escaped quotes inside a string, and commas inside a nested
        // object, belong to the event.
        let tricky = format!(
            "{{\"a\": \"{}\\\",]}}\", \"b\": {{\"c\": 1, \"d\": [1,2]}}}}",
            "x".repeat(60)
        );
        assert!(tricky.len() > 100);
        assert!(scan(BodyFormat::Json, &format!("{{\"events\": [{tricky}]}}")).is_err());
    }

    #[test]
    fn the_budget_refuses_what_it_cannot_hold_and_gets_it_back() {
        let budget = BodyBudget::new(1000);
        let mut first = budget.empty_charge();
        budget.charge(&mut first, 600).unwrap();
        budget.charge(&mut first, 300).unwrap();
        let mut second = budget.empty_charge();
        let e = budget.charge(&mut second, 200).unwrap_err();
        assert_eq!(e.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(e.retry_after.is_some());
        drop(first);
        budget.charge(&mut second, 1000).unwrap();
    }

    #[test]
    fn gzip_with_trailing_garbage_is_refused_and_members_are_joined() {
        let member = |text: &[u8]| {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            enc.write_all(text).unwrap();
            enc.finish().unwrap()
        };
        let budget = BodyBudget::new(1 << 20);
        let ndjson = limits(BodyFormat::Ndjson);
        let mut two = member(b"{}\n");
        two.extend(member(b"{}\n"));
        let out = gunzip(&two, ndjson, &budget, &mut budget.empty_charge()).unwrap();
        assert_eq!(out, b"{}\n{}\n");

        let mut garbage = member(b"{}\n");
        garbage.extend_from_slice(b"trailing");
        let e = gunzip(&garbage, ndjson, &budget, &mut budget.empty_charge()).unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
    }

    #[test]
    fn a_gzip_bomb_is_refused_by_its_decompressed_size() {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&vec![b'\n'; 4 << 20]).unwrap();
        let small = enc.finish().unwrap();
        assert!(small.len() < 16 * 1024);
        let budget = BodyBudget::new(64 << 20);
        let e = gunzip(
            &small,
            limits(BodyFormat::Ndjson),
            &budget,
            &mut budget.empty_charge(),
        )
        .unwrap_err();
        assert_eq!(e.status, StatusCode::PAYLOAD_TOO_LARGE);
    }
}
