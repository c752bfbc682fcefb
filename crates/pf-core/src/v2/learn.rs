//! Learning for v2 models (MODEL.md, "Learning from history"): the maximum a posteriori parameters of the
//! filter's own likelihood.
//!
//! # Formula
//! For episode `e` with outcome `y_e`, the objective is the filter's log-likelihood of its signals through
//! `T - 1` plus the log probability of the outcome at `T` (exactly [`crate::v2::episode_objective`]):
//!
//! ```text
//! l_e(theta) = ln P(signals through T-1 | theta) + ln P(y_e | filtered state at T-1, theta)
//! J(theta)   = sum_sets w_set sum_{e in set, not excluded} l_e(theta)                    (the objective)
//!            + sum_hazards,buckets -(ln r - ln r0)^2 / (2 sd^2)                          (log-normal rate priors)
//!            + sum_hazards,inputs  -(beta - m)^2 / (2 s^2)                               (Normal beta priors)
//!            + sum_regimes j sum_evidence types s  c q0_s(j) ln q_s(j)                  (Dirichlet(1 + c q0) rows)
//! ```
//!
//! `r0`, `m`, `s`, `q0` and `c` come from the model file (`prior_rate_per_year` or `rate_per_year`,
//! `rate_sd_log`, `betas.*.mean/sd`, `prior_q` or `q`, `evidence_concentration`). Each iteration:
//! 1. **EM for the q rows.** The E-step needs, for every evidence signal, the posterior of (F, regime) given the
//!    whole episode and its outcome: the filtered state just after the signal times the likelihood of the rest of
//!    the episode from each (F, regime), obtained by running the same filter on from a unit state (the filter is
//!    linear in its state except for Jeffrey's rule, so this is exact unless a later deal or fate signal has
//!    reliability below 1). A report's likelihood `rho q_s(j) + (1 - rho) mean_k q_s(k)` is a mixture: with
//!    probability `rho` it comes from regime `j`'s row, otherwise from a row `k` drawn uniformly; the latent
//!    "reliable or noise (k)" indicator gives expected counts `C_s(j)`, each multiplied by the report's weight.
//!    M-step: `q_s(j) = (C_s(j) + c q0_s(j)) / (sum_s C_s(j) + c)`.
//! 2. **Quasi-Newton step for ln(base rates) and betas**: the gradient of `J` by central finite differences on
//!    the exact objective (step 1e-5; analytic gradients through the filter's matrix powers are left for later),
//!    a BFGS inverse Hessian started at the prior variances, and a backtracking line search.
//!
//! Both steps are accepted only if `J` does not decrease (the EM step is halved toward the old rows when
//! Jeffrey's rule makes it inexact), so the reported `J` never decreases.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::case::{Episode, Vocabulary};
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::v2::filter::{self, Ev, Span, State, Walker};
use crate::v2::spec::{DAYS_PER_YEAR, ModelV2, N_INPUTS, Role, sha256_hex};
use crate::v2::{OUTCOMES, Terms};

/// One set of training episodes with its weight (its episodes' objectives are multiplied by it).
#[derive(Debug, Clone)]
pub struct EpisodeSet {
    /// Where the episodes came from (a file path, or a label).
    pub source: String,
    /// SHA-256 of the file's bytes, when read from a file.
    pub sha256: Option<String>,
    /// The set's weight (> 0).
    pub weight: f64,
    /// The episodes.
    pub episodes: Vec<Episode>,
}

impl EpisodeSet {
    /// A set of episodes held in memory.
    pub fn new(source: impl Into<String>, weight: f64, episodes: Vec<Episode>) -> EpisodeSet {
        EpisodeSet {
            source: source.into(),
            sha256: None,
            weight,
            episodes,
        }
    }

    /// Read an episodes file (JSON array or JSON Lines), leniently: signals dated outside their episode are
    /// left out and described in the warnings returned.
    ///
    /// # Errors
    /// [`Error::Io`], the first bad episode, or [`Error::InvalidArgument`] for a weight that is not > 0.
    pub fn load(
        path: impl AsRef<Path>,
        weight: f64,
        vocabulary: &impl Vocabulary,
    ) -> Result<(EpisodeSet, Vec<String>)> {
        let path = path.as_ref();
        if !(weight.is_finite() && weight > 0.0) {
            return Err(Error::argument("episodes-weight", "a finite weight > 0", weight));
        }
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.into(),
            source,
        })?;
        let text = String::from_utf8_lossy(&bytes);
        let (episodes, warnings) = Episode::parse_many_lenient(&text, vocabulary)?;
        Ok((
            EpisodeSet {
                source: path.display().to_string(),
                sha256: Some(sha256_hex(&bytes)),
                weight,
                episodes,
            },
            warnings,
        ))
    }
}

/// Options of [`fit`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitOptionsV2 {
    /// Maximum iterations (each one EM step on the q rows and one quasi-Newton step on the hazards).
    pub max_iterations: u32,
    /// Stop when an iteration raises `J` by less than `tolerance * (1 + |J|)`.
    pub tolerance: f64,
    /// Learn the evidence rows `q`.
    pub fit_evidence: bool,
    /// Learn the hazards' base rates and betas.
    pub fit_hazards: bool,
    /// Finite-difference step on ln(rate) and beta.
    pub step: f64,
}

