//! The cost of appending one signal to a large case against the same append to a small one, in the same run,
//! through the service's state on an SQLite store (the write committed with the store's durability), without
//! the reply's forecast (`append`) and with it, as AppendSignals makes it: before issue 14 a full forecast over the
//! whole history (`append_full_forecast`), now the forecast through the case's checkpoints (`State::forecast`),
//! for an append in date order (`append_forecast`) and one dated anywhere in the history
//! (`append_forecast_out_of_order`); beside a full `Model::forecast` of the case alone (`full_forecast`).
//!
//! Phases, each alternating the two cases: `case_append` is the in-memory step alone (clone the current case
//! and `Case::append` one signal: what the write costs before the store); `append` is the whole write with no
//! forecast; `append_full_forecast` the write and `Model::forecast` of the new version; `append_forecast` the
//! write (of a signal dated after the case's last) and the incremental forecast; `append_forecast_out_of_order`
//! the same with a signal dated anywhere; `full_forecast` a `Model::forecast` of the case.
//!
//! `append_cost [BIG] [SMALL] [ROUNDS]` (defaults 100000, 100, 200). Prints one JSON line per case size and the
//! ratios of the p50s: big/small, and for the big case each against its full forecast.

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
    // Spread over the span's first 1,400 days, so that most appends land inside the history, not at its end.
    let date = start() + Days::new(1 + ((n * 7919) % 1400) as u64);
    Signal::new(TYPES[n % TYPES.len()], date).with_id(format!("{tag}-{n}"))
}

/// A signal dated after every one of [`signal`]'s (the `k`-th of the in-date-order appends).
fn late_signal(tag: &str, k: usize) -> Signal {
    let date = start() + Days::new(1401 + (k / 32) as u64);
    Signal::new(TYPES[k % TYPES.len()], date).with_id(format!("{tag}-late-{k}"))
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
    let metrics = Arc::new(pf_server::metrics::Metrics::default());
    // The first forecast of each case makes its checkpoints (a rebuild, not timed).
    for (id, _) in names {
        let snap = state.snapshot(id).await?;
        std::hint::black_box(state.forecast(&snap, as_of, &metrics).await?);
    }
    const PHASES: usize = 6;
    let mut times: Vec<[Vec<f64>; PHASES]> = vec![Default::default(), Default::default()];
    // Phase 0: the in-memory step alone.
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
    // Phases 1-4: whole writes, with no forecast, a full one, the incremental one after an append in date
    // order, and the incremental one after an append anywhere; phase 5: a full forecast alone.
    let (mut m, mut late) = (0, 0);
    for phase in 1..PHASES {
        for _ in 0..rounds {
            m += 1;
            for (k, (id, n)) in names.into_iter().enumerate() {
                if phase == 5 {
                    let case = state.case(id).await?;
                    let t = Instant::now();
                    std::hint::black_box(state.model.forecast(&case, as_of)?);
                    times[k][phase].push(t.elapsed().as_secs_f64() * 1e6);
                    continue;
                }
                let s = if phase == 3 {
                    late += 1;
                    late_signal(id, late)
                } else {
                    signal(id, n + m)
                };
                let t = Instant::now();
                let out = state.append(id, vec![s]).await?;
                anyhow::ensure!(
                    out.report.added == 1,
                    "expected one signal added, found {:?}",
                    out.report
                );
                match phase {
                    2 => {
                        std::hint::black_box(state.model.forecast(&out.case, as_of)?);
                    }
                    3 | 4 => {
                        std::hint::black_box(state.forecast(&out.snapshot(), as_of, &metrics).await?);
                    }
                    _ => {}
                }
                times[k][phase].push(t.elapsed().as_secs_f64() * 1e6);
            }
        }
    }
    for (k, (id, n)) in names.into_iter().enumerate() {
        let mut row = [0.0; PHASES];
        for (p, v) in times[k].iter_mut().enumerate() {
            row[p] = p50(v);
        }
        println!(
            "{{\"case\":\"{id}\",\"signals\":{n},\"rounds\":{rounds},\"case_append_p50_us\":{:.1},\"append_p50_us\":{:.0},\"append_full_forecast_p50_us\":{:.0},\"append_forecast_p50_us\":{:.0},\"append_forecast_out_of_order_p50_us\":{:.0},\"full_forecast_p50_us\":{:.0}}}",
            row[0], row[1], row[2], row[3], row[4], row[5]
        );
        rows.push(row);
    }
    let (s, b) = (rows[0], rows[1]);
    println!(
        "{{\"ratio_big_small_case_append\":{:.2},\"ratio_big_small_append\":{:.2},\"ratio_big_small_append_forecast\":{:.2},\"big_append_full_forecast_over_full_forecast\":{:.3},\"big_append_forecast_over_full_forecast\":{:.4},\"big_append_forecast_out_of_order_over_full_forecast\":{:.3}}}",
        b[0] / s[0],
        b[1] / s[1],
        b[3] / s[3],
        b[2] / b[5],
        b[3] / b[5],
        b[4] / b[5]
    );
    eprintln!(
        "checkpoints: {} hits, {} advances, {} rebuilds, {} full; {} signals filtered",
        metrics.checkpoint_hits.load(std::sync::atomic::Ordering::Relaxed),
        metrics
            .checkpoint_advances
            .load(std::sync::atomic::Ordering::Relaxed),
        metrics
            .checkpoint_rebuilds
            .load(std::sync::atomic::Ordering::Relaxed),
        metrics.checkpoint_full.load(std::sync::atomic::Ordering::Relaxed),
        metrics
            .forecast_signals_filtered
            .load(std::sync::atomic::Ordering::Relaxed),
    );
    state.close()?;
    Ok(())
}
