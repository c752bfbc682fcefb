//! The v2 joint filter over (F, regime) (MODEL.md, "Hidden regimes and their dynamics", "Deals are public",
//! "The leader's fate", "Filtering and forecasting").
//!
//! # Formula
//! Days are whole; the state on day `d` is the joint distribution over `F ∈ {stays, leaves}` and the regime,
//! after the step into `d` and the signals dated `d`. The step from `d` to `d + 1` uses the bucket of `T - d`
//! days left and the inputs `x(d)`:
//!
//! ```text
//! lambda_ij(d) = base_ij(bucket) · exp(clip(Σ_k beta_ijk x_k(d)))
//! L_i = Σ_j lambda_ij;   P_ii = exp(-L_i);   P_ij = -expm1(-L_i) · lambda_ij / L_i   (identity row if L_i = 0)
//! ```
//!
//! Inputs, with `g(d) = start + 7 ⌊(d - start) / 7⌋` the day's grid point and, for each input fed by action or
//! context signals `i` of reliability `rho_i` and weight `w_i` dated `t_i <= d`,
//!
//! ```text
//! c_k(d)  = Σ_i rho_i w_i 2^(-max(0, g(d) - t_i) / h_k)          (decayed to the grid point; a signal of this
//!                                                                  week counts in full from its date on)
//! pressure           = ln(1 + c_p) / (1 + kappa ln(1 + c_c)) · exp(-(g(d) - start) / tau)
//! circumvention      = ln(1 + c_c),  reciprocity = ln(1 + c_r),  surrender_demanded = ln(1 + c_s)
//! leader_may_leave   = 1 - P(stays) before the switch day, then 0 in the stays half and 1 in the leaves half
//! ```
//!
//! The switch day is the election date, or the date of the first fate signal if earlier. Quiet stretches
//! (constant inputs and bucket) share cached binary matrix powers.
//!
//! Deals are public: on a day without a deal signal the step uses `Q`, which is `P` with the transitions into
//! the deal regime removed, and the lost mass enters the log-likelihood. On a day with a deal signal the step uses
//! `P`; a deal signal of reliability 1 is the observation "in the deal regime" (its probability enters the
//! log-likelihood), one with reliability `rho < 1` revises `P(deal) <- max(P(deal), rho)` by Jeffrey's rule. A
//! repudiation moves `rho` times the deal regime's mass to the fallback regime. A fate signal of reliability 1
//! is the observation of F; with `rho < 1`, Jeffrey's rule on F. An evidence signal multiplies by
//! `(rho q_s(j) + (1 - rho) mean_k q_s(k))^w`. Several signals on one day are applied in a fixed order
//! (evidence, deal, repudiation, fate; then type, reliability, weight), so their arrival order never matters.
//!
//! The forecast runs the filtered state on with `P` (no "no deal" evidence in the future) and the future inputs
//! to day `T - 1`: a deal must be entered before the term end, so signals dated `T` or later are never used.
//! The deal regime maps to `deal`; any other regime to `stalemate` in the stays half, `wait_out` in the leaves
//! half.

use chrono::NaiveDate;

use crate::error::{Error, Result};
use crate::inference::{date_of, day};
use crate::linalg;
use crate::signal::Signal;
use crate::v2::Terms;
use crate::v2::spec::{Fate, Input, ModelV2, N_INPUTS, Role};

/// Maximum cached binary power level (`2^15` days per product; longer runs repeat the top level).
const MAX_LEVELS: usize = 16;

/// Outcome order of v2 forecasts.
pub const OUTCOMES: [&str; 3] = ["deal", "stalemate", "wait_out"];

/// One signal resolved against a v2 model: the engine's resolved signal, so that resolved observations
/// ([`crate::Model::observations`]) are filtered in place.
pub(crate) use crate::inference::Obs as Ev;

/// Rank of a role within a day (evidence, deal, repudiation, fate; inputs do not act on the state).
#[inline]
fn rank(model: &ModelV2, e: &Ev) -> u8 {
    model.types[e.ty].rank
}

/// The filter's canonical order of events.
#[inline]
fn event_order(model: &ModelV2, a: &Ev, b: &Ev) -> std::cmp::Ordering {
    a.day
        .cmp(&b.day)
        .then_with(|| rank(model, a).cmp(&rank(model, b)))
        .then_with(|| a.ty.cmp(&b.ty))
        .then_with(|| a.rho.total_cmp(&b.rho))
        .then_with(|| a.w.total_cmp(&b.w))
}

/// Whether events are in the filter's canonical order.
pub(crate) fn is_sorted(model: &ModelV2, evs: &[Ev]) -> bool {
    evs.is_sorted_by(|a, b| event_order(model, a, b) != std::cmp::Ordering::Greater)
}

/// Sort events into the filter's canonical order.
pub(crate) fn sort_events(model: &ModelV2, evs: &mut [Ev]) {
    // A case's signals come in date order and mostly in this order already: check before sorting.
    if !is_sorted(model, evs) {
        evs.sort_by(|a, b| event_order(model, a, b));
    }
}

/// The case-level numbers of the filter.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Span {
    pub start: i64,
    /// The term end `T`.
    pub t: i64,
    /// The last day a deal can be entered: `T - 1` (but never before the start).
    pub last: i64,
    pub election: i64,
    /// `P(F = stays)` at the start: `p_inc` for an eligible leader, 0 otherwise.
    pub pi_stays: f64,
}

impl Span {
    pub(crate) fn new(model: &ModelV2, terms: &Terms) -> Result<Span> {
        if terms.term_end <= terms.start {
            return Err(Error::argument(
                "term_end",
                format!("a date after the start {}", terms.start),
                terms.term_end,
            ));
        }
        let (start, t) = (day(terms.start), day(terms.term_end));
        Ok(Span {
            start,
            t,
            last: (t - 1).max(start),
            election: day(terms.election_date),
            pi_stays: if terms.reelection_eligible {
                model.p_inc
            } else {
                0.0
            },
        })
    }
}

