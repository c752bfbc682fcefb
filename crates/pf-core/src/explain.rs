//! Explanations and what-if questions.
//!
//! * Attribution: the change each signal, taken in date order, made to every outcome's probability at the
//!   as-of date. The changes telescope: they add up to `forecast(all) - forecast(none)`.
//! * Drop-one: the forecast with each signal removed.
//! * What-if: the forecast with hypothetical signals added or another term end, leaving the case untouched.
//! * Value of information: for each signal type, how likely it is to be observed next and how much it would
//!   move the forecast.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::case::Case;
use crate::error::Result;
use crate::inference::{self, FilterState, Forecast, Obs, day};
use crate::model::Model;
use crate::progress::{Progress, Silent, check};
use crate::signal::Signal;

fn log_odds(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

/// One signal's contribution to a forecast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contribution {
    /// The signal.
    pub signal: Signal,
    /// Outcome probabilities before the signal (with the signals before it in date order).
    pub before: Vec<f64>,
    /// Outcome probabilities after it.
    pub after: Vec<f64>,
    /// `after - before`, per outcome.
    pub delta: Vec<f64>,
    /// Change in the log odds `ln(p / (1 - p))` of each outcome (NaN where undefined: a probability of 0 or 1
    /// before or after; `null` in the serde form).
    #[serde(with = "crate::serde_floats::list")]
    pub delta_log_odds: Vec<f64>,
}

/// Attribution of a forecast to its signals, in date order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attribution {
    /// The case's id.
    pub case: String,
    /// The as-of date.
    pub as_of: NaiveDate,
    /// Outcome names.
    pub outcomes: Vec<String>,
    /// The forecast with no signals.
    pub baseline: Vec<f64>,
    /// The forecast with every signal up to the as-of date.
    pub total: Vec<f64>,
    /// One entry per signal used, in date order; the deltas add up to `total - baseline`.
    pub contributions: Vec<Contribution>,
}

/// The forecast without one signal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DropOne {
    /// The signal left out.
    pub signal: Signal,
    /// Outcome probabilities without it.
    pub probabilities: Vec<f64>,
    /// `probabilities - full forecast`, per outcome.
    pub delta: Vec<f64>,
}

/// A hypothetical change to a case.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct WhatIf {
    /// Hypothetical signals to add.
    #[serde(default)]
    pub signals: Vec<Signal>,
    /// Another term end.
    #[serde(default)]
    pub term_end: Option<NaiveDate>,
}

/// The answer to a what-if question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WhatIfResult {
    /// The case's forecast at the evaluation date.
    pub baseline: Forecast,
    /// The forecast with the hypothetical change.
    pub scenario: Forecast,
    /// `scenario - baseline`, per outcome.
    pub delta: Vec<f64>,
}

/// The value of observing one signal type next.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignalValue {
    /// The signal type.
    pub signal_type: String,
    /// Predictive probability that it is observed on the day after the as-of date:
    /// `Σ_j (alpha_t P)(j) q_s(j)`.
    pub probability: f64,
    /// Its share among all types' predictive probabilities (the chance that the next signal seen is this type).
    pub share: f64,
    /// The forecast if it were observed (reliability 1, weight 1).
    pub forecast_if_observed: Vec<f64>,
    /// `forecast_if_observed - forecast now`, per outcome.
    pub delta: Vec<f64>,
    /// Expected absolute change of each outcome's probability: `probability · |delta|`.
    pub expected_abs_change: Vec<f64>,
    /// Sum of `expected_abs_change` over outcomes (the ranking key).
    pub score: f64,
}

/// Signal types ranked by value of information.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValueOfInformation {
    /// The case's id.
    pub case: String,
    /// The as-of date.
    pub as_of: NaiveDate,
    /// Outcome names.
    pub outcomes: Vec<String>,
    /// The forecast now.
    pub current: Vec<f64>,
    /// Types ranked by `score`, highest first.
    pub values: Vec<SignalValue>,
}

macro_rules! impl_to_json {
    ($($t:ty),*) => {$(
        impl $t {
            /// The result as JSON (its serde form).
            pub fn to_json(&self) -> serde_json::Value {
                serde_json::to_value(self).expect("results always serialise")
            }
        }
    )*};
}
impl_to_json!(
    Attribution,
    DropOne,
    WhatIfResult,
    SignalValue,
    ValueOfInformation,
    Contribution
);

