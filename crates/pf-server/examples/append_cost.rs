//! The cost of appending one signal to a large case against the same append to a small one, in the same run,
//! through the service's state on an SQLite store (the write committed with the store's durability), without
//! the reply's forecast (`append`) and with it (`append+forecast`, what AppendSignals does: the forecast over
//! the whole history, which makes the contiguous copy of the new version's signals).
//!
//! Three phases, each alternating the two cases: `case_append` is the in-memory step alone (clone the current
//! case and `Case::append` one signal: what the write costs before the store); `append` is the whole write with
//! no forecast made meanwhile; `append_forecast` is the write followed by the reply's forecast (whose contiguous
//! copy of the signals is then freed by the next write).
//!
//! `append_cost [BIG] [SMALL] [ROUNDS]` (defaults 100000, 100, 200). Prints one JSON line per case size and the
//! ratios of the p50s, big/small.

use std::sync::Arc;
use std::time::Instant;

use chrono::{Days, NaiveDate};
use pf_core::{Case, Model, Signal};
use pf_server::State;
use pf_server::store::Store;

const TYPES: [&str; 4] = [
    "sanctions_tightened",
    "talks_held",
    "talks_refused",
    "summit_held",
];

fn start() -> NaiveDate {
    NaiveDate::from_ymd_opt(2017, 1, 20).expect("a date")
}

fn signal(tag: &str, n: usize) -> Signal {
    // Spread over the span, so that most appends land inside the history, not at its end.
    let date = start() + Days::new(1 + ((n * 7919) % 1400) as u64);
    Signal::new(TYPES[n % TYPES.len()], date).with_id(format!("{tag}-{n}"))
}

fn header(id: &str) -> anyhow::Result<Case> {
    Ok(Case::new(
        id,
        "USA",
        "PRK",
        start(),
        NaiveDate::from_ymd_opt(2021, 1, 20).expect("a date"),
    )?)
}

fn p50(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a: Vec<usize> = std::env::args()
        .skip(1)
        .map(|s| s.parse())
        .collect::<Result<_, _>>()?;
    let big = a.first().copied().unwrap_or(100_000);
    let small = a.get(1).copied().unwrap_or(100);
    let rounds = a.get(2).copied().unwrap_or(200);
    let dir = tempfile::tempdir()?;
    let store = Store::open(&dir.path().join("append_cost.sqlite3"))?;
    let state = Arc::new(State::open(
        store,
        Model::default_model(),
        Model::default_toml().to_owned(),
    )?);
    let as_of = NaiveDate::from_ymd_opt(2020, 12, 31).expect("a date");
    let mut rows = Vec::new();
    for (id, n) in [("small", small), ("big", big)] {
        state
            .create(header(id)?, (0..n).map(|i| signal(id, i)).collect())
            .await?;
    }
    let names = [("small", small), ("big", big)];
    // Phase 1: the in-memory step alone.
    let mut times: Vec<[Vec<f64>; 3]> = vec![Default::default(), Default::default()];
    for r in 0..rounds {
        for (k, (id, n)) in names.into_iter().enumerate() {
            let case = state.case(id).await?;
            let s = signal(&format!("{id}-mem"), n + r);
            let t = Instant::now();
            let mut next = (*case).clone();
            let report = next.append([s], state.model.as_ref())?;
            times[k][0].push(t.elapsed().as_secs_f64() * 1e6);
            anyhow::ensure!(report.added == 1, "expected one signal added, found {report:?}");
            std::hint::black_box(next);
        }
    }
    // Phase 2: whole writes, no forecast; phase 3: whole writes and the reply's forecast.
    let mut m = 0;
    for phase in [1, 2] {
        for _ in 0..rounds {
            m += 1;
            for (k, (id, n)) in names.into_iter().enumerate() {
                let s = signal(id, n + m);
                let t = Instant::now();
                let out = state.append(id, vec![s]).await?;
                anyhow::ensure!(
                    out.report.added == 1,
                    "expected one signal added, found {:?}",
                    out.report
                );
                if phase == 2 {
                    std::hint::black_box(state.model.forecast(&out.case, as_of)?);
                }
                times[k][phase].push(t.elapsed().as_secs_f64() * 1e6);
            }
        }
    }
    for (k, (id, n)) in names.into_iter().enumerate() {
        let [mut mem, mut append, mut with_forecast] = std::mem::take(&mut times[k]);
        let row = (p50(&mut mem), p50(&mut append), p50(&mut with_forecast));
        println!(
            "{{\"case\":\"{id}\",\"signals\":{n},\"rounds\":{rounds},\"case_append_p50_us\":{:.1},\"append_p50_us\":{:.0},\"append_forecast_p50_us\":{:.0}}}",
            row.0, row.1, row.2
        );
        rows.push(row);
    }
    println!(
        "{{\"ratio_big_small_case_append\":{:.2},\"ratio_big_small_append\":{:.2},\"ratio_big_small_append_forecast\":{:.2}}}",
        rows[1].0 / rows[0].0,
        rows[1].1 / rows[0].1,
        rows[1].2 / rows[0].2
    );
    state.close()?;
    Ok(())
}
