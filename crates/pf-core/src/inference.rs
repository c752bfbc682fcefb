//! Filtering and forecasting.
//!
//! # Formula
//! With `P^(n)` the ordered product of the daily matrices between two dates and `L_t` a signal's likelihood,
//!
//! ```text
//! alpha_t(j)  ∝  L_t(j) · Σ_i alpha_prev(i) · P^(t - t_prev)(i, j)
//! p(o)        =  Σ_{j : outcome(j) = o} (alpha_t · P^(T - t))(j)
//! ```
//!
//! with a normaliser at every signal whose logs add up to the log-likelihood of the evidence.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::case::Case;
use crate::error::{Error, Result};
use crate::linalg;
use crate::model::Model;
use crate::signal::Signal;

/// A date as a day number (days since 0001-01-01).
#[inline]
pub(crate) fn day(d: NaiveDate) -> i64 {
    i64::from(d.num_days_from_ce())
}

/// A day number back to a date.
pub(crate) fn date_of(n: i64) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt(n as i32).expect("day numbers stay in chrono's range")
}

/// One signal reduced to what the filter needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Obs {
    pub day: i64,
    pub ty: usize,
    pub rho: f64,
    pub w: f64,
}

/// Resolve signal types against a model.
pub(crate) fn to_obs(model: &Model, signals: &[Signal]) -> Result<Vec<Obs>> {
    signals
        .iter()
        .map(|s| {
            Ok(Obs {
                day: day(s.date),
                ty: model.type_index(&s.signal_type)?,
                rho: s.reliability,
                w: s.weight,
            })
        })
        .collect()
}

/// The running state of the filter.
///
/// The regime weights are kept unnormalised between renormalisations: each report multiplies them by its
/// likelihood, and their sum is the product of the per-step normalisers of the formula above. They are renormalised
/// (and the log of the sum folded into the log-likelihood) whenever the sum drops below 1e-100 or after 32
/// reports, so nothing underflows, and the division leaves the critical path of a filter step.
///
/// The weights live in `M` (a `Vec`). [`run`] has its own loop for common regime counts ([`run_fixed`]), with
/// the same arithmetic and the weights in locals, so that they stay in registers.
#[derive(Debug, Clone)]
pub(crate) struct FilterState<M: Mass = Vec<f64>> {
    mass: M,
    pub tmp: M,
    pub day: i64,
    /// Log-likelihood folded so far; the rest is `ln scale + ln Σ mass`.
    log_likelihood: f64,
    /// The product of the normalisers folded since the last `ln` (see [`fold`]).
    scale: f64,
    pending: u32,
    /// The bucket of the last step and the days left it covers, `lo_left..hi_left` (empty before the first
    /// step): looked up again only when the days left leave that range, not once a step.
    bucket: usize,
    lo_left: i64,
    hi_left: i64,
}

/// Storage for the filter's regime weights.
pub(crate) trait Mass: AsRef<[f64]> + AsMut<[f64]> + Clone {
    /// A copy of `s` (of the storage's length).
    fn from_slice(s: &[f64]) -> Self;
    /// `self <- self P^n` from the cached binary powers of `P` (`tmp` is scratch).
    fn apply_power(&mut self, tmp: &mut Self, powers: &[f64], n: u64, k: usize);
    /// `self <- self P` with the one-day matrix `P` (the first `k x k` block of `powers`).
    fn step(&mut self, powers: &[f64], k: usize);
    /// `self(j) *= rho q(j) + noise`; returns the new sum (summed left to right).
    fn observe(&mut self, q: &[f64], rho: f64, noise: f64) -> f64;
}

impl Mass for Vec<f64> {
    fn from_slice(s: &[f64]) -> Self {
        s.to_vec()
    }
    fn apply_power(&mut self, tmp: &mut Self, powers: &[f64], n: u64, k: usize) {
        linalg::apply_power(self, tmp, powers, n, k);
    }
    #[inline(always)]
    fn step(&mut self, powers: &[f64], k: usize) {
        linalg::step(self, powers, k);
    }
    #[inline(always)]
    fn observe(&mut self, q: &[f64], rho: f64, noise: f64) -> f64 {
        match self.len() {
            2 => observe_fixed::<2>(self, q, rho, noise),
            3 => observe_fixed::<3>(self, q, rho, noise),
            4 => observe_fixed::<4>(self, q, rho, noise),
            5 => observe_fixed::<5>(self, q, rho, noise),
            6 => observe_fixed::<6>(self, q, rho, noise),
            k => {
                let mut c = 0.0;
                for j in 0..k {
                    let a = self[j] * (rho * q[j] + noise);
                    self[j] = a;
                    c += a;
                }
                c
            }
        }
    }
}