impl Default for FitOptionsV2 {
    fn default() -> Self {
        FitOptionsV2 {
            max_iterations: 40,
            tolerance: 1e-7,
            fit_evidence: true,
            fit_hazards: true,
            step: 1e-5,
        }
    }
}

/// One data file of a fit, as recorded in the fitted model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataRecord {
    /// The file (or label).
    pub source: String,
    /// SHA-256 of the file's bytes (empty when not read from a file).
    #[serde(default)]
    pub sha256: String,
    /// The set's weight.
    pub weight: f64,
    /// Episodes used.
    pub episodes: usize,
    /// Episodes marked `exclude_from_training`, left out.
    #[serde(default)]
    pub excluded: usize,
}

/// How a model was fitted: written as `[fit]` in the fitted model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FitRecord {
    /// The model fitted from (name and version).
    pub base_model: String,
    /// SHA-256 of the base model's canonical TOML.
    pub base_model_hash: String,
    /// The day the fit ran (UTC).
    pub date: String,
    /// What was maximised and how.
    pub method: String,
    /// Iterations run.
    pub iterations: u32,
    /// Whether the tolerance was reached.
    pub converged: bool,
    /// The weighted objective without the priors' penalty.
    pub objective: f64,
    /// The objective with the penalty (what was maximised).
    pub penalised_objective: f64,
    /// The penalised objective after each iteration (the first entry: the base model).
    pub trace: Vec<f64>,
    /// The data.
    pub data: Vec<DataRecord>,
}

/// The result of [`fit`].
#[derive(Debug, Clone)]
pub struct FitReportV2 {
    /// The fitted model.
    pub model: ModelV2,
    /// How it was fitted.
    pub record: FitRecord,
    /// Episodes left out because the base model gives them probability 0 (their ids and why).
    pub skipped: Vec<String>,
}

/// A training episode resolved against the model.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub span: Span,
    pub evs: Vec<Ev>,
    pub outcome: usize,
    pub weight: f64,
}

impl Item {
    /// Resolve an episode (its signals through `T - 1`).
    pub(crate) fn new(model: &ModelV2, ep: &Episode, weight: f64) -> Result<Item> {
        let terms = Terms::of_case(&ep.case);
        let span = Span::new(model, &terms)?;
        let evs = filter::resolve(model, &span, ep.case.signals(), span.last)?;
        let outcome =
            OUTCOMES
                .iter()
                .position(|x| *x == ep.outcome)
                .ok_or_else(|| Error::UnknownOutcome {
                    name: ep.outcome.clone(),
                    valid: OUTCOMES.iter().map(|s| (*s).to_owned()).collect(),
                })?;
        Ok(Item {
            span,
            evs,
            outcome,
            weight,
        })
    }
}

/// Probability mass of `joint` (`[stays half, leaves half]`, normalised) on outcome `o`.
fn outcome_mass(model: &ModelV2, joint: &[f64], o: usize) -> f64 {
    let k = model.k;
    let mut p = 0.0;
    for h in 0..2 {
        for j in 0..k {
            let oj = if Some(j) == model.deal { 0 } else { 1 + h };
            if oj == o {
                p += joint[h * k + j];
            }
        }
    }
    p
}

/// The objective of one resolved episode: equal to [`crate::v2::episode_objective`] (`-inf` when the episode
/// has probability 0).
pub(crate) fn item_objective(model: &ModelV2, it: &Item) -> f64 {
    let mut w = Walker::new(model, it.span);
    w.set_inputs(&it.evs);
    match filter::filter_to(&mut w, &it.evs, it.span.last) {
        Ok(st) => st.log_likelihood() + outcome_mass(model, &st.joint(), it.outcome).ln(),
        Err(_) => f64::NEG_INFINITY,
    }
}

/// The weighted objective without the penalty: `sum_e w_e l_e`.
pub(crate) fn objective(model: &ModelV2, items: &[Item]) -> f64 {
    let mut s = 0.0;
    for it in items {
        let l = item_objective(model, it);
        if !l.is_finite() {
            return f64::NEG_INFINITY;
        }
        s += it.weight * l;
    }
    s
}

/// The prior's centres of a model's evidence rows: `prior_q` where the file gives it, else `q`.
fn prior_q(model: &ModelV2) -> Vec<Vec<f64>> {
    model
        .type_names
        .iter()
        .zip(&model.types)
        .map(|(n, t)| {
            model.spec.signals[n]
                .prior_q
                .clone()
                .filter(|q| q.len() == model.k)
                .unwrap_or_else(|| t.q.clone())
        })
        .collect()
}

/// The fitted parameters of the hazards: ln(base rate) per (hazard, bucket) with a positive rate and a
/// positive `rate_sd_log`, and every beta with a prior.
#[derive(Debug, Clone)]
struct HazardParams {
    rates: Vec<(usize, usize)>,
    betas: Vec<(usize, usize)>,
}

