#![allow(missing_docs)] // criterion_group! generates undocumented items
//! Criterion benchmark of the per-signal cost of forecasts as cases grow (issue 14: "forecast cost per signal
//! grows from 35 ns at 10k signals to 125 ns at 1M"): 10^4, 10^5 and 10^6 signals over a four-year term, with
//! the default model, throughput in signals so criterion reports the cost per signal of each size.
//!
//! * `append_and_forecast`: [`Case::append`] of all the signals to an empty case (ids checked, signals put in
//!   order), then [`Model::forecast`] at the term end. The signals are copied in the untimed setup.
//! * `forecast`: [`Model::forecast`] of the built case (type lookups and the filter).
//! * `forecast_observations`: [`Model::forecast_observations`] on the case's resolved signals (the filter
//!   alone).
//!
//! Flat means the per-signal figures of the three sizes agree.

use std::hint::black_box;

use chrono::{Days, NaiveDate};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use pf_core::v2::Role;
use pf_core::{Case, Model, Signal};

fn signals(model: &Model, n: usize) -> Vec<Signal> {
    let start = NaiveDate::from_ymd_opt(2017, 1, 20).unwrap();
    // Evidence, actions and context (no deal or fate signals, which would end the uncertainty or contradict
    // each other).
    let m = model.as_v2().expect("the default model is a v2 model");
    let types: Vec<String> = m
        .signal_types()
        .iter()
        .filter(|t| matches!(m.role(t), Some(Role::Evidence | Role::Action | Role::Context)))
        .filter(|t| !t.contains("withdraws"))
        .cloned()
        .collect();
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    (0..n)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let day = (i as u64 * 1460) / n as u64;
            Signal::new(
                types[(x % types.len() as u64) as usize].clone(),
                start.checked_add_days(Days::new(day)).unwrap(),
            )
            .with_id(format!("s{i}"))
        })
        .collect()
}

fn empty() -> Case {
    let start = NaiveDate::from_ymd_opt(2017, 1, 20).unwrap();
    Case::new(
        "bench",
        "USA",
        "PRK",
        start,
        start.checked_add_days(Days::new(1461)).unwrap(),
    )
    .unwrap()
}

pub fn benches(c: &mut Criterion) {
    let model = Model::default_model();
    let mut g = c.benchmark_group("per_signal");
    g.sample_size(10);
    for n in [10_000, 100_000, 1_000_000] {
        let sig = signals(&model, n);
        let mut case = empty();
        case.append(sig.clone(), &model).unwrap();
        let as_of = case.term_end;
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(format!("append_and_forecast/{n}"), |b| {
            b.iter_batched(
                || (empty(), sig.clone()),
                |(mut c, s)| {
                    c.append(s, &model).unwrap();
                    black_box(model.forecast(&c, as_of).unwrap())
                },
                BatchSize::PerIteration,
            )
        });
        g.bench_function(format!("forecast/{n}"), |b| {
            b.iter(|| black_box(model.forecast(black_box(&case), as_of).unwrap()))
        });
        let obs = model.observations(&case).unwrap();
        g.bench_function(format!("forecast_observations/{n}"), |b| {
            b.iter(|| black_box(model.forecast_observations(black_box(&obs), as_of)))
        });
    }
    g.finish();
}

criterion_group!(scaling, benches);
criterion_main!(scaling);
