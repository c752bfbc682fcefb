//! Backtests of v2 models beside their baselines (MODEL.md, "Scoring"; issue 11, "Checked by").
//!
//! Every forecaster is replayed day by day from the episode's start to `T - 1`, each day with only the signals
//! dated up to it, and scored as in v1 ([`crate::backtest`](mod@crate::backtest)): Brier (sum over the three outcomes), log score,
//! both averaged over the days, one-vs-rest reliability bins and ECE with each episode weighing 1.
//!
//! The baselines (their training statistics from the training episodes, each set weighted by its weight, with
//! half a pseudo-count per outcome so that no outcome gets probability 0):
//! - `uniform`: 1/3 each;
//! - `base_rate`: the outcome frequencies of the training episodes;
//! - `prior_only`: the model (the refitted one under leave-one-out) with no signals at all;
//! - `codebook_base_rate`: eligibility known: the outcome frequencies of the training episodes with the same
//!   eligibility (no stalemate for an ineligible leader); after a fate signal dated so far, the no-deal mass
//!   goes to stalemate (stays) or wait_out (leaves); after a deal signal (reliability 1, not repudiated since)
//!   P(deal) = 1;
//! - `constant_deal_hazard`: a constant daily deal hazard `h` (deals / days at risk in the training episodes),
//!   P(deal by T | no deal yet on day d) = 1 - exp(-h (T - 1 - d)), the no-deal mass split as the codebook base
//!   rate's, P(deal) = 1 after a deal signal.
//!
//! Refits for leave-one-out or k-fold go through [`fold_scores`] (a pure function of the base model, the sets
//! and the held-out episodes), so any executor (a Python `concurrent.futures` pool, Dask) can map it;
//! [`report`] pools the per-episode scores.

use serde::{Deserialize, Serialize};

use crate::backtest::{Bin, Calibrator, brier, log_score};
use crate::case::Episode;
use crate::error::{Error, Result};
use crate::inference::day;
use crate::progress::Progress;
use crate::v2::filter::{self, Span, Walker};
use crate::v2::learn::{EpisodeSet, FitOptionsV2, fit};
use crate::v2::spec::{Fate, ModelV2, Role};
use crate::v2::{OUTCOMES, Terms};

/// Names of the baselines, in report order.
pub const BASELINES: [&str; 5] = [
    "uniform",
    "base_rate",
    "prior_only",
    "codebook_base_rate",
    "constant_deal_hazard",
];

/// Time-averaged scores of one forecaster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct NamedScores {
    /// The forecaster: `model` or a baseline's name.
    pub name: String,
    /// Mean Brier score.
    pub brier: f64,
    /// Mean log score.
    pub log_score: f64,
    /// Expected calibration error (pooled; 0 in per-episode scores).
    pub ece: f64,
}

/// The scores of one episode: the model's first, then the baselines' in [`BASELINES`] order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpisodeScoreV2 {
    /// The episode's id.
    pub id: String,
    /// What happened.
    pub outcome: String,
    /// Days scored (start to T - 1).
    pub days: usize,
    /// The model's forecast on the last day.
    pub final_probabilities: Vec<f64>,
    /// Scores: `model`, then each baseline.
    pub scores: Vec<NamedScores>,
    /// Reliability sums per forecaster, outcome and bin: (Σ w p, Σ w [o = y], Σ w).
    pub calibration: Vec<Vec<Vec<(f64, f64, f64)>>>,
}

/// A backtest's pooled result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BacktestReportV2 {
    /// The model's name.
    pub model: String,
    /// The episodes scored (a file or label).
    pub set: String,
    /// How the model was obtained for each episode: `given`, `leave-one-out` or `k-fold (k)`.
    pub refit: String,
    /// Number of episodes scored.
    pub episodes: usize,
    /// Mean scores of the model, then of each baseline.
    pub scores: Vec<NamedScores>,
    /// Per episode.
    pub per_episode: Vec<EpisodeScoreV2>,
    /// The model's reliability bins per outcome.
    pub calibration: Vec<Vec<Bin>>,
}

