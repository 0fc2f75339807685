//! A log's writer lease: a row (holder, epoch, expiry by the database's clock) that one node
//! at a time holds. Taking it over increments the epoch; every write of the holder is fenced
//! by its epoch in SQL, and the holder also stops by its own clock the moment its lease may
//! have run out, before any other node can take it.

use super::{Database, db_error};
use crate::{EngineError, ErrorKind, lock};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// A lease this node holds on one log.
pub(crate) struct Lease {
    /// The log's row id.
    pub(crate) log_id: i64,
    /// The epoch this node took; every fenced write names it.
    pub(crate) epoch: i64,
    /// This node's name in the row.
    pub(crate) holder: String,
    /// How long one renewal keeps it.
    duration: Duration,
    /// Until when, by this process's monotonic clock, the lease is surely still ours: it was
    /// last renewed at a time after this instant minus the lease's length.
    valid_until: Mutex<Instant>,
    /// Set once a renewal found another epoch or an expired lease.
    lost: AtomicBool,
}

/// Who holds a log's writer lease, as a node with the log on standby last read it.
#[derive(Clone, Debug, PartialEq)]
pub struct Leader {
    /// The holder's node name (`host/pid/random`).
    pub node: String,
    /// Where the holder answers HTTP, if it advertises a URL.
    pub url: Option<String>,
    /// The epoch it holds.
    pub epoch: i64,
    /// How long its lease had left when read (the database's clock).
    pub left: Duration,
}

/// Takes log `name`'s lease where nobody holds it or it expired, and the log's row id.
const ACQUIRE: &str = "UPDATE sealog_logs SET lease_holder = $2, lease_holder_url = $4, \
     lease_epoch = lease_epoch + 1, \
     lease_expires = clock_timestamp() + $3::float8 * interval '1 millisecond' \
     WHERE name = $1 AND (lease_holder IS NULL OR lease_expires < clock_timestamp()) \
     RETURNING id, lease_epoch";

/// Extends the lease while it is still this holder's, in this epoch, and has not expired.
const RENEW: &str = "UPDATE sealog_logs SET lease_expires = clock_timestamp() + $4::float8 * interval \
     '1 millisecond' WHERE id = $1 AND lease_epoch = $2 AND lease_holder = $3 \
     AND lease_expires > clock_timestamp()";

/// Gives the lease up, so that another node may take over at once.
const RELEASE: &str = "UPDATE sealog_logs SET lease_holder = NULL, lease_holder_url = NULL, \
     lease_expires = NULL \
     WHERE id = $1 AND lease_epoch = $2 AND lease_holder = $3";

impl Lease {
    /// Takes the lease of log `name` and keeps renewing it until the lease is dropped or
    /// lost. Refuses with [`ErrorKind::Busy`] while another node holds it, saying which.
    pub(crate) fn acquire(db: &Arc<Database>, name: &str) -> Result<Arc<Lease>, EngineError> {
        let (pool, holder, owned) = (db.pool(), db.node.clone(), name.to_owned());
        let url = db.options.advertise_url.clone();
        let duration = db.options.lease;
        let millis = duration.as_millis() as f64;
        let asked = Instant::now();
        let row = db
            .run(async move {
                let client = pool.get().await.map_err(db_error)?;
                client
                    .query_opt(ACQUIRE, &[&owned, &holder, &millis, &url])
                    .await
                    .map_err(db_error)
            })
            .map_err(|e| EngineError::io(format_args!("cannot take the lease of log {name}"), e))?;
        let Some(row) = row else {
            return Err(held_elsewhere(db, name));
        };
        let lease = Arc::new(Lease {
            log_id: row.get(0),
            epoch: row.get(1),
            holder: db.node.clone(),
            duration,
            valid_until: Mutex::new(asked + duration),
            lost: AtomicBool::new(false),
        });
        tracing::info!(log = name, epoch = lease.epoch, "took the writer lease");
        db.spawn(renew(db.clone(), Arc::downgrade(&lease), name.to_owned()));
        Ok(lease)
    }

    /// Whether this node still surely holds the lease: not lost, and renewed recently enough
    /// by its own clock that no other node can have taken it yet.
    pub(crate) fn held(&self) -> bool {
        !self.lost.load(Ordering::SeqCst) && Instant::now() < *lock(&self.valid_until)
    }

