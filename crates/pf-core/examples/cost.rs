//! CPU time per signal of [`Case::append`](pf_core::Case::append) of all the signals + [`Model::forecast`], and of the forecast
//! alone, at 10^4, 10^5 and 10^6 signals (issue 14: "flat per-signal cost"), the signals of
//! `examples/memory.rs` (content-id shaped ids, a source on one in four).
//!
//! Run: `cargo run --release -p pf-core --example cost [ROUNDS]` (default 3).
//!
//! Why beside the criterion bench `benches/scaling.rs`: on a machine shared with other builds, wall time swings
//! by a factor of two between runs; this reads the thread's own CPU time (Linux `/proc/thread-self/schedstat`,
//! nanoseconds on a CPU), so time spent waiting for a core is not counted, and takes the least of `ROUNDS`
//! rounds, each running every size in turn (the sizes see the same load).

use std::hint::black_box;

use pf_core::{Model, Signal};

#[path = "common/signals.rs"]
mod common;
use common::{empty, signals};

/// Nanoseconds this thread has spent on a CPU.
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|t| t.parse().ok()))
        .expect("/proc/thread-self/schedstat (Linux)")
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map_or(3, |a| a.parse().expect("a number of rounds"));
    let model = Model::default_model();
    let sizes = [10_000usize, 100_000, 1_000_000];
    let inputs: Vec<Vec<Signal>> = sizes.iter().map(|&n| signals(&model, n)).collect();
    // Least CPU ns per signal: (append + forecast, forecast alone).
    let mut best = vec![(f64::MAX, f64::MAX); sizes.len()];
    for _ in 0..rounds {
        for (k, &n) in sizes.iter().enumerate() {
            // About a million signals a measurement at every size.
            let reps = (1_000_000 / n).max(1);
            let (mut both, mut alone) = (0u64, 0u64);
            for _ in 0..reps {
                let batch = inputs[k].clone();
                let mut case = empty();
                let t0 = cpu_ns();
                case.append(batch, &model).expect("valid signals");
                let f = model.forecast(&case, case.term_end).expect("a forecast");
                let t1 = cpu_ns();
                black_box(f);
                let f = model.forecast(&case, case.term_end).expect("a forecast");
                let t2 = cpu_ns();
                black_box(f);
                both += t1 - t0;
                alone += t2 - t1;
                drop(case);
            }
            let per = |t: u64| t as f64 / (reps * n) as f64;
            best[k].0 = best[k].0.min(per(both));
            best[k].1 = best[k].1.min(per(alone));
        }
    }
    println!("least CPU time per signal over {rounds} rounds (ns)");
    println!("{:>9} {:>20} {:>10}", "signals", "append + forecast", "forecast");
    for (k, &n) in sizes.iter().enumerate() {
        println!("{n:>9} {:>20.1} {:>10.1}", best[k].0, best[k].1);
    }
}
