//! Credible intervals of a forecast: the result of parameter draws (computed by [`crate::uncertainty`]).
//!
//! A module of its own so that the forecast type ([`crate::inference`]) and the sampler
//! ([`crate::uncertainty`]) both depend on it and not on each other.

use serde::{Deserialize, Serialize};

/// One central credible interval per outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// The level, e.g. 0.9.
    pub level: f64,
    /// Lower bound per outcome (the `(1 - level) / 2` quantile of the draws).
    pub lower: Vec<f64>,
    /// Upper bound per outcome (the `(1 + level) / 2` quantile).
    pub upper: Vec<f64>,
}

/// Summary of the draws of a forecast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Intervals {
    /// Number of draws.
    pub draws: usize,
    /// Seed used.
    pub seed: u64,
    /// Mean of each outcome's probability over the draws.
    pub mean: Vec<f64>,
    /// Standard deviation of each outcome's probability over the draws.
    pub sd: Vec<f64>,
    /// The requested intervals.
    pub intervals: Vec<Interval>,
}

impl Intervals {
    /// The intervals as JSON: their serde form. `outcomes` is no longer used (the vectors are in the
    /// forecast's outcome order); the parameter is kept until the adapters move to the serde form.
    pub fn to_json(&self, outcomes: &[String]) -> serde_json::Value {
        let _ = outcomes;
        serde_json::to_value(self).expect("results always serialise")
    }
}
