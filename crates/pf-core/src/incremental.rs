//! Incremental forecasts: a case's filter checkpoints, so that an append costs the new signals, not the whole
//! history (issue 14).
//!
//! [`Checkpoints`] holds, for one case under one model, the filter's state after the case's last signal and
//! after every [`CHECKPOINT_EVERY`]-th signal or so before it (at most [`MAX_CHECKPOINTS`]: past that, every
//! other one goes and the spacing doubles), each taken at the end of a day (all of that day's signals applied):
//! the state vector, its log-likelihood and, for a v2 model, the inputs' tracker (pressure stock and the other
//! decayed counts) and the switch day of `leader_may_leave`.
//!
//! - [`Checkpoints::append`] after signals were added to (or removed from) the case: it drops the checkpoints
//!   on or after the first changed day and filters on from the last one before it. In date order that is the
//!   new signals only (a checkpoint is also kept at the end of the day before the last signal's, so signals
//!   added on that day cost that day's signals); out of order, the signals from the nearest earlier checkpoint
//!   on.
//! - [`Checkpoints::forecast`] at any as-of date: from the last checkpoint on or before it, the signals after
//!   the checkpoint up to the as-of date, then the forecast to the term end as [`Model::forecast`] makes it.
//!
//! The checkpoints hold no copy of the signals: both calls take the case, check that it holds as many signals
//! as the checkpoints last saw, and read the signals they need in place ([`Case::iter_signals_from`]: no copy,
//! not even of the new ones).
//!
//! Checkpoints are a cache, never the source of truth: they are keyed to the model's hash and the case's
//! terms, [`Checkpoints::append`] starts again from scratch for another model or other terms, and
//! [`Checkpoints::forecast`] refuses another model. Parameter draws are not checkpointed. The tests check them
//! against full recomputations ([`Model::forecast`]) to 1e-12 after random appends in random date orders.
//!
//! # Examples
//! ```
//! use chrono::NaiveDate;
//! use pf_core::incremental::Checkpoints;
//! use pf_core::{Case, Model, Signal};
//!
//! let model = Model::default_model();
//! let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
//! let mut case = Case::new("usa-prk", "USA", "PRK", d("2017-01-20"), d("2021-01-20")).unwrap();
//! let mut cp = Checkpoints::new(&model, &case).unwrap();
//! let new = [Signal::new("summit_held", d("2018-06-12"))];
//! let first = case.first_index_on_or_after(d("2018-06-12"));
//! case.append(new, &model).unwrap();
//! cp.append(&model, &case, first).unwrap();
//! let f = cp.forecast(&model, &case, d("2018-10-31")).unwrap();
//! let full = model.forecast(&case, d("2018-10-31")).unwrap();
//! assert!((f.probabilities[0] - full.probabilities[0]).abs() < 1e-12);
//! ```

use chrono::NaiveDate;

use crate::case::Case;
use crate::error::{Error, Result};
use crate::inference::{Forecast, Obs, day};
use crate::model::Model;
use crate::signal::{Signal, Text};
use crate::v2::filter::{self as f2, Span, State, Walker};
use crate::v2::spec::Fate;
use crate::v2::{FilteredState, ModelV2, Terms};

/// Signals between two checkpoints, at first.
pub const CHECKPOINT_EVERY: usize = 1024;

/// Checkpoints kept at most (beyond, every other one goes and the spacing doubles).
pub const MAX_CHECKPOINTS: usize = 64;

/// A filter state after all the signals of one day.
#[derive(Debug, Clone)]
struct Point {
    /// The day of the last signal applied.
    day: i64,
    /// Index of the first signal (in the case's order) not applied.
    next: usize,
    state: Snap,
}

#[derive(Debug, Clone)]
enum Snap {
    /// v1: the filter state and the number of signals used.
    V1(crate::inference::FilterState, usize),
    /// v2: the joint state (with the inputs' tracker) and the day of the last input event its tracker took.
    V2(Box<State>, i64),
}

/// A case's filter checkpoints under one model: a cache for incremental forecasts (module docs).
#[derive(Debug, Clone)]
pub struct Checkpoints {
    model_hash: String,
    case: String,
    terms: Terms,
    /// The number of signals of the case these checkpoints saw.
    signals: usize,
    /// Sorted by day; the last one is after the last signal the filter used.
    points: Vec<Point>,
    every: usize,
}

