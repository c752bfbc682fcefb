//! Model v2, the joint filter: hand-computed references, properties, and agreement with the v1 filter on plain
//! HMMs (MODEL.md v2, "Numbers that must hold").

mod common;
mod common_v2;

use std::collections::BTreeMap;

use common::{Gen, d, plus, random_case, random_model};
use common_v2::{random_signals, random_v2};
use pf_core::v2::{
    self, BucketSpecV2, FateSpec, ModelSpecV2, ModelV2, RegimeSpecV2, Role, SignalTypeSpec, Terms,
};
use pf_core::{Case, Error, Model, Signal};
use proptest::prelude::*;

const TOL: f64 = 1e-12;

fn terms(start: &str, days: u64) -> Terms {
    let s = d(start);
    let t = plus(s, days);
    Terms {
        start: s,
        term_end: t,
        reelection_eligible: true,
        election_date: v2::default_election_date(t),
    }
}

fn sig(ty: &str, date: chrono::NaiveDate, rho: f64) -> Signal {
    let mut s = Signal::new(ty, date);
    s.reliability = rho;
    s
}

/// Two regimes: `open` and the deal regime `settled`, one hazard open -> settled of 0.73 per year, two evidence
/// types, one deal type; p_inc = 0.6.
const TWO_REGIMES: &str = r#"
format_version = 2
name = "two"
deal_repudiated_to = "open"
exponent_range = [-5.0, 5.0]
evidence_concentration = 10.0
[[regimes]]
name = "open"
[[regimes]]
name = "settled"
deal = true
[prior]
probabilities = [1.0, 0.0]
concentration = 10.0
[fate]
incumbency_rate = 0.6
concentration = 10.0
[[buckets]]
name = "all"
min_days_left = 0
[[hazards]]
from = "open"
to = "settled"
rate_per_year = 0.73
rate_sd_log = 0.5
[signals.e1]
role = "evidence"
q = [0.7, 0.2]
[signals.e2]
role = "evidence"
q = [0.3, 0.8]
[signals.agreement_signed]
role = "deal"
[signals.undone]
role = "deal"
repudiates = true
"#;