/// What the baselines learn from training episodes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrainingStats {
    /// Outcome frequencies.
    pub base_rate: [f64; 3],
    /// Outcome frequencies among eligible leaders.
    pub eligible: [f64; 3],
    /// Outcome frequencies among ineligible leaders (stalemate 0).
    pub ineligible: [f64; 3],
    /// Daily deal hazard: deals over days at risk.
    pub deal_hazard: f64,
}

/// The baselines' statistics from the training episodes of `sets` (excluded episodes left out), each set
/// weighted by its weight, half a pseudo-count per possible outcome.
pub fn training_stats(sets: &[EpisodeSet]) -> TrainingStats {
    let mut all = [0.5; 3];
    let mut el = [0.5; 3];
    let mut inel = [0.5, 0.0, 0.5];
    let (mut deals, mut exposure) = (0.5, 1.0);
    for set in sets {
        for ep in set.episodes.iter().filter(|e| !e.exclude_from_training) {
            let Some(o) = OUTCOMES.iter().position(|x| *x == ep.outcome) else {
                continue;
            };
            all[o] += set.weight;
            if ep.case.reelection_eligible {
                el[o] += set.weight;
            } else {
                inel[o] += set.weight;
            }
            let last = day(ep.case.term_end) - 1;
            let end = ep.deal_date().map_or(last, day);
            exposure += set.weight * (end - day(ep.case.start)).max(0) as f64;
            if o == 0 {
                deals += set.weight;
            }
        }
    }
    let norm = |v: [f64; 3]| {
        let s: f64 = v.iter().sum();
        v.map(|x| x / s)
    };
    TrainingStats {
        base_rate: norm(all),
        eligible: norm(el),
        ineligible: norm(inel),
        deal_hazard: deals / exposure,
    }
}

/// What the codebook-aware baselines know on a day: a standing deal, and the fate if revealed.
fn known(model: &ModelV2, evs: &[filter::Ev], d: i64) -> (bool, Option<Fate>) {
    let mut deal = false;
    let mut fate = None;
    for e in evs.iter().filter(|e| e.day <= d) {
        let t = &model.types[e.ty];
        if t.role == Role::Deal && !t.repudiates && e.rho >= 1.0 {
            deal = true;
        } else if t.repudiates {
            deal = false;
        } else if t.role == Role::Fate && e.rho >= 1.0 {
            fate = t.reveals;
        }
    }
    (deal, fate)
}

/// Split the no-deal mass `1 - pd` by the fate if known, else by `rates`' stalemate : wait_out.
fn split(pd: f64, fate: Option<Fate>, rates: &[f64; 3]) -> [f64; 3] {
    let rest = 1.0 - pd;
    match fate {
        Some(Fate::Stays) => [pd, rest, 0.0],
        Some(Fate::Leaves) => [pd, 0.0, rest],
        None => {
            let s = rates[1] + rates[2];
            [pd, rest * rates[1] / s, rest * rates[2] / s]
        }
    }
}

/// The model's daily forecasts from the start to `T - 1` with the signals dated up to each day.
fn replay(model: &ModelV2, span: Span, evs: &[filter::Ev]) -> Result<Vec<[f64; 3]>> {
    let mut w = Walker::new(model, span);
    w.set_inputs(evs);
    let mut st = w.start();
    let mut next = 0;
    let mut out = Vec::with_capacity((span.last - span.start + 1) as usize);
    for d in span.start..=span.last {
        st.input_limit = d;
        let mut j = next;
        while j < evs.len() && evs[j].day == d {
            j += 1;
        }
        filter::apply_day(&mut w, &mut st, d, &evs[next..j])?;
        next = j;
        w.advance(&mut st, d, false);
        let mut f = st.clone();
        out.push(filter::forecast_from(&mut w, &mut f));
    }
    Ok(out)
}

