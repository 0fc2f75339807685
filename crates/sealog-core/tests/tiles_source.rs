//! Roots and proofs served from tiles alone equal those served from every stored node.

use sealog_core::merkle::{
    Hash, HashSource, MemoryTree, Node, ProofError, UnknownNode, consistency_proof,
    inclusion_proof, leaf_hash, tree_root,
};
use sealog_core::tiles::{
    TILE_HEIGHT, Tile, TileDataError, TileHashSource, TileReader, TileSourceError, tiles_for_size,
};
use std::cell::RefCell;
use std::collections::BTreeSet;

fn leaf(i: u64) -> Hash {
    leaf_hash(&i.to_be_bytes())
}

fn tree(size: u64) -> MemoryTree {
    let mut tree = MemoryTree::new();
    (0..size).for_each(|i| tree.push(leaf(i)));
    tree
}

/// Tiles built from their definition: hash `i` of tile `(L, N)` is node `(8·L, 256·N + i)`.
/// Records every tile asked for.
struct Tiles<'a> {
    tree: &'a MemoryTree,
    asked: RefCell<BTreeSet<Tile>>,
}

impl<'a> Tiles<'a> {
    fn new(tree: &'a MemoryTree) -> Self {
        Tiles {
            tree,
            asked: RefCell::default(),
        }
    }
}

impl TileReader for Tiles<'_> {
    type Error = UnknownNode;

    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, UnknownNode> {
        let mut asked = self.asked.borrow_mut();
        let distinct: BTreeSet<&Tile> = tiles.iter().collect();
        assert_eq!(
            distinct.len(),
            tiles.len(),
            "each tile is read once per call"
        );
        tiles
            .iter()
            .map(|tile| {
                asked.insert(*tile);
                let nodes: Vec<Node> = (0..u64::from(tile.width))
                    .map(|i| Node {
                        level: tile.level * TILE_HEIGHT,
                        index: tile.index * 256 + i,
                    })
                    .collect();
                Ok(self.tree.node_hashes(&nodes)?.concat())
            })
            .collect()
    }
}

/// Compares the roots and some proofs of a tree of `size` leaves, served from its tiles,
/// with those served from every node; checks that only that size's tiles were read.
fn check(tree: &MemoryTree, size: u64, indexes: &[u64], old_sizes: &[u64]) {
    let reader = Tiles::new(tree);
    let tiles = TileHashSource::new(&reader, size);
    assert_eq!(
        tree_root(&tiles, size).unwrap(),
        tree_root(tree, size).unwrap(),
        "root {size}"
    );
    for &index in indexes.iter().filter(|&&i| i < size) {
        assert_eq!(
            inclusion_proof(&tiles, index, size).unwrap(),
            inclusion_proof(tree, index, size).unwrap(),
            "inclusion {index} in {size}"
        );
    }
    for &old in old_sizes.iter().filter(|&&old| 0 < old && old <= size) {
        assert_eq!(
            consistency_proof(&tiles, old, size).unwrap(),
            consistency_proof(tree, old, size).unwrap(),
            "consistency {old} → {size}"
        );
    }
    let served: BTreeSet<Tile> = tiles_for_size(size).into_iter().collect();
    let asked = reader.asked.into_inner();
    assert!(
        asked.is_subset(&served),
        "size {size} read {:?}",
        asked.difference(&served)
    );
}

#[test]
fn proofs_from_tiles_up_to_600() {
    let tree = tree(600);
    for size in 1..=600 {
        let mid = size / 2;
        check(&tree, size, &[mid, size - 1], &[mid, size - 1]);
    }
    // Every leaf and old size, where tiles fill up and new levels start.
    for size in [256, 513] {
        let all: Vec<u64> = (0..=size).collect();
        check(&tree, size, &all, &all);
    }
}

#[test]
fn proofs_from_tiles_around_65536() {
    let tree = tree(65_536 + 600);
    for size in [
        65_535,
        65_536,
        65_537,
        65_536 + 255,
        65_536 + 256,
        65_536 + 600,
    ] {
        check(
            &tree,
            size,
            &[0, 255, 256, 32_767, 65_535, 65_536, size - 1],
            &[1, 256, 300, 65_535, 65_536, size - 1, size],
        );
    }
}

