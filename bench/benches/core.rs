//! Micro-benchmarks of the core formats: the per-event costs on the ingest path (validation,
//! canonical JSON, leaf hash) and the per-proof costs on the read and verify paths.
//! Run with `cargo bench -p sealog-bench`; figures go into BENCHMARKS.md.

use divan::{Bencher, black_box};
use sealog_core::{event, jcs, leaf, merkle};
use serde_json::Value;

fn main() {
    divan::main();
}

/// A typical event of about 500 canonical bytes: an LLM call with a commitment, a session, a
/// trace and model context.
const TYPICAL_EVENT: &str = r#"{"id":"0190b3a4-8d0e-7cc1-9a53-8e5c2b7f1d24","ts":"2026-11-22T10:00:01.123Z","started":"2026-11-22T10:00:00.311Z","agent":{"id":"support-bot","version":"1.4.2","environment":"prod"},"action":"llm_call","status":"ok","session":{"id":"sess-8c1f2a","seq":3},"trace":{"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7"},"input":{"commitment":"hmac-sha256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=","size":1834,"media_type":"application/json"},"context":{"model":{"id":"gpt-4o-2024-08-06","provider":"openai","params":{"temperature":0.2,"max_tokens":512}},"metrics":{"input_tokens":412,"output_tokens":96,"latency_ms":812.5}}}"#;

fn typical_value() -> Value {
    jcs::parse_strict(TYPICAL_EVENT.as_bytes()).unwrap()
}

#[divan::bench]
fn jcs_canonicalize_typical_event(b: Bencher) {
    let value = typical_value();
    let len = jcs::canonicalize(&value).len();
    b.counter(divan::counter::BytesCount::new(len))
        .bench(|| jcs::canonicalize(black_box(&value)));
}

/// The general-purpose crate our writer replaced, measured in the same run for the ratio.
#[divan::bench]
fn jcs_canonicalize_typical_event_baseline_crate(b: Bencher) {
    let value = typical_value();
    b.bench(|| serde_json_canonicalizer::to_vec(black_box(&value)).unwrap());
}

#[divan::bench]
fn jcs_parse_strict_typical_event(b: Bencher) {
    b.bench(|| jcs::parse_strict(black_box(TYPICAL_EVENT.as_bytes())).unwrap());
}

#[divan::bench]
fn event_parse_and_validate(b: Bencher) {
    let limits = event::Limits::default();
    b.counter(divan::counter::BytesCount::new(TYPICAL_EVENT.len()))
        .bench(|| event::parse(black_box(TYPICAL_EVENT.as_bytes()), &limits).unwrap());
}

#[divan::bench]
fn leaf_build_and_hash(b: Bencher) {
    let canonical = jcs::canonicalize(&typical_value());
    b.bench(|| {
        let bytes = leaf::build(
            "sealog.example/default",
            1_795_000_000_123_456,
            black_box(&canonical),
        );
        leaf::hash(&bytes)
    });
}

#[divan::bench(args = [300, 500])]
fn leaf_hash(b: Bencher, size: usize) {
    let data = vec![b'x'; size];
    b.counter(divan::counter::BytesCount::new(size))
        .bench(|| merkle::leaf_hash(black_box(&data)));
}

#[divan::bench]
fn node_hash(b: Bencher) {
    let (l, r) = ([1u8; 32], [2u8; 32]);
    b.bench(|| merkle::node_hash(black_box(&l), black_box(&r)));
}
