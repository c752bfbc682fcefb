//! Conversions between wire messages and engine types, both ways.
//!
//! Incoming (what a caller sends, and what a client receives): `TryFrom<v1::Signal> for Signal`,
//! `TryFrom<v1::Case> for NewCase`, `TryFrom<v1::Forecast> for Forecast`, `TryFrom<v1::GetTrajectoryResponse>
//! for Trajectory`, `TryFrom<v1::WhatIfResponse> for WhatIfResult`, `TryFrom<v1::GetValueOfInformationResponse>
//! for ValueOfInformation`, [`explanation_from_proto`], [`draws_from_proto`] (the raw parameter draws), and the
//! date helpers; each error names the offending field by its path in the message (`signals[2].date`,
//! `forecast.probabilities`). Outgoing: `From<&Forecast>`, `From<&Case>`, `From<&Signal>`, `From<&Trajectory>`
//! and friends, [`draws_to_proto`]. The v2 faces (signal roles, the leader's fate, `Scenario`, [`ScenarioRun`]
//! for RunScenario, `PolicyComparison` for ComparePolicies) convert both ways in the `scenario` submodule.
//!
//! A field added to an engine result is added to its message and to the two conversions here; the conversions
//! destructure the engine structs without `..`, so a forgotten field does not compile, and the tests compare
//! the engine's serde field names with the message's fields.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use pf_core::{
    Attribution, Case, DropOne, Forecast, Intervals, Resolution, Signal, Trajectory, ValueOfInformation,
    WhatIfResult,
};

use crate::google::r#type::Date;
use crate::v1;

mod scenario;
pub use scenario::{ScenarioRun, fate_from_proto, fate_to_proto, role_from_proto, role_to_proto};

