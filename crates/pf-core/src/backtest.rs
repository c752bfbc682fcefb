//! Scoring and backtests.
//!
//! # Formula
//! For a forecast `p` over `K` outcomes and the outcome `y` that happened:
//!
//! ```text
//! Brier(p, y) = Σ_o (p_o - [o = y])²        in [0, 2]; uniform over 3 outcomes scores 2/3
//! Log(p, y)   = -ln p_y
//! ```
//!
//! An episode's score is the mean of its daily scores from start to term end, each day forecast with only the
//! signals dated up to that day (as-of replay, no look-ahead). Calibration pools the daily forecasts of all
//! episodes, each episode weighing 1 in total, into one-vs-rest reliability bins per outcome;
//! `ECE = Σ_bins (weight_b / W) · |mean predicted_b - observed frequency_b|`, averaged over outcomes.

use serde::{Deserialize, Serialize};

use crate::case::Episode;
use crate::error::{Error, Result};
use crate::inference::Resolution;
use crate::learn::{self, FitOptions};
use crate::model::Model;
use crate::progress::Progress;

/// Smallest probability used in the log score (a forecast of exactly 0 for what happened scores
/// `-ln(1e-300)`, about 690, instead of infinity).
pub const LOG_FLOOR: f64 = 1e-300;

/// Brier score of one forecast.
pub fn brier(p: &[f64], y: usize) -> f64 {
    p.iter()
        .enumerate()
        .map(|(o, x)| (x - if o == y { 1.0 } else { 0.0 }).powi(2))
        .sum()
}

/// Log score (natural log) of one forecast.
pub fn log_score(p: &[f64], y: usize) -> f64 {
    -p[y].max(LOG_FLOOR).ln()
}

/// Options of [`backtest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BacktestOptions {
    /// Leave-one-out cross-validation: forecast each episode with a model fitted on the others.
    pub loo: bool,
    /// Options of the fits run for leave-one-out.
    pub fit: FitOptions,
    /// Number of equal-width reliability bins.
    pub bins: usize,
}

impl Default for BacktestOptions {
    fn default() -> Self {
        BacktestOptions {
            loo: false,
            fit: FitOptions::default(),
            bins: 10,
        }
    }
}

/// Time-averaged scores.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Scores {
    /// Mean Brier score.
    pub brier: f64,
    /// Mean log score.
    pub log_score: f64,
    /// Expected calibration error.
    pub ece: f64,
}

/// The scores of one episode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpisodeScore {
    /// The episode's id.
    pub id: String,
    /// What happened.
    pub outcome: String,
    /// Days forecast (start to term end inclusive).
    pub days: usize,
    /// Time-averaged Brier score.
    pub brier: f64,
    /// Time-averaged log score.
    pub log_score: f64,
    /// The forecast on the term end (all signals).
    pub final_probabilities: Vec<f64>,
    /// Baseline scores for this episode: uniform, base rate, prior.
    pub baselines: Baselines,
}

/// Scores of the three reference forecasts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Baselines {
    /// Uniform over outcomes.
    pub uniform: Scores,
    /// Outcome frequencies of the training episodes.
    pub base_rate: Scores,
    /// The model's prior alone (no signals).
    pub prior: Scores,
}

/// One reliability bin.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bin {
    /// Lower edge.
    pub lower: f64,
    /// Upper edge.
    pub upper: f64,
    /// Weighted mean forecast probability in the bin (none for an empty bin).
    pub mean_predicted: Option<f64>,
    /// Weighted frequency of the outcome in the bin (none for an empty bin).
    pub observed: Option<f64>,
    /// Total weight (episodes' worth of days) in the bin.
    pub weight: f64,
}

/// The result of a backtest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BacktestReport {
    /// The model's name.
    pub model: String,
    /// Outcome names.
    pub outcomes: Vec<String>,
    /// Number of episodes scored (those not excluded from training).
    pub episodes: usize,
    /// Whether leave-one-out fits were used.
    pub loo: bool,
    /// Mean over episodes of the time-averaged scores, and the pooled ECE.
    pub scores: Scores,
    /// The same for the baselines.
    pub baselines: Baselines,
    /// Per episode.
    pub per_episode: Vec<EpisodeScore>,
    /// Reliability bins per outcome (the model's forecasts).
    pub calibration: Vec<Vec<Bin>>,
    /// Ids of the episodes left out because they are marked `exclude_from_training`.
    #[serde(default)]
    pub excluded: Vec<String>,
}