impl FilterState {
    pub fn new(model: &Model, start: i64) -> FilterState {
        FilterState::with_storage(model, start)
    }
}

impl<M: Mass> FilterState<M> {
    pub fn with_storage(model: &Model, start: i64) -> FilterState<M> {
        FilterState {
            mass: M::from_slice(&model.prior),
            tmp: M::from_slice(&model.prior),
            day: start,
            log_likelihood: 0.0,
            scale: 1.0,
            pending: 0,
            bucket: 0,
            lo_left: 1,
            hi_left: 0,
        }
    }

    /// The same state in a `Vec`.
    fn into_vec(self) -> FilterState {
        FilterState {
            mass: self.mass.as_ref().to_vec(),
            tmp: self.tmp.as_ref().to_vec(),
            day: self.day,
            log_likelihood: self.log_likelihood,
            scale: self.scale,
            pending: self.pending,
            bucket: self.bucket,
            lo_left: self.lo_left,
            hi_left: self.hi_left,
        }
    }

    /// Log-likelihood of everything observed so far.
    pub fn loglik(&self) -> f64 {
        self.log_likelihood + self.scale.ln() + self.mass.as_ref().iter().sum::<f64>().ln()
    }

    /// The filtered regime distribution (normalised).
    pub fn alpha(&self) -> Vec<f64> {
        let c: f64 = self.mass.as_ref().iter().sum();
        self.mass.as_ref().iter().map(|m| m / c).collect()
    }

    /// Fold the weights' sum into the log-likelihood and renormalise them.
    #[inline]
    pub fn normalise(&mut self) {
        // The arithmetic of `normalised`.
        let c: f64 = self.mass.as_ref().iter().sum();
        let inv = 1.0 / c;
        self.mass.as_mut().iter_mut().for_each(|m| *m *= inv);
        fold(&mut self.log_likelihood, &mut self.scale, c);
        self.pending = 0;
    }

    /// Move the state forward to `to` (never past the term end).
    #[inline(always)]
    pub fn propagate(&mut self, model: &Model, to: i64, term_end: i64) {
        let to = to.min(term_end);
        let k = model.n_regimes();
        while self.day < to {
            let left = term_end - self.day;
            if left < self.lo_left || left >= self.hi_left {
                self.enter_bucket(model, left);
            }
            let b = &model.buckets[self.bucket];
            // This bucket holds days left >= min_left, i.e. days up to term_end - min_left.
            let run_end = to.min(term_end - b.min_left + 1);
            let n = (run_end - self.day) as u64;
            if n == 1 {
                self.mass.step(&b.powers, k);
            } else {
                self.mass.apply_power(&mut self.tmp, &b.powers, n, k);
            }
            self.day = run_end;
        }
        if to > self.day {
            self.day = to;
        }
    }

    /// Look up the bucket of `left` days left and the range of days left it covers (as [`Model::bucket_for`]
    /// finds it: the last bucket whose `min_left` is at most `left`, else the first).
    #[inline(never)]
    fn enter_bucket(&mut self, model: &Model, left: i64) {
        let b = model.bucket_for(left);
        self.bucket = b;
        self.lo_left = if b == 0 {
            i64::MIN
        } else {
            model.buckets[b].min_left
        };
        self.hi_left = model.buckets.get(b + 1).map_or(i64::MAX, |n| n.min_left);
    }

    /// Apply one report: `alpha(j) *= (rho q(j) + (1 - rho) mean q)^w`.
    #[inline(always)]
    pub fn observe(&mut self, model: &Model, o: &Obs) {
        let e = &model.emissions[o.ty];
        if e.neutral {
            // Likelihood 1 in every regime: nothing to do.
            return;
        }
        let noise = (1.0 - o.rho) * e.mean;
        if o.w == 1.0 {
            let c = self.mass.observe(&e.q, o.rho, noise);
            self.pending += 1;
            if c < 1e-100 || self.pending >= 32 {
                self.normalise();
            }
        } else {
            // Weighted report: work in logs so that large weights cannot underflow.
            let mass = self.mass.as_mut();
            let k = mass.len();
            let tmp = self.tmp.as_mut();
            let mut m = f64::NEG_INFINITY;
            for j in 0..k {
                let l = o.w * (o.rho * e.q[j] + noise).ln();
                tmp[j] = l;
                m = m.max(l);
            }
            let mut c = 0.0;
            for j in 0..k {
                let a = mass[j] * (tmp[j] - m).exp();
                mass[j] = a;
                c += a;
            }
            for a in mass.iter_mut() {
                *a /= c;
            }
            self.log_likelihood += m + c.ln();
            self.pending = 0;
        }
    }

