//! The stored tile hashes of a log checked against the ones its entries complete, and no
//! rows past its size.

use crate::pg::{Database, db_error};
use sealog_core::merkle::{Hash, Node};
use sealog_core::tiles::TILE_HEIGHT;
use std::collections::BTreeMap;

impl Database {
    /// Compares the tile hashes the entries `completed` with the stored ones.
    pub(super) fn check_tree_hashes(
        &self,
        id: i64,
        completed: &[(Node, Hash)],
    ) -> Result<(), String> {
        let mut by_level: BTreeMap<u8, Vec<(u64, Hash)>> = BTreeMap::new();
        for (node, hash) in completed {
            by_level
                .entry(node.level)
                .or_default()
                .push((node.index, *hash));
        }
        for (level, nodes) in by_level {
            let (first, last) = (nodes[0].0, nodes[nodes.len() - 1].0);
            let stored = self.stored_hashes(id, level / TILE_HEIGHT, first, last)?;
            for (index, hash) in nodes {
                match stored.get(&index) {
                    Some(s) if s[..] == hash => {}
                    Some(_) => {
                        return Err(format!(
                            "the stored hash of tree level {level} index {index} does not match \
                             the entries: an entry or the hash was changed"
                        ));
                    }
                    None => {
                        return Err(format!(
                            "the stored hash of tree level {level} index {index} is missing"
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// The stored hashes of tile level `tile_level`, nodes `first..=last`.
    fn stored_hashes(
        &self,
        id: i64,
        tile_level: u8,
        first: u64,
        last: u64,
    ) -> Result<BTreeMap<u64, Vec<u8>>, String> {
        let pool = self.pool();
        let (level, first, last) = (i16::from(tile_level), first as i64, last as i64);
        self.run(async move {
            let client = pool.get().await.map_err(db_error)?;
            let rows = client
                .query(
                    "SELECT idx, hash FROM sealog_tree_hashes WHERE log_id = $1 \
                     AND level = $2 AND idx BETWEEN $3 AND $4",
                    &[&id, &level, &first, &last],
                )
                .await
                .map_err(db_error)?;
            Ok(rows
                .iter()
                .map(|r| (r.get::<_, i64>(0) as u64, r.get(1)))
                .collect())
        })
        .map_err(|e| format!("cannot read the stored tree hashes: {e}"))
    }

    /// Refuses entries and stored tile hashes beyond what a tree of `size` entries has.
    pub(super) fn check_nothing_past(&self, id: i64, size: u64) -> Result<(), String> {
        let (pool, end) = (self.pool(), size as i64);
        let (past, counts): (i64, Vec<(i16, i64)>) = self
            .run(async move {
                let client = pool.get().await.map_err(db_error)?;
                let past = client
                    .query_one(
                        "SELECT count(*) FROM sealog_entries WHERE log_id = $1 AND idx >= $2",
                        &[&id, &end],
                    )
                    .await
                    .map_err(db_error)?
                    .get(0);
                let rows = client
                    .query(
                        "SELECT level, count(*) FROM sealog_tree_hashes WHERE log_id = $1 \
                         GROUP BY level ORDER BY level",
                        &[&id],
                    )
                    .await
                    .map_err(db_error)?;
                Ok((past, rows.iter().map(|r| (r.get(0), r.get(1))).collect()))
            })
            .map_err(|e| format!("cannot count the stored rows: {e}"))?;
        if past > 0 {
            return Err(format!(
                "{past} entries are stored past the log's size ({size})"
            ));
        }
        for (level, count) in counts {
            let expected = size >> (u32::from(TILE_HEIGHT) * level as u32);
            if count as u64 != expected {
                return Err(format!(
                    "{count} hashes of tile level {level} are stored, but {size} entries make \
                     {expected}"
                ));
            }
        }
        Ok(())
    }
}
