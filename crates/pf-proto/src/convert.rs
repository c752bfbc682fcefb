//! Conversions between wire messages and engine types.
//!
//! Incoming: `TryFrom<v1::Signal> for Signal`, `TryFrom<v1::Case> for NewCase`, plus date helpers; each error
//! names the offending field with its path in the request (`signals[2].date`). Outgoing: `From<&Forecast>`,
//! `From<&Case>`, `From<&Signal>`, `From<&Trajectory>` and friends.

use std::collections::HashMap;

use chrono::NaiveDate;
use pf_core::{
    Attribution, Case, DropOne, Forecast, Intervals, Resolution, Signal, Trajectory, ValueOfInformation,
    WhatIfResult,
};

use crate::v1;

/// A wire message that does not make a valid engine value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConvertError {
    /// A field is malformed or out of range.
    #[error("invalid field `{field}`: expected {expected}, found {found}")]
    Invalid {
        /// Path of the field in the request, e.g. `signals[2].date`.
        field: String,
        /// The form the field must take.
        expected: String,
        /// What was found instead.
        found: String,
    },
}

impl ConvertError {
    /// A malformed field.
    pub fn invalid(field: impl Into<String>, expected: impl Into<String>, found: impl ToString) -> Self {
        ConvertError::Invalid {
            field: field.into(),
            expected: expected.into(),
            found: found.to_string(),
        }
    }

    /// The name of the offending field.
    pub fn field(&self) -> &str {
        match self {
            ConvertError::Invalid { field, .. } => field,
        }
    }

    /// The same error with `prefix.` in front of the field path.
    #[must_use]
    pub fn within(self, prefix: &str) -> Self {
        match self {
            ConvertError::Invalid {
                field,
                expected,
                found,
            } => ConvertError::Invalid {
                field: format!("{prefix}.{field}"),
                expected,
                found,
            },
        }
    }
}

/// Parse a required `YYYY-MM-DD` date.
///
/// # Errors
/// [`ConvertError::Invalid`] naming `field` when the text is empty or not such a date.
pub fn parse_date(field: &str, text: &str) -> Result<NaiveDate, ConvertError> {
    if text.trim().is_empty() {
        return Err(ConvertError::invalid(
            field,
            "an ISO 8601 date YYYY-MM-DD",
            "an empty string",
        ));
    }
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| ConvertError::invalid(field, "an ISO 8601 date YYYY-MM-DD", format!("{text:?}")))
}

/// Parse an optional `YYYY-MM-DD` date: the empty string is `None`.
///
/// # Errors
/// [`ConvertError::Invalid`] naming `field` when the text is not empty and not such a date.
pub fn parse_optional_date(field: &str, text: &str) -> Result<Option<NaiveDate>, ConvertError> {
    if text.trim().is_empty() {
        Ok(None)
    } else {
        parse_date(field, text).map(Some)
    }
}

fn opt_text(s: String) -> Option<String> {
    if s.is_empty() { None } else { Some(s) }
}

impl TryFrom<v1::Signal> for Signal {
    type Error = ConvertError;

    /// Field checks that need no case or model: type present, date, reliability in [0, 1], weight > 0.
    fn try_from(p: v1::Signal) -> Result<Signal, ConvertError> {
        if p.r#type.trim().is_empty() {
            return Err(ConvertError::invalid(
                "type",
                "a signal type name (see ListSignalTypes)",
                "an empty string",
            ));
        }
        let date = parse_date("date", &p.date)?;
        let reliability = p.reliability.unwrap_or(1.0);
        if !(reliability.is_finite() && (0.0..=1.0).contains(&reliability)) {
            return Err(ConvertError::invalid(
                "reliability",
                "a number in [0, 1]",
                reliability,
            ));
        }
        let weight = p.weight.unwrap_or(1.0);
        if !(weight.is_finite() && weight > 0.0) {
            return Err(ConvertError::invalid("weight", "a finite number > 0", weight));
        }
        if !p.id.is_empty() && p.id.trim().is_empty() {
            return Err(ConvertError::invalid(
                "id",
                "a non-empty id (or no id)",
                format!("{:?}", p.id),
            ));
        }
        let mut s = Signal::new(p.r#type, date);
        s.id = opt_text(p.id);
        s.reliability = reliability;
        s.weight = weight;
        s.source = opt_text(p.source);
        s.note = opt_text(p.note);
        s.reports = p.reports;
        s.event_ids = p.event_ids;
        Ok(s)
    }
}

/// Convert a batch of signals; errors name the field as `{prefix}[i].{field}`.
///
/// # Errors
/// The first malformed signal.
pub fn signals_from_proto(prefix: &str, signals: Vec<v1::Signal>) -> Result<Vec<Signal>, ConvertError> {
    signals
        .into_iter()
        .enumerate()
        .map(|(i, s)| Signal::try_from(s).map_err(|e| e.within(&format!("{prefix}[{i}]"))))
        .collect()
}

