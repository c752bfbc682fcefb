//! Parameter uncertainty: Dirichlet and Beta draws of a model, run through filter and forecast.
//!
//! # Formula
//! The prior and each transition row are `Dirichlet(p · c)`, each emission `q_s(j)` is `Beta(q c, (1 - q) c)`.
//! Draw `i` uses its own random stream seeded from `(seed, i)`, and the draws are collected in index order, so
//! the numbers are the same for a given seed whatever the number of threads.

use chrono::NaiveDate;
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use statrs::distribution::{Beta, Gamma};

use crate::case::Case;
use crate::error::{Error, Result};
use crate::inference::{self, Forecast, day};
use crate::model::Model;
use crate::progress::Progress;

pub use crate::intervals::{Interval, Intervals};

/// Smallest emission probability a draw may produce (a Beta draw can underflow to 0).
const Q_FLOOR: f64 = 1e-12;

/// How to draw parameter sets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrawOptions {
    /// Number of parameter sets (>= 1).
    pub draws: usize,
    /// Seed of the random streams.
    pub seed: u64,
    /// Central credible interval levels, each in (0, 1); default `[0.9]`.
    pub levels: Vec<f64>,
}

impl Default for DrawOptions {
    fn default() -> Self {
        DrawOptions {
            draws: 1000,
            seed: 0,
            levels: vec![0.9],
        }
    }
}

impl DrawOptions {
    /// Check the options.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `draws` is 0 or a level is outside (0, 1).
    pub fn validate(&self) -> Result<()> {
        if self.draws == 0 {
            return Err(Error::argument("draws", "an integer >= 1", 0));
        }
        for l in &self.levels {
            if !(l.is_finite() && *l > 0.0 && *l < 1.0) {
                return Err(Error::argument(
                    "levels",
                    "interval levels in (0, 1), e.g. 0.9",
                    l,
                ));
            }
        }
        Ok(())
    }
}

pub(crate) fn stream(seed: u64, i: u64) -> Xoshiro256PlusPlus {
    // SplitMix64 of (seed, i): independent, reproducible streams per draw.
    let mut z = seed
        ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    Xoshiro256PlusPlus::seed_from_u64(z ^ (z >> 31))
}

pub(crate) fn dirichlet(rng: &mut Xoshiro256PlusPlus, p: &[f64], c: f64, out: &mut [f64]) {
    use rand::distr::Distribution;
    let mut s = 0.0;
    for (o, &pi) in out.iter_mut().zip(p) {
        let a = pi * c;
        *o = if a > 0.0 {
            Gamma::new(a, 1.0).expect("shape > 0").sample(rng)
        } else {
            0.0
        };
        s += *o;
    }
    if s > 0.0 && s.is_finite() {
        for o in out.iter_mut() {
            *o /= s;
        }
    } else {
        out.copy_from_slice(p);
    }
}

pub(crate) fn beta(rng: &mut Xoshiro256PlusPlus, q: f64, c: f64) -> f64 {
    use rand::distr::Distribution;
    let (a, b) = (q * c, (1.0 - q) * c);
    if b <= 0.0 {
        return q;
    }
    Beta::new(a, b)
        .expect("shapes > 0")
        .sample(rng)
        .clamp(Q_FLOOR, 1.0)
}

impl Model {
    /// One parameter set drawn from the model's concentrations. `levels` binary powers are cached (enough for
    /// spans below `2^levels` days; longer spans still work, more slowly).
    pub(crate) fn draw(&self, rng: &mut Xoshiro256PlusPlus, levels: usize) -> Model {
        let mut m = self.without_powers();
        let k = m.n_regimes();
        let prior = m.prior.clone();
        dirichlet(rng, &prior, m.prior_concentration, &mut m.prior);
        for b in &mut m.buckets {
            let orig = b.matrix.clone();
            for i in 0..k {
                dirichlet(
                    rng,
                    &orig[i * k..(i + 1) * k],
                    b.concentration[i],
                    &mut b.matrix[i * k..(i + 1) * k],
                );
            }
        }
        for e in m.emissions.iter_mut().filter(|e| !e.neutral) {
            for j in 0..k {
                e.q[j] = beta(rng, e.q[j], e.concentration[j]);
            }
        }
        m.refresh_with(levels);
        m
    }