#[test]
fn a_source_serves_older_sizes_from_its_own_tiles() {
    let tree = tree(1000);
    let reader = Tiles::new(&tree);
    let tiles = TileHashSource::new(&reader, 1000);
    for size in [1, 255, 256, 257, 700, 999] {
        assert_eq!(
            tree_root(&tiles, size).unwrap(),
            tree_root(&tree, size).unwrap()
        );
        assert_eq!(
            inclusion_proof(&tiles, size - 1, size).unwrap(),
            inclusion_proof(&tree, size - 1, size).unwrap()
        );
        assert_eq!(
            consistency_proof(&tiles, size, 1000).unwrap(),
            consistency_proof(&tree, size, 1000).unwrap()
        );
    }
    let served: BTreeSet<Tile> = tiles_for_size(1000).into_iter().collect();
    assert!(reader.asked.into_inner().is_subset(&served));
}

#[test]
fn a_node_outside_the_tree_is_an_error() {
    let tree = tree(300);
    let reader = Tiles::new(&tree);
    let tiles = TileHashSource::new(&reader, 300);
    let error = tiles
        .node_hashes(&[Node {
            level: 0,
            index: 300,
        }])
        .unwrap_err();
    assert!(matches!(
        error,
        TileSourceError::NodeOutsideTree {
            node: Node {
                level: 0,
                index: 300
            },
            size: 300
        }
    ));
    assert_eq!(
        error.to_string(),
        "node at level 0 index 300 is not complete in a tree of size 300"
    );
    assert!(matches!(
        inclusion_proof(&tiles, 5, 301),
        Err(ProofError::Source(TileSourceError::NodeOutsideTree { .. }))
    ));
}

/// A reader that returns what it is told to, whatever it is asked.
struct Broken(Vec<Vec<u8>>);

impl TileReader for Broken {
    type Error = UnknownNode;
    fn read_tiles(&self, _: &[Tile]) -> Result<Vec<Vec<u8>>, UnknownNode> {
        Ok(self.0.clone())
    }
}

#[test]
fn bad_tiles_are_errors_not_panics() {
    let node = Node { level: 1, index: 2 };
    let source = |tiles| TileHashSource::new(Broken(tiles), 10);
    let error = source(vec![]).node_hashes(&[node]).unwrap_err();
    assert!(matches!(
        error,
        TileSourceError::TileCount {
            asked: 1,
            returned: 0
        }
    ));
    assert_eq!(error.to_string(), "the tile reader returned 0 tiles for 1");

    let error = source(vec![vec![0; 31]]).node_hashes(&[node]).unwrap_err();
    assert!(matches!(
        error,
        TileSourceError::Data(TileDataError::Length { got: 31, .. })
    ));
    assert_eq!(
        error.to_string(),
        "tile tile/0/000.p/10 must be 320 bytes, got 31"
    );
}

#[test]
fn node_hash_from_tile_bytes() {
    let tree = tree(300);
    let full = Tiles::new(&tree)
        .read_tiles(&[Tile {
            level: 0,
            index: 0,
            width: 256,
        }])
        .unwrap()
        .remove(0);
    let tile = Tile {
        level: 0,
        index: 0,
        width: 256,
    };
    for level in 0..8 {
        for index in [0, (256 >> level) - 1] {
            let node = Node { level, index };
            assert_eq!(
                tile.node_hash(node, &full),
                Ok(tree.node_hashes(&[node]).unwrap()[0]),
                "{node:?}"
            );
        }
    }
    for node in [
        Node {
            level: 0,
            index: 256,
        },
        Node { level: 8, index: 0 },
        Node {
            level: 3,
            index: 32,
        },
        Node {
            level: 200,
            index: u64::MAX,
        },
    ] {
        assert_eq!(
            tile.node_hash(node, &full),
            Err(TileDataError::NodeNotInTile { node, tile }),
            "{node:?}"
        );
    }
    let partial = Tile {
        level: 0,
        index: 0,
        width: 5,
    };
    assert_eq!(
        partial.node_hash(Node { level: 2, index: 1 }, &full[..5 * 32]),
        Err(TileDataError::NodeNotInTile {
            node: Node { level: 2, index: 1 },
            tile: partial
        }),
        "leaves 4..8 are not all in a tile of width 5"
    );
    assert_eq!(
        TileDataError::NodeNotInTile {
            node: Node { level: 8, index: 0 },
            tile
        }
        .to_string(),
        "node at level 8 index 0 is not in tile tile/0/000"
    );
}
