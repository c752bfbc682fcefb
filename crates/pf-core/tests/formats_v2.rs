//! Case and episode formats of vocabulary v2 (`docs/outcomes.md`, `docs/signals.md`): eligibility, election
//! date, justification and exclusion; the codebook's rules for `format_version: 2`, each violation rejected
//! with its field named; older files loading as before; the fate types changing nothing in the v1 engine.

mod common;

use common::d;
use pf_core::backtest::{BacktestOptions, backtest};
use pf_core::learn::{FitOptions, fit};
use pf_core::vocab::{self, Role};
use pf_core::{Case, Episode, Model, Resolution, Signal, Silent, V1, V2};
use proptest::prelude::*;
use serde_json::{Value, json};

/// A valid v2 episode of each outcome, to be broken one field at a time.
fn good(outcome: &str) -> Value {
    let mut v = json!({
        "format_version": 2, "id": "usa-xyz", "sender": "USA", "target": "XYZ",
        "start": "2017-01-20", "term_end": "2021-01-20", "outcome": outcome,
        "outcome_justification": "cited",
        "signals": [
            {"id": "s1", "type": "sanctions_tightened", "date": "2017-08-02"},
            {"id": "s2", "type": "talks_held", "date": "2018-03-01"}
        ]
    });
    let signals = v["signals"].as_array_mut().unwrap();
    match outcome {
        "deal" => signals.push(json!({"id": "a", "type": "agreement_signed", "date": "2019-05-01"})),
        "stalemate" => {
            signals.push(json!({"id": "f", "type": "sender_leader_reelected", "date": "2020-11-04"}))
        }
        _ => signals.push(json!({"id": "f", "type": "sender_leader_departing", "date": "2020-11-07"})),
    }
    v
}

fn with(mut v: Value, f: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
    f(v.as_object_mut().unwrap());
    v
}

fn push_signal(v: Value, s: Value) -> Value {
    with(v, |o| {
        o.get_mut("signals").unwrap().as_array_mut().unwrap().push(s)
    })
}

fn load(v: &Value) -> pf_core::Result<Vec<Episode>> {
    Episode::parse_many(&json!([v]).to_string(), &Model::v1_model())
}

