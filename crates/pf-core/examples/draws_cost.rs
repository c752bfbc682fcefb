//! CPU time of 1,000 parameter draws over 1,000 signals (the case of `benches/v2.rs`, `v2_draws_1000`), for
//! v1, v2 without inputs and v2 with inputs: the least of `ROUNDS` rounds of the process's CPU time (every
//! thread's, from `/proc/self/task/*/schedstat`: time spent waiting for a core is not counted) and of its wall
//! time.
//!
//! Run: `cargo run --release -p pf-core --example draws_cost [ROUNDS] [NAME]` (default 5 rounds, every model;
//! `NAME` runs only that one, for a profiler).
//!
//! Why beside the criterion bench: on a machine shared with other work, wall time swings by a factor of two
//! between runs, and CPU time much less; comparing two builds, run this for each in turn.

use std::hint::black_box;
use std::time::Instant;

use pf_core::v2::ModelV2;
use pf_core::{Case, DrawOptions, Model, Silent};

#[path = "../benches/common/v2_cases.rs"]
mod common;
use common::{case_with, no_inputs, v2_types};

/// Nanoseconds every thread of this process has spent on a CPU (threads that ended are not counted: rayon's
/// pool lives as long as the process).
fn cpu_ns() -> u64 {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task (Linux)")
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map_or(5, |a| a.parse().expect("a number of rounds"));
    let v1 = Model::v1_model();
    let v2 = ModelV2::default_model();
    let types = v2_types(&v2);
    let v2n = no_inputs();
    let (m2, m2n) = (Model::from_v2(v2), Model::from_v2(v2n));
    let c1 = case_with(&v1, &v1.signal_types(), 1000, 1461);
    let c2 = case_with(&m2, &types, 1000, 1461);
    let opts = DrawOptions {
        draws: 1000,
        seed: 7,
        levels: vec![0.9],
    };
    let only = std::env::args().nth(2);
    let runs: Vec<(&str, &Model, &Case)> = [
        ("v1", &v1, &c1),
        ("v2_no_inputs", &m2n, &c2),
        ("v2_with_inputs", &m2, &c2),
    ]
    .into_iter()
    .filter(|(name, _, _)| only.as_deref().is_none_or(|o| o == *name))
    .collect();
    let mut best = vec![(u64::MAX, u64::MAX); runs.len()];
    for _ in 0..rounds {
        for (k, (_, m, case)) in runs.iter().enumerate() {
            let (c0, t0) = (cpu_ns(), Instant::now());
            black_box(
                m.forecast_with_intervals(case, case.term_end, &opts, &Silent)
                    .expect("a forecast"),
            );
            let (cpu, wall) = (cpu_ns() - c0, t0.elapsed().as_nanos() as u64);
            best[k] = (best[k].0.min(cpu), best[k].1.min(wall));
        }
    }
    for ((name, _, _), (cpu, wall)) in runs.iter().zip(best) {
        println!(
            "{name:15} 1000 draws: CPU {:7.2} ms  wall {:7.2} ms  ({} threads)",
            cpu as f64 / 1e6,
            wall as f64 / 1e6,
            rayon::current_num_threads()
        );
    }
}
