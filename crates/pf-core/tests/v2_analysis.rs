//! Model v2 through the whole engine: the v1 API dispatching to v2, scenarios and policy comparison,
//! trajectories, parameter draws, attribution, drop-one and value of information.

mod common;
mod common_v2;

use common::{d, plus};
use common_v2::{random_signals, random_v2};
use pf_core::v2::{self, Fate, ModelV2, Scenario, Terms};
use pf_core::{Case, DrawOptions, Model, Resolution, Signal, Silent, WhatIf};
use proptest::prelude::*;

const TOL: f64 = 1e-12;

fn v2_model() -> Model {
    Model::from_toml_str(ModelV2::default_toml()).unwrap()
}

fn campaign(m: &Model) -> Case {
    let mut case = Case::new("usa-prk", "USA", "PRK", d("2017-01-20"), d("2021-01-20")).unwrap();
    case.append(
        [
            Signal::new("sanctions_tightened", d("2017-03-01")).with_id("s1"),
            Signal::new("military_threat", d("2017-08-08")).with_id("fire-and-fury"),
            Signal::new("sanctions_tightened", d("2017-09-21")).with_id("s2"),
            Signal::new("summit_held", d("2018-06-12")).with_id("singapore"),
            Signal::new("agreement_framework_announced", d("2018-06-12")).with_id("joint-statement"),
            Signal::new("upfront_surrender_demanded", d("2018-05-13")).with_id("libya-model"),
            Signal::new("third_party_circumvention", d("2018-09-01")).with_id("ship-to-ship"),
            Signal::new("talks_held", d("2018-10-07")).with_id("pompeo"),
            Signal::new("demands_rejected_by_target", d("2018-09-29")).with_id("ri-un"),
            Signal::new("leadership_change_expected", d("2019-12-03")).with_id("christmas-gift"),
        ],
        m,
    )
    .unwrap();
    case
}

#[test]
fn the_v1_api_dispatches_to_v2_and_v1_files_still_load() {
    let m = v2_model();
    assert_eq!(m.format_version(), 2);
    let mv2 = ModelV2::default_model();
    let case = campaign(&m);
    let at = d("2019-01-01");
    let f = m.forecast(&case, at).unwrap();
    let g = v2::forecast(&mv2, &case, at).unwrap();
    assert_eq!(f.probabilities, g.probabilities);
    assert_eq!(f.outcomes, ["deal", "stalemate", "wait_out"]);
    let id = f.model.clone().unwrap();
    assert_eq!(id.name, "maximum_pressure_v2");
    assert_eq!(id.version, "2.0.0");
    assert_eq!(id.hash, mv2.hash());
    assert!(f.to_json()["model"]["hash"].as_str().unwrap().len() == 64);
    // Resolved observations give the same forecast.
    let obs = m.observations(&case).unwrap();
    assert_eq!(m.forecast_observations(&obs, at).probabilities, f.probabilities);
    let (alpha, ll) = m.filter(&case, at).unwrap();
    assert!((alpha.iter().sum::<f64>() - 1.0).abs() < TOL && ll.is_finite());
    // The saved text loads back to the same model.
    let again = Model::from_toml_str(&m.to_toml()).unwrap();
    assert_eq!(again.model_id(), m.model_id());
    // v1 files still load as v1, and their forecasts name the model too (the hash is stable).
    let v1 = Model::v1_model();
    assert_eq!(v1.format_version(), 1);
    let c1 = Case::new("c", "USA", "PRK", d("2017-01-20"), d("2021-01-20")).unwrap();
    let f1 = v1.forecast(&c1, at).unwrap();
    assert_eq!(f1.model.as_ref().unwrap().name, "maximum_pressure");
    assert_eq!(f1.model.unwrap().hash, Model::v1_model().model_id().hash);
    // The shipped default is the fitted v2 model.
    assert_eq!(Model::default_model().format_version(), 2);
    // A v2 model refuses v1-only questions with an error naming what it expects.
    assert!(
        m.transition(d("2018-01-01"), d("2018-02-01"), d("2021-01-20"))
            .is_err()
    );
}