#[test]
fn two_regime_two_day_case_by_hand() {
    // Worked by hand. r = 0.73 / 365.25 per day; one regime left open, so L_open = r and
    //   P = [[exp(-r), -expm1(-r)], [0, 1]];   Q (no deal today) = [[exp(-r), 0], [0, 1]].
    // Day 0 (start): state [1, 0] (both halves alike, F weights 0.6 / 0.4).
    // Day 1, no deal signal: step with Q, mass exp(-r) left: log-likelihood -r. Then e1 with rho = 0.8:
    //   L(open) = 0.8 * 0.7 + 0.2 * mean(0.7, 0.2) = 0.56 + 0.09 = 0.65, so ll = -r + ln 0.65, state [1, 0].
    // Day 2 with a deal signal (rho = 1): step with P: [exp(-r), -expm1(-r)]; observe settled: ll adds
    //   ln(-expm1(-r)), state [0, 1], P(deal) = 1.
    // Forecast from day 1 with the term end on day 4 (last day 3): two free steps, P(deal) = 1 - exp(-2r),
    //   stalemate 0.6 exp(-2r), wait_out 0.4 exp(-2r).
    // With the day-2 deal signal at rho = 0.5 instead: Jeffrey's rule gives P(settled) = max(1 - exp(-r), 0.5)
    //   = 0.5 and nothing added to the log-likelihood; from there one free step to day 3:
    //   P(deal) = 0.5 + 0.5 (1 - exp(-r)).
    let m = ModelV2::from_toml_str(TWO_REGIMES).unwrap();
    let r: f64 = 0.73 / 365.25;
    let tm = terms("2020-01-01", 4);
    let s0 = d("2020-01-01");
    let signals = vec![
        sig("e1", plus(s0, 1), 0.8),
        sig("agreement_signed", plus(s0, 2), 1.0),
    ];
    let st1 = v2::filter(&m, &tm, &signals, plus(s0, 1)).unwrap();
    assert!(
        (st1.log_likelihood - (-r + 0.65f64.ln())).abs() < TOL,
        "{}",
        st1.log_likelihood
    );
    assert!((st1.regimes[0] - 1.0).abs() < TOL && st1.regimes[1].abs() < TOL);
    assert!((st1.leader_stays - 0.6).abs() < TOL);
    let st2 = v2::filter(&m, &tm, &signals, plus(s0, 2)).unwrap();
    let ll2 = -r + 0.65f64.ln() + (-(-r).exp_m1()).ln();
    assert!(
        (st2.log_likelihood - ll2).abs() < TOL,
        "{} vs {ll2}",
        st2.log_likelihood
    );
    assert!((st2.regimes[1] - 1.0).abs() < TOL);
    let (p1, _) = v2::forecast_terms(&m, &tm, &signals, plus(s0, 1), &[]).unwrap();
    let e2r = (-2.0 * r).exp();
    for (a, b) in p1.iter().zip([1.0 - e2r, 0.6 * e2r, 0.4 * e2r]) {
        assert!((a - b).abs() < TOL, "{p1:?}");
    }
    let (p2, _) = v2::forecast_terms(&m, &tm, &signals, plus(s0, 2), &[]).unwrap();
    assert_eq!(p2[0], 1.0);
    let half = vec![
        sig("e1", plus(s0, 1), 0.8),
        sig("agreement_signed", plus(s0, 2), 0.5),
    ];
    let (ph, sh) = v2::forecast_terms(&m, &tm, &half, plus(s0, 2), &[]).unwrap();
    assert!((ph[0] - (0.5 + 0.5 * (-(-r).exp_m1()))).abs() < TOL, "{ph:?}");
    assert!((sh.log_likelihood - (-r + 0.65f64.ln())).abs() < TOL);
    // A repudiation the next day moves the deal back to open.
    let mut rep = signals.clone();
    rep.push(sig("undone", plus(s0, 3), 1.0));
    let (pr, _) = v2::forecast_terms(&m, &tm, &rep, plus(s0, 3), &[]).unwrap();
    assert!(pr[0].abs() < TOL && (pr[1] - 0.6).abs() < TOL, "{pr:?}");
    // A deal signal dated on the term end does not count.
    let late = vec![sig("agreement_signed", plus(s0, 4), 1.0)];
    let (pl, sl) = v2::forecast_terms(&m, &tm, &late, plus(s0, 10), &[]).unwrap();
    assert_eq!(sl.signals_used, 0);
    assert!(pl[0].abs() < TOL, "{pl:?}");
}

/// Two non-deal regimes `a` and `b`, hazard a -> b with a beta on pressure; one action type.
fn pressure_model(beta: f64, half_life: f64, tau: f64) -> ModelV2 {
    let text = format!(
        r#"
format_version = 2
name = "pressure"
exponent_range = [-5.0, 5.0]
evidence_concentration = 10.0
[[regimes]]
name = "a"
[[regimes]]
name = "b"
[prior]
probabilities = [1.0, 0.0]
concentration = 10.0
[fate]
incumbency_rate = 0.5
concentration = 10.0
[[buckets]]
name = "all"
min_days_left = 0
[[hazards]]
from = "a"
to = "b"
rate_per_year = 3.6525
rate_sd_log = 0.5
betas.pressure = {{ mean = {beta}, sd = 1.0 }}
[inputs.pressure]
types = ["sanctions_tightened"]
half_life_days = {half_life}
tau_days = {tau}
[signals.sanctions_tightened]
role = "action"
"#
    );
    ModelV2::from_toml_str(&text).unwrap()
}