    /// Outcome probabilities at the term end from the current state.
    pub fn outcome_probabilities(&self, model: &Model, term_end: i64) -> Vec<f64> {
        let mut a = self.clone();
        a.propagate(model, term_end, term_end);
        map_outcomes(model, a.mass.as_ref())
    }
}

/// An incremental filter over one case's span: feed it signals in date order, read the state at any time.
///
/// This is the filter of [`Model::forecast`] exposed for streaming use (a service that appends signals as
/// they arrive) and for benchmarks. Signals must come in non-decreasing date order.
#[derive(Debug, Clone)]
pub struct Filter<'m> {
    model: &'m Model,
    state: FilterState,
    term_end: i64,
    used: usize,
}

impl<'m> Filter<'m> {
    /// A filter at the start of a span, holding the model's prior.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the term end is not after the start.
    pub fn new(model: &'m Model, start: NaiveDate, term_end: NaiveDate) -> Result<Filter<'m>> {
        if term_end <= start {
            return Err(Error::argument(
                "term_end",
                format!("a date after the start {start}"),
                term_end,
            ));
        }
        Ok(Filter {
            model,
            state: FilterState::new(model, day(start)),
            term_end: day(term_end),
            used: 0,
        })
    }

    /// Apply one signal.
    ///
    /// # Errors
    /// [`Error::UnknownSignalType`]; [`Error::InvalidArgument`] when the signal is dated before the previous
    /// one or after the term end.
    pub fn observe(&mut self, s: &Signal) -> Result<()> {
        let ty = self.model.type_index(&s.signal_type)?;
        self.observe_index(s.date, ty, s.reliability, s.weight)
    }

    /// Apply one report of the signal type with index `ty` (see [`Model::type_index`]).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the date is before the filter's current date or after the term end, or
    /// `ty` is out of range.
    #[inline]
    pub fn observe_index(&mut self, date: NaiveDate, ty: usize, reliability: f64, weight: f64) -> Result<()> {
        let d = day(date);
        if d < self.state.day || d > self.term_end {
            return Err(Error::argument(
                "date",
                format!(
                    "a date from {} to {}",
                    date_of(self.state.day),
                    date_of(self.term_end)
                ),
                date,
            ));
        }
        if ty >= self.model.emissions.len() {
            return Err(Error::argument(
                "ty",
                format!("a type index below {}", self.model.emissions.len()),
                ty,
            ));
        }
        if !self.model.emissions[ty].neutral {
            self.state.propagate(self.model, d, self.term_end);
        }
        self.state.observe(
            self.model,
            &Obs {
                day: d,
                ty,
                rho: reliability,
                w: weight,
            },
        );
        self.used += 1;
        Ok(())
    }

    /// The filtered regime distribution at the last signal's date.
    pub fn regime_probabilities(&self) -> Vec<f64> {
        self.state.alpha()
    }

    /// Log-likelihood of the signals so far.
    pub fn log_likelihood(&self) -> f64 {
        self.state.loglik()
    }

    /// Number of signals applied.
    pub fn signals_used(&self) -> usize {
        self.used
    }

    /// Outcome probabilities by the term end from the current state.
    pub fn outcome_probabilities(&self) -> Vec<f64> {
        self.state.outcome_probabilities(self.model, self.term_end)
    }
}

/// `alpha(j) *= rho q(j) + noise`; returns the new sum, summed pairwise (it only decides whether to
/// renormalise, which sums again: pairwise keeps it short). Fixed sizes let the compiler unroll.
#[inline(always)]
fn observe_fixed<const K: usize>(alpha: &mut [f64], q: &[f64], rho: f64, noise: f64) -> f64 {
    let a: &mut [f64; K] = (&mut alpha[..K]).try_into().expect("alpha has K entries");
    let q: &[f64; K] = q[..K].try_into().expect("q has K entries");
    if rho == 1.0 {
        // A fully reliable report: `1 q(j) + 0 = q(j)` exactly, without the arithmetic.
        for j in 0..K {
            a[j] *= q[j];
        }
    } else {
        for j in 0..K {
            a[j] *= rho * q[j] + noise;
        }
    }
    linalg::pairwise_sum(*a)
}

/// Sum regime probabilities into outcome probabilities.
pub(crate) fn map_outcomes(model: &Model, alpha: &[f64]) -> Vec<f64> {
    let mut p = vec![0.0; model.n_outcomes()];
    for (j, a) in alpha.iter().enumerate() {
        p[model.outcome_of[j]] += a;
    }
    let s: f64 = p.iter().sum();
    for x in &mut p {
        *x /= s;
    }
    p
}

/// Run the filter over observations (sorted by day) dated up to `as_of` (clamped to the term end) and return
/// the state at `as_of` with the number of observations used.
pub(crate) fn run(model: &Model, start: i64, term_end: i64, obs: &[Obs], as_of: i64) -> (FilterState, usize) {
    match model.n_regimes() {
        2 => run_fixed::<2>(model, start, term_end, obs, as_of),
        3 => run_fixed::<3>(model, start, term_end, obs, as_of),
        4 => run_fixed::<4>(model, start, term_end, obs, as_of),
        5 => run_fixed::<5>(model, start, term_end, obs, as_of),
        6 => run_fixed::<6>(model, start, term_end, obs, as_of),
        _ => run_from::<Vec<f64>>(model, start, term_end, obs, as_of),
    }
}

/// [`run`] for a compile-time number of regimes `K`: the loop of [`FilterState::propagate`] and
/// [`FilterState::observe`] with the same arithmetic in the same order (the same kernels: [`linalg::vm`],
/// [`observe_fixed`], [`normalised`]), so the numbers are bit for bit those of the general path, but with every
/// running number in a local. The weights never have their address taken, so they stay in registers from one
/// step to the next instead of going through memory (where loading a pair of weights written by two separate
/// stores stalls the step); the bucket of the step is looked up once per run of days in it.
fn run_fixed<const K: usize>(
    model: &Model,
    start: i64,
    term_end: i64,
    obs: &[Obs],
    as_of: i64,
) -> (FilterState, usize) {
    let mut a: [f64; K] = model.prior[..K].try_into().expect("the model has K regimes");
    let mut log_likelihood = 0.0;
    let mut scale = 1.0;
    let mut pending = 0u32;
    let mut day = start;
    // The current bucket's one-day matrix powers, its `min_left` and the days left it covers.
    let mut powers: &[f64] = &[];
    let mut min_left = 0;
    let (mut lo_left, mut hi_left) = (1i64, 0i64);
    let until = as_of.min(term_end);
    let mut used = 0;
    // `FilterState::propagate`, on the locals.
    macro_rules! propagate {
        ($to:expr) => {{
            let to: i64 = ($to).min(term_end);
            while day < to {
                let left = term_end - day;
                if left < lo_left || left >= hi_left {
                    let b = model.bucket_for(left);
                    lo_left = if b == 0 {
                        i64::MIN
                    } else {
                        model.buckets[b].min_left
                    };
                    hi_left = model.buckets.get(b + 1).map_or(i64::MAX, |n| n.min_left);
                    min_left = model.buckets[b].min_left;
                    powers = &model.buckets[b].powers;
                }
                let run_end = to.min(term_end - min_left + 1);
                let n = (run_end - day) as u64;
                if n == 1 {
                    a = linalg::vm::<K>(&a, powers);
                } else {
                    a = power_by_value::<K>(a, powers, n);
                }
                day = run_end;
            }
        }};
    }
    for o in obs {
        if o.day > until {
            break;
        }
        let e = &model.emissions[o.ty];
        if e.neutral {
            // Likelihood 1: not even a stop of the propagation, so the numbers are bit for bit those without it.
            used += 1;
            continue;
        }
        propagate!(o.day);
        let noise = (1.0 - o.rho) * e.mean;
        if o.w == 1.0 {
            let c = observe_fixed::<K>(&mut a, &e.q, o.rho, noise);
            pending += 1;
            if c < 1e-100 || pending >= 32 {
                let c;
                (a, c) = normalised(a);
                fold(&mut log_likelihood, &mut scale, c);
                pending = 0;
            }
        } else {
            let (m, c);
            (a, m, c) = observe_weighted::<K>(a, &e.q, o.rho, noise, o.w);
            log_likelihood += m + c.ln();
            pending = 0;
        }
        used += 1;
    }
    propagate!(until);
    let st = FilterState {
        mass: a.to_vec(),
        tmp: a.to_vec(),
        day,
        log_likelihood,
        scale,
        pending,
        bucket: 0,
        lo_left: 1,
        hi_left: 0,
    };
    (st, used)
}

/// Fold a normaliser `c` into the log-likelihood: into the running product `scale` while that stays within
/// `[1e-150, 1e150]`, else `ln scale + ln c` joins `log_likelihood` and the product starts again (and
/// [`FilterState::loglik`] adds the last `ln scale`). The filter thus takes a logarithm every few hundred
/// renormalisations rather than at each, and the product never leaves the normal numbers.
#[inline(always)]
pub(crate) fn fold(log_likelihood: &mut f64, scale: &mut f64, c: f64) {
    let next = *scale * c;
    if (1e-150..=1e150).contains(&next) {
        *scale = next;
    } else {
        *log_likelihood += scale.ln() + c.ln();
        *scale = 1.0;
    }
}

/// `v P^n` by value (see [`linalg::apply_power_fixed`]), for runs of more than a day.
#[inline(always)]
fn power_by_value<const K: usize>(mut v: [f64; K], powers: &[f64], n: u64) -> [f64; K] {
    linalg::apply_power_fixed::<K>(&mut v, powers, n);
    v
}

/// The weights divided by their sum, and the sum: the renormalisation of [`FilterState::normalise`].
#[inline(always)]
fn normalised<const K: usize>(mut a: [f64; K]) -> ([f64; K], f64) {
    let c: f64 = a.iter().sum();
    let inv = 1.0 / c;
    a.iter_mut().for_each(|m| *m *= inv);
    (a, c)
}

/// A weighted report applied in logs, as the weighted branch of [`FilterState::observe`]: the weights times
/// `exp(w ln(rho q(j) + noise) - m)` divided by their sum `c`, with `m` (the largest exponent) and `c`.
#[inline(never)]
fn observe_weighted<const K: usize>(
    mut a: [f64; K],
    q: &[f64],
    rho: f64,
    noise: f64,
    w: f64,
) -> ([f64; K], f64, f64) {
    let mut l = [0.0; K];
    let mut m = f64::NEG_INFINITY;
    for j in 0..K {
        l[j] = w * (rho * q[j] + noise).ln();
        m = m.max(l[j]);
    }
    let mut c = 0.0;
    for j in 0..K {
        a[j] *= (l[j] - m).exp();
        c += a[j];
    }
    for x in a.iter_mut() {
        *x /= c;
    }
    (a, m, c)
}

/// The loop of [`run`], compiled once per storage type.
#[inline(always)]
fn run_from<M: Mass>(
    model: &Model,
    start: i64,
    term_end: i64,
    obs: &[Obs],
    as_of: i64,
) -> (FilterState, usize) {
    let mut st = FilterState::<M>::with_storage(model, start);
    let until = as_of.min(term_end);
    let mut used = 0;
    for o in obs {
        if o.day > until {
            break;
        }
        if model.emissions[o.ty].neutral {
            // Likelihood 1: not even a stop of the propagation, so the numbers are bit for bit those without it.
            used += 1;
            continue;
        }
        st.propagate(model, o.day, term_end);
        st.observe(model, o);
        used += 1;
    }
    st.propagate(model, until, term_end);
    (st.into_vec(), used)
}

/// A case's signals resolved against a model (see [`Model::observations`]).
#[derive(Debug, Clone)]
pub struct Observations {
    case: String,
    start: NaiveDate,
    term_end: NaiveDate,
    obs: Vec<Obs>,
    /// The case's terms, for v2 models.
    terms: crate::v2::Terms,
    /// For v2 models: whether `obs` is in the v2 filter's order within each day too (checked once here rather
    /// than at every forecast).
    v2_sorted: bool,
}

impl Observations {
    /// Number of signals.
    pub fn len(&self) -> usize {
        self.obs.len()
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.obs.is_empty()
    }
}

/// A forecast of a case's outcomes at an as-of date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forecast {
    /// The case's id.
    pub case: String,
    /// Only signals dated on or before this day were used.
    pub as_of: NaiveDate,
    /// The term end the forecast is for.
    pub term_end: NaiveDate,
    /// Outcome names.
    pub outcomes: Vec<String>,
    /// Probability of each outcome by the term end.
    pub probabilities: Vec<f64>,
    /// Regime names.
    pub regimes: Vec<String>,
    /// Filtered regime distribution on the as-of date (on the term end if that came first).
    pub regime_probabilities: Vec<f64>,
    /// Log-likelihood of the signals used (`null` in the serde form if not finite).
    #[serde(with = "crate::serde_floats::one")]
    pub log_likelihood: f64,
    /// Number of signals used.
    pub signals_used: usize,
    /// Credible intervals from parameter draws, when requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intervals: Option<crate::intervals::Intervals>,
    /// The model the forecast came from (name, version, hash of its file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<crate::v2::ModelId>,
}