impl Checkpoints {
    /// Checkpoints of `case` under `model`: one full run of the filter.
    ///
    /// # Errors
    /// As [`Model::forecast`] for a signal type the model does not know or a fate signal it cannot use.
    pub fn new(model: &Model, case: &Case) -> Result<Checkpoints> {
        let mut cp = Checkpoints {
            model_hash: model.model_id().hash,
            case: case.id.clone(),
            terms: Terms::of_case(case),
            signals: case.signal_count(),
            points: Vec::new(),
            every: CHECKPOINT_EVERY,
        };
        // Every signal is checked, as `Model::observations` checks them.
        check(model, &cp.terms, || case.iter_signals())?;
        cp.walk(model, case)?;
        Ok(cp)
    }

    /// The checkpoints after `case` changed from index `first_changed` of its signals on (the signals before
    /// it are the ones these checkpoints saw): [`Case::first_index_on_or_after`] the earliest date appended or
    /// removed. Filters from the last checkpoint before the first changed day; starts again from scratch for
    /// another model or a case with other terms.
    ///
    /// # Errors
    /// As [`Checkpoints::new`] for the new signals (the checkpoints are then left as they were);
    /// [`Error::InvalidArgument`] when `first_changed` is past the signals these checkpoints or the case hold.
    pub fn append(&mut self, model: &Model, case: &Case, first_changed: usize) -> Result<()> {
        if model.model_id().hash != self.model_hash
            || case.id != self.case
            || Terms::of_case(case) != self.terms
        {
            *self = Checkpoints::new(model, case)?;
            return Ok(());
        }
        let n = case.signal_count();
        if first_changed > self.signals || first_changed > n {
            return Err(Error::argument(
                "first_changed",
                format!(
                    "an index of the case's signals up to {} (the signals these checkpoints saw)",
                    self.signals.min(n)
                ),
                first_changed,
            ));
        }
        // Only the signals from `first_changed` on are read, in place.
        check(model, &self.terms, || case.iter_signals_from(first_changed))?;
        // The first day whose signals changed: that of the first signal from `first_changed` on, or of the first
        // one the checkpoints applied from there (gone when signals were removed).
        let applied_from = self.points.iter().find(|p| p.next > first_changed).map(|p| p.day);
        let first = case.iter_signals_from(first_changed).next().map(|s| day(s.date));
        let changed = [first, applied_from].into_iter().flatten().min();
        if let Some(d) = changed {
            let keep = self
                .points
                .partition_point(|p| p.day < d && p.next <= first_changed);
            self.points.truncate(keep);
        }
        self.signals = n;
        self.walk(model, case)
    }

    /// The forecast at `as_of`, as [`Model::forecast`] gives it for `case`, the case these checkpoints follow.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a model other than the checkpoints' (make new ones) or a case with another
    /// id, terms or number of signals (call [`Checkpoints::append`] first); as [`Model::forecast`] for signals of
    /// probability 0.
    pub fn forecast(&self, model: &Model, case: &Case, as_of: NaiveDate) -> Result<Forecast> {
        let id = model.model_id();
        if id.hash != self.model_hash {
            return Err(Error::argument(
                "model",
                format!(
                    "the model these checkpoints were made with (hash {})",
                    self.model_hash
                ),
                format!("{} (hash {}): make new checkpoints for it", id.name, id.hash),
            ));
        }
        if case.id != self.case || Terms::of_case(case) != self.terms || case.signal_count() != self.signals {
            return Err(Error::argument(
                "case",
                format!(
                    "the case these checkpoints follow ({} with {} signals)",
                    self.case, self.signals
                ),
                format!(
                    "{} with {} signals and other terms or signals: call append first",
                    case.id,
                    case.signal_count()
                ),
            ));
        }
        let until = day(as_of);
        match model.as_v2() {
            None => self.forecast_v1(model, case, as_of, until),
            Some(m) => self.forecast_v2(m, case, as_of, until),
        }
    }

    /// Number of checkpoints held.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Whether none is held (a case without signals the filter uses).
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// The last checkpoint on or before day `d`.
    fn point_before(&self, d: i64) -> Option<&Point> {
        let n = self.points.partition_point(|p| p.day <= d);
        n.checked_sub(1).map(|i| &self.points[i])
    }

