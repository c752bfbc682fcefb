//! Incremental forecasts of the cached cases (issue 14): each case in the case cache keeps the filter's
//! checkpoints ([`pf_core::incremental::Checkpoints`]) of one of its versions, so that the forecast after an
//! append in date order costs the new signals, not the whole history.
//!
//! - Every write that the state publishes records how the new version differs from the one it was made from
//!   ([`Change`]: the index of the first signal that differs, computed against the old case), in the case's
//!   [`CaseCheckpoints`], shared by the cache entries of its successive versions.
//! - A forecast of version `v` uses the checkpoints as they are when they reflect `v`; advances them with
//!   `Checkpoints::append` when they reflect an earlier version and every change since is recorded (the first
//!   changed index of a chain of changes is the least of theirs); rebuilds them with `Checkpoints::new` when
//!   they are missing or a change is unknown (a case loaded again from the store, a version gap: a replica that
//!   learnt the change by NOTIFY); and makes a full forecast (`Model::forecast`), leaving them alone, for a
//!   version older than the one they reflect. Checkpoints never answer for a version they do not reflect.
//! - Checkpoints are a cache, never the source of truth: an error of the checkpoints falls back to the full
//!   forecast (whose answer, or error, is then the reply), and they are dropped with their cache entry.
//!
//! The work is counted in [`crate::metrics::Metrics`]: `pf_checkpoints_total{kind}` (hit, advance, rebuild,
//! full) and `pf_forecast_signals_filtered_total`.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Mutex, MutexGuard, TryLockError};

use chrono::{Days, NaiveDate};
use pf_core::incremental::Checkpoints;
use pf_core::{Case, Forecast, Model};

use crate::metrics::Metrics;

/// Changes recorded at most while no forecast advances the checkpoints; past that, the oldest go (and the next
/// forecast rebuilds the checkpoints).
const MAX_CHANGES: usize = 256;

/// Estimated bytes of one checkpoint (the filter state after a day: a few regime vectors and the inputs'
/// tracker), for the case cache's size.
pub(crate) const CHECKPOINT_BYTES: usize = 1024;

/// Estimated bytes of a case's checkpoints once made: one checkpoint per
/// [`pf_core::incremental::CHECKPOINT_EVERY`] signals and two at the end, at most
/// [`pf_core::incremental::MAX_CHECKPOINTS`].
pub(crate) fn checkpoints_bytes(signals: usize) -> usize {
    (2 + signals / pf_core::incremental::CHECKPOINT_EVERY).min(pf_core::incremental::MAX_CHECKPOINTS)
        * CHECKPOINT_BYTES
}

/// How a version of a case differs from the one before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Change {
    /// The version made.
    pub version: u64,
    /// The index of the first signal that differs (in the old case's order): the signals before it are the
    /// same in both versions.
    pub first_changed: usize,
    /// Whether nothing before the old case's last day changed (an append in date order, a retraction on the
    /// last day, an update of the description): the checkpoints then advance from the end of the day before
    /// that one, at the cost of the new signals and that day's.
    pub tail: bool,
}

impl Change {
    /// The change an append of signals dated from `earliest` on makes to `old`.
    pub(crate) fn append(old: &Case, version: u64, earliest: NaiveDate) -> Change {
        Change {
            version,
            first_changed: old.first_index_on_or_after(earliest),
            tail: last_date(old).is_none_or(|last| earliest >= last),
        }
    }

    /// The change the retraction of a signal dated `date` makes to `old`: the signals dated before it stay
    /// (the first of its day is where the retracted one sat at the earliest): the same change as an append
    /// dated `date` makes.
    pub(crate) fn retract(old: &Case, version: u64, date: NaiveDate) -> Change {
        Change::append(old, version, date)
    }

    /// The change of an update of the case's header: no signal changes; the terms do when `terms` (the
    /// checkpoints then start again from scratch).
    pub(crate) fn update(old: &Case, version: u64, terms: bool) -> Change {
        Change {
            version,
            first_changed: old.signal_count(),
            tail: !terms,
        }
    }
}

/// The date of a case's last signal.
fn last_date(case: &Case) -> Option<NaiveDate> {
    let last = case.signal_count().checked_sub(1)?;
    case.iter_signals_from(last).next().map(|s| s.date)
}

/// One case's checkpoints and the changes made since the version they reflect; shared by the cache entries of
/// the case's successive versions (a case loaded again from the store starts with new, empty ones).
#[derive(Debug, Default)]
pub(crate) struct CaseCheckpoints {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// The checkpoints and the version of the case they reflect.
    held: Option<(u64, Checkpoints)>,
    /// Changes recorded after that version, by version, ascending.
    changes: VecDeque<Change>,
}

/// What a forecast of a version does with the checkpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    /// They reflect the version.
    Hit,
    /// Advance them from this index of the signals; whether only the tail changed.
    Advance(usize, bool),
    /// Make them again.
    Rebuild,
    /// The version is older than theirs: a full forecast, leaving them alone.
    Full,
}

impl Inner {
    fn plan(&self, version: u64) -> Plan {
        let Some((held, _)) = &self.held else {
            return Plan::Rebuild;
        };
        let held = *held;
        if held == version {
            return Plan::Hit;
        }
        if held > version {
            return Plan::Full;
        }
        // Every version from the held one's next to `version` must be recorded.
        let mut first = usize::MAX;
        let mut tail = true;
        let since = self.changes.iter().skip_while(|c| c.version <= held);
        for (expect, c) in (held + 1..).zip(since) {
            if c.version != expect {
                return Plan::Rebuild;
            }
            first = first.min(c.first_changed);
            tail &= c.tail;
            if c.version == version {
                return Plan::Advance(first, tail);
            }
        }
        Plan::Rebuild
    }
}

