//! The nodes serving the store (`sealog_nodes`): each renews its row every third of a lease,
//! so that every node can count the live ones and take only its fair share of the logs whose
//! lease nobody holds.

use super::{Database, db_error};
use crate::EngineError;

/// Renews this node's row and counts the nodes seen within a lease (this one included);
/// rows of nodes gone for an hour are dropped.
const HEARTBEAT: &str = "WITH me AS (INSERT INTO sealog_nodes (node, url, seen) \
     VALUES ($1, $2, clock_timestamp()) \
     ON CONFLICT (node) DO UPDATE SET url = EXCLUDED.url, seen = EXCLUDED.seen RETURNING node), \
     gone AS (DELETE FROM sealog_nodes WHERE seen < clock_timestamp() - interval '1 hour') \
     SELECT 1 + count(*) FROM sealog_nodes WHERE node <> $1 \
     AND seen > clock_timestamp() - $3::float8 * interval '1 millisecond'";

impl Database {
    /// Says this node is alive, and how many nodes are (at least 1: this one).
    pub(crate) fn heartbeat(&self) -> Result<usize, EngineError> {
        let (pool, node) = (self.pool(), self.node.clone());
        let url = self.options.advertise_url.clone();
        let millis = self.options.lease.as_millis() as f64;
        let live: i64 = self
            .run(async move {
                let client = pool.get().await.map_err(db_error)?;
                let row = client
                    .query_one(HEARTBEAT, &[&node, &url, &millis])
                    .await
                    .map_err(db_error)?;
                Ok(row.get(0))
            })
            .map_err(|e| EngineError::io("cannot record this node in the store", e))?;
        Ok(usize::try_from(live).unwrap_or(1).max(1))
    }

    /// Removes this node's row on a clean stop, so the others count it gone at once.
    pub(crate) fn leave(&self) {
        let (pool, node) = (self.pool(), self.node.clone());
        let left = self.run(async move {
            let client = pool.get().await.map_err(db_error)?;
            client
                .execute("DELETE FROM sealog_nodes WHERE node = $1", &[&node])
                .await
                .map_err(db_error)
        });
        if let Err(e) = left {
            tracing::warn!(%e, "could not remove this node from the store; it ages out");
        }
    }
}
