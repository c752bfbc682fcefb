//! Learning from history: expected-count EM over finished episodes, and a
//! sampler of synthetic episodes from a known model.
//!
//! # The likelihood that is fitted
//! `q_s(j)` is the probability that a signal of type `s` is observed on a day in regime `j`. For learning, each
//! day of an episode is a set of independent Bernoulli draws, one per type: the daily emission factor is
//!
//! ```text
//! e_d(j) = Π_{s observed on d} L_s(j) · Π_{s not observed on d} (1 - q_s(j))
//! ```
//!
//! with `L_s` the report likelihood of [`crate::inference`] (reliability and weight included). The filter uses the
//! observed factors only; the absences are what lets EM estimate the levels of `q` and not just their ratios.
//! The outcome is evidence at the term end that allows only the regimes mapped to it.
//!
//! # Formula
//! Forward-backward over the days of each episode gives `γ_d(j)` (regime posteriors) and `ξ_d(i, j)` (transition
//! posteriors). With the model's Dirichlet/Beta pseudo-counts `α = p · c`, the M-step is
//!
//! ```text
//! prior(j)   = (α_prior(j) + Σ_episodes γ_0(j)) / (c_prior + #episodes)
//! P_b(i, j)  = (α_b,i(j) + Σ_{d in bucket b} ξ_d(i, j)) / (c_b,i + Σ_j' Σ_d ξ_d(i, j'))
//! q_s(j)     = (q_s(j) c_s,j + n_s(j)) / (c_s,j + Σ_d γ_d(j))
//! ```
//!
//! where `n_s(j)` is the expected count of type-`s` reports in regime `j` (weighted, and for reliability < 1
//! weighted by the posterior probability that the report came from the regime rather than from noise). The
//! pseudo-counts are those of the starting model at every iteration (they are not accumulated), so this is MAP-EM:
//! the penalised log-likelihood `ln p(episodes | θ) + Σ α ln θ` never decreases. The fitted model's
//! concentrations are the pseudo-counts plus the final expected counts, so its intervals narrow as evidence
//! accumulates.

use chrono::{Days, NaiveDate};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::case::{Case, Episode};
use crate::error::{Error, Result};
use crate::inference::{self, day};
use crate::model::{Model, Provenance};
use crate::progress::Progress;
use crate::signal::Signal;

/// Options of [`fit`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitOptions {
    /// Stop when the penalised log-likelihood improves by less than this (absolute).
    pub tolerance: f64,
    /// Stop after this many iterations.
    pub max_iterations: u32,
    /// Learn the prior over regimes.
    pub fit_prior: bool,
    /// Learn the transition matrices.
    pub fit_transitions: bool,
    /// Learn the emission probabilities.
    pub fit_emissions: bool,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            tolerance: 1e-6,
            max_iterations: 200,
            fit_prior: true,
            fit_transitions: true,
            fit_emissions: true,
        }
    }
}

/// The result of [`fit`].
///
/// Its serde form carries the fitted model as its model file content (a [`crate::ModelSpec`], validated
/// again when read back).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FitReport {
    /// The fitted model (pseudo-counts plus expected counts as concentrations; provenance filled in).
    #[serde(with = "crate::model::as_spec")]
    pub model: Model,
    /// Log-likelihood of the episodes (complete daily likelihood, see the module docs) after each iteration's
    /// E-step, starting with the starting model.
    #[serde(with = "crate::serde_floats::list")]
    pub log_likelihood: Vec<f64>,
    /// Penalised log-likelihood (log-likelihood plus `Σ α ln θ`) at each iteration.
    #[serde(with = "crate::serde_floats::list")]
    pub objective: Vec<f64>,
    /// Iterations run.
    pub iterations: u32,
    /// Whether the tolerance was reached.
    pub converged: bool,
    /// Ids of the episodes not learnt from because they are marked `exclude_from_training`.
    #[serde(default)]
    pub excluded: Vec<String>,
}

