//! Trajectories, scenarios (what-if with future sender actions, a fate, a term end), policy comparison,
//! attribution, drop-one and value of information on v2 models (MODEL.md v2, "Uncertainty, explanation,
//! what-if, value of information").
//!
//! Every number here comes from the same filter and forecast as [`super::forecast`]:
//! - attribution takes the signals used in the filter's order and reports `f_i - f_(i-1)`, where `f_i` is the
//!   forecast with the first `i` of them; the deltas telescope to `f_n - f_0` (an action's contribution is its
//!   effect through the inputs, since adding it changes them);
//! - value of information ranks the evidence types by `share_s · Σ_o |f_s(o) - f_none(o)|`, with
//!   `share_s = Σ_j alpha_(t+1)(j) q_s(j)` the predictive probability that the next evidence signal is of type
//!   `s` (the filter's own likelihood), `f_s` the forecast on the next day with one such signal, and `f_none`
//!   the forecast on the next day without it.

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::case::Case;
use crate::error::{Error, Result};
use crate::explain::{Attribution, Contribution, DropOne, SignalValue, ValueOfInformation, WhatIfResult};
use crate::inference::{Forecast, Resolution, Trajectory, TrajectoryPoint, date_of, day};
use crate::progress::{CHECK_EVERY, Progress, Silent, check};
use crate::signal::Signal;
use crate::v2::filter::{self, Ev, FilteredState, Span, Walker};
use crate::v2::spec::{Fate, ModelV2, Role};
use crate::v2::{OUTCOMES, Terms, to_forecast};

/// Days of past actions that "policy continues" repeats.
pub const POLICY_WINDOW_DAYS: u64 = 90;

/// A scenario: hypothetical signals, future sender actions, a fate and the case's terms changed.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Scenario {
    /// A name for reports.
    #[serde(default)]
    pub name: String,
    /// Hypothetical signals. Those dated on or before the as-of date join the record (any role); those after it
    /// must be actions or context, and act as future inputs.
    #[serde(default)]
    pub signals: Vec<Signal>,
    /// Action or context types repeated monthly, from one month after the as-of date to the term end
    /// ("sanctions monthly from now").
    #[serde(default)]
    pub monthly: Vec<String>,
    /// "Policy continues": the action signals of the last 90 days up to the as-of date repeated every 90 days
    /// until the term end.
    #[serde(default)]
    pub policy_continues: bool,
    /// The leader's fate, as if revealed (reliability 1) on the as-of date.
    #[serde(default)]
    pub fate: Option<Fate>,
    /// Another term end (the election date moves with it when the case's was the default).
    #[serde(default)]
    pub term_end: Option<NaiveDate>,
    /// Another eligibility of the leader.
    #[serde(default)]
    pub reelection_eligible: Option<bool>,
}

/// Two policies for one case compared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyComparison {
    /// The forecast under the first scenario.
    pub a: Forecast,
    /// The forecast under the second scenario.
    pub b: Forecast,
    /// `b - a`, per outcome.
    pub difference: Vec<f64>,
}