    /// A copy with every concentration multiplied by `factor` (> 0): larger is more certain.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] unless `factor` is finite and > 0.
    pub fn scale_concentrations(&self, factor: f64) -> Result<Model> {
        if !(factor.is_finite() && factor > 0.0) {
            return Err(Error::argument("factor", "a finite number > 0", factor));
        }
        if let Some(m) = self.as_v2() {
            return crate::v2::scale_concentrations(m, factor).map(Model::from_v2);
        }
        let mut m = self.clone();
        m.prior_concentration *= factor;
        for b in &mut m.buckets {
            b.concentration.iter_mut().for_each(|c| *c *= factor);
        }
        for e in &mut m.emissions {
            e.concentration.iter_mut().for_each(|c| *c *= factor);
        }
        Ok(m)
    }

    /// Outcome probabilities of `draws` parameter sets for one case at `as_of` (row `i` is draw `i`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`], [`Error::UnknownSignalType`] or [`Error::Interrupted`].
    pub fn draw_forecasts(
        &self,
        case: &Case,
        as_of: NaiveDate,
        opts: &DrawOptions,
        progress: &dyn Progress,
    ) -> Result<Vec<Vec<f64>>> {
        if let Some(m) = self.as_v2() {
            return crate::v2::draws::draw_forecasts(m, case, as_of, opts, progress);
        }
        opts.validate()?;
        let obs = inference::to_obs(self, case.signals_until(as_of))?;
        let (start, t) = (day(case.start), day(case.term_end));
        let as_of = day(as_of).max(start);
        self.draw_map(
            opts,
            progress,
            |m| {
                let (st, _) = inference::run(m, start, t, &obs, as_of);
                st.outcome_probabilities(m, t)
            },
            (t - start).max(1) as u64,
        )
    }

    /// Run `f` on `opts.draws` parameter sets in parallel, deterministic for a seed.
    pub(crate) fn draw_map<T: Send>(
        &self,
        opts: &DrawOptions,
        progress: &dyn Progress,
        f: impl Fn(&Model) -> T + Sync,
        span_days: u64,
    ) -> Result<Vec<T>> {
        let levels = (64 - span_days.leading_zeros() as usize).clamp(1, crate::model::POWER_LEVELS);
        progress.start(opts.draws as u64, "draws");
        let out: Vec<Option<T>> = (0..opts.draws)
            .into_par_iter()
            .with_min_len(16)
            .map(|i| {
                if progress.cancelled() {
                    return None;
                }
                let mut rng = stream(opts.seed, i as u64);
                let m = self.draw(&mut rng, levels);
                let r = f(&m);
                progress.advance(1);
                Some(r)
            })
            .collect();
        progress.finish();
        out.into_iter()
            .collect::<Option<Vec<T>>>()
            .ok_or(Error::Interrupted)
    }

    /// Forecast with credible intervals from parameter draws.
    ///
    /// # Errors
    /// As [`Model::forecast`] and [`Model::draw_forecasts`].
    pub fn forecast_with_intervals(
        &self,
        case: &Case,
        as_of: NaiveDate,
        opts: &DrawOptions,
        progress: &dyn Progress,
    ) -> Result<Forecast> {
        let mut f = self.forecast(case, as_of)?;
        let draws = self.draw_forecasts(case, as_of, opts, progress)?;
        f.intervals = Some(summarise(&draws, opts));
        Ok(f)
    }
}

/// Linear-interpolation quantile of sorted data (numpy's default method).
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    if n == 1 {
        return sorted[0];
    }
    let h = q * (n - 1) as f64;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Mean, sd and central intervals of draws (rows are draws, columns outcomes).
pub fn summarise(draws: &[Vec<f64>], opts: &DrawOptions) -> Intervals {
    let m = draws.first().map_or(0, Vec::len);
    let n = draws.len() as f64;
    let mut mean = vec![0.0; m];
    let mut sd = vec![0.0; m];
    let mut cols: Vec<Vec<f64>> = vec![Vec::with_capacity(draws.len()); m];
    for d in draws {
        for o in 0..m {
            mean[o] += d[o];
            cols[o].push(d[o]);
        }
    }
    mean.iter_mut().for_each(|x| *x /= n);
    for d in draws {
        for o in 0..m {
            sd[o] += (d[o] - mean[o]).powi(2);
        }
    }
    sd.iter_mut()
        .for_each(|x| *x = if n > 1.0 { (*x / (n - 1.0)).sqrt() } else { 0.0 });
    cols.iter_mut().for_each(|c| c.sort_by(f64::total_cmp));
    let intervals = opts
        .levels
        .iter()
        .map(|&l| Interval {
            level: l,
            lower: cols.iter().map(|c| quantile_sorted(c, (1.0 - l) / 2.0)).collect(),
            upper: cols.iter().map(|c| quantile_sorted(c, (1.0 + l) / 2.0)).collect(),
        })
        .collect();
    Intervals {
        draws: draws.len(),
        seed: opts.seed,
        mean,
        sd,
        intervals,
    }
}