#[test]
fn pressure_input_by_hand() {
    // r = 0.01 per day. A sanctions report on the start day (rho 1, w 1): in week 0 (grid point = start) the
    // decayed count is 1, x = ln 2 · exp(0) = ln 2, and the rate is r 2^beta. On day 7 (grid point 7) the count
    // decays to c = 2^(-7/h) and x = ln(1 + c) exp(-7/tau). So
    //   P(a on day 7) = exp(-7 r 2^beta),   P(a on day 8) = exp(-7 r 2^beta) exp(-r exp(beta x_1)).
    let (beta, h, tau) = (0.9, 30.0, 100.0);
    let m = pressure_model(beta, h, tau);
    let r: f64 = 3.6525 / 365.25;
    let tm = terms("2020-01-01", 100);
    let s0 = d("2020-01-01");
    let sigs = vec![sig("sanctions_tightened", s0, 1.0)];
    let a7 = (-7.0 * r * 2f64.powf(beta)).exp();
    let st7 = v2::filter(&m, &tm, &sigs, plus(s0, 7)).unwrap();
    assert!((st7.regimes[0] - a7).abs() < TOL, "{} vs {a7}", st7.regimes[0]);
    let x1 = (1.0 + 2f64.powf(-7.0 / h)).ln() * (-7.0f64 / tau).exp();
    let a8 = a7 * (-r * (beta * x1).exp()).exp();
    let st8 = v2::filter(&m, &tm, &sigs, plus(s0, 8)).unwrap();
    assert!((st8.regimes[0] - a8).abs() < TOL, "{} vs {a8}", st8.regimes[0]);
    // Without the report, the plain rate.
    let st = v2::filter(&m, &tm, &[], plus(s0, 8)).unwrap();
    assert!((st.regimes[0] - (-8.0 * r).exp()).abs() < TOL);
    // A report on day 3 counts from the next grid point (each week's inputs are those of its first day, MODEL.md):
    // days 0..7 at r.
    let mid = vec![sig("sanctions_tightened", plus(s0, 3), 1.0)];
    let st = v2::filter(&m, &tm, &mid, plus(s0, 7)).unwrap();
    let want = (-7.0 * r).exp();
    assert!((st.regimes[0] - want).abs() < TOL, "{} vs {want}", st.regimes[0]);
    // From the grid point on day 7 it has decayed for 4 days: x = ln(1 + 2^(-4/h)) exp(-7/tau) for the step
    // from day 7 to day 8, whether the filter stops on the way or not.
    let x = (1.0 + 2f64.powf(-4.0 / h)).ln() * (-7.0f64 / tau).exp();
    let want8 = want * (-r * (beta * x).exp()).exp();
    let st = v2::filter(&m, &tm, &mid, plus(s0, 8)).unwrap();
    assert!(
        (st.regimes[0] - want8).abs() < TOL,
        "{} vs {want8}",
        st.regimes[0]
    );
    // And the log-likelihood of inputs alone is 0: actions are not evidence.
    assert!(st.log_likelihood.abs() < TOL);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn probabilities_are_finite_non_negative_and_sum_to_one(seed in 0u64..10_000, n in 0usize..60, asof in 0u64..400, eligible: bool) {
        let m = random_v2(seed);
        let mut tm = terms("2001-01-20", 365);
        tm.reelection_eligible = eligible;
        let sigs = random_signals(&m, seed, tm.start, 365, n);
        let (p, st) = v2::forecast_terms(&m, &tm, &sigs, plus(tm.start, asof), &[]).unwrap();
        prop_assert!(p.iter().all(|x| x.is_finite() && *x >= 0.0), "{:?}", p);
        prop_assert!((p.iter().sum::<f64>() - 1.0).abs() < TOL, "{:?}", p);
        prop_assert!(st.joint.iter().all(|x| x.is_finite() && *x >= 0.0));
        prop_assert!((st.joint.iter().sum::<f64>() - 1.0).abs() < TOL);
        prop_assert!(st.log_likelihood.is_finite());
        if !eligible {
            prop_assert_eq!(p[1], 0.0);
        }
    }

    #[test]
    fn arrival_order_of_signals_does_not_matter(seed in 0u64..10_000, n in 1usize..40) {
        let m = random_v2(seed);
        let tm = terms("2001-01-20", 200);
        // Many signals on few days, so that same-day signals of every role meet.
        let mut sigs = random_signals(&m, seed, tm.start, 10, n);
        let (p1, s1) = v2::forecast_terms(&m, &tm, &sigs, plus(tm.start, 20), &[]).unwrap();
        sigs.reverse();
        let mut g = Gen(seed);
        for i in 0..sigs.len() {
            let j = g.below(sigs.len());
            sigs.swap(i, j);
        }
        let (p2, s2) = v2::forecast_terms(&m, &tm, &sigs, plus(tm.start, 20), &[]).unwrap();
        prop_assert_eq!(p1, p2);
        prop_assert_eq!(s1.log_likelihood.to_bits(), s2.log_likelihood.to_bits());
    }

    #[test]
    fn no_signal_after_the_as_of_date_is_used(seed in 0u64..10_000, n in 1usize..40, asof in 0u64..300) {
        let m = random_v2(seed);
        let tm = terms("2001-01-20", 300);
        let sigs = random_signals(&m, seed, tm.start, 300, n);
        let until = plus(tm.start, asof);
        let before: Vec<Signal> = sigs.iter().filter(|s| s.date <= until).cloned().collect();
        let (p1, s1) = v2::forecast_terms(&m, &tm, &sigs, until, &[]).unwrap();
        let (p2, s2) = v2::forecast_terms(&m, &tm, &before, until, &[]).unwrap();
        prop_assert_eq!(p1, p2);
        prop_assert_eq!(s1.log_likelihood.to_bits(), s2.log_likelihood.to_bits());
    }

    #[test]
    fn plain_hmm_matches_the_v1_filter(seed in 0u64..10_000, k in 2usize..6, nb in 1usize..4, n in 1usize..80) {
        let (v1, v2m) = plain_pair(seed, k, nb);
        let case = random_case(&v1, seed, 700, n);
        let tm = Terms::of_case(&case);
        for asof in [0u64, 13, 150, 350, 699] {
            let at = plus(case.start, asof);
            let (alpha, ll) = v1.filter(&case, at).unwrap();
            let st = v2::filter(&v2m, &tm, case.signals(), at).unwrap();
            prop_assert!((ll - st.log_likelihood).abs() < TOL * (1.0 + ll.abs()), "{} vs {}", ll, st.log_likelihood);
            for j in 0..k {
                prop_assert!((alpha[j] - st.regimes[j]).abs() < TOL, "{:?} vs {:?}", alpha, st.regimes);
            }
        }
    }
}

