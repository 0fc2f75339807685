//! The index's write side: apply, watermark, dedup lookups, odd leaves, rebuild.

mod index_support;

use index_support::{Ev, T0, TempDir, apply_all, events, id};
use sealog_storage::index::{IdIndex, IndexError, IndexOptions, Query};

fn leaves(events: &[Ev]) -> Vec<Vec<u8>> {
    events.iter().map(Ev::leaf).collect()
}

fn refs(leaves: &[Vec<u8>]) -> Vec<&[u8]> {
    leaves.iter().map(Vec::as_slice).collect()
}

#[test]
fn lookups_return_exact_indices() {
    let dir = TempDir::new("index-roundtrip");
    let index = IdIndex::open(dir.path()).unwrap();
    let evs = events(2_500, 1);
    apply_all(&index, &evs, 700);
    assert_eq!(index.watermark(), 2_500);
    // Out of order, with unknown ids mixed in: answers come back in the order asked.
    let asked = [
        evs[2_499].id,
        id(9_999_999),
        evs[0].id,
        evs[1_234].id,
        evs[700].id,
        7,
    ];
    let found = index.lookup_ids(&asked).unwrap();
    assert_eq!(
        found,
        [Some(2_499), None, Some(0), Some(1_234), Some(700), None]
    );
    let all: Vec<u128> = evs.iter().map(|e| e.id).collect();
    let found = index.lookup_ids(&all).unwrap();
    assert!(found.iter().enumerate().all(|(i, f)| *f == Some(i as u64)));
    assert_eq!(index.lookup_ids(&[]).unwrap(), []);
}

#[test]
fn watermark_and_data_survive_reopen() {
    let dir = TempDir::new("index-reopen");
    let evs = events(1_000, 2);
    {
        let index = IdIndex::open(dir.path()).unwrap();
        assert_eq!(index.watermark(), 0);
        apply_all(&index, &evs[..600], 250);
    }
    let index = IdIndex::open(dir.path()).unwrap();
    assert_eq!(index.watermark(), 600);
    assert_eq!(
        index.lookup_ids(&[evs[599].id, evs[600].id]).unwrap(),
        [Some(599), None]
    );
    apply_all(&index, &evs[600..], 250);
    assert_eq!(index.watermark(), 1_000);
    assert_eq!(index.lookup_ids(&[evs[999].id]).unwrap(), [Some(999)]);
}

#[test]
fn apply_at_the_wrong_place_is_refused_and_writes_nothing() {
    let dir = TempDir::new("index-order");
    let index = IdIndex::open(dir.path()).unwrap();
    let evs = events(20, 3);
    let l = leaves(&evs);
    index.apply(0, &refs(&l[..10])).unwrap();
    for first in [0, 9, 11, 1_000] {
        match index.apply(first, &refs(&l[10..])) {
            Err(IndexError::OutOfOrder { expected: 10, got }) => assert_eq!(got, first),
            other => panic!("apply at {first}: {other:?}"),
        }
    }
    assert_eq!(index.watermark(), 10);
    assert_eq!(index.lookup_ids(&[evs[10].id]).unwrap(), [None]);
    index.apply(10, &[]).unwrap();
    assert_eq!(index.watermark(), 10);
    index.apply(10, &refs(&l[10..])).unwrap();
    assert_eq!(index.lookup_ids(&[evs[10].id]).unwrap(), [Some(10)]);
}

#[test]
fn leaves_missing_fields_are_indexed_without_them() {
    let dir = TempDir::new("index-missing");
    let index = IdIndex::open(dir.path()).unwrap();
    let full = Ev {
        id: id(1),
        ts: Some(T0),
        agent: Some("a".into()),
        action: Some("decision".into()),
        status: Some("ok".into()),
        session: Some("s".into()),
        seq: Some(0),
    };
    let odd: Vec<Vec<u8>> = vec![
        full.leaf(),
        Ev {
            id: id(2),
            ..Ev::default()
        }
        .leaf(), // only an id
        b"not json at all".to_vec(),
        format!(
            r#"{{"event":{{"agent":"flat","id":"{}","status":7,"ts":"noon"}}}}"#,
            "0190c3e2-6f4a-7b3c-8d2e-1f0a9b8c7d6e"
        )
        .into_bytes(),
        Ev {
            session: Some("s".into()),
            seq: None,
            ..full.clone()
        }
        .leaf(), // session without seq
        Vec::new(),
    ];
    index.apply(0, &refs(&odd)).unwrap();
    assert_eq!(index.watermark(), 6, "the index never refuses to advance");
    let odd_id = 0x0190c3e2_6f4a_7b3c_8d2e_1f0a9b8c7d6e_u128;
    assert_eq!(
        index.lookup_ids(&[id(1), id(2), odd_id]).unwrap(),
        [Some(0), Some(1), Some(3)]
    );
    let q = |q: Query| index.query(&Query { limit: 100, ..q }).unwrap().indices;
    assert_eq!(q(Query::default()), [5, 4, 3, 2, 1, 0]);
    assert_eq!(
        q(Query {
            agent: Some("a".into()),
            ..Query::default()
        }),
        [4, 0]
    );
    assert_eq!(
        q(Query {
            status: Some("ok".into()),
            ..Query::default()
        }),
        [4, 0]
    );
    assert_eq!(
        q(Query {
            since: Some(0),
            ..Query::default()
        }),
        [4, 0],
        "no ts, no time match"
    );
    let session = index.session("s", None, 10).unwrap();
    let order: Vec<_> = session.entries.iter().map(|e| (e.seq, e.index)).collect();
    assert_eq!(
        order,
        [(None, 4), (Some(0), 0)],
        "a missing seq sorts first"
    );
}