impl Forecast {
    /// Probability of an outcome by name.
    pub fn probability(&self, outcome: &str) -> Option<f64> {
        self.outcomes
            .iter()
            .position(|o| o == outcome)
            .map(|i| self.probabilities[i])
    }

    /// The forecast as JSON: its serde form (the one form of every face; see the type's fields).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("results always serialise")
    }
}

/// Which days a trajectory reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// Every day.
    #[default]
    Daily,
    /// The first day and each day with a signal.
    SignalDates,
}

/// One day of a trajectory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrajectoryPoint {
    /// The day.
    pub date: NaiveDate,
    /// Outcome probabilities by the term end, forecast with the signals dated up to this day.
    pub probabilities: Vec<f64>,
    /// Filtered regime distribution on this day.
    pub regime_probabilities: Vec<f64>,
    /// Signals used so far.
    pub signals_used: usize,
    /// Types of the signals dated on this day.
    pub signal_types: Vec<String>,
}

/// Outcome probabilities over time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trajectory {
    /// The case's id.
    pub case: String,
    /// The term end.
    pub term_end: NaiveDate,
    /// Outcome names.
    pub outcomes: Vec<String>,
    /// Regime names.
    pub regimes: Vec<String>,
    /// The days.
    pub points: Vec<TrajectoryPoint>,
}

