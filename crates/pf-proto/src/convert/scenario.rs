//! Conversions of the v2 faces of the contract: signal roles, the leader's fate, scenarios, scenario runs and
//! policy comparisons, both ways. As in the rest of [`crate::convert`], the engine structs and the messages
//! are destructured without `..`, so that a field added to either does not compile until it is converted.

use pf_core::Forecast;
use pf_core::v2::{Fate, PolicyComparison, Role, Scenario};

use super::{ConvertError, date_to_proto, named, optional_date, ordered, present, signals_from_proto};
use crate::v1;

/// The wire value of a signal role.
pub fn role_to_proto(r: Role) -> v1::SignalRole {
    match r {
        Role::Action => v1::SignalRole::Action,
        Role::Context => v1::SignalRole::Context,
        Role::Evidence => v1::SignalRole::Evidence,
        Role::Deal => v1::SignalRole::Deal,
        Role::Fate => v1::SignalRole::Fate,
    }
}

/// The signal role of a wire value.
///
/// # Errors
/// [`ConvertError::Invalid`] naming `field` for `SIGNAL_ROLE_UNSPECIFIED` or a value this build does not know.
pub fn role_from_proto(field: &str, value: i32) -> Result<Role, ConvertError> {
    match v1::SignalRole::try_from(value) {
        Ok(v1::SignalRole::Action) => Ok(Role::Action),
        Ok(v1::SignalRole::Context) => Ok(Role::Context),
        Ok(v1::SignalRole::Evidence) => Ok(Role::Evidence),
        Ok(v1::SignalRole::Deal) => Ok(Role::Deal),
        Ok(v1::SignalRole::Fate) => Ok(Role::Fate),
        Ok(v1::SignalRole::Unspecified) | Err(_) => Err(ConvertError::invalid(
            field,
            "SIGNAL_ROLE_ACTION, SIGNAL_ROLE_CONTEXT, SIGNAL_ROLE_EVIDENCE, SIGNAL_ROLE_DEAL or SIGNAL_ROLE_FATE",
            value,
        )),
    }
}

/// The wire value of an optional fate (`None` is `FATE_UNSPECIFIED`).
pub fn fate_to_proto(f: Option<Fate>) -> v1::Fate {
    match f {
        None => v1::Fate::Unspecified,
        Some(Fate::Stays) => v1::Fate::Stays,
        Some(Fate::Leaves) => v1::Fate::Leaves,
    }
}

/// The fate of a wire value: `FATE_UNSPECIFIED` is `None`.
///
/// # Errors
/// [`ConvertError::Invalid`] naming `field` for a value this build does not know.
pub fn fate_from_proto(field: &str, value: i32) -> Result<Option<Fate>, ConvertError> {
    match v1::Fate::try_from(value) {
        Ok(v1::Fate::Unspecified) => Ok(None),
        Ok(v1::Fate::Stays) => Ok(Some(Fate::Stays)),
        Ok(v1::Fate::Leaves) => Ok(Some(Fate::Leaves)),
        Err(_) => Err(ConvertError::invalid(
            field,
            "FATE_UNSPECIFIED, FATE_STAYS or FATE_LEAVES",
            value,
        )),
    }
}

impl From<&Scenario> for v1::Scenario {
    fn from(s: &Scenario) -> v1::Scenario {
        let Scenario {
            name,
            signals,
            monthly,
            policy_continues,
            fate,
            term_end,
            reelection_eligible,
        } = s;
        v1::Scenario {
            name: name.clone(),
            signals: signals.iter().map(v1::Signal::from).collect(),
            monthly: monthly.clone(),
            policy_continues: *policy_continues,
            fate: fate_to_proto(*fate) as i32,
            term_end: term_end.map(date_to_proto),
            reelection_eligible: *reelection_eligible,
        }
    }
}

impl TryFrom<v1::Scenario> for Scenario {
    type Error = ConvertError;

    /// Field checks that need no case or model (the signals' own checks, dates, the fate's value); errors name
    /// the field relative to the scenario (`signals[1].date`, `fate`), callers add the prefix with
    /// [`ConvertError::within`].
    fn try_from(p: v1::Scenario) -> Result<Scenario, ConvertError> {
        let v1::Scenario {
            name,
            signals,
            monthly,
            policy_continues,
            fate,
            term_end,
            reelection_eligible,
        } = p;
        for (i, m) in monthly.iter().enumerate() {
            if m.trim().is_empty() {
                return Err(ConvertError::invalid(
                    format!("monthly[{i}]"),
                    "an action or context type of the model (see ListSignalTypes)",
                    "an empty string",
                ));
            }
        }
        Ok(Scenario {
            name,
            signals: signals_from_proto("signals", signals)?,
            monthly,
            policy_continues,
            fate: fate_from_proto("fate", fate)?,
            term_end: optional_date("term_end", term_end.as_ref())?,
            reelection_eligible,
        })
    }
}