impl CaseCheckpoints {
    /// Record the change that made a version of the case.
    pub(crate) fn record(&self, change: Change) {
        let mut g = self.lock();
        if g.changes.back().is_some_and(|c| c.version >= change.version) {
            // Versions are recorded in order; anything else is a gap, which rebuilds.
            g.changes.clear();
        }
        g.changes.push_back(change);
        while g.changes.len() > MAX_CHANGES {
            g.changes.pop_front();
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The forecast of `case` at `version` as of `as_of` when it is cheap (the checkpoints reflect the version
    /// or advance to it over the last day's signals and a few new ones, and the as-of date is on or after the
    /// last signal's day): `None` when it is not, or when another forecast holds the checkpoints (do it on a
    /// blocking thread then, with [`CaseCheckpoints::forecast`]).
    pub(crate) fn try_cheap(
        &self,
        model: &Model,
        case: &Case,
        version: u64,
        as_of: NaiveDate,
        metrics: &Metrics,
        max_signals: usize,
    ) -> Option<pf_core::Result<Forecast>> {
        let mut g = match self.inner.try_lock() {
            Ok(g) => g,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => return None,
        };
        let n = case.signal_count();
        let cheap = match g.plan(version) {
            Plan::Hit => true,
            Plan::Advance(first, tail) => tail && n.saturating_sub(first) <= max_signals,
            Plan::Rebuild | Plan::Full => false,
        };
        if !cheap || last_date(case).is_some_and(|last| as_of < last) {
            return None;
        }
        Some(forecast_locked(&mut g, model, case, version, as_of, metrics))
    }

    /// The forecast of `case` (the case at `version`) as of `as_of`, through the checkpoints (module docs).
    /// Waits for another forecast holding them: call it on a blocking thread when the case is large.
    pub(crate) fn forecast(
        &self,
        model: &Model,
        case: &Case,
        version: u64,
        as_of: NaiveDate,
        metrics: &Metrics,
    ) -> pf_core::Result<Forecast> {
        forecast_locked(&mut self.lock(), model, case, version, as_of, metrics)
    }
}

/// Signals dated up to `as_of` (and the term end): what a full forecast filters.
fn signals_until(case: &Case, as_of: NaiveDate) -> usize {
    let until = as_of.min(case.term_end);
    until
        .checked_add_days(Days::new(1))
        .map_or(case.signal_count(), |d| case.first_index_on_or_after(d))
}

fn count(metrics: &Metrics, kind: &std::sync::atomic::AtomicU64, signals: usize) {
    kind.fetch_add(1, Ordering::Relaxed);
    metrics
        .forecast_signals_filtered
        .fetch_add(signals as u64, Ordering::Relaxed);
}

fn forecast_locked(
    g: &mut Inner,
    model: &Model,
    case: &Case,
    version: u64,
    as_of: NaiveDate,
    metrics: &Metrics,
) -> pf_core::Result<Forecast> {
    let n = case.signal_count();
    let full = |metrics: &Metrics| {
        count(metrics, &metrics.checkpoint_full, signals_until(case, as_of));
        model.forecast(case, as_of)
    };
    match g.plan(version) {
        Plan::Hit => count(metrics, &metrics.checkpoint_hits, 0),
        Plan::Full => return full(metrics),
        Plan::Advance(first, _) => {
            // The checkpoints read the signals from `first` on in place: no copy of them, nor of the case.
            let (held, cp) = g.held.as_mut().expect("planned on held checkpoints");
            match cp.append(model, case, first) {
                Ok(()) => {
                    *held = version;
                    count(metrics, &metrics.checkpoint_advances, n - first.min(n));
                }
                Err(_) => {
                    g.held = None;
                    return full(metrics);
                }
            }
        }
        Plan::Rebuild => match Checkpoints::new(model, case) {
            Ok(cp) => {
                g.held = Some((version, cp));
                count(metrics, &metrics.checkpoint_rebuilds, n);
            }
            Err(_) => {
                g.held = None;
                return full(metrics);
            }
        },
    }
    while g.changes.front().is_some_and(|c| c.version <= version) {
        g.changes.pop_front();
    }
    let (_, cp) = g.held.as_ref().expect("made above");
    match cp.forecast(model, case, as_of) {
        Ok(f) => Ok(f),
        // The full forecast's answer (its error) is the reply.
        Err(_) => full(metrics),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(version: u64, first_changed: usize, tail: bool) -> Change {
        Change {
            version,
            first_changed,
            tail,
        }
    }

    #[test]
    fn plans_follow_the_recorded_versions() {
        let model = Model::default_model();
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let case = Case::new("c", "USA", "PRK", d("2017-01-20"), d("2021-01-20")).unwrap();
        let mut g = Inner::default();
        assert_eq!(g.plan(1), Plan::Rebuild);
        g.held = Some((3, Checkpoints::new(&model, &case).unwrap()));
        assert_eq!(g.plan(3), Plan::Hit);
        assert_eq!(g.plan(2), Plan::Full);
        assert_eq!(g.plan(4), Plan::Rebuild, "no change recorded");
        g.changes
            .extend([change(4, 10, true), change(5, 7, false), change(6, 9, true)]);
        assert_eq!(g.plan(4), Plan::Advance(10, true));
        assert_eq!(g.plan(5), Plan::Advance(7, false));
        assert_eq!(g.plan(6), Plan::Advance(7, false));
        assert_eq!(g.plan(7), Plan::Rebuild, "version 7 not recorded");
        g.changes = [change(4, 10, true), change(6, 9, true)].into();
        assert_eq!(g.plan(4), Plan::Advance(10, true));
        assert_eq!(g.plan(6), Plan::Rebuild, "version 5 missing");
    }
}
