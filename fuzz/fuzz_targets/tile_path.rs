//! tlog-tiles paths: a parsed tile or entry-bundle path formats back to the same path.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealog_core::tiles::{EntryBundle, Tile};

fuzz_target!(|data: &[u8]| {
    if let Ok(path) = std::str::from_utf8(data) {
        if let Ok(tile) = Tile::parse_path(path) {
            assert_eq!(tile.path(), path);
        }
        if let Ok(bundle) = EntryBundle::parse_path(path) {
            assert_eq!(bundle.path(), path);
        }
    }
});