/// A scenario run: the forecast with the default future and under the scenario, their difference, and the
/// leader's fate filtered on the as-of date under each (the engine's side of `RunScenarioResponse`).
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioRun {
    /// The forecast with the case as stored and no new actions.
    pub baseline: Forecast,
    /// The forecast under the scenario.
    pub scenario: Forecast,
    /// `scenario - baseline`, per outcome.
    pub delta: Vec<f64>,
    /// `P(leader stays)` without the scenario.
    pub baseline_leader_stays: f64,
    /// `P(leader stays)` under the scenario.
    pub leader_stays: f64,
}

impl From<&ScenarioRun> for v1::RunScenarioResponse {
    fn from(r: &ScenarioRun) -> v1::RunScenarioResponse {
        let ScenarioRun {
            baseline,
            scenario,
            delta,
            baseline_leader_stays,
            leader_stays,
        } = r;
        v1::RunScenarioResponse {
            baseline: Some(v1::Forecast::from(baseline)),
            scenario: Some(v1::Forecast::from(scenario)),
            delta: named(&baseline.outcomes, delta),
            baseline_leader_stays: *baseline_leader_stays,
            leader_stays: *leader_stays,
        }
    }
}

impl TryFrom<v1::RunScenarioResponse> for ScenarioRun {
    type Error = ConvertError;

    fn try_from(p: v1::RunScenarioResponse) -> Result<ScenarioRun, ConvertError> {
        let v1::RunScenarioResponse {
            baseline,
            scenario,
            delta,
            baseline_leader_stays,
            leader_stays,
        } = p;
        let baseline = Forecast::try_from(present("baseline", baseline, "a forecast")?)
            .map_err(|e| e.within("baseline"))?;
        let scenario = Forecast::try_from(present("scenario", scenario, "a forecast")?)
            .map_err(|e| e.within("scenario"))?;
        let delta = ordered("delta", &delta, &baseline.outcomes)?;
        Ok(ScenarioRun {
            baseline,
            scenario,
            delta,
            baseline_leader_stays,
            leader_stays,
        })
    }
}

impl From<&PolicyComparison> for v1::ComparePoliciesResponse {
    fn from(c: &PolicyComparison) -> v1::ComparePoliciesResponse {
        let PolicyComparison { a, b, difference } = c;
        v1::ComparePoliciesResponse {
            a: Some(v1::Forecast::from(a)),
            b: Some(v1::Forecast::from(b)),
            difference: named(&a.outcomes, difference),
        }
    }
}

impl TryFrom<v1::ComparePoliciesResponse> for PolicyComparison {
    type Error = ConvertError;

    fn try_from(p: v1::ComparePoliciesResponse) -> Result<PolicyComparison, ConvertError> {
        let v1::ComparePoliciesResponse { a, b, difference } = p;
        let a = Forecast::try_from(present("a", a, "a forecast")?).map_err(|e| e.within("a"))?;
        let b = Forecast::try_from(present("b", b, "a forecast")?).map_err(|e| e.within("b"))?;
        let difference = ordered("difference", &difference, &a.outcomes)?;
        Ok(PolicyComparison { a, b, difference })
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use pf_core::Signal;

    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn scenarios_round_trip() {
        let sc = Scenario {
            name: "relief".into(),
            signals: vec![Signal::new("sanctions_relief", d("2019-03-01"))],
            monthly: vec!["sanctions_tightened".into()],
            policy_continues: true,
            fate: Some(Fate::Leaves),
            term_end: Some(d("2021-01-20")),
            reelection_eligible: Some(false),
        };
        assert_eq!(Scenario::try_from(v1::Scenario::from(&sc)).unwrap(), sc);
        let empty = Scenario::default();
        assert_eq!(Scenario::try_from(v1::Scenario::from(&empty)).unwrap(), empty);
    }

    #[test]
    fn bad_scenario_fields_are_named() {
        let bad_fate = v1::Scenario {
            fate: 9,
            ..Default::default()
        };
        assert_eq!(Scenario::try_from(bad_fate).unwrap_err().field(), "fate");
        let bad_date = v1::Scenario {
            signals: vec![v1::Signal {
                signal_type: "x".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(
            Scenario::try_from(bad_date).unwrap_err().field(),
            "signals[0].date"
        );
        let bad_monthly = v1::Scenario {
            monthly: vec![String::new()],
            ..Default::default()
        };
        assert_eq!(Scenario::try_from(bad_monthly).unwrap_err().field(), "monthly[0]");
    }

    #[test]
    fn roles_and_fates_round_trip() {
        for r in [
            Role::Action,
            Role::Context,
            Role::Evidence,
            Role::Deal,
            Role::Fate,
        ] {
            assert_eq!(role_from_proto("role", role_to_proto(r) as i32).unwrap(), r);
        }
        assert!(role_from_proto("role", 0).is_err());
        for f in [None, Some(Fate::Stays), Some(Fate::Leaves)] {
            assert_eq!(fate_from_proto("fate", fate_to_proto(f) as i32).unwrap(), f);
        }
    }
}
