#![allow(missing_docs)] // criterion_group! generates undocumented items
//! Criterion benchmarks of the engine, each beside a baseline measured in the same run:
//!
//! * `filter_step`: one filter step of the default model (a signal a day), per element: `filter` on resolved
//!   signals, `incremental` through [`Filter`] one call at a time, `forecast` from the case (type lookups
//!   included); baseline: a naive filter written in the bench (daily vector-matrix product, a `ln` per step,
//!   no cached powers).
//! * `forecast_1000_signals_4y`: one forecast over 1,000 signals with a four-year horizon.
//! * `draws_1000`: 1,000 parameter draws through filter and forecast over the same case (goal < 20 ms).
//!
//! Inputs are built from a seeded generator so every run measures the same work.

use std::hint::black_box;

use chrono::NaiveDate;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pf_core::{Case, DrawOptions, Filter, Model, Silent};

#[path = "common/v2_cases.rs"]
#[allow(dead_code)] // this bench uses only the case generator
mod common;

/// A case of `n` signals of the model's types over `days` days (the v2 bench's generator).
fn case_with(model: &Model, n: usize, days: u64) -> Case {
    common::case_with(model, &model.signal_types(), n, days)
}

/// The naive reference: one day at a time, matrix of the day's bucket, a `ln` per normaliser.
fn naive_forecast(model: &Model, case: &Case) -> Vec<f64> {
    let k = model.n_regimes();
    let buckets = model.buckets();
    let q: Vec<Vec<f64>> = model
        .signal_types()
        .iter()
        .map(|t| model.emission(t).unwrap().to_vec())
        .collect();
    let t = case.term_end;
    let mut alpha = model.prior().to_vec();
    let mut ll = 0.0;
    let mut day = case.start;
    let mut tmp = vec![0.0; k];
    let step = |alpha: &mut Vec<f64>, tmp: &mut Vec<f64>, day: NaiveDate| {
        let left = (t - day).num_days() as u32;
        let p = &buckets.iter().rev().find(|b| left >= b.1).unwrap().3;
        tmp.iter_mut().for_each(|x| *x = 0.0);
        for i in 0..k {
            for j in 0..k {
                tmp[j] += alpha[i] * p[i * k + j];
            }
        }
        alpha.copy_from_slice(tmp);
    };
    for s in case.signals() {
        while day < s.date {
            step(&mut alpha, &mut tmp, day);
            day = day.succ_opt().unwrap();
        }
        let q = &q[model.type_index(&s.signal_type).unwrap()];
        let c: f64 = alpha
            .iter_mut()
            .zip(q)
            .map(|(a, q)| {
                *a *= q;
                *a
            })
            .sum();
        alpha.iter_mut().for_each(|a| *a /= c);
        ll += c.ln();
    }
    while day < t {
        step(&mut alpha, &mut tmp, day);
        day = day.succ_opt().unwrap();
    }
    let mut p = vec![0.0; model.n_outcomes()];
    for (j, a) in alpha.iter().enumerate() {
        p[model.outcome_of()[j]] += a;
    }
    p.push(ll);
    p
}

/// Every benchmark group.
pub fn benches(c: &mut Criterion) {
    let model = Model::v1_model();
    // Filter steps: a signal every day for four years.
    let daily = case_with(&model, 1461, 1461);
    let as_of = daily.term_end;
    let mut g = c.benchmark_group("filter_step");
    g.throughput(Throughput::Elements(1461));
    // The filter itself, on signals already resolved to type indices (Model::observations), to the term end.
    let resolved = model.observations(&daily).unwrap();
    g.bench_function("filter", |b| {
        b.iter(|| black_box(model.forecast_observations(black_box(&resolved), as_of)))
    });
    // The incremental Filter, one call per signal.
    let indexed: Vec<(NaiveDate, usize)> = daily
        .signals()
        .iter()
        .map(|s| (s.date, model.type_index(&s.signal_type).unwrap()))
        .collect();
    g.bench_function("incremental", |b| {
        b.iter(|| {
            let mut f = Filter::new(&model, daily.start, daily.term_end).unwrap();
            for (date, ty) in &indexed {
                f.observe_index(*date, *ty, 1.0, 1.0).unwrap();
            }
            black_box(f.log_likelihood())
        })
    });
    // The whole forecast from a case: type lookups, filter, propagation to the term end.
    g.bench_function("forecast", |b| {
        b.iter(|| black_box(model.forecast(black_box(&daily), as_of).unwrap()))
    });
    g.bench_function("naive_baseline", |b| {
        b.iter(|| black_box(naive_forecast(&model, black_box(&daily))))
    });
    g.finish();

    let sparse = case_with(&model, 1000, 1461);
    let mut g = c.benchmark_group("forecast_1000_signals_4y");
    g.bench_function("engine", |b| {
        b.iter(|| black_box(model.forecast(black_box(&sparse), sparse.term_end).unwrap()))
    });
    g.bench_function("naive_baseline", |b| {
        b.iter(|| black_box(naive_forecast(&model, black_box(&sparse))))
    });
    g.finish();

    let mut g = c.benchmark_group("draws_1000");
    g.sample_size(20);
    let opts = DrawOptions {
        draws: 1000,
        seed: 7,
        levels: vec![0.9],
    };
    g.bench_function("engine", |b| {
        b.iter(|| {
            black_box(
                model
                    .forecast_with_intervals(&sparse, sparse.term_end, &opts, &Silent)
                    .unwrap(),
            )
        })
    });
    g.finish();
}

criterion_group!(engine, benches);
criterion_main!(engine);
