//! tlog-tiles paths and the tiles of a tree: the `tile_paths` vectors of `notes.json`, strict
//! parsing, and round trips.

use proptest::prelude::*;
use sealog_core::merkle::Node;
use sealog_core::tiles::{EntryBundle, TILE_HEIGHT, TILE_WIDTH, Tile, tiles_for_size};
use serde_json::Value;

fn tile(level: u8, index: u64, width: u16) -> Tile {
    Tile {
        level,
        index,
        width,
    }
}

fn vectors() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/notes.json");
    let notes: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    notes["tile_paths"].clone()
}

#[test]
fn notes_json_tile_paths() {
    let v = vectors();
    let cases = [
        (
            tile(0, 1_234_067, 256),
            format!("tile/0/{}", v["index_1234067"].as_str().unwrap()),
        ),
        (
            tile(0, 0, 256),
            v["level0_tile0"].as_str().unwrap().to_owned(),
        ),
        (
            tile(0, 1000, 256),
            v["level0_tile1000"].as_str().unwrap().to_owned(),
        ),
        (
            tile(1, 5, 17),
            v["level1_tile5_width17"].as_str().unwrap().to_owned(),
        ),
    ];
    for (tile, path) in cases {
        assert_eq!(tile.path(), path);
        assert_eq!(Tile::parse_path(&path), Ok(tile));
    }
    assert_eq!(tile(0, 1_234_067, 256).path(), "tile/0/x001/x234/067");

    let bundle = EntryBundle {
        index: 1_234_067,
        width: 3,
    };
    let path = v["entries_1234067_width3"].as_str().unwrap();
    assert_eq!(bundle.path(), path);
    assert_eq!(EntryBundle::parse_path(path), Ok(bundle));

    // [level, full tiles, partial width]
    let mut want = Vec::new();
    for spec in v["tiles_for_size_70000"].as_array().unwrap() {
        let spec: Vec<u64> = spec
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_u64().unwrap())
            .collect();
        let level = spec[0] as u8;
        want.extend((0..spec[1]).map(|index| tile(level, index, 256)));
        want.push(tile(level, spec[1], spec[2] as u16));
    }
    assert_eq!(tiles_for_size(70_000), want);
    assert_eq!(want.len(), 273 + 1 + 1 + 1 + 1);
}

#[test]
fn tiles_of_small_trees() {
    assert_eq!(tiles_for_size(0), []);
    assert_eq!(tiles_for_size(1), [tile(0, 0, 1)]);
    assert_eq!(tiles_for_size(255), [tile(0, 0, 255)]);
    // The spec's example: a full level 0 tile and a partial level 1 tile of width 1.
    assert_eq!(tiles_for_size(256), [tile(0, 0, 256), tile(1, 0, 1)]);
    assert_eq!(
        tiles_for_size(513),
        [
            tile(0, 0, 256),
            tile(0, 1, 256),
            tile(0, 2, 1),
            tile(1, 0, 2)
        ]
    );
    assert_eq!(
        tiles_for_size(65_536).last(),
        Some(&tile(2, 0, 1)),
        "the node over 65536 leaves"
    );
}

/// Each tile of a tree holds exactly the complete nodes of its tree level in that tree,
/// and [`Tile::for_node`] finds them there.
#[test]
fn tiles_for_size_hold_every_complete_node_once() {
    for size in (0..=2_000).chain([65_535, 65_536, 65_537, 70_000, 16_777_216 + 3]) {
        let tiles = tiles_for_size(size);
        for level in 0..4u8 {
            let nodes = size >> (8 * u32::from(level));
            let mut covered = 0;
            for t in tiles.iter().filter(|t| t.level == level) {
                assert_eq!(t.index * 256, covered, "size {size}: {t} in order");
                covered += u64::from(t.width);
                let last = Node {
                    level: level * TILE_HEIGHT,
                    index: covered - 1,
                };
                assert_eq!(Tile::for_node(last, size), Some(*t));
            }
            assert_eq!(covered, nodes, "size {size}, level {level}");
            let beyond = Node {
                level: level * TILE_HEIGHT,
                index: nodes,
            };
            assert_eq!(Tile::for_node(beyond, size), None);
        }
    }
}

#[test]
fn nodes_map_to_the_tile_that_stores_their_hashes() {
    let node = |level, index| Node { level, index };
    assert_eq!(Tile::for_node(node(0, 1000), 1001), Some(tile(0, 3, 233)));
    assert_eq!(
        Tile::for_node(node(0, 1000), 100_000),
        Some(tile(0, 3, 256))
    );
    assert_eq!(Tile::for_node(node(3, 5), 100), Some(tile(0, 0, 100)));
    assert_eq!(Tile::for_node(node(7, 1), 256), Some(tile(0, 0, 256)));
    assert_eq!(Tile::for_node(node(8, 0), 256), Some(tile(1, 0, 1)));
    assert_eq!(Tile::for_node(node(9, 0), 600), Some(tile(1, 0, 2)));
    assert_eq!(Tile::for_node(node(16, 0), 65_536), Some(tile(2, 0, 1)));
    assert_eq!(Tile::for_node(node(15, 1), 65_536), Some(tile(1, 0, 256)));
    assert_eq!(Tile::for_node(node(0, 5), 5), None);
    assert_eq!(Tile::for_node(node(1, 2), 5), None);
    // Nodes that no u64 tree has: no overflow, no panic.
    assert_eq!(Tile::for_node(node(63, 1), u64::MAX), None);
    assert_eq!(Tile::for_node(node(200, u64::MAX), u64::MAX), None);
    assert_eq!(Tile::for_node(node(7, u64::MAX), u64::MAX), None);
    assert_eq!(
        Tile::for_node(node(63, 0), u64::MAX),
        Some(tile(7, 0, 255)),
        "the left half of a 2^64-leaf tree, in the top tile of the largest tree"
    );
}

