use super::*;
use prost::Message;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn pd(s: &str) -> Option<Date> {
    Some(date_to_proto(d(s)))
}

fn sig(ty: &str, date: &str) -> v1::Signal {
    v1::Signal {
        signal_type: ty.into(),
        date: pd(date),
        ..Default::default()
    }
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// A forecast with every field set (a field added to the engine's `Forecast` must be set here, or this does
/// not compile).
fn full_forecast() -> Forecast {
    Forecast {
        case: "c".into(),
        as_of: d("2018-10-31"),
        term_end: d("2021-01-20"),
        outcomes: names(&["deal", "stalemate", "wait_out"]),
        probabilities: vec![0.25, 0.5, 0.25],
        regimes: names(&["hostile", "talks"]),
        regime_probabilities: vec![0.75, 0.25],
        log_likelihood: -3.5,
        signals_used: 4,
        intervals: Some(Intervals {
            draws: 100,
            seed: 7,
            mean: vec![0.2, 0.5, 0.3],
            sd: vec![0.01, 0.02, 0.03],
            intervals: vec![pf_core::Interval {
                level: 0.9,
                lower: vec![0.1, 0.4, 0.2],
                upper: vec![0.3, 0.6, 0.4],
            }],
        }),
        model: Some(pf_core::v2::ModelId {
            name: "maximum_pressure".into(),
            version: "2.0".into(),
            hash: "ab".repeat(32),
        }),
    }
}

#[test]
fn signal_defaults_and_round_trip() {
    let s = Signal::try_from(v1::Signal {
        id: "a".into(),
        source: "kcna".into(),
        note: "n".into(),
        reports: Some(3),
        event_ids: names(&["e1"]),
        reliability: Some(0.5),
        weight: Some(2.0),
        ..sig("summit_held", "2018-06-12")
    })
    .unwrap();
    assert_eq!(s.reliability, 0.5);
    let back = v1::Signal::from(&s);
    assert_eq!(Signal::try_from(back).unwrap(), s);
    let plain = Signal::try_from(sig("summit_held", "2018-06-12")).unwrap();
    assert_eq!((plain.reliability, plain.weight), (1.0, 1.0));
}

#[test]
fn errors_name_the_field_by_its_path() {
    let bad_date = v1::Signal {
        date: Some(Date {
            year: 2018,
            month: 2,
            day: 30,
        }),
        ..sig("talks_held", "2018-01-01")
    };
    let e = signals_from_proto(
        "signals",
        vec![sig("summit_held", "2018-06-12"), sig("x", "2018-06-13"), bad_date],
    )
    .unwrap_err();
    assert_eq!(e.field(), "signals[2].date");
    assert!(e.to_string().contains("year 2018 month 2 day 30"), "{e}");
    let e = Signal::try_from(v1::Signal {
        date: None,
        ..sig("x", "2018-01-01")
    })
    .unwrap_err();
    assert_eq!(e.field(), "date");
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
    let e = Signal::try_from(sig("", "2018-01-01")).unwrap_err();
    assert_eq!(e.field(), "signal_type");
    let e = NewCase::try_from(v1::Case {
        id: "c".into(),
        sender: "USA".into(),
        target: "PRK".into(),
        start: pd("2018-01-01"),
        term_end: pd("2017-01-01"),
        ..Default::default()
    })
    .unwrap_err();
    assert_eq!(e.within("coercion_case").field(), "coercion_case.term_end");
    assert!(resolution_from_proto(99).is_err());
    for partial in [
        (0, 1, 1),
        (2018, 0, 1),
        (2018, 1, 0),
        (2018, 13, 1),
        (10000, 1, 1),
    ] {
        let date = Date {
            year: partial.0,
            month: partial.1,
            day: partial.2,
        };
        assert!(date_from_proto("x", &date).is_err(), "{partial:?}");
    }
}

#[test]
fn new_case_keeps_details() {
    let c = NewCase::try_from(v1::Case {
        id: "c".into(),
        sender: "USA".into(),
        target: "PRK".into(),
        start: pd("2017-01-20"),
        term_end: pd("2021-01-20"),
        description: "d".into(),
        reelection_eligible: None,
        election_date: pd("2020-11-03"),
        signals: vec![sig("summit_held", "2018-06-12")],
        signal_count: 99,
        version: 7,
    })
    .unwrap();
    assert_eq!(c.case.description, "d");
    assert!(c.case.reelection_eligible);
    assert_eq!(c.case.election_date_given, Some(d("2020-11-03")));
    assert_eq!(c.signals.len(), 1);
    let p = case_summary(&c.case);
    assert_eq!(p.election_date, pd("2020-11-03"));
    assert_eq!(p.reelection_eligible, Some(true));
    let mut outside = p.clone();
    outside.election_date = pd("2022-01-01");
    assert_eq!(NewCase::try_from(outside).unwrap_err().field(), "election_date");
}

#[test]
fn forecast_round_trips_with_every_field_set() {
    let f = full_forecast();
    let p = v1::Forecast::from(&f);
    // Through the wire bytes too, as the Python client receives it.
    let p = v1::Forecast::decode(p.encode_to_vec().as_slice()).unwrap();
    assert_eq!(Forecast::try_from(p).unwrap(), f);
    let plain = Forecast {
        intervals: None,
        ..full_forecast()
    };
    assert_eq!(Forecast::try_from(v1::Forecast::from(&plain)).unwrap(), plain);
}

/// The proto message's field names, read from the compiled descriptor set.
fn proto_fields(message: &str) -> Vec<String> {
    let fds = prost_types::FileDescriptorSet::decode(crate::FILE_DESCRIPTOR_SET).unwrap();
    let file = fds.file.iter().find(|f| f.package() == crate::PACKAGE).unwrap();
    let m = file
        .message_type
        .iter()
        .find(|m| m.name() == message)
        .unwrap_or_else(|| panic!("no message {message}"));
    m.field.iter().map(|f| f.name().to_owned()).collect()
}

/// Adding a field to the engine's `Forecast` without adding it to the proto fails here (a field of the same name
/// needs no other edit; a renamed one is listed in `renamed`); forgetting the conversion fails to compile (the
/// conversions destructure without `..`) or fails the round trip above.
#[test]
fn every_forecast_field_has_a_proto_field() {
    // Engine serde name -> proto field name, where they differ.
    let renamed: &[(&str, &str)] = &[
        ("case", "case_id"),
        ("outcomes", "outcome_order"),
        ("regimes", "regime_order"),
        ("regime_probabilities", "regimes"),
    ];
    // Proto fields with no engine `Forecast` field: the attribution is the engine's `Attribution`, the raw draws
    // are the rows of `draw_forecasts` (read by `draws_from_proto`).
    let proto_only = ["attribution", "draws"];
    let serde = serde_json::to_value(full_forecast()).unwrap();
    let engine: Vec<&String> = serde.as_object().unwrap().keys().collect();
    let proto = proto_fields("Forecast");
    let proto_name = |k: &str| -> String {
        renamed
            .iter()
            .find(|(from, _)| *from == k)
            .map_or(k, |(_, to)| to)
            .to_owned()
    };
    let carried: Vec<String> = engine.iter().map(|k| proto_name(k)).collect();
    for (k, to) in engine.iter().zip(&carried) {
        assert!(
            proto.contains(to),
            "the engine's Forecast has a field `{k}` that the proto Forecast lacks (expected `{to}`): add it to forecast_service.proto and to the conversions in pf-proto/src/convert.rs"
        );
    }
    for p in &proto {
        assert!(
            carried.contains(p) || proto_only.contains(&p.as_str()),
            "proto Forecast field `{p}` is not read from the engine's Forecast"
        );
    }
}

#[test]
fn results_round_trip() {
    let f = full_forecast();
    let o = f.outcomes.clone();
    let g = f.regimes.clone();
    let t = Trajectory {
        case: "c".into(),
        term_end: d("2021-01-20"),
        outcomes: o.clone(),
        regimes: g.clone(),
        points: vec![pf_core::TrajectoryPoint {
            date: d("2018-06-12"),
            probabilities: vec![0.2, 0.3, 0.5],
            regime_probabilities: vec![0.4, 0.6],
            signals_used: 1,
            signal_types: names(&["summit_held"]),
        }],
    };
    assert_eq!(
        Trajectory::try_from(v1::GetTrajectoryResponse::from(&t)).unwrap(),
        t
    );
    let w = WhatIfResult {
        baseline: f.clone(),
        scenario: Forecast {
            intervals: None,
            ..f.clone()
        },
        delta: vec![0.0, 0.1, -0.1],
    };
    assert_eq!(WhatIfResult::try_from(v1::WhatIfResponse::from(&w)).unwrap(), w);
    let v = ValueOfInformation {
        case: "c".into(),
        as_of: d("2018-10-31"),
        outcomes: o.clone(),
        current: vec![0.2, 0.3, 0.5],
        values: vec![pf_core::SignalValue {
            signal_type: "summit_held".into(),
            probability: 0.1,
            share: 0.2,
            forecast_if_observed: vec![0.3, 0.3, 0.4],
            delta: vec![0.1, 0.0, -0.1],
            expected_abs_change: vec![0.01, 0.0, 0.01],
            score: 0.02,
        }],
    };
    assert_eq!(
        ValueOfInformation::try_from(v1::GetValueOfInformationResponse::from(&v)).unwrap(),
        v
    );
    let s = Signal::new("summit_held", d("2018-06-12")).with_id("s1");
    let a = Attribution {
        case: "c".into(),
        as_of: d("2018-10-31"),
        outcomes: o.clone(),
        baseline: vec![0.2, 0.3, 0.5],
        total: vec![0.3, 0.3, 0.4],
        contributions: vec![pf_core::explain::Contribution {
            signal: s.clone(),
            before: vec![0.2, 0.3, 0.5],
            after: vec![0.3, 0.3, 0.4],
            delta: vec![0.1, 0.0, -0.1],
            delta_log_odds: vec![0.5, 0.0, -0.4],
        }],
    };
    let drop = vec![DropOne {
        signal: s,
        probabilities: vec![0.2, 0.3, 0.5],
        delta: vec![-0.1, 0.0, 0.1],
    }];
    let mut p = v1::Forecast::from(&f);
    p.attribution = Some(attribution_to_proto(&a, &drop));
    assert_eq!(explanation_from_proto(&p).unwrap(), Some((a, drop)));
}

#[test]
fn draws_round_trip_in_outcome_order_and_are_checked() {
    let f = full_forecast();
    let n = f.intervals.as_ref().unwrap().draws;
    let m = f.outcomes.len();
    let rows: Vec<Vec<f64>> = (0..n)
        .map(|i| {
            let a = 0.1 + 0.5 * (i as f64 / n as f64);
            let mut r = vec![a, (1.0 - a) / 3.0];
            r.resize(m, 1.0 - a - (1.0 - a) / 3.0);
            r
        })
        .collect();
    let mut p = v1::Forecast::from(&f);
    assert!(p.draws.is_empty(), "no draws unless they are put there");
    assert_eq!(draws_from_proto(&p).unwrap(), None);
    p.draws = draws_to_proto(&rows);
    let p = v1::Forecast::decode(p.encode_to_vec().as_slice()).unwrap();
    assert_eq!(draws_from_proto(&p).unwrap(), Some(rows.clone()));
    // The forecast itself is unchanged by the draws it carries.
    assert_eq!(Forecast::try_from(p.clone()).unwrap(), f);

    let mut short = p.clone();
    short.draws[1].probabilities.pop();
    assert_eq!(
        draws_from_proto(&short).unwrap_err().field(),
        "draws[1].probabilities"
    );
    let mut nan = p.clone();
    nan.draws[0].probabilities[0] = f64::NAN;
    assert_eq!(
        draws_from_proto(&nan).unwrap_err().field(),
        "draws[0].probabilities"
    );
    let mut fewer = p.clone();
    fewer.draws.pop();
    assert_eq!(draws_from_proto(&fewer).unwrap_err().field(), "draws");
    let mut without_intervals = p;
    without_intervals.intervals = None;
    assert_eq!(draws_from_proto(&without_intervals).unwrap_err().field(), "draws");
}

#[test]
fn maps_must_name_every_outcome() {
    let mut p = v1::Forecast::from(&full_forecast());
    p.probabilities.remove("deal");
    let e = Forecast::try_from(p).unwrap_err();
    assert_eq!(e.field(), "probabilities");
}
