//! Incremental forecasts ([`pf_core::Checkpoints`]) against full recomputations ([`Model::forecast`]): random
//! signal sets appended in random batches and random date orders (then one removed), for a v1 model and a v2
//! model with inputs.

use chrono::{Days, NaiveDate};
use pf_core::v2::{Fate, ModelV2};
use pf_core::{Case, Checkpoints, Forecast, Model, Signal};
use proptest::prelude::*;

fn start() -> NaiveDate {
    NaiveDate::from_ymd_opt(2017, 1, 20).unwrap()
}

/// The signal types drawn: every type of a v1 model; for a v2 model every type but the fate types saying the
/// leader stays (the case's leader may be ineligible).
fn types(model: &Model) -> Vec<String> {
    match model.as_v2() {
        None => model.signal_types(),
        Some(m) => m
            .spec()
            .signals
            .iter()
            .filter(|(_, s)| s.reveals != Some(Fate::Stays))
            .map(|(t, _)| t.clone())
            .collect(),
    }
}

/// A random signal: a type, a day of the case's span (1461 days, term end included), a reliability and a
/// weight.
fn signal(types: &[String], x: (usize, u64, u8, bool)) -> Signal {
    let (t, d, r, heavy) = x;
    let date = start().checked_add_days(Days::new(d % 1462)).unwrap();
    let mut s = Signal::new(types[t % types.len()].clone(), date);
    s.reliability = if r % 3 == 0 {
        1.0
    } else {
        f64::from(r % 100) / 100.0 + 0.005
    };
    s.weight = if heavy { 2.5 } else { 1.0 };
    s
}

/// The checkpoints' forecast equals the full forecast at each as-of day (days from the start, 40 days earlier),
/// or both fail with the same error; `when` prefixes the failure message.
fn agree_at(model: &Model, case: &Case, cp: &Checkpoints, as_of: &[u64], when: &str) {
    for &d in as_of {
        let date = start()
            .checked_add_days(Days::new(d))
            .unwrap()
            .checked_sub_days(Days::new(40))
            .unwrap();
        match (cp.forecast(model, case, date), model.forecast(case, date)) {
            (Ok(a), Ok(b)) => assert_close(&a, &b, &format!("{when}as of {date}")),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
            (a, b) => panic!("incremental {a:?} vs full {b:?}"),
        }
    }
}

fn assert_close(a: &Forecast, b: &Forecast, what: &str) {
    assert_eq!(a.signals_used, b.signals_used, "{what}: signals used");
    assert_eq!(a.as_of, b.as_of);
    assert!(
        (a.log_likelihood - b.log_likelihood).abs() < 1e-12,
        "{what}: log-likelihood {} vs {}",
        a.log_likelihood,
        b.log_likelihood
    );
    for (p, q) in a.probabilities.iter().zip(&b.probabilities) {
        assert!(
            (p - q).abs() < 1e-12,
            "{what}: {:?} vs {:?}",
            a.probabilities,
            b.probabilities
        );
    }
    for (p, q) in a.regime_probabilities.iter().zip(&b.regime_probabilities) {
        assert!(
            (p - q).abs() < 1e-12,
            "{what}: regimes {:?} vs {:?}",
            a.regime_probabilities,
            b.regime_probabilities
        );
    }
}

