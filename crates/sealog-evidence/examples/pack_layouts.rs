//! Measures verification of one large pack in both layouts (BENCHMARKS.md, "Verify in
//! parallel chunks"): `make DIR EVENTS` builds a pack of EVENTS events of about 300 bytes
//! (16 agents, sessions of 100 events) with the library, as the server would, and writes it
//! chunked (`DIR/v2.zip`) and in the first layout (`DIR/v1.zip`, the same files, its
//! manifest re-signed); `verify PACK THREADS` verifies a pack as `sealog verify` does and
//! prints the time it took.

use sealog_core::checkpoint::{self, Checkpoint};
use sealog_core::evidence::{FORMAT, MANIFEST, Manifest, Trust};
use sealog_core::merkle::{self, MemoryTree};
use sealog_core::note::Signer;
use sealog_core::{event, leaf};
use sealog_evidence::archive::{ReadLimits, write_zip};
use sealog_evidence::build::{PackEntry, PackParts, build, sign_manifest};
use std::path::Path;
use std::time::Instant;

const ORIGIN: &str = "bench.sealog/default";

fn signer() -> Signer {
    Signer::from_seed(ORIGIN, [7; 32]).unwrap()
}

fn make(dir: &Path, events: u64) {
    let mut tree = MemoryTree::new();
    let payload = "x".repeat(120);
    let leaves: Vec<Vec<u8>> = (0..events)
        .map(|i| {
            let json = format!(
                r#"{{"id":"0190b3a4-8d0e-7cc1-9a53-{i:012x}","ts":"2026-12-07T10:00:00Z","agent":{{"id":"agent-{}"}},"action":"tool_call","status":"ok","session":{{"id":"s-{}","seq":{}}},"attributes":{{"note":"{payload}"}}}}"#,
                i % 16,
                i / 100,
                i % 100
            );
            let ev = event::parse(json.as_bytes(), &event::Limits::default()).unwrap();
            let bytes = leaf::build(ORIGIN, i as i64, &ev.canonical);
            tree.push(leaf::hash(&bytes));
            bytes
        })
        .collect();
    let size = tree.size();
    let cp = Checkpoint {
        origin: ORIGIN.into(),
        size,
        root: tree.root(),
        extensions: Vec::new(),
    };
    let parts = PackParts {
        checkpoint: checkpoint::sign(&cp, &signer()),
        entries: leaves.into_iter().enumerate().map(|(i, leaf)| PackEntry {
            index: i as u64,
            leaf,
            inclusion: merkle::inclusion_proof(&tree, i as u64, size).unwrap(),
            content: Vec::new(),
        }),
        earlier: Vec::new(),
        filters: Default::default(),
        pruned_below: None,
        exported_at: "2026-12-07T12:00:00Z".into(),
        tool: "pack_layouts".into(),
        witness_vkeys: Vec::new(),
        timestamps: Vec::new(),
        policy: None,
        tsa_roots: None,
        content: false,
    };
    let (mut files, report) = build(parts, &signer()).unwrap();
    assert!(report.valid, "{report}");
    write_zip(&files, std::fs::File::create(dir.join("v2.zip")).unwrap()).unwrap();
    let mut manifest: Manifest = serde_json::from_slice(&files[MANIFEST]).unwrap();
    manifest.format = FORMAT.into();
    sign_manifest(&mut files, manifest, &signer());
    write_zip(&files, std::fs::File::create(dir.join("v1.zip")).unwrap()).unwrap();
    println!("vkey {}", signer().verifier().vkey());
}

fn verify(pack: &Path, threads: usize) {
    let trust = Trust {
        log: signer().verifier(),
        witnesses: Vec::new(),
        policy: None,
    };
    let start = Instant::now();
    let zip = std::fs::read(pack).unwrap();
    let report =
        sealog_evidence::verify::verify_zip(&zip, ReadLimits::default(), &trust, threads).unwrap();
    let took = start.elapsed().as_secs_f64();
    assert!(report.valid, "{report}");
    println!(
        "{} threads={threads} entries={} seconds={took:.3} events/s={:.0}",
        pack.display(),
        report.entries,
        report.entries as f64 / took
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("make") => make(Path::new(&args[2]), args[3].parse().unwrap()),
        Some("verify") => verify(Path::new(&args[2]), args[3].parse().unwrap()),
        _ => eprintln!("usage: pack_layouts make DIR EVENTS | verify PACK THREADS"),
    }
}
