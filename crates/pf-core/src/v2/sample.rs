//! Synthetic v2 episodes sampled from a known model, for checking that `fit` recovers parameters.
//!
//! # Process
//! For a case's terms, with `F` drawn from its prior (`p_inc` for an eligible leader, else leaves):
//! 1. the sender's actions and context signals are exogenous: each type in `SampleOptions::actions` arrives as a
//!    Poisson process with its rate per year (at most one a day, reliability 1);
//! 2. the regime starts from the prior and moves each day with the row of the day's free matrix `P(d)` in
//!    `F`'s half, inputs computed from the actions dated up to `d` exactly as the filter computes them; a move
//!    into the deal regime on a day before the term end emits the deal signal (reliability 1) that day;
//! 3. on each day, with probability `evidence_per_year / 365.25`, one evidence signal is recorded, its type drawn
//!    from `q_.(regime)`;
//! 4. on the election date (if within the span) the fate signal revealing `F` is recorded when
//!    `fate_signal` is set;
//! 5. the outcome is `deal` if the regime on the day before the term end is the deal regime, else `stalemate`
//!    when the leader stays and `wait_out` when the leader leaves.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::inference::date_of;
use crate::signal::Signal;
use crate::v2::filter::{Ev, Span, Walker};
use crate::v2::spec::{DAYS_PER_YEAR, Fate, ModelV2, Role};
use crate::v2::{OUTCOMES, Terms};

/// What to sample besides the model's own dynamics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleOptions {
    /// Action or context types and their rates per year (Poisson, at most one a day).
    pub actions: BTreeMap<String, f64>,
    /// Evidence signals recorded per year (whatever the regime: recording is not evidence).
    pub evidence_per_year: f64,
    /// Record the fate signal on the election date.
    pub fate_signal: bool,
}

impl Default for SampleOptions {
    /// Monthly sanctions, a circumvention report a quarter, 24 evidence signals a year, the fate recorded.
    fn default() -> Self {
        SampleOptions {
            actions: [
                ("sanctions_tightened".to_owned(), 12.0),
                ("third_party_circumvention".to_owned(), 4.0),
            ]
            .into_iter()
            .collect(),
            evidence_per_year: 24.0,
            fate_signal: true,
        }
    }
}

/// One sampled episode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampledEpisode {
    /// The terms it was sampled for.
    pub terms: Terms,
    /// Its signals, in date order.
    pub signals: Vec<Signal>,
    /// The leader's fate.
    pub fate: Fate,
    /// The regime on each day from the start to the day before the term end.
    pub regimes: Vec<usize>,
    /// `deal`, `stalemate` or `wait_out`.
    pub outcome: String,
}

fn pick(rng: &mut Xoshiro256PlusPlus, p: &[f64]) -> usize {
    let total: f64 = p.iter().sum();
    let mut u = rng.random::<f64>() * total;
    for (i, x) in p.iter().enumerate() {
        if u < *x {
            return i;
        }
        u -= x;
    }
    p.iter().rposition(|x| *x > 0.0).unwrap_or(0)
}