/// A case to create: its header as an engine [`Case`] with no signals, and the signals of its first batch
/// (appended by the caller, who knows the model's vocabulary).
#[derive(Debug, Clone, PartialEq)]
pub struct NewCase {
    /// The header, validated (non-empty names, term end after start), with no signals.
    pub case: Case,
    /// The first batch.
    pub signals: Vec<Signal>,
}

impl TryFrom<v1::Case> for NewCase {
    type Error = ConvertError;

    /// Errors name the field as `case.<field>` (`case.signals[1].date`).
    fn try_from(p: v1::Case) -> Result<NewCase, ConvertError> {
        for (f, v) in [("id", &p.id), ("sender", &p.sender), ("target", &p.target)] {
            if v.trim().is_empty() {
                return Err(ConvertError::invalid(
                    format!("case.{f}"),
                    "a non-empty string",
                    "an empty string",
                ));
            }
        }
        let start = parse_date("case.start", &p.start)?;
        let term_end = parse_date("case.term_end", &p.term_end)?;
        if term_end <= start {
            return Err(ConvertError::invalid(
                "case.term_end",
                format!("a date after the start {start}"),
                term_end,
            ));
        }
        let mut case = Case::new(p.id, p.sender, p.target, start, term_end).map_err(|e| {
            ConvertError::invalid(
                format!("case.{}", e.field().unwrap_or("case")),
                "a valid case header",
                e,
            )
        })?;
        case.description = p.description;
        let signals = signals_from_proto("case.signals", p.signals)?;
        Ok(NewCase { case, signals })
    }
}

/// The resolution of a trajectory (`RESOLUTION_UNSPECIFIED` is daily).
///
/// # Errors
/// [`ConvertError::Invalid`] for an enum value this build does not know.
pub fn resolution_from_proto(value: i32) -> Result<Resolution, ConvertError> {
    match v1::Resolution::try_from(value) {
        Ok(v1::Resolution::Unspecified | v1::Resolution::Daily) => Ok(Resolution::Daily),
        Ok(v1::Resolution::SignalDates) => Ok(Resolution::SignalDates),
        Err(_) => Err(ConvertError::invalid(
            "resolution",
            "RESOLUTION_DAILY or RESOLUTION_SIGNAL_DATES",
            value,
        )),
    }
}

/// Names zipped with values into a map.
pub fn named(names: &[String], values: &[f64]) -> HashMap<String, f64> {
    names.iter().cloned().zip(values.iter().copied()).collect()
}

impl From<&Signal> for v1::Signal {
    fn from(s: &Signal) -> v1::Signal {
        v1::Signal {
            id: s.id.clone().unwrap_or_default(),
            r#type: s.signal_type.clone(),
            date: s.date.to_string(),
            reliability: Some(s.reliability),
            weight: Some(s.weight),
            source: s.source.clone().unwrap_or_default(),
            note: s.note.clone().unwrap_or_default(),
            reports: s.reports,
            event_ids: s.event_ids.clone(),
        }
    }
}

impl From<&Case> for v1::Case {
    fn from(c: &Case) -> v1::Case {
        let mut p = case_summary(c);
        p.signals = c.signals().iter().map(v1::Signal::from).collect();
        p
    }
}

/// A case without its signals (`signal_count` set), as ListCases returns it.
pub fn case_summary(c: &Case) -> v1::Case {
    v1::Case {
        id: c.id.clone(),
        sender: c.sender.clone(),
        target: c.target.clone(),
        start: c.start.to_string(),
        term_end: c.term_end.to_string(),
        description: c.description.clone(),
        signals: Vec::new(),
        signal_count: u32::try_from(c.signals().len()).unwrap_or(u32::MAX),
    }
}

/// Credible intervals as a message, keyed by the outcome names.
pub fn intervals_to_proto(iv: &Intervals, outcomes: &[String]) -> v1::Intervals {
    v1::Intervals {
        draws: u32::try_from(iv.draws).unwrap_or(u32::MAX),
        seed: iv.seed,
        mean: named(outcomes, &iv.mean),
        sd: named(outcomes, &iv.sd),
        intervals: iv
            .intervals
            .iter()
            .map(|i| v1::Interval {
                level: i.level,
                lower: named(outcomes, &i.lower),
                upper: named(outcomes, &i.upper),
            })
            .collect(),
    }
}

impl From<&Forecast> for v1::Forecast {
    fn from(f: &Forecast) -> v1::Forecast {
        v1::Forecast {
            r#case: f.case.clone(),
            as_of: f.as_of.to_string(),
            term_end: f.term_end.to_string(),
            probabilities: named(&f.outcomes, &f.probabilities),
            regimes: named(&f.regimes, &f.regime_probabilities),
            log_likelihood: f.log_likelihood,
            signals_used: u32::try_from(f.signals_used).unwrap_or(u32::MAX),
            outcome_order: f.outcomes.clone(),
            regime_order: f.regimes.clone(),
            intervals: f.intervals.as_ref().map(|iv| intervals_to_proto(iv, &f.outcomes)),
            attribution: None,
        }
    }
}

