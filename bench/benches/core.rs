//! Micro-benchmarks of the core formats: the per-event costs on the ingest path (validation,
//! canonical JSON, leaf hash) and the per-proof costs on the read and verify paths.
//! Run with `cargo bench -p sealog-bench`; figures go into BENCHMARKS.md.

use divan::{Bencher, black_box};
use sealog_core::checkpoint::{self, Checkpoint};
use sealog_core::merkle::{CompactTree, Hash, MemoryTree};
use sealog_core::note::Signer;
use sealog_core::{event, jcs, leaf, merkle, receipt};
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

/// Appending a leaf hash to the incremental tree: the integrator's per-event cost (amortised:
/// one node hash per append on average, plus collecting the hashes to persist).
#[divan::bench]
fn compact_tree_append(b: Bencher) {
    let mut tree = CompactTree::new();
    let leaf = merkle::leaf_hash(b"x");
    b.bench_local(|| tree.append(black_box(leaf)));
}

/// Where the fixture tree holds a real leaf, for the receipt benchmark.
const RECEIPT_INDEX: u64 = 5;

fn receipt_leaf() -> Vec<u8> {
    leaf::build("sealog.example/default", 1, TYPICAL_EVENT.as_bytes())
}

/// A tree of 2^20 leaves held in memory: the proof shapes the read and verify paths see in a
/// log of a million events.
struct ProofFixture {
    tree: MemoryTree,
    size: u64,
    root: Hash,
}

fn proof_fixture() -> ProofFixture {
    let mut tree = MemoryTree::new();
    let size = 1u64 << 20;
    for i in 0..size {
        if i == RECEIPT_INDEX {
            tree.push(leaf::hash(&receipt_leaf()));
        } else {
            tree.push(merkle::leaf_hash(&i.to_be_bytes()));
        }
    }
    let root = tree.root();
    ProofFixture { tree, size, root }
}

#[divan::bench]
fn inclusion_proof_generate_1m(b: Bencher) {
    let f = proof_fixture();
    b.bench(|| merkle::inclusion_proof(&f.tree, black_box(123_456), f.size).unwrap());
}

#[divan::bench]
fn inclusion_proof_verify_1m(b: Bencher) {
    let f = proof_fixture();
    let index = 123_456u64;
    let proof = merkle::inclusion_proof(&f.tree, index, f.size).unwrap();
    let leaf = merkle::leaf_hash(&index.to_be_bytes());
    b.bench(|| merkle::verify_inclusion(&leaf, black_box(index), f.size, &proof, &f.root).unwrap());
}

#[divan::bench]
fn consistency_proof_verify_1m(b: Bencher) {
    let f = proof_fixture();
    let old = 700_001u64;
    let old_root = merkle::tree_root(&f.tree, old).unwrap();
    let proof = merkle::consistency_proof(&f.tree, old, f.size).unwrap();
    b.bench(|| {
        merkle::verify_consistency(black_box(old), f.size, &proof, &old_root, &f.root).unwrap()
    });
}

fn sample_checkpoint(signer: &Signer) -> Checkpoint {
    Checkpoint {
        origin: signer.name().to_owned(),
        size: 1 << 20,
        root: [7; 32],
        extensions: Vec::new(),
    }
}

#[divan::bench]
fn checkpoint_sign(b: Bencher) {
    let signer = Signer::from_seed("sealog.example/default", [9; 32]).unwrap();
    let cp = sample_checkpoint(&signer);
    b.bench(|| checkpoint::sign(black_box(&cp), &signer));
}

#[divan::bench]
fn checkpoint_open(b: Bencher) {
    let signer = Signer::from_seed("sealog.example/default", [9; 32]).unwrap();
    let note = checkpoint::sign(&sample_checkpoint(&signer), &signer);
    let verifier = signer.verifier();
    b.bench(|| checkpoint::open(black_box(&note), &verifier).unwrap());
}

/// A whole receipt: parse, leaf hash, inclusion proof in a 2^20 tree, checkpoint signature.
#[divan::bench]
fn receipt_verify_1m(b: Bencher) {
    let f = proof_fixture();
    let signer = Signer::from_seed("sealog.example/default", [9; 32]).unwrap();
    let cp = Checkpoint {
        origin: signer.name().to_owned(),
        size: f.size,
        root: f.root,
        extensions: Vec::new(),
    };
    let proof = merkle::inclusion_proof(&f.tree, RECEIPT_INDEX, f.size).unwrap();
    let note = checkpoint::sign(&cp, &signer);
    let bytes = receipt::make(&receipt_leaf(), RECEIPT_INDEX, proof, note).to_bytes();
    let verifier = signer.verifier();
    b.bench(|| receipt::verify(black_box(&bytes), &verifier, None).unwrap());
}

/// Verifying 10,000 consecutive entries of a pack against a checkpoint of a 2^17-leaf log, on
/// one thread: leaf parsing (the fields the report needs), leaf hash and inclusion proof.
#[divan::bench]
fn evidence_verify_chunk_10k(b: Bencher) {
    use sealog_core::evidence::{ProofLineWriter, verify_chunk};
    let size = 1u64 << 17;
    let canonical = jcs::canonicalize(&typical_value());
    let leaves: Vec<Vec<u8>> = (0..size)
        .map(|i| leaf::build("sealog.example/default", i as i64, &canonical))
        .collect();
    let mut tree = MemoryTree::new();
    for l in &leaves {
        tree.push(leaf::hash(l));
    }
    let cp = Checkpoint {
        origin: "sealog.example/default".into(),
        size,
        root: tree.root(),
        extensions: Vec::new(),
    };
    let range = 50_000..60_000u64;
    let mut writer = ProofLineWriter::default();
    let proofs: Vec<Vec<u8>> = range
        .clone()
        .map(|i| {
            let p = merkle::inclusion_proof(&tree, i, size).unwrap();
            serde_json::to_vec(&writer.line(i, &p)).unwrap()
        })
        .collect();
    let entry_refs: Vec<&[u8]> = range.map(|i| leaves[i as usize].as_slice()).collect();
    let proof_refs: Vec<&[u8]> = proofs.iter().map(Vec::as_slice).collect();
    b.counter(divan::counter::ItemsCount::new(entry_refs.len()))
        .bench(|| {
            let v = verify_chunk(&cp, 1, black_box(&entry_refs), &proof_refs);
            assert_eq!(v.entries.len(), 10_000);
        });
}