    /// Record the checkpoint after a day: every `every` signals, and at the end (`last`) with the one of the day
    /// before (`prev`), so that signals added on the last day start from there.
    fn record(&mut self, point: impl FnOnce() -> Point, prev: &mut Option<Point>, next: usize, last: bool) {
        let since = self.points.last().map_or(0, |p| p.next);
        if last {
            if let Some(p) = prev.take()
                && p.next > since
            {
                self.points.push(p);
            }
        } else if next < since + self.every {
            return;
        }
        if self.points.last().is_some_and(|p| p.next >= next) {
            return;
        }
        self.points.push(point());
        if self.points.len() > MAX_CHECKPOINTS {
            // Keep the last two and every other one before them.
            let tail = self.points.split_off(self.points.len() - 2);
            let mut i = 0;
            self.points.retain(|_| {
                i += 1;
                i % 2 == 0
            });
            self.points.extend(tail);
            self.every *= 2;
        }
    }

    /// After the day whose signals end at `obs[i]` (`next` among the case's): [`Checkpoints::record`] the
    /// day's `point`, made only when it is kept, and kept as `prev` only when the next day is the last (the one
    /// time `record` reads it): a state is cloned per checkpoint, not per day.
    fn record_day(
        &mut self,
        obs: &[Obs],
        i: usize,
        point: &impl Fn() -> Point,
        prev: &mut Option<Point>,
        next: usize,
    ) {
        let last = i == obs.len();
        self.record(point, prev, next, last);
        if !last && obs.last().map(|o| o.day) == Some(obs[i].day) {
            *prev = Some(point());
        }
    }

    /// Filter from the last checkpoint to the end of the signals, recording checkpoints.
    fn walk(&mut self, model: &Model, case: &Case) -> Result<()> {
        match model.as_v2() {
            None => self.walk_v1(model, case),
            Some(m) => self.walk_v2(m, case),
        }
    }

    fn walk_v1(&mut self, model: &Model, case: &Case) -> Result<()> {
        let (start, t) = (day(self.terms.start), day(self.terms.term_end));
        let (mut st, mut used, from) = match self.points.last() {
            Some(Point {
                state: Snap::V1(st, used),
                next,
                ..
            }) => (st.clone(), *used, *next),
            _ => (crate::inference::FilterState::new(model, start), 0, 0),
        };
        // As `inference::run`: signals up to the term end, in order; neutral ones only counted.
        let obs = resolve(
            case.iter_signals_from(from).take_while(|s| day(s.date) <= t),
            |ty| model.type_index(ty),
        )?;
        let mut prev = None;
        let mut i = 0;
        while i < obs.len() {
            let d = obs[i].day;
            while i < obs.len() && obs[i].day == d {
                let o = obs[i];
                if !model.emissions[o.ty].neutral {
                    st.propagate(model, o.day, t);
                    st.observe(model, &o);
                }
                used += 1;
                i += 1;
            }
            let point = || Point {
                day: d,
                next: from + i,
                state: Snap::V1(st.clone(), used),
            };
            self.record_day(&obs, i, &point, &mut prev, from + i);
        }
        Ok(())
    }

    fn forecast_v1(&self, model: &Model, case: &Case, as_of: NaiveDate, until: i64) -> Result<Forecast> {
        let (start, t) = (day(self.terms.start), day(self.terms.term_end));
        // As `Model::forecast`: the signals dated up to the as-of date (and the term end), the state on the as-of
        // date (clamped to the start and the term end).
        let last = until.min(t);
        let (mut st, mut used, from) = match self.point_before(last) {
            Some(Point {
                state: Snap::V1(st, used),
                next,
                ..
            }) => (st.clone(), *used, *next),
            _ => (crate::inference::FilterState::new(model, start), 0, 0),
        };
        for o in &resolve(
            case.iter_signals_from(from).take_while(|s| day(s.date) <= last),
            |ty| model.type_index(ty),
        )? {
            if !model.emissions[o.ty].neutral {
                st.propagate(model, o.day, t);
                st.observe(model, o);
            }
            used += 1;
        }
        st.propagate(model, until.max(start), t);
        Ok(Forecast {
            case: self.case.clone(),
            as_of,
            term_end: self.terms.term_end,
            outcomes: model.outcomes().to_vec(),
            probabilities: st.outcome_probabilities(model, t),
            regimes: model.regimes().to_vec(),
            regime_probabilities: st.alpha(),
            log_likelihood: st.loglik(),
            signals_used: used,
            intervals: None,
            model: Some(model.model_id()),
        })
    }

