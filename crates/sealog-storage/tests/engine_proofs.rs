//! Checkpoints and proofs: what the log signs and serves verifies with core's verifiers.

mod engine_support;

use engine_support::*;
use sealog_core::checkpoint;
use sealog_core::leaf;
use sealog_core::merkle::{EMPTY_ROOT, verify_consistency, verify_inclusion};
use sealog_core::tiles::{EntryBundle, Tile, TileHashSource, TileReader};
use sealog_storage::ReadError;
use std::convert::Infallible;

/// Serves a checkpoint's tiles from the log's tile API, as a tlog client would.
struct ViaApi<'a>(&'a sealog_storage::Log);

impl TileReader for ViaApi<'_> {
    type Error = Infallible;
    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, Infallible> {
        Ok(tiles
            .iter()
            .map(|t| self.0.tile(*t).expect("tile in checkpoint"))
            .collect())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_and_proofs_verify() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, log) = open_log(dir.path(), "p");
    let empty = log.checkpoint();
    assert_eq!((empty.size, empty.root), (0, EMPTY_ROOT));
    checkpoint::open(&empty.note, log.verifier()).expect("the empty checkpoint verifies");

    log.append(events(1, 0..300)).await.unwrap();
    let first = log.wait_checkpoint(300).await.unwrap();
    assert_eq!(first.size, 300);
    log.append(events(1, 300..1000)).await.unwrap();
    let second = log.wait_checkpoint(1000).await.unwrap();
    assert_eq!(second.size, 1000);
    assert_eq!(log.checkpoint(), second);

    for cp in [&first, &second] {
        let (opened, _) = checkpoint::open(&cp.note, log.verifier()).expect("signature");
        assert_eq!((opened.size, opened.root), (cp.size, cp.root));
        assert_eq!(opened.origin, "test.example/p");
        assert_eq!(log.origin(), "test.example/p");
    }
    let leaves = log.entries(0, 1000).unwrap();
    for index in [0u64, 1, 255, 256, 299, 511, 999] {
        let proof = log.inclusion_proof(index, 1000).unwrap();
        let leaf_hash = leaf::hash(&leaves[index as usize]);
        verify_inclusion(&leaf_hash, index, 1000, &proof, &second.root).expect("inclusion");
        if index < 300 {
            let proof = log.inclusion_proof(index, 300).unwrap();
            verify_inclusion(&leaf_hash, index, 300, &proof, &first.root).expect("old inclusion");
        }
    }
    let proof = log.consistency_proof(300, 1000).unwrap();
    verify_consistency(300, 1000, &proof, &first.root, &second.root).expect("consistency");

    // Tiles: level 0 holds the leaf hashes; a client rebuilds the root from tiles alone.
    let tile = log
        .tile(Tile {
            level: 0,
            index: 1,
            width: 256,
        })
        .unwrap();
    assert_eq!(&tile[..32], &leaf::hash(&leaves[256]));
    let root = sealog_core::merkle::tree_root(&TileHashSource::new(ViaApi(&log), 1000), 1000);
    assert_eq!(root.unwrap(), second.root);
    // Partial tiles only as the checkpoint implies; nothing beyond it.
    assert!(
        log.tile(Tile {
            level: 0,
            index: 3,
            width: 232
        })
        .is_ok()
    );
    for bad in [
        Tile {
            level: 0,
            index: 3,
            width: 100,
        },
        Tile {
            level: 0,
            index: 4,
            width: 256,
        },
        Tile {
            level: 1,
            index: 0,
            width: 4,
        },
    ] {
        assert!(
            matches!(log.tile(bad), Err(ReadError::NotFound(_))),
            "{bad}"
        );
    }
    let bundle = log
        .entry_bundle(EntryBundle {
            index: 3,
            width: 232,
        })
        .unwrap();
    let len = u16::from_be_bytes([bundle[0], bundle[1]]) as usize;
    assert_eq!(&bundle[2..2 + len], &leaves[768][..]);
    assert!(
        log.entry_bundle(EntryBundle {
            index: 3,
            width: 231
        })
        .is_err()
    );

    // Out of range reads are NotFound.
    assert!(matches!(
        log.entries(999, 1001),
        Err(ReadError::NotFound(_))
    ));
    assert!(matches!(
        log.inclusion_proof(5, 1001),
        Err(ReadError::NotFound(_))
    ));
    assert!(matches!(
        log.consistency_proof(0, 10),
        Err(ReadError::NotFound(_))
    ));
    close(engine);
}

/// Queries and sessions come from the derived index once it has caught up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_use_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, log) = open_log(dir.path(), "q");
    log.append(events(1, 0..10)).await.unwrap();
    log.append(events(2, 0..5)).await.unwrap();
    wait_indexed(&log).await;
    let page = log
        .query(&sealog_storage::Query {
            agent: Some("agent-2".into()),
            limit: 100,
            ..Default::default()
        })
        .unwrap();
    let mut got = page.indices.clone();
    got.sort();
    assert_eq!(got, (10..15).collect::<Vec<u64>>());
    assert_eq!(page.watermark, 15);
    let session = log.session("s-1", None, 100).unwrap();
    assert_eq!(session.entries.len(), 10);
    assert_eq!(session.entries[3].seq, Some(3));
    close(engine);
}