/// Split episodes into the ids of those marked `exclude_from_training` and (copies of) the others.
pub(crate) fn split_excluded(episodes: &[Episode]) -> (Vec<String>, Vec<Episode>) {
    let excluded = episodes
        .iter()
        .filter(|e| e.exclude_from_training)
        .map(|e| e.case.id.clone())
        .collect();
    let kept = episodes
        .iter()
        .filter(|e| !e.exclude_from_training)
        .cloned()
        .collect();
    (excluded, kept)
}

impl FitReport {
    /// The report as JSON (its serde form, the fitted model included as a model spec).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("results always serialise")
    }
}

/// Expected counts of one E-step.
#[derive(Debug, Clone)]
struct Counts {
    prior: Vec<f64>,
    /// Per bucket, row-major k x k.
    trans: Vec<Vec<f64>>,
    /// Per type, per regime: expected reports.
    emit: Vec<Vec<f64>>,
    /// Per regime: expected days.
    days: Vec<f64>,
    loglik: f64,
}

impl Counts {
    fn zero(m: &Model) -> Counts {
        let k = m.n_regimes();
        Counts {
            prior: vec![0.0; k],
            trans: vec![vec![0.0; k * k]; m.buckets.len()],
            emit: vec![vec![0.0; k]; m.emissions.len()],
            days: vec![0.0; k],
            loglik: 0.0,
        }
    }
    fn add(mut self, o: Counts) -> Counts {
        let add = |a: &mut [f64], b: &[f64]| a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        add(&mut self.prior, &o.prior);
        for (a, b) in self.trans.iter_mut().zip(&o.trans) {
            add(a, b);
        }
        for (a, b) in self.emit.iter_mut().zip(&o.emit) {
            add(a, b);
        }
        add(&mut self.days, &o.days);
        self.loglik += o.loglik;
        self
    }
}

/// One prepared episode: observations grouped by day offset, the outcome index.
struct Prepared {
    n_days: usize,
    term_end: i64,
    start: i64,
    /// (day offset, obs) sorted by day.
    obs: Vec<(usize, inference::Obs)>,
    outcome: usize,
}

fn prepare(model: &Model, ep: &Episode) -> Result<Prepared> {
    let outcome = model.outcome_index(&ep.outcome)?;
    let obs = inference::to_obs(model, ep.case.signals())?;
    let (start, t) = (day(ep.case.start), day(ep.case.term_end));
    Ok(Prepared {
        n_days: (t - start + 1) as usize,
        term_end: t,
        start,
        obs: obs.into_iter().map(|o| ((o.day - start) as usize, o)).collect(),
        outcome,
    })
}

/// Daily emission factors (scaled per day; the log scale is returned alongside).
fn emission_factors(model: &Model, ep: &Prepared) -> (Vec<f64>, f64) {
    let k = model.n_regimes();
    let absent: Vec<f64> = (0..k)
        .map(|j| {
            model
                .emissions
                .iter()
                .filter(|e| !e.neutral)
                .map(|e| (1.0 - e.q[j]).max(1e-300).ln())
                .sum()
        })
        .collect();
    let mut logs = vec![0.0; ep.n_days * k];
    for d in 0..ep.n_days {
        logs[d * k..(d + 1) * k].copy_from_slice(&absent);
    }
    let mut seen: Vec<(usize, usize)> = Vec::new();
    for (d, o) in &ep.obs {
        let e = &model.emissions[o.ty];
        if e.neutral {
            continue;
        }
        let first = !seen.contains(&(*d, o.ty));
        if first {
            seen.push((*d, o.ty));
        }
        for j in 0..k {
            let l = o.w * (o.rho * e.q[j] + (1.0 - o.rho) * e.mean).ln();
            // The type was observed on this day: its absence factor does not apply (once per type and day).
            let undo = if first {
                (1.0 - e.q[j]).max(1e-300).ln()
            } else {
                0.0
            };
            logs[d * k + j] += l - undo;
        }
    }
    let mut offset = 0.0;
    let mut out = vec![0.0; ep.n_days * k];
    for d in 0..ep.n_days {
        let row = &logs[d * k..(d + 1) * k];
        let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        offset += m;
        for j in 0..k {
            out[d * k + j] = (row[j] - m).exp();
        }
    }
    // Outcome evidence at the term end.
    let last = ep.n_days - 1;
    for j in 0..k {
        if model.outcome_of[j] != ep.outcome {
            out[last * k + j] = 0.0;
        }
    }
    (out, offset)
}