    /// A walker over the span resuming from checkpoint `p` (or the start), with the input events dated after
    /// the ones its tracker took and up to `until`: the walker, the state, the signals from the first one that
    /// feeds the walker or is to be applied, resolved (`obs`), the index of the first of them among the case's
    /// signals, the index in `obs` of the first to apply, and the day of the last input event taken.
    fn resume_v2<'m>(
        &self,
        m: &'m ModelV2,
        case: &Case,
        span: Span,
        p: Option<&Point>,
        until: i64,
    ) -> Result<(Walker<'m>, State, Vec<Obs>, usize, usize, i64)> {
        let mut w = Walker::new(m, span);
        let first = case.first_index_on_or_after(crate::inference::date_of(span.start));
        let (mut st, next, through) = match p {
            Some(Point {
                state: Snap::V2(st, through),
                next,
                ..
            }) => ((**st).clone(), *next, *through),
            _ => (w.start(), first, i64::MIN),
        };
        // Only the signals from `lo` on are read, in place: those up to `next` (applied at the checkpoint, whose
        // input events the tracker may not have taken) and on to the last dated up to `until`.
        let lo = case
            .first_index_on_or_after(crate::inference::date_of(through.max(span.start - 1) + 1))
            .min(next);
        let limit = until.min(span.last);
        let obs = resolve(
            case.iter_signals_from(lo)
                .enumerate()
                .take_while(|(i, s)| lo + i < next || day(s.date) <= limit)
                .map(|(_, s)| s),
            |ty| m.type_index(ty),
        )?;
        // The input events the tracker has not taken: those dated after `through`.
        let cut = obs.partition_point(|o| o.day <= through);
        w.set_inputs(&obs[cut..]);
        st.rebase_inputs();
        Ok((w, st, obs, lo, next - lo, through))
    }

    fn walk_v2(&mut self, m: &ModelV2, case: &Case) -> Result<()> {
        let span = Span::new(m, &self.terms)?;
        let p = self.points.last().cloned();
        let (mut w, mut st, obs, base, mut i, mut through) =
            self.resume_v2(m, case, span, p.as_ref(), span.last)?;
        st.input_limit = span.last;
        let mut group = Vec::new();
        let mut prev = None;
        while i < obs.len() {
            let d = obs[i].day;
            let j = i + obs[i..].partition_point(|o| o.day == d);
            group.clear();
            group.extend_from_slice(&obs[i..j]);
            f2::sort_events(m, &mut group);
            // A signal of probability 0: no checkpoint from here on (the day before was recorded, or not, when
            // it was walked); forecasts after it fail as full ones do.
            if f2::apply_day(&mut w, &mut st, d, &group).is_err() {
                return Ok(());
            }
            i = j;
            through = through.max(w.consumed_through(&st));
            let point = || Point {
                day: d,
                next: base + i,
                state: Snap::V2(Box::new(st.clone()), through),
            };
            self.record_day(&obs, i, &point, &mut prev, base + i);
        }
        Ok(())
    }

    fn forecast_v2(&self, m: &ModelV2, case: &Case, as_of: NaiveDate, until: i64) -> Result<Forecast> {
        let span = Span::new(m, &self.terms)?;
        // As `v2::forecast`: the signals dated from the start up to the as-of date and before the term end, the
        // state on the as-of date clamped to the span, then the forecast with the inputs of those signals.
        let last = until.clamp(span.start, span.last);
        let p = self.point_before(until.min(span.last));
        let (mut w, mut st, obs, _, mut i, _) = self.resume_v2(m, case, span, p, until)?;
        st.input_limit = last;
        let mut group = Vec::new();
        while i < obs.len() && obs[i].day <= until.min(span.last) {
            let d = obs[i].day;
            let j = i + obs[i..].partition_point(|o| o.day == d);
            group.clear();
            group.extend_from_slice(&obs[i..j]);
            f2::sort_events(m, &mut group);
            f2::apply_day(&mut w, &mut st, d, &group)?;
            i = j;
        }
        w.advance(&mut st, last, false);
        let mut fut = st.clone();
        fut.input_limit = i64::MAX;
        let outcomes = f2::forecast_from(&mut w, &mut fut);
        let fs = FilteredState::of(&st, m.k);
        Ok(crate::v2::to_forecast(
            m,
            &self.case,
            &self.terms,
            as_of,
            outcomes,
            &fs,
        ))
    }
}