/// (description, record, field the error must name, words the message must contain)
fn bad_records() -> Vec<(&'static str, Value, &'static str, &'static str)> {
    vec![
        (
            "stalemate with an ineligible leader",
            with(good("stalemate"), |o| {
                o.insert("reelection_eligible".into(), json!(false));
                o["signals"].as_array_mut().unwrap().pop();
            }),
            "episodes[0] (usa-xyz).outcome",
            "not reelection_eligible",
        ),
        (
            "stalemate after a recorded departure",
            push_signal(
                with(good("stalemate"), |o| {
                    o["signals"].as_array_mut().unwrap().pop();
                }),
                json!({"type": "sender_leader_departing", "date": "2020-11-07"}),
            ),
            "episodes[0] (usa-xyz).outcome",
            "sender_leader_departing",
        ),
        (
            "wait-out after a recorded re-election",
            push_signal(
                good("wait_out"),
                json!({"type": "sender_leader_reelected", "date": "2020-11-04"}),
            ),
            "episodes[0] (usa-xyz).outcome",
            "sender_leader_reelected",
        ),
        (
            "deal with no deal signal",
            with(good("deal"), |o| {
                o["signals"].as_array_mut().unwrap().pop();
            }),
            "episodes[0] (usa-xyz).outcome",
            "agreement_signed signal of reliability 1",
        ),
        (
            "deal whose agreement is uncertain",
            with(good("deal"), |o| {
                o["signals"][2]["reliability"] = json!(0.7);
            }),
            "episodes[0] (usa-xyz).outcome",
            "reliability 1",
        ),
        (
            "deal repudiated before the term end",
            push_signal(
                good("deal"),
                json!({"type": "target_withdraws_from_agreement", "date": "2020-02-01"}),
            ),
            "episodes[0] (usa-xyz).outcome",
            "not repudiated",
        ),
        (
            "deal repudiated by the sender",
            push_signal(
                good("deal"),
                json!({"type": "sender_withdraws_from_agreement", "date": "2019-05-01"}),
            ),
            "episodes[0] (usa-xyz).outcome",
            "not repudiated",
        ),
        (
            "deal signed on the term end",
            with(good("deal"), |o| {
                o["signals"][2]["date"] = json!("2021-01-20");
            }),
            "episodes[0] (usa-xyz).outcome",
            "before the term end 2021-01-20",
        ),
        (
            "no justification",
            with(good("wait_out"), |o| {
                o.remove("outcome_justification");
            }),
            "episodes[0] (usa-xyz).outcome_justification",
            "citing the record",
        ),
        (
            "blank justification",
            with(good("wait_out"), |o| {
                o.insert("outcome_justification".into(), json!("  "));
            }),
            "episodes[0] (usa-xyz).outcome_justification",
            "non-empty string",
        ),
        (
            "unknown outcome",
            with(good("wait_out"), |o| {
                o.insert("outcome".into(), json!("victory"));
            }),
            "episodes[0] (usa-xyz).outcome",
            "one of deal, stalemate, wait_out",
        ),
        (
            "election date after the term end",
            with(good("wait_out"), |o| {
                o.insert("election_date".into(), json!("2021-11-03"));
            }),
            "episodes[0] (usa-xyz).election_date",
            "on or before the term end 2021-01-20",
        ),
        (
            "election date not in the strict form",
            with(good("wait_out"), |o| {
                o.insert("election_date".into(), json!("2020-11-3"));
            }),
            "episodes[0] (usa-xyz).election_date",
            "YYYY-MM-DD",
        ),
        (
            "fate signal before the case starts",
            push_signal(
                good("wait_out"),
                json!({"id": "early", "type": "sender_leader_departing", "date": "2016-12-01"}),
            ),
            "episodes[0] (usa-xyz).signals[3].date",
            "on or after the case's start 2017-01-20",
        ),
        (
            "re-election of an ineligible leader",
            with(good("stalemate"), |o| {
                o.insert("reelection_eligible".into(), json!(false));
                o.insert("outcome".into(), json!("wait_out"));
            }),
            "episodes[0] (usa-xyz).signals[2].type",
            "not reelection_eligible",
        ),
        (
            "any signal outside the span (no lenient handling in v2)",
            push_signal(
                good("wait_out"),
                json!({"id": "late", "type": "talks_held", "date": "2021-03-01"}),
            ),
            "episodes[0] (usa-xyz).signals[3].date",
            "within the case's span",
        ),
        (
            "eligibility not a boolean",
            with(good("wait_out"), |o| {
                o.insert("reelection_eligible".into(), json!("yes"));
            }),
            "episodes[0] (usa-xyz).reelection_eligible",
            "true or false",
        ),
        (
            "exclusion not a boolean",
            with(good("wait_out"), |o| {
                o.insert("exclude_from_training".into(), json!("true"));
            }),
            "episodes[0] (usa-xyz).exclude_from_training",
            "true or false",
        ),
        (
            "unknown format version",
            with(good("wait_out"), |o| {
                o.insert("format_version".into(), json!(3));
            }),
            "episodes[0] (usa-xyz).format_version",
            "1 or 2",
        ),
    ]
}

#[test]
fn every_invalid_v2_record_is_rejected_naming_its_field() {
    for (what, v, field, words) in bad_records() {
        let e = load(&v).expect_err(what);
        assert_eq!(e.field(), Some(field), "{what}: {e}");
        let msg = e.to_string();
        assert!(msg.contains(words), "{what}: {msg}");
        assert!(msg.contains(field), "{what}: {msg}");
        assert!(
            !msg.ends_with('.') && msg.starts_with(char::is_lowercase),
            "{what}: {msg}"
        );
        // The lenient loader holds v2 files to the same rules.
        let lenient = Episode::parse_many_lenient(&json!([v]).to_string(), &Model::v1_model());
        assert!(lenient.is_err(), "{what}: lenient loading accepted it");
    }
}