impl HazardParams {
    fn of(model: &ModelV2) -> HazardParams {
        let mut rates = Vec::new();
        let mut betas = Vec::new();
        for (h, hz) in model.hazards.iter().enumerate() {
            if hz.rate_sd_log > 0.0 {
                for (b, r) in hz.base.iter().enumerate() {
                    if *r > 0.0 && hz.prior_base[b] > 0.0 && model.buckets[b].matrix.is_none() {
                        rates.push((h, b));
                    }
                }
            }
            for i in 0..N_INPUTS {
                if hz.beta_prior[i].is_some() && model.inputs[i].present {
                    betas.push((h, i));
                }
            }
        }
        HazardParams { rates, betas }
    }
    fn len(&self) -> usize {
        self.rates.len() + self.betas.len()
    }
    fn get(&self, m: &ModelV2) -> Vec<f64> {
        let mut x: Vec<f64> = self
            .rates
            .iter()
            .map(|&(h, b)| m.hazards[h].base[b].ln())
            .collect();
        x.extend(self.betas.iter().map(|&(h, i)| m.hazards[h].beta[i]));
        x
    }
    fn set(&self, m: &mut ModelV2, x: &[f64]) {
        for (n, &(h, b)) in self.rates.iter().enumerate() {
            m.hazards[h].base[b] = x[n].exp();
        }
        let o = self.rates.len();
        for (n, &(h, i)) in self.betas.iter().enumerate() {
            m.hazards[h].beta[i] = x[o + n];
        }
        m.has_inputs = m
            .hazards
            .iter()
            .any(|hz| (0..N_INPUTS).any(|i| hz.beta[i] != 0.0 && m.inputs[i].present));
    }
    /// Prior scales (sd) of each parameter: the BFGS start.
    fn scales(&self, m: &ModelV2) -> Vec<f64> {
        let mut s: Vec<f64> = self
            .rates
            .iter()
            .map(|&(h, _)| m.hazards[h].rate_sd_log)
            .collect();
        s.extend(
            self.betas
                .iter()
                .map(|&(h, i)| m.hazards[h].beta_prior[i].expect("has a prior").1),
        );
        s
    }
}

/// The hazards' log prior (up to a constant): log-normal rates around their centres, Normal betas.
fn hazard_penalty(m: &ModelV2) -> f64 {
    let mut p = 0.0;
    for hz in &m.hazards {
        if hz.rate_sd_log > 0.0 {
            for (b, r) in hz.base.iter().enumerate() {
                if *r > 0.0 && hz.prior_base[b] > 0.0 {
                    let z = (r.ln() - hz.prior_base[b].ln()) / hz.rate_sd_log;
                    p -= 0.5 * z * z;
                }
            }
        }
        for i in 0..N_INPUTS {
            if let Some((mu, sd)) = hz.beta_prior[i] {
                let z = (hz.beta[i] - mu) / sd;
                p -= 0.5 * z * z;
            }
        }
    }
    p
}

/// The evidence rows' log prior (up to a constant): Dirichlet(1 + c q0) on each regime's row.
fn evidence_penalty(m: &ModelV2, q0: &[Vec<f64>]) -> f64 {
    let c = m.spec.evidence_concentration;
    let mut p = 0.0;
    for (t, q0t) in m.types.iter().zip(q0) {
        if t.role == Role::Evidence {
            for j in 0..m.k {
                p += c * q0t[j] * t.q[j].ln();
            }
        }
    }
    p
}

/// The priors' log density (up to a constant) at the model's parameters.
pub(crate) fn penalty(m: &ModelV2, q0: &[Vec<f64>]) -> f64 {
    hazard_penalty(m) + evidence_penalty(m, q0)
}

/// Set evidence rows: `q[s]` for every evidence type `s` (others ignored), with their means.
fn set_q(m: &mut ModelV2, q: &[Vec<f64>]) {
    for (t, qt) in m.types.iter_mut().zip(q) {
        if t.role == Role::Evidence {
            t.q.clone_from(qt);
            t.mean = qt.iter().sum::<f64>() / qt.len() as f64;
        }
    }
}

/// Continue the filter from `st` (its distribution replaced by `unit`) through the events `evs[next..]` to
/// the last day and the outcome: the log-likelihood of the rest of the episode from that state.
fn continuation(w: &mut Walker, st: &State, unit: &[f64], it: &Item, next: usize) -> f64 {
    let mut s = st.clone();
    s.set_joint(unit);
    let d = s.day;
    let mut i = next;
    while i < it.evs.len() && it.evs[i].day == d {
        if w.observe(&mut s, &it.evs[i]).is_err() {
            return f64::NEG_INFINITY;
        }
        i += 1;
    }
    while i < it.evs.len() {
        let d = it.evs[i].day;
        let mut j = i;
        while j < it.evs.len() && it.evs[j].day == d {
            j += 1;
        }
        if filter::apply_day(w, &mut s, d, &it.evs[i..j]).is_err() {
            return f64::NEG_INFINITY;
        }
        i = j;
    }
    w.advance(&mut s, it.span.last, false);
    let ll = s.log_likelihood();
    if !ll.is_finite() {
        return f64::NEG_INFINITY;
    }
    ll + outcome_mass(w.model, &s.joint(), it.outcome).ln()
}