/// Resolve signals against the model: types looked up, fate signals checked against eligibility, signals
/// dated after `until` (or on or after the term end) left out. Sorted in the filter's order.
pub(crate) fn resolve(model: &ModelV2, span: &Span, signals: &[Signal], until: i64) -> Result<Vec<Ev>> {
    let mut out = Vec::with_capacity(signals.len());
    for s in signals {
        let ty = model.type_index(&s.signal_type)?;
        let d = day(s.date);
        if span.pi_stays == 0.0 && model.types[ty].reveals == Some(Fate::Stays) {
            return Err(Error::signal(
                "type",
                "no fate signal saying the leader stays, since the leader is not eligible for re-election",
                &s.signal_type,
            )
            .with_id(s.id.as_deref()));
        }
        if d > until || d > span.last || d < span.start {
            continue;
        }
        out.push(Ev {
            day: d,
            ty,
            rho: s.reliability,
            w: s.weight,
        });
    }
    sort_events(model, &mut out);
    Ok(out)
}

/// Cached daily matrices for one (bucket, inputs) key, with lazily grown binary powers.
#[derive(Debug, Clone)]
struct Mats {
    /// Binary powers of `P` (free) and `Q` (no deal entered), concatenated levels.
    p: Vec<f64>,
    q: Vec<f64>,
}

/// Decayed input counts at a grid point plus this week's signals in full.
#[derive(Debug, Clone)]
struct Tracker {
    g: i64,
    base: [f64; 4],
    recent: Vec<(i64, usize, f64)>,
}

/// The input vectors of both halves for one key `(grid point, cursor, switch day, before the switch)`, and
/// whether any decayed count is non-zero: everything the inputs depend on (the tracker changes only when its
/// grid point or cursor moves).
#[derive(Debug, Clone, Copy)]
struct InputsAt {
    key: (i64, usize, i64, bool),
    x0: [f64; N_INPUTS],
    x1: [f64; N_INPUTS],
    nonzero: bool,
}

/// The joint filter state. While the two halves share their dynamics and no fate signal was seen, they stay
/// proportional: the state is kept as one regime vector `a` and the weights `f` of the halves ("merged").
#[derive(Debug, Clone)]
pub(crate) struct State {
    pub day: i64,
    merged: bool,
    /// Stays half (or the shared vector when merged).
    a: Vec<f64>,
    /// Leaves half (unused when merged).
    b: Vec<f64>,
    /// Weights of the halves when merged.
    f: [f64; 2],
    log_likelihood: f64,
    pending: u32,
    /// Index of the next input event to add to the tracker.
    cursor: usize,
    tracker: Tracker,
    /// The switch day of `leader_may_leave`: the election, or the day of the first fate signal seen.
    switch: i64,
    /// The input vectors of the last step that had inputs, reused while their key is the same.
    inputs: Option<InputsAt>,
    /// Input events dated after this day are not used (the as-of date while filtering; `i64::MAX` when a
    /// scenario's future actions count).
    pub input_limit: i64,
    /// Signals applied.
    pub used: usize,
}

/// The filter over one case: the model, the span, the input events and the matrix cache.
#[derive(Debug)]
pub(crate) struct Walker<'m> {
    pub model: &'m ModelV2,
    pub span: Span,
    /// Action and context events feeding an input, sorted by day: `(day, input index, rho · w)`.
    inputs: Vec<(i64, usize, f64)>,
    /// Two scratch matrix sets for the input-dependent buckets (one per half), rebuilt when their key changes:
    /// inputs decay week by week, so a key rarely comes back and a cache would not pay.
    mats: [Mats; 2],
    keys: [Option<(usize, [u64; N_INPUTS])>; 2],
    /// Scratch for the rates and for squaring.
    lam: Vec<f64>,
    sq: Vec<f64>,
    tmp: Vec<f64>,
    /// Reuse a state's input vectors while their key is unchanged (off only in the tests that check the reuse
    /// against recomputing them every step).
    reuse_inputs: bool,
    /// Runs of input-dependent matrices up to this many days step with the daily matrix instead of its
    /// binary powers ([`SHORT_RUN`]; 0 in the tests that check it against the powers).
    short_run: u64,
}

/// Runs of input-dependent matrices up to this many days step day by day: `n` vector-matrix products cost less
/// than the squarings their powers need (`k³` each), and such matrices rarely serve a second run.
const SHORT_RUN: u64 = 8;

impl State {
    /// The joint distribution `[stays half (k), leaves half (k)]`, normalised.
    pub fn joint(&self) -> Vec<f64> {
        let k = self.a.len();
        let mut v = Vec::with_capacity(2 * k);
        if self.merged {
            v.extend(self.a.iter().map(|x| x * self.f[0]));
            v.extend(self.a.iter().map(|x| x * self.f[1]));
        } else {
            v.extend_from_slice(&self.a);
            v.extend_from_slice(&self.b);
        }
        let s: f64 = v.iter().sum();
        v.iter_mut().for_each(|x| *x /= s);
        v
    }

    /// Replace the distribution by `joint` (`[stays half, leaves half]`, any scale) and reset the
    /// log-likelihood to 0, keeping the day, inputs and switch day: learning's backward runs
    /// ([`crate::v2::learn`]) continue the filter from one (F, regime) at a time.
    pub(crate) fn set_joint(&mut self, joint: &[f64]) {
        let k = self.a.len();
        self.merged = false;
        self.a.copy_from_slice(&joint[..k]);
        self.b.clear();
        self.b.extend_from_slice(&joint[k..2 * k]);
        self.log_likelihood = 0.0;
        self.pending = 0;
    }

    fn total(&self) -> f64 {
        if self.merged {
            self.a.iter().sum::<f64>() * (self.f[0] + self.f[1])
        } else {
            self.a.iter().sum::<f64>() + self.b.iter().sum::<f64>()
        }
    }

    /// Log-likelihood of everything observed so far.
    pub fn log_likelihood(&self) -> f64 {
        self.log_likelihood + self.total().ln()
    }

    fn normalise(&mut self) {
        let c = self.total();
        let inv = 1.0 / c;
        self.a.iter_mut().for_each(|x| *x *= inv);
        if !self.merged {
            self.b.iter_mut().for_each(|x| *x *= inv);
        }
        self.log_likelihood += c.ln();
        self.pending = 0;
    }

    fn split(&mut self) {
        if self.merged {
            self.b = self.a.iter().map(|x| x * self.f[1]).collect();
            let f0 = self.f[0];
            self.a.iter_mut().for_each(|x| *x *= f0);
            self.merged = false;
        }
    }

    /// Apply `op` to each half that carries mass.
    fn each_half(&mut self, mut op: impl FnMut(&mut [f64])) {
        op(&mut self.a);
        if !self.merged {
            op(&mut self.b);
        }
    }