#[test]
fn valid_v2_episodes_load_with_their_fields() {
    for outcome in ["deal", "stalemate", "wait_out"] {
        let eps = load(&good(outcome)).unwrap();
        assert_eq!(eps[0].outcome, outcome);
        assert_eq!(eps[0].outcome_justification, "cited");
        assert!(!eps[0].exclude_from_training && eps[0].case.reelection_eligible);
    }
    let deal = &load(&good("deal")).unwrap()[0];
    assert_eq!(deal.deal_date(), Some(d("2019-05-01")));
    // A deal repudiated and then signed again stands.
    let v = push_signal(
        push_signal(
            good("deal"),
            json!({"type": "target_withdraws_from_agreement", "date": "2019-09-01"}),
        ),
        json!({"id": "again", "type": "agreement_signed", "date": "2020-03-01"}),
    );
    assert_eq!(load(&v).unwrap()[0].deal_date(), Some(d("2020-03-01")));
    // A wait-out with an ineligible leader, an election date and an exclusion.
    let v = with(good("wait_out"), |o| {
        o.insert("reelection_eligible".into(), json!(false));
        o.insert("election_date".into(), json!("2020-11-03"));
        o.insert("exclude_from_training".into(), json!(true));
    });
    let e = &load(&v).unwrap()[0];
    assert!(!e.case.reelection_eligible && e.exclude_from_training);
    assert_eq!(e.case.election_date(), d("2020-11-03"));
    assert_eq!(e.case.election_date_given, Some(d("2020-11-03")));
}

#[test]
fn the_election_date_defaults_to_78_days_before_the_term_end() {
    let c = Case::new("c", "USA", "IRN", d("2018-05-08"), d("2021-01-20")).unwrap();
    assert_eq!(c.election_date(), d("2020-11-03"));
    assert_eq!(c.election_date_given, None);
    assert!(c.reelection_eligible);
    // The serde form leaves out an absent election date and reads the defaults back.
    let v = serde_json::to_value(&c).unwrap();
    assert!(v.get("election_date").is_none());
    assert_eq!(v["reelection_eligible"], true);
    let back: Case = serde_json::from_value(
        json!({"id": "c", "sender": "USA", "target": "IRN", "start": "2018-05-08", "term_end": "2021-01-20", "signals": []}),
    )
    .unwrap();
    assert_eq!(back, c);
}

#[test]
fn older_files_load_as_before() {
    // Without format_version (or with 1) the codebook's rules do not apply, defaults fill the new fields, and
    // signals outside an episode are left out with a warning.
    for version in [None, Some(1)] {
        let mut v = with(good("deal"), |o| {
            o.remove("format_version");
            o.remove("outcome_justification");
            o["signals"].as_array_mut().unwrap().pop();
            o.insert("reelection_eligible".into(), json!(false));
        });
        if let Some(n) = version {
            v["format_version"] = json!(n);
        }
        let v = push_signal(
            v,
            json!({"id": "late", "type": "talks_held", "date": "2021-03-01"}),
        );
        let (eps, warnings) =
            Episode::parse_many_lenient(&json!([v]).to_string(), &Model::v1_model()).unwrap();
        assert_eq!(eps[0].outcome, "deal");
        assert!(eps[0].outcome_justification.is_empty() && !eps[0].exclude_from_training);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
    }
    // The project's own v1 files still load.
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data");
    let m = Model::v1_model();
    Episode::load_many_lenient(format!("{root}/episodes/episodes.json"), &m).unwrap();
    for c in ["iran", "north_korea"] {
        let case = Case::load(format!("{root}/cases/{c}.json"), &m).unwrap();
        assert!(case.reelection_eligible);
    }
}

