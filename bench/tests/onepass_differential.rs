//! The one-pass event parser (`sealog_core::event::parse`) against the two-pass pipeline it
//! replaced (`sealog_bench::reference`): for every event, both accept with the same typed
//! event and the same canonical bytes, or both refuse with the same errors, paths and
//! messages, in the same order.
//!
//! The suite runs a bounded corpus (a few seconds). The full run is opt-in, a few million
//! events in a release build:
//! `SEALOG_DIFF_EVENTS=3000000 cargo test --release -p sealog-bench --test onepass_differential`
//! (BENCHMARKS.md, "One-pass parse and canonicalize").

use sealog_bench::corpus::{self, Rng};
use sealog_bench::reference;
use sealog_core::event::{self, Limits};
use sealog_core::{jcs, leaf};
use serde_json::Value;
use std::path::PathBuf;

/// Compares both pipelines on one text; panics with the text on any difference. Returns
/// whether the event was accepted.
fn same_outcome(text: &str, limits: &Limits) -> bool {
    let old = reference::parse(text.as_bytes(), limits);
    let new = event::parse(text.as_bytes(), limits);
    assert_eq!(new, old, "the pipelines differ on {text}");
    // Callers that build a `Value` (OTLP, approvals, erasure) take the same path from it.
    if let Ok(value) = jcs::parse_strict(text.as_bytes()) {
        assert_eq!(
            event::validate(&value, limits),
            reference::validate(&value, limits),
            "validating the value differs on {text}"
        );
    }
    if let Ok(ok) = &new {
        // A second, independent RFC 8785 implementation agrees on the bytes.
        let value = jcs::parse_strict(text.as_bytes()).unwrap();
        let other = serde_json_canonicalizer::to_vec(&value).unwrap();
        assert_eq!(
            ok.canonical, other,
            "serde_json_canonicalizer differs on {text}"
        );
    }
    new.is_ok()
}

#[test]
fn the_spec_vectors_pass_through_the_one_pass_parser() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../spec/vectors/events.json");
    let vectors: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let limits = Limits::default();
    let valid = vectors["valid"].as_array().unwrap();
    for v in valid {
        let ok = event::parse(v["input"].as_str().unwrap().as_bytes(), &limits).unwrap();
        assert_eq!(ok.canonical, v["canonical"].as_str().unwrap().as_bytes());
        let origin = v["origin"].as_str().unwrap();
        let micros = v["received_unix_micros"].as_i64().unwrap();
        let leaf = leaf::build(origin, micros, &ok.canonical);
        assert_eq!(leaf, v["leaf"].as_str().unwrap().as_bytes());
        let hash: String = leaf::hash(&leaf)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(hash, v["leaf_hash"].as_str().unwrap());
        assert!(same_outcome(v["input"].as_str().unwrap(), &limits));
    }
    let invalid = vectors["invalid"].as_array().unwrap();
    for v in invalid {
        let err = event::parse(v["input"].as_str().unwrap().as_bytes(), &limits).unwrap_err();
        assert_eq!(err.to_string(), v["message"].as_str().unwrap());
        let paths: Vec<&str> = err.errors.iter().map(|e| e.path.as_str()).collect();
        let expected: Vec<&str> = v["error_paths"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        assert_eq!(paths, expected);
        assert!(!same_outcome(v["input"].as_str().unwrap(), &limits));
    }
    assert!(valid.len() >= 8 && invalid.len() >= 6);
}

#[test]
fn the_workload_events_are_accepted_identically() {
    let limits = Limits::default();
    for n in 0..200 {
        assert!(same_outcome(&corpus::typical_event(n), &limits));
        assert!(same_outcome(&corpus::bench_ingest_event(n), &limits));
    }
}

#[test]
fn both_pipelines_agree_byte_for_byte_on_generated_events() {
    let events: u64 = std::env::var("SEALOG_DIFF_EVENTS").ok().map_or(3_000, |n| {
        n.parse().expect("SEALOG_DIFF_EVENTS is a number")
    });
    let limits = Limits::default();
    // Tight limits too, so that the size rules are reached by small events.
    let tight = Limits {
        max_event_bytes: 600,
        max_depth: 4,
        max_array_len: 2,
        max_object_members: 4,
        max_string_bytes: 12,
        max_ident_bytes: 8,
    };
    let mut rng = Rng::new(0x5ea1_0c0d);
    let (mut accepted, mut refused) = (0u64, 0u64);
    for i in 0..events {
        let text = corpus::random_event(&mut rng);
        let limits = if i % 5 == 4 { &tight } else { &limits };
        if same_outcome(&text, limits) {
            accepted += 1;
        } else {
            refused += 1;
        }
    }
    eprintln!("{events} generated events: {accepted} accepted, {refused} refused, all identical");
    // The corpus must exercise both sides, or the comparison proves little.
    assert!(
        accepted * 10 >= events,
        "only {accepted} of {events} accepted"
    );
    assert!(refused * 10 >= events, "only {refused} of {events} refused");
}