/// Score one episode with `model` and the baselines trained on `stats`.
///
/// # Errors
/// Resolving the episode's signals against the model; [`Error::UnknownOutcome`].
pub fn score_episode(
    model: &ModelV2,
    ep: &Episode,
    stats: &TrainingStats,
    bins: usize,
) -> Result<EpisodeScoreV2> {
    let terms = Terms::of_case(&ep.case);
    let span = Span::new(model, &terms)?;
    let y = OUTCOMES
        .iter()
        .position(|x| *x == ep.outcome)
        .ok_or_else(|| Error::UnknownOutcome {
            name: ep.outcome.clone(),
            valid: OUTCOMES.iter().map(|s| (*s).to_owned()).collect(),
        })?;
    let evs = filter::resolve(model, &span, ep.case.signals(), span.last)?;
    let own = replay(model, span, &evs)?;
    let prior = replay(model, span, &[])?;
    let elig = terms.reelection_eligible;
    let rates = if elig { stats.eligible } else { stats.ineligible };
    let n = own.len();
    let wgt = 1.0 / n as f64;
    let mut cals: Vec<Calibrator> = (0..=BASELINES.len()).map(|_| Calibrator::new(3, bins)).collect();
    let mut sums = vec![(0.0, 0.0); BASELINES.len() + 1];
    for (i, d) in (span.start..=span.last).enumerate() {
        let (deal, fate) = known(model, &evs, d);
        let codebook = if deal {
            [1.0, 0.0, 0.0]
        } else {
            split(rates[0], fate, &rates)
        };
        let hazard = if deal {
            [1.0, 0.0, 0.0]
        } else {
            let pd = -(-stats.deal_hazard * (span.last - d) as f64).exp_m1();
            split(pd, fate, &rates)
        };
        let fs: [[f64; 3]; 6] = [
            own[i],
            [1.0 / 3.0; 3],
            stats.base_rate,
            prior[i],
            codebook,
            hazard,
        ];
        for (f, p) in fs.iter().enumerate() {
            sums[f].0 += wgt * brier(p, y);
            sums[f].1 += wgt * log_score(p, y);
            cals[f].add(p, y, wgt);
        }
    }
    let names = std::iter::once("model").chain(BASELINES);
    Ok(EpisodeScoreV2 {
        id: ep.case.id.clone(),
        outcome: ep.outcome.clone(),
        days: n,
        final_probabilities: own.last().map(|p| p.to_vec()).unwrap_or_default(),
        scores: names
            .zip(&sums)
            .map(|(nm, s)| NamedScores {
                name: nm.to_owned(),
                brier: s.0,
                log_score: s.1,
                ece: 0.0,
            })
            .collect(),
        calibration: cals.into_iter().map(|c| c.sums).collect(),
    })
}

/// Options of [`backtest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BacktestOptionsV2 {
    /// Leave-one-out: each episode of the scored set forecast by a model fitted without it.
    pub loo: bool,
    /// k-fold instead of leave-one-out (episode `i` in fold `i mod k`); ignored when `loo`.
    pub folds: Option<usize>,
    /// Options of the refits.
    pub fit: FitOptionsV2,
    /// Number of reliability bins.
    pub bins: usize,
}

impl Default for BacktestOptionsV2 {
    fn default() -> Self {
        BacktestOptionsV2 {
            loo: false,
            folds: None,
            fit: FitOptionsV2::default(),
            bins: 10,
        }
    }
}

/// Fit `base` on `sets` without the episodes `held` of set `s`, then score those episodes with the fitted
/// model and with baselines trained on the same training episodes. Pure: the unit of work of leave-one-out
/// and k-fold, for any executor.
///
/// # Errors
/// As [`fit`] and [`score_episode`].
pub fn fold_scores(
    base: &ModelV2,
    sets: &[EpisodeSet],
    s: usize,
    held: &[usize],
    opts: &BacktestOptionsV2,
) -> Result<Vec<EpisodeScoreV2>> {
    let mut train = sets.to_vec();
    let mut keep = Vec::new();
    for (i, ep) in sets[s].episodes.iter().enumerate() {
        if !held.contains(&i) {
            keep.push(ep.clone());
        }
    }
    train[s].episodes = keep;
    let fitted = fit(base, &train, &opts.fit, &crate::progress::Silent)?.model;
    let stats = training_stats(&train);
    held.iter()
        .map(|&i| score_episode(&fitted, &sets[s].episodes[i], &stats, opts.bins))
        .collect()
}

/// Leave-one-out for episode `i` of set `s`: [`fold_scores`] with that episode held out.
///
/// # Errors
/// As [`fold_scores`].
pub fn loo_one(
    base: &ModelV2,
    sets: &[EpisodeSet],
    s: usize,
    i: usize,
    opts: &BacktestOptionsV2,
) -> Result<EpisodeScoreV2> {
    Ok(fold_scores(base, sets, s, &[i], opts)?.remove(0))
}