#[test]
fn the_vocabularies_know_the_new_types_and_their_roles() {
    assert_eq!(vocab::role("sender_leader_reelected"), Some(Role::Fate));
    let c = Case::new("c", "USA", "IRN", d("2018-05-08"), d("2021-01-20")).unwrap();
    let fate = Signal::new("sender_leader_departing", d("2020-11-07"));
    assert!(c.clone().append([fate.clone()], &V2).is_ok());
    assert!(c.clone().append([fate.clone()], &Model::v1_model()).is_ok());
    assert!(c.clone().append([fate], &V1).is_err());
    let m = Model::v1_model();
    for (t, _, _) in vocab::SIGNAL_TYPES_ADDED_V2 {
        assert_eq!(m.is_neutral(t), Some(true), "{t}");
        assert!(m.describe_signal_type(t).is_some());
        assert_eq!(
            m.likelihood(&Signal::new(t, d("2019-01-01"))).unwrap(),
            vec![1.0; 4]
        );
    }
    assert_eq!(m.is_neutral("summit_held"), Some(false));
    // A v1 model file without rows for them writes none back.
    let text = m.to_toml();
    assert!(!text.contains("sender_leader_reelected"));
    let again = Model::from_toml_str(&text).unwrap();
    assert_eq!(again.signal_types(), m.signal_types());
}

#[test]
fn a_model_file_may_give_the_new_types_a_row() {
    let text = Model::v1_toml().to_owned()
        + "\n[emissions.sender_leader_reelected]\nq = [0.001, 0.002, 0.003, 0.001]\nconcentration = 50\n";
    let m = Model::from_toml_str(&text).unwrap();
    assert_eq!(m.is_neutral("sender_leader_reelected"), Some(false));
    assert_eq!(m.is_neutral("sender_leader_departing"), Some(true));
    assert!(m.to_toml().contains("[emissions.sender_leader_reelected]"));
}

fn iran() -> Case {
    Case::load(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/cases/iran.json"),
        &Model::v1_model(),
    )
    .unwrap()
}