#[test]
fn a_repeated_id_keeps_its_first_index() {
    // The engine dedups, so this should not happen; if it does, dedup answers with the
    // original, and queries still see both leaves (the log holds both).
    let dir = TempDir::new("index-dup");
    let index = IdIndex::open(dir.path()).unwrap();
    let e = Ev {
        id: id(5),
        agent: Some("a".into()),
        ..Ev::default()
    };
    index.apply(0, &[&e.leaf(), &e.leaf()]).unwrap();
    index.apply(2, &[&e.leaf()]).unwrap();
    assert_eq!(index.lookup_ids(&[id(5)]).unwrap(), [Some(0)]);
    let page = index
        .query(&Query {
            agent: Some("a".into()),
            ..Query::default()
        })
        .unwrap();
    assert_eq!(page.indices, [2, 1, 0]);
}

#[test]
fn the_id_filter_never_hides_an_indexed_id() {
    // A tiny filter is rebuilt many times, and reopening starts a new one above the newest id.
    let dir = TempDir::new("index-filter");
    let options = IndexOptions {
        id_filter: 64,
        ..IndexOptions::default()
    };
    let evs = events(3_000, 4);
    let all: Vec<u128> = evs.iter().map(|e| e.id).collect();
    {
        let index = IdIndex::open_with(dir.path(), options.clone()).unwrap();
        for (k, group) in evs[..2_000].chunks(50).enumerate() {
            let l = leaves(group);
            index.apply(index.watermark(), &refs(&l)).unwrap();
            let seen = (k + 1) * 50;
            let found = index.lookup_ids(&all[..seen + 50]).unwrap();
            assert!(
                found[..seen]
                    .iter()
                    .enumerate()
                    .all(|(i, f)| *f == Some(i as u64))
            );
            assert!(found[seen..].iter().all(Option::is_none));
        }
    }
    let index = IdIndex::open_with(dir.path(), options).unwrap();
    apply_all(&index, &evs[2_000..], 300);
    let found = index.lookup_ids(&all).unwrap();
    assert!(found.iter().enumerate().all(|(i, f)| *f == Some(i as u64)));
}

#[test]
fn destroy_removes_only_the_index() {
    let dir = TempDir::new("index-destroy");
    let other = dir.path().join("engine-file");
    std::fs::write(&other, b"keep me").unwrap();
    let evs = events(100, 5);
    {
        let index = IdIndex::open(dir.path()).unwrap();
        apply_all(&index, &evs, 100);
    }
    IdIndex::destroy(dir.path()).unwrap();
    IdIndex::destroy(dir.path()).unwrap(); // nothing left to remove is fine
    assert_eq!(std::fs::read(&other).unwrap(), b"keep me");
    let index = IdIndex::open(dir.path()).unwrap();
    assert_eq!(index.watermark(), 0);
    assert_eq!(index.lookup_ids(&[evs[0].id]).unwrap(), [None]);
    apply_all(&index, &evs, 30);
    assert_eq!(index.lookup_ids(&[evs[99].id]).unwrap(), [Some(99)]);
}

#[test]
fn lookups_run_while_a_batch_is_applied() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<IdIndex>();
    let dir = TempDir::new("index-threads");
    let index = IdIndex::open(dir.path()).unwrap();
    let evs = events(4_000, 6);
    let all: Vec<u128> = evs.iter().map(|e| e.id).collect();
    std::thread::scope(|s| {
        s.spawn(|| apply_all(&index, &evs, 200));
        loop {
            // Every id below a watermark read before the lookup must be found.
            let seen = index.watermark() as usize;
            let found = index.lookup_ids(&all[..seen]).unwrap();
            assert!(found.iter().enumerate().all(|(i, f)| *f == Some(i as u64)));
            if seen == all.len() {
                break;
            }
        }
    });
}