impl Trajectory {
    /// The trajectory as JSON: its serde form.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("results always serialise")
    }
}

impl Model {
    /// The likelihood `L(j) = (rho q_s(j) + (1 - rho) mean_k q_s(k))^w` of one signal.
    ///
    /// # Errors
    /// [`Error::UnknownSignalType`] when the model does not know the signal's type.
    pub fn likelihood(&self, s: &Signal) -> Result<Vec<f64>> {
        // v2: the emissions of the v1 view are the evidence rows (1 for the other roles).
        let e = &self.emissions[self.type_index(&s.signal_type)?];
        if e.neutral {
            return Ok(vec![1.0; self.n_regimes()]);
        }
        Ok(e.q
            .iter()
            .map(|q| (s.reliability * q + (1.0 - s.reliability) * e.mean).powf(s.weight))
            .collect())
    }

    /// The ordered product of the one-day matrices from `from` to `to` (row-major), for a term end.
    /// Within a bucket the power is taken by squaring.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `to` is before `from`.
    pub fn transition(&self, from: NaiveDate, to: NaiveDate, term_end: NaiveDate) -> Result<Vec<f64>> {
        if self.as_v2().is_some() {
            return Err(Error::argument(
                "model",
                "a v1 model (a v2 model's transitions depend on the case's signals: see v2::filter)",
                "a v2 model",
            ));
        }
        if to < from {
            return Err(Error::argument("to", format!("a date on or after {from}"), to));
        }
        let k = self.n_regimes();
        let (mut d, to, t) = (day(from), day(to).min(day(term_end)), day(term_end));
        let mut acc = linalg::identity(k);
        while d < to {
            let b = &self.buckets[self.bucket_for(t - d)];
            let run_end = to.min(t - b.min_left + 1);
            acc = linalg::matmul(
                &acc,
                &linalg::power_from_cache(&b.powers, (run_end - d) as u64, k),
                k,
            );
            d = run_end;
        }
        Ok(acc)
    }