/// The E-step for one episode: add the expected counts of its evidence signals to `counts[type][regime]`.
/// Returns the episode's objective as a check (the forward pass's).
pub(crate) fn expected_counts(model: &ModelV2, it: &Item, counts: &mut [Vec<f64>]) -> f64 {
    let k = model.k;
    let mut w = Walker::new(model, it.span);
    w.set_inputs(&it.evs);
    let mut st = w.start();
    st.input_limit = it.span.last;
    // Forward, keeping the state just after each evidence signal.
    let mut snaps: Vec<(usize, State)> = Vec::new();
    let mut i = 0;
    while i < it.evs.len() {
        let d = it.evs[i].day;
        let mut j = i;
        while j < it.evs.len() && it.evs[j].day == d {
            j += 1;
        }
        if d > st.day {
            let deal_day = model.deal.is_some()
                && it.evs[i..j]
                    .iter()
                    .any(|e| model.types[e.ty].role == Role::Deal && !model.types[e.ty].repudiates);
            if deal_day {
                w.advance(&mut st, d - 1, false);
                w.advance(&mut st, d, true);
            } else {
                w.advance(&mut st, d, false);
            }
        }
        for n in i..j {
            if w.observe(&mut st, &it.evs[n]).is_err() {
                return f64::NEG_INFINITY;
            }
            if model.types[it.evs[n].ty].role == Role::Evidence {
                snaps.push((n, st.clone()));
            }
        }
        i = j;
    }
    let mut end = st.clone();
    w.advance(&mut end, it.span.last, false);
    let total = end.log_likelihood() + outcome_mass(model, &end.joint(), it.outcome).ln();
    if !total.is_finite() {
        return total;
    }
    let mut unit = vec![0.0; 2 * k];
    for (n, snap) in &snaps {
        let e = it.evs[*n];
        let joint = snap.joint();
        // Posterior over (F, regime) at the signal: filtered x continuation.
        let mut lb = vec![f64::NEG_INFINITY; 2 * k];
        for (x, (p, l)) in joint.iter().zip(lb.iter_mut()).enumerate() {
            if *p > 0.0 {
                unit.iter_mut().for_each(|u| *u = 0.0);
                unit[x] = 1.0;
                *l = continuation(&mut w, snap, &unit, it, n + 1);
            }
        }
        let mx = lb.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        if !mx.is_finite() {
            continue;
        }
        let mut g = vec![0.0; k];
        for h in 0..2 {
            for j in 0..k {
                g[j] += joint[h * k + j] * (lb[h * k + j] - mx).exp();
            }
        }
        let z: f64 = g.iter().sum();
        if z.is_nan() || z <= 0.0 {
            continue;
        }
        let t = &model.types[e.ty];
        let noise = (1.0 - e.rho) * t.mean;
        for j in 0..k {
            let gj = g[j] / z;
            if gj == 0.0 {
                continue;
            }
            let l = e.rho * t.q[j] + noise;
            // Reliable: the report came from regime j's row.
            counts[e.ty][j] += e.w * gj * e.rho * t.q[j] / l;
            // Noise: it came from the row of a regime kk drawn uniformly.
            for kk in 0..k {
                counts[e.ty][kk] += e.w * gj * (1.0 - e.rho) * t.q[kk] / k as f64 / l;
            }
        }
    }
    total
}

/// The EM M-step: each regime's row from the expected counts and the Dirichlet(1 + c q0) prior.
fn m_step(model: &ModelV2, counts: &[Vec<f64>], q0: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let c = model.spec.evidence_concentration;
    let k = model.k;
    let mut q: Vec<Vec<f64>> = model.types.iter().map(|t| t.q.clone()).collect();
    for j in 0..k {
        let mut tot = 0.0;
        for (s, t) in model.types.iter().enumerate() {
            if t.role == Role::Evidence {
                tot += counts[s][j] + c * q0[s][j];
            }
        }
        for (s, t) in model.types.iter().enumerate() {
            if t.role == Role::Evidence {
                q[s][j] = (counts[s][j] + c * q0[s][j]) / tot;
            }
        }
    }
    q
}

/// Resolve the training sets: every episode not marked `exclude_from_training`, weighted by its set; episodes
/// the base model gives probability 0 are skipped and named.
pub(crate) fn items_of(
    model: &ModelV2,
    sets: &[EpisodeSet],
) -> Result<(Vec<Item>, Vec<DataRecord>, Vec<String>)> {
    let mut items = Vec::new();
    let mut data = Vec::new();
    let mut skipped = Vec::new();
    for set in sets {
        if !(set.weight.is_finite() && set.weight > 0.0) {
            return Err(Error::argument("weight", "a finite weight > 0", set.weight));
        }
        let mut used = 0;
        let mut excluded = 0;
        for ep in &set.episodes {
            if ep.exclude_from_training {
                excluded += 1;
                continue;
            }
            let it = Item::new(model, ep, set.weight)?;
            let l = item_objective(model, &it);
            if l.is_finite() {
                items.push(it);
                used += 1;
            } else {
                skipped.push(format!(
                    "{} ({}): the model gives its signals and outcome probability 0 (a deal episode needs an agreement_signed of reliability 1 before the term end)",
                    ep.case.id, set.source
                ));
            }
        }
        data.push(DataRecord {
            source: set.source.clone(),
            sha256: set.sha256.clone().unwrap_or_default(),
            weight: set.weight,
            episodes: used,
            excluded,
        });
    }
    Ok((items, data, skipped))
}

