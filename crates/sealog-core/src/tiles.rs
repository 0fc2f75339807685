//! C2SP tlog-tiles (<https://c2sp.org/tlog-tiles>): tile and entry bundle paths, the tiles of a
//! tree, and proofs served from tiles.
//!
//! A tile at tile level `L` holds up to 256 consecutive hashes of tree level `8·L`: the
//! hash of [`Node`] `{ level: 8·L, index: 256·N + i }` is hash `i` of tile `N`. Nodes of the
//! seven tree levels in between are not stored; each is the hash of a complete block of
//! hashes inside one tile ([`Tile::node_hash`]). A log that keeps only tiles therefore holds
//! every complete subtree, and [`TileHashSource`] serves any root or proof from them.
//!
//! Tiles of the tree's right edge are partial: a tree of size `s` has, at tile level `L`,
//! `⌊s / 256^L⌋ mod 256` hashes in its last tile. A partial tile is immutable for its width
//! and grows into a wider one; only full tiles are ever hashed into the level above.
//!
//! Paths are what tlog clients fetch over HTTP, so [`Tile::parse_path`] and
//! [`EntryBundle::parse_path`] accept exactly the canonical form and nothing else: one
//! resource has one path.

use crate::merkle::{Hash, HashSource, Node, node_hash};
use std::fmt;

/// Tree levels per tile: a tile is a subtree of height 8.
pub const TILE_HEIGHT: u8 = 8;

/// Hashes in a full tile, and entries in a full entry bundle.
pub const TILE_WIDTH: u16 = 256;

/// Bytes per hash in a tile.
const HASH_SIZE: usize = 32;

/// A tile: `width` consecutive hashes of tree level `8·level`, starting at `256·index`.
///
/// `width` is 1 to 256; 256 is a full tile, anything less a partial tile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tile {
    /// The tile level `L`: the tile holds hashes of tree level `8·L`.
    pub level: u8,
    /// The tile's position `N` on its level, from the left.
    pub index: u64,
    /// How many hashes the tile holds.
    pub width: u16,
}

/// An entry bundle: the leaves (entries) whose hashes are the level 0 tile with the same
/// `index` and `width`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntryBundle {
    /// The bundle's position: it holds entries from `256·index`.
    pub index: u64,
    /// How many entries it holds, 1 to 256; 256 is a full bundle.
    pub width: u16,
}

/// A path that is not the canonical path of a tile or entry bundle.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid tile path {path:?}: {reason}")]
pub struct TilePathError {
    /// The rejected path.
    pub path: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// Tile bytes that do not hold the node asked of them.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TileDataError {
    /// The data is not `width` hashes long.
    #[error("tile {tile} must be {} bytes, got {got}", usize::from(.tile.width) * HASH_SIZE)]
    Length {
        /// The tile read.
        tile: Tile,
        /// The bytes read.
        got: usize,
    },
    /// The node is not computed from this tile.
    #[error("node at level {} index {} is not in tile {tile}", .node.level, .node.index)]
    NodeNotInTile {
        /// The node asked for.
        node: Node,
        /// The tile given.
        tile: Tile,
    },
}

impl Tile {
    /// The tile's path, `tile/<L>/<N>[.p/<W>]`.
    ///
    /// ```
    /// use sealog_core::tiles::Tile;
    /// let tile = Tile { level: 1, index: 1_234_067, width: 17 };
    /// assert_eq!(tile.path(), "tile/1/x001/x234/067.p/17");
    /// ```
    pub fn path(&self) -> String {
        self.to_string()
    }

    /// Parses a tile path, accepting only the canonical form that [`Tile::path`] writes.
    pub fn parse_path(path: &str) -> Result<Tile, TilePathError> {
        let error = |reason| TilePathError {
            path: path.to_owned(),
            reason,
        };
        let rest = path
            .strip_prefix("tile/")
            .ok_or_else(|| error("does not start with \"tile/\""))?;
        let (level, rest) = rest
            .split_once('/')
            .ok_or_else(|| error("has no tile index"))?;
        let level = decimal(level)
            .and_then(|l| u8::try_from(l).ok())
            .filter(|&l| l <= 63)
            .ok_or_else(|| error("the level is not a number from 0 to 63"))?;
        let (index, width) = index_and_width(rest).map_err(error)?;
        Ok(Tile {
            level,
            index,
            width,
        })
    }

    /// Whether the tile holds fewer than [`TILE_WIDTH`] hashes.
    pub fn is_partial(&self) -> bool {
        self.width < TILE_WIDTH
    }

    /// The tile of a tree of `size` leaves from which `node`'s hash is computed, or `None` if
    /// `node` is not complete in that tree.
    ///
    /// The tile is at tile level `node.level / 8`, and as wide as it is in that tree: full, or
    /// the partial tile of that size.
    pub fn for_node(node: Node, size: u64) -> Option<Tile> {
        let level = node.level / TILE_HEIGHT;
        let (first, end) = tile_hash_span(node)?;
        // The complete nodes at the tile's tree level in a tree of `size`.
        let count = size.checked_shr(u32::from(level) * 8).unwrap_or(0);
        if end > count {
            return None;
        }
        let index = first >> 8;
        let width = (count - (index << 8)).min(u64::from(TILE_WIDTH));
        Some(Tile {
            level,
            index,
            // At most TILE_WIDTH.
            width: width as u16,
        })
    }