/// A random v1 model and the same model written as a v2 plain HMM (no deal regime, no inputs, daily matrices
/// given): the v1 emission rates are normalised per regime over the types so that they form the v2 categorical
/// rows, and the v1 model is rebuilt with those same numbers.
fn plain_pair(seed: u64, k: usize, nb: usize) -> (Model, ModelV2) {
    let base = random_model(seed, k, 2.min(k), nb);
    let mut spec = base.to_spec();
    let sums: Vec<f64> = (0..k)
        .map(|j| spec.emissions.values().map(|e| e.q[j]).sum())
        .collect();
    for e in spec.emissions.values_mut() {
        for j in 0..k {
            e.q[j] /= sums[j];
        }
    }
    let v1 = Model::from_spec(spec.clone()).unwrap();
    let mut transitions = spec.transitions.clone();
    transitions.sort_by_key(|b| b.min_days_left);
    let v2spec = ModelSpecV2 {
        format_version: 2,
        name: "plain".into(),
        version: String::new(),
        description: String::new(),
        regimes: spec
            .regimes
            .iter()
            .map(|r| RegimeSpecV2 {
                name: r.name.clone(),
                deal: false,
                description: String::new(),
            })
            .collect(),
        deal_repudiated_to: None,
        prior: spec.prior.clone(),
        fate: FateSpec {
            incumbency_rate: 0.7,
            concentration: 10.0,
        },
        exponent_range: [-5.0, 5.0],
        buckets: transitions
            .iter()
            .map(|b| BucketSpecV2 {
                name: b.name.clone(),
                min_days_left: b.min_days_left,
                max_days_left: b.max_days_left,
                matrix: Some(b.matrix.clone()),
            })
            .collect(),
        hazards: Vec::new(),
        inputs: BTreeMap::new(),
        evidence_concentration: 10.0,
        signals: spec
            .emissions
            .iter()
            .map(|(n, e)| {
                (
                    n.clone(),
                    SignalTypeSpec {
                        role: Role::Evidence,
                        q: Some(e.q.clone()),
                        repudiates: false,
                        reveals: None,
                        prior_q: None,
                        description: String::new(),
                    },
                )
            })
            .collect(),
        provenance: None,
        fit: None,
    };
    (v1, ModelV2::from_spec(v2spec).unwrap())
}