    /// Marks the lease lost: a fenced write found another epoch.
    pub(crate) fn lose(&self) {
        self.lost.store(true, Ordering::SeqCst);
    }

    /// Gives the lease up (a clean stop, the writer stopped), so another node need not wait
    /// for it to expire. Fenced by the epoch like every write: a lease another node took in
    /// the meantime is left alone.
    pub(crate) fn release(&self, db: &Database) {
        self.lose();
        let (pool, id, epoch, holder) = (db.pool(), self.log_id, self.epoch, self.holder.clone());
        let released = db.run(async move {
            let client = pool.get().await.map_err(db_error)?;
            client
                .execute(RELEASE, &[&id, &epoch, &holder])
                .await
                .map_err(db_error)
        });
        if let Err(e) = released {
            tracing::warn!(%e, "could not give a writer lease up; it expires on its own");
        }
    }
}

/// Renews the lease every third of its length until it is dropped, lost, or runs out.
async fn renew(db: Arc<Database>, lease: Weak<Lease>, name: String) {
    loop {
        let Some(held) = lease.upgrade() else { return };
        let step = held.duration / 3;
        if !held.held() {
            lost(&held, &name, "it was not renewed in time");
            return;
        }
        drop(held);
        tokio::time::sleep(step).await;
        let Some(held) = lease.upgrade() else { return };
        let asked = Instant::now();
        let millis = held.duration.as_millis() as f64;
        let renewed = match db.pool.get().await {
            Ok(client) => client
                .execute(RENEW, &[&held.log_id, &held.epoch, &held.holder, &millis])
                .await
                .map_err(db_error),
            Err(e) => Err(db_error(e)),
        };
        match renewed {
            Ok(1) => *lock(&held.valid_until) = asked + held.duration,
            Ok(_) => {
                lost(&held, &name, "another node holds it now");
                return;
            }
            // A failed renewal is tried again; the lease stays good until it runs out.
            Err(e) => tracing::warn!(log = %name, %e, "renewing the writer lease failed"),
        }
    }
}

/// Marks `lease` lost and says so, once.
fn lost(lease: &Lease, name: &str, why: &str) {
    if !lease.lost.swap(true, Ordering::SeqCst) {
        tracing::warn!(
            log = name,
            epoch = lease.epoch,
            "lost the writer lease ({why}): this node stops appending and signing"
        );
    }
}

impl Database {
    /// Who holds log `name`'s lease now, if anyone does and it has not expired; `Err` with
    /// [`ErrorKind::NotFound`] when the store has no such log.
    pub(crate) fn leader(&self, name: &str) -> Result<Option<Leader>, EngineError> {
        let (pool, owned) = (self.pool(), name.to_owned());
        let row = self
            .run(async move {
                let client = pool.get().await.map_err(db_error)?;
                client
                    .query_opt(
                        "SELECT lease_holder, lease_holder_url, lease_epoch, \
                         extract(epoch FROM lease_expires - clock_timestamp())::float8 \
                         FROM sealog_logs WHERE name = $1",
                        &[&owned],
                    )
                    .await
                    .map_err(db_error)
            })
            .map_err(|e| EngineError::io(format_args!("cannot read the lease of log {name}"), e))?
            .ok_or_else(|| {
                EngineError::new(ErrorKind::NotFound, format!("no log {name} in the store"))
            })?;
        let (node, url, epoch, left): (Option<String>, Option<String>, i64, Option<f64>) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        Ok(match (node, left) {
            (Some(node), Some(left)) if left > 0.0 => Some(Leader {
                node,
                url,
                epoch,
                left: Duration::from_secs_f64(left),
            }),
            _ => None,
        })
    }
}

/// The refusal while another node holds log `name`'s lease, saying which and until when.
fn held_elsewhere(db: &Database, name: &str) -> EngineError {
    match db.leader(name) {
        Ok(Some(leader)) => EngineError::new(
            ErrorKind::Busy,
            format!(
                "log {name} is written by node {} (lease epoch {}, {:.1} s left); this node \
                 takes it over if that lease runs out",
                leader.node,
                leader.epoch,
                leader.left.as_secs_f64()
            ),
        ),
        // Released or expired between the two queries: the next try takes it.
        Ok(None) => EngineError::new(
            ErrorKind::Busy,
            format!("log {name} was being handed over; this node tries to take it over"),
        ),
        Err(e) => e,
    }
}
