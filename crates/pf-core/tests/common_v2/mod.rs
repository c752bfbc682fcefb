//! Shared helpers of the v2 tests: random valid v2 models and signals of every role.
#![allow(dead_code, missing_docs)]

use std::collections::BTreeMap;

use crate::common::{Gen, plus};
use pf_core::Signal;
use pf_core::model::PriorSpec;
use pf_core::v2::{
    self, BetaSpec, BucketSpecV2, FateSpec, HazardSpec, InputSpec, ModelSpecV2, ModelV2, Rates, RegimeSpecV2,
    Role, SignalTypeSpec,
};

/// A random v2 model with three non-deal regimes and a deal regime, every input, random rates and betas.
pub fn random_v2(seed: u64) -> ModelV2 {
    let mut g = Gen(seed);
    let names = ["r0", "r1", "r2", "deal"];
    let regimes = names
        .iter()
        .map(|n| RegimeSpecV2 {
            name: (*n).into(),
            deal: *n == "deal",
            description: String::new(),
        })
        .collect();
    let mut prior = g.simplex(3);
    prior.push(0.0);
    let bounds = [0u32, 60, 200];
    let buckets = (0..3)
        .map(|b| BucketSpecV2 {
            name: format!("b{b}"),
            min_days_left: bounds[b],
            max_days_left: if b == 2 { None } else { Some(bounds[b + 1] - 1) },
            matrix: None,
        })
        .collect();
    let inputs_names = [
        "pressure",
        "circumvention",
        "reciprocity",
        "surrender_demanded",
        "leader_may_leave",
    ];
    let mut hazards = Vec::new();
    for i in 0..3 {
        for j in 0..4 {
            if i == j {
                continue;
            }
            let mut betas = BTreeMap::new();
            for inp in inputs_names {
                if g.uniform() < 0.6 {
                    betas.insert(
                        inp.to_owned(),
                        BetaSpec {
                            mean: 3.0 * (g.uniform() - 0.5),
                            sd: 0.5,
                            value: None,
                        },
                    );
                }
            }
            hazards.push(HazardSpec {
                from: names[i].into(),
                to: names[j].into(),
                rate_per_year: Rates::Many((0..3).map(|_| 5.0 * g.uniform()).collect()),
                rate_sd_log: 0.5,
                prior_rate_per_year: None,
                betas,
            });
        }
    }
    let mut inputs = BTreeMap::new();
    let feeds = [
        ("pressure", vec!["act_p"]),
        ("circumvention", vec!["ctx_c"]),
        ("reciprocity", vec!["act_r"]),
        ("surrender_demanded", vec!["act_s"]),
    ];
    for (n, t) in &feeds {
        inputs.insert(
            (*n).to_owned(),
            InputSpec {
                types: t.iter().map(|s| (*s).to_owned()).collect(),
                half_life_days: Some(5.0 + 100.0 * g.uniform()),
                tau_days: (*n == "pressure").then(|| 20.0 + 300.0 * g.uniform()),
                kappa: (*n == "pressure").then(|| 2.0 * g.uniform()),
            },
        );
    }
    inputs.insert("leader_may_leave".into(), InputSpec::default());
    let mut signals = BTreeMap::new();
    let plain = |role: Role| SignalTypeSpec {
        role,
        q: None,
        repudiates: false,
        reveals: None,
        prior_q: None,
        description: String::new(),
    };
    for t in ["act_p", "act_r", "act_s"] {
        signals.insert(t.to_owned(), plain(Role::Action));
    }
    signals.insert("ctx_c".into(), plain(Role::Context));
    signals.insert(
        "act_w".into(),
        SignalTypeSpec {
            repudiates: true,
            ..plain(Role::Action)
        },
    );
    signals.insert("agreement_signed".into(), plain(Role::Deal));
    signals.insert(
        "target_withdraws".into(),
        SignalTypeSpec {
            repudiates: true,
            ..plain(Role::Deal)
        },
    );
    signals.insert(
        "reelected".into(),
        SignalTypeSpec {
            reveals: Some(v2::Fate::Stays),
            ..plain(Role::Fate)
        },
    );
    signals.insert(
        "departing".into(),
        SignalTypeSpec {
            reveals: Some(v2::Fate::Leaves),
            ..plain(Role::Fate)
        },
    );
    let q: Vec<Vec<f64>> = (0..4).map(|_| g.simplex(4)).collect();
    for e in 0..4 {
        signals.insert(
            format!("ev{e}"),
            SignalTypeSpec {
                q: Some((0..4).map(|j| q[j][e]).collect()),
                ..plain(Role::Evidence)
            },
        );
    }
    ModelV2::from_spec(ModelSpecV2 {
        format_version: 2,
        name: format!("random{seed}"),
        version: String::new(),
        description: String::new(),
        regimes,
        deal_repudiated_to: Some("r1".into()),
        prior: PriorSpec {
            probabilities: prior,
            concentration: 10.0,
        },
        fate: FateSpec {
            incumbency_rate: 0.2 + 0.6 * g.uniform(),
            concentration: 10.0,
        },
        exponent_range: [-4.0, 4.0],
        buckets,
        hazards,
        inputs,
        evidence_concentration: 20.0,
        signals,
        provenance: None,
        fit: None,
    })
    .unwrap()
}

/// Random signals of every role (fate signals only of one direction, deal signals rare).
pub fn random_signals(m: &ModelV2, seed: u64, start: chrono::NaiveDate, days: u64, n: usize) -> Vec<Signal> {
    let mut g = Gen(seed ^ 0x5151);
    let types: Vec<String> = m
        .signal_types()
        .iter()
        .filter(|t| *t != "reelected")
        .cloned()
        .collect();
    (0..n)
        .map(|i| {
            let ty = types[g.below(types.len())].clone();
            let mut s = Signal::new(ty.clone(), plus(start, (g.uniform() * days as f64) as u64))
                .with_id(format!("s{i}"));
            s.reliability = if g.uniform() < 0.3 { 1.0 } else { g.uniform() };
            if ty == "agreement_signed" || ty == "departing" {
                s.reliability = s.reliability.min(0.9);
            }
            s.weight = 0.25 + 2.0 * g.uniform();
            s
        })
        .collect()
}
