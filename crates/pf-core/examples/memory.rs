//! Live heap bytes per signal of a [`Case`](pf_core::Case) of 10^4, 10^5 and 10^6 signals (issue 14: "under 200 bytes a
//! signal"), after the append and after a forecast (which may build the contiguous copy of the signals).
//!
//! Run: `cargo run --release -p pf-core --example memory [N ...]` (default 10000 100000 1000000).
//!
//! Method: the process's global allocator is wrapped in a counting allocator ([`cap::Cap`]), which counts the
//! bytes requested from the system allocator (its own bookkeeping, a few bytes per block, is not counted). A
//! case's bytes are the live bytes after the step less the live bytes before the signals were made: the input
//! list is consumed by the append, so what remains is what the case holds (plus the forecast's result, a few
//! hundred bytes). `peak` is the largest live total during the append and forecast, less the same base.
//!
//! Typical signals: a type of the default model's vocabulary (evidence, action and context types, as the
//! scaling bench), dates spread over a four-year term, default reliability and weight, an id shaped like the
//! content-derived ids [`Case::append`](pf_core::Case::append) assigns (`c-` and 24 hex digits), and a source on one signal in four.

use std::alloc::System;

use cap::Cap;
use pf_core::{Model, Signal};

#[path = "common/signals.rs"]
mod common;
use common::{empty, signals};

#[global_allocator]
static ALLOCATOR: Cap<System> = Cap::new(System, usize::MAX);

/// Resident set size of this process in bytes (Linux `/proc/self/statm`), 0 elsewhere.
fn rss() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|p| p.parse::<usize>().ok()))
        .map_or(0, |pages| pages * 4096)
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("a signal count"))
        .collect();
    let sizes = if sizes.is_empty() {
        vec![10_000, 100_000, 1_000_000]
    } else {
        sizes
    };
    let model = Model::default_model();
    println!(
        "size_of::<Signal>() = {} bytes; live heap bytes per signal held by the case (peak during append + forecast)",
        std::mem::size_of::<Signal>()
    );
    println!(
        "{:>9} {:>14} {:>16} {:>14} {:>12}",
        "signals", "after append", "after forecast", "peak", "rss (MB)"
    );
    for n in sizes {
        let base = ALLOCATOR.allocated();
        let sig = signals(&model, n);
        let mut case = empty();
        case.append(sig, &model).expect("valid signals");
        let appended = ALLOCATOR.allocated() - base;
        let f = model.forecast(&case, case.term_end).expect("a forecast");
        std::hint::black_box(&f);
        drop(f);
        let forecast = ALLOCATOR.allocated() - base;
        let peak = ALLOCATOR.max_allocated() - base;
        println!(
            "{n:>9} {:>14.1} {:>16.1} {:>14.1} {:>12.1}",
            appended as f64 / n as f64,
            forecast as f64 / n as f64,
            peak as f64 / n as f64,
            rss() as f64 / 1e6
        );
        drop(case);
    }
}
