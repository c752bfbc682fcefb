//! Group commit of appends on PostgreSQL (issue 14): appends to several cases waiting at the same time are
//! committed in one transaction, and each still gets the outcome it would get alone: its case's next version,
//! a conflict when its case is at another version than it expected, or missing; only the written cases' rows
//! are stored, and each written case is notified once with its new version.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::NaiveDate;
use pf_core::{Case, Model, Signal};
use pf_server::pg::PgStore;
use pf_server::store::Write;

#[path = "common/backend.rs"]
mod backend;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn signals(case: usize, round: usize, n: usize) -> Vec<Signal> {
    (0..n)
        .map(|i| {
            Signal::new(
                "talks_held",
                d("2017-03-01") + chrono::Days::new((case * 7 + i) as u64),
            )
            .with_id(format!("c{case}-r{round}-{i}"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_to_many_cases_keep_their_own_outcomes() {
    if backend::skip_postgres("concurrent_appends_to_many_cases_keep_their_own_outcomes") {
        return;
    }
    let url = backend::shared().unwrap().new_database();
    let store = PgStore::connect(&url).await.unwrap();
    let model = Model::default_model();
    const CASES: usize = 12;
    for c in 0..CASES {
        let case = Case::new(
            format!("case-{c}"),
            "USA",
            "PRK",
            d("2017-01-20"),
            d("2021-01-20"),
        )
        .unwrap();
        assert!(store.insert_case(&case, &[]).await.unwrap());
    }
    let (tx, mut notes) = tokio::sync::mpsc::channel(1024);
    let listener = tokio::spawn(pf_server::pg::listen(store.config().clone(), tx));
    // The listener says it is listening (None) before any notification can be missed.
    assert_eq!(notes.recv().await, Some(None));

    // Round 1: every case from version 1, all at once, with an append to a missing case among them.
    let mut calls = Vec::new();
    for c in 0..CASES {
        let store = store.clone();
        calls.push(tokio::spawn(async move {
            store.append(&format!("case-{c}"), 1, &signals(c, 1, 3)).await
        }));
    }
    let missing = {
        let store = store.clone();
        tokio::spawn(async move { store.append("no-such-case", 1, &signals(99, 1, 2)).await })
    };
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap(), Write::Done(2));
    }
    assert_eq!(missing.await.unwrap().unwrap(), Write::Missing);

    // Round 2: two appends to each case, both expecting version 2: one is written, the other conflicts.
    let mut calls = Vec::new();
    for c in 0..CASES {
        for k in 0..2 {
            let store = store.clone();
            calls.push((
                c,
                tokio::spawn(
                    async move { store.append(&format!("case-{c}"), 2, &signals(c, 2 + k, 2)).await },
                ),
            ));
        }
    }
    let mut outcomes: BTreeMap<usize, Vec<Write>> = BTreeMap::new();
    for (c, call) in calls {
        outcomes.entry(c).or_default().push(call.await.unwrap().unwrap());
    }
    for (c, mut o) in outcomes {
        o.sort_by_key(|w| format!("{w:?}"));
        assert_eq!(o, vec![Write::Conflict, Write::Done(3)], "case-{c}");
    }
    // Stale versions conflict in a group as alone.
    assert_eq!(
        store.append("case-0", 1, &signals(0, 9, 1)).await.unwrap(),
        Write::Conflict
    );

    let pf_server::pg::AppendCounts { groups, grouped, .. } = store.append_counts();
    assert!(
        groups >= 1 && grouped >= 2,
        "no group of appends was committed: {groups} groups"
    );

    // Each case holds its round-1 signals and those of the one round-2 append written, at version 3.
    for c in 0..CASES {
        let stored = store
            .load_case(&format!("case-{c}"), &model)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.version, 3, "case-{c}");
        let ids: Vec<String> = stored
            .case
            .iter_signals()
            .filter_map(|s| s.id.as_deref().map(str::to_owned))
            .collect();
        assert_eq!(ids.len(), 5, "case-{c}: {ids:?}");
        assert_eq!(
            ids.iter().filter(|i| i.contains("-r1-")).count(),
            3,
            "case-{c}: {ids:?}"
        );
        let r2 = ids.iter().filter(|i| i.contains("-r2-")).count();
        let r3 = ids.iter().filter(|i| i.contains("-r3-")).count();
        assert!((r2, r3) == (2, 0) || (r2, r3) == (0, 2), "case-{c}: {ids:?}");
    }

    // Every written version of every case is notified once.
    let mut seen: BTreeMap<(String, u64), usize> = BTreeMap::new();
    let want = CASES * 2;
    while seen.len() < want {
        match tokio::time::timeout(Duration::from_secs(30), notes.recv()).await {
            Ok(Some(Some(n))) => *seen.entry(n).or_default() += 1,
            Ok(Some(None)) => panic!("the notification connection was lost"),
            Ok(None) | Err(_) => panic!("notifications missing: got {seen:?}"),
        }
    }
    for c in 0..CASES {
        for v in [2, 3] {
            assert_eq!(
                seen.get(&(format!("case-{c}"), v)),
                Some(&1),
                "case-{c} version {v}"
            );
        }
    }
    listener.abort();
}