impl Model {
    /// Attribute the forecast at `as_of` to each signal in date order.
    ///
    /// # Formula
    /// With `f_i` the forecast at `as_of` from the first `i` signals, contribution `i` is `f_i - f_(i-1)`; the
    /// contributions telescope to `f_n - f_0`.
    ///
    /// # Errors
    /// [`crate::Error::UnknownSignalType`].
    pub fn attribution(&self, case: &Case, as_of: NaiveDate) -> Result<Attribution> {
        self.attribution_with(case, as_of, &Silent)
    }

    /// [`Model::attribution`], asking `progress` whether to stop before each signal.
    ///
    /// # Errors
    /// As [`Model::attribution`]; [`crate::Error::Interrupted`] when `progress` cancels.
    pub fn attribution_with(
        &self,
        case: &Case,
        as_of: NaiveDate,
        progress: &dyn Progress,
    ) -> Result<Attribution> {
        if let Some(m) = self.as_v2() {
            return crate::v2::analysis::attribution_with(m, case, as_of, progress);
        }
        let signals = case.signals_until(as_of);
        let obs = inference::to_obs(self, signals)?;
        let (start, t) = (day(case.start), day(case.term_end));
        let at = day(as_of).max(start).min(t);
        let forecast_from = |st: &FilterState| {
            let mut s = st.clone();
            s.propagate(self, at, t);
            s.outcome_probabilities(self, t)
        };
        let mut st = FilterState::new(self, start);
        let baseline = forecast_from(&st);
        let mut before = baseline.clone();
        let mut contributions = Vec::with_capacity(obs.len());
        for (o, s) in obs.iter().zip(signals) {
            if o.day > t {
                break;
            }
            check(progress)?;
            if !self.emissions[o.ty].neutral {
                st.propagate(self, o.day, t);
                st.observe(self, o);
            }
            let after = forecast_from(&st);
            contributions.push(Contribution {
                signal: s.clone(),
                delta: after.iter().zip(&before).map(|(a, b)| a - b).collect(),
                delta_log_odds: after
                    .iter()
                    .zip(&before)
                    .map(|(a, b)| log_odds(*a) - log_odds(*b))
                    .collect(),
                before: std::mem::replace(&mut before, after.clone()),
                after,
            });
        }
        Ok(Attribution {
            case: case.id.clone(),
            as_of,
            outcomes: self.meta.outcomes.clone(),
            baseline,
            total: before,
            contributions,
        })
    }

    /// The forecast at `as_of` with each signal removed in turn.
    ///
    /// # Errors
    /// [`crate::Error::UnknownSignalType`].
    pub fn drop_one(&self, case: &Case, as_of: NaiveDate) -> Result<Vec<DropOne>> {
        self.drop_one_with(case, as_of, &Silent)
    }

