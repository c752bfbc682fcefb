//! Synthetic v2 episodes sampled from a known model, for the recovery tests of [`crate::v2::learn`].
//!
//! Each episode: a four-year term; an eligible leader with probability `eligible_share`, whose fate F is drawn
//! from the incumbency rate (an ineligible one leaves) and revealed by a fate signal the day after the election;
//! the sender's actions and the context as Poisson streams per input with a per-episode intensity drawn
//! uniformly in [0, 2] (so that inputs vary across episodes); the hidden regime drawn from the prior and moved
//! day by day with the model's own daily matrices (the filter's walker computes them from the inputs, so the
//! sampler and the filter cannot disagree; the sender's withdrawals, which also repudiate, are not drawn); evidence reports on a Poisson stream, their type drawn from the
//! current regime's row q; an `agreement_signed` (reliability 1) on the day the chain enters the deal regime.

use chrono::{Days, NaiveDate};
use rand::RngExt as _;
use serde::{Deserialize, Serialize};

use crate::case::{Case, Episode};
use crate::error::{Error, Result};
use crate::inference::{date_of, day};
use crate::signal::Signal;
use crate::uncertainty::stream;
use crate::v2::filter::{Ev, Span, Walker};
use crate::v2::spec::{Fate, ModelV2, Role};
use crate::v2::{Terms, default_election_date};

/// Options of [`sample_episodes`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleOptions {
    /// Number of episodes.
    pub n: usize,
    /// Seed (episode `i` uses its own stream).
    pub seed: u64,
    /// Mean action or context signals per year per input at intensity 1.
    pub actions_per_year: f64,
    /// Mean evidence reports per year.
    pub evidence_per_year: f64,
    /// Share of episodes whose leader is eligible for re-election.
    pub eligible_share: f64,
    /// Length of each term in days (T - start).
    pub days: u32,
}

impl Default for SampleOptions {
    fn default() -> Self {
        SampleOptions {
            n: 100,
            seed: 1,
            actions_per_year: 4.0,
            evidence_per_year: 24.0,
            eligible_share: 0.5,
            days: 1461,
        }
    }
}

/// Sample `opts.n` finished episodes from `model` (module docs).
///
/// # Errors
/// [`Error::InvalidArgument`] when the model has no deal regime, no deal type or no fate types.
pub fn sample_episodes(model: &ModelV2, opts: &SampleOptions) -> Result<Vec<Episode>> {
    let deal = model
        .deal
        .ok_or_else(|| Error::argument("model", "a model with a deal regime", "none"))?;
    let find = |f: &dyn Fn(usize) -> bool| (0..model.types.len()).find(|&i| f(i));
    let deal_ty = find(&|i| model.types[i].role == Role::Deal && !model.types[i].repudiates)
        .ok_or_else(|| Error::argument("model", "a deal signal type", "none"))?;
    let stays_ty = find(&|i| model.types[i].reveals == Some(Fate::Stays));
    let leaves_ty = find(&|i| model.types[i].reveals == Some(Fate::Leaves));
    let feeders: Vec<usize> = (0..model.types.len())
        .filter(|&i| {
            // Repudiations are left out: one after the deal would undo it.
            !model.types[i].repudiates
                && model.types[i]
                    .feeds
                    .is_some_and(|f| model.inputs[f.index()].present)
        })
        .collect();
    let evidence: Vec<usize> = (0..model.types.len())
        .filter(|&i| model.types[i].role == Role::Evidence)
        .collect();
    let k = model.k;
    let mut out = Vec::with_capacity(opts.n);
    for n in 0..opts.n {
        let mut rng = stream(opts.seed, n as u64);
        let start =
            NaiveDate::from_ymd_opt(2001, 1, 20).expect("valid") + Days::new(rng.random_range(0..400));
        let term_end = start + Days::new(u64::from(opts.days.max(2)));
        let eligible = rng.random::<f64>() < opts.eligible_share;
        let stays = eligible && rng.random::<f64>() < model.p_inc;
        let election = default_election_date(term_end);
        let terms = Terms {
            start,
            term_end,
            reelection_eligible: eligible,
            election_date: election,
        };
        let span = Span::new(model, &terms)?;
        let mut signals: Vec<Signal> = Vec::new();
        let mut evs: Vec<Ev> = Vec::new();
        let sig = |ty: usize, d: i64, i: usize| {
            Signal::new(model.type_names[ty].clone(), date_of(d)).with_id(format!("s{n}-{i}"))
        };
        // Actions and context.
        for &ty in &feeders {
            let intensity = 2.0 * rng.random::<f64>();
            let p = intensity * opts.actions_per_year / 365.25;
            for d in span.start..=span.last {
                if rng.random::<f64>() < p {
                    evs.push(Ev {
                        day: d,
                        ty,
                        rho: 1.0,
                        w: 1.0,
                    });
                }
            }
        }
        // The fate, revealed the day after the election.
        let fate_day = day(election) + 1;
        let fate_ty = if stays {
            stays_ty
        } else if eligible {
            leaves_ty
        } else {
            None
        };
        if let Some(ty) = fate_ty
            && fate_day <= span.last
        {
            evs.push(Ev {
                day: fate_day,
                ty,
                rho: 1.0,
                w: 1.0,
            });
        }
        evs.sort_by_key(|e| e.day);
        for (i, e) in evs.iter().enumerate() {
            signals.push(sig(e.ty, e.day, i));
        }
        // The hidden chain.
        let mut w = Walker::new(model, span);
        w.set_inputs(&evs);
        let mut st = w.start();
        st.input_limit = i64::MAX;
        let half = usize::from(!stays);
        let u: f64 = rng.random();
        let mut r = pick(&model.prior, u);
        let pe = opts.evidence_per_year / 365.25;
        let mut outcome = if stays { "stalemate" } else { "wait_out" };
        let mut unit = vec![0.0; 2 * k];
        let mut extra = evs.len();
        for d in span.start..span.last {
            unit.iter_mut().for_each(|x| *x = 0.0);
            unit[half * k + r] = 1.0;
            st.set_joint(&unit);
            w.advance(&mut st, d + 1, true);
            let joint = st.joint();
            let u: f64 = rng.random();
            r = pick(&joint[half * k..half * k + k], u);
            if r == deal {
                signals.push(sig(deal_ty, d + 1, extra));
                outcome = "deal";
                break;
            }
            if rng.random::<f64>() < pe {
                let row: Vec<f64> = evidence.iter().map(|&s| model.types[s].q[r]).collect();
                let u: f64 = rng.random();
                let s = evidence[pick(&row, u)];
                extra += 1;
                signals.push(sig(s, d + 1, extra));
            }
            extra += 1;
        }
        let mut case = Case::new(format!("synthetic-{n}"), "S", "T", start, term_end)?;
        case.reelection_eligible = eligible;
        case.append(signals, model)?;
        out.push(Episode::new(case, outcome));
    }
    Ok(out)
}

/// Index drawn from the (not necessarily normalised) weights `p` with a uniform `u`.
fn pick(p: &[f64], u: f64) -> usize {
    let tot: f64 = p.iter().sum();
    let mut acc = 0.0;
    for (i, x) in p.iter().enumerate() {
        acc += x / tot;
        if u < acc {
            return i;
        }
    }
    p.iter().rposition(|x| *x > 0.0).unwrap_or(0)
}
