//! The index's read side: every filter and combination against a brute-force answer, cursor
//! walks under concurrent ingest, session order, bounded scans.

mod index_support;

use index_support::{Ev, TempDir, apply_all, events};
use sealog_storage::index::{IdIndex, IndexError, IndexOptions, MAX_LIMIT, Query};

/// Every entry matching `q` among `evs` (all of which are indexed), newest first.
fn expected(evs: &[Ev], q: &Query) -> Vec<u64> {
    let is = |want: &Option<String>, have: &Option<String>| want.is_none() || want == have;
    let mut out: Vec<u64> = (0..evs.len() as u64)
        .filter(|&i| {
            let e = &evs[i as usize];
            is(&q.agent, &e.agent)
                && is(&q.session, &e.session)
                && is(&q.action, &e.action)
                && is(&q.status, &e.status)
                && q.since.is_none_or(|s| e.ts.is_some_and(|t| t >= s))
                && q.until.is_none_or(|u| e.ts.is_some_and(|t| t < u))
        })
        .collect();
    out.reverse();
    out
}

/// Follows `next` cursors to the end; checks every page's watermark and order.
fn walk(index: &IdIndex, q: &Query) -> Vec<u64> {
    let mut q = q.clone();
    let mut all = Vec::new();
    loop {
        let page = index.query(&q).unwrap();
        assert_eq!(page.watermark, index.watermark());
        assert!(page.indices.len() <= q.limit.max(1));
        all.extend(&page.indices);
        match page.next {
            Some(next) => q.cursor = Some(next),
            None => return all,
        }
    }
}

fn some(s: &str) -> Option<String> {
    Some(s.to_owned())
}

#[test]
fn every_filter_and_combination_returns_exactly_the_matches() {
    let dir = TempDir::new("index-filters");
    let index = IdIndex::open(dir.path()).unwrap();
    let evs = events(3_000, 7);
    apply_all(&index, &evs, 333);
    let agents = [None, some("agent-1"), some("agent-4"), some("agent-9")];
    let sessions = [None, some("session-3"), some("session-11")];
    let actions = [None, some("human_oversight"), some("llm_call")];
    let statuses = [None, some("error"), some("ok")];
    // Bounds equal to real times test both ends of the interval; the last one equals the
    // newest time of one chunk (batch), which tests the zone-map bounds too.
    let ts = |i: usize| evs[i..].iter().find_map(|e| e.ts).unwrap();
    let chunk_max = evs[333..666].iter().filter_map(|e| e.ts).max();
    let times = [
        (None, None),
        (Some(ts(1_500)), None),
        (None, Some(ts(700))),
        (Some(ts(1_000)), Some(ts(1_400))),
        (chunk_max, None),
    ];
    let mut checked = 0;
    for agent in &agents {
        for session in &sessions {
            for action in &actions {
                for status in &statuses {
                    for &(since, until) in &times {
                        let q = Query {
                            agent: agent.clone(),
                            session: session.clone(),
                            action: action.clone(),
                            status: status.clone(),
                            since,
                            until,
                            limit: 37,
                            cursor: None,
                            terms: Vec::new(),
                        };
                        assert_eq!(walk(&index, &q), expected(&evs, &q), "{q:?}");
                        checked += 1;
                    }
                }
            }
        }
    }
    assert_eq!(checked, 540);
    let one_page = index
        .query(&Query {
            limit: 5,
            ..Query::default()
        })
        .unwrap();
    assert_eq!(one_page.indices, [2_999, 2_998, 2_997, 2_996, 2_995]);
    assert_eq!(one_page.next.as_deref(), Some("i2995"));
}

#[test]
fn a_cursor_walk_sees_each_entry_once_while_ingest_goes_on() {
    let dir = TempDir::new("index-cursor");
    let index = IdIndex::open(dir.path()).unwrap();
    let evs = events(4_000, 8);
    apply_all(&index, &evs[..2_000], 500);
    for q in [
        Query::default(),
        Query {
            agent: some("agent-2"),
            ..Query::default()
        },
        Query {
            status: some("error"),
            ..Query::default()
        },
    ] {
        let q = Query { limit: 23, ..q };
        let mut page = index.query(&q).unwrap();
        let start_watermark = page.watermark;
        let mut seen = page.indices.clone();
        let mut ingested = index.watermark() as usize;
        while let Some(next) = page.next.take() {
            // Ingest between pages: new entries are newer than the walk, never in it.
            if ingested < evs.len() {
                apply_all(&index, &evs[ingested..ingested + 100], 100);
                ingested += 100;
            }
            page = index
                .query(&Query {
                    cursor: Some(next),
                    ..q.clone()
                })
                .unwrap();
            seen.extend(&page.indices);
        }
        assert_eq!(
            seen,
            expected(&evs[..start_watermark as usize], &q),
            "{q:?}"
        );
    }
}