/// Check signals as a forecast checks them, with the same error first: every type against the model
/// (`inference::to_obs`), then the fate signals against the terms. `signals` gives the signals (read twice).
fn check<'a, I: Iterator<Item = &'a Signal>>(
    model: &Model,
    terms: &Terms,
    signals: impl Fn() -> I,
) -> Result<()> {
    let mut types = Types::default();
    for s in signals() {
        types.index(s, |t| model.type_index(t))?;
    }
    if let Some(m) = model.as_v2()
        && !terms.reelection_eligible
    {
        for s in signals() {
            if m.types[types.index(s, |t| model.type_index(t))?].reveals == Some(Fate::Stays) {
                return Err(Error::signal(
                    "type",
                    "no fate signal saying the leader stays, since the leader is not eligible for re-election",
                    &s.signal_type,
                )
                .with_id(s.id.as_deref()));
            }
        }
    }
    Ok(())
}

/// Signals resolved by the type index `lookup` (a v1 model's, as `inference::to_obs` resolves them, or a v2
/// model's, checked when they were appended).
fn resolve<'a>(
    signals: impl Iterator<Item = &'a Signal>,
    lookup: impl Fn(&str) -> Result<usize>,
) -> Result<Vec<Obs>> {
    let mut types = Types::default();
    signals
        .map(|s| {
            Ok(Obs {
                day: day(s.date),
                ty: types.index(s, &lookup)?,
                rho: s.reliability,
                w: s.weight,
            })
        })
        .collect()
}

/// The type indices of the types met so far in one pass over signals: a case's signals mostly share a handful
/// of types, and types are interned ([`Text::interned`]), so a pointer comparison with the few names already
/// looked up answers most signals without hashing the name again (the same index: the same name).
#[derive(Default)]
struct Types {
    seen: Vec<(Text, usize)>,
}

impl Types {
    /// Names remembered at most (a linear scan must stay cheaper than the lookup).
    const MAX: usize = 16;

    /// The index of `s`'s type, from the names met so far or from `lookup` (whose error is the answer).
    fn index(&mut self, s: &Signal, lookup: impl Fn(&str) -> Result<usize>) -> Result<usize> {
        if let Some((_, i)) = self.seen.iter().find(|(t, _)| Text::ptr_eq(t, &s.signal_type)) {
            return Ok(*i);
        }
        let i = lookup(&s.signal_type)?;
        if self.seen.len() < Types::MAX {
            self.seen.push((s.signal_type.clone(), i));
        }
        Ok(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The memo of type indices answers as the model's lookup does, for interned names, names with a block of
    /// their own (equal text, another pointer) and unknown names (the lookup's error).
    #[test]
    fn type_memo_answers_as_the_lookup() {
        let model = Model::default_model();
        let m = model.as_v2().expect("the default model is v2");
        let d = NaiveDate::from_ymd_opt(2018, 1, 1).unwrap();
        let mut own = Signal::new("talks_held", d);
        own.signal_type = Text::from(Box::<str>::from("talks_held"));
        let signals = [
            Signal::new("talks_held", d),
            Signal::new("sanctions_tightened", d),
            own,
            Signal::new("talks_held", d),
            Signal::new("summit_held", d),
        ];
        let mut types = Types::default();
        for s in &signals {
            assert_eq!(
                types.index(s, |t| m.type_index(t)).unwrap(),
                m.type_index(&s.signal_type).unwrap()
            );
        }
        let unknown = Signal::new("no_such_type", d);
        assert_eq!(
            types
                .index(&unknown, |t| m.type_index(t))
                .unwrap_err()
                .to_string(),
            m.type_index("no_such_type").unwrap_err().to_string()
        );
    }
}
