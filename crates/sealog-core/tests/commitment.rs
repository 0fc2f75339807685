//! Keyed commitments: round trips, refusals, and the one-spelling rule.

use sealog_core::commitment::{Commitment, CommitmentError, CommitmentKey};
use serde_json::json;

#[test]
fn commit_and_check() {
    let key = CommitmentKey::new(&[7u8; 16]).unwrap();
    let value = json!({"b": 2, "a": [1.0, "x"]});
    let c = key.commit_json(&value);
    // Canonicalization makes member order and number spelling irrelevant.
    assert!(key.check_json(&json!({"a": [1, "x"], "b": 2.0}), &c));
    assert!(!key.check_json(&json!({"a": [1, "x"], "b": 3}), &c));
    let other = CommitmentKey::new(&[8u8; 16]).unwrap();
    assert!(
        !other.check_json(&value, &c),
        "another tenant's key must not open the commitment"
    );
    let raw = key.commit_bytes(b"\x00binary");
    assert!(key.check_bytes(b"\x00binary", &raw));
    assert!(!key.check_bytes(b"\x00binarY", &raw));
}

#[test]
fn text_form_round_trips_and_is_strict() {
    let key = CommitmentKey::new(b"0123456789abcdef").unwrap();
    let c = key.commit_bytes(b"hello");
    let text = c.to_string();
    assert_eq!(text.parse::<Commitment>().unwrap(), c);
    assert_eq!(
        "sha256:AAAA".parse::<Commitment>(),
        Err(CommitmentError::UnknownScheme)
    );
    assert_eq!(
        "hmac-sha256:AAAA".parse::<Commitment>(),
        Err(CommitmentError::BadEncoding)
    );
    assert_eq!(
        format!("{text}=").parse::<Commitment>(),
        Err(CommitmentError::BadEncoding)
    );
    // The same 32 bytes with different stray bits in the last base64 character: a second
    // spelling of one commitment, which must be refused.
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b64 = text.strip_prefix("hmac-sha256:").unwrap();
    let last = ALPHABET
        .iter()
        .position(|&c| c == b64.as_bytes()[42])
        .unwrap();
    let twin = ALPHABET[last ^ 1] as char;
    let altered = format!("hmac-sha256:{}{twin}=", &b64[..42]);
    assert_eq!(
        altered.parse::<Commitment>(),
        Err(CommitmentError::BadEncoding)
    );
}

#[test]
fn short_keys_are_refused() {
    assert_eq!(
        CommitmentKey::new(&[0u8; 15]).unwrap_err(),
        CommitmentError::KeyTooShort(15)
    );
    assert_eq!(
        CommitmentKey::new(b"short").unwrap_err().to_string(),
        "commitment key has 5 bytes; use at least 16 random bytes"
    );
    assert_eq!(
        format!("{:?}", CommitmentKey::new(&[1u8; 32]).unwrap()),
        "CommitmentKey(<secret>)"
    );
}
