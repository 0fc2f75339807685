//! Every engine failure carries the kind a caller answers by: a taken name is "already
//! exists", a bad name or option "invalid", a data directory in use "busy", a missing entry
//! "not found".

use sealog_storage::{Engine, EngineOptions, ErrorKind, ReadError};
use std::time::Duration;

fn kind_of(r: Result<Engine, sealog_storage::EngineError>) -> ErrorKind {
    r.err().expect("the open is refused").kind()
}

#[test]
fn creating_a_taken_or_invalid_log_name_says_which() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path(), EngineOptions::default()).unwrap();
    engine.create_log("a", "test/a").unwrap();
    let taken = engine.create_log("a", "test/a").err().unwrap();
    assert_eq!(taken.kind(), ErrorKind::AlreadyExists, "{taken}");
    assert!(taken.to_string().contains("already exists"), "{taken}");
    let bad = engine.create_log("Bad Name", "test/bad").err().unwrap();
    assert_eq!(bad.kind(), ErrorKind::Invalid, "{bad}");
    let origin = engine.create_log("b", "").err().unwrap();
    assert_eq!(origin.kind(), ErrorKind::Invalid, "{origin}");
    // A refused origin leaves nothing behind: the name is still free.
    engine.create_log("b", "test/b").unwrap();
    engine.shutdown().unwrap();
}

#[test]
fn a_data_directory_in_use_is_busy() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path(), EngineOptions::default()).unwrap();
    assert_eq!(
        kind_of(Engine::open(dir.path(), EngineOptions::default())),
        ErrorKind::Busy
    );
    engine.shutdown().unwrap();
}

#[test]
fn the_engine_refuses_options_it_cannot_run_with() {
    let dir = tempfile::tempdir().unwrap();
    let bad = [
        EngineOptions {
            group_max_entries: 0,
            ..EngineOptions::default()
        },
        EngineOptions {
            queue_entries: 0,
            ..EngineOptions::default()
        },
        EngineOptions {
            checkpoint_interval: Duration::ZERO,
            ..EngineOptions::default()
        },
        EngineOptions {
            checkpoint_lock: Some(dir.path().join("lock")),
            ..EngineOptions::default()
        },
    ];
    for options in bad {
        let e = Engine::open(dir.path(), options.clone()).err().unwrap();
        assert_eq!(e.kind(), ErrorKind::Invalid, "{options:?}: {e}");
    }
    // Nothing was created by a refused open.
    assert!(!dir.path().join("logs").exists());
}

#[tokio::test]
async fn an_entry_beyond_the_log_is_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path(), EngineOptions::default()).unwrap();
    let log = engine.create_log("a", "test/a").unwrap();
    for index in [0, u64::MAX] {
        let e = log.entry(index).unwrap_err();
        assert!(matches!(e, ReadError::NotFound(_)), "{e}");
        assert_eq!(e.kind(), ErrorKind::NotFound);
    }
    engine.shutdown().unwrap();
}
