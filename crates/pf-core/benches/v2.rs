#![allow(missing_docs)] // criterion_group! generates undocumented items
//! Criterion benchmarks of the v2 engine, each beside the v1 engine measured in the same run:
//!
//! * `v2_filter_step`: a signal a day for four years, filtered to the term end on resolved signals
//!   (`Model::observations` + `forecast_observations`), per signal: `v1` (the default v1 model), `v2_no_inputs`
//!   (the default v2 model with every beta removed, so its matrices depend only on the bucket: the batch path),
//!   `v2_with_inputs` (the default v2 model; a third of the signals are sender actions feeding the inputs).
//! * `v2_forecast_1000_signals_4y`: one forecast over 1,000 signals with a four-year horizon.
//! * `v2_draws_1000`: 1,000 parameter draws through filter and forecast over 1,000 signals (goal < 20 ms).
//!
//! Inputs are built from a seeded generator so every run measures the same work.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pf_core::v2::ModelV2;
use pf_core::{DrawOptions, Model, Silent};

#[path = "common/v2_cases.rs"]
mod common;
use common::{case_with, no_inputs, v2_types};

pub fn benches(c: &mut Criterion) {
    let v1 = Model::v1_model();
    let v2 = ModelV2::default_model();
    let v2n = no_inputs();
    let (m2, m2n) = (Model::from_v2(v2.clone()), Model::from_v2(v2n.clone()));
    let v1_types = v1.signal_types();
    let types = v2_types(&v2);
    let daily1 = case_with(&v1, &v1_types, 1461, 1461);
    let daily2 = case_with(&m2, &types, 1461, 1461);
    let as_of = daily1.term_end;

    let mut g = c.benchmark_group("v2_filter_step");
    g.throughput(Throughput::Elements(1461));
    let r1 = v1.observations(&daily1).unwrap();
    g.bench_function("v1", |b| {
        b.iter(|| black_box(v1.forecast_observations(black_box(&r1), as_of)))
    });
    let r2n = m2n.observations(&daily2).unwrap();
    g.bench_function("v2_no_inputs", |b| {
        b.iter(|| black_box(m2n.forecast_observations(black_box(&r2n), as_of)))
    });
    let r2 = m2.observations(&daily2).unwrap();
    g.bench_function("v2_with_inputs", |b| {
        b.iter(|| black_box(m2.forecast_observations(black_box(&r2), as_of)))
    });
    g.finish();

    let sparse1 = case_with(&v1, &v1_types, 1000, 1461);
    let sparse2 = case_with(&m2, &types, 1000, 1461);
    let mut g = c.benchmark_group("v2_forecast_1000_signals_4y");
    g.bench_function("v1", |b| {
        b.iter(|| black_box(v1.forecast(black_box(&sparse1), sparse1.term_end).unwrap()))
    });
    g.bench_function("v2_no_inputs", |b| {
        b.iter(|| black_box(m2n.forecast(black_box(&sparse2), sparse2.term_end).unwrap()))
    });
    g.bench_function("v2_with_inputs", |b| {
        b.iter(|| black_box(m2.forecast(black_box(&sparse2), sparse2.term_end).unwrap()))
    });
    g.finish();

    let mut g = c.benchmark_group("v2_draws_1000");
    g.sample_size(10);
    let opts = DrawOptions {
        draws: 1000,
        seed: 7,
        levels: vec![0.9],
    };
    for (name, m, case) in [
        ("v1", &v1, &sparse1),
        ("v2_no_inputs", &m2n, &sparse2),
        ("v2_with_inputs", &m2, &sparse2),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                black_box(
                    m.forecast_with_intervals(case, case.term_end, &opts, &Silent)
                        .unwrap(),
                )
            })
        });
    }
    g.finish();
}

criterion_group!(engine, benches);
criterion_main!(engine);
