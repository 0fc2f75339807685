//! Helpers shared by the `engine_*` tests: events, engines in temp dirs, and raw file edits.

#![allow(dead_code)] // each test file uses a different subset

use sealog_core::event::{self, Limits, ValidatedEvent};
use sealog_storage::{Engine, EngineOptions, Log};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A valid event whose id is derived from `(series, n)`, in session `s-<series>` at seq `n`.
pub fn event(series: u16, n: u64) -> ValidatedEvent {
    let text = format!(
        r#"{{"id":"0190b3a4-{series:04x}-7cc1-9a53-{n:012x}","ts":"2026-11-22T10:00:00.250Z",
            "agent":{{"id":"agent-{series}"}},"action":"tool_call","status":"ok",
            "session":{{"id":"s-{series}","seq":{n}}},"attributes":{{"pad":"{pad}"}}}}"#,
        pad = "x".repeat(100)
    );
    event::parse(text.as_bytes(), &Limits::default()).expect("valid test event")
}

/// Events `ns` of `series`.
pub fn events(series: u16, ns: std::ops::Range<u64>) -> Vec<ValidatedEvent> {
    ns.map(|n| event(series, n)).collect()
}

/// Options that checkpoint quickly, for tests.
pub fn options() -> EngineOptions {
    EngineOptions {
        checkpoint_interval: Duration::from_millis(50),
        ..EngineOptions::default()
    }
}

/// Opens the engine in `dir` with test options.
pub fn open(dir: &Path) -> Engine {
    Engine::open(dir, options()).expect("open engine")
}

/// Opens the engine in `dir` and creates (or returns) log `name`.
pub fn open_log(dir: &Path, name: &str) -> (Engine, Log) {
    let engine = open(dir);
    let log = match engine.log(name) {
        Some(log) => log,
        None => engine
            .create_log(name, &format!("test.example/{name}"))
            .expect("create log"),
    };
    (engine, log)
}

/// Shuts the engine down and drops it, releasing the directory lock.
pub fn close(engine: Engine) {
    engine.shutdown().expect("shutdown");
    drop(engine);
}

/// The path of the (only, in small tests) last segment of log `name`.
pub fn last_segment(dir: &Path, name: &str) -> PathBuf {
    let entries = dir.join("logs").join(name).join("entries");
    let mut segs: Vec<PathBuf> = std::fs::read_dir(entries)
        .expect("entries dir")
        .map(|e| e.expect("dir entry").path())
        .collect();
    segs.sort();
    segs.pop().expect("a segment")
}

/// One segment record as the engine writes it: `len ‖ crc32(len ‖ data) ‖ data`.
pub fn record(data: &[u8]) -> Vec<u8> {
    let len = (data.len() as u32).to_le_bytes();
    let mut crc = crc32fast::Hasher::new();
    crc.update(&len);
    crc.update(data);
    let mut out = len.to_vec();
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    out.extend_from_slice(data);
    out
}

/// Waits until the log's index has caught up with its size.
pub async fn wait_indexed(log: &Log) {
    for _ in 0..500 {
        if log.stats().index_watermark == log.size() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the index did not catch up: {:?}", log.stats());
}