/// The weighted objective of a model on episode sets, without the penalty (`sum_e w_e l_e`), over the
/// episodes a fit would use.
///
/// # Errors
/// As [`fit`].
pub fn weighted_objective(model: &ModelV2, sets: &[EpisodeSet]) -> Result<f64> {
    let (items, _, _) = items_of(model, sets)?;
    Ok(objective(model, &items))
}

/// The penalised objective `J` of a model on episode sets: [`weighted_objective`] plus the log prior of the
/// model file's priors (up to a constant).
///
/// # Errors
/// As [`fit`].
pub fn penalised_objective(model: &ModelV2, sets: &[EpisodeSet]) -> Result<f64> {
    let (items, _, _) = items_of(model, sets)?;
    Ok(objective(model, &items) + penalty(model, &prior_q(model)))
}

/// Fit a v2 model to weighted episode sets (module docs): returns the fitted model (built from its own TOML,
/// so it loads back identically), the record of the fit and the episodes skipped.
///
/// # Errors
/// [`Error::InvalidArgument`] with no usable episode or a bad weight; [`Error::Interrupted`] when cancelled;
/// the errors of resolving an episode's signals against the model.
pub fn fit(
    base: &ModelV2,
    sets: &[EpisodeSet],
    opts: &FitOptionsV2,
    progress: &dyn Progress,
) -> Result<FitReportV2> {
    let (items, data, skipped) = items_of(base, sets)?;
    if items.is_empty() {
        return Err(Error::argument(
            "episodes",
            "at least one episode the model gives a positive probability",
            "none",
        ));
    }
    let q0 = prior_q(base);
    let mut m = base.clone();
    let hp = HazardParams::of(&m);
    let penal = |m: &ModelV2| objective(m, &items) + penalty(m, &q0);
    let mut j = penal(&m);
    let mut trace = vec![j];
    let mut converged = false;
    let mut iterations = 0;
    let scales = hp.scales(&m);
    let np = hp.len();
    // BFGS inverse Hessian of -J, started at the prior variances.
    let mut hinv: Vec<f64> = vec![0.0; np * np];
    for (i, s) in scales.iter().enumerate() {
        hinv[i * np + i] = s * s;
    }
    let mut last_step: Option<(Vec<f64>, Vec<f64>)> = None; // (s, gradient before the step)
    progress.start(u64::from(opts.max_iterations), "iterations");
    for _ in 0..opts.max_iterations {
        if progress.cancelled() {
            progress.finish();
            return Err(Error::Interrupted);
        }
        iterations += 1;
        let j_start = j;
        // 1. EM on the evidence rows.
        if opts.fit_evidence && m.types.iter().any(|t| t.role == Role::Evidence) {
            let mut counts = vec![vec![0.0; m.k]; m.types.len()];
            for it in &items {
                let mut c = vec![vec![0.0; m.k]; m.types.len()];
                expected_counts(&m, it, &mut c);
                for (a, b) in counts.iter_mut().zip(&c) {
                    for (x, y) in a.iter_mut().zip(b) {
                        *x += it.weight * y;
                    }
                }
            }
            let new_q = m_step(&m, &counts, &q0);
            let old_q: Vec<Vec<f64>> = m.types.iter().map(|t| t.q.clone()).collect();
            let mut t = 1.0;
            for _ in 0..20 {
                let mix: Vec<Vec<f64>> = old_q
                    .iter()
                    .zip(&new_q)
                    .map(|(o, n)| o.iter().zip(n).map(|(a, b)| a + t * (b - a)).collect())
                    .collect();
                let mut trial = m.clone();
                set_q(&mut trial, &mix);
                let jt = penal(&trial);
                if jt >= j {
                    m = trial;
                    j = jt;
                    break;
                }
                t *= 0.5;
            }
        }
        // 2. Quasi-Newton step on ln(rates) and betas.
        if opts.fit_hazards && np > 0 {
            let x = hp.get(&m);
            let g = gradient(&m, &hp, &x, opts.step, &penal);
            if let Some((s, g_old)) = last_step.take() {
                // y = change in the gradient of -J.
                let y: Vec<f64> = g_old.iter().zip(&g).map(|(a, b)| a - b).collect();
                bfgs_update(&mut hinv, &s, &y, np);
            }
            let mut d = vec![0.0; np];
            for r in 0..np {
                d[r] = (0..np).map(|c| hinv[r * np + c] * g[c]).sum();
            }
            let mut slope: f64 = d.iter().zip(&g).map(|(a, b)| a * b).sum();
            if slope.is_nan() || slope <= 0.0 {
                // Not an ascent direction: restart from the prior variances.
                hinv.iter_mut().for_each(|v| *v = 0.0);
                for (i, s) in scales.iter().enumerate() {
                    hinv[i * np + i] = s * s;
                    d[i] = s * s * g[i];
                }
                slope = d.iter().zip(&g).map(|(a, b)| a * b).sum();
            }
            // Two tries: the BFGS direction, then (if no step along it raises J) the gradient scaled by the
            // prior variances, with the inverse Hessian restarted.
            for attempt in 0..2 {
                if attempt == 1 {
                    hinv.iter_mut().for_each(|v| *v = 0.0);
                    for (i, s) in scales.iter().enumerate() {
                        hinv[i * np + i] = s * s;
                        d[i] = s * s * g[i];
                    }
                    slope = d.iter().zip(&g).map(|(a, b)| a * b).sum();
                }
                let mut t = 1.0;
                // Keep the first trial step within 2 prior sds per coordinate.
                let big = d
                    .iter()
                    .zip(&scales)
                    .map(|(a, s)| a.abs() / (2.0 * s))
                    .fold(0.0, f64::max);
                if big > 1.0 {
                    t = 1.0 / big;
                }
                let mut moved = false;
                for _ in 0..30 {
                    let xt: Vec<f64> = x.iter().zip(&d).map(|(a, b)| a + t * b).collect();
                    let mut trial = m.clone();
                    hp.set(&mut trial, &xt);
                    let jt = penal(&trial);
                    if jt.is_finite() && jt >= j + 1e-4 * t * slope {
                        last_step = Some((xt.iter().zip(&x).map(|(a, b)| a - b).collect(), g.clone()));
                        m = trial;
                        j = jt;
                        moved = true;
                        break;
                    }
                    t *= 0.5;
                }
                if moved {
                    break;
                }
            }
        }
        trace.push(j);
        progress.advance(1);
        if j - j_start < opts.tolerance * (1.0 + j.abs()) {
            converged = true;
            break;
        }
    }
    progress.finish();
    let obj = objective(&m, &items);
    let record = FitRecord {
        base_model: format!("{} {}", base.name(), base.version()).trim().to_owned(),
        base_model_hash: base.hash().to_owned(),
        date: crate::dates::today().to_string(),
        method: "MAP of the filter's own episode objective (log-likelihood through T-1 plus log P(outcome at T)), \
                 weighted by episode set, with the model file's priors: EM for the evidence rows q (expected \
                 counts, reliable/noise mixture, Dirichlet(1 + c q0)); BFGS on ln(base rates) and betas with \
                 central finite-difference gradients and a backtracking line search; log-normal rate and Normal \
                 beta priors"
            .to_owned(),
        iterations,
        converged,
        objective: obj,
        penalised_objective: j,
        trace,
        data,
    };
    let text = fitted_toml(None, base, &m, &record)?;
    let model = ModelV2::from_toml_str(&text)?;
    Ok(FitReportV2 {
        model,
        record,
        skipped,
    })
}