impl BacktestReport {
    /// The report as JSON: its serde form (scores under `scores`, calibration bins in outcome order, an empty
    /// bin's mean and frequency `null`).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("results always serialise")
    }
}

/// Accumulates weighted forecasts into reliability bins.
#[derive(Debug, Clone)]
pub(crate) struct Calibrator {
    /// Per outcome, per bin: (Σ w p, Σ w [o = y], Σ w).
    pub(crate) sums: Vec<Vec<(f64, f64, f64)>>,
}

impl Calibrator {
    pub(crate) fn new(m: usize, bins: usize) -> Self {
        Calibrator {
            sums: vec![vec![(0.0, 0.0, 0.0); bins]; m],
        }
    }
    pub(crate) fn add(&mut self, p: &[f64], y: usize, w: f64) {
        let nb = self.sums[0].len();
        for (o, &x) in p.iter().enumerate() {
            let b = ((x * nb as f64) as usize).min(nb - 1);
            let s = &mut self.sums[o][b];
            s.0 += w * x;
            s.1 += w * if o == y { 1.0 } else { 0.0 };
            s.2 += w;
        }
    }
    pub(crate) fn bins(&self) -> Vec<Vec<Bin>> {
        let nb = self.sums[0].len();
        self.sums
            .iter()
            .map(|bs| {
                bs.iter()
                    .enumerate()
                    .map(|(i, (sp, sy, w))| Bin {
                        lower: i as f64 / nb as f64,
                        upper: (i + 1) as f64 / nb as f64,
                        mean_predicted: (*w > 0.0).then(|| sp / w),
                        observed: (*w > 0.0).then(|| sy / w),
                        weight: *w,
                    })
                    .collect()
            })
            .collect()
    }
    pub(crate) fn ece(&self) -> f64 {
        let m = self.sums.len() as f64;
        self.sums
            .iter()
            .map(|bs| {
                let total: f64 = bs.iter().map(|b| b.2).sum();
                bs.iter()
                    .filter(|b| b.2 > 0.0)
                    .map(|(sp, sy, w)| (w / total) * (sp / w - sy / w).abs())
                    .sum::<f64>()
            })
            .sum::<f64>()
            / m
    }
}

/// Daily forecasts of an episode from start to term end with only the signals dated up to each day.
///
/// # Errors
/// [`Error::UnknownSignalType`].
pub fn replay(model: &Model, episode: &Episode) -> Result<Vec<Vec<f64>>> {
    let t = model.trajectory(&episode.case, None, None, Resolution::Daily)?;
    Ok(t.points.into_iter().map(|p| p.probabilities).collect())
}

fn base_rate(model: &Model, episodes: &[&Episode]) -> Result<Vec<f64>> {
    let m = model.n_outcomes();
    let mut c = vec![0.0; m];
    for e in episodes {
        c[model.outcome_index(&e.outcome)?] += 1.0;
    }
    let n: f64 = c.iter().sum();
    Ok(if n > 0.0 {
        c.iter().map(|x| x / n).collect()
    } else {
        vec![1.0 / m as f64; m]
    })
}

