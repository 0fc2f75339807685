//! Appends: contiguous indices under concurrency, dedup at every age, backpressure.

mod engine_support;

use engine_support::*;
use sealog_core::leaf;
use sealog_storage::{AppendError, Appended, EngineOptions};
use std::collections::HashSet;
use std::time::Duration;

/// The server shares engines and logs across tasks and threads.
#[test]
fn handles_are_send_sync_clone() {
    fn check<T: Send + Sync + Clone + 'static>() {}
    check::<sealog_storage::Engine>();
    check::<sealog_storage::Log>();
}

/// Many tasks appending at once get unique, contiguous indices, and every result names the
/// leaf actually stored there.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_get_contiguous_unique_indices() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, log) = open_log(dir.path(), "a");
    let mut tasks = Vec::new();
    for task in 0..16u16 {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for call in 0..20u64 {
                let batch = events(task, call * 25..call * 25 + 25);
                let ids: Vec<u128> = batch.iter().map(|e| e.id).collect();
                let results = log.append(batch).await.expect("append");
                assert_eq!(results.len(), 25);
                out.extend(ids.into_iter().zip(results));
            }
            out
        }));
    }
    let mut seen = HashSet::new();
    for task in tasks {
        for (id, result) in task.await.unwrap() {
            let Appended::Accepted { index, leaf_hash } = result else {
                panic!("fresh id answered {result:?}");
            };
            assert!(seen.insert(index), "index {index} given twice");
            let stored = log.entries(index, index + 1).unwrap().pop().unwrap();
            assert_eq!(leaf::hash(&stored), leaf_hash);
            let parsed: serde_json::Value = serde_json::from_slice(&stored).unwrap();
            let event = &parsed["event"];
            assert_eq!(log.find_id(id).unwrap(), Some(index));
            assert!(event["id"].as_str().unwrap().starts_with("0190b3a4-"));
        }
    }
    assert_eq!(seen.len(), 16 * 500);
    assert_eq!(log.size(), 16 * 500);
    assert!(seen.iter().all(|&i| i < 16 * 500), "indices are 0..n");
    let stats = log.stats();
    assert_eq!(stats.accepted, 8000);
    assert!(stats.groups >= 1 && stats.groups <= 320);
    assert_eq!(
        stats.fsync_micros_buckets.iter().map(|b| b.1).sum::<u64>(),
        stats.groups
    );
    close(engine);
}

/// A duplicate is answered with the original's index within one call, across calls, after
/// the index caught up, and after a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_at_every_age() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, log) = open_log(dir.path(), "d");
    let mut batch = events(1, 0..3);
    batch.push(event(1, 1));
    let results = log.append(batch).await.unwrap();
    assert!(matches!(results[1], Appended::Accepted { index: 1, .. }));
    assert_eq!(results[3], Appended::Duplicate { index: 1 });
    assert_eq!(log.size(), 3);

    // Across calls, before the index has it (recent ids in memory).
    let results = log.append(vec![event(1, 2), event(1, 3)]).await.unwrap();
    assert_eq!(results[0], Appended::Duplicate { index: 2 });
    assert!(matches!(results[1], Appended::Accepted { index: 3, .. }));

    // After the index caught up, the index answers.
    wait_indexed(&log).await;
    let results = log.append(vec![event(1, 0), event(1, 4)]).await.unwrap();
    assert_eq!(results[0], Appended::Duplicate { index: 0 });
    assert!(matches!(results[1], Appended::Accepted { index: 4, .. }));
    assert_eq!(log.stats().duplicates, 3);
    close(engine);

    // After a restart.
    let (engine, log) = open_log(dir.path(), "d");
    let results = log.append(events(1, 0..6)).await.unwrap();
    for (n, r) in results.iter().enumerate().take(5) {
        assert_eq!(*r, Appended::Duplicate { index: n as u64 });
    }
    assert!(matches!(results[5], Appended::Accepted { index: 5, .. }));
    assert_eq!(log.find_id(event(1, 5).id).unwrap(), Some(5));
    assert_eq!(log.find_id(event(9, 9).id).unwrap(), None);
    close(engine);
}

/// A full queue answers `Busy` at once rather than dropping or blocking.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_queue_answers_busy() {
    let dir = tempfile::tempdir().unwrap();
    let options = EngineOptions {
        queue_entries: 10,
        group_max_entries: 1000,
        // The writer waits for its group to fill, so the first call stays queued.
        group_max_delay: Duration::from_millis(500),
        ..options()
    };
    let engine = sealog_storage::Engine::open(dir.path(), options).unwrap();
    let log = engine.create_log("b", "test.example/b").unwrap();
    let first = tokio::spawn({
        let log = log.clone();
        async move { log.append(events(2, 0..6)).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    match log.append(events(2, 6..12)).await {
        Err(AppendError::Busy { retry_after }) => assert!(retry_after > Duration::ZERO),
        other => panic!("expected Busy, got {other:?}"),
    }
    assert_eq!(first.await.unwrap().unwrap().len(), 6);
    // Once drained, the same events go in.
    let results = log.append(events(2, 6..12)).await.unwrap();
    assert!(matches!(results[0], Appended::Accepted { index: 6, .. }));
    close(engine);
}

/// After shutdown, appends answer `Unavailable`; an empty append is a no-op.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_refuses_later_appends() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, log) = open_log(dir.path(), "s");
    assert!(log.append(Vec::new()).await.unwrap().is_empty());
    log.append(events(3, 0..10)).await.unwrap();
    engine.shutdown().unwrap();
    assert_eq!(
        log.checkpoint().size,
        10,
        "shutdown signs a final checkpoint"
    );
    assert!(matches!(
        log.append(events(3, 10..11)).await,
        Err(AppendError::Unavailable(_))
    ));
}