/// The terms, observed signals and future actions a scenario gives.
fn apply_scenario(
    model: &ModelV2,
    terms: &Terms,
    signals: &[Signal],
    as_of: NaiveDate,
    sc: &Scenario,
) -> Result<(Terms, Vec<Signal>, Vec<Signal>)> {
    let mut tm = *terms;
    if let Some(te) = sc.term_end {
        if te <= tm.start {
            return Err(Error::argument(
                "term_end",
                format!("a date after the start {}", tm.start),
                te,
            ));
        }
        if tm.election_date == super::default_election_date(tm.term_end) {
            tm.election_date = super::default_election_date(te);
        }
        tm.term_end = te;
    }
    if let Some(e) = sc.reelection_eligible {
        tm.reelection_eligible = e;
    }
    let mut observed: Vec<Signal> = signals.iter().filter(|s| s.date <= as_of).cloned().collect();
    let mut future = Vec::new();
    for (i, s) in sc.signals.iter().enumerate() {
        s.validate()?;
        let role = model
            .role(&s.signal_type)
            .ok_or_else(|| Error::UnknownSignalType {
                name: s.signal_type.to_string(),
                valid: model.signal_types().to_vec(),
                line: None,
            })?;
        if s.date <= as_of {
            observed.push(s.clone());
        } else if matches!(role, Role::Action | Role::Context) {
            future.push(s.clone());
        } else {
            return Err(Error::argument(
                format!("signals[{i}].date"),
                format!("a date on or before the as-of date {as_of} for a signal of role {role:?}"),
                s.date,
            ));
        }
    }
    let last = tm
        .term_end
        .pred_opt()
        .expect("term ends are within chrono's range");
    for (i, ty) in sc.monthly.iter().enumerate() {
        match model.role(ty) {
            Some(Role::Action | Role::Context) => {}
            _ => {
                return Err(Error::argument(
                    format!("monthly[{i}]"),
                    "an action or context type of the model",
                    ty,
                ));
            }
        }
        let mut n = 1;
        while let Some(d) = as_of.checked_add_months(Months::new(n)) {
            if d > last {
                break;
            }
            future.push(Signal::new(ty.clone(), d));
            n += 1;
        }
    }
    if sc.policy_continues {
        let from = as_of
            .checked_sub_days(chrono::Days::new(POLICY_WINDOW_DAYS))
            .unwrap_or(as_of);
        let recent: Vec<Signal> = observed
            .iter()
            .filter(|s| s.date > from && model.role(&s.signal_type) == Some(Role::Action))
            .cloned()
            .collect();
        for s in recent {
            let mut k = 1;
            while let Some(d) = s.date.checked_add_days(chrono::Days::new(POLICY_WINDOW_DAYS * k)) {
                if d > last {
                    break;
                }
                let mut c = s.clone();
                c.date = d;
                c.id = None;
                future.push(c);
                k += 1;
            }
        }
    }
    if let Some(f) = sc.fate {
        let ty = model
            .signal_types()
            .iter()
            .find(|t| model.types[model.type_index[*t]].reveals == Some(f))
            .ok_or_else(|| {
                Error::argument(
                    "fate",
                    "a fate the model has a fate signal type for",
                    format!("{f:?}"),
                )
            })?;
        let d = as_of.clamp(tm.start, last.max(tm.start));
        observed.push(Signal::new(ty.clone(), d));
    }
    Ok((tm, observed, future))
}

/// The forecast of a case under a scenario at `as_of`.
///
/// # Errors
/// As [`super::forecast`], and [`Error::InvalidArgument`] for a scenario signal of another role than action or
/// context dated after `as_of`, a monthly type that is not an action or context, a fate the model cannot
/// express, or a term end not after the start.
pub fn scenario_forecast(model: &ModelV2, case: &Case, as_of: NaiveDate, sc: &Scenario) -> Result<Forecast> {
    let terms = Terms::of_case(case);
    scenario_forecast_terms(model, &case.id, &terms, case.signals(), as_of, sc)
}

/// [`scenario_forecast`] from terms and signals.
///
/// # Errors
/// As [`scenario_forecast`].
pub fn scenario_forecast_terms(
    model: &ModelV2,
    id: &str,
    terms: &Terms,
    signals: &[Signal],
    as_of: NaiveDate,
    sc: &Scenario,
) -> Result<Forecast> {
    let (tm, observed, future) = apply_scenario(model, terms, signals, as_of, sc)?;
    let (p, st) = super::forecast_terms(model, &tm, &observed, as_of, &future)?;
    Ok(to_forecast(model, id, &tm, as_of, p, &st))
}

/// The filtered state of a case on `as_of` under a scenario: its terms, hypothetical signals up to `as_of` and
/// fate applied (future actions do not change it). Its `leader_stays` is the leader's fate under the scenario.
///
/// # Errors
/// As [`scenario_forecast`].
pub fn scenario_state(
    model: &ModelV2,
    case: &Case,
    as_of: NaiveDate,
    sc: &Scenario,
) -> Result<FilteredState> {
    let terms = Terms::of_case(case);
    let (tm, observed, _) = apply_scenario(model, &terms, case.signals(), as_of, sc)?;
    super::filter(model, &tm, &observed, as_of)
}