    /// Put all the mass on one (half, regime) cell (used by the sampler to read one row of the day's matrix).
    pub(crate) fn set_point(&mut self, half: usize, regime: usize) {
        self.split();
        self.a.iter_mut().for_each(|x| *x = 0.0);
        self.b.iter_mut().for_each(|x| *x = 0.0);
        if half == 0 {
            self.a[regime] = 1.0;
        } else {
            self.b[regime] = 1.0;
        }
    }

    /// One half of the joint state, unnormalised (0 stays, 1 leaves; after [`State::set_point`]).
    pub(crate) fn half(&self, h: usize) -> &[f64] {
        if h == 0 { &self.a } else { &self.b }
    }

    /// Mass in regime `j` summed over the halves.
    fn regime_mass(&self, j: usize) -> f64 {
        if self.merged {
            self.a[j] * (self.f[0] + self.f[1])
        } else {
            self.a[j] + self.b[j]
        }
    }

    /// Outcome probabilities `[deal, stalemate, wait_out]` of this state read at the term end.
    pub fn outcomes(&self, deal: Option<usize>) -> [f64; 3] {
        let j = self.joint();
        let k = j.len() / 2;
        let mut p = [0.0; 3];
        for h in 0..2 {
            for r in 0..k {
                let o = if Some(r) == deal { 0 } else { 1 + h };
                p[o] += j[h * k + r];
            }
        }
        let s: f64 = p.iter().sum();
        p.iter_mut().for_each(|x| *x /= s);
        p
    }
}

/// `ln(1 + c)` of the four decayed counts, combined into the input vector for one half.
#[inline]
fn input_vector(
    model: &ModelV2,
    span: &Span,
    tr: &Tracker,
    counts: [f64; 4],
    d: i64,
    switch: i64,
    half: usize,
) -> [f64; N_INPUTS] {
    let defs = &model.inputs;
    let mut x = [0.0; N_INPUTS];
    let l = |c: f64| if c == 0.0 { 0.0 } else { c.ln_1p() };
    let lc = l(counts[Input::Circumvention.index()]);
    let lp = l(counts[Input::Pressure.index()]);
    let pd = &defs[Input::Pressure.index()];
    if lp != 0.0 {
        x[Input::Pressure.index()] =
            lp / (1.0 + pd.kappa * lc) * (-((tr.g - span.start) as f64) * pd.inv_tau).exp();
    }
    x[Input::Circumvention.index()] = lc;
    x[Input::Reciprocity.index()] = l(counts[Input::Reciprocity.index()]);
    x[Input::SurrenderDemanded.index()] = l(counts[Input::SurrenderDemanded.index()]);
    if defs[Input::LeaderMayLeave.index()].present {
        x[Input::LeaderMayLeave.index()] = if d < switch {
            1.0 - span.pi_stays
        } else if half == 0 {
            0.0
        } else {
            1.0
        };
    }
    x
}