fn gradient(m: &ModelV2, hp: &HazardParams, x: &[f64], h: f64, penal: &dyn Fn(&ModelV2) -> f64) -> Vec<f64> {
    let mut g = vec![0.0; x.len()];
    let mut trial = m.clone();
    let mut xt = x.to_vec();
    for i in 0..x.len() {
        xt[i] = x[i] + h;
        hp.set(&mut trial, &xt);
        let up = penal(&trial);
        xt[i] = x[i] - h;
        hp.set(&mut trial, &xt);
        let down = penal(&trial);
        xt[i] = x[i];
        g[i] = if up.is_finite() && down.is_finite() {
            (up - down) / (2.0 * h)
        } else {
            0.0
        };
    }
    g
}

/// BFGS update of the inverse Hessian `hinv` with step `s` and gradient change `y` (of the function
/// minimised); skipped when the curvature `s.y` is not positive.
fn bfgs_update(hinv: &mut [f64], s: &[f64], y: &[f64], n: usize) {
    let sy: f64 = s.iter().zip(y).map(|(a, b)| a * b).sum();
    if sy.is_nan() || sy <= 1e-12 {
        return;
    }
    let rho = 1.0 / sy;
    let hy: Vec<f64> = (0..n)
        .map(|r| (0..n).map(|c| hinv[r * n + c] * y[c]).sum())
        .collect();
    let yhy: f64 = y.iter().zip(&hy).map(|(a, b)| a * b).sum();
    for r in 0..n {
        for c in 0..n {
            hinv[r * n + c] += (1.0 + rho * yhy) * rho * s[r] * s[c] - rho * (hy[r] * s[c] + s[r] * hy[c]);
        }
    }
}

/// Round to 6 significant digits (fitted values in the file are read by people; the model is rebuilt from
/// the rounded file, so what is saved is exactly what forecasts).
fn sig6(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let e = x.abs().log10().floor() as i32;
    let f = 10f64.powi(5 - e);
    (x * f).round() / f
}

