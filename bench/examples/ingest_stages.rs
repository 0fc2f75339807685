//! Runs one stage of the ingest path over a fixed workload, for counting its instructions
//! with callgrind (stable on a shared, busy machine, where wall time is not):
//!
//! ```text
//! cargo build --release -p sealog-bench --example ingest_stages
//! valgrind --tool=callgrind --toggle-collect='*measured*' \
//!     target/release/examples/ingest_stages <stage> <workload> <events>
//! ```
//!
//! Only `measured` (one stage over every event) is counted, not building the workload. Stages:
//! `split` (a `{"events": [...]}` body into each event's text, as `parse_batch` does), the
//! reference two-pass pipeline `parse` (strict parse into a `Value`), `validate` (validation,
//! its canonicalization included), `canonicalize`, `two-pass` (the three together), the
//! one-pass `onepass` (`sealog_core::event::parse`), and `leaf` (leaf build and hash).
//! Workloads: `typical` (the ~650-byte LLM-call event) and `bench` (the ~300-byte event of
//! `sealog bench ingest`). BENCHMARKS.md has the method and the figures.

use sealog_bench::{corpus, reference};
use sealog_core::event::{self, Limits};
use sealog_core::{jcs, leaf};
use serde_json::Value;
use serde_json::value::RawValue;
use std::hint::black_box;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: ingest_stages <split|parse|validate|canonicalize|two-pass|onepass|leaf> <typical|bench> <events>";
    let (Some(stage), Some(workload), Some(n)) = (args.get(1), args.get(2), args.get(3)) else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let n: u64 = n.parse().expect("the number of events");
    let texts: Vec<String> = (0..n)
        .map(|i| match workload.as_str() {
            "typical" => corpus::typical_event(i),
            "bench" => corpus::bench_ingest_event(i),
            other => panic!("unknown workload {other}; {usage}"),
        })
        .collect();
    let limits = Limits::default();
    let values: Vec<Value> = texts
        .iter()
        .map(|t| jcs::parse_strict(t.as_bytes()).expect("the workload is valid JSON"))
        .collect();
    let canonical: Vec<Vec<u8>> = values.iter().map(jcs::canonicalize).collect();
    let bodies: Vec<String> = texts
        .chunks(1000)
        .map(|batch| format!("{{\"events\":[{}]}}", batch.join(",")))
        .collect();
    let input = Input {
        texts: &texts,
        values: &values,
        canonical: &canonical,
        bodies: &bodies,
        limits: &limits,
    };
    let work = measured(stage, &input);
    eprintln!("{stage} over {n} {workload} events: {work} units of output");
}

struct Input<'a> {
    texts: &'a [String],
    values: &'a [Value],
    canonical: &'a [Vec<u8>],
    bodies: &'a [String],
    limits: &'a Limits,
}

/// The counted part: one stage over the whole workload. Returns a figure of the output so
/// nothing is optimized away.
#[inline(never)]
fn measured(stage: &str, input: &Input) -> usize {
    let limits = input.limits;
    match stage {
        "split" => input.bodies.iter().map(|b| split(b.as_bytes()).len()).sum(),
        "parse" => input
            .texts
            .iter()
            .map(|t| black_box(jcs::parse_strict(t.as_bytes()).unwrap()).is_object() as usize)
            .sum(),
        "validate" => input
            .values
            .iter()
            .map(|v| reference::validate(v, limits).unwrap().canonical.len())
            .sum(),
        "canonicalize" => input
            .values
            .iter()
            .map(|v| jcs::canonicalize(v).len())
            .sum(),
        "two-pass" => input
            .texts
            .iter()
            .map(|t| {
                reference::parse(t.as_bytes(), limits)
                    .unwrap()
                    .canonical
                    .len()
            })
            .sum(),
        "onepass" => input
            .texts
            .iter()
            .map(|t| event::parse(t.as_bytes(), limits).unwrap().canonical.len())
            .sum(),
        "leaf" => input
            .canonical
            .iter()
            .map(|c| {
                let bytes = leaf::build("sealog.example/default", 1_795_000_000_123_456, c);
                leaf::hash(&bytes)[0] as usize
            })
            .sum(),
        other => panic!("unknown stage {other}"),
    }
}

/// A JSON batch body into its events' texts, as the server's `parse_batch` reads it.
fn split(body: &[u8]) -> Vec<&RawValue> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Batch<'a> {
        #[serde(borrow)]
        events: Vec<&'a RawValue>,
    }
    let batch: Batch = serde_json::from_slice(body).expect("the body is a batch");
    batch.events
}
