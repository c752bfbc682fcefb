//! Filtering and forecasting: hand-computed references and properties.

mod common;

use common::{d, plus, random_case, random_model};
use pf_core::{Case, Model, Resolution, Signal};
use proptest::prelude::*;

/// Tolerance for "sums to 1".
const SUM_TOL: f64 = 1e-12;

#[test]
fn static_model_is_bayes_rule_by_hand() {
    let m = Model::static_model();
    let mut case = Case::new("c", "USA", "PRK", d("2017-01-20"), d("2021-01-20")).unwrap();
    let signals = vec![
        Signal::new("summit_held", d("2018-06-12")).with_id("a"),
        Signal::new("talks_refused", d("2018-07-01"))
            .with_id("b")
            .with_reliability(0.5)
            .unwrap(),
        Signal::new("third_party_circumvention", d("2018-09-24"))
            .with_id("c")
            .with_weight(2.0)
            .unwrap(),
    ];
    case.append(signals.clone(), &m).unwrap();
    // p(o) ∝ prior(o) · Π_s (rho q_s(o) + (1 - rho) mean q_s)^w, computed here from the model's numbers.
    let mut p: Vec<f64> = m.prior().to_vec();
    for s in &signals {
        let q = m.emission(&s.signal_type).unwrap();
        let mean = q.iter().sum::<f64>() / q.len() as f64;
        for (o, x) in p.iter_mut().enumerate() {
            *x *= (s.reliability * q[o] + (1.0 - s.reliability) * mean).powf(s.weight);
        }
    }
    let z: f64 = p.iter().sum();
    let f = m.forecast(&case, d("2019-01-01")).unwrap();
    for o in 0..3 {
        assert!(
            (f.probabilities[o] - p[o] / z).abs() < 1e-14,
            "{:?} vs {:?}",
            f.probabilities,
            p
        );
    }
    // And the log-likelihood is ln Σ_o prior(o) Π L (the normalisers' product).
    let mut ll_p: Vec<f64> = m.prior().to_vec();
    for s in &signals {
        let l = m.likelihood(s).unwrap();
        ll_p.iter_mut().zip(&l).for_each(|(a, b)| *a *= b);
    }
    assert!((f.log_likelihood - ll_p.iter().sum::<f64>().ln()).abs() < 1e-12);
}

#[test]
fn n_day_transition_is_the_ordered_product_of_daily_matrices() {
    let m = random_model(7, 4, 3, 4);
    let k = 4;
    let t = d("2010-01-01");
    let from = plus(d("2006-01-01"), 13);
    // Naive: multiply the daily matrices one day at a time; day x uses the bucket holding T - x.
    let buckets = m.buckets();
    let mut acc = vec![0.0; k * k];
    for i in 0..k {
        acc[i * k + i] = 1.0;
    }
    let mut x = from;
    while x < t {
        let left = (t - x).num_days() as u32;
        let (_, _, _, p) = buckets.iter().rev().find(|(_, lo, _, _)| left >= *lo).unwrap();
        let mut next = vec![0.0; k * k];
        for i in 0..k {
            for l in 0..k {
                for j in 0..k {
                    next[i * k + j] += acc[i * k + l] * p[l * k + j];
                }
            }
        }
        acc = next;
        x = x.succ_opt().unwrap();
    }
    let fast = m.transition(from, t, t).unwrap();
    for (a, b) in fast.iter().zip(&acc) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }
}

#[test]
fn trajectory_points_equal_forecasts_on_their_days() {
    let m = random_model(3, 4, 3, 3);
    let case = random_case(&m, 3, 700, 40);
    let tr = m
        .trajectory(&case, None, Some(plus(case.term_end, 30)), Resolution::Daily)
        .unwrap();
    assert_eq!(tr.points.len(), 731);
    for p in tr.points.iter().step_by(37).chain(tr.points.last()) {
        let f = m.forecast(&case, p.date).unwrap();
        for (a, b) in p.probabilities.iter().zip(&f.probabilities) {
            assert!((a - b).abs() < 1e-12, "{} {a} {b}", p.date);
        }
    }
    let sig = m.trajectory(&case, None, None, Resolution::SignalDates).unwrap();
    assert!(sig.points.len() <= 41 && sig.points.len() > 1);
}

