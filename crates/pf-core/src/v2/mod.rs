//! Model v2 (MODEL.md v2): signal roles, transition hazards with inputs, public deals and the leader's fate.
//!
//! - [`ModelV2`]: a validated `format_version = 2` model file ([`ModelSpecV2`]).
//! - [`Terms`]: what the engine needs of a case besides its signals (start, term end, eligibility, election).
//! - [`forecast`], [`filter()`], [`episode_objective`]: the joint filter over (F, regime) described in the
//!   [`mod@filter`] module, its forecast at the term end, and the objective `fit` maximises.
//! - [`analysis`]: scenarios, policy comparison, trajectories, attribution, drop-one, value of information;
//!   [`draws`]: parameter uncertainty; [`sample`]: synthetic episodes.
//!
//! # Examples
//! ```
//! use chrono::NaiveDate;
//! use pf_core::Case;
//! use pf_core::v2::{self, ModelV2};
//!
//! let model = ModelV2::default_model();
//! let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
//! let case = Case::new("usa-prk", "USA", "PRK", d("2017-01-20"), d("2021-01-20")).unwrap();
//! let f = v2::forecast(&model, &case, d("2018-10-31")).unwrap();
//! assert!((f.probabilities.iter().sum::<f64>() - 1.0).abs() < 1e-12);
//! ```

use chrono::{Days, NaiveDate};

use crate::case::Case;
use crate::error::{Error, Result};
use crate::inference::{Forecast, day};
use crate::signal::Signal;

pub mod analysis;
pub mod baselines;
pub mod draws;
pub mod filter;
pub mod learn;
mod learn_sample;
pub mod sample;
pub mod spec;

pub use analysis::{PolicyComparison, Scenario, compare, scenario_forecast};
pub use draws::scale_concentrations;
pub use learn::{EpisodeSet, FitOptionsV2, FitRecord, FitReportV2, fit};
pub use learn_sample::{SampleOptions, sample_episodes};

pub use filter::{FilteredState, OUTCOMES};
pub use spec::{
    BetaSpec, BucketSpecV2, FORMAT_VERSION_V2, Fate, FateSpec, HazardSpec, Input, InputSpec, ModelSpecV2,
    ModelV2, Rates, RegimeSpecV2, Role, SignalTypeSpec,
};

const DEFAULT_V2_TOML: &str = include_str!("../../../../models/maximum_pressure_v2.toml");

impl ModelV2 {
    /// The embedded default v2 model (`models/maximum_pressure_v2.toml`).
    pub fn default_model() -> ModelV2 {
        ModelV2::from_toml_str(DEFAULT_V2_TOML).expect("the embedded default v2 model is valid")
    }
    /// The text of the embedded default v2 model file, comments included.
    pub fn default_toml() -> &'static str {
        DEFAULT_V2_TOML
    }
}

/// Which model a result came from: its name, version and the SHA-256 (lowercase hex) of its canonical TOML.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ModelId {
    /// The model's name.
    pub name: String,
    /// The model's version (empty when the file gives none).
    #[serde(default)]
    pub version: String,
    /// SHA-256 of the model's canonical TOML.
    pub hash: String,
}

impl ModelV2 {
    /// Name, version and hash of this model.
    pub fn model_id(&self) -> ModelId {
        ModelId {
            name: self.name().to_owned(),
            version: self.version().to_owned(),
            hash: self.hash().to_owned(),
        }
    }
}

/// A case's terms: what the v2 engine needs besides the signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Terms {
    /// The campaign's start (the weekly input grid is anchored here).
    pub start: NaiveDate,
    /// The sender leader's term end T.
    pub term_end: NaiveDate,
    /// Whether the leader can stay in office after T; when false, stalemate has probability 0.
    pub reelection_eligible: bool,
    /// The day the leader's fate is decided.
    pub election_date: NaiveDate,
}

impl Terms {
    /// The terms of a case: its eligibility and election date (78 days before the term end when the case
    /// gives none, [`spec::DEFAULT_ELECTION_DAYS_BEFORE_TERM_END`]).
    pub fn of_case(case: &Case) -> Terms {
        Terms {
            start: case.start,
            term_end: case.term_end,
            reelection_eligible: case.reelection_eligible,
            election_date: case.election_date(),
        }
    }
}

/// The default election date: 78 days before the term end.
pub fn default_election_date(term_end: NaiveDate) -> NaiveDate {
    term_end
        .checked_sub_days(Days::new(u64::from(spec::DEFAULT_ELECTION_DAYS_BEFORE_TERM_END)))
        .unwrap_or(term_end)
}

/// The filtered state on `as_of` from the signals dated up to it (and before the term end).
///
/// # Errors
/// [`Error::UnknownSignalType`]; [`Error::InvalidSignal`] for a `stays` fate signal with an ineligible leader;
/// [`Error::InvalidArgument`] for a term end not after the start or signals of probability 0.
pub fn filter(model: &ModelV2, terms: &Terms, signals: &[Signal], as_of: NaiveDate) -> Result<FilteredState> {
    let span = filter::Span::new(model, terms)?;
    let evs = filter::resolve(model, &span, signals, day(as_of))?;
    let mut w = filter::Walker::new(model, span);
    w.set_inputs(&evs);
    let st = filter::filter_to(&mut w, &evs, day(as_of))?;
    Ok(FilteredState::of(&st, model.k))
}