    /// Computes the hash of `node` from this tile's bytes (`width` hashes of 32 bytes).
    ///
    /// `node` is at tree level `8·level + k` with `k < 8`: the root of a complete subtree over
    /// `2^k` consecutive hashes of this tile.
    pub fn node_hash(&self, node: Node, data: &[u8]) -> Result<Hash, TileDataError> {
        if data.len() != usize::from(self.width) * HASH_SIZE {
            return Err(TileDataError::Length {
                tile: *self,
                got: data.len(),
            });
        }
        let not_here = TileDataError::NodeNotInTile { node, tile: *self };
        let Some((first, end)) = tile_hash_span(node) else {
            return Err(not_here);
        };
        let tile_start = self.index.checked_mul(u64::from(TILE_WIDTH));
        if node.level / TILE_HEIGHT != self.level || tile_start != Some(first & !0xff) {
            return Err(not_here);
        }
        // Offsets in the tile, at most TILE_WIDTH as the node lies inside the tile.
        let (from, to) = ((first & 0xff) as usize, (end - (first & !0xff)) as usize);
        if to > usize::from(self.width) {
            return Err(not_here);
        }
        Ok(complete_subtree_hash(
            &data[from * HASH_SIZE..to * HASH_SIZE],
        ))
    }
}

impl fmt::Display for Tile {
    /// Writes [`Tile::path`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tile/{}/", self.level)?;
        write_index_and_width(f, self.index, self.width)
    }
}

impl EntryBundle {
    /// The bundle's path, `tile/entries/<N>[.p/<W>]`.
    ///
    /// ```
    /// use sealog_core::tiles::EntryBundle;
    /// let bundle = EntryBundle { index: 1_234_067, width: 3 };
    /// assert_eq!(bundle.path(), "tile/entries/x001/x234/067.p/3");
    /// ```
    pub fn path(&self) -> String {
        self.to_string()
    }

    /// Parses an entry bundle path, accepting only the canonical form that
    /// [`EntryBundle::path`] writes.
    pub fn parse_path(path: &str) -> Result<EntryBundle, TilePathError> {
        let error = |reason| TilePathError {
            path: path.to_owned(),
            reason,
        };
        let rest = path
            .strip_prefix("tile/entries/")
            .ok_or_else(|| error("does not start with \"tile/entries/\""))?;
        let (index, width) = index_and_width(rest).map_err(error)?;
        Ok(EntryBundle { index, width })
    }
}

impl fmt::Display for EntryBundle {
    /// Writes [`EntryBundle::path`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tile/entries/")?;
        write_index_and_width(f, self.index, self.width)
    }
}

/// Every tile, full or partial, of a tree of `size` leaves, level by level, left to right.
///
/// ```
/// use sealog_core::tiles::{tiles_for_size, Tile};
/// assert_eq!(
///     tiles_for_size(256),
///     [Tile { level: 0, index: 0, width: 256 }, Tile { level: 1, index: 0, width: 1 }]
/// );
/// ```
pub fn tiles_for_size(size: u64) -> Vec<Tile> {
    let mut tiles = Vec::new();
    // 256^8 = 2^64: no u64 size has a node at tree level 64 or above.
    for level in 0..8u8 {
        let count = size >> (u32::from(level) * 8);
        if count == 0 {
            break;
        }
        let full = count >> 8;
        tiles.extend((0..full).map(|index| Tile {
            level,
            index,
            width: TILE_WIDTH,
        }));
        let partial = (count & 0xff) as u16;
        if partial > 0 {
            tiles.push(Tile {
                level,
                index: full,
                width: partial,
            });
        }
    }
    tiles
}

/// Reads tiles from wherever a log keeps them.
pub trait TileReader {
    /// The storage error.
    type Error;

    /// Returns the bytes of each tile, in order: `width` hashes of 32 bytes each.
    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, Self::Error>;
}

/// A reference reads as what it refers to, so a source can borrow its reader.
impl<R: TileReader + ?Sized> TileReader for &R {
    type Error = R::Error;

    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, Self::Error> {
        (**self).read_tiles(tiles)
    }
}

/// A [`HashSource`] over a log that stores only the tiles of a tree of `size` leaves.
///
/// It serves every node complete in that tree, hence the roots and proofs of every size up
/// to `size`. Each [`HashSource::node_hashes`] call reads each tile it needs once, in one
/// [`TileReader::read_tiles`] call. It trusts the tiles: it is for the log's own storage,
/// not for clients reading someone else's tiles (those check the tiles against a signed root
/// first).
#[derive(Clone, Debug)]
pub struct TileHashSource<R> {
    reader: R,
    size: u64,
}