    /// [`Model::drop_one`], asking `progress` whether to stop before each signal.
    ///
    /// # Errors
    /// As [`Model::drop_one`]; [`crate::Error::Interrupted`] when `progress` cancels.
    pub fn drop_one_with(
        &self,
        case: &Case,
        as_of: NaiveDate,
        progress: &dyn Progress,
    ) -> Result<Vec<DropOne>> {
        if let Some(m) = self.as_v2() {
            return crate::v2::analysis::drop_one_with(m, case, as_of, progress);
        }
        let signals = case.signals_until(as_of);
        let obs = inference::to_obs(self, signals)?;
        let (start, t) = (day(case.start), day(case.term_end));
        let at = day(as_of).max(start);
        let full = inference::run(self, start, t, &obs, at)
            .0
            .outcome_probabilities(self, t);
        let mut out = Vec::with_capacity(obs.len());
        let mut rest: Vec<Obs> = Vec::with_capacity(obs.len());
        for i in 0..obs.len() {
            check(progress)?;
            rest.clear();
            rest.extend(obs.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, o)| *o));
            let p = inference::run(self, start, t, &rest, at)
                .0
                .outcome_probabilities(self, t);
            out.push(DropOne {
                signal: signals[i].clone(),
                delta: p.iter().zip(&full).map(|(a, b)| a - b).collect(),
                probabilities: p,
            });
        }
        Ok(out)
    }

    /// The forecast with hypothetical signals added and/or another term end. The case is not changed.
    /// Both forecasts are evaluated at the later of `as_of` and the last hypothetical signal's date, so that
    /// the difference is due to the hypothesis alone.
    ///
    /// # Errors
    /// The errors of appending the hypothetical signals to a copy of the case, or of [`Case::with_term_end`].
    pub fn what_if(&self, case: &Case, as_of: NaiveDate, question: &WhatIf) -> Result<WhatIfResult> {
        if let Some(m) = self.as_v2() {
            return crate::v2::analysis::what_if(m, case, as_of, &question.signals, question.term_end);
        }
        let at = question
            .signals
            .iter()
            .map(|s| s.date)
            .max()
            .map_or(as_of, |d| d.max(as_of));
        let mut scenario_case = match question.term_end {
            Some(te) => case.with_term_end(te)?,
            None => case.clone(),
        };
        scenario_case.append(question.signals.iter().cloned(), self)?;
        let baseline = self.forecast(case, at)?;
        let scenario = self.forecast(&scenario_case, at)?;
        let delta = scenario
            .probabilities
            .iter()
            .zip(&baseline.probabilities)
            .map(|(a, b)| a - b)
            .collect();
        Ok(WhatIfResult {
            baseline,
            scenario,
            delta,
        })
    }

    /// Rank signal types by the expected change they would bring if observed on the day after `as_of`.
    ///
    /// An `as_of` on or after the term end is clamped to the day before the term end by the one clamp rule,
    /// [`crate::dates::clamp_as_of`] (the result's `as_of` says which day was used); one before the start is
    /// the start.
    ///
    /// # Errors
    /// [`crate::Error::UnknownSignalType`].
    pub fn value_of_information(&self, case: &Case, as_of: NaiveDate) -> Result<ValueOfInformation> {
        self.value_of_information_with(case, as_of, &Silent)
    }

    /// [`Model::value_of_information`], asking `progress` whether to stop before each signal type (v2 runs
    /// the filter once per type; v1 answers in one pass).
    ///
    /// # Errors
    /// As [`Model::value_of_information`]; [`crate::Error::Interrupted`] when `progress` cancels.
    pub fn value_of_information_with(
        &self,
        case: &Case,
        as_of: NaiveDate,
        progress: &dyn Progress,
    ) -> Result<ValueOfInformation> {
        check(progress)?;
        let as_of = crate::dates::clamp_as_of(as_of, case.term_end);
        if let Some(m) = self.as_v2() {
            // The one clamp rule, one day earlier for v2: its filter's last day is T - 1, and the value of a
            // report is asked for the day after the as-of date, which must still count.
            let last = case
                .term_end
                .checked_sub_days(chrono::Days::new(2))
                .unwrap_or(case.start);
            return crate::v2::analysis::value_of_information_with(
                m,
                case,
                as_of.min(last).max(case.start),
                progress,
            );
        }
        let obs = inference::to_obs(self, case.signals_until(as_of))?;
        let (start, t) = (day(case.start), day(case.term_end));
        let at = day(as_of).max(start);
        let (st, _) = inference::run(self, start, t, &obs, at);
        let current = st.outcome_probabilities(self, t);
        let mut next = st.clone();
        next.propagate(self, at + 1, t);
        next.normalise();
        let next_alpha = next.alpha();
        let mut values: Vec<SignalValue> = self
            .emissions
            .iter()
            .enumerate()
            .filter(|(_, e)| !e.neutral)
            .map(|(ty, e)| {
                let probability: f64 = next_alpha.iter().zip(&e.q).map(|(a, q)| a * q).sum();
                let mut s = next.clone();
                s.observe(
                    self,
                    &Obs {
                        day: at + 1,
                        ty,
                        rho: 1.0,
                        w: 1.0,
                    },
                );
                let f = s.outcome_probabilities(self, t);
                let delta: Vec<f64> = f.iter().zip(&current).map(|(a, b)| a - b).collect();
                let expected_abs_change: Vec<f64> = delta.iter().map(|d| probability * d.abs()).collect();
                SignalValue {
                    signal_type: self.meta.type_names[ty].clone(),
                    probability,
                    share: 0.0,
                    forecast_if_observed: f,
                    score: expected_abs_change.iter().sum(),
                    delta,
                    expected_abs_change,
                }
            })
            .collect();
        let total: f64 = values.iter().map(|v| v.probability).sum();
        for v in &mut values {
            v.share = v.probability / total;
        }
        values.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.signal_type.cmp(&b.signal_type))
        });
        Ok(ValueOfInformation {
            case: case.id.clone(),
            as_of: inference::date_of(at),
            outcomes: self.meta.outcomes.clone(),
            current,
            values,
        })
    }
}