#[test]
fn scenarios_move_the_forecast_the_way_the_essay_says() {
    let m = ModelV2::default_model();
    let mut case = Case::new("c", "USA", "IRN", d("2017-01-20"), d("2021-01-20")).unwrap();
    case.append(
        (0..6).map(|i| {
            Signal::new(
                "sanctions_tightened",
                d("2018-05-08")
                    .checked_add_months(chrono::Months::new(i))
                    .unwrap(),
            )
        }),
        &m,
    )
    .unwrap();
    let at = d("2018-11-15");
    let base = v2::forecast(&m, &case, at).unwrap();
    // The default future has no new actions: an empty scenario is the plain forecast.
    let none = v2::scenario_forecast(&m, &case, at, &Scenario::default()).unwrap();
    assert_eq!(none.probabilities, base.probabilities);
    let monthly = Scenario {
        name: "sanctions monthly from now".into(),
        monthly: vec!["sanctions_tightened".into()],
        ..Scenario::default()
    };
    let continues = Scenario {
        name: "policy continues".into(),
        policy_continues: true,
        ..Scenario::default()
    };
    let relief = Scenario {
        name: "relief on 2019-03-01".into(),
        signals: vec![
            Signal::new("sanctions_relief", d("2019-03-01")),
            Signal::new("concession_offered_by_sender", d("2019-03-01")),
        ],
        ..Scenario::default()
    };
    let cmp = v2::compare(&m, &case, at, &Scenario::default(), &monthly).unwrap();
    let cont = v2::scenario_forecast(&m, &case, at, &continues).unwrap();
    let rel = v2::scenario_forecast(&m, &case, at, &relief).unwrap();
    println!(
        "scenarios at {at}: no new actions P(deal) {:.4}; sanctions monthly {:.4} (diff {:+.4}); policy continues \
         {:.4}; relief and an offer on 2019-03-01 {:.4}",
        base.probabilities[0],
        cmp.b.probabilities[0],
        cmp.difference[0],
        cont.probabilities[0],
        rel.probabilities[0]
    );
    for (i, x) in cmp.difference.iter().enumerate() {
        assert!((x - (cmp.b.probabilities[i] - cmp.a.probabilities[i])).abs() < TOL);
    }
    assert!(
        cmp.difference[0] > 0.0,
        "pressure from now brings talks, so deals"
    );
    assert!(cont.probabilities[0] > base.probabilities[0]);
    assert!(rel.probabilities[0] > base.probabilities[0]);
    // A fate: re-elected means no wait_out; departing means no stalemate.
    let re = v2::scenario_forecast(
        &m,
        &case,
        at,
        &Scenario {
            fate: Some(Fate::Stays),
            ..Scenario::default()
        },
    )
    .unwrap();
    assert_eq!(re.probabilities[2], 0.0);
    let gone = v2::scenario_forecast(
        &m,
        &case,
        at,
        &Scenario {
            fate: Some(Fate::Leaves),
            ..Scenario::default()
        },
    )
    .unwrap();
    assert_eq!(gone.probabilities[1], 0.0);
    // A later term end leaves more time for a deal.
    let later = v2::scenario_forecast(
        &m,
        &case,
        at,
        &Scenario {
            term_end: Some(d("2025-01-20")),
            ..Scenario::default()
        },
    )
    .unwrap();
    assert!(later.probabilities[0] > base.probabilities[0]);
    assert_eq!(later.term_end, d("2025-01-20"));
    // A future evidence signal is not a future action: an error naming the field.
    let bad = Scenario {
        signals: vec![Signal::new("talks_held", d("2019-03-01"))],
        ..Scenario::default()
    };
    let e = v2::scenario_forecast(&m, &case, at, &bad)
        .unwrap_err()
        .to_string();
    assert!(e.contains("signals[0].date"), "{e}");
    // The v1 what-if works on the v2 model held in a Model.
    let wm = Model::from_v2(m.clone());
    let w = wm
        .what_if(
            &case,
            at,
            &WhatIf {
                signals: vec![Signal::new("talks_held", d("2018-11-20"))],
                term_end: None,
            },
        )
        .unwrap();
    assert!(w.delta[0] > 0.0);
}