/// Forward-backward over one episode: prior, transition and day counts, and the regime posteriors of every day.
fn e_step(model: &Model, ep: &Prepared) -> (Counts, Vec<f64>) {
    let k = model.n_regimes();
    let n = ep.n_days;
    let (e, offset) = emission_factors(model, ep);
    let bucket_of = |d: usize| model.bucket_for(ep.term_end - (ep.start + d as i64));
    // Forward.
    let mut alpha = vec![0.0; n * k];
    let mut c = vec![0.0; n];
    for j in 0..k {
        alpha[j] = model.prior[j] * e[j];
    }
    c[0] = alpha[..k].iter().sum();
    for d in 1..n {
        let p = &model.buckets[bucket_of(d - 1)].matrix;
        let (prev, cur) = alpha.split_at_mut(d * k);
        let prev = &prev[(d - 1) * k..];
        let inv = 1.0 / c[d - 1];
        for j in 0..k {
            let mut s = 0.0;
            for i in 0..k {
                s += prev[i] * inv * p[i * k + j];
            }
            cur[j] = s * e[d * k + j];
        }
        c[d] = cur[..k].iter().sum();
    }
    // Normalise alpha in place.
    for d in 0..n {
        let inv = 1.0 / c[d];
        alpha[d * k..(d + 1) * k].iter_mut().for_each(|a| *a *= inv);
    }
    let loglik = offset + c.iter().map(|x| x.ln()).sum::<f64>();
    // Backward with the same scaling.
    let mut counts = Counts::zero(model);
    let mut beta = vec![1.0; k];
    let mut gammas = vec![0.0; n * k];
    for d in (0..n).rev() {
        let gamma = &mut gammas[d * k..(d + 1) * k];
        for j in 0..k {
            gamma[j] = alpha[d * k + j] * beta[j];
        }
        let g: f64 = gamma.iter().sum();
        gamma.iter_mut().for_each(|x| *x /= g);
        for j in 0..k {
            counts.days[j] += gamma[j];
        }
        if d == 0 {
            counts.prior.copy_from_slice(gamma);
            break;
        }
        // Transition d-1 -> d.
        let b = bucket_of(d - 1);
        let p = &model.buckets[b].matrix;
        let mut nb = vec![0.0; k];
        let mut xi_sum = 0.0;
        let mut xi = vec![0.0; k * k];
        for i in 0..k {
            for j in 0..k {
                let v = alpha[(d - 1) * k + i] * p[i * k + j] * e[d * k + j] * beta[j] / c[d];
                xi[i * k + j] = v;
                xi_sum += v;
                nb[i] += p[i * k + j] * e[d * k + j] * beta[j] / c[d];
            }
        }
        for (t, x) in counts.trans[b].iter_mut().zip(&xi) {
            *t += x / xi_sum;
        }
        beta = nb;
    }
    counts.loglik = loglik;
    (counts, gammas)
}

fn episode_counts(model: &Model, ep: &Prepared) -> Counts {
    let (mut c, gamma) = e_step(model, ep);
    let k = model.n_regimes();
    for (d, o) in &ep.obs {
        let e = &model.emissions[o.ty];
        if e.neutral {
            continue;
        }
        for j in 0..k {
            let own = o.rho * e.q[j];
            let resp = if o.rho >= 1.0 {
                1.0
            } else {
                own / (own + (1.0 - o.rho) * e.mean)
            };
            c.emit[o.ty][j] += o.w * resp * gamma[d * k + j];
        }
    }
    c
}