/// Outcome probabilities `[deal, stalemate, wait_out]` at the term end, with the filtered state, from the
/// signals dated up to `as_of`; `future` adds hypothetical signals dated after `as_of` (only their action and
/// context roles act: they change the future inputs).
///
/// # Errors
/// As [`filter()`].
pub fn forecast_terms(
    model: &ModelV2,
    terms: &Terms,
    signals: &[Signal],
    as_of: NaiveDate,
    future: &[Signal],
) -> Result<([f64; 3], FilteredState)> {
    let span = filter::Span::new(model, terms)?;
    let until = day(as_of);
    let evs = filter::resolve(model, &span, signals, until)?;
    let fut = filter::resolve(model, &span, future, i64::MAX)?;
    let r = filter::run(model, span, &evs, until, &fut)?;
    Ok((r.outcomes, FilteredState::of(&r.state, model.k)))
}

/// Forecast a case by its term end with the signals dated on or before `as_of` (and before the term end).
///
/// # Errors
/// As [`filter()`].
pub fn forecast(model: &ModelV2, case: &Case, as_of: NaiveDate) -> Result<Forecast> {
    let terms = Terms::of_case(case);
    let (p, st) = forecast_terms(model, &terms, case.signals(), as_of, &[])?;
    Ok(to_forecast(model, &case.id, &terms, as_of, p, &st))
}

/// [`forecast`] from signals resolved by a `Model` wrapping this v2 model (their type indices are the v2
/// model's), `sorted` when they are known to be in the filter's order. The signals were checked by
/// `Model::observations`, so no error can arise.
pub(crate) fn forecast_resolved(
    model: &ModelV2,
    case: &str,
    terms: &Terms,
    obs: &[crate::inference::Obs],
    sorted: bool,
    as_of: NaiveDate,
) -> Forecast {
    let span = filter::Span::new(model, terms).expect("checked by Model::observations");
    let until = day(as_of);
    // The observations are in the case's date order: the ones the filter uses are a range, used in place when
    // they are also in the filter's order within each day (always, with one signal a day; `sorted` says it of
    // them all, checked once by `Model::observations`).
    let lo = obs.partition_point(|o| o.day < span.start);
    let hi = lo + obs[lo..].partition_point(|o| o.day <= until && o.day <= span.last);
    let evs: std::borrow::Cow<'_, [filter::Ev]> = if sorted || filter::is_sorted(model, &obs[lo..hi]) {
        std::borrow::Cow::Borrowed(&obs[lo..hi])
    } else {
        let mut v = obs[lo..hi].to_vec();
        filter::sort_events(model, &mut v);
        std::borrow::Cow::Owned(v)
    };
    let r = filter::run(model, span, &evs, until, &[]).expect("checked by Model::observations");
    let st = FilteredState::of(&r.state, model.k);
    to_forecast(model, case, terms, as_of, r.outcomes, &st)
}

pub(crate) fn to_forecast(
    model: &ModelV2,
    case: &str,
    terms: &Terms,
    as_of: NaiveDate,
    p: [f64; 3],
    st: &FilteredState,
) -> Forecast {
    Forecast {
        case: case.to_owned(),
        as_of,
        term_end: terms.term_end,
        outcomes: OUTCOMES.iter().map(|s| (*s).to_owned()).collect(),
        probabilities: p.to_vec(),
        regimes: model.regimes.to_vec(),
        regime_probabilities: st.regimes.clone(),
        log_likelihood: st.log_likelihood,
        signals_used: st.signals_used,
        intervals: None,
        model: Some(model.model_id()),
    }
}

/// The objective of one finished episode (MODEL.md, "Learning from history"): the filter's log-likelihood of
/// its signals through `T - 1` plus `ln P(outcome | filtered state at T)`, where `deal` allows only the deal
/// regime, `stalemate` the other regimes in the stays half and `wait_out` the other regimes in the leaves half.
///
/// # Errors
/// As [`filter()`], and [`Error::UnknownOutcome`] for an outcome other than deal, stalemate, wait_out.
pub fn episode_objective(model: &ModelV2, terms: &Terms, signals: &[Signal], outcome: &str) -> Result<f64> {
    let o = OUTCOMES
        .iter()
        .position(|x| *x == outcome)
        .ok_or_else(|| Error::UnknownOutcome {
            name: outcome.to_owned(),
            valid: OUTCOMES.iter().map(|s| (*s).to_owned()).collect(),
        })?;
    let st = filter(model, terms, signals, terms.term_end)?;
    let k = model.k;
    let mut p = 0.0;
    for h in 0..2 {
        for j in 0..k {
            let oj = if Some(j) == model.deal { 0 } else { 1 + h };
            if oj == o {
                p += st.joint[h * k + j];
            }
        }
    }
    Ok(st.log_likelihood + p.ln())
}
