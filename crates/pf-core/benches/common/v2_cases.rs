//! The cases and models of `benches/v2.rs`, shared with `benches/filter.rs` and `examples/draws_cost.rs`
//! (included by `#[path]`), so that they measure the same work.

use chrono::{Days, NaiveDate};
use pf_core::v2::{ModelV2, Role};
use pf_core::{Case, Model, Signal};

/// A case with `n` signals spread over `days` days, of the given types (a seeded xorshift, so every run measures
/// the same work).
pub fn case_with(model: &Model, types: &[String], n: usize, days: u64) -> Case {
    let start = NaiveDate::from_ymd_opt(2017, 1, 20).expect("a date");
    let end = start.checked_add_days(Days::new(days)).expect("a date");
    let mut case = Case::new("bench", "USA", "PRK", start, end).expect("a case");
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let signals: Vec<Signal> = (0..n)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let day = (i as u64 * days) / n as u64;
            Signal::new(
                types[(x % types.len() as u64) as usize].clone(),
                start.checked_add_days(Days::new(day)).expect("a date"),
            )
        })
        .collect();
    case.append(signals, model).expect("known types");
    case
}

/// Evidence, action and context types of a v2 model (no deal or fate signals, which would end the uncertainty,
/// and no withdrawals).
pub fn v2_types(m: &ModelV2) -> Vec<String> {
    m.signal_types()
        .iter()
        .filter(|t| matches!(m.role(t), Some(Role::Evidence | Role::Action | Role::Context)))
        .filter(|t| !t.contains("withdraws"))
        .cloned()
        .collect()
}

/// The default v2 model without inputs: every beta removed.
pub fn no_inputs() -> ModelV2 {
    let mut spec = ModelV2::default_model().spec().clone();
    for h in &mut spec.hazards {
        h.betas.clear();
    }
    ModelV2::from_spec(spec).expect("a model")
}