    /// The filtered regime distribution and log-likelihood of a case's signals up to `as_of`.
    ///
    /// # Errors
    /// [`Error::UnknownSignalType`] for a signal type the model does not know.
    pub fn filter(&self, case: &Case, as_of: NaiveDate) -> Result<(Vec<f64>, f64)> {
        if let Some(m) = self.as_v2() {
            let st = crate::v2::filter(m, &crate::v2::Terms::of_case(case), case.signals(), as_of)?;
            return Ok((st.regimes, st.log_likelihood));
        }
        let obs = to_obs(self, case.signals_until(as_of))?;
        let (st, _) = run(self, day(case.start), day(case.term_end), &obs, day(as_of));
        let ll = st.loglik();
        Ok((st.alpha(), ll))
    }

    /// Forecast a case's outcomes by its term end with the signals dated on or before `as_of`. After the term
    /// end this is the resolved distribution at the term end; before the start, the prior's forecast.
    ///
    /// # Errors
    /// [`Error::UnknownSignalType`] for a signal type the model does not know.
    pub fn forecast(&self, case: &Case, as_of: NaiveDate) -> Result<Forecast> {
        if let Some(m) = self.as_v2() {
            return crate::v2::forecast(m, case, as_of);
        }
        let obs = Observations {
            case: case.id.clone(),
            start: case.start,
            term_end: case.term_end,
            obs: to_obs(self, case.signals_until(as_of))?,
            terms: crate::v2::Terms::of_case(case),
            v2_sorted: false,
        };
        Ok(self.forecast_observations(&obs, as_of))
    }

