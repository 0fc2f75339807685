//! add-checkpoint throughput of a running `sealog witness serve`, over HTTP.
//!
//! `cargo run --release -p sealog-witness --example add_checkpoint_bench -- URL LOGS SECONDS`
//! drives LOGS logs (origins `bench.test/logN`, keys from fixed seeds; the witness's log list
//! must name them: `... -- list LOGS` prints it) at once, each growing by one leaf per request
//! and sending the consistency proof from its previous size, and prints requests per second
//! and the latency percentiles.

use sealog_core::checkpoint::{self, Checkpoint};
use sealog_core::merkle::{MemoryTree, consistency_proof, leaf_hash};
use sealog_core::note::Signer;
use std::time::{Duration, Instant};

fn signer(i: usize) -> Signer {
    Signer::from_seed(&format!("bench.test/log{i}"), [i as u8 + 1; 32]).unwrap()
}

fn request(log: &Signer, tree: &MemoryTree, old: u64) -> Vec<u8> {
    let cp = Checkpoint {
        origin: log.name().to_owned(),
        size: tree.size(),
        root: tree.root(),
        extensions: Vec::new(),
    };
    let mut body = format!("old {old}\n");
    if old > 0 {
        for h in consistency_proof(tree, old, cp.size).unwrap() {
            body.push_str(&base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                h,
            ));
            body.push('\n');
        }
    }
    body.push('\n');
    let mut body = body.into_bytes();
    body.extend(checkpoint::sign(&cp, log));
    body
}

/// One log's loop: returns the latency of every cosigned request.
fn drive(url: &str, i: usize, until: Instant) -> Vec<Duration> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let (log, mut tree, mut old) = (signer(i), MemoryTree::new(), 0);
    let mut latencies = Vec::new();
    while Instant::now() < until {
        tree.push(leaf_hash(&tree.size().to_be_bytes()));
        let body = request(&log, &tree, old);
        let started = Instant::now();
        let mut resp = agent
            .post(format!("{url}/add-checkpoint"))
            .send(&body[..])
            .unwrap();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        match resp.status().as_u16() {
            200 => latencies.push(started.elapsed()),
            409 => {} // a stale witness state from an earlier run: start from what it holds
            other => panic!("status {other}: {text}"),
        }
        old = if resp.status() == 409 {
            text.trim().parse().unwrap()
        } else {
            tree.size()
        };
        while tree.size() < old {
            tree.push(leaf_hash(&tree.size().to_be_bytes()));
        }
    }
    latencies
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args[0] == "list" {
        for i in 0..args[1].parse().unwrap() {
            println!("log {}", signer(i).vkey());
        }
        println!("quorum none");
        return;
    }
    let (url, logs, secs): (&str, usize, u64) =
        (&args[0], args[1].parse().unwrap(), args[2].parse().unwrap());
    let until = Instant::now() + Duration::from_secs(secs);
    let mut all: Vec<Duration> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..logs)
            .map(|i| s.spawn(move || drive(url, i, until)))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    all.sort();
    let p = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)];
    println!(
        "{} cosigned in {secs} s: {:.0}/s; latency p50 {:?}, p99 {:?}, max {:?}",
        all.len(),
        all.len() as f64 / secs as f64,
        p(0.5),
        p(0.99),
        p(1.0)
    );
}