fn log_prior(model: &Model, base: &Model) -> f64 {
    let k = model.n_regimes();
    let term = |a: f64, p: f64| if a > 0.0 { a * p.max(1e-300).ln() } else { 0.0 };
    let mut s = 0.0;
    for j in 0..k {
        s += term(base.prior[j] * base.prior_concentration, model.prior[j]);
    }
    for (b, b0) in model.buckets.iter().zip(&base.buckets) {
        for i in 0..k {
            for j in 0..k {
                s += term(b0.matrix[i * k + j] * b0.concentration[i], b.matrix[i * k + j]);
            }
        }
    }
    for (e, e0) in model.emissions.iter().zip(&base.emissions) {
        if e0.neutral {
            continue;
        }
        for j in 0..k {
            s += term(e0.q[j] * e0.concentration[j], e.q[j])
                + term((1.0 - e0.q[j]) * e0.concentration[j], 1.0 - e.q[j]);
        }
    }
    s
}

fn m_step(base: &Model, counts: &Counts, opts: &FitOptions, n_episodes: usize) -> Model {
    let k = base.n_regimes();
    let mut m = base.clone();
    if opts.fit_prior {
        let c0 = base.prior_concentration;
        for j in 0..k {
            m.prior[j] = (base.prior[j] * c0 + counts.prior[j]) / (c0 + n_episodes as f64);
        }
        m.prior_concentration = c0 + n_episodes as f64;
    }
    if opts.fit_transitions {
        for (bi, b) in m.buckets.iter_mut().enumerate() {
            let b0 = &base.buckets[bi];
            for i in 0..k {
                let row: f64 = counts.trans[bi][i * k..(i + 1) * k].iter().sum();
                let c = b0.concentration[i];
                for j in 0..k {
                    b.matrix[i * k + j] =
                        (b0.matrix[i * k + j] * c + counts.trans[bi][i * k + j]) / (c + row);
                }
                b.concentration[i] = c + row;
            }
        }
    }
    if opts.fit_emissions {
        for (ti, e) in m.emissions.iter_mut().enumerate() {
            let e0 = &base.emissions[ti];
            if e0.neutral {
                continue;
            }
            for j in 0..k {
                let c = e0.concentration[j];
                let n = counts.emit[ti][j].min(counts.days[j]);
                e.q[j] = ((e0.q[j] * c + n) / (c + counts.days[j])).clamp(1e-12, 1.0);
                e.concentration[j] = c + counts.days[j];
            }
        }
    }
    m.refresh();
    m
}

/// Fit a model to finished episodes by expected-count EM (see the module docs). Episodes marked
/// `exclude_from_training` are not learnt from; their ids are in [`FitReport::excluded`].
///
/// # Errors
/// [`Error::InvalidArgument`] with no episodes; [`Error::UnknownOutcome`] or [`Error::UnknownSignalType`] for an
/// episode the model cannot read; [`Error::Interrupted`] when `progress` cancels.
pub fn fit(
    model: &Model,
    episodes: &[Episode],
    opts: &FitOptions,
    progress: &dyn Progress,
) -> Result<FitReport> {
    if model.as_v2().is_some() {
        return Err(Error::argument(
            "model",
            "a v1 model (a v2 model is fitted by `pressure-forecast fit`, docs/learning.md)",
            model.name(),
        ));
    }
    if episodes.is_empty() {
        return Err(Error::argument(
            "episodes",
            "at least one finished episode",
            "none",
        ));
    }
    if !(opts.tolerance.is_finite() && opts.tolerance >= 0.0) {
        return Err(Error::argument(
            "tolerance",
            "a finite number >= 0",
            opts.tolerance,
        ));
    }
    let (excluded, kept) = split_excluded(episodes);
    if kept.is_empty() {
        return Err(Error::argument(
            "episodes",
            "at least one episode not marked exclude_from_training",
            format!("{} episodes, all excluded", episodes.len()),
        ));
    }
    let episodes = &kept[..];
    let prepared: Vec<Prepared> = episodes
        .iter()
        .map(|e| prepare(model, e))
        .collect::<Result<_>>()?;
    let mut lls = Vec::new();
    let mut objs = Vec::new();
    let mut converged = false;
    let mut iterations = 0;
    progress.start(u64::from(opts.max_iterations), "EM iterations");
    let mut counts = expected_counts(model, &prepared);
    lls.push(counts.loglik);
    objs.push(counts.loglik + log_prior(model, model));
    while iterations < opts.max_iterations {
        if progress.cancelled() {
            progress.finish();
            return Err(Error::Interrupted);
        }
        let next = m_step(model, &counts, opts, prepared.len());
        let next_counts = expected_counts(&next, &prepared);
        iterations += 1;
        progress.advance(1);
        let obj = next_counts.loglik + log_prior(&next, model);
        let gain = obj - objs[objs.len() - 1];
        counts = next_counts;
        lls.push(counts.loglik);
        objs.push(obj);
        if gain.abs() < opts.tolerance {
            converged = true;
            break;
        }
    }
    progress.finish();
    // Concentrations of the fitted model: pseudo-counts plus the expected counts under the final parameters.
    let fitted = m_step(model, &counts, opts, prepared.len());
    let provenance = Some(Provenance {
        base_model: model.name().to_owned(),
        episodes: episodes.iter().map(|e| e.case.id.clone()).collect(),
        iterations,
        log_likelihood: counts.loglik,
        converged,
        note: format!(
            "expected-count EM (MAP) from {} episodes, tolerance {}",
            episodes.len(),
            opts.tolerance
        ),
    });
    let fitted = fitted.renamed(format!("{}_fitted", model.name()), provenance);
    Ok(FitReport {
        model: fitted,
        log_likelihood: lls,
        objective: objs,
        iterations,
        converged,
        excluded,
    })
}