fn num_array(v: &[f64]) -> toml_edit::Value {
    let mut a = toml_edit::Array::new();
    for x in v {
        a.push(sig6(*x));
    }
    toml_edit::Value::Array(a)
}

/// The fitted model file: the base model's text (its comments kept) with the fitted rates, betas and q rows
/// written in, the base values kept as the priors' centres (`prior_rate_per_year`, `betas.*.mean`,
/// `prior_q`), and the `[fit]` record with a header explaining it. `base_text` is the base model file (its
/// canonical TOML when `None`).
///
/// # Errors
/// [`Error::InvalidModel`] when the base text does not parse.
pub fn fitted_toml(
    base_text: Option<&str>,
    base: &ModelV2,
    fitted: &ModelV2,
    record: &FitRecord,
) -> Result<String> {
    let canonical;
    let text = match base_text {
        Some(t) => t,
        None => {
            canonical = base.to_toml_string();
            &canonical
        }
    };
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| Error::model("model file", "valid TOML", e.to_string()))?;
    doc.remove("fit");
    let name = format!("{}_fitted", base.name().trim_end_matches("_fitted"));
    doc["name"] = toml_edit::value(name);
    if let Some(hz) = doc.get_mut("hazards").and_then(|h| h.as_array_of_tables_mut()) {
        for (i, t) in hz.iter_mut().enumerate() {
            let h = &fitted.hazards[i];
            let per_year: Vec<f64> = h.base.iter().map(|r| r * DAYS_PER_YEAR).collect();
            if !t.contains_key("prior_rate_per_year") {
                let old = t.get("rate_per_year").and_then(|v| v.as_value()).cloned();
                if let Some(mut old) = old {
                    old.decor_mut()
                        .set_suffix("  # the prior's centre: the base model's rate");
                    t.insert("prior_rate_per_year", toml_edit::Item::Value(old));
                }
            }
            let mut v = num_array(&per_year);
            v.decor_mut().set_suffix("  # fitted");
            t.insert("rate_per_year", toml_edit::Item::Value(v));
            if let Some(betas) = t.get_mut("betas") {
                for (iname, item) in betas.as_table_like_mut().into_iter().flat_map(|b| b.iter_mut()) {
                    let idx = crate::v2::spec::Input::ALL
                        .iter()
                        .position(|x| x.name() == iname.get());
                    if let (Some(idx), Some(tab)) = (idx, item.as_table_like_mut()) {
                        tab.insert("value", toml_edit::value(sig6(h.beta[idx])));
                    }
                }
            }
        }
    }
    if let Some(sig) = doc.get_mut("signals").and_then(|s| s.as_table_like_mut()) {
        for (name, item) in sig.iter_mut() {
            let Ok(ti) = fitted.type_index(name.get()) else {
                continue;
            };
            let t = &fitted.types[ti];
            if t.role != Role::Evidence {
                continue;
            }
            if let Some(tab) = item.as_table_like_mut() {
                if tab.get("prior_q").is_none()
                    && let Some(old) = tab.get("q").and_then(|v| v.as_value()).cloned()
                {
                    tab.insert("prior_q", toml_edit::Item::Value(old));
                }
                // Full precision: the rows must still sum to 1 within 1e-9.
                let mut a = toml_edit::Array::new();
                t.q.iter().for_each(|x| a.push(*x));
                tab.insert("q", toml_edit::value(a));
            }
        }
    }
    let mut out = String::new();
    out.push_str(&format!(
        "# FITTED by `pressure-forecast fit` on {} from {} (SHA-256 {}).\n\
         # What was maximised: the posterior of the filter's own episode objective (MODEL.md, \"Learning from\n\
         # history\"): for every training episode, the log-likelihood of its signals through T-1 plus\n\
         # ln P(outcome | filtered state at T), multiplied by its set's weight, plus the log priors stated below\n\
         # with each parameter: ln(rate) ~ Normal(ln(prior_rate_per_year), rate_sd_log); beta ~ Normal(mean, sd);\n\
         # each regime's evidence row ~ Dirichlet(1 + evidence_concentration * prior_q). The fitted values are\n\
         # `rate_per_year`, `betas.*.value` and `q`; the comments beside them are the base model's and explain the\n\
         # priors, not the fitted numbers. How: EM for q, BFGS on ln(rates) and betas with finite-difference\n\
         # gradients, a line search that never lowers the objective ([fit] below, docs/learning.md).\n",
        record.date, record.base_model, record.base_model_hash
    ));
    out.push_str(&doc.to_string());
    out.push_str(
        "\n# ---- How this file was fitted (written by `pressure-forecast fit`) ----\n\
         # data: each episode file with its SHA-256, its weight (curated episodes count 1; episodes derived\n\
         # from a sanctions dataset, with sparse signals and rule-based labels, count less: the command\n\
         # line says how much), the episodes used and those marked exclude_from_training.\n\
         # objective: the weighted sum of the episode objectives at the fitted parameters; penalised_objective adds\n\
         # the log priors (up to a constant); trace: the penalised objective after each iteration.\n",
    );
    #[derive(Serialize)]
    struct Wrap<'a> {
        fit: &'a FitRecord,
    }
    out.push_str(
        &toml::to_string(&Wrap { fit: record })
            .map_err(|e| Error::model("fit", "a serialisable fit record", e.to_string()))?,
    );
    Ok(out)
}

