//! Cancellation: every long loop (parameter draws, trajectories, attribution, drop-one, value of information)
//! stops with `Error::Interrupted` once its progress reporter says so, for v1 and v2 models alike.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};

use common::d;
use pf_core::v2::ModelV2;
use pf_core::{CancelFlag, Case, DrawOptions, Error, Model, Progress, Resolution, Signal, Silent};

fn models() -> [Model; 2] {
    [
        Model::v1_model(),
        Model::from_toml_str(ModelV2::default_toml()).unwrap(),
    ]
}

/// A four-year case with a signal every ten days, of the types both models share.
fn case(m: &Model) -> Case {
    let mut case = Case::new("c", "USA", "PRK", d("2017-01-20"), d("2021-01-20")).unwrap();
    let types: Vec<String> = ["sanctions_tightened", "talks_held", "military_threat"]
        .iter()
        .filter(|t| m.signal_types().iter().any(|s| s == *t))
        .map(|t| (*t).to_owned())
        .collect();
    assert!(!types.is_empty());
    let signals: Vec<Signal> = (0..140u64)
        .map(|i| {
            Signal::new(
                types[i as usize % types.len()].clone(),
                d("2017-01-21")
                    .checked_add_days(chrono::Days::new(10 * i))
                    .unwrap(),
            )
        })
        .collect();
    case.append(signals, m).unwrap();
    case
}

/// Cancels once `after` units of work were reported, and counts the units reported.
#[derive(Debug, Default)]
struct CancelAfter {
    after: u64,
    done: AtomicU64,
}

impl Progress for CancelAfter {
    fn advance(&self, n: u64) {
        self.done.fetch_add(n, Ordering::SeqCst);
    }
    fn cancelled(&self) -> bool {
        self.done.load(Ordering::SeqCst) >= self.after
    }
}

fn interrupted<T: std::fmt::Debug>(r: pf_core::Result<T>) {
    match r {
        Err(Error::Interrupted) => {}
        other => panic!("expected Error::Interrupted, got {other:?}"),
    }
}

#[test]
fn a_set_flag_stops_draws_before_any_work() {
    for m in models() {
        let case = case(&m);
        let flag = CancelFlag::new();
        flag.cancel();
        let opts = DrawOptions {
            draws: 1000,
            seed: 1,
            levels: vec![0.9],
        };
        interrupted(m.draw_forecasts(&case, d("2019-01-01"), &opts, &flag));
        interrupted(m.forecast_with_intervals(&case, d("2019-01-01"), &opts, &flag));
    }
}

#[test]
fn draws_stop_early_once_the_flag_is_set() {
    for m in models() {
        let case = case(&m);
        let opts = DrawOptions {
            draws: 2000,
            seed: 1,
            levels: vec![0.9],
        };
        let p = CancelAfter {
            after: 1,
            ..CancelAfter::default()
        };
        interrupted(m.draw_forecasts(&case, d("2019-01-01"), &opts, &p));
        // Each worker thread finishes the draw it is on; none starts another once the flag is set.
        let done = p.done.load(Ordering::SeqCst);
        let threads = rayon::current_num_threads() as u64;
        assert!(done <= 1 + threads, "{done} draws done after the cancel");
        // Not cancelled: every draw is done.
        let p = CancelAfter {
            after: u64::MAX,
            ..CancelAfter::default()
        };
        assert_eq!(
            m.draw_forecasts(&case, d("2019-01-01"), &opts, &p).unwrap().len(),
            2000
        );
        assert_eq!(p.done.load(Ordering::SeqCst), 2000);
    }
}

#[test]
fn a_set_flag_stops_trajectories_attribution_and_value_of_information() {
    let flag = CancelFlag::new();
    flag.cancel();
    for m in models() {
        let case = case(&m);
        let as_of = d("2019-01-01");
        interrupted(m.trajectory_with(&case, None, None, Resolution::Daily, &flag));
        interrupted(m.attribution_with(&case, as_of, &flag));
        interrupted(m.drop_one_with(&case, as_of, &flag));
        interrupted(m.value_of_information_with(&case, as_of, &flag));
        // The same calls without cancellation agree with the plain API.
        let t = m
            .trajectory_with(&case, None, None, Resolution::Daily, &Silent)
            .unwrap();
        assert_eq!(t, m.trajectory(&case, None, None, Resolution::Daily).unwrap());
        let t = m
            .trajectory_with(&case, None, None, Resolution::SignalDates, &Silent)
            .unwrap();
        assert_eq!(
            t,
            m.trajectory(&case, None, None, Resolution::SignalDates).unwrap()
        );
        assert_eq!(
            m.attribution_with(&case, as_of, &Silent).unwrap(),
            m.attribution(&case, as_of).unwrap()
        );
        assert_eq!(
            m.value_of_information_with(&case, as_of, &Silent).unwrap(),
            m.value_of_information(&case, as_of).unwrap()
        );
    }
}

/// A flag set while a trajectory runs stops it within one check interval.
#[test]
fn a_trajectory_stops_soon_after_the_flag_is_set() {
    /// Cancels after its `cancelled` was asked `after` times.
    struct CancelAtCheck {
        after: u64,
        asked: AtomicU64,
    }
    impl Progress for CancelAtCheck {
        fn cancelled(&self) -> bool {
            self.asked.fetch_add(1, Ordering::SeqCst) + 1 >= self.after
        }
    }
    for m in models() {
        let case = case(&m);
        let p = CancelAtCheck {
            after: 3,
            asked: AtomicU64::new(0),
        };
        interrupted(m.trajectory_with(&case, None, None, Resolution::Daily, &p));
        assert_eq!(p.asked.load(Ordering::SeqCst), 3);
    }
}
