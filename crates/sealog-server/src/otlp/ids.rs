//! Event ids for OTLP records: a UUIDv7 whose time is the record's start and whose random
//! bits are a hash of what names the record, so that a re-sent record gets the same id and is
//! answered `duplicate`, in any order and any request.

use sha2::{Digest, Sha256};

/// The id of the span `span_id` of trace `trace_id` that started `start_nanos` after the
/// epoch.
pub fn span_event_id(trace_id: &[u8], span_id: &[u8], start_nanos: u64) -> String {
    let mut h = Sha256::new();
    h.update(b"sealog-otlp-span\0");
    h.update(trace_id);
    h.update(span_id);
    uuid7(start_nanos, &h.finalize())
}

/// The id of a log record: its time and a hash of its whole protobuf encoding (a log record
/// has no id of its own, so two identical records at the same nanosecond are one event).
pub fn log_event_id(encoded: &[u8], time_nanos: u64) -> String {
    let mut h = Sha256::new();
    h.update(b"sealog-otlp-log\0");
    h.update(encoded);
    uuid7(time_nanos, &h.finalize())
}

/// RFC 9562 UUIDv7: 48 bits of Unix milliseconds, then version 7, then 74 bits of `hash`
/// under the variant bits.
fn uuid7(nanos: u64, hash: &[u8]) -> String {
    let millis = (nanos / 1_000_000) & ((1 << 48) - 1);
    let mut b = [0u8; 16];
    b[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
    b[6..].copy_from_slice(&hash[..10]);
    b[6] = 0x70 | (b[6] & 0x0f);
    b[8] = 0x80 | (b[8] & 0x3f);
    uuid::Uuid::from_bytes(b).hyphenated().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_is_a_v7_uuid_with_the_start_time_and_depends_on_both_ids() {
        let start = 1_764_000_000_123_456_789;
        let id = span_event_id(&[1; 16], &[2; 8], start);
        let uuid = uuid::Uuid::parse_str(&id).unwrap();
        assert_eq!(uuid.get_version_num(), 7);
        let (secs, nanos) = uuid.get_timestamp().unwrap().to_unix();
        assert_eq!((secs, nanos / 1_000_000), (1_764_000_000, 123));
        assert_eq!(id, span_event_id(&[1; 16], &[2; 8], start));
        assert_ne!(id, span_event_id(&[1; 16], &[3; 8], start));
        assert_ne!(id, span_event_id(&[4; 16], &[2; 8], start));
        assert_ne!(log_event_id(b"a", start), log_event_id(b"b", start));
    }
}