/// Fit and write: the fitted model's file text from the base file's text (comments kept).
///
/// # Errors
/// As [`fit`] and [`fitted_toml`].
pub fn fit_to_toml(
    base_text: &str,
    sets: &[EpisodeSet],
    opts: &FitOptionsV2,
    progress: &dyn Progress,
) -> Result<(String, FitReportV2)> {
    let base = ModelV2::from_toml_str(base_text)?;
    let mut rep = fit(&base, sets, opts, progress)?;
    // Rebuild the text with the base file's comments; the model is the one read back from that text.
    let fitted_raw = rep.model.clone();
    let text = fitted_toml(Some(base_text), &base, &fitted_raw, &rep.record)?;
    rep.model = ModelV2::from_toml_str(&text)?;
    // The record's objective is that of the model as written.
    let (items, _, _) = items_of(&base, sets)?;
    rep.record.objective = objective(&rep.model, &items);
    let text = fitted_toml(Some(base_text), &base, &rep.model, &rep.record)?;
    rep.model = ModelV2::from_toml_str(&text)?;
    Ok((text, rep))
}

/// The parameters `fit` learns, by name, with their values: `hazard.FROM->TO.rate_per_year[BUCKET]` (every
/// bucket's base rate, per year), `hazard.FROM->TO.beta.INPUT` (every beta on an input the model has) and
/// `q.TYPE[REGIME]` (every evidence type's row). Two models of the same file shape give the same names in the
/// same order, so a fitted model can be set beside its base.
pub fn parameters(model: &ModelV2) -> Vec<(String, f64)> {
    let spec = model.spec();
    let mut out = Vec::new();
    for hz in &model.hazards {
        let (from, to) = (&model.regimes[hz.from], &model.regimes[hz.to]);
        for (b, r) in hz.base.iter().enumerate() {
            let bucket = spec
                .buckets
                .get(b)
                .map_or_else(|| b.to_string(), |x| x.name.clone());
            out.push((
                format!("hazard.{from}->{to}.rate_per_year[{bucket}]"),
                r * DAYS_PER_YEAR,
            ));
        }
        for (i, input) in crate::v2::spec::Input::ALL.iter().enumerate() {
            if model.inputs[i].present && (hz.beta[i] != 0.0 || hz.beta_prior[i].is_some()) {
                out.push((format!("hazard.{from}->{to}.beta.{}", input.name()), hz.beta[i]));
            }
        }
    }
    for (name, t) in model.type_names.iter().zip(&model.types) {
        if t.role == Role::Evidence {
            for (j, q) in t.q.iter().enumerate() {
                out.push((format!("q.{name}[{}]", model.regimes[j]), *q));
            }
        }
    }
    out
}

/// Leave-one-out helper: the sets with episode `i` of set `s` left out.
pub fn without(sets: &[EpisodeSet], s: usize, i: usize) -> Vec<EpisodeSet> {
    sets.iter()
        .enumerate()
        .map(|(n, set)| {
            let mut c = set.clone();
            if n == s {
                c.episodes.remove(i);
            }
            c
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v2::learn_sample::{SampleOptions, sample_episodes};

    /// The E-step's backward runs are exact: at every evidence signal, the filtered state times the
    /// continuation likelihoods gives back the episode's objective (all signals of reliability 1).
    #[test]
    fn backward_runs_recover_the_objective_at_every_evidence_signal() {
        let model = ModelV2::default_model();
        let eps = sample_episodes(
            &model,
            &SampleOptions {
                n: 6,
                days: 900,
                ..SampleOptions::default()
            },
        )
        .unwrap();
        let k = model.k;
        for ep in &eps {
            let it = Item::new(&model, ep, 1.0).unwrap();
            let total = item_objective(&model, &it);
            assert!(total.is_finite());
            let mut w = Walker::new(&model, it.span);
            w.set_inputs(&it.evs);
            let mut st = w.start();
            st.input_limit = it.span.last;
            let mut i = 0;
            let mut checked = 0;
            while i < it.evs.len() {
                let d = it.evs[i].day;
                let mut j = i;
                while j < it.evs.len() && it.evs[j].day == d {
                    j += 1;
                }
                filter::apply_day(&mut w, &mut st, d, &it.evs[i..j]).unwrap();
                // After the whole day: continue from each (F, regime).
                let joint = st.joint();
                let mut acc = 0.0;
                for x in 0..2 * k {
                    if joint[x] > 0.0 {
                        let mut unit = vec![0.0; 2 * k];
                        unit[x] = 1.0;
                        acc += joint[x] * continuation(&mut w, &st, &unit, &it, j).exp();
                    }
                }
                let got = st.log_likelihood() + acc.ln();
                assert!(
                    (got - total).abs() < 1e-9 * (1.0 + total.abs()),
                    "{got} vs {total}"
                );
                checked += 1;
                i = j;
            }
            assert!(checked > 0);
        }
    }
}