/// Append the signals in batches (sizes from `cuts`), checking forecasts at the `as_of` days after each.
fn check(model: &Model, eligible: bool, signals: Vec<Signal>, cuts: &[usize], as_of: &[u64]) {
    let end = start().checked_add_days(Days::new(1461)).unwrap();
    let mut case = Case::new("c", "USA", "PRK", start(), end).unwrap();
    case.reelection_eligible = eligible;
    let mut cp = Checkpoints::new(model, &case).unwrap();
    let mut rest = signals.as_slice();
    let mut cut = cuts.iter().cycle();
    while !rest.is_empty() {
        let n = (*cut.next().unwrap()).clamp(1, rest.len());
        let (batch, tail) = rest.split_at(n);
        rest = tail;
        let earliest = batch.iter().map(|s| s.date).min().unwrap();
        let first = case.first_index_on_or_after(earliest);
        case.append(batch.iter().cloned(), model).unwrap();
        cp.append(model, &case, first).unwrap();
        agree_at(model, &case, &cp, as_of, "");
    }
    // A signal removed (the middle one): the checkpoints follow from its index.
    if !case.signals().is_empty() {
        let idx = case.signals().len() / 2;
        let id = case.signals()[idx].id.clone().expect("appended signals have ids");
        case.remove(&id).unwrap();
        cp.append(model, &case, idx).unwrap();
        agree_at(model, &case, &cp, as_of, "after the removal, ");
    }
    // After the appends, checkpoints made afresh give the same forecasts as the ones kept up to date.
    let fresh = Checkpoints::new(model, &case).unwrap();
    let date = case.term_end;
    match (
        cp.forecast(model, &case, date),
        fresh.forecast(model, &case, date),
    ) {
        (Ok(a), Ok(b)) => assert_close(&a, &b, "fresh"),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        (a, b) => panic!("kept {a:?} vs fresh {b:?}"),
    }
}