fn expected_counts(model: &Model, prepared: &[Prepared]) -> Counts {
    prepared
        .par_iter()
        .map(|p| episode_counts(model, p))
        .collect::<Vec<_>>()
        .into_iter()
        .fold(Counts::zero(model), Counts::add)
}

/// The complete daily log-likelihood of episodes under a model (the quantity EM increases).
///
/// # Errors
/// As [`fit`].
pub fn log_likelihood(model: &Model, episodes: &[Episode]) -> Result<f64> {
    let prepared: Vec<Prepared> = episodes
        .iter()
        .map(|e| prepare(model, e))
        .collect::<Result<_>>()?;
    Ok(expected_counts(model, &prepared).loglik)
}

/// Draw a synthetic episode from a model: a regime path from the prior and the daily transitions, each type
/// observed on each day with probability `q_s(regime)` (reliability 1, weight 1), and the outcome of the
/// regime at the term end.
pub fn sample_episode(
    model: &Model,
    id: &str,
    start: NaiveDate,
    term_end: NaiveDate,
    seed: u64,
) -> Result<Episode> {
    let mut case = Case::new(id, "SENDER", "TARGET", start, term_end)?;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let k = model.n_regimes();
    let pick = |rng: &mut Xoshiro256PlusPlus, p: &[f64]| {
        let u: f64 = rng.random();
        let mut acc = 0.0;
        for (i, x) in p.iter().enumerate() {
            acc += x;
            if u < acc {
                return i;
            }
        }
        p.len() - 1
    };
    let (s, t) = (day(start), day(term_end));
    let mut regime = pick(&mut rng, &model.prior);
    let mut signals = Vec::new();
    for d in s..=t {
        if d > s {
            let b = &model.buckets[model.bucket_for(t - (d - 1))];
            regime = pick(&mut rng, &b.matrix[regime * k..(regime + 1) * k]);
        }
        let date = start
            .checked_add_days(Days::new((d - s) as u64))
            .expect("date in range");
        for (e, name) in model.emissions.iter().zip(&model.meta.type_names) {
            if !e.neutral && rng.random::<f64>() < e.q[regime] {
                signals.push(Signal::new(name.clone(), date).with_id(format!("{name}-{}", d - s)));
            }
        }
    }
    case.append(signals, model)?;
    Ok(Episode::new(
        case,
        model.meta.outcomes[model.outcome_of[regime]].clone(),
    ))
}
