//! Sessions: `session_start` … events numbered by `session.seq` … `session_end` (with count).

use crate::{Client, Error, Event};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// One session of a client; its events carry `{"id", "seq"}` with `seq` counting from 0, so a
/// verifier can see a missing one.
pub struct Session {
    client: Client,
    /// The session's id.
    pub id: String,
    seq: AtomicU64,
    ended: AtomicBool,
}

impl Session {
    pub(crate) fn new(client: Client, id: String) -> Self {
        Session {
            client,
            id,
            seq: AtomicU64::new(0),
            ended: AtomicBool::new(false),
        }
    }

    pub(crate) fn resume(client: Client, id: String, next_seq: u64) -> Self {
        let s = Session::new(client, id);
        s.seq.store(next_seq, Ordering::SeqCst);
        s
    }

    /// Writes `ev`, numbered in this session, to the spool only ([`Client::spool`]).
    pub fn spool(&self, ev: Event) -> Result<String, Error> {
        let number = || json!({"id": self.id, "seq": self.seq.fetch_add(1, Ordering::SeqCst)});
        self.client.spool_in(ev, Some(&number))
    }

    /// Writes `session_end` (with the count) to the spool only.
    pub fn spool_end(&self, status: &str) -> Result<String, Error> {
        let number = || {
            let seq = self.seq.fetch_add(1, Ordering::SeqCst);
            json!({"id": self.id, "seq": seq, "count": seq + 1})
        };
        self.client
            .spool_in(Event::new("session_end").status(status), Some(&number))
    }

    /// Records `ev` in this session (numbered once it is known to be valid).
    pub fn record(&self, ev: Event) -> Result<String, Error> {
        let number = || json!({"id": self.id, "seq": self.seq.fetch_add(1, Ordering::SeqCst)});
        self.client.record_in(ev, Some(&number))
    }

    /// Records `session_start` with `attributes` (an object, or `{}`).
    pub fn start(&self, attributes: Value) -> Result<String, Error> {
        let mut ev = Event::new("session_start");
        if let Value::Object(m) = attributes {
            ev.attributes = m;
        }
        self.record(ev)
    }

    /// Records `session_end` with the session's count; only the first call records.
    pub fn end(&self, status: &str) -> Result<String, Error> {
        if self.ended.swap(true, Ordering::SeqCst) {
            return Ok(String::new());
        }
        let number = || {
            let seq = self.seq.fetch_add(1, Ordering::SeqCst);
            json!({"id": self.id, "seq": seq, "count": seq + 1})
        };
        self.client
            .record_in(Event::new("session_end").status(status), Some(&number))
    }

    /// How many events the session has numbered.
    pub fn count(&self) -> u64 {
        self.seq.load(Ordering::SeqCst)
    }
}