fn usa_prk() -> Case {
    Case::new("c", "USA", "PRK", d("2017-01-20"), d("2021-01-20")).unwrap()
}

#[test]
fn deal_signal_with_reliability_one_gives_deal_one() {
    let m = ModelV2::default_model();
    let mut case = usa_prk();
    case.append(
        [
            Signal::new("talks_held", d("2018-03-01")),
            Signal::new("agreement_signed", d("2019-06-01")),
        ],
        &m,
    )
    .unwrap();
    let f = v2::forecast(&m, &case, d("2019-07-01")).unwrap();
    assert_eq!(f.probabilities[0], 1.0, "{:?}", f.probabilities);
    assert_eq!(f.probabilities[1] + f.probabilities[2], 0.0);
}

#[test]
fn stalemate_is_exactly_zero_for_an_ineligible_leader() {
    let m = ModelV2::default_model();
    let mut case = usa_prk();
    case.append(
        [
            Signal::new("talks_held", d("2018-03-01")),
            Signal::new("sanctions_tightened", d("2018-04-01")),
            Signal::new("leadership_change_expected", d("2020-04-01")),
        ],
        &m,
    )
    .unwrap();
    let mut tm = Terms::of_case(&case);
    tm.reelection_eligible = false;
    for asof in ["2017-01-20", "2018-06-01", "2020-12-01", "2022-01-01"] {
        let (p, st) = v2::forecast_terms(&m, &tm, case.signals(), d(asof), &[]).unwrap();
        assert_eq!(p[1], 0.0, "{p:?}");
        assert_eq!(st.leader_stays, 0.0);
    }
    // A fate signal saying the ineligible leader stays is a validation error.
    let bad = vec![Signal::new("sender_leader_reelected", d("2020-11-05"))];
    assert!(matches!(
        v2::forecast_terms(&m, &tm, &bad, d("2020-12-01"), &[]),
        Err(Error::InvalidSignal { .. })
    ));
}

#[test]
fn wait_out_is_exactly_zero_after_reelection() {
    let m = ModelV2::default_model();
    let mut case = usa_prk();
    case.append(
        [
            Signal::new("talks_refused", d("2019-03-01")),
            Signal::new("sender_leader_reelected", d("2020-11-05")),
        ],
        &m,
    )
    .unwrap();
    let f = v2::forecast(&m, &case, d("2020-11-10")).unwrap();
    assert_eq!(f.probabilities[2], 0.0, "{:?}", f.probabilities);
    assert!(f.probabilities[1] > 0.0);
    // Before the fate is known, wait_out is positive.
    let f = v2::forecast(&m, &case, d("2020-11-01")).unwrap();
    assert!(f.probabilities[2] > 0.0);
}

#[test]
fn errors_name_the_field_and_the_expected_form() {
    let bad = TWO_REGIMES.replace("q = [0.3, 0.8]", "q = [0.3, 0.7]");
    let e = ModelV2::from_toml_str(&bad).unwrap_err().to_string();
    assert!(e.contains("signals.*.q[1]") && e.contains("summing to 1"), "{e}");
    let bad = TWO_REGIMES.replace("probabilities = [1.0, 0.0]", "probabilities = [0.5, 0.5]");
    let e = ModelV2::from_toml_str(&bad).unwrap_err().to_string();
    assert!(
        e.contains("prior.probabilities[1]") && e.contains("deal regime"),
        "{e}"
    );
    let bad = TWO_REGIMES.replace("from = \"open\"", "from = \"closed\"");
    let e = ModelV2::from_toml_str(&bad).unwrap_err().to_string();
    assert!(
        e.contains("hazards[0].from") && e.contains("one of the regimes open, settled"),
        "{e}"
    );
    let bad = TWO_REGIMES.replace(
        "role = \"deal\"\n[signals.undone]",
        "role = \"dael\"\n[signals.undone]",
    );
    assert!(matches!(ModelV2::from_toml_str(&bad), Err(Error::Parse { .. })));
    let bad = TWO_REGIMES.replace("format_version = 2", "format_version = 3");
    let e = ModelV2::from_toml_str(&bad).unwrap_err().to_string();
    assert!(e.contains("format_version"), "{e}");
}