#[test]
fn trajectory_points_are_the_forecasts_of_their_days() {
    let m = v2_model();
    let case = campaign(&m);
    let tr = m
        .trajectory(
            &case,
            Some(d("2017-01-20")),
            Some(d("2021-02-01")),
            Resolution::Daily,
        )
        .unwrap();
    assert_eq!(
        tr.points.len(),
        (d("2021-02-01") - d("2017-01-20")).num_days() as usize + 1
    );
    for p in tr.points.iter().step_by(37) {
        let f = m.forecast(&case, p.date).unwrap();
        for o in 0..3 {
            assert!(
                (p.probabilities[o] - f.probabilities[o]).abs() < TOL,
                "{} {:?} {:?}",
                p.date,
                p,
                f
            );
        }
        for j in 0..4 {
            assert!((p.regime_probabilities[j] - f.regime_probabilities[j]).abs() < TOL);
        }
    }
    let sd = m.trajectory(&case, None, None, Resolution::SignalDates).unwrap();
    assert_eq!(sd.points.len(), 1 + 9);
}

#[test]
fn draws_are_seeded_and_shrink_to_the_point_forecast() {
    let m = v2_model();
    let case = campaign(&m);
    let at = d("2019-01-01");
    let opts = DrawOptions {
        draws: 200,
        seed: 7,
        levels: vec![0.9],
    };
    let a = m.draw_forecasts(&case, at, &opts, &Silent).unwrap();
    let b = m.draw_forecasts(&case, at, &opts, &Silent).unwrap();
    assert_eq!(a, b);
    for row in &a {
        assert!((row.iter().sum::<f64>() - 1.0).abs() < TOL && row.iter().all(|x| *x >= 0.0));
    }
    let point = m.forecast(&case, at).unwrap().probabilities;
    let mut last_width = f64::INFINITY;
    for factor in [1.0, 100.0, 1e4, 1e8] {
        let sm = m.scale_concentrations(factor).unwrap();
        let f = sm.forecast_with_intervals(&case, at, &opts, &Silent).unwrap();
        let iv = f.intervals.unwrap();
        let width: f64 = (0..3)
            .map(|o| iv.intervals[0].upper[o] - iv.intervals[0].lower[o])
            .sum();
        println!(
            "draws: concentration x{factor:e}: 90% widths sum {width:.6}, mean deal {:.4} (point {:.4})",
            iv.mean[0], point[0]
        );
        assert!(width < last_width);
        last_width = width;
        if factor == 1e8 {
            assert!(width < 1e-2);
            for o in 0..3 {
                assert!((iv.mean[o] - point[o]).abs() < 1e-3);
            }
        }
    }
}