#[test]
fn a_session_reads_in_seq_order() {
    let dir = TempDir::new("index-session");
    let index = IdIndex::open(dir.path()).unwrap();
    // Logged out of seq order, across batches, interleaved with another session.
    let seqs = [3u64, 0, 7, 1, 2, 6, 5, 4, 9, 8];
    let evs: Vec<Ev> = seqs
        .iter()
        .enumerate()
        .flat_map(|(i, &seq)| {
            let mine = Ev {
                id: index_support::id(2 * i as u64),
                session: some("s"),
                seq: Some(seq),
                ..Ev::default()
            };
            let other = Ev {
                id: index_support::id(2 * i as u64 + 1),
                session: some("t"),
                seq: Some(i as u64),
                ..Ev::default()
            };
            [mine, other]
        })
        .collect();
    apply_all(&index, &evs, 3);
    let mut cursor = None;
    let mut got = Vec::new();
    loop {
        let page = index.session("s", cursor.as_deref(), 3).unwrap();
        assert!(page.entries.len() <= 3);
        assert_eq!(page.watermark, 20);
        got.extend(page.entries.iter().map(|e| (e.seq.unwrap(), e.index)));
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let mut want: Vec<(u64, u64)> = seqs
        .iter()
        .enumerate()
        .map(|(i, &s)| (s, 2 * i as u64))
        .collect();
    want.sort();
    assert_eq!(got, want);
    assert!(
        index
            .session("nobody", None, 10)
            .unwrap()
            .entries
            .is_empty()
    );
    // The general query with a session filter is newest first, like every query.
    let page = index
        .query(&Query {
            session: some("s"),
            limit: 4,
            ..Query::default()
        })
        .unwrap();
    assert_eq!(page.indices, [18, 16, 14, 12]);
}

#[test]
fn a_bounded_scan_returns_short_pages_that_still_cover_everything() {
    let dir = TempDir::new("index-budget");
    let options = IndexOptions {
        scan_entries: 50,
        ..IndexOptions::default()
    };
    let index = IdIndex::open_with(dir.path(), options).unwrap();
    let evs = events(2_000, 9);
    apply_all(&index, &evs, 40);
    for q in [
        Query {
            action: some("human_oversight"),
            status: some("blocked"),
            limit: 1_000,
            ..Query::default()
        },
        Query {
            agent: some("agent-3"),
            action: some("decision"),
            limit: 1_000,
            ..Query::default()
        },
    ] {
        let first = index.query(&q).unwrap();
        let want = expected(&evs, &q);
        assert!(
            first.indices.len() < want.len(),
            "the budget must cut the first page short"
        );
        assert!(first.next.is_some());
        assert_eq!(walk(&index, &q), want, "{q:?}");
    }
}

#[test]
fn limits_cursors_and_unknown_names() {
    let dir = TempDir::new("index-limits");
    let index = IdIndex::open(dir.path()).unwrap();
    let evs = events(2_500, 10);
    apply_all(&index, &evs, 1_000);
    assert_eq!(
        index
            .query(&Query {
                limit: 5_000,
                ..Query::default()
            })
            .unwrap()
            .indices
            .len(),
        MAX_LIMIT
    );
    assert_eq!(index.query(&Query::default()).unwrap().indices.len(), 100);
    let unknown = index
        .query(&Query {
            agent: some("nobody"),
            ..Query::default()
        })
        .unwrap();
    assert_eq!(
        (unknown.indices.len(), unknown.next, unknown.watermark),
        (0, None, 2_500)
    );
    let beyond = index
        .query(&Query {
            cursor: some("i999999"),
            limit: 1,
            ..Query::default()
        })
        .unwrap();
    assert_eq!(
        beyond.indices,
        [2_499],
        "a cursor past the watermark starts at the watermark"
    );
    for bad in ["", "i", "ix", "s1.2", "-3"] {
        let err = index
            .query(&Query {
                cursor: some(bad),
                ..Query::default()
            })
            .unwrap_err();
        assert!(matches!(err, IndexError::BadCursor(_)), "{bad}: {err}");
    }
    assert!(matches!(
        index.session("session-1", Some("i4"), 5),
        Err(IndexError::BadCursor(_))
    ));
    let empty = IdIndex::open(TempDir::new("index-empty").path())
        .unwrap()
        .query(&Query::default())
        .unwrap();
    assert_eq!(
        (empty.indices.len(), empty.next, empty.watermark),
        (0, None, 0)
    );
}
