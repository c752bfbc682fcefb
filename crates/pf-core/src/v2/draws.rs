//! Parameter uncertainty of v2 models (MODEL.md v2, "Uncertainty").
//!
//! # Formula
//! One draw of the parameters:
//! - prior over regimes: `Dirichlet(prior · c_prior)` (the deal regime stays at 0);
//! - incumbency rate: `Beta(p_inc c_fate, (1 - p_inc) c_fate)`;
//! - each hazard's base rates: `base · exp(sd_log · z)`, one `z ~ N(0, 1)` per hazard for all its buckets
//!   (log-normal, keeping the bucket profile);
//! - each beta with a prior: `beta + sd · z` (Normal around the value used, with the prior's sd);
//! - each regime's evidence row `q_.(j)`: `Dirichlet(q_.(j) · c_evidence)`, floored at 1e-12.
//!
//! [`scale_concentrations`] multiplies every concentration by `factor` and divides every sd by `sqrt(factor)`,
//! so intervals shrink to the point forecast as the factor grows. Draw `i` uses its own random stream seeded
//! from `(seed, i)`, so the numbers are the same for a seed whatever the number of threads.

use chrono::NaiveDate;
use rand::rngs::Xoshiro256PlusPlus;
use rayon::prelude::*;
use statrs::distribution::Normal;

use crate::case::Case;
use crate::error::{Error, Result};
use crate::inference::{Forecast, day};
use crate::progress::Progress;
use crate::uncertainty::{DrawOptions, beta, dirichlet, stream, summarise};
use crate::v2::Terms;
use crate::v2::filter::{self, Span};
use crate::v2::spec::{ModelV2, Role};

const Q_FLOOR: f64 = 1e-12;

fn normal(rng: &mut Xoshiro256PlusPlus) -> f64 {
    use rand::distr::Distribution;
    Normal::standard().sample(rng)
}

impl ModelV2 {
    /// One parameter set drawn from the model's distributions (module docs), with `levels` binary powers of
    /// its input-independent matrices (enough for runs shorter than `2^levels` days).
    pub(crate) fn draw(&self, rng: &mut Xoshiro256PlusPlus, levels: usize) -> ModelV2 {
        let mut m = self.clone();
        let prior = m.prior.clone();
        dirichlet(rng, &prior, m.spec.prior.concentration, &mut m.prior);
        m.p_inc = beta(rng, m.p_inc, m.spec.fate.concentration).clamp(0.0, 1.0);
        if self.p_inc == 1.0 {
            m.p_inc = 1.0;
        }
        for h in &mut m.hazards {
            if h.rate_sd_log > 0.0 {
                let f = (h.rate_sd_log * normal(rng)).exp();
                h.base.iter_mut().for_each(|b| *b *= f);
            }
            for i in 0..h.beta.len() {
                if let Some((_, sd)) = h.beta_prior[i] {
                    h.beta[i] += sd * normal(rng);
                }
            }
        }
        let ev: Vec<usize> = (0..m.types.len())
            .filter(|&t| m.types[t].role == Role::Evidence)
            .collect();
        if !ev.is_empty() {
            let mut row = vec![0.0; ev.len()];
            let mut out = vec![0.0; ev.len()];
            for j in 0..m.k {
                for (r, &t) in row.iter_mut().zip(&ev) {
                    *r = m.types[t].q[j];
                }
                dirichlet(rng, &row, m.spec.evidence_concentration, &mut out);
                for (o, &t) in out.iter().zip(&ev) {
                    m.types[t].q[j] = o.max(Q_FLOOR);
                }
            }
            for &t in &ev {
                let q = &m.types[t].q;
                m.types[t].mean = q.iter().sum::<f64>() / q.len() as f64;
            }
        }
        m.with_static_powers_levels(levels)
    }
}

/// A copy of the model with every concentration multiplied by `factor` and every sd divided by
/// `sqrt(factor)`: larger is more certain.
///
/// # Errors
/// [`Error::InvalidArgument`] unless `factor` is finite and > 0.
pub fn scale_concentrations(model: &ModelV2, factor: f64) -> Result<ModelV2> {
    if !(factor.is_finite() && factor > 0.0) {
        return Err(Error::argument("factor", "a finite number > 0", factor));
    }
    let mut spec = model.spec.as_ref().clone();
    let s = factor.sqrt();
    spec.prior.concentration *= factor;
    spec.fate.concentration *= factor;
    spec.evidence_concentration *= factor;
    for h in &mut spec.hazards {
        h.rate_sd_log /= s;
        for b in h.betas.values_mut() {
            b.sd /= s;
        }
    }
    ModelV2::from_spec(spec)
}

/// Outcome probabilities `[deal, stalemate, wait_out]` of `opts.draws` parameter sets for one case at
/// `as_of` (row `i` is draw `i`), run in parallel and deterministic for a seed.
///
/// # Errors
/// As [`super::forecast`]; [`Error::InvalidArgument`] for bad options; [`Error::Interrupted`] when cancelled.
pub fn draw_forecasts(
    model: &ModelV2,
    case: &Case,
    as_of: NaiveDate,
    opts: &DrawOptions,
    progress: &dyn Progress,
) -> Result<Vec<Vec<f64>>> {
    draw_forecasts_terms(
        model,
        &Terms::of_case(case),
        case.signals(),
        as_of,
        opts,
        progress,
    )
}

/// [`draw_forecasts`] from terms and signals.
///
/// # Errors
/// As [`draw_forecasts`].
pub fn draw_forecasts_terms(
    model: &ModelV2,
    terms: &Terms,
    signals: &[crate::signal::Signal],
    as_of: NaiveDate,
    opts: &DrawOptions,
    progress: &dyn Progress,
) -> Result<Vec<Vec<f64>>> {
    opts.validate()?;
    let span = Span::new(model, terms)?;
    let until = day(as_of);
    let evs = filter::resolve(model, &span, signals, until)?;
    // Every run of the filter lies within the span: powers up to its length are all it takes.
    let levels = (64 - ((span.t - span.start).max(1) as u64).leading_zeros()) as usize;
    // The inputs depend on the case's signals, not on the parameters: computed once for every draw.
    let timeline = filter::InputTimeline::new(model, &span, &evs);
    progress.start(opts.draws as u64, "draws");
    let out: Vec<Option<Result<Vec<f64>>>> = (0..opts.draws)
        .into_par_iter()
        .with_min_len(16)
        .map_init(filter::SegMats::default, |mats, i| {
            if progress.cancelled() {
                return None;
            }
            let mut rng = stream(opts.seed, i as u64);
            let m = model.draw(&mut rng, levels);
            let span = Span::new(&m, terms).expect("checked above");
            let r = filter::run_timeline(&m, span, &evs, until, &timeline, mats).map(|r| r.outcomes.to_vec());
            progress.advance(1);
            Some(r)
        })
        .collect();
    progress.finish();
    out.into_iter()
        .collect::<Option<Vec<_>>>()
        .ok_or(Error::Interrupted)?
        .into_iter()
        .collect()
}

/// Forecast with credible intervals from parameter draws.
///
/// # Errors
/// As [`super::forecast`] and [`draw_forecasts`].
pub fn forecast_with_intervals(
    model: &ModelV2,
    case: &Case,
    as_of: NaiveDate,
    opts: &DrawOptions,
    progress: &dyn Progress,
) -> Result<Forecast> {
    let mut f = super::forecast(model, case, as_of)?;
    let draws = draw_forecasts(model, case, as_of, opts, progress)?;
    f.intervals = Some(summarise(&draws, opts));
    Ok(f)
}