#[test]
fn value_of_information_uses_the_filters_likelihood() {
    let m = v2_model();
    let case = campaign(&m);
    let voi = m.value_of_information(&case, d("2019-01-01")).unwrap();
    let total: f64 = voi.values.iter().map(|v| v.probability).sum();
    assert!(
        (total - 1.0).abs() < 1e-9,
        "shares of the evidence types sum to 1: {total}"
    );
    assert!(voi.values.windows(2).all(|w| w[0].score >= w[1].score));
    let top = &voi.values[0];
    println!(
        "value of information on 2019-01-01: top {} (share {:.3}, delta deal {:+.4})",
        top.signal_type, top.share, top.delta[0]
    );
    // Its forecast if observed is the forecast with that signal added the next day.
    let mut with = case.clone();
    with.append([Signal::new(top.signal_type.clone(), d("2019-01-02"))], &m)
        .unwrap();
    let f = m.forecast(&with, d("2019-01-02")).unwrap();
    for o in 0..3 {
        assert!((f.probabilities[o] - top.forecast_if_observed[o]).abs() < TOL);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn trajectory_equals_forecasts_on_random_models(seed in 0u64..10_000, n in 0usize..25) {
        // Day-by-day filtering and one-shot filtering must agree whatever the inputs' weekly grid does.
        let mv = random_v2(seed);
        let m = Model::from_v2(mv.clone());
        let start = d("2001-01-20");
        let mut case = Case::new("r", "S", "T", start, plus(start, 90)).unwrap();
        case.append(random_signals(&mv, seed, start, 90, n), &m).unwrap();
        let tr = m.trajectory(&case, None, None, Resolution::Daily).unwrap();
        for p in tr.points.iter().step_by(5) {
            let f = m.forecast(&case, p.date).unwrap();
            for o in 0..3 {
                prop_assert!((p.probabilities[o] - f.probabilities[o]).abs() < 1e-10, "{} {:?} {:?}", p.date, p.probabilities, f.probabilities);
            }
        }
    }

    #[test]
    fn future_actions_change_the_forecast_but_never_the_filtered_state(seed in 0u64..10_000, n in 0usize..25) {
        let mv = random_v2(seed);
        let start = d("2001-01-20");
        let mut case = Case::new("r", "S", "T", start, plus(start, 200)).unwrap();
        case.append(random_signals(&mv, seed, start, 200, n), &mv).unwrap();
        let at = plus(start, 100);
        let tm = Terms::of_case(&case);
        let future = vec![Signal::new("act_p", plus(start, 120)), Signal::new("act_r", plus(start, 150))];
        let (_, s1) = v2::forecast_terms(&mv, &tm, case.signals(), at, &[]).unwrap();
        let (_, s2) = v2::forecast_terms(&mv, &tm, case.signals(), at, &future).unwrap();
        prop_assert_eq!(s1, s2);
    }

    #[test]
    fn attribution_telescopes_over_signals_of_every_role(seed in 0u64..10_000, n in 0usize..30, asof in 0u64..365) {
        let mv = random_v2(seed);
        let m = Model::from_v2(mv.clone());
        let start = d("2001-01-20");
        let mut case = Case::new("r", "S", "T", start, plus(start, 365)).unwrap();
        case.append(random_signals(&mv, seed, start, 365, n), &m).unwrap();
        let at = plus(start, asof);
        let a = m.attribution(&case, at).unwrap();
        let f = m.forecast(&case, at).unwrap();
        let none = v2::forecast_terms(&mv, &Terms::of_case(&case), &[], at, &[]).unwrap().0;
        for o in 0..3 {
            let sum: f64 = a.contributions.iter().map(|c| c.delta[o]).sum();
            prop_assert!((sum - (a.total[o] - a.baseline[o])).abs() < TOL);
            prop_assert!((a.total[o] - f.probabilities[o]).abs() < TOL);
            prop_assert!((a.baseline[o] - none[o]).abs() < TOL);
        }
        prop_assert_eq!(a.contributions.len(), f.signals_used);
        let drops = m.drop_one(&case, at).unwrap();
        prop_assert_eq!(drops.len(), f.signals_used);
    }
}

#[test]
fn sampled_episodes_are_reproducible_and_consistent_with_the_filter() {
    use pf_core::v2::sample::{SampleOptions, sample_episodes, terms_for};
    let m = ModelV2::default_model();
    let tm = terms_for(d("2017-01-20"), d("2021-01-20"), true);
    let opts = SampleOptions::default();
    let a = sample_episodes(&m, &tm, &opts, 60, 11).unwrap();
    let b = sample_episodes(&m, &tm, &opts, 60, 11).unwrap();
    assert_eq!(a, b);
    let mut counts = [0usize; 3];
    for e in &a {
        let o = ["deal", "stalemate", "wait_out"]
            .iter()
            .position(|x| *x == e.outcome)
            .unwrap();
        counts[o] += 1;
        // Every sampled episode has a finite objective for its own outcome (a deal episode carries its deal
        // signal, a fate signal fixes F), and the deal signal comes on the day the path enters `settled`.
        let obj = v2::episode_objective(&m, &e.terms, &e.signals, &e.outcome).unwrap();
        assert!(obj.is_finite(), "{} {obj}", e.outcome);
        let deal_days: Vec<_> = e
            .signals
            .iter()
            .filter(|s| s.signal_type == "agreement_signed")
            .collect();
        assert_eq!(deal_days.len(), usize::from(e.outcome == "deal"));
    }
    println!(
        "sampled 60 episodes from the default v2 model: deal {}, stalemate {}, wait_out {}",
        counts[0], counts[1], counts[2]
    );
}