/// Compare two policies (scenarios) for one case at `as_of`: both forecasts and their difference `b - a`.
///
/// # Errors
/// As [`scenario_forecast`].
pub fn compare(
    model: &ModelV2,
    case: &Case,
    as_of: NaiveDate,
    a: &Scenario,
    b: &Scenario,
) -> Result<PolicyComparison> {
    let fa = scenario_forecast(model, case, as_of, a)?;
    let fb = scenario_forecast(model, case, as_of, b)?;
    let difference = fb
        .probabilities
        .iter()
        .zip(&fa.probabilities)
        .map(|(x, y)| x - y)
        .collect();
    Ok(PolicyComparison {
        a: fa,
        b: fb,
        difference,
    })
}

/// The v1 what-if question on a v2 model: hypothetical signals (those after `as_of` move the evaluation date
/// to the latest of them, as in v1) and another term end.
///
/// # Errors
/// As [`scenario_forecast`].
pub fn what_if(
    model: &ModelV2,
    case: &Case,
    as_of: NaiveDate,
    signals: &[Signal],
    term_end: Option<NaiveDate>,
) -> Result<WhatIfResult> {
    let at = signals
        .iter()
        .map(|s| s.date)
        .max()
        .map_or(as_of, |d| d.max(as_of));
    let baseline = super::forecast(model, case, at)?;
    let sc = Scenario {
        signals: signals.to_vec(),
        term_end,
        ..Scenario::default()
    };
    let scenario = scenario_forecast(model, case, at, &sc)?;
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

/// Outcome probabilities for every day (or every signal date) from `from` to `to`, each forecast with only the
/// signals dated up to that day and no future actions. Days from the term end on carry the resolved
/// distribution (the state on the day before the term end).
///
/// # Errors
/// [`Error::InvalidArgument`] when `to` is before `from`; as [`super::filter()`].
pub fn trajectory(
    model: &ModelV2,
    case: &Case,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    resolution: Resolution,
) -> Result<Trajectory> {
    trajectory_with(model, case, from, to, resolution, &Silent)
}

/// [`trajectory`], asking `progress` whether to stop every [`CHECK_EVERY`] days.
///
/// # Errors
/// As [`trajectory`]; [`Error::Interrupted`] when `progress` cancels.
pub fn trajectory_with(
    model: &ModelV2,
    case: &Case,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    resolution: Resolution,
    progress: &dyn Progress,
) -> Result<Trajectory> {
    let terms = Terms::of_case(case);
    let from = from.unwrap_or(case.start).max(case.start);
    let to = to.unwrap_or(case.term_end);
    if to < from {
        return Err(Error::argument("to", format!("a date on or after {from}"), to));
    }
    let span = Span::new(model, &terms)?;
    let evs = filter::resolve(model, &span, case.signals(), day(to))?;
    // The case's signals are in date order: one cursor walks them with the days.
    let signals = case.signals();
    let mut cursor = 0;
    let mut types_of_day = |d: i64| -> Vec<String> {
        while cursor < signals.len() && day(signals[cursor].date) < d {
            cursor += 1;
        }
        let mut out = Vec::new();
        while cursor < signals.len() && day(signals[cursor].date) == d {
            out.push(signals[cursor].signal_type.to_string());
            cursor += 1;
        }
        out
    };
    let mut w = Walker::new(model, span);
    w.set_inputs(&evs);
    let mut st = w.start();
    let mut next = 0;
    let mut points = Vec::new();
    let mut last_probs: Option<[f64; 3]> = None;
    for d in span.start..=day(to) {
        if ((d - span.start) as u64).is_multiple_of(CHECK_EVERY) {
            check(progress)?;
        }
        if d <= span.last {
            st.input_limit = d;
            let mut j = next;
            while j < evs.len() && evs[j].day == d {
                j += 1;
            }
            filter::apply_day(&mut w, &mut st, d, &evs[next..j])?;
            next = j;
            w.advance(&mut st, d, false);
        }
        if d < day(from) {
            continue;
        }
        let types = types_of_day(d);
        let emit = match resolution {
            Resolution::Daily => true,
            Resolution::SignalDates => d == day(from) || !types.is_empty(),
        };
        if !emit {
            continue;
        }
        let probs = if d <= span.last {
            let mut f = st.clone();
            filter::forecast_from(&mut w, &mut f)
        } else {
            *last_probs.get_or_insert_with(|| st.outcomes(model.deal))
        };
        let fs = FilteredState::of(&st, model.k);
        points.push(TrajectoryPoint {
            date: date_of(d),
            probabilities: probs.to_vec(),
            regime_probabilities: fs.regimes,
            signals_used: st.used,
            signal_types: types,
        });
    }
    Ok(Trajectory {
        case: case.id.clone(),
        term_end: case.term_end,
        outcomes: OUTCOMES.iter().map(|s| (*s).to_owned()).collect(),
        regimes: model.regimes.to_vec(),
        points,
    })
}

/// The signals a forecast at `as_of` uses, in the filter's order, with their resolved form.
fn used_signals(
    model: &ModelV2,
    span: &Span,
    signals: &[Signal],
    as_of: NaiveDate,
) -> Result<Vec<(Ev, Signal)>> {
    let mut out = Vec::new();
    for s in signals {
        let ev = filter::resolve(model, span, std::slice::from_ref(s), day(as_of))?;
        if let Some(e) = ev.first() {
            out.push((*e, s.clone()));
        }
    }
    let mut evs: Vec<Ev> = out.iter().map(|(e, _)| *e).collect();
    filter::sort_events(model, &mut evs);
    // Stable re-ordering of the pairs by the filter's order (ties keep the case's canonical order).
    let mut taken = vec![false; out.len()];
    let mut ordered = Vec::with_capacity(out.len());
    for e in evs {
        let i = (0..out.len())
            .find(|&i| !taken[i] && out[i].0 == e)
            .expect("every sorted event comes from a signal");
        taken[i] = true;
        ordered.push(out[i].clone());
    }
    Ok(ordered)
}

fn outcomes_with(model: &ModelV2, span: Span, evs: &[Ev], as_of: i64) -> Result<[f64; 3]> {
    Ok(filter::run(model, span, evs, as_of, &[])?.outcomes)
}

fn log_odds(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

/// Attribution of a forecast to its signals of every role, in the filter's order; the deltas add up to
/// `total - baseline`.
///
/// # Errors
/// As [`super::forecast`].
pub fn attribution(model: &ModelV2, case: &Case, as_of: NaiveDate) -> Result<Attribution> {
    attribution_with(model, case, as_of, &Silent)
}

/// [`attribution`], asking `progress` whether to stop before each signal's pass.
///
/// # Errors
/// As [`attribution`]; [`Error::Interrupted`] when `progress` cancels.
pub fn attribution_with(
    model: &ModelV2,
    case: &Case,
    as_of: NaiveDate,
    progress: &dyn Progress,
) -> Result<Attribution> {
    let terms = Terms::of_case(case);
    let span = Span::new(model, &terms)?;
    let used = used_signals(model, &span, case.signals(), as_of)?;
    let evs: Vec<Ev> = used.iter().map(|(e, _)| *e).collect();
    let at = day(as_of);
    let baseline = outcomes_with(model, span, &[], at)?.to_vec();
    let mut before = baseline.clone();
    let mut contributions = Vec::with_capacity(used.len());
    for (i, (_, s)) in used.iter().enumerate() {
        check(progress)?;
        let after = outcomes_with(model, span, &evs[..=i], at)?.to_vec();
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
        outcomes: OUTCOMES.iter().map(|s| (*s).to_owned()).collect(),
        baseline,
        total: before,
        contributions,
    })
}

/// The forecast with each used signal left out in turn.
///
/// # Errors
/// As [`super::forecast`].
pub fn drop_one(model: &ModelV2, case: &Case, as_of: NaiveDate) -> Result<Vec<DropOne>> {
    drop_one_with(model, case, as_of, &Silent)
}

/// [`drop_one`], asking `progress` whether to stop before each signal's pass.
///
/// # Errors
/// As [`drop_one`]; [`Error::Interrupted`] when `progress` cancels.
pub fn drop_one_with(
    model: &ModelV2,
    case: &Case,
    as_of: NaiveDate,
    progress: &dyn Progress,
) -> Result<Vec<DropOne>> {
    let terms = Terms::of_case(case);
    let span = Span::new(model, &terms)?;
    let used = used_signals(model, &span, case.signals(), as_of)?;
    let evs: Vec<Ev> = used.iter().map(|(e, _)| *e).collect();
    let at = day(as_of);
    let full = outcomes_with(model, span, &evs, at)?;
    let mut out = Vec::with_capacity(evs.len());
    for (i, (_, s)) in used.iter().enumerate() {
        check(progress)?;
        let rest: Vec<Ev> = evs
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, e)| *e)
            .collect();
        let p = outcomes_with(model, span, &rest, at)?;
        out.push(DropOne {
            signal: s.clone(),
            delta: p.iter().zip(&full).map(|(a, b)| a - b).collect(),
            probabilities: p.to_vec(),
        });
    }
    Ok(out)
}