    /// A case's signals resolved against this model, for repeated forecasts (no type lookups per forecast).
    ///
    /// # Errors
    /// [`Error::UnknownSignalType`] for a signal type the model does not know.
    pub fn observations(&self, case: &Case) -> Result<Observations> {
        let terms = crate::v2::Terms::of_case(case);
        if let Some(m) = self.as_v2() {
            // Every error a v2 forecast can raise shows on the whole record (a prefix of signals with positive
            // probability has positive probability), so check it once here.
            crate::v2::filter(m, &terms, case.signals(), case.term_end)?;
        }
        let obs = to_obs(self, case.signals())?;
        let v2_sorted = self
            .as_v2()
            .is_some_and(|m| crate::v2::filter::is_sorted(m, &obs));
        Ok(Observations {
            case: case.id.clone(),
            start: case.start,
            term_end: case.term_end,
            obs,
            terms,
            v2_sorted,
        })
    }

    /// [`Model::forecast`] from resolved observations (made by this model's [`Model::observations`]).
    pub fn forecast_observations(&self, o: &Observations, as_of: NaiveDate) -> Forecast {
        if let Some(m) = self.as_v2() {
            return crate::v2::forecast_resolved(m, &o.case, &o.terms, &o.obs, o.v2_sorted, as_of);
        }
        let t = day(o.term_end);
        let (st, used) = run(self, day(o.start), t, &o.obs, day(as_of).max(day(o.start)));
        Forecast {
            case: o.case.clone(),
            as_of,
            term_end: o.term_end,
            outcomes: self.meta.outcomes.clone(),
            probabilities: st.outcome_probabilities(self, t),
            regimes: self.meta.regimes.clone(),
            regime_probabilities: st.alpha(),
            log_likelihood: st.loglik(),
            signals_used: used,
            intervals: None,
            model: Some(self.model_id()),
        }
    }

    /// Outcome probabilities for every day (or every signal date) from `from` to `to`, each forecast with only
    /// the signals dated up to that day. Days after the term end carry the resolved distribution.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `to` is before `from`; [`Error::UnknownSignalType`].
    pub fn trajectory(
        &self,
        case: &Case,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        resolution: Resolution,
    ) -> Result<Trajectory> {
        self.trajectory_with(case, from, to, resolution, &crate::progress::Silent)
    }

    /// [`Model::trajectory`], asking `progress` whether to stop every [`crate::progress::CHECK_EVERY`] days.
    ///
    /// # Errors
    /// As [`Model::trajectory`]; [`Error::Interrupted`] when `progress` cancels.
    pub fn trajectory_with(
        &self,
        case: &Case,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        resolution: Resolution,
        progress: &dyn crate::progress::Progress,
    ) -> Result<Trajectory> {
        if let Some(m) = self.as_v2() {
            return crate::v2::analysis::trajectory_with(m, case, from, to, resolution, progress);
        }
        let from = from.unwrap_or(case.start).max(case.start);
        let to = to.unwrap_or(case.term_end);
        if to < from {
            return Err(Error::argument("to", format!("a date on or after {from}"), to));
        }
        let obs = to_obs(self, case.signals_until(to))?;
        let (start, t) = (day(case.start), day(case.term_end));
        let backward = self.outcome_maps(start, t);
        let mut st = FilterState::new(self, start);
        let mut next = 0;
        let mut points = Vec::new();
        let mut last = Vec::new();
        for d in start..=day(to) {
            if ((d - start) as u64).is_multiple_of(crate::progress::CHECK_EVERY) {
                crate::progress::check(progress)?;
            }
            st.propagate(self, d, t);
            let mut types = Vec::new();
            while next < obs.len() && obs[next].day == d {
                st.observe(self, &obs[next]);
                types.push(case.signals()[next].signal_type.to_string());
                next += 1;
            }
            if d < day(from) {
                continue;
            }
            let emit = match resolution {
                Resolution::Daily => true,
                Resolution::SignalDates => d == day(from) || !types.is_empty(),
            };
            if !emit {
                continue;
            }
            let alpha = st.alpha();
            let probs = if d <= t {
                let b = &backward[(d - start) as usize];
                let m = self.n_outcomes();
                let mut p = vec![0.0; m];
                for (j, a) in alpha.iter().enumerate() {
                    for o in 0..m {
                        p[o] += a * b[j * m + o];
                    }
                }
                let s: f64 = p.iter().sum();
                p.iter().map(|x| x / s).collect()
            } else {
                if last.is_empty() {
                    last = map_outcomes(self, &alpha);
                }
                last.clone()
            };
            points.push(TrajectoryPoint {
                date: date_of(d),
                probabilities: probs,
                regime_probabilities: alpha,
                signals_used: next,
                signal_types: types,
            });
        }
        Ok(Trajectory {
            case: case.id.clone(),
            term_end: case.term_end,
            outcomes: self.meta.outcomes.clone(),
            regimes: self.meta.regimes.clone(),
            points,
        })
    }

