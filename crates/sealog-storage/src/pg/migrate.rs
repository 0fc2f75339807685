//! Schema migrations: the files of `migrations/`, numbered, each applied once in order, in one
//! transaction with the version table, so that a database is at one version or the next and
//! never in between. Several nodes starting at once apply each migration once: the version
//! table is locked for the transaction.

use super::db_error;
use deadpool_postgres::Pool;
use std::io;

/// Every migration, in order: its version and its SQL.
const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("../../migrations/0001_logs.sql")),
    (2, include_str!("../../migrations/0002_settings.sql")),
    (3, include_str!("../../migrations/0003_nodes.sql")),
    (4, include_str!("../../migrations/0004_import.sql")),
];

/// Brings the schema of the database behind `pool` up to the newest migration. Refuses a
/// database that a newer Sealog migrated further.
pub(super) async fn apply(pool: &Pool) -> io::Result<()> {
    let mut client = pool.get().await.map_err(db_error)?;
    // Two nodes creating the version table at once: one of them fails on the catalog's unique
    // index; the second try finds the table.
    let create = "CREATE TABLE IF NOT EXISTS sealog_schema (version integer PRIMARY KEY, \
                  applied_at timestamptz NOT NULL DEFAULT now())";
    if client.batch_execute(create).await.is_err() {
        client.batch_execute(create).await.map_err(db_error)?;
    }
    let tx = client.transaction().await.map_err(db_error)?;
    tx.batch_execute("LOCK TABLE sealog_schema IN EXCLUSIVE MODE")
        .await
        .map_err(db_error)?;
    let current: i32 = tx
        .query_one("SELECT coalesce(max(version), 0) FROM sealog_schema", &[])
        .await
        .map_err(db_error)?
        .get(0);
    let newest = MIGRATIONS.last().map_or(0, |m| m.0);
    if current > newest {
        return Err(io::Error::other(format!(
            "the database's schema is at version {current}, newer than this Sealog knows \
             ({newest}): upgrade Sealog on this node"
        )));
    }
    for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        tx.batch_execute(sql)
            .await
            .map_err(|e| io::Error::other(format!("migration {version}: {}", db_error(e))))?;
        tx.execute(
            "INSERT INTO sealog_schema (version) VALUES ($1)",
            &[version],
        )
        .await
        .map_err(db_error)?;
        tracing::info!(version, "applied a schema migration to the store");
    }
    tx.commit().await.map_err(db_error)
}