/// Sample one episode (module docs), reproducibly for a seed.
///
/// # Errors
/// [`Error::InvalidArgument`] for terms whose term end is not after the start, an action type that is not an
/// action or context type of the model, a negative rate, or a model without evidence types while
/// `evidence_per_year > 0`.
pub fn sample_episode(
    model: &ModelV2,
    terms: &Terms,
    opts: &SampleOptions,
    seed: u64,
) -> Result<SampledEpisode> {
    let span = Span::new(model, terms)?;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut actions: Vec<(usize, f64)> = Vec::new();
    for (name, rate) in &opts.actions {
        let ty = model.type_index(name)?;
        if !matches!(model.types[ty].role, Role::Action | Role::Context) {
            return Err(Error::argument(
                format!("actions.{name}"),
                "an action or context type",
                format!("{:?}", model.types[ty].role),
            ));
        }
        if !(rate.is_finite() && *rate >= 0.0) {
            return Err(Error::argument(
                format!("actions.{name}"),
                "a rate per year >= 0",
                rate,
            ));
        }
        actions.push((ty, rate / DAYS_PER_YEAR));
    }
    let evidence: Vec<usize> = (0..model.types.len())
        .filter(|&t| model.types[t].role == Role::Evidence)
        .collect();
    if opts.evidence_per_year > 0.0 && evidence.is_empty() {
        return Err(Error::argument(
            "evidence_per_year",
            "0 for a model without evidence types",
            opts.evidence_per_year,
        ));
    }
    let deal_type = model
        .types
        .iter()
        .position(|t| t.role == Role::Deal && !t.repudiates);
    let fate = if rng.random::<f64>() < span.pi_stays {
        Fate::Stays
    } else {
        Fate::Leaves
    };
    let half = fate.index();
    // 1. Exogenous actions.
    let mut signals = Vec::new();
    let mut evs = Vec::new();
    for d in span.start..=span.last {
        for &(ty, p) in &actions {
            if rng.random::<f64>() < -(-p).exp_m1() {
                signals.push(Signal::new(model.type_names[ty].clone(), date_of(d)));
                evs.push(Ev {
                    day: d,
                    ty,
                    rho: 1.0,
                    w: 1.0,
                });
            }
        }
    }
    // 2.-3. The regime path and the evidence.
    let mut w = Walker::new(model, span);
    w.set_inputs(&evs);
    let mut st = w.start();
    let non_deal: Vec<f64> = model.prior.clone();
    let mut regime = pick(&mut rng, &non_deal);
    let mut regimes = Vec::with_capacity((span.last - span.start + 1) as usize);
    let p_evidence = opts.evidence_per_year / DAYS_PER_YEAR;
    let fate_types: Vec<usize> = (0..model.types.len())
        .filter(|&t| model.types[t].reveals == Some(fate))
        .collect();
    for d in span.start..=span.last {
        if d > span.start {
            // Row `regime` of the day's free matrix in F's half: one step from a point mass.
            st.set_point(half, regime);
            st.day = d - 1;
            w.advance(&mut st, d, true);
            let next = pick(&mut rng, st.half(half));
            if Some(next) == model.deal
                && Some(regime) != model.deal
                && let Some(t) = deal_type
            {
                signals.push(Signal::new(model.type_names[t].clone(), date_of(d)));
            }
            regime = next;
        }
        regimes.push(regime);
        if p_evidence > 0.0 && rng.random::<f64>() < p_evidence.min(1.0) {
            let q: Vec<f64> = evidence.iter().map(|&t| model.types[t].q[regime]).collect();
            let t = evidence[pick(&mut rng, &q)];
            signals.push(Signal::new(model.type_names[t].clone(), date_of(d)));
        }
        if opts.fate_signal && d == span.election && !fate_types.is_empty() {
            signals.push(Signal::new(model.type_names[fate_types[0]].clone(), date_of(d)));
        }
    }
    signals.sort_by(|a, b| {
        a.date
            .cmp(&b.date)
            .then_with(|| a.signal_type.cmp(&b.signal_type))
    });
    let outcome = if Some(regime) == model.deal {
        OUTCOMES[0]
    } else {
        OUTCOMES[1 + half]
    };
    Ok(SampledEpisode {
        terms: *terms,
        signals,
        fate,
        regimes,
        outcome: outcome.to_owned(),
    })
}

/// `n` episodes with seeds `seed, seed + 1, ...`, all for the same terms.
///
/// # Errors
/// As [`sample_episode`].
pub fn sample_episodes(
    model: &ModelV2,
    terms: &Terms,
    opts: &SampleOptions,
    n: usize,
    seed: u64,
) -> Result<Vec<SampledEpisode>> {
    (0..n as u64)
        .map(|i| sample_episode(model, terms, opts, seed.wrapping_add(i)))
        .collect()
}

/// Terms for a sample: the election date 78 days before the term end.
pub fn terms_for(start: NaiveDate, term_end: NaiveDate, reelection_eligible: bool) -> Terms {
    Terms {
        start,
        term_end,
        reelection_eligible,
        election_date: crate::v2::default_election_date(term_end),
    }
}
