//! The signals of the `memory` and `cost` examples: typical signals of a case under the default model, the same
//! for both so their figures describe the same cases.
//!
//! A type of the default model's vocabulary (evidence, action and context types, as the scaling bench), dates
//! spread over a four-year term, default reliability and weight, an id shaped like the content-derived ids
//! `Case::append` assigns (`c-` and 24 hex digits), and a source on one signal in four.

use chrono::{Days, NaiveDate};
use pf_core::v2::Role;
use pf_core::{Case, Model, Signal};

/// Sources given to one signal in four.
const SOURCES: [&str; 4] = ["kcna", "reuters", "yonhap", "state_department"];

/// `n` signals over the four-year term from 2017-01-20, from a seeded generator (every run the same).
pub fn signals(model: &Model, n: usize) -> Vec<Signal> {
    let start = NaiveDate::from_ymd_opt(2017, 1, 20).expect("a date");
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
            // 96 bits of an id, as the content-derived ids carry.
            let y = x.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let s = Signal::new(
                types[(x % types.len() as u64) as usize].as_str(),
                start.checked_add_days(Days::new(day)).expect("a date"),
            )
            .with_id(format!("c-{:016x}{:08x}", y, (x >> 32) as u32));
            if i % 4 == 0 {
                s.with_source(SOURCES[(x >> 8) as usize % SOURCES.len()])
            } else {
                s
            }
        })
        .collect()
}

/// An empty case over that term.
pub fn empty() -> Case {
    let start = NaiveDate::from_ymd_opt(2017, 1, 20).expect("a date");
    Case::new(
        "example",
        "USA",
        "PRK",
        start,
        start.checked_add_days(Days::new(1461)).expect("a date"),
    )
    .expect("a valid header")
}