impl<'m> Walker<'m> {
    /// A walker over `span`, with the input events taken from `evs` (already resolved and sorted) and from
    /// `future` (hypothetical actions after the as-of date, sorted).
    pub(crate) fn new(model: &'m ModelV2, span: Span) -> Walker<'m> {
        Walker {
            model,
            span,
            inputs: Vec::new(),
            mats: [
                Mats {
                    p: Vec::new(),
                    q: Vec::new(),
                },
                Mats {
                    p: Vec::new(),
                    q: Vec::new(),
                },
            ],
            keys: [None, None],
            lam: vec![0.0; model.k * model.k],
            sq: vec![0.0; model.k * model.k],
            tmp: vec![0.0; model.k],
            reuse_inputs: true,
            short_run: SHORT_RUN,
        }
    }

    /// Set the input events: every action or context event of `evs` that feeds a defined input.
    pub(crate) fn set_inputs(&mut self, evs: &[Ev]) {
        self.inputs.clear();
        if !self.model.has_inputs {
            return;
        }
        for e in evs {
            if let Some(inp) = self.model.types[e.ty].feeds
                && self.model.inputs[inp.index()].present
            {
                self.inputs.push((e.day, inp.index(), e.rho * e.w));
            }
        }
        self.inputs.sort_by_key(|e| e.0);
    }

    /// The state at the start day, before any signal.
    pub(crate) fn start(&self) -> State {
        let k = self.model.k;
        State {
            day: self.span.start,
            merged: true,
            a: self.model.prior.clone(),
            b: vec![0.0; k],
            f: [self.span.pi_stays, 1.0 - self.span.pi_stays],
            log_likelihood: 0.0,
            pending: 0,
            cursor: 0,
            tracker: Tracker {
                g: self.span.start,
                base: [0.0; 4],
                recent: Vec::new(),
            },
            switch: self.span.election,
            inputs: None,
            input_limit: i64::MAX,
            used: 0,
        }
    }

    /// The daily `P` and `Q` of an input-dependent bucket for inputs `x`, built in scratch `slot` (returned).
    fn mats(&mut self, slot: usize, b: usize, x: &[f64; N_INPUTS]) -> usize {
        let key = (b, x.map(f64::to_bits));
        // Compared field by field: the derived comparison of the `Option` goes through `memcmp`.
        if let Some((kb, kx)) = &self.keys[slot]
            && *kb == key.0
            && kx.iter().zip(&key.1).all(|(p, q)| p == q)
        {
            return slot;
        }
        let m = self.model;
        let k = m.k;
        self.lam.iter_mut().for_each(|v| *v = 0.0);
        for h in &m.hazards {
            let mut eta = 0.0;
            for i in 0..N_INPUTS {
                eta += h.beta[i] * x[i];
            }
            let eta = eta.clamp(m.clip.0, m.clip.1);
            self.lam[h.from * k + h.to] = h.base[b] * eta.exp();
        }
        let mats = &mut self.mats[slot];
        mats.p.clear();
        mats.p.resize(k * k, 0.0);
        competing_risks_into(&self.lam, k, &mut mats.p);
        mats.q.clear();
        mats.q.extend_from_slice(&mats.p);
        if let Some(s) = m.deal {
            for i in 0..k {
                if i != s {
                    mats.q[i * k + s] = 0.0;
                }
            }
        }
        self.keys[slot] = Some(key);
        slot
    }

    /// Make sure matrix set `e` has `levels` binary powers of `P` (`free`) or `Q`, squaring in place.
    fn ensure_levels(&mut self, e: usize, free: bool, levels: usize) {
        let k = self.model.k;
        let kk = k * k;
        let mats = &mut self.mats[e];
        let pw = if free { &mut mats.p } else { &mut mats.q };
        let mut have = pw.len() / kk;
        while have < levels {
            let prev = &pw[(have - 1) * kk..have * kk];
            self.sq.iter_mut().for_each(|v| *v = 0.0);
            for i in 0..k {
                for l in 0..k {
                    let a = prev[i * k + l];
                    if a == 0.0 {
                        continue;
                    }
                    for j in 0..k {
                        self.sq[i * k + j] += a * prev[l * k + j];
                    }
                }
            }
            pw.extend_from_slice(&self.sq);
            have += 1;
        }
    }

    /// Advance `st` to day `to` (never past the last day), with `P` (`free`) or `Q` (no deal entered).
    pub(crate) fn advance(&mut self, st: &mut State, to: i64, free: bool) {
        let to = to.min(self.span.last);
        let m = self.model;
        let k = m.k;
        let leave_input = m.inputs[Input::LeaderMayLeave.index()].present;
        while st.day < to {
            let d = st.day;
            let b = m.bucket_for(self.span.t - d);
            // The run ends where the bucket changes.
            let mut end = to.min(self.span.t - m.buckets[b].min_left + 1);
            let (mut x0, mut x1) = ([0.0; N_INPUTS], [0.0; N_INPUTS]);
            if m.has_inputs && m.buckets[b].matrix.is_none() {
                // Inputs: bring the tracker to day d.
                let limit = st.input_limit;
                while st.cursor < self.inputs.len() && self.inputs[st.cursor].0 <= d.min(limit) {
                    let (t, i, a) = self.inputs[st.cursor];
                    st.tracker.recent.push((t, i, a));
                    st.cursor += 1;
                }
                let g = self.span.start + 7 * (d - self.span.start).div_euclid(7);
                if g > st.tracker.g {
                    for i in 0..4 {
                        let dec = m.inputs[i].decay;
                        st.tracker.base[i] *= (-(dec * (g - st.tracker.g) as f64)).exp();
                    }
                    // Signals dated on or before the new grid point join the decayed base; later ones (this
                    // week's) keep counting in full.
                    let tr = &mut st.tracker;
                    tr.recent.retain(|&(t, i, a)| {
                        if t <= g {
                            tr.base[i] += a * (-(m.inputs[i].decay * (g - t) as f64)).exp();
                            false
                        } else {
                            true
                        }
                    });
                    tr.g = g;
                }
                // The inputs depend on the tracker (which changes only with its grid point and cursor) and on
                // which side of the switch day `d` is: reuse them while those stay the same.
                let key = (st.tracker.g, st.cursor, st.switch, d < st.switch);
                let nonzero = match &st.inputs {
                    Some(c) if c.key == key && self.reuse_inputs => {
                        (x0, x1) = (c.x0, c.x1);
                        c.nonzero
                    }
                    _ => {
                        let mut counts = st.tracker.base;
                        for &(_, i, a) in &st.tracker.recent {
                            counts[i] += a;
                        }
                        x0 = input_vector(m, &self.span, &st.tracker, counts, d, st.switch, 0);
                        x1 = x0;
                        if leave_input && d >= st.switch {
                            // After the switch only leader_may_leave differs between the halves.
                            x1[Input::LeaderMayLeave.index()] = 1.0;
                        }
                        let nonzero = counts.iter().any(|c| *c != 0.0);
                        st.inputs = Some(InputsAt { key, x0, x1, nonzero });
                        nonzero
                    }
                };
                // The run also ends at the next input event, at the next grid point while any count is
                // non-zero, and at the switch day.
                if st.cursor < self.inputs.len() && self.inputs[st.cursor].0 <= limit {
                    end = end.min(self.inputs[st.cursor].0);
                }
                if nonzero {
                    end = end.min(g + 7);
                }
                if leave_input && d < st.switch {
                    end = end.min(st.switch);
                }
            }
            let n = (end - d) as u64;
            if let Some(sp) = &m.static_powers[b] {
                // Matrices that depend only on the bucket: the model's cached powers, shared by both halves.
                let pw = &sp[usize::from(free)];
                if st.merged {
                    linalg::apply_power(&mut st.a, &mut self.tmp, pw, n, k);
                } else {
                    for v in [&mut st.a, &mut st.b] {
                        if v.iter().any(|x| *x != 0.0) {
                            linalg::apply_power(v, &mut self.tmp, pw, n, k);
                        }
                    }
                }
                st.day = end;
                if !free {
                    st.pending += 1;
                    if st.pending >= 32 || n > 365 {
                        st.normalise();
                    }
                }
                continue;
            }
            let e0 = self.mats(0, b, &x0);
            let e1 = if x1 == x0 { e0 } else { self.mats(1, b, &x1) };
            if e1 != e0 {
                st.split();
            }
            if n == 1 && st.merged {
                // The common case of the batch path: one day, one shared vector, the daily matrix.
                let mats = &self.mats[e0];
                linalg::step(&mut st.a, if free { &mats.p } else { &mats.q }, k);
            } else if n <= self.short_run {
                // A short run (inputs change at least weekly while any count is non-zero): n products with the
                // daily matrix cost less than squaring it.
                for (half, e) in [(0usize, e0), (1, e1)] {
                    if half == 1 && st.merged {
                        break;
                    }
                    let mats = &self.mats[e];
                    let pw = if free { &mats.p } else { &mats.q };
                    let v = if half == 0 { &mut st.a } else { &mut st.b };
                    if !st.merged && v.iter().all(|x| *x == 0.0) {
                        continue;
                    }
                    for _ in 0..n {
                        linalg::step(v, pw, k);
                    }
                }
            } else {
                let levels = (64 - n.leading_zeros() as usize).clamp(1, MAX_LEVELS);
                for (half, e) in [(0usize, e0), (1, e1)] {
                    if half == 1 && st.merged {
                        break;
                    }
                    self.ensure_levels(e, free, levels);
                    let mats = &self.mats[e];
                    let pw = if free { &mats.p } else { &mats.q };
                    let v = if half == 0 { &mut st.a } else { &mut st.b };
                    if !st.merged && v.iter().all(|x| *x == 0.0) {
                        continue;
                    }
                    linalg::apply_power(v, &mut self.tmp, &pw[..levels * k * k], n, k);
                }
            }
            st.day = end;
            if !free {
                // "No deal today" removes at most the deal hazard's share a day: renormalise every 32 runs, or
                // after a long run.
                st.pending += 1;
                if st.pending >= 32 || n > 365 {
                    st.normalise();
                }
            }
        }
        if to > st.day {
            st.day = to;
        }
    }

    /// Apply one signal dated `st.day`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the signal has probability 0 given everything before it.
    pub(crate) fn observe(&mut self, st: &mut State, e: &Ev) -> Result<()> {
        let m = self.model;
        let t = &m.types[e.ty];
        match t.role {
            Role::Evidence => {
                let noise = (1.0 - e.rho) * t.mean;
                if e.w == 1.0 {
                    let mut c = 0.0;
                    st.each_half(|v| {
                        for (x, q) in v.iter_mut().zip(&t.q) {
                            *x *= e.rho * q + noise;
                            c += *x;
                        }
                    });
                    // `c` is the total up to the halves' weights, which stay fixed while merged.
                    st.pending += 1;
                    if st.pending >= 32 || c < 1e-100 {
                        st.normalise();
                    }
                } else {
                    // Weighted: in logs, so that large weights cannot underflow.
                    let l: Vec<f64> = t.q.iter().map(|q| e.w * (e.rho * q + noise).ln()).collect();
                    let mx = l.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                    st.each_half(|v| {
                        for (x, lj) in v.iter_mut().zip(&l) {
                            *x *= (lj - mx).exp();
                        }
                    });
                    st.log_likelihood += mx;
                    st.normalise();
                }
            }
            Role::Deal | Role::Action if t.repudiates => {
                if let Some(s) = m.deal {
                    let r = m.repudiate_to;
                    st.each_half(|v| {
                        let moved = e.rho * v[s];
                        v[s] -= moved;
                        v[r] += moved;
                    });
                }
            }
            Role::Deal => {
                if let Some(s) = m.deal {
                    if e.rho == 1.0 && st.day > self.span.start {
                        st.each_half(|v| {
                            for (j, x) in v.iter_mut().enumerate() {
                                if j != s {
                                    *x = 0.0;
                                }
                            }
                        });
                        if st.total() == 0.0 {
                            return Err(impossible(m, e));
                        }
                        st.normalise();
                    } else {
                        // Jeffrey's rule: P(deal) <- max(P(deal), rho), the rest scaled in proportion.
                        let z = st.total();
                        let sm = st.regime_mass(s);
                        if sm < e.rho * z {
                            let rest = (1.0 - e.rho) * z / (z - sm);
                            if sm > 0.0 {
                                let up = e.rho * z / sm;
                                st.each_half(|v| {
                                    for (j, x) in v.iter_mut().enumerate() {
                                        *x *= if j == s { up } else { rest };
                                    }
                                });
                            } else {
                                // No mass in the deal regime yet: each half gets rho times its own weight.
                                st.split();
                                let (wa, wb) = (st.a.iter().sum::<f64>(), st.b.iter().sum::<f64>());
                                for (v, wh) in [(&mut st.a, wa), (&mut st.b, wb)] {
                                    for x in v.iter_mut() {
                                        *x *= rest;
                                    }
                                    v[s] = e.rho * wh;
                                }
                            }
                        }
                    }
                }
            }
            Role::Fate => {
                let f = t.reveals.expect("validated: fate types reveal").index();
                st.split();
                if e.rho == 1.0 {
                    let other = if f == 0 { &mut st.b } else { &mut st.a };
                    other.iter_mut().for_each(|x| *x = 0.0);
                    if st.total() == 0.0 {
                        return Err(impossible(m, e));
                    }
                    st.normalise();
                } else {
                    let z = st.total();
                    let (mine, other) = if f == 0 {
                        (&mut st.a, &mut st.b)
                    } else {
                        (&mut st.b, &mut st.a)
                    };
                    let am: f64 = mine.iter().sum();
                    if am > 0.0 && am < e.rho * z {
                        let up = e.rho * z / am;
                        let down = (1.0 - e.rho) * z / (z - am);
                        mine.iter_mut().for_each(|x| *x *= up);
                        other.iter_mut().for_each(|x| *x *= down);
                    }
                }
                st.switch = st.switch.min(e.day);
            }
            Role::Action | Role::Context => {}
        }
        st.used += 1;
        Ok(())
    }
}

fn impossible(m: &ModelV2, e: &Ev) -> Error {
    Error::argument(
        "signals",
        "signals the model gives a positive probability",
        format!(
            "{} on {} after the signals before it has probability 0",
            m.type_names[e.ty],
            date_of(e.day)
        ),
    )
}

/// The competing-risks discretisation of a rate matrix `lam` (row-major, zero diagonal):
/// `P_ii = exp(-L_i)`, `P_ij = -expm1(-L_i) · lambda_ij / L_i`, identity row where `L_i = 0`.
pub(crate) fn competing_risks(lam: &[f64], k: usize) -> Vec<f64> {
    let mut p = vec![0.0; k * k];
    competing_risks_into(lam, k, &mut p);
    p
}

/// [`competing_risks`] into `p` (`k x k`, zeroed).
fn competing_risks_into(lam: &[f64], k: usize, p: &mut [f64]) {
    for i in 0..k {
        let l: f64 = (0..k).filter(|&j| j != i).map(|j| lam[i * k + j]).sum();
        if l == 0.0 {
            p[i * k + i] = 1.0;
            continue;
        }
        let leave = -(-l).exp_m1();
        for j in 0..k {
            p[i * k + j] = if j == i {
                (-l).exp()
            } else {
                leave * lam[i * k + j] / l
            };
        }
    }
}

/// The result of running the filter to an as-of date and forecasting from there.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    /// The filtered state on the as-of date (clamped to the span).
    pub state: State,
    /// `[deal, stalemate, wait_out]` at the term end.
    pub outcomes: [f64; 3],
}