/// Pool per-episode scores into a report.
pub fn report(
    model: &str,
    set: &str,
    refit: &str,
    per_episode: Vec<EpisodeScoreV2>,
    bins: usize,
) -> BacktestReportV2 {
    let nf = BASELINES.len() + 1;
    let n = per_episode.len().max(1) as f64;
    let mut cals: Vec<Calibrator> = (0..nf).map(|_| Calibrator::new(3, bins)).collect();
    let mut scores: Vec<NamedScores> = std::iter::once("model")
        .chain(BASELINES)
        .map(|nm| NamedScores {
            name: nm.to_owned(),
            ..NamedScores::default()
        })
        .collect();
    for e in &per_episode {
        for f in 0..nf {
            scores[f].brier += e.scores[f].brier / n;
            scores[f].log_score += e.scores[f].log_score / n;
            for (o, bs) in e.calibration[f].iter().enumerate() {
                for (b, x) in bs.iter().enumerate() {
                    let c = &mut cals[f].sums[o][b];
                    c.0 += x.0;
                    c.1 += x.1;
                    c.2 += x.2;
                }
            }
        }
    }
    for (f, s) in scores.iter_mut().enumerate() {
        s.ece = cals[f].ece();
    }
    BacktestReportV2 {
        model: model.to_owned(),
        set: set.to_owned(),
        refit: refit.to_owned(),
        episodes: per_episode.len(),
        scores,
        calibration: cals[0].bins(),
        per_episode,
    }
}

/// Backtest the episodes of set `s` (those not marked `exclude_from_training`): with the model as given
/// (baselines trained on all of `sets`), or refitting `model` for each episode (leave-one-out) or each fold.
///
/// # Errors
/// [`Error::InvalidArgument`] for an empty set, fewer than 1 bin or 2 folds; as [`fold_scores`];
/// [`Error::Interrupted`].
pub fn backtest(
    model: &ModelV2,
    sets: &[EpisodeSet],
    s: usize,
    opts: &BacktestOptionsV2,
    progress: &dyn Progress,
) -> Result<BacktestReportV2> {
    if opts.bins == 0 {
        return Err(Error::argument("bins", "an integer >= 1", 0));
    }
    let idx: Vec<usize> = (0..sets[s].episodes.len())
        .filter(|&i| !sets[s].episodes[i].exclude_from_training)
        .collect();
    if idx.is_empty() {
        return Err(Error::argument(
            "episodes",
            "at least one episode to score",
            "none",
        ));
    }
    let folds: Vec<Vec<usize>> = if opts.loo {
        idx.iter().map(|&i| vec![i]).collect()
    } else if let Some(k) = opts.folds {
        if k < 2 {
            return Err(Error::argument("folds", "at least 2 folds", k));
        }
        (0..k)
            .map(|f| {
                idx.iter()
                    .enumerate()
                    .filter(|(n, _)| n % k == f)
                    .map(|(_, &i)| i)
                    .collect()
            })
            .filter(|v: &Vec<usize>| !v.is_empty())
            .collect()
    } else {
        Vec::new()
    };
    let mut per = Vec::with_capacity(idx.len());
    if folds.is_empty() {
        let stats = training_stats(sets);
        progress.start(idx.len() as u64, "episodes");
        for &i in &idx {
            if progress.cancelled() {
                progress.finish();
                return Err(Error::Interrupted);
            }
            per.push(score_episode(model, &sets[s].episodes[i], &stats, opts.bins)?);
            progress.advance(1);
        }
    } else {
        progress.start(folds.len() as u64, "refits");
        for f in &folds {
            if progress.cancelled() {
                progress.finish();
                return Err(Error::Interrupted);
            }
            per.extend(fold_scores(model, sets, s, f, opts)?);
            progress.advance(1);
        }
    }
    progress.finish();
    let refit = if opts.loo {
        "leave-one-out".to_owned()
    } else if let Some(k) = opts.folds {
        format!("{k}-fold")
    } else {
        "given".to_owned()
    };
    Ok(report(model.name(), &sets[s].source, &refit, per, opts.bins))
}