/// A wire message that does not make a valid engine value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    /// A field is missing, malformed or out of range.
    #[error("invalid field `{field}`: expected {expected}, found {found}")]
    Invalid {
        /// Path of the field in the message, e.g. `signals[2].date`.
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

    /// The path of the offending field.
    pub fn field(&self) -> &str {
        match self {
            ConvertError::Invalid { field, .. } => field,
        }
    }

    /// What the field must be (the description of a `google.rpc.BadRequest` field violation).
    pub fn description(&self) -> String {
        match self {
            ConvertError::Invalid { expected, found, .. } => format!("expected {expected}, found {found}"),
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

const DATE_FORM: &str =
    "a calendar date (google.type.Date with year 1-9999, month 1-12 and a day of that month)";

/// A `google.type.Date` of a day.
pub fn date_to_proto(d: NaiveDate) -> Date {
    Date {
        year: d.year(),
        month: i32::try_from(d.month()).unwrap_or(0),
        day: i32::try_from(d.day()).unwrap_or(0),
    }
}

/// The day of a `google.type.Date` whose year, month and day are all set.
///
/// # Errors
/// [`ConvertError::Invalid`] naming `field` for a partial date (a zero year, month or day) or no such day.
pub fn date_from_proto(field: &str, d: &Date) -> Result<NaiveDate, ConvertError> {
    let found = || format!("year {} month {} day {}", d.year, d.month, d.day);
    if !(1..=9999).contains(&d.year) {
        return Err(ConvertError::invalid(field, DATE_FORM, found()));
    }
    let (Ok(month), Ok(day)) = (u32::try_from(d.month), u32::try_from(d.day)) else {
        return Err(ConvertError::invalid(field, DATE_FORM, found()));
    };
    NaiveDate::from_ymd_opt(d.year, month, day)
        .ok_or_else(|| ConvertError::invalid(field, DATE_FORM, found()))
}

/// A required date field.
///
/// # Errors
/// [`ConvertError::Invalid`] naming `field` when it is not set or not a day.
pub fn required_date(field: &str, d: Option<&Date>) -> Result<NaiveDate, ConvertError> {
    match d {
        Some(d) => date_from_proto(field, d),
        None => Err(ConvertError::invalid(field, DATE_FORM, "no date")),
    }
}

/// An optional date field: not set is `None`.
///
/// # Errors
/// [`ConvertError::Invalid`] naming `field` when it is set and not a day.
pub fn optional_date(field: &str, d: Option<&Date>) -> Result<Option<NaiveDate>, ConvertError> {
    d.map(|d| date_from_proto(field, d)).transpose()
}

fn opt_text(s: String) -> Option<String> {
    if s.is_empty() { None } else { Some(s) }
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl TryFrom<v1::Signal> for Signal {
    type Error = ConvertError;

    /// Field checks that need no case or model: type present, date, reliability in [0, 1], weight > 0.
    fn try_from(p: v1::Signal) -> Result<Signal, ConvertError> {
        let v1::Signal {
            id,
            signal_type,
            date,
            reliability,
            weight,
            source,
            note,
            reports,
            event_ids,
        } = p;
        if signal_type.trim().is_empty() {
            return Err(ConvertError::invalid(
                "signal_type",
                "a signal type name (see ListSignalTypes)",
                "an empty string",
            ));
        }
        let date = required_date("date", date.as_ref())?;
        let reliability = reliability.unwrap_or(1.0);
        if !(reliability.is_finite() && (0.0..=1.0).contains(&reliability)) {
            return Err(ConvertError::invalid(
                "reliability",
                "a number in [0, 1]",
                reliability,
            ));
        }
        let weight = weight.unwrap_or(1.0);
        if !(weight.is_finite() && weight > 0.0) {
            return Err(ConvertError::invalid("weight", "a finite number > 0", weight));
        }
        if !id.is_empty() && id.trim().is_empty() {
            return Err(ConvertError::invalid(
                "id",
                "a non-empty id (or no id)",
                format!("{id:?}"),
            ));
        }
        let mut s = Signal::new(signal_type, date);
        s.id = opt_text(id).map(Into::into);
        s.reliability = reliability;
        s.weight = weight;
        s.source = opt_text(source).as_deref().map(pf_core::Text::interned);
        s.note = opt_text(note).map(Into::into);
        s.reports = reports;
        s.event_ids = event_ids.into();
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
    /// The header, validated (non-empty names, term end after start, election date within the span), with no
    /// signals.
    pub case: Case,
    /// The first batch.
    pub signals: Vec<Signal>,
}

impl TryFrom<v1::Case> for NewCase {
    type Error = ConvertError;

    /// Errors name the field relative to the case (`term_end`, `signals[1].date`); callers add the prefix of
    /// the request's field with [`ConvertError::within`].
    fn try_from(p: v1::Case) -> Result<NewCase, ConvertError> {
        let v1::Case {
            id,
            sender,
            target,
            start,
            term_end,
            description,
            signals,
            signal_count: _,
            reelection_eligible,
            election_date,
            version: _,
        } = p;
        for (f, v) in [("id", &id), ("sender", &sender), ("target", &target)] {
            if v.trim().is_empty() {
                return Err(ConvertError::invalid(f, "a non-empty string", "an empty string"));
            }
        }
        let start = required_date("start", start.as_ref())?;
        let term_end = required_date("term_end", term_end.as_ref())?;
        if term_end <= start {
            return Err(ConvertError::invalid(
                "term_end",
                format!("a date after the start {start}"),
                term_end,
            ));
        }
        let mut case = Case::new(id, sender, target, start, term_end).map_err(|e| {
            ConvertError::invalid(e.field().unwrap_or("id").to_owned(), "a valid case header", &e)
        })?;
        case.description = description;
        case.reelection_eligible = reelection_eligible.unwrap_or(true);
        case.election_date_given = election_date_within(&case, election_date.as_ref())?;
        let signals = signals_from_proto("signals", signals)?;
        Ok(NewCase { case, signals })
    }
}

/// An optional election date for `case`, which must lie within its span (the codebook's rule).
///
/// # Errors
/// [`ConvertError::Invalid`] naming `election_date` for a date that is not a day or lies outside the span.
pub fn election_date_within(case: &Case, d: Option<&Date>) -> Result<Option<NaiveDate>, ConvertError> {
    let date = optional_date("election_date", d)?;
    match date {
        Some(e) if e < case.start || e > case.term_end => Err(ConvertError::invalid(
            "election_date",
            format!(
                "a date within the case's span {} to {}",
                case.start, case.term_end
            ),
            e,
        )),
        _ => Ok(date),
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

/// The wire value of a resolution.
pub fn resolution_to_proto(r: Resolution) -> v1::Resolution {
    match r {
        Resolution::Daily => v1::Resolution::Daily,
        Resolution::SignalDates => v1::Resolution::SignalDates,
    }
}

/// Names zipped with values into a map.
pub fn named(names: &[String], values: &[f64]) -> HashMap<String, f64> {
    names.iter().cloned().zip(values.iter().copied()).collect()
}

/// The values of a map in the order of `names`, every name present and no other key.
///
/// # Errors
/// [`ConvertError::Invalid`] naming `field` for a missing or unknown key.
pub fn ordered(field: &str, map: &HashMap<String, f64>, names: &[String]) -> Result<Vec<f64>, ConvertError> {
    if map.len() != names.len() {
        return Err(ConvertError::invalid(
            field,
            format!("one value for each of {names:?}"),
            format!("{} values", map.len()),
        ));
    }
    names
        .iter()
        .map(|n| {
            map.get(n).copied().ok_or_else(|| {
                ConvertError::invalid(
                    field,
                    format!("one value for each of {names:?}"),
                    format!("no `{n}`"),
                )
            })
        })
        .collect()
}

fn usize_of(n: u32) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

impl From<&Signal> for v1::Signal {
    fn from(s: &Signal) -> v1::Signal {
        v1::Signal {
            id: s.id.as_deref().unwrap_or_default().to_owned(),
            signal_type: s.signal_type.to_string(),
            date: Some(date_to_proto(s.date)),
            reliability: Some(s.reliability),
            weight: Some(s.weight),
            source: s.source.as_deref().unwrap_or_default().to_owned(),
            note: s.note.as_deref().unwrap_or_default().to_owned(),
            reports: s.reports,
            event_ids: s.event_ids.to_vec(),
        }
    }
}

impl From<&Case> for v1::Case {
    /// The case with all its signals (see [`case_summary`] for none, and the service's paging for some).
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
        start: Some(date_to_proto(c.start)),
        term_end: Some(date_to_proto(c.term_end)),
        description: c.description.clone(),
        signals: Vec::new(),
        signal_count: count(c.signals().len()),
        reelection_eligible: Some(c.reelection_eligible),
        election_date: c.election_date_given.map(date_to_proto),
        // The store's version of the case: the service sets it (the engine's case does not carry one).
        version: 0,
    }
}

impl From<&Intervals> for v1::Intervals {
    /// Without the outcome names: use [`intervals_to_proto`].
    fn from(iv: &Intervals) -> v1::Intervals {
        intervals_to_proto(iv, &[])
    }
}

/// Credible intervals as a message, keyed by the outcome names.
pub fn intervals_to_proto(iv: &Intervals, outcomes: &[String]) -> v1::Intervals {
    let Intervals {
        draws,
        seed,
        mean,
        sd,
        intervals,
    } = iv;
    v1::Intervals {
        draws: count(*draws),
        seed: *seed,
        mean: named(outcomes, mean),
        sd: named(outcomes, sd),
        intervals: intervals
            .iter()
            .map(|i| v1::Interval {
                level: i.level,
                lower: named(outcomes, &i.lower),
                upper: named(outcomes, &i.upper),
            })
            .collect(),
    }
}

/// Credible intervals from a message, in the order of `outcomes`.
///
/// # Errors
/// [`ConvertError::Invalid`] naming the field under `prefix`.
pub fn intervals_from_proto(
    prefix: &str,
    p: &v1::Intervals,
    outcomes: &[String],
) -> Result<Intervals, ConvertError> {
    let v1::Intervals {
        draws,
        seed,
        mean,
        sd,
        intervals,
    } = p;
    Ok(Intervals {
        draws: usize_of(*draws),
        seed: *seed,
        mean: ordered(&format!("{prefix}.mean"), mean, outcomes)?,
        sd: ordered(&format!("{prefix}.sd"), sd, outcomes)?,
        intervals: intervals
            .iter()
            .enumerate()
            .map(|(i, iv)| {
                Ok(pf_core::Interval {
                    level: iv.level,
                    lower: ordered(&format!("{prefix}.intervals[{i}].lower"), &iv.lower, outcomes)?,
                    upper: ordered(&format!("{prefix}.intervals[{i}].upper"), &iv.upper, outcomes)?,
                })
            })
            .collect::<Result<_, ConvertError>>()?,
    })
}

impl From<&Forecast> for v1::Forecast {
    fn from(f: &Forecast) -> v1::Forecast {
        let Forecast {
            case,
            as_of,
            term_end,
            outcomes,
            probabilities,
            regimes,
            regime_probabilities,
            log_likelihood,
            signals_used,
            intervals,
            model,
        } = f;
        v1::Forecast {
            case_id: case.clone(),
            as_of: Some(date_to_proto(*as_of)),
            term_end: Some(date_to_proto(*term_end)),
            probabilities: named(outcomes, probabilities),
            regimes: named(regimes, regime_probabilities),
            log_likelihood: *log_likelihood,
            signals_used: count(*signals_used),
            outcome_order: outcomes.clone(),
            regime_order: regimes.clone(),
            intervals: intervals.as_ref().map(|iv| intervals_to_proto(iv, outcomes)),
            attribution: None,
            model: model.as_ref().map(model_id_to_proto),
            draws: Vec::new(),
        }
    }
}

impl TryFrom<v1::Forecast> for Forecast {
    type Error = ConvertError;

    /// The engine's forecast (the attribution, if any, is read by [`explanation_from_proto`], the raw draws by
    /// [`draws_from_proto`]).
    fn try_from(p: v1::Forecast) -> Result<Forecast, ConvertError> {
        let v1::Forecast {
            case_id,
            as_of,
            term_end,
            probabilities,
            regimes,
            log_likelihood,
            signals_used,
            outcome_order,
            regime_order,
            intervals,
            attribution: _,
            model,
            draws: _,
        } = p;
        Ok(Forecast {
            model: model.map(|m| pf_core::v2::ModelId {
                name: m.name,
                version: m.version,
                hash: m.hash,
            }),
            as_of: required_date("as_of", as_of.as_ref())?,
            term_end: required_date("term_end", term_end.as_ref())?,
            probabilities: ordered("probabilities", &probabilities, &outcome_order)?,
            regime_probabilities: ordered("regimes", &regimes, &regime_order)?,
            log_likelihood,
            signals_used: usize_of(signals_used),
            intervals: intervals
                .as_ref()
                .map(|iv| intervals_from_proto("intervals", iv, &outcome_order))
                .transpose()?,
            case: case_id,
            outcomes: outcome_order,
            regimes: regime_order,
        })
    }
}

/// The raw parameter draws of a forecast as messages: entry `i` is draw `i`, its probabilities in the forecast's
/// outcome order (the engine's `draw_forecasts` rows).
pub fn draws_to_proto(draws: &[Vec<f64>]) -> Vec<v1::ParameterDraw> {
    draws
        .iter()
        .map(|d| v1::ParameterDraw {
            probabilities: d.clone(),
        })
        .collect()
}

/// The raw parameter draws of a forecast message (rows in draw order, columns in the order of its
/// `outcome_order`); `None` when it carries none.
///
/// # Errors
/// [`ConvertError::Invalid`] naming the field: `draws` when there are draws without intervals or not as many as
/// `intervals.draws`, `draws[i].probabilities` for a row without one finite value per outcome.
pub fn draws_from_proto(p: &v1::Forecast) -> Result<Option<Vec<Vec<f64>>>, ConvertError> {
    if p.draws.is_empty() {
        return Ok(None);
    }
    let expected = p.intervals.as_ref().map(|iv| usize_of(iv.draws));
    if expected != Some(p.draws.len()) {
        return Err(ConvertError::invalid(
            "draws",
            expected.map_or_else(
                || "no draws without intervals".to_owned(),
                |n| format!("{n} draws (intervals.draws)"),
            ),
            format!("{} draws", p.draws.len()),
        ));
    }
    let m = p.outcome_order.len();
    p.draws
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let v1::ParameterDraw { probabilities } = d;
            if probabilities.len() != m || probabilities.iter().any(|x| !x.is_finite()) {
                return Err(ConvertError::invalid(
                    format!("draws[{i}].probabilities"),
                    format!("{m} finite probabilities, one for each of {:?}", p.outcome_order),
                    if probabilities.len() == m {
                        "a value that is not finite".to_owned()
                    } else {
                        format!("{} values", probabilities.len())
                    },
                ));
            }
            Ok(probabilities.clone())
        })
        .collect::<Result<_, _>>()
        .map(Some)
}

/// The name, version and hash of a model as a message.
pub fn model_id_to_proto(m: &pf_core::v2::ModelId) -> v1::ModelId {
    let pf_core::v2::ModelId { name, version, hash } = m;
    v1::ModelId {
        name: name.clone(),
        version: version.clone(),
        hash: hash.clone(),
    }
}

/// A required message field.
fn present<T>(field: &str, v: Option<T>, what: &str) -> Result<T, ConvertError> {
    v.ok_or_else(|| ConvertError::invalid(field, what, "nothing"))
}

impl From<&Trajectory> for v1::GetTrajectoryResponse {
    fn from(t: &Trajectory) -> v1::GetTrajectoryResponse {
        let Trajectory {
            case,
            term_end,
            outcomes,
            regimes,
            points,
        } = t;
        v1::GetTrajectoryResponse {
            case_id: case.clone(),
            term_end: Some(date_to_proto(*term_end)),
            outcome_order: outcomes.clone(),
            regime_order: regimes.clone(),
            points: points
                .iter()
                .map(|p| v1::TrajectoryPoint {
                    date: Some(date_to_proto(p.date)),
                    probabilities: named(outcomes, &p.probabilities),
                    regimes: named(regimes, &p.regime_probabilities),
                    signals_used: count(p.signals_used),
                    signal_types: p.signal_types.clone(),
                })
                .collect(),
        }
    }
}

impl TryFrom<v1::GetTrajectoryResponse> for Trajectory {
    type Error = ConvertError;

    fn try_from(p: v1::GetTrajectoryResponse) -> Result<Trajectory, ConvertError> {
        let v1::GetTrajectoryResponse {
            case_id,
            term_end,
            outcome_order,
            regime_order,
            points,
        } = p;
        let points = points
            .into_iter()
            .enumerate()
            .map(|(i, pt)| {
                let f = |name: &str| format!("points[{i}].{name}");
                Ok(pf_core::TrajectoryPoint {
                    date: required_date(&f("date"), pt.date.as_ref())?,
                    probabilities: ordered(&f("probabilities"), &pt.probabilities, &outcome_order)?,
                    regime_probabilities: ordered(&f("regimes"), &pt.regimes, &regime_order)?,
                    signals_used: usize_of(pt.signals_used),
                    signal_types: pt.signal_types,
                })
            })
            .collect::<Result<_, ConvertError>>()?;
        Ok(Trajectory {
            case: case_id,
            term_end: required_date("term_end", term_end.as_ref())?,
            outcomes: outcome_order,
            regimes: regime_order,
            points,
        })
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

/// The attribution and drop-one forecasts of a forecast message that carries them; `None` when it does not.
///
/// # Errors
/// [`ConvertError::Invalid`] naming the field (`attribution.contributions[0].delta`).
pub fn explanation_from_proto(p: &v1::Forecast) -> Result<Option<(Attribution, Vec<DropOne>)>, ConvertError> {
    let Some(a) = &p.attribution else {
        return Ok(None);
    };
    let o = &p.outcome_order;
    let signal = |field: String, s: &Option<v1::Signal>| -> Result<Signal, ConvertError> {
        let s = present(&field, s.clone(), "a signal")?;
        Signal::try_from(s).map_err(|e| e.within(&field))
    };
    let contributions = a
        .contributions
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let f = |name: &str| format!("attribution.contributions[{i}].{name}");
            Ok(pf_core::explain::Contribution {
                signal: signal(f("signal"), &c.signal)?,
                before: ordered(&f("before"), &c.before, o)?,
                after: ordered(&f("after"), &c.after, o)?,
                delta: ordered(&f("delta"), &c.delta, o)?,
                delta_log_odds: ordered(&f("delta_log_odds"), &c.delta_log_odds, o)?,
            })
        })
        .collect::<Result<_, ConvertError>>()?;
    let drop_one = a
        .drop_one
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let f = |name: &str| format!("attribution.drop_one[{i}].{name}");
            Ok(DropOne {
                signal: signal(f("signal"), &d.signal)?,
                probabilities: ordered(&f("probabilities"), &d.probabilities, o)?,
                delta: ordered(&f("delta"), &d.delta, o)?,
            })
        })
        .collect::<Result<_, ConvertError>>()?;
    let attribution = Attribution {
        case: p.case_id.clone(),
        as_of: required_date("as_of", p.as_of.as_ref())?,
        outcomes: o.clone(),
        baseline: ordered("attribution.baseline", &a.baseline, o)?,
        total: ordered("attribution.total", &a.total, o)?,
        contributions,
    };
    Ok(Some((attribution, drop_one)))
}

impl From<&WhatIfResult> for v1::WhatIfResponse {
    fn from(w: &WhatIfResult) -> v1::WhatIfResponse {
        let WhatIfResult {
            baseline,
            scenario,
            delta,
        } = w;
        v1::WhatIfResponse {
            baseline: Some(v1::Forecast::from(baseline)),
            scenario: Some(v1::Forecast::from(scenario)),
            delta: named(&baseline.outcomes, delta),
        }
    }
}

impl TryFrom<v1::WhatIfResponse> for WhatIfResult {
    type Error = ConvertError;

    fn try_from(p: v1::WhatIfResponse) -> Result<WhatIfResult, ConvertError> {
        let v1::WhatIfResponse {
            baseline,
            scenario,
            delta,
        } = p;
        let baseline = Forecast::try_from(present("baseline", baseline, "a forecast")?)
            .map_err(|e| e.within("baseline"))?;
        let scenario = Forecast::try_from(present("scenario", scenario, "a forecast")?)
            .map_err(|e| e.within("scenario"))?;
        let delta = ordered("delta", &delta, &baseline.outcomes)?;
        Ok(WhatIfResult {
            baseline,
            scenario,
            delta,
        })
    }
}

impl From<&ValueOfInformation> for v1::GetValueOfInformationResponse {
    fn from(v: &ValueOfInformation) -> v1::GetValueOfInformationResponse {
        let ValueOfInformation {
            case,
            as_of,
            outcomes: o,
            current,
            values,
        } = v;
        v1::GetValueOfInformationResponse {
            case_id: case.clone(),
            as_of: Some(date_to_proto(*as_of)),
            outcome_order: o.clone(),
            current: named(o, current),
            values: values
                .iter()
                .map(|s| v1::SignalValue {
                    signal_type: s.signal_type.clone(),
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

impl TryFrom<v1::GetValueOfInformationResponse> for ValueOfInformation {
    type Error = ConvertError;

    fn try_from(p: v1::GetValueOfInformationResponse) -> Result<ValueOfInformation, ConvertError> {
        let v1::GetValueOfInformationResponse {
            case_id,
            as_of,
            outcome_order: o,
            current,
            values,
        } = p;
        let values = values
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                let f = |name: &str| format!("values[{i}].{name}");
                Ok(pf_core::explain::SignalValue {
                    forecast_if_observed: ordered(&f("forecast_if_observed"), &s.forecast_if_observed, &o)?,
                    delta: ordered(&f("delta"), &s.delta, &o)?,
                    expected_abs_change: ordered(&f("expected_abs_change"), &s.expected_abs_change, &o)?,
                    signal_type: s.signal_type,
                    probability: s.probability,
                    share: s.share,
                    score: s.score,
                })
            })
            .collect::<Result<_, ConvertError>>()?;
        Ok(ValueOfInformation {
            case: case_id,
            as_of: required_date("as_of", as_of.as_ref())?,
            current: ordered("current", &current, &o)?,
            outcomes: o,
            values,
        })
    }
}

#[cfg(test)]
mod tests;
