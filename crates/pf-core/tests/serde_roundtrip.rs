//! Every result type of the engine round-trips through its one serde form, in JSON and in MessagePack with
//! field names (the form the Python adapter pickles), undefined numbers included.

mod common;

use std::fmt::Debug;

use common::d;
use pf_core::backtest::{BacktestOptions, backtest};
use pf_core::learn::{FitOptions, fit};
use pf_core::{
    AppendReport, Case, DrawOptions, Episode, Model, Provenance, Resolution, Signal, Silent, WhatIf,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Compare through the JSON value, so that NaN (undefined) compares equal to itself.
fn same<T: Serialize>(a: &T, b: &T) -> bool {
    serde_json::to_value(a).unwrap() == serde_json::to_value(b).unwrap()
}

fn round_trip<T: Serialize + DeserializeOwned + Debug>(x: &T) {
    let text = serde_json::to_string(x).unwrap();
    let back: T = serde_json::from_str(&text).unwrap_or_else(|e| panic!("json: {e}: {text}"));
    assert!(same(x, &back), "json round trip changed {x:?} into {back:?}");
    let bytes = rmp_serde::to_vec_named(x).unwrap();
    let back: T = rmp_serde::from_slice(&bytes).unwrap_or_else(|e| panic!("msgpack: {e}"));
    assert!(same(x, &back), "msgpack round trip changed {x:?} into {back:?}");
    // Self-describing: the field names travel with the values.
    let v: serde_json::Value = rmp_serde::from_slice(&bytes).unwrap();
    assert_eq!(v, serde_json::to_value(x).unwrap());
}

fn case() -> Case {
    let model = Model::v1_model();
    let mut c = Case::new("rt", "USA", "PRK", d("2017-01-20"), d("2021-01-20")).unwrap();
    c.append(
        [
            Signal::new("sanctions_tightened", d("2017-08-05")).with_id("a"),
            Signal::new("summit_held", d("2018-06-12"))
                .with_id("b")
                .with_reliability(0.8)
                .unwrap(),
            Signal::new("talks_refused", d("2019-10-05")).with_id("c"),
        ],
        &model,
    )
    .unwrap();
    c
}

#[test]
fn forecast_and_intervals_round_trip() {
    let model = Model::v1_model();
    let c = case();
    round_trip(&model.forecast(&c, d("2018-10-31")).unwrap());
    let opts = DrawOptions {
        draws: 20,
        seed: 3,
        levels: vec![0.5, 0.9],
    };
    let f = model
        .forecast_with_intervals(&c, d("2018-10-31"), &opts, &Silent)
        .unwrap();
    round_trip(f.intervals.as_ref().unwrap());
    round_trip(&f.intervals.as_ref().unwrap().intervals[0]);
    round_trip(&f);
    round_trip(&opts);
}

#[test]
fn undefined_numbers_round_trip_as_null() {
    let model = Model::v1_model();
    let mut f = model.forecast(&case(), d("2018-10-31")).unwrap();
    f.log_likelihood = f64::NAN;
    let v = serde_json::to_value(&f).unwrap();
    assert!(v["log_likelihood"].is_null());
    round_trip(&f);
    let back: pf_core::Forecast = serde_json::from_value(v).unwrap();
    assert!(back.log_likelihood.is_nan());
    let mut at = model.attribution(&case(), d("2019-12-31")).unwrap();
    at.contributions[0].delta_log_odds[0] = f64::INFINITY;
    at.contributions[0].delta_log_odds[1] = f64::NAN;
    let v = serde_json::to_value(&at).unwrap();
    assert!(v["contributions"][0]["delta_log_odds"][0].is_null());
    round_trip(&at);
}

#[test]
fn trajectory_round_trips() {
    let model = Model::v1_model();
    let t = model
        .trajectory(&case(), None, None, Resolution::SignalDates)
        .unwrap();
    round_trip(&t);
    round_trip(&t.points[1]);
    round_trip(&Resolution::Daily);
}

#[test]
fn explanations_round_trip() {
    let model = Model::v1_model();
    let c = case();
    let at = model.attribution(&c, d("2019-12-31")).unwrap();
    round_trip(&at);
    round_trip(&at.contributions[0]);
    for x in model.drop_one(&c, d("2019-12-31")).unwrap() {
        round_trip(&x);
    }
    let w = model
        .what_if(
            &c,
            d("2019-12-31"),
            &WhatIf {
                signals: vec![Signal::new("agreement_signed", d("2020-02-01"))],
                term_end: None,
            },
        )
        .unwrap();
    round_trip(&w);
    let v = model.value_of_information(&c, d("2019-12-31")).unwrap();
    round_trip(&v);
    round_trip(&v.values[0]);
}

fn episodes() -> Vec<Episode> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/episodes/episodes.json"
    ))
    .unwrap();
    Episode::parse_many_lenient(&text, &Model::v1_model()).unwrap().0
}

#[test]
fn backtest_report_round_trips_with_empty_bins() {
    let model = Model::v1_model();
    let eps: Vec<Episode> = episodes().into_iter().take(3).collect();
    let r = backtest(&model, &eps, &BacktestOptions::default(), &Silent).unwrap();
    assert!(
        r.calibration.iter().flatten().any(|b| b.mean_predicted.is_none()),
        "some reliability bin is empty"
    );
    round_trip(&r);
    round_trip(&r.per_episode[0]);
    round_trip(&r.scores);
    round_trip(&r.baselines);
    round_trip(&r.calibration[0][0]);
    round_trip(&BacktestOptions::default());
}

#[test]
fn fit_report_round_trips_with_its_model() {
    let model = Model::v1_model();
    let eps: Vec<Episode> = episodes().into_iter().take(3).collect();
    let opts = FitOptions {
        max_iterations: 2,
        ..FitOptions::default()
    };
    let r = fit(&model, &eps, &opts, &Silent).unwrap();
    round_trip(&r);
    let back: pf_core::FitReport = serde_json::from_value(serde_json::to_value(&r).unwrap()).unwrap();
    assert_eq!(back.model.to_toml(), r.model.to_toml());
    round_trip(r.model.provenance().unwrap());
    round_trip(&Provenance::default());
    round_trip(&opts);
}

#[test]
fn records_round_trip() {
    let c = case();
    round_trip(&AppendReport {
        added: 2,
        unchanged: 1,
    });
    round_trip(&c.signals()[1]);
    round_trip(&c);
    let mut e = Episode::new(c, "deal");
    round_trip(&e);
    e.outcome_justification = "agreement signed 2018-06-12".into();
    e.exclude_from_training = true;
    e.case.reelection_eligible = false;
    e.case.election_date_given = Some(d("2020-11-03"));
    round_trip(&e);
}