/// Run the filter over `evs` (resolved, sorted, dated up to `until`) to `until`, then forecast with the input
/// events `future` (dated after `until`) added.
pub(crate) fn run(model: &ModelV2, span: Span, evs: &[Ev], until: i64, future: &[Ev]) -> Result<Run> {
    let mut w = Walker::new(model, span);
    // `evs` is sorted by day: the events up to `until` are a prefix, used in place.
    let obs = &evs[..evs.partition_point(|e| e.day <= until)];
    if future.iter().any(|e| e.day > until) {
        let mut all = obs.to_vec();
        all.extend(future.iter().filter(|e| e.day > until).copied());
        w.set_inputs(&all);
    } else {
        w.set_inputs(obs);
    }
    let st = filter_to(&mut w, obs, until)?;
    let mut fut = st.clone();
    fut.input_limit = i64::MAX;
    let outcomes = forecast_from(&mut w, &mut fut);
    Ok(Run { state: st, outcomes })
}

/// Filter `evs` (sorted, all dated up to `until`) from the start to `until` (clamped to the span).
pub(crate) fn filter_to(w: &mut Walker, evs: &[Ev], until: i64) -> Result<State> {
    // The batch path: matrices that depend only on the bucket and no fate signal, so the halves stay merged.
    if !w.model.has_inputs && !evs.iter().any(|e| w.model.types[e.ty].role == Role::Fate) {
        match w.model.k {
            2 => return filter_fixed::<2>(w, evs, until),
            3 => return filter_fixed::<3>(w, evs, until),
            4 => return filter_fixed::<4>(w, evs, until),
            5 => return filter_fixed::<5>(w, evs, until),
            _ => {}
        }
    }
    filter_general(w, evs, until)
}