#[test]
fn twenty_years_of_daily_signals_neither_underflow_nor_overflow() {
    let m = Model::v1_model();
    let start = d("2000-01-01");
    let days = 20 * 365 + 5;
    let mut case = Case::new("long", "S", "T", start, plus(start, days)).unwrap();
    let types = m.signal_types();
    let signals: Vec<Signal> = (0..days)
        .map(|i| {
            let mut s = Signal::new(types[(i as usize * 7) % types.len()].clone(), plus(start, i));
            s.weight = if i % 3 == 0 { 5.0 } else { 1.0 };
            s
        })
        .collect();
    case.append(signals, &m).unwrap();
    let f = m.forecast(&case, plus(start, days)).unwrap();
    assert!(
        f.log_likelihood.is_finite() && f.log_likelihood < -1e4,
        "{}",
        f.log_likelihood
    );
    assert!(f.probabilities.iter().all(|p| p.is_finite() && *p >= 0.0));
    assert!((f.probabilities.iter().sum::<f64>() - 1.0).abs() < SUM_TOL);
}

#[test]
fn signals_arriving_out_of_order_give_the_same_forecast() {
    let m = Model::v1_model();
    let case = Case::load(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/cases/north_korea.json"),
        &m,
    )
    .unwrap();
    let mut shuffled = Case::new(&case.id, &case.sender, &case.target, case.start, case.term_end).unwrap();
    let mut sigs = case.signals().to_vec();
    sigs.reverse();
    for s in sigs {
        shuffled.append([s], &m).unwrap();
    }
    let as_of = d("2018-10-31");
    assert_eq!(
        m.forecast(&case, as_of).unwrap(),
        m.forecast(&shuffled, as_of).unwrap()
    );
}

#[test]
fn resolved_observations_and_the_incremental_filter_agree_with_forecast() {
    for (seed, k) in [(1, 2), (2, 3), (3, 4), (4, 5), (5, 7)] {
        let m = random_model(seed, k, 2, 3);
        let case = random_case(&m, seed, 800, 60);
        let obs = m.observations(&case).unwrap();
        assert_eq!(obs.len(), 60);
        for as_of in [plus(case.start, 100), plus(case.start, 500), case.term_end] {
            assert_eq!(
                m.forecast_observations(&obs, as_of),
                m.forecast(&case, as_of).unwrap()
            );
        }
        let mut f = pf_core::Filter::new(&m, case.start, case.term_end).unwrap();
        for s in case.signals() {
            f.observe(s).unwrap();
        }
        let full = m.forecast(&case, case.term_end).unwrap();
        assert!((f.log_likelihood() - full.log_likelihood).abs() < 1e-9);
        for (a, b) in f.outcome_probabilities().iter().zip(&full.probabilities) {
            assert!((a - b).abs() < 1e-12);
        }
        assert!(f.observe(&Signal::new("talks_held", case.start)).is_err() || case.signals().is_empty());
    }
}

#[test]
fn embedded_models_round_trip_through_toml() {
    for m in [Model::v1_model(), Model::static_model()] {
        let text = m.to_toml();
        let back = Model::from_toml_str(&text).unwrap();
        assert_eq!(back.to_spec(), m.to_spec());
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.toml");
        m.save(&p).unwrap();
        assert_eq!(Model::load(&p).unwrap().to_spec(), m.to_spec());
    }
}

