//! Properties of pack verification: the shortcut through consecutive proofs decides exactly
//! as the plain RFC 9162 verifier does, and no random mutation of a valid pack verifies.

mod evidence_support;

use evidence_support::*;
use proptest::prelude::*;
use sealog_core::checkpoint::Checkpoint;
use sealog_core::evidence::{ProofLine, ProofLineWriter, verify_chunk, verify_files};
use sealog_core::merkle::{self, MemoryTree};
use sealog_core::{event, leaf};

const EVENT: &str = r#"{"id":"0190b3a4-8d0e-7cc1-9a53-8e5c2b7f1d24","ts":"2026-11-22T10:00:01Z","agent":{"id":"a"},"action":"tool_call","status":"ok"}"#;

/// Leaves that differ by their receive time, and the tree over them.
fn tree(size: u64) -> (Vec<Vec<u8>>, MemoryTree, Checkpoint) {
    let canonical = event::parse(EVENT.as_bytes(), &event::Limits::default())
        .unwrap()
        .canonical;
    let mut t = MemoryTree::new();
    let leaves: Vec<Vec<u8>> = (0..size)
        .map(|i| leaf::build(ORIGIN, i as i64, &canonical))
        .collect();
    for l in &leaves {
        t.push(leaf::hash(l));
    }
    let cp = Checkpoint {
        origin: ORIGIN.into(),
        size,
        root: t.root(),
        extensions: Vec::new(),
    };
    (leaves, t, cp)
}

#[derive(Clone, Debug)]
enum Mutation {
    FlipHash { elem: usize, bit: u8 },
    DropLast,
    AddHash,
    ShiftIndex,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(elem, bit)| Mutation::FlipHash { elem, bit }),
        Just(Mutation::DropLast),
        Just(Mutation::AddHash),
        Just(Mutation::ShiftIndex),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn chunk_verification_agrees_with_the_plain_verifier(
        size in 1u64..600,
        picks in proptest::collection::vec(any::<u64>(), 1..40),
        mutations in proptest::collection::vec((any::<usize>(), mutation()), 0..4),
        share in any::<bool>(),
    ) {
        let (leaves, t, cp) = tree(size);
        let mut indices: Vec<u64> = picks.iter().map(|p| p % size).collect();
        indices.sort_unstable();
        indices.dedup();
        let mut proofs: Vec<(u64, Vec<merkle::Hash>)> = indices
            .iter()
            .map(|&i| (i, merkle::inclusion_proof(&t, i, size).unwrap()))
            .collect();
        for (which, m) in &mutations {
            let (index, proof) = &mut proofs[which % indices.len()];
            match m {
                Mutation::FlipHash { elem, bit } if !proof.is_empty() => {
                    let n = proof.len();
                    proof[elem % n][elem % 32] ^= 1 << bit;
                }
                Mutation::FlipHash { .. } => proof.push([9; 32]),
                Mutation::DropLast => { proof.pop(); }
                Mutation::AddHash => proof.push([7; 32]),
                Mutation::ShiftIndex => *index = (*index + 1) % size,
            }
        }
        let entry_lines: Vec<&[u8]> = indices.iter().map(|&i| leaves[i as usize].as_slice()).collect();
        // Whole proofs, or lines sharing the upper part with their predecessor: either way
        // each entry is checked against the (possibly mutated) whole proof it stands for.
        let mut writer = ProofLineWriter::default();
        let proof_lines: Vec<Vec<u8>> = proofs
            .iter()
            .map(|(i, p)| {
                let line = if share { writer.line(*i, p) } else { ProofLine::new(*i, p) };
                serde_json::to_vec(&line).unwrap()
            })
            .collect();
        let proof_refs: Vec<&[u8]> = proof_lines.iter().map(Vec::as_slice).collect();
        let got = verify_chunk(&cp, 1, &entry_lines, &proof_refs);
        for (k, &i) in indices.iter().enumerate() {
            let (claimed, proof) = &proofs[k];
            let plain = merkle::verify_inclusion(
                &leaf::hash(&leaves[i as usize]), *claimed, size, proof, &cp.root,
            ).is_ok();
            let chunk_ok = got.entries.iter().any(|e| e.line == k as u64 + 1);
            prop_assert_eq!(chunk_ok, plain, "entry {} (index {}, claimed {})", k, i, claimed);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn no_random_mutation_of_a_pack_verifies(
        file in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        xor in 1u8..=255,
    ) {
        let mut log = TestLog::new();
        log.session("a", "s-1", 4);
        log.checkpoint();
        log.session("b", "s-2", 3);
        log.checkpoint();
        let mut files = log.export_all();
        let names: Vec<String> = files.keys().filter(|n| !files[*n].is_empty()).cloned().collect();
        let name = file.get(&names).clone();
        let bytes = files.get_mut(&name).unwrap();
        let pos = at.index(bytes.len());
        bytes[pos] ^= xor;
        let verdict = verify_files(&files, &log.trust());
        prop_assert!(
            !verdict.as_ref().is_ok_and(|r| r.valid),
            "a pack with byte {} of {} changed verified", pos, name
        );
    }
}

#[test]
fn the_shortcut_checks_every_proof_element() {
    // Two neighbours share all but their lowest proof element; corrupting the shared upper
    // part of the second proof must still fail, although its lower path meets the first.
    let (leaves, t, cp) = tree(64);
    let p0 = merkle::inclusion_proof(&t, 0, 64).unwrap();
    let mut p1 = merkle::inclusion_proof(&t, 1, 64).unwrap();
    p1[5][0] ^= 1;
    let lines =
        [ProofLine::new(0, &p0), ProofLine::new(1, &p1)].map(|l| serde_json::to_vec(&l).unwrap());
    let got = verify_chunk(&cp, 1, &[&leaves[0], &leaves[1]], &[&lines[0], &lines[1]]);
    assert_eq!(got.entries.len(), 1);
    assert!(
        got.failures[0]
            .message
            .contains("disagrees with the previous entry's verified proof"),
        "{:?}",
        got.failures
    );
}

#[test]
fn shared_proof_lines_are_strict() {
    let (leaves, t, cp) = tree(3000);
    let mut writer = ProofLineWriter::default();
    let lines: Vec<ProofLine> = (0..1100)
        .map(|i| writer.line(i, &merkle::inclusion_proof(&t, i, 3000).unwrap()))
        .collect();
    assert_eq!(lines[0].shared, 0);
    assert!(lines[1].shared > 8, "neighbours share most of their proof");
    assert_eq!(lines[1024].shared, 0, "line 1024 restarts");
    let encode = |l: &ProofLine| serde_json::to_vec(l).unwrap();
    let entries: Vec<&[u8]> = (0..2).map(|i| leaves[i].as_slice()).collect();

    // The first line of a chunk cannot borrow from a line before it.
    let mut first = lines[1].clone();
    first.index = 0;
    let got = verify_chunk(&cp, 1, &entries[..1], &[&encode(&first)]);
    assert!(
        got.failures[0]
            .message
            .contains("line 1 of proofs.jsonl must carry its whole proof"),
        "{:?}",
        got.failures
    );

    // A line cannot borrow more than the previous line has.
    let mut greedy = lines[1].clone();
    greedy.shared = 40;
    let got = verify_chunk(&cp, 1, &entries, &[&encode(&lines[0]), &encode(&greedy)]);
    assert_eq!(got.entries.len(), 1);
    assert!(
        got.failures[0]
            .message
            .contains("shares 40 hashes with the previous line, which does not have them"),
        "{:?}",
        got.failures
    );
}