/// [`filter_to`] for any model: the joint state in vectors, split when the halves' dynamics differ.
fn filter_general(w: &mut Walker, evs: &[Ev], until: i64) -> Result<State> {
    let mut st = w.start();
    let until = until.clamp(w.span.start, w.span.last);
    st.input_limit = until;
    let mut i = 0;
    while i < evs.len() && evs[i].day <= until {
        let d = evs[i].day;
        let mut j = i;
        while j < evs.len() && evs[j].day == d {
            j += 1;
        }
        apply_day(w, &mut st, d, &evs[i..j])?;
        i = j;
    }
    w.advance(&mut st, until, false);
    Ok(st)
}

/// The batch path's running numbers: the day, the log-likelihood and its pending normalisations, and the
/// current bucket's cached powers (looked up once per bucket, not once per day).
struct Batch<'a, const K: usize> {
    m: &'a ModelV2,
    span: Span,
    day: i64,
    log_likelihood: f64,
    pending: u32,
    /// The first day after the current bucket's run (the step from `day` uses this bucket while `day < end`).
    bucket_end: i64,
    /// Binary powers of `Q` and `P` of the current bucket.
    powers: [&'a [f64]; 2],
}

impl<'a, const K: usize> Batch<'a, K> {
    #[inline(always)]
    fn normalise(&mut self, a: &mut [f64; K]) {
        let c: f64 = a.iter().sum();
        let inv = 1.0 / c;
        a.iter_mut().for_each(|x| *x *= inv);
        self.log_likelihood += c.ln();
        self.pending = 0;
    }

    /// Look up the bucket of the step from `self.day` and its run's end.
    #[inline(never)]
    fn enter_bucket(&mut self) {
        let m = self.m;
        let b = m.bucket_for(self.span.t - self.day);
        self.bucket_end = self.span.t - m.buckets[b].min_left + 1;
        let sp = m.static_powers[b]
            .as_ref()
            .expect("the batch path runs on input-independent buckets");
        self.powers = [&sp[0], &sp[1]];
    }

    /// Advance to day `to` with `P` (`free`) or `Q`, one run per bucket.
    #[inline(always)]
    fn propagate(&mut self, a: &mut [f64; K], to: i64, free: bool) {
        while self.day < to {
            if self.day >= self.bucket_end {
                self.enter_bucket();
            }
            let end = to.min(self.bucket_end);
            let n = (end - self.day) as u64;
            let pw = self.powers[usize::from(free)];
            if n == 1 {
                linalg::step_fixed::<K>(a, pw);
            } else {
                linalg::apply_power_fixed::<K>(a, pw, n);
            }
            self.day = end;
            if !free {
                self.pending += 1;
                if self.pending >= 32 || n > 365 {
                    self.normalise(a);
                }
            }
        }
    }
}

/// [`filter_to`] for a model whose matrices depend only on the bucket and signals without fate types: the
/// halves stay proportional, so one regime vector of compile-time size `K` carries the state. Same arithmetic
/// as the general path, in the same order.
fn filter_fixed<const K: usize>(w: &mut Walker, evs: &[Ev], until: i64) -> Result<State> {
    let m = w.model;
    let span = w.span;
    let until = until.clamp(span.start, span.last);
    let mut a: [f64; K] = m.prior[..K].try_into().expect("the model has K regimes");
    let mut s = Batch::<K> {
        m,
        span,
        day: span.start,
        log_likelihood: 0.0,
        pending: 0,
        bucket_end: i64::MIN,
        powers: [&[], &[]],
    };
    let mut used = 0;
    let mut i = 0;
    while i < evs.len() && evs[i].day <= until {
        let d = evs[i].day;
        let mut j = i;
        while j < evs.len() && evs[j].day == d {
            j += 1;
        }
        let group = &evs[i..j];
        if d > s.day {
            // "No deal today" on every day but a deal's own (its last step uses `P`).
            let deal_day = m.deal.is_some() && group.iter().any(|e| m.types[e.ty].rank == 1);
            if deal_day {
                s.propagate(&mut a, d - 1, false);
                s.propagate(&mut a, d, true);
            } else {
                s.propagate(&mut a, d, false);
            }
        }
        for e in group {
            let t = &m.types[e.ty];
            // The role by its rank (evidence, deal entered, repudiation, fate, inputs only).
            match t.rank {
                0 => {
                    let noise = (1.0 - e.rho) * t.mean;
                    if e.w == 1.0 {
                        let q: &[f64; K] = t.q[..K].try_into().expect("q has K entries");
                        let mut c = 0.0;
                        for r in 0..K {
                            a[r] *= e.rho * q[r] + noise;
                            c += a[r];
                        }
                        s.pending += 1;
                        if s.pending >= 32 || c < 1e-100 {
                            s.normalise(&mut a);
                        }
                    } else {
                        let l: [f64; K] = std::array::from_fn(|r| e.w * (e.rho * t.q[r] + noise).ln());
                        let mx = l.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                        for r in 0..K {
                            a[r] *= (l[r] - mx).exp();
                        }
                        s.log_likelihood += mx;
                        s.normalise(&mut a);
                    }
                }
                2 => {
                    if let Some(sd) = m.deal {
                        let moved = e.rho * a[sd];
                        a[sd] -= moved;
                        a[m.repudiate_to] += moved;
                    }
                }
                1 => {
                    if let Some(sd) = m.deal {
                        if e.rho == 1.0 && s.day > span.start {
                            for (r, x) in a.iter_mut().enumerate() {
                                if r != sd {
                                    *x = 0.0;
                                }
                            }
                            if a[sd] == 0.0 {
                                return Err(impossible(m, e));
                            }
                            s.normalise(&mut a);
                        } else {
                            // Jeffrey's rule; with proportional halves, one formula covers both branches of
                            // the general path.
                            let z: f64 = a.iter().sum();
                            if a[sd] < e.rho * z {
                                let rest = (1.0 - e.rho) * z / (z - a[sd]);
                                for x in a.iter_mut() {
                                    *x *= rest;
                                }
                                a[sd] = e.rho * z;
                            }
                        }
                    }
                }
                3 => unreachable!("the batch path is taken without fate signals"),
                _ => {}
            }
            used += 1;
        }
        i = j;
    }
    s.propagate(&mut a, until, false);
    let mut st = w.start();
    st.a.copy_from_slice(&a);
    st.log_likelihood = s.log_likelihood;
    st.pending = s.pending;
    st.day = s.day.max(until);
    st.used = used;
    st.input_limit = until;
    Ok(st)
}

