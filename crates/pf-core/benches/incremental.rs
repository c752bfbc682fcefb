#![allow(missing_docs)] // criterion_group! generates undocumented items
//! Criterion benchmark of incremental forecasts (issue 14): appending one signal to a 100,000-signal case and
//! forecasting, with the case's [`Checkpoints`] kept up to date, against a full recomputation of the same case
//! ([`Model::forecast`]), in the same run, for the default v1 model and the default v2 model (with inputs).
//!
//! * `full`: [`Model::forecast`] of the case with one more signal (type lookups, the filter over every signal).
//! * `append_one`: one signal appended, dated after the others: [`Case::append`], [`Checkpoints::append`],
//!   [`Checkpoints::forecast`], on the case and checkpoints a service keeps (appended to a signal at a time).
//! * `case_append`: [`Case::append`] of that signal to a copy of the 100,000-signal case made in the untimed
//!   setup (a copy has no room to grow: the append moves every signal, as the first append to a freshly loaded
//!   case does).
//!
//! The signals come from a seeded generator, 100,000 over the first 1,400 days of a four-year term; the new
//! ones are dated from day 1,400 on and the forecast is at the term end.

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::{Days, NaiveDate};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use pf_core::v2::{ModelV2, Role};
use pf_core::{Case, Checkpoints, Model, Signal};

const N: usize = 100_000;

fn start() -> NaiveDate {
    NaiveDate::from_ymd_opt(2017, 1, 20).unwrap()
}

/// The types drawn: every v1 type; for v2 the evidence, action and context types (no deal or fate, which
/// would end the uncertainty).
fn types(model: &Model) -> Vec<String> {
    match model.as_v2() {
        None => model.signal_types(),
        Some(m) => m
            .signal_types()
            .iter()
            .filter(|t| matches!(m.role(t), Some(Role::Evidence | Role::Action | Role::Context)))
            .filter(|t| !t.contains("withdraws"))
            .cloned()
            .collect(),
    }
}

fn case_with(model: &Model, types: &[String]) -> Case {
    let end = start().checked_add_days(Days::new(1461)).unwrap();
    let mut case = Case::new("bench", "USA", "PRK", start(), end).unwrap();
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let signals: Vec<Signal> = (0..N)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let day = (i as u64 * 1400) / N as u64;
            Signal::new(
                types[(x % types.len() as u64) as usize].clone(),
                start().checked_add_days(Days::new(day)).unwrap(),
            )
            .with_id(format!("s{i}"))
        })
        .collect();
    case.append(signals, model).unwrap();
    case
}

fn day(d: u64) -> NaiveDate {
    start().checked_add_days(Days::new(d)).unwrap()
}

/// A copy of the case and its checkpoints, grown once outside the timing (a signal appended and removed) so
/// that the timed appends find room as in a case that has been growing, and the first day to append on.
fn fresh(model: &Model, case: &Case, cp: &Checkpoints) -> (Case, Checkpoints, u64) {
    let (mut case, mut cp) = (case.clone(), cp.clone());
    let n = case.signals().len();
    case.append(
        [Signal::new(model.signal_types()[0].clone(), day(1461)).with_id("room")],
        model,
    )
    .unwrap();
    case.remove("room").unwrap();
    cp.append(model, &case, n).unwrap();
    (case, cp, 1400)
}

pub fn benches(c: &mut Criterion) {
    for (name, model) in [
        ("v1", Model::v1_model()),
        ("v2_with_inputs", Model::from_v2(ModelV2::default_model())),
    ] {
        let types = types(&model);
        let before = case_with(&model, &types);
        let cp_before = Checkpoints::new(&model, &before).unwrap();
        let new = Signal::new(
            types[1].clone(),
            start().checked_add_days(Days::new(1400)).unwrap(),
        )
        .with_id("new");
        let mut after = before.clone();
        after.append([new.clone()], &model).unwrap();
        let as_of = after.term_end;
        let mut g = c.benchmark_group(format!("incremental_100k_signals/{name}"));
        g.sample_size(20);
        g.bench_function("full", |b| {
            b.iter(|| black_box(model.forecast(black_box(&after), as_of).unwrap()))
        });
        g.bench_function("append_one", |b| {
            b.iter_custom(|iters| {
                // The state a service holds: the case and its checkpoints, appended to one signal at a time in
                // date order, one a day from day 1,400 on (start again from the 100,000 signals at the term
                // end). Timed: `Case::append`, `Checkpoints::append`, `Checkpoints::forecast`.
                let (mut case, mut cp, mut d) = fresh(&model, &before, &cp_before);
                let mut total = Duration::ZERO;
                for k in 0..iters {
                    if d > 1460 {
                        (case, cp, d) = fresh(&model, &before, &cp_before);
                    }
                    let s =
                        Signal::new(types[k as usize % types.len()].clone(), day(d)).with_id(format!("n{k}"));
                    let t = Instant::now();
                    let first = case.first_index_on_or_after(s.date);
                    case.append([s], &model).unwrap();
                    cp.append(&model, &case, first).unwrap();
                    black_box(cp.forecast(&model, &case, as_of).unwrap());
                    total += t.elapsed();
                    d += 1;
                }
                total
            })
        });
        // An append before every signal: the checkpoints walked over the whole history (what an append deep in
        // the history costs, per signal after it).
        g.bench_function("walk_all", |b| {
            b.iter(|| black_box(Checkpoints::new(&model, black_box(&before)).unwrap()))
        });
        g.bench_function("case_append", |b| {
            b.iter_batched(
                || before.clone(),
                |mut case| black_box(case.append([new.clone()], &model).unwrap()),
                BatchSize::LargeInput,
            )
        });
        g.finish();
    }
}

criterion_group!(incremental, benches);
criterion_main!(incremental);