    /// For each day `d` in `start..=t`, the row-major `k x m` matrix `B_d = P^(t - d) · M`, where `M` maps
    /// regimes to outcomes; computed backwards one day at a time.
    pub(crate) fn outcome_maps(&self, start: i64, t: i64) -> Vec<Vec<f64>> {
        let (k, m) = (self.n_regimes(), self.n_outcomes());
        let n = (t - start + 1).max(1) as usize;
        let mut out = vec![Vec::new(); n];
        let mut b = vec![0.0; k * m];
        for j in 0..k {
            b[j * m + self.outcome_of[j]] = 1.0;
        }
        out[n - 1] = b.clone();
        for d in (start..t).rev() {
            let p = &self.buckets[self.bucket_for(t - d)].matrix;
            let mut nb = vec![0.0; k * m];
            for i in 0..k {
                for l in 0..k {
                    let pil = p[i * k + l];
                    if pil == 0.0 {
                        continue;
                    }
                    for o in 0..m {
                        nb[i * m + o] += pil * b[l * m + o];
                    }
                }
            }
            b = nb;
            out[(d - start) as usize] = b.clone();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random resolved observations over `days` days from `start`, sorted by day: every type of the model
    /// (neutral ones included), reliability 1 or random, weight 1 or 2.5, gaps of zero to 40 days.
    fn random_obs(model: &Model, start: i64, seed: u64, n: usize) -> Vec<Obs> {
        let types = model.signal_types().len();
        let mut x = seed | 1;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut day = start;
        (0..n)
            .map(|_| {
                let r = next();
                day += match r % 4 {
                    0 => 0,
                    1 | 2 => 1,
                    _ => ((r >> 8) % 40) as i64,
                };
                Obs {
                    day,
                    ty: ((r >> 16) % types as u64) as usize,
                    rho: if r.is_multiple_of(3) {
                        ((r >> 24) % 1000) as f64 / 1000.0
                    } else {
                        1.0
                    },
                    w: if (r >> 40).is_multiple_of(7) { 2.5 } else { 1.0 },
                }
            })
            .collect()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// The fixed-size kernel of `run` (weights in locals, bucket cached per run of days) gives bit for bit
        /// the numbers of the general filter state (`FilterState<Vec<f64>>`, which the incremental `Filter`, the
        /// trajectories and the checkpoints use): log-likelihood, regime weights, day and signals used, on the
        /// default v1 model (several buckets) with random signals, reliabilities, weights and as-of dates.
        #[test]
        fn fixed_kernel_matches_the_general_state_bit_for_bit(
            seed in 1u64.., n in 0usize..400, len in 30i64..3000, cut in 0i64..3100,
        ) {
            let model = Model::v1_model();
            let start = 700_000;
            let term_end = start + len;
            let obs: Vec<Obs> = random_obs(&model, start, seed, n)
                .into_iter()
                .filter(|o| o.day <= term_end)
                .collect();
            let as_of = start + cut;
            let (a, ua) = run(&model, start, term_end, &obs, as_of);
            let (b, ub) = run_from::<Vec<f64>>(&model, start, term_end, &obs, as_of);
            proptest::prop_assert_eq!(ua, ub);
            proptest::prop_assert_eq!(a.day, b.day);
            proptest::prop_assert_eq!(a.loglik().to_bits(), b.loglik().to_bits());
            for (p, q) in a.mass.iter().zip(&b.mass) {
                proptest::prop_assert_eq!(p.to_bits(), q.to_bits());
            }
            let (pa, pb) = (a.outcome_probabilities(&model, term_end), b.outcome_probabilities(&model, term_end));
            for (p, q) in pa.iter().zip(&pb) {
                proptest::prop_assert_eq!(p.to_bits(), q.to_bits());
            }
        }
    }
}