/// Bring `st` to day `d` (with `P` on the last step when the day has a deal signal, `Q` otherwise) and apply
/// the day's signals `group` (all dated `d`, in the filter's order).
pub(crate) fn apply_day(w: &mut Walker, st: &mut State, d: i64, group: &[Ev]) -> Result<()> {
    if d > st.day {
        let deal_day = w.model.deal.is_some()
            && group
                .iter()
                .any(|e| w.model.types[e.ty].role == Role::Deal && !w.model.types[e.ty].repudiates);
        if deal_day {
            w.advance(st, d - 1, false);
            w.advance(st, d, true);
        } else {
            w.advance(st, d, false);
        }
    }
    for e in group {
        w.observe(st, e)?;
    }
    Ok(())
}

/// Run a filtered state on to the last day with `P` and read the outcomes.
pub(crate) fn forecast_from(w: &mut Walker, st: &mut State) -> [f64; 3] {
    let last = w.span.last;
    w.advance(st, last, true);
    st.outcomes(w.model.deal)
}

/// The filtered state of a case on a date, as probabilities.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FilteredState {
    /// The date the state is for (the as-of date clamped to the start and to the day before the term end).
    pub date: NaiveDate,
    /// Joint distribution: the stays half (one entry per regime), then the leaves half.
    pub joint: Vec<f64>,
    /// Marginal over regimes.
    pub regimes: Vec<f64>,
    /// `P(F = stays)`: that the leader stays in office after the term end.
    pub leader_stays: f64,
    /// Log-likelihood of the signals used (with "no deal today" on every day without a deal signal).
    pub log_likelihood: f64,
    /// Number of signals used.
    pub signals_used: usize,
}