/// Evidence types ranked by value of information on the day after `as_of` (module docs).
///
/// # Errors
/// [`Error::InvalidArgument`] when `as_of` is not before the day before the term end; as [`super::forecast`].
pub fn value_of_information(model: &ModelV2, case: &Case, as_of: NaiveDate) -> Result<ValueOfInformation> {
    value_of_information_with(model, case, as_of, &Silent)
}

/// [`value_of_information`], asking `progress` whether to stop before each signal type's pass.
///
/// # Errors
/// As [`value_of_information`]; [`Error::Interrupted`] when `progress` cancels.
pub fn value_of_information_with(
    model: &ModelV2,
    case: &Case,
    as_of: NaiveDate,
    progress: &dyn Progress,
) -> Result<ValueOfInformation> {
    let terms = Terms::of_case(case);
    let span = Span::new(model, &terms)?;
    let at = day(as_of).max(span.start);
    if at >= span.last {
        return Err(Error::argument(
            "as_of",
            format!(
                "a date before {} (a deal must come before the term end {}, so nothing observed later counts)",
                date_of(span.last),
                case.term_end
            ),
            as_of,
        ));
    }
    let evs = filter::resolve(model, &span, case.signals(), at)?;
    let current = outcomes_with(model, span, &evs, at)?.to_vec();
    let next = filter::run(model, span, &evs, at + 1, &[])?;
    let alpha = FilteredState::of(&next.state, model.k).regimes;
    let none = next.outcomes;
    let mut values = Vec::new();
    for (ty, t) in model.types.iter().enumerate() {
        if t.role != Role::Evidence {
            continue;
        }
        check(progress)?;
        let probability: f64 = alpha.iter().zip(&t.q).map(|(a, q)| a * q).sum();
        let mut with = evs.clone();
        with.push(Ev {
            day: at + 1,
            ty,
            rho: 1.0,
            w: 1.0,
        });
        filter::sort_events(model, &mut with);
        let f = outcomes_with(model, span, &with, at + 1)?;
        let delta: Vec<f64> = f.iter().zip(&none).map(|(a, b)| a - b).collect();
        let expected_abs_change: Vec<f64> = delta.iter().map(|d| probability * d.abs()).collect();
        values.push(SignalValue {
            signal_type: model.type_names[ty].clone(),
            probability,
            share: probability,
            forecast_if_observed: f.to_vec(),
            score: expected_abs_change.iter().sum(),
            delta,
            expected_abs_change,
        });
    }
    values.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.signal_type.cmp(&b.signal_type))
    });
    Ok(ValueOfInformation {
        case: case.id.clone(),
        as_of: date_of(at),
        outcomes: OUTCOMES.iter().map(|s| (*s).to_owned()).collect(),
        current,
        values,
    })
}