fn arb_signals() -> impl Strategy<Value = Vec<(usize, u64, u8, bool)>> {
    prop::collection::vec(
        (0usize..64, 0u64..1521, any::<u8>(), prop::bool::weighted(0.1)),
        0..120,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// v1: random signals in random batches and date orders.
    #[test]
    fn v1_incremental_forecasts_equal_full_recomputation(
        raw in arb_signals(),
        cuts in prop::collection::vec(1usize..40, 1..6),
        as_of in prop::collection::vec(0u64..1560, 1..4),
    ) {
        let model = Model::v1_model();
        let types = types(&model);
        let signals = raw.into_iter().map(|x| signal(&types, x)).collect();
        check(&model, true, signals, &cuts, &as_of);
    }

    /// v2 with inputs (the default v2 model): random signals of every role in random batches and date orders,
    /// eligible leader or not.
    #[test]
    fn v2_incremental_forecasts_equal_full_recomputation(
        raw in arb_signals(),
        cuts in prop::collection::vec(1usize..40, 1..6),
        as_of in prop::collection::vec(0u64..1560, 1..4),
        eligible: bool,
    ) {
        let model = Model::from_v2(ModelV2::default_model());
        let types = types(&model);
        let signals = raw.into_iter().map(|x| signal(&types, x)).collect();
        check(&model, eligible, signals, &cuts, &as_of);
    }
}

/// A long case: checkpoints are sparse and bounded, forecasts before the last signal resume from an earlier
/// one, and an out-of-order append recomputes from the nearest earlier checkpoint: all equal to full
/// recomputations.
#[test]
fn long_cases_keep_few_checkpoints_and_match() {
    for model in [Model::v1_model(), Model::from_v2(ModelV2::default_model())] {
        let types = types(&model);
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let signals: Vec<Signal> = (0..20_000)
            .map(|i| {
                let r = next();
                signal(
                    &types,
                    (
                        (r % 64) as usize,
                        30 + i * 1461 / 20_000,
                        (r >> 8) as u8 | 3,
                        false,
                    ),
                )
            })
            .collect();
        let end = start().checked_add_days(Days::new(1461)).unwrap();
        let mut case = Case::new("c", "USA", "PRK", start(), end).unwrap();
        case.append(signals, &model).unwrap();
        let mut cp = Checkpoints::new(&model, &case).unwrap();
        assert!(
            cp.len() > 4 && cp.len() <= pf_core::incremental::MAX_CHECKPOINTS,
            "{}",
            cp.len()
        );
        let late = Signal::new(
            types[5].clone(),
            start().checked_add_days(Days::new(300)).unwrap(),
        );
        let first = case.first_index_on_or_after(late.date);
        case.append([late], &model).unwrap();
        cp.append(&model, &case, first).unwrap();
        for d in [100, 299, 300, 301, 900, 1460, 1500] {
            let date = start().checked_add_days(Days::new(d)).unwrap();
            assert_close(
                &cp.forecast(&model, &case, date).unwrap(),
                &model.forecast(&case, date).unwrap(),
                &format!("day {d}"),
            );
        }
    }
}

/// Another model: a forecast is refused, an append starts again from scratch.
#[test]
fn checkpoints_are_keyed_to_the_model() {
    let (v1, v2) = (Model::v1_model(), Model::default_model());
    let end = start().checked_add_days(Days::new(1461)).unwrap();
    let mut case = Case::new("c", "USA", "PRK", start(), end).unwrap();
    case.append(
        [Signal::new(
            "summit_held",
            start().checked_add_days(Days::new(500)).unwrap(),
        )],
        &v2,
    )
    .unwrap();
    let mut cp = Checkpoints::new(&v2, &case).unwrap();
    let err = cp.forecast(&v1, &case, end).unwrap_err().to_string();
    assert!(err.contains("make new checkpoints"), "{err}");
    cp.append(&v1, &case, case.signals().len()).unwrap();
    assert_close(
        &cp.forecast(&v1, &case, end).unwrap(),
        &v1.forecast(&case, end).unwrap(),
        "rebuilt",
    );
    let err = cp.append(&v1, &case, 5).unwrap_err().to_string();
    assert!(err.contains("first_changed"), "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// `Case::append` (ids looked up through its index, few signals inserted in place): random batches give the
    /// signals one append of them all gives; re-appending stored signals (a few, or many at once) changes
    /// nothing; a stored id with other content is refused, also after a removal and re-append.
    #[test]
    fn appends_in_batches_equal_one_append(
        raw in arb_signals(),
        cuts in prop::collection::vec(1usize..40, 1..6),
        retry in 0usize..30,
    ) {
        let model = Model::v1_model();
        let types = types(&model);
        let signals: Vec<Signal> = raw
            .into_iter()
            .enumerate()
            .map(|(i, x)| {
                let s = signal(&types, x);
                if i % 3 == 0 { s } else { s.with_id(format!("s{}", i % 50)) }
            })
            .collect();
        let end = start().checked_add_days(Days::new(1461)).unwrap();
        let mut whole = Case::new("c", "USA", "PRK", start(), end).unwrap();
        let all = whole.append(signals.clone(), &model);
        let mut parts = Case::new("c", "USA", "PRK", start(), end).unwrap();
        let mut rest = signals.as_slice();
        let mut cut = cuts.iter().cycle();
        let mut failed = false;
        while !rest.is_empty() {
            let n = (*cut.next().unwrap()).clamp(1, rest.len());
            let (batch, tail) = rest.split_at(n);
            rest = tail;
            let before = parts.clone();
            if parts.append(batch.iter().cloned(), &model).is_err() {
                // A batch is atomic: refused, the case is as it was.
                prop_assert_eq!(&parts, &before);
                failed = true;
            }
        }
        // Duplicate ids with other content: one append of all refuses, the batches refuse one of theirs.
        prop_assert_eq!(all.is_err(), failed);
        if all.is_ok() {
            prop_assert_eq!(&parts, &whole);
            let stored = parts.signals().to_vec();
            let again: Vec<Signal> = stored.iter().take(retry).cloned().collect();
            let report = parts.append(again, &model).unwrap();
            prop_assert_eq!(report.added, 0);
            prop_assert_eq!(&parts, &whole);
            if let Some(s) = stored.first() {
                let mut other = s.clone();
                other.weight += 1.0;
                prop_assert!(parts.append([other.clone()], &model).is_err());
                let id = s.id.clone().unwrap();
                parts.remove(&id).unwrap();
                parts.append([s.clone()], &model).unwrap();
                prop_assert!(parts.append([other], &model).is_err());
                prop_assert_eq!(&parts, &whole);
            }
        }
    }
}