/// Why a [`TileHashSource`] could not serve a node.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TileSourceError<E> {
    /// The node is not complete in the tree whose tiles the source reads.
    #[error(
        "node at level {} index {} is not complete in a tree of size {size}",
        .node.level,
        .node.index
    )]
    NodeOutsideTree {
        /// The node asked for.
        node: Node,
        /// The size of the tree the source reads.
        size: u64,
    },
    /// The reader broke its contract and returned a tile count other than asked.
    #[error("the tile reader returned {returned} tiles for {asked}")]
    TileCount {
        /// Tiles asked for.
        asked: usize,
        /// Tiles returned.
        returned: usize,
    },
    /// A tile read does not hold the node.
    #[error(transparent)]
    Data(#[from] TileDataError),
    /// The reader failed.
    #[error(transparent)]
    Read(E),
}

impl<R> TileHashSource<R> {
    /// A source over `reader`, which holds the tiles of a tree of `size` leaves.
    pub fn new(reader: R, size: u64) -> Self {
        TileHashSource { reader, size }
    }
}

impl<R> HashSource for TileHashSource<R>
where
    R: TileReader,
    R::Error: std::error::Error + Send + Sync + 'static,
{
    type Error = TileSourceError<R::Error>;

    fn node_hashes(&self, nodes: &[Node]) -> Result<Vec<Hash>, Self::Error> {
        // Proof nodes often share tiles: ask for each tile once.
        let mut tiles: Vec<Tile> = Vec::new();
        let mut tile_of_node = Vec::with_capacity(nodes.len());
        for &node in nodes {
            let tile = Tile::for_node(node, self.size).ok_or(TileSourceError::NodeOutsideTree {
                node,
                size: self.size,
            })?;
            let at = match tiles.iter().position(|t| *t == tile) {
                Some(at) => at,
                None => {
                    tiles.push(tile);
                    tiles.len() - 1
                }
            };
            tile_of_node.push(at);
        }
        let data = self
            .reader
            .read_tiles(&tiles)
            .map_err(TileSourceError::Read)?;
        if data.len() != tiles.len() {
            return Err(TileSourceError::TileCount {
                asked: tiles.len(),
                returned: data.len(),
            });
        }
        nodes
            .iter()
            .zip(tile_of_node)
            .map(|(&node, at)| Ok(tiles[at].node_hash(node, &data[at])?))
            .collect()
    }
}

/// The span `[first, end)` of tile-level hashes (tree level `8·(level / 8)`) under `node`, or
/// `None` if it does not fit in a u64.
fn tile_hash_span(node: Node) -> Option<(u64, u64)> {
    let width = 1u64 << (node.level % TILE_HEIGHT);
    let first = node.index.checked_mul(width)?;
    Some((first, first.checked_add(width)?))
}

/// The root of a complete subtree over the concatenated hashes `hashes` (a power of two of
/// them, at least one).
fn complete_subtree_hash(hashes: &[u8]) -> Hash {
    if let Ok(hash) = Hash::try_from(hashes) {
        return hash;
    }
    let (left, right) = hashes.split_at(hashes.len() / 2);
    node_hash(&complete_subtree_hash(left), &complete_subtree_hash(right))
}

/// Writes `<N>[.p/<W>]`: `N` in 3-digit elements, all but the last prefixed with `x`
/// (1234067 is `x001/x234/067`), so that a file system can serve tiles with no file and
/// directory of the same name.
fn write_index_and_width(f: &mut fmt::Formatter<'_>, index: u64, width: u16) -> fmt::Result {
    let mut elements = Vec::new();
    let mut n = index;
    loop {
        elements.push(n % 1000);
        n /= 1000;
        if n == 0 {
            break;
        }
    }
    while let Some(element) = elements.pop() {
        let prefix = if elements.is_empty() { "" } else { "x" };
        write!(f, "{prefix}{element:03}")?;
        if !elements.is_empty() {
            f.write_str("/")?;
        }
    }
    if width < TILE_WIDTH {
        write!(f, ".p/{width}")?;
    }
    Ok(())
}

/// Parses `<N>[.p/<W>]` in its canonical form.
fn index_and_width(s: &str) -> Result<(u64, u16), &'static str> {
    let (index, width) = match s.split_once(".p/") {
        Some((index, width)) => {
            let width = decimal(width)
                .filter(|w| (1..u64::from(TILE_WIDTH)).contains(w))
                .ok_or("the partial width is not a number from 1 to 255")?;
            // Below TILE_WIDTH.
            (index, width as u16)
        }
        None => (s, TILE_WIDTH),
    };
    let mut elements = index.split('/').peekable();
    let mut n: u64 = 0;
    let mut leading = true;
    while let Some(element) = elements.next() {
        let last = elements.peek().is_none();
        let digits = if last {
            element
        } else {
            element
                .strip_prefix('x')
                .ok_or("an index element other than the last lacks its \"x\"")?
        };
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err("an index element is not 3 digits");
        }
        if leading && !last && digits == "000" {
            return Err("the index has a leading zero element");
        }
        leading = false;
        n = n
            .checked_mul(1000)
            .and_then(|n| n.checked_add(digits.parse().ok()?))
            .ok_or("the index is too large")?;
    }
    Ok((n, width))
}

/// Parses a decimal number without sign or leading zeros.
fn decimal(s: &str) -> Option<u64> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    if canonical { s.parse().ok() } else { None }
}