#[test]
fn spec_round_trips_through_toml_and_keeps_its_hash() {
    let m = ModelV2::default_model();
    let again = ModelV2::from_toml_str(&m.to_toml_string()).unwrap();
    assert_eq!(again.spec(), m.spec());
    assert_eq!(again.hash(), m.hash());
    assert_eq!(m.hash().len(), 64);
    // The default file knows every v2 vocabulary type, including the three new ones.
    for t in [
        "sender_leader_reelected",
        "sender_leader_departing",
        "target_withdraws_from_agreement",
    ] {
        assert!(m.role(t).is_some(), "{t}");
    }
    for t in pf_core::vocab::signal_types_v1() {
        assert!(m.role(t).is_some(), "{t}");
    }
}

#[test]
fn episode_objective_is_log_likelihood_plus_log_outcome() {
    let m = ModelV2::default_model();
    let mut case = usa_prk();
    case.append(
        [
            Signal::new("summit_held", d("2018-06-12")),
            Signal::new("sanctions_tightened", d("2018-08-01")),
            Signal::new("talks_refused", d("2019-10-05")),
        ],
        &m,
    )
    .unwrap();
    let tm = Terms::of_case(&case);
    let st = v2::filter(&m, &tm, case.signals(), case.term_end).unwrap();
    let k = m.n_regimes();
    let stays: f64 = st.joint[..k - 1].iter().sum();
    let o = v2::episode_objective(&m, &tm, case.signals(), "stalemate").unwrap();
    assert!((o - (st.log_likelihood + stays.ln())).abs() < 1e-12);
    assert_eq!(
        v2::episode_objective(&m, &tm, case.signals(), "deal").unwrap(),
        f64::NEG_INFINITY
    );
    assert!(matches!(
        v2::episode_objective(&m, &tm, case.signals(), "win"),
        Err(Error::UnknownOutcome { .. })
    ));
}

#[test]
fn fate_signal_below_reliability_one_follows_jeffreys_rule() {
    // P(F = leaves) is 1 - p_inc before any fate news; a `sender_leader_departing` signal of reliability 0.9
    // revises it to max(1 - p_inc, 0.9) = 0.9 exactly, adding nothing to the log-likelihood. A repeat at 0.5 the
    // next day changes nothing by itself (max(P, 0.5) = P); only the day's "no deal today" evidence, which
    // differs slightly between the halves once their dynamics differ, moves P(stays) a little.
    let m = ModelV2::default_model();
    let mut case = usa_prk();
    case.append([Signal::new("talks_refused", d("2019-03-01"))], &m)
        .unwrap();
    let tm = Terms::of_case(&case);
    let before = v2::filter(&m, &tm, case.signals(), d("2020-03-01")).unwrap();
    assert!((before.leader_stays - m.incumbency_rate()).abs() < TOL);
    let mut sigs = case.signals().to_vec();
    sigs.push(sig("sender_leader_departing", d("2020-03-01"), 0.9));
    let after = v2::filter(&m, &tm, &sigs, d("2020-03-01")).unwrap();
    assert!((after.leader_stays - 0.1).abs() < TOL, "{}", after.leader_stays);
    assert!((after.log_likelihood - before.log_likelihood).abs() < TOL);
    sigs.push(sig("sender_leader_departing", d("2020-03-02"), 0.5));
    let again = v2::filter(&m, &tm, &sigs, d("2020-03-02")).unwrap();
    let one_day = sigs[..sigs.len() - 1].to_vec();
    let no_repeat = v2::filter(&m, &tm, &one_day, d("2020-03-02")).unwrap();
    assert!((again.leader_stays - no_repeat.leader_stays).abs() < TOL);
    assert!((again.leader_stays - 0.1).abs() < 1e-3, "{}", again.leader_stays);
    // With reliability 1 the observation's probability enters the log-likelihood: ln P(leaves) = ln(1 - p_inc).
    let mut sure = case.signals().to_vec();
    sure.push(sig("sender_leader_departing", d("2020-03-01"), 1.0));
    let s = v2::filter(&m, &tm, &sure, d("2020-03-01")).unwrap();
    assert_eq!(s.leader_stays, 0.0);
    assert!((s.log_likelihood - before.log_likelihood - (1.0 - m.incumbency_rate()).ln()).abs() < TOL);
}