/// Replay every episode day by day and score the forecasts against what happened, beside the uniform, base
/// rate and prior-only baselines; with `loo`, each episode is forecast by a model fitted on the others.
/// Episodes marked `exclude_from_training` are neither scored nor used for base rates or fits; their ids are
/// in [`BacktestReport::excluded`].
///
/// # Errors
/// [`Error::InvalidArgument`] with no episodes or fewer than 1 bin (or fewer than 2 episodes with `loo`);
/// the errors of [`learn::fit`] and of replay.
pub fn backtest(
    model: &Model,
    episodes: &[Episode],
    opts: &BacktestOptions,
    progress: &dyn Progress,
) -> Result<BacktestReport> {
    if episodes.is_empty() {
        return Err(Error::argument(
            "episodes",
            "at least one finished episode",
            "none",
        ));
    }
    let (excluded, kept) = learn::split_excluded(episodes);
    if kept.is_empty() {
        return Err(Error::argument(
            "episodes",
            "at least one episode not marked exclude_from_training",
            format!("{} episodes, all excluded", episodes.len()),
        ));
    }
    let episodes = &kept[..];
    if opts.bins == 0 {
        return Err(Error::argument("bins", "an integer >= 1", 0));
    }
    if opts.loo && episodes.len() < 2 {
        return Err(Error::argument(
            "episodes",
            "at least two episodes for leave-one-out",
            episodes.len(),
        ));
    }
    let m = model.n_outcomes();
    let mut cal = Calibrator::new(m, opts.bins);
    let mut cal_uniform = Calibrator::new(m, opts.bins);
    let mut cal_base = Calibrator::new(m, opts.bins);
    let mut cal_prior = Calibrator::new(m, opts.bins);
    let mut per_episode = Vec::with_capacity(episodes.len());
    progress.start(episodes.len() as u64, "episodes");
    for (i, ep) in episodes.iter().enumerate() {
        if progress.cancelled() {
            progress.finish();
            return Err(Error::Interrupted);
        }
        let y = model.outcome_index(&ep.outcome)?;
        let others: Vec<&Episode> = episodes
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, e)| e)
            .collect();
        let (used, train): (Model, Vec<&Episode>) = if opts.loo {
            let train: Vec<Episode> = others.iter().map(|e| (*e).clone()).collect();
            let fitted = learn::fit(model, &train, &opts.fit, &crate::progress::Silent)?.model;
            (fitted, others)
        } else {
            (model.clone(), episodes.iter().collect())
        };
        let daily = replay(&used, ep)?;
        let n = daily.len() as f64;
        let w = 1.0 / n;
        let uniform = vec![1.0 / m as f64; m];
        let rate = base_rate(model, &train)?;
        let prior_only = replay(
            &used,
            &Episode::new(ep.case.with_signals(Vec::new()), ep.outcome.clone()),
        )?;
        let mean_scores = |fs: &[Vec<f64>], cal: &mut Calibrator| {
            let mut s = Scores::default();
            for p in fs {
                s.brier += brier(p, y) * w;
                s.log_score += log_score(p, y) * w;
                cal.add(p, y, w);
            }
            s
        };
        let own = mean_scores(&daily, &mut cal);
        let flat = |p: &Vec<f64>| vec![p.clone(); daily.len()];
        let b_uniform = mean_scores(&flat(&uniform), &mut cal_uniform);
        let b_base = mean_scores(&flat(&rate), &mut cal_base);
        let b_prior = mean_scores(&prior_only, &mut cal_prior);
        per_episode.push(EpisodeScore {
            id: ep.case.id.clone(),
            outcome: ep.outcome.clone(),
            days: daily.len(),
            brier: own.brier,
            log_score: own.log_score,
            final_probabilities: daily.last().cloned().unwrap_or_default(),
            baselines: Baselines {
                uniform: b_uniform,
                base_rate: b_base,
                prior: b_prior,
            },
        });
        progress.advance(1);
    }
    progress.finish();
    let n = per_episode.len() as f64;
    let avg = |f: &dyn Fn(&EpisodeScore) -> Scores, c: &Calibrator| Scores {
        brier: per_episode.iter().map(|e| f(e).brier).sum::<f64>() / n,
        log_score: per_episode.iter().map(|e| f(e).log_score).sum::<f64>() / n,
        ece: c.ece(),
    };
    let scores = avg(
        &|e| Scores {
            brier: e.brier,
            log_score: e.log_score,
            ece: 0.0,
        },
        &cal,
    );
    let baselines = Baselines {
        uniform: avg(&|e| e.baselines.uniform, &cal_uniform),
        base_rate: avg(&|e| e.baselines.base_rate, &cal_base),
        prior: avg(&|e| e.baselines.prior, &cal_prior),
    };
    Ok(BacktestReport {
        model: model.name().to_owned(),
        outcomes: model.outcomes().to_vec(),
        episodes: episodes.len(),
        loo: opts.loo,
        scores,
        baselines,
        per_episode,
        calibration: cal.bins(),
        excluded,
    })
}