#[test]
fn canonical_paths_parse() {
    for (path, want) in [
        ("tile/0/000", tile(0, 0, 256)),
        ("tile/63/999", tile(63, 999, 256)),
        ("tile/7/x001/000.p/1", tile(7, 1000, 1)),
        ("tile/2/x999/999.p/255", tile(2, 999_999, 255)),
        (
            "tile/0/x018/x446/x744/x073/x709/x551/615",
            tile(0, u64::MAX, 256),
        ),
    ] {
        assert_eq!(Tile::parse_path(path), Ok(want), "{path}");
        assert_eq!(want.path(), path);
        assert_eq!(want.is_partial(), want.width < TILE_WIDTH);
    }
    assert_eq!(
        EntryBundle::parse_path("tile/entries/x005/000"),
        Ok(EntryBundle {
            index: 5000,
            width: 256
        })
    );
}

#[test]
fn non_canonical_paths_are_rejected() {
    for path in [
        "",
        "tile",
        "tile/",
        "tile/0",
        "tile/0/",
        "tile//000",
        "/tile/0/000",
        "tiles/0/000",
        "Tile/0/000",
        "tile/0/000/",
        "tile/0/000.p/5/",
        "tile/0/00",
        "tile/0/0000",
        "tile/0/0",
        "tile/0/x000/005",
        "tile/0/x000/x001/005",
        "tile/0/001/000",
        "tile/0/x001/x000",
        "tile/0/X001/000",
        "tile/0/xx01/000",
        "tile/0/x01/000",
        "tile/0/0a0",
        "tile/0/x0a1/000",
        "tile/0/ 000",
        "tile/0/000 ",
        "tile/0/+00",
        "tile/0/٠٠٠",
        "tile/00/000",
        "tile/01/000",
        "tile/64/000",
        "tile/255/000",
        "tile/256/000",
        "tile/-1/000",
        "tile/+1/000",
        "tile/1.0/000",
        "tile/entries/000",
        "tile/0/000.p/256",
        "tile/0/000.p/0",
        "tile/0/000.p/00",
        "tile/0/000.p/017",
        "tile/0/000.p/",
        "tile/0/000.p/-1",
        "tile/0/000.p/+1",
        "tile/0/000.P/5",
        "tile/0/000.p5",
        "tile/0/000p/5",
        "tile/0/000.p/5.p/5",
        "tile/0/.p/5",
        "tile/0/x018/x446/x744/x073/x709/x551/616",
        "tile/0/x001/x000/x000/x000/x000/x000/x000/000",
    ] {
        assert!(Tile::parse_path(path).is_err(), "{path:?} parsed as a tile");
    }
    for path in [
        "tile/entries/",
        "tile/entries/00",
        "tile/entries/x000/001",
        "tile/entries/000.p/256",
        "tile/entries/000.p/0",
        "tile/entries/000/",
        "tile/entries//000",
        "tile/0/000",
        "tile/entries/entries/000",
    ] {
        assert!(
            EntryBundle::parse_path(path).is_err(),
            "{path:?} parsed as an entry bundle"
        );
    }
    assert_eq!(
        Tile::parse_path("tile/0/000.p/256")
            .unwrap_err()
            .to_string(),
        "invalid tile path \"tile/0/000.p/256\": the partial width is not a number from 1 to 255"
    );
    assert_eq!(
        Tile::parse_path("tile/0/x000/005").unwrap_err().to_string(),
        "invalid tile path \"tile/0/x000/005\": the index has a leading zero element"
    );
    assert_eq!(
        Tile::parse_path("tile/64/005").unwrap_err().to_string(),
        "invalid tile path \"tile/64/005\": the level is not a number from 0 to 63"
    );
}

fn any_tile() -> impl Strategy<Value = Tile> {
    (0..=63u8, any::<u64>(), 1..=256u16).prop_map(|(level, index, width)| Tile {
        level,
        index,
        width,
    })
}

proptest! {
    #[test]
    fn tile_paths_round_trip(tile in any_tile()) {
        prop_assert_eq!(Tile::parse_path(&tile.path()), Ok(tile));
        let bundle = EntryBundle { index: tile.index, width: tile.width };
        prop_assert_eq!(EntryBundle::parse_path(&bundle.path()), Ok(bundle));
    }

    /// A path that parses is the canonical path of what it parses to: one tile, one path.
    #[test]
    fn only_canonical_paths_parse(
        path in r"tile/(0|00|1|07|63|64|[0-9]{1,3})/(x?[0-9]{1,4}/){0,3}x?[0-9]{1,4}(\.p/[0-9]{1,3})?/?"
    ) {
        if let Ok(tile) = Tile::parse_path(&path) {
            prop_assert_eq!(tile.path(), path);
        }
    }

    #[test]
    fn only_canonical_bundle_paths_parse(
        path in r"tile/entries/(x?[0-9]{1,4}/){0,3}x?[0-9]{1,4}(\.p/[0-9]{1,3})?/?"
    ) {
        if let Ok(bundle) = EntryBundle::parse_path(&path) {
            prop_assert_eq!(bundle.path(), path);
        }
    }
}