impl FilteredState {
    pub(crate) fn of(st: &State, k: usize) -> FilteredState {
        let joint = st.joint();
        let regimes = (0..k).map(|j| joint[j] + joint[k + j]).collect();
        FilteredState {
            date: date_of(st.day),
            leader_stays: joint[..k].iter().sum(),
            regimes,
            joint,
            log_likelihood: st.log_likelihood(),
            signals_used: st.used,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v2::Terms;

    /// The batch path and the general path give the same state, to 1e-12, on the default model without inputs
    /// and pseudo-random signals of the evidence and deal roles.
    #[test]
    fn batch_path_matches_the_general_path() {
        let mut spec = ModelV2::default_model().spec().clone();
        for h in &mut spec.hazards {
            h.betas.clear();
        }
        let m = ModelV2::from_spec(spec).unwrap();
        assert!(!m.has_inputs);
        let start = NaiveDate::from_ymd_opt(2017, 1, 20).unwrap();
        let terms = Terms {
            start,
            term_end: NaiveDate::from_ymd_opt(2021, 1, 20).unwrap(),
            reelection_eligible: true,
            election_date: NaiveDate::from_ymd_opt(2020, 11, 3).unwrap(),
        };
        let span = Span::new(&m, &terms).unwrap();
        let types: Vec<usize> = (0..m.types.len())
            .filter(|&t| m.types[t].role != Role::Fate)
            .collect();
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for case in 0..40 {
            let mut evs = Vec::new();
            for _ in 0..(case * 7) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let ty = types[(x % types.len() as u64) as usize];
                let rho = if x.is_multiple_of(3) {
                    1.0
                } else {
                    ((x >> 20) % 1000) as f64 / 1000.0
                };
                let w = if x.is_multiple_of(5) { 2.5 } else { 1.0 };
                let rho = if m.types[ty].role == Role::Deal && !m.types[ty].repudiates {
                    rho.min(0.9)
                } else {
                    rho
                };
                evs.push(Ev {
                    day: span.start + ((x >> 32) % 1400) as i64,
                    ty,
                    rho,
                    w,
                });
            }
            sort_events(&m, &mut evs);
            for until in [span.start, span.start + 300, span.start + 1399] {
                let used: Vec<Ev> = evs.iter().filter(|e| e.day <= until).copied().collect();
                let mut w1 = Walker::new(&m, span);
                let a = filter_fixed::<4>(&mut w1, &used, until).unwrap();
                let mut w2 = Walker::new(&m, span);
                let b = filter_general(&mut w2, &used, until).unwrap();
                assert_eq!(a.day, b.day);
                assert_eq!(a.used, b.used);
                assert!((a.log_likelihood() - b.log_likelihood()).abs() < 1e-12);
                for (p, q) in a.joint().iter().zip(b.joint()) {
                    assert!((p - q).abs() < 1e-12);
                }
                let (mut fa, mut fb) = (a.clone(), b.clone());
                let (oa, ob) = (forecast_from(&mut w1, &mut fa), forecast_from(&mut w2, &mut fb));
                for (p, q) in oa.iter().zip(ob) {
                    assert!((p - q).abs() < 1e-12);
                }
            }
        }
    }

    /// A random variant of the default model: prior, incumbency rate, every base rate scaled by its own
    /// log-normal factor and, with `inputs`, a random beta on every present input (none without).
    fn random_model(seed: u64, inputs: bool) -> ModelV2 {
        let mut x = seed | 1;
        let mut uniform = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut m = ModelV2::default_model();
        let mut prior: Vec<f64> = (0..m.k)
            .map(|j| if Some(j) == m.deal { 0.0 } else { 0.05 + uniform() })
            .collect();
        let s: f64 = prior.iter().sum();
        prior.iter_mut().for_each(|p| *p /= s);
        m.prior = prior;
        m.p_inc = 0.05 + 0.9 * uniform();
        let present: Vec<bool> = m.inputs.iter().map(|d| d.present).collect();
        for h in &mut m.hazards {
            let f = (2.0 * (uniform() - 0.5)).exp();
            h.base.iter_mut().for_each(|b| *b *= f * (0.5 + uniform()));
            for (i, b) in h.beta.iter_mut().enumerate() {
                *b = if inputs && present[i] {
                    3.0 * (uniform() - 0.5)
                } else {
                    0.0
                };
            }
        }
        m.has_inputs = m
            .hazards
            .iter()
            .any(|h| h.beta.iter().zip(&present).any(|(b, p)| *p && *b != 0.0));
        assert_eq!(m.has_inputs, inputs);
        m.with_static_powers()
    }

    /// Random events of every role (fate only with `fate`), sorted in the filter's order.
    fn random_events(m: &ModelV2, span: &Span, seed: u64, n: usize, fate: bool) -> Vec<Ev> {
        let types: Vec<usize> = (0..m.types.len())
            .filter(|&t| fate || m.types[t].role != Role::Fate)
            .filter(|&t| span.pi_stays > 0.0 || m.types[t].reveals != Some(Fate::Stays))
            .collect();
        let mut x = seed | 1;
        let mut evs = Vec::new();
        for _ in 0..n {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let ty = types[(x % types.len() as u64) as usize];
            let rho = if x.is_multiple_of(3) {
                1.0
            } else {
                ((x >> 20) % 1000) as f64 / 1000.0
            };
            let w = if x.is_multiple_of(5) { 2.5 } else { 1.0 };
            evs.push(Ev {
                day: span.start + ((x >> 32) % (span.last - span.start + 1) as u64) as i64,
                ty,
                rho,
                w,
            });
        }
        sort_events(m, &mut evs);
        evs
    }

    fn assert_same(a: &State, b: &State, oa: [f64; 3], ob: [f64; 3]) {
        assert_eq!(a.day, b.day);
        assert_eq!(a.used, b.used);
        assert!((a.log_likelihood() - b.log_likelihood()).abs() < 1e-12);
        for (p, q) in a.joint().iter().zip(b.joint()) {
            assert!((p - q).abs() < 1e-12, "{p} vs {q}");
        }
        for (p, q) in oa.iter().zip(ob) {
            assert!((p - q).abs() < 1e-12, "{p} vs {q}");
        }
    }

    fn terms(eligible: bool) -> Terms {
        Terms {
            start: NaiveDate::from_ymd_opt(2017, 1, 20).unwrap(),
            term_end: NaiveDate::from_ymd_opt(2021, 1, 20).unwrap(),
            reelection_eligible: eligible,
            election_date: NaiveDate::from_ymd_opt(2020, 11, 3).unwrap(),
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

        /// The batch path (fixed-size vector, bucket looked up once per run, fixed-size powers) equals the
        /// general path on random models without inputs and random signals, to 1e-12; and a parameter draw
        /// with only the powers its span needs forecasts as one with every level.
        #[test]
        fn batch_path_matches_the_general_path_on_random_models(
            seed in 1u64.., n in 0usize..300, cut in 0i64..1462, eligible: bool,
        ) {
            let m = random_model(seed, false);
            let span = Span::new(&m, &terms(eligible)).unwrap();
            let evs = random_events(&m, &span, seed.rotate_left(17), n, false);
            let until = span.start + cut;
            let used: Vec<Ev> = evs.iter().filter(|e| e.day <= until).copied().collect();
            let mut w1 = Walker::new(&m, span);
            let mut w2 = Walker::new(&m, span);
            // A deal of reliability 1 can have probability 0: both paths then say so.
            match (filter_fixed::<4>(&mut w1, &used, until), filter_general(&mut w2, &used, until)) {
                (Ok(a), Ok(b)) => {
                    let (mut fa, mut fb) = (a.clone(), b.clone());
                    let (oa, ob) = (forecast_from(&mut w1, &mut fa), forecast_from(&mut w2, &mut fb));
                    assert_same(&a, &b, oa, ob);
                }
                (Err(a), Err(b)) => proptest::prop_assert_eq!(a.to_string(), b.to_string()),
                (a, b) => panic!("the paths disagree: {a:?} vs {b:?}"),
            }

            let levels = (64 - ((span.t - span.start) as u64).leading_zeros()) as usize;
            let mut r1 = crate::uncertainty::stream(seed, 0);
            let mut r2 = crate::uncertainty::stream(seed, 0);
            let (d1, d2) = (m.draw(&mut r1, levels), m.draw(&mut r2, 16));
            if let (Ok(x), Ok(y)) = (run(&d1, span, &used, until, &[]), run(&d2, span, &used, until, &[])) {
                assert_same(&x.state, &y.state, x.outcomes, y.outcomes);
            }
        }

        /// With inputs, reusing a state's input vectors while their key is unchanged and stepping short runs
        /// day by day equals recomputing the inputs every step and taking every run by binary powers, on random
        /// models with inputs and random signals of every role (fate included), to 1e-12, for the filtered
        /// state and the forecast from it.
        #[test]
        fn reused_inputs_match_inputs_recomputed_every_step(
            seed in 1u64.., n in 0usize..200, cut in 0i64..1462, eligible: bool,
        ) {
            let m = random_model(seed, true);
            let span = Span::new(&m, &terms(eligible)).unwrap();
            let evs = random_events(&m, &span, seed.rotate_left(29), n, true);
            let until = span.start + cut;
            let used: Vec<Ev> = evs.iter().filter(|e| e.day <= until).copied().collect();
            let mut w1 = Walker::new(&m, span);
            w1.set_inputs(&evs);
            let mut w2 = Walker::new(&m, span);
            w2.reuse_inputs = false;
            w2.short_run = 0;
            w2.set_inputs(&evs);
            // A deal or fate of reliability 1 can have probability 0: both then say so.
            match (filter_general(&mut w1, &used, until), filter_general(&mut w2, &used, until)) {
                (Ok(a), Ok(b)) => {
                    let (mut fa, mut fb) = (a.clone(), b.clone());
                    fa.input_limit = i64::MAX;
                    fb.input_limit = i64::MAX;
                    let (oa, ob) = (forecast_from(&mut w1, &mut fa), forecast_from(&mut w2, &mut fb));
                    assert_same(&a, &b, oa, ob);
                }
                (Err(a), Err(b)) => proptest::prop_assert_eq!(a.to_string(), b.to_string()),
                (a, b) => panic!("the reuse changes the answer: {a:?} vs {b:?}"),
            }
        }
    }
}