#[test]
fn before_start_is_the_prior_and_after_term_end_is_resolved() {
    let m = Model::v1_model();
    let case = Case::load(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/cases/iran.json"),
        &m,
    )
    .unwrap();
    let at_end = m.forecast(&case, case.term_end).unwrap();
    let later = m.forecast(&case, plus(case.term_end, 400)).unwrap();
    assert_eq!(at_end.probabilities, later.probabilities);
    // On the term end the forecast is the regime distribution mapped to outcomes.
    let mut mapped = [0.0; 3];
    for (j, p) in at_end.regime_probabilities.iter().enumerate() {
        mapped[m.outcome_of()[j]] += p;
    }
    for (a, b) in mapped.iter().zip(&at_end.probabilities) {
        assert!((a - b).abs() < 1e-12);
    }
    let before = m.forecast(&case, d("2010-01-01")).unwrap();
    assert_eq!(before.signals_used, 0);
    assert_eq!(before.regime_probabilities, m.prior());
}

fn model_and_case() -> impl Strategy<Value = (Model, Case)> {
    (0u64..10_000, 2usize..6, 1usize..5, 0usize..60, 30u64..1500).prop_map(|(seed, k, buckets, n, days)| {
        let m = random_model(seed, k, (2 + seed as usize % 2).min(k), buckets);
        let c = random_case(&m, seed, days, n);
        (m, c)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn forecasts_are_probabilities((m, case) in model_and_case(), frac in 0.0f64..1.2) {
        let span = (case.term_end - case.start).num_days() as f64;
        let as_of = plus(case.start, (frac * span) as u64);
        let f = m.forecast(&case, as_of).unwrap();
        for p in f.probabilities.iter().chain(&f.regime_probabilities) {
            prop_assert!(p.is_finite() && *p >= 0.0);
        }
        prop_assert!((f.probabilities.iter().sum::<f64>() - 1.0).abs() < SUM_TOL);
        prop_assert!((f.regime_probabilities.iter().sum::<f64>() - 1.0).abs() < SUM_TOL);
        prop_assert!(f.log_likelihood.is_finite());
    }

    #[test]
    fn same_day_signals_in_any_order_give_the_same_forecast((m, case) in model_and_case(), rot in 0usize..7) {
        // Put several signals on one day and feed them in a rotated order.
        let day = plus(case.start, 5);
        let types = m.signal_types();
        let batch: Vec<Signal> = (0..5).map(|i| Signal::new(types[(i * 3 + rot) % types.len()].clone(), day).with_id(format!("x{i}"))).collect();
        let mut a = case.clone();
        a.append(batch.clone(), &m).unwrap();
        let mut b = case.clone();
        let mut rotated = batch.clone();
        rotated.rotate_left(rot % 5);
        for s in rotated { b.append([s], &m).unwrap(); }
        prop_assert_eq!(m.forecast(&a, case.term_end).unwrap(), m.forecast(&b, case.term_end).unwrap());
    }

    #[test]
    fn reliability_zero_changes_nothing((m, case) in model_and_case(), t in 0usize..19, frac in 0.0f64..1.0) {
        let span = (case.term_end - case.start).num_days() as f64;
        let day = plus(case.start, (frac * span) as u64);
        let mut with = case.clone();
        let s = Signal::new(m.signal_types()[t].clone(), day).with_id("worthless").with_reliability(0.0).unwrap();
        with.append([s], &m).unwrap();
        let (f0, f1) = (m.forecast(&case, case.term_end).unwrap(), m.forecast(&with, case.term_end).unwrap());
        for (a, b) in f0.probabilities.iter().zip(&f1.probabilities) {
            prop_assert!((a - b).abs() < 1e-12);
        }
    }

    #[test]
    fn a_signal_after_as_of_changes_nothing((m, case) in model_and_case(), t in 0usize..19, frac in 0.0f64..0.9) {
        let span = (case.term_end - case.start).num_days();
        let as_of = plus(case.start, (frac * span as f64) as u64);
        let mut with = case.clone();
        let late = plus(as_of, 1 + (span as u64 / 10));
        if late <= case.term_end {
            with.append([Signal::new(m.signal_types()[t].clone(), late).with_id("late")], &m).unwrap();
        }
        prop_assert_eq!(m.forecast(&case, as_of).unwrap(), m.forecast(&with, as_of).unwrap());
    }
}
