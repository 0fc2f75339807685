//! The engine over the shared PostgreSQL store: appends, proofs, tiles and reopening behave as
//! over the embedded files; the writer lease lets one node write a log at a time, and a node
//! that lost it appends and signs nothing more.

mod engine_support;
mod pg_support;

use engine_support::events;
use pg_support::TestDb;
use sealog_core::checkpoint;
use sealog_core::leaf;
use sealog_core::merkle::{verify_consistency, verify_inclusion};
use sealog_core::tiles::Tile;
use sealog_storage::{Appended, Engine, ErrorKind};
use std::time::{Duration, Instant};

const KEY: [u8; 32] = [7; 32];
const LEASE: Duration = Duration::from_millis(1000);

/// Opens an engine over `db` with its own node-local directory.
fn node(db: &TestDb, dir: &tempfile::TempDir) -> Engine {
    Engine::open_serving(dir.path(), db.options(KEY, LEASE)).expect("open over PostgreSQL")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_proofs_tiles_and_reopening_work_over_postgres() {
    let db = TestDb::create();
    let (dir, other_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let engine = node(&db, &dir);
    let log = engine.create_log("p", "test.example/p").unwrap();
    assert_eq!(
        engine
            .create_log("p", "test.example/p")
            .err()
            .unwrap()
            .kind(),
        ErrorKind::AlreadyExists
    );
    log.append(events(1, 0..300)).await.unwrap();
    let first = log.wait_checkpoint(300).await.unwrap();
    let appended = log.append(events(1, 300..1000)).await.unwrap();
    assert_eq!(
        appended[0],
        Appended::Accepted {
            index: 300,
            leaf_hash: leaf::hash(&log.entry(300).unwrap())
        }
    );
    let second = log.wait_checkpoint(1000).await.unwrap();
    assert_eq!(second.size, 1000);
    checkpoint::open(&second.note, log.verifier()).expect("the checkpoint verifies");
    let leaves = log.entries(0, 1000).unwrap();
    for index in [0u64, 255, 256, 299, 511, 999] {
        let leaf_hash = leaf::hash(&leaves[index as usize]);
        let proof = log.inclusion_proof(index, 1000).unwrap();
        verify_inclusion(&leaf_hash, index, 1000, &proof, &second.root).expect("inclusion");
    }
    let proof = log.consistency_proof(first.size, 1000).unwrap();
    verify_consistency(first.size, 1000, &proof, &first.root, &second.root).expect("consistency");
    let tile = log
        .tile(Tile {
            level: 0,
            index: 1,
            width: 256,
        })
        .unwrap();
    assert_eq!(&tile[..32], &leaf::hash(&leaves[256]));
    // Three nodes of tree level 8 are complete in 1,000 leaves: the partial tile of level 1.
    let upper = log
        .tile(Tile {
            level: 1,
            index: 0,
            width: 3,
        })
        .unwrap();
    assert_eq!(upper.len(), 96);
    engine.shutdown().unwrap();
    drop((log, engine));

    // Another node, with an empty directory: the log, its key and its checkpoint come from
    // the database, its index is rebuilt from the entries, and dedup finds old ids.
    let engine = node(&db, &other_dir);
    let log = engine.log("p").expect("the log is in the store");
    assert_eq!((log.size(), log.checkpoint()), (1000, second.clone()));
    let again = log.append(events(1, 998..1002)).await.unwrap();
    assert_eq!(again[0], Appended::Duplicate { index: 998 });
    assert!(matches!(again[3], Appended::Accepted { index: 1001, .. }));
    let third = log.wait_checkpoint(1002).await.unwrap();
    let proof = log.consistency_proof(1000, 1002).unwrap();
    verify_consistency(1000, 1002, &proof, &second.root, &third.root).expect("consistency");
    engine.shutdown().unwrap();
    assert_eq!(
        db.column("SELECT size || ' ' || checkpoint_size FROM sealog_logs"),
        ["1002 1002"]
    );
    // The key is sealed, not in clear.
    let skey = log.signer().skey();
    let secret = skey.rsplit('+').next().unwrap();
    let stored = db.column("SELECT encode(sealed_key, 'escape') FROM sealog_logs");
    assert!(!stored[0].contains(secret) && !stored[0].contains("PRIVATE"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_lost_its_lease_appends_and_signs_nothing_more() {
    let db = TestDb::create();
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = node(&db, &a_dir);
    let a_log = a.create_log("p", "test.example/p").unwrap();
    a_log.append(events(1, 0..10)).await.unwrap();
    let signed = a_log.wait_checkpoint(10).await.unwrap();

    // B finds the log led by A and waits on standby.
    let b = node(&db, &b_dir);
    assert!(b.log("p").is_none());
    assert!(
        b.standby()["p"].contains("lease epoch 1"),
        "{:?}",
        b.standby()
    );

    // What a takeover after A's pause does to the row: a later epoch, held by someone else.
    db.execute(
        "UPDATE sealog_logs SET lease_epoch = lease_epoch + 1, lease_holder = 'elsewhere', \
         lease_expires = clock_timestamp() + interval '1500 milliseconds'",
    );
    let refused = a_log.append(events(1, 10..20)).await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Unavailable, "{refused}");
    assert!(refused.to_string().contains("writer lease"), "{refused}");
    assert_eq!(a_log.size(), 10);
    assert_eq!(db.column("SELECT size FROM sealog_logs"), ["10"]);
    // A serves the log no more and waits on standby like B; then it stops.
    let started = Instant::now();
    while a.log("p").is_some() {
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "A still serves the log"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        a.standby()["p"].contains("node elsewhere"),
        "{:?}",
        a.standby()
    );
    assert_eq!(
        a_log.checkpoint(),
        signed,
        "A signed nothing after losing the lease"
    );
    a.shutdown().unwrap();

    // Once that lease runs out, B takes the log over by itself and goes on from A's last
    // group.
    let b_log = loop {
        if let Some(log) = b.log("p") {
            break log;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "no takeover");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!((b_log.size(), b_log.checkpoint()), (10, signed.clone()));
    let appended = b_log.append(events(1, 5..15)).await.unwrap();
    assert_eq!(appended[0], Appended::Duplicate { index: 5 });
    assert!(matches!(appended[9], Appended::Accepted { index: 14, .. }));
    let next = b_log.wait_checkpoint(15).await.unwrap();
    let proof = b_log.consistency_proof(10, 15).unwrap();
    verify_consistency(10, 15, &proof, &signed.root, &next.root).expect("one history");
    assert_eq!(a_log.checkpoint(), signed);
    assert_eq!(db.column("SELECT checkpoint_size FROM sealog_logs"), ["15"]);
    b.shutdown().unwrap();
}

#[test]
fn a_clean_stop_hands_the_lease_over_and_a_wrong_store_key_is_refused() {
    let db = TestDb::create();
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = node(&db, &a_dir);
    a.create_log("p", "test.example/p").unwrap();
    let b = node(&db, &b_dir);
    assert!(b.log("p").is_none());
    a.shutdown().unwrap();
    let started = Instant::now();
    while b.log("p").is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "released lease not taken"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    b.shutdown().unwrap();
    drop(b);

    let wrong = Engine::open(b_dir.path(), db.options([8; 32], LEASE))
        .err()
        .unwrap();
    assert!(
        wrong
            .to_string()
            .contains("does not open with this store key"),
        "{wrong}"
    );
    assert_eq!(
        db.column("SELECT version FROM sealog_schema ORDER BY version"),
        ["1", "2", "3", "4"]
    );
    db.execute("INSERT INTO sealog_schema (version) VALUES (99)");
    let newer = Engine::open(b_dir.path(), db.options(KEY, LEASE))
        .err()
        .unwrap();
    assert!(
        newer.to_string().contains("newer than this Sealog knows"),
        "{newer}"
    );
}

/// The CA of the test server's certificate: Debian's PostgreSQL serves its snakeoil
/// certificate (for `localhost`) unless `SEALOG_TEST_PG_CA` names another.
fn server_ca() -> std::path::PathBuf {
    std::env::var_os("SEALOG_TEST_PG_CA")
        .map_or_else(|| "/etc/ssl/certs/ssl-cert-snakeoil.pem".into(), Into::into)
}

#[test]
fn tls_to_the_store_is_used_with_sslmode_require_and_verifies_the_server() {
    let db = TestDb::create();
    let dir = tempfile::tempdir().unwrap();
    let mut options = db.options(KEY, LEASE);
    let pg = options.postgres.as_mut().unwrap();
    pg.url = format!(
        "{}?sslmode=require",
        db.url().replace("127.0.0.1", "localhost")
    );
    let untrusted = Engine::open(dir.path(), options.clone()).err().unwrap();
    assert!(
        untrusted.to_string().contains("UnknownIssuer"),
        "{untrusted}"
    );

    options.postgres.as_mut().unwrap().ca_file = Some(server_ca());
    let engine = Engine::open(dir.path(), options).expect("TLS to a trusted server");
    engine.create_log("p", "test.example/p").unwrap();
    let encrypted = db.column(
        "SELECT bool_and(s.ssl)::text FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
         WHERE a.application_name = 'sealog' AND a.datname = current_database()",
    );
    assert_eq!(encrypted, ["true"], "every connection of the store is TLS");
    engine.shutdown().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_restored_to_an_older_point_is_refused_by_the_checkpoint_lock() {
    let db = TestDb::create();
    let (dir, lock) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let options = || sealog_storage::EngineOptions {
        checkpoint_lock: Some(lock.path().to_owned()),
        ..db.options(KEY, LEASE)
    };
    let engine = Engine::open(dir.path(), options()).unwrap();
    let log = engine.create_log("p", "test.example/p").unwrap();
    log.append(events(1, 0..10)).await.unwrap();
    log.wait_checkpoint(10).await.unwrap();
    db.execute("CREATE TABLE backup AS SELECT * FROM sealog_logs");
    log.append(events(1, 10..30)).await.unwrap();
    log.wait_checkpoint(30).await.unwrap();
    engine.shutdown().unwrap();
    drop((log, engine));

    // The backup restored: the rows as they were at size 10.
    db.execute(
        "DELETE FROM sealog_entries WHERE idx >= 10; \
         UPDATE sealog_logs l SET size = b.size, checkpoint_size = b.checkpoint_size, \
         checkpoint_note = b.checkpoint_note, checkpoint_micros = b.checkpoint_micros \
         FROM backup b WHERE l.id = b.id",
    );
    let refused = Engine::open(dir.path(), options()).err().unwrap();
    assert_eq!(refused.kind(), ErrorKind::Corrupt);
    assert!(refused.to_string().contains("does not extend"), "{refused}");
    // Without the lock the restore would go unnoticed here: the lock is what catches it.
    Engine::open(dir.path(), db.options(KEY, LEASE))
        .expect("opens without the lock")
        .shutdown()
        .unwrap();
}