fn with_fate(case: &Case, days: &[u32]) -> Case {
    let mut c = case.clone();
    let types = [
        "sender_leader_reelected",
        "sender_leader_departing",
        "target_withdraws_from_agreement",
    ];
    let start = c.start;
    let signals: Vec<Signal> = days
        .iter()
        .enumerate()
        .map(|(i, n)| {
            Signal::new(types[i % 3], start + chrono::Duration::days(i64::from(*n)))
                .with_id(format!("fate-{i}"))
                .with_reliability(0.5 + 0.5 * f64::from(n % 2))
                .unwrap()
        })
        .collect();
    c.append(signals, &Model::v1_model()).unwrap();
    c
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Until model v2, the fate types (and the target's withdrawal) have likelihood 1: forecasts,
    /// trajectories, explanations and the likelihood of the evidence are exactly those without them.
    #[test]
    fn the_new_types_change_nothing_in_a_forecast(days in proptest::collection::vec(0u32..980, 1..6), as_of in 0i64..1100) {
        let m = Model::v1_model();
        let base = iran();
        let fated = with_fate(&base, &days);
        let at = base.start + chrono::Duration::days(as_of);
        let (a, b) = (m.forecast(&base, at).unwrap(), m.forecast(&fated, at).unwrap());
        prop_assert_eq!(&a.probabilities, &b.probabilities);
        prop_assert_eq!(&a.regime_probabilities, &b.regime_probabilities);
        prop_assert_eq!(a.log_likelihood.to_bits(), b.log_likelihood.to_bits());
        let (ta, tb) = (
            m.trajectory(&base, None, None, Resolution::Daily).unwrap(),
            m.trajectory(&fated, None, None, Resolution::Daily).unwrap(),
        );
        prop_assert_eq!(ta.points.len(), tb.points.len());
        for (p, q) in ta.points.iter().zip(&tb.points) {
            prop_assert_eq!(&p.probabilities, &q.probabilities);
        }
        let v = m.value_of_information(&fated, at).unwrap();
        prop_assert_eq!(v.current, m.value_of_information(&base, at).unwrap().current);
        let (xa, xb) = (m.attribution(&base, at).unwrap(), m.attribution(&fated, at).unwrap());
        prop_assert_eq!(xa.total, xb.total);
        prop_assert!(xb.contributions.iter().filter(|c| vocab::is_added_in_v2(&c.signal.signal_type)).all(|c| c.delta.iter().all(|x| *x == 0.0)));
    }
}

#[test]
fn the_new_types_change_nothing_in_learning() {
    let m = Model::v1_model();
    let base = Episode::new(iran(), "wait_out");
    let fated = Episode::new(with_fate(&base.case, &[100, 900, 950]), "wait_out");
    let opts = FitOptions {
        max_iterations: 3,
        ..FitOptions::default()
    };
    let a = fit(&m, std::slice::from_ref(&base), &opts, &Silent).unwrap();
    let b = fit(&m, &[fated], &opts, &Silent).unwrap();
    assert_eq!(a.log_likelihood, b.log_likelihood);
    assert_eq!(a.model.to_toml(), b.model.to_toml());
}

fn episodes() -> Vec<Episode> {
    Episode::load_many_lenient(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/episodes/episodes.json"),
        &Model::v1_model(),
    )
    .unwrap()
    .0
}

#[test]
fn excluded_episodes_are_neither_trained_on_nor_scored() {
    let m = Model::v1_model();
    let mut eps: Vec<Episode> = episodes().into_iter().take(4).collect();
    eps[1].exclude_from_training = true;
    let kept: Vec<Episode> = eps.iter().filter(|e| !e.exclude_from_training).cloned().collect();
    let opts = FitOptions {
        max_iterations: 3,
        ..FitOptions::default()
    };
    let with_excluded = fit(&m, &eps, &opts, &Silent).unwrap();
    let without = fit(&m, &kept, &opts, &Silent).unwrap();
    assert_eq!(with_excluded.excluded, vec![eps[1].case.id.clone()]);
    assert!(without.excluded.is_empty());
    assert_eq!(with_excluded.log_likelihood, without.log_likelihood);
    let p = with_excluded.model.provenance().unwrap();
    assert!(!p.episodes.contains(&eps[1].case.id) && p.episodes.len() == 3);

    let r = backtest(&m, &eps, &BacktestOptions::default(), &Silent).unwrap();
    assert_eq!(r.episodes, 3);
    assert_eq!(r.excluded, vec![eps[1].case.id.clone()]);
    assert!(r.per_episode.iter().all(|e| e.id != eps[1].case.id));
    let r2 = backtest(&m, &kept, &BacktestOptions::default(), &Silent).unwrap();
    assert_eq!(r.scores, r2.scores);

    for e in &mut eps {
        e.exclude_from_training = true;
    }
    let err = fit(&m, &eps, &opts, &Silent).unwrap_err();
    assert_eq!(err.field(), Some("episodes"), "{err}");
    let err = backtest(&m, &eps, &BacktestOptions::default(), &Silent).unwrap_err();
    assert!(err.to_string().contains("exclude_from_training"), "{err}");
}

#[test]
fn a_campaign_that_starts_after_the_election_keeps_its_election_date() {
    // The election (2020-11-03) precedes the start: the fate is known from the first day, and its signal stands
    // on the start day.
    let v = json!({
        "format_version": 2, "id": "usa-late", "sender": "USA", "target": "XYZ",
        "start": "2020-12-01", "term_end": "2021-01-20", "election_date": "2020-11-03",
        "outcome": "wait_out", "outcome_justification": "cited",
        "signals": [{"id": "f", "type": "sender_leader_departing", "date": "2020-12-01"}]
    });
    let e = load(&v).unwrap();
    assert_eq!(e[0].case.election_date(), d("2020-11-03"));
}