impl From<&Trajectory> for v1::GetTrajectoryResponse {
    fn from(t: &Trajectory) -> v1::GetTrajectoryResponse {
        v1::GetTrajectoryResponse {
            r#case: t.case.clone(),
            term_end: t.term_end.to_string(),
            outcome_order: t.outcomes.clone(),
            regime_order: t.regimes.clone(),
            points: t
                .points
                .iter()
                .map(|p| v1::TrajectoryPoint {
                    date: p.date.to_string(),
                    probabilities: named(&t.outcomes, &p.probabilities),
                    regimes: named(&t.regimes, &p.regime_probabilities),
                    signals_used: u32::try_from(p.signals_used).unwrap_or(u32::MAX),
                    signal_types: p.signal_types.clone(),
                })
                .collect(),
        }
    }
}

/// An attribution and the drop-one forecasts as one message.
pub fn attribution_to_proto(a: &Attribution, drop_one: &[DropOne]) -> v1::Attribution {
    let o = &a.outcomes;
    v1::Attribution {
        baseline: named(o, &a.baseline),
        total: named(o, &a.total),
        contributions: a
            .contributions
            .iter()
            .map(|c| v1::SignalContribution {
                signal: Some(v1::Signal::from(&c.signal)),
                before: named(o, &c.before),
                after: named(o, &c.after),
                delta: named(o, &c.delta),
                delta_log_odds: named(o, &c.delta_log_odds),
            })
            .collect(),
        drop_one: drop_one
            .iter()
            .map(|d| v1::DropOneForecast {
                signal: Some(v1::Signal::from(&d.signal)),
                probabilities: named(o, &d.probabilities),
                delta: named(o, &d.delta),
            })
            .collect(),
    }
}

impl From<&WhatIfResult> for v1::WhatIfResponse {
    fn from(w: &WhatIfResult) -> v1::WhatIfResponse {
        v1::WhatIfResponse {
            baseline: Some(v1::Forecast::from(&w.baseline)),
            scenario: Some(v1::Forecast::from(&w.scenario)),
            delta: named(&w.baseline.outcomes, &w.delta),
        }
    }
}

impl From<&ValueOfInformation> for v1::GetValueOfInformationResponse {
    fn from(v: &ValueOfInformation) -> v1::GetValueOfInformationResponse {
        let o = &v.outcomes;
        v1::GetValueOfInformationResponse {
            r#case: v.case.clone(),
            as_of: v.as_of.to_string(),
            outcome_order: o.clone(),
            current: named(o, &v.current),
            values: v
                .values
                .iter()
                .map(|s| v1::SignalValue {
                    r#type: s.signal_type.clone(),
                    probability: s.probability,
                    share: s.share,
                    forecast_if_observed: named(o, &s.forecast_if_observed),
                    delta: named(o, &s.delta),
                    expected_abs_change: named(o, &s.expected_abs_change),
                    score: s.score,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(ty: &str, date: &str) -> v1::Signal {
        v1::Signal {
            r#type: ty.into(),
            date: date.into(),
            ..Default::default()
        }
    }

    #[test]
    fn signal_defaults_and_round_trip() {
        let s = Signal::try_from(v1::Signal {
            id: "a".into(),
            ..sig("summit_held", "2018-06-12")
        })
        .unwrap();
        assert_eq!(s.reliability, 1.0);
        assert_eq!(s.weight, 1.0);
        assert_eq!(s.id.as_deref(), Some("a"));
        let back = v1::Signal::from(&s);
        assert_eq!(Signal::try_from(back).unwrap(), s);
    }

    #[test]
    fn errors_name_the_field() {
        let e = signals_from_proto(
            "signals",
            vec![sig("summit_held", "2018-06-12"), sig("x", "2018-13-01")],
        )
        .unwrap_err();
        assert_eq!(e.field(), "signals[1].date");
        let e = Signal::try_from(v1::Signal {
            reliability: Some(1.5),
            ..sig("x", "2018-01-01")
        })
        .unwrap_err();
        assert_eq!(e.field(), "reliability");
        let e = Signal::try_from(v1::Signal {
            weight: Some(0.0),
            ..sig("x", "2018-01-01")
        })
        .unwrap_err();
        assert_eq!(e.field(), "weight");
        let e = NewCase::try_from(v1::Case {
            id: "c".into(),
            sender: "USA".into(),
            target: "PRK".into(),
            start: "2018-01-01".into(),
            term_end: "2017-01-01".into(),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(e.field(), "case.term_end");
        assert!(resolution_from_proto(99).is_err());
    }
}
