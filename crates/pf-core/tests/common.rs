//! Shared helpers of the integration tests: random valid models and cases.
#![allow(dead_code, missing_docs)]

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use pf_core::model::{BucketSpec, EmissionSpec, ModelSpec, OneOrMany, PriorSpec, RegimeSpec};
use pf_core::{Case, Model, Signal, vocab};

pub fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

pub fn plus(date: NaiveDate, n: u64) -> NaiveDate {
    date.checked_add_days(Days::new(n)).unwrap()
}

/// A tiny deterministic generator (SplitMix64) so helpers need no RNG crate.
pub struct Gen(pub u64);
impl Gen {
    pub fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn simplex(&mut self, k: usize) -> Vec<f64> {
        let v: Vec<f64> = (0..k).map(|_| 0.05 + self.uniform()).collect();
        let s: f64 = v.iter().sum();
        let mut v: Vec<f64> = v.iter().map(|x| x / s).collect();
        // Make the sum exact enough for validation.
        let rest: f64 = v[1..].iter().sum();
        v[0] = 1.0 - rest;
        v
    }
    pub fn below(&mut self, n: usize) -> usize {
        ((self.uniform() * n as f64) as usize).min(n - 1)
    }
}

/// A random valid model with `k` regimes, `m` outcomes (k >= m), `buckets` transition buckets, and emission
/// probabilities in [0.01, 1].
pub fn random_model(seed: u64, k: usize, m: usize, buckets: usize) -> Model {
    let mut g = Gen(seed);
    let outcomes: Vec<String> = (0..m).map(|i| format!("o{i}")).collect();
    let regimes = (0..k)
        .map(|i| RegimeSpec {
            name: format!("r{i}"),
            outcome: outcomes[i % m].clone(),
            description: String::new(),
        })
        .collect();
    let bounds = [0u32, 100, 400, 900];
    let transitions = (0..buckets)
        .map(|b| BucketSpec {
            name: format!("b{b}"),
            min_days_left: bounds[b],
            max_days_left: if b + 1 == buckets {
                None
            } else {
                Some(bounds[b + 1] - 1)
            },
            matrix: (0..k)
                .map(|_| {
                    // Sticky rows so long gaps keep some structure.
                    let mut row = g.simplex(k);
                    row.iter_mut().for_each(|x| *x *= 0.2);
                    let i = g.below(k);
                    row[i] += 0.8;
                    let rest: f64 = row
                        .iter()
                        .enumerate()
                        .filter(|(j, _)| *j != 0)
                        .map(|(_, x)| x)
                        .sum();
                    row[0] = 1.0 - rest;
                    row
                })
                .collect(),
            concentration: OneOrMany::One(50.0),
        })
        .collect();
    let mut emissions = BTreeMap::new();
    for t in vocab::signal_types_v1() {
        emissions.insert(
            t.to_owned(),
            EmissionSpec {
                q: (0..k).map(|_| 0.01 + 0.99 * g.uniform()).collect(),
                concentration: OneOrMany::One(100.0),
                description: String::new(),
            },
        );
    }
    Model::from_spec(ModelSpec {
        format_version: 1,
        name: format!("random{seed}"),
        description: String::new(),
        outcomes,
        regimes,
        prior: PriorSpec {
            probabilities: g.simplex(k),
            concentration: 20.0,
        },
        transitions,
        emissions,
        provenance: None,
    })
    .expect("random model is valid")
}

/// A case over `days` days with `n` random signals, of the types the model gives a likelihood (the neutral v2
/// types a v1 model accepts change nothing, and a plain v2 model written from it does not know them).
pub fn random_case(model: &Model, seed: u64, days: u64, n: usize) -> Case {
    let mut g = Gen(seed ^ 0xABCD);
    let start = d("2001-01-20");
    let mut case = Case::new("random", "S", "T", start, plus(start, days)).unwrap();
    let types: Vec<String> = model
        .signal_types()
        .iter()
        .filter(|t| model.is_neutral(t) != Some(true))
        .cloned()
        .collect();
    let signals: Vec<Signal> = (0..n)
        .map(|i| {
            let mut s = Signal::new(
                types[g.below(types.len())].clone(),
                plus(start, (g.uniform() * days as f64) as u64),
            )
            .with_id(format!("s{i}"));
            s.reliability = g.uniform();
            s.weight = 0.25 + 2.0 * g.uniform();
            s
        })
        .collect();
    case.append(signals, model).unwrap();
    case
}
