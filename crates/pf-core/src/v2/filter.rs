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
//! Inputs are evaluated on a weekly grid anchored at the case's start (MODEL.md: each week's value is held for
//! its seven days): with `g(d) = start + 7 ⌊(d - start) / 7⌋` the day's grid point and, for each input fed by
//! action or context signals `i` of reliability `rho_i` and weight `w_i` dated `t_i <= g(d)`,
//!
//! ```text
//! c_k(d)  = Σ_i rho_i w_i 2^(-(g(d) - t_i) / h_k)                (decayed to the grid point; a signal dated
//!                                                                  inside a week counts from the next one)
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
    /// The rates the daily matrices were built from (valid once built): a row whose rates are unchanged is kept.
    lam: Vec<f64>,
    built: bool,
}

impl Mats {
    fn new() -> Mats {
        Mats {
            p: Vec::new(),
            q: Vec::new(),
            lam: Vec::new(),
            built: false,
        }
    }
}

/// Decayed input counts at a grid point, and the signals taken after it, which join at the next grid point.
#[derive(Debug, Clone)]
struct Tracker {
    g: i64,
    base: [f64; 4],
    recent: Vec<(i64, usize, f64)>,
}

impl Tracker {
    fn new(start: i64) -> Tracker {
        Tracker {
            g: start,
            base: [0.0; 4],
            recent: Vec::new(),
        }
    }

    /// Bring the tracker to day `d`: the input events dated up to `min(d, limit)` join it (from `inputs`,
    /// sorted by day, starting at `cursor`), at a new grid point the counts decay to it, and the events dated
    /// on or before the grid point join the counts.
    #[inline]
    fn bring(
        &mut self,
        m: &ModelV2,
        span: &Span,
        inputs: &[(i64, usize, f64)],
        cursor: &mut usize,
        d: i64,
        limit: i64,
    ) {
        while *cursor < inputs.len() && inputs[*cursor].0 <= d.min(limit) {
            self.recent.push(inputs[*cursor]);
            *cursor += 1;
        }
        let g = span.start + 7 * (d - span.start).div_euclid(7);
        if g > self.g {
            for i in 0..4 {
                let dec = m.inputs[i].decay;
                self.base[i] *= (-(dec * (g - self.g) as f64)).exp();
            }
            self.g = g;
        }
        // Signals dated on or before the grid point join the decayed base; later ones (this week's) wait for the
        // next grid point.
        if self.recent.first().is_some_and(|&(t, _, _)| t <= g) {
            let base = &mut self.base;
            self.recent.retain(|&(t, i, a)| {
                if t <= g {
                    base[i] += a * (-(m.inputs[i].decay * (g - t) as f64)).exp();
                    false
                } else {
                    true
                }
            });
        }
    }

    /// The decayed counts at the grid point (this week's later signals count from the next one).
    #[inline]
    fn counts(&self) -> [f64; 4] {
        self.base
    }
}

/// The first grid point of the inputs on or after day `d`.
fn grid_on_or_after(span: &Span, d: i64) -> i64 {
    span.start + 7 * (d - span.start + 6).div_euclid(7)
}

/// A case's input vectors day by day, without `leader_may_leave` (which depends on the drawn incumbency rate and
/// on the halves): what the tracker gives, computed once and shared by every parameter draw of the case, whose
/// inputs differ only by their betas. Segment `s` holds from day `from[s]` to the day before `from[s + 1]`; a
/// segment ends where the tracker's inputs can change (an input event, the next grid point while any count is
/// non-zero), so these are the vectors the tracker gives on each day, with the same arithmetic. Segments also
/// end where the bucket changes and at the switch day of `leader_may_leave`, so that each has one daily matrix
/// per half ([`SegMats`]).
///
/// It ignores the walkers' input limit: only for walkers that never leave an input event out (all of them dated
/// up to the as-of date, as in [`crate::v2::draws`]).
#[derive(Debug, Clone)]
pub(crate) struct InputTimeline {
    from: Vec<i64>,
    x: Vec<[f64; N_INPUTS]>,
    bucket: Vec<usize>,
    /// Whether the segment is on or after the switch day.
    after: Vec<bool>,
    /// The switch day of `leader_may_leave`: the election, or the first fate signal if earlier.
    switch: i64,
}

impl InputTimeline {
    /// The timeline of the input events `evs` (resolved and sorted, all of them used) over `span`.
    pub(crate) fn new(model: &ModelV2, span: &Span, evs: &[Ev]) -> InputTimeline {
        let inputs = input_events(model, evs);
        // The switch day: the election, or the first fate signal if earlier (as the walker finds it).
        let switch = evs
            .iter()
            .filter(|e| model.types[e.ty].role == Role::Fate)
            .map(|e| e.day)
            .fold(span.election, i64::min);
        let mut tl = InputTimeline {
            from: Vec::new(),
            x: Vec::new(),
            bucket: Vec::new(),
            after: Vec::new(),
            switch,
        };
        let mut tr = Tracker::new(span.start);
        let mut cursor = 0;
        let mut d = span.start;
        while d <= span.last {
            tr.bring(model, span, &inputs, &mut cursor, d, i64::MAX);
            let counts = tr.counts();
            let mut x = input_vector(model, span, &tr, counts, d, i64::MAX, 0);
            x[Input::LeaderMayLeave.index()] = 0.0;
            let b = model.bucket_for(span.t - d);
            tl.from.push(d);
            tl.x.push(x);
            tl.bucket.push(b);
            tl.after.push(d >= switch);
            let mut next = (span.last + 1).min(span.t - model.buckets[b].min_left + 1);
            if cursor < inputs.len() {
                next = next.min(grid_on_or_after(span, inputs[cursor].0));
            }
            if counts.iter().any(|c| *c != 0.0) || !tr.recent.is_empty() {
                next = next.min(tr.g + 7);
            }
            if d < switch {
                next = next.min(switch);
            }
            d = next;
        }
        tl
    }

    /// The first day of the segment after day `d`'s; `seg` is the caller's segment index, moved forward (or
    /// found again) to `d`'s.
    #[inline]
    fn at(&self, seg: &mut usize, d: i64) -> i64 {
        if *seg >= self.from.len() || self.from[*seg] > d {
            *seg = self.from.partition_point(|&f| f <= d).saturating_sub(1);
        }
        while *seg + 1 < self.from.len() && self.from[*seg + 1] <= d {
            *seg += 1;
        }
        self.from.get(*seg + 1).copied().unwrap_or(i64::MAX)
    }
}

/// One parameter set's daily matrices for every segment of a case's [`InputTimeline`], built in one pass per
/// draw with the arithmetic of [`Walker`]'s matrices for the same inputs (up to the inline `exp`): an exponent
/// only for the hazards whose betas act on an input that changed since the previous matrix, an `exp` (inline,
/// [`linalg::exp_fast`], within 2 ulp of the C library's) only when that exponent changed (hazards whose betas
/// act only on `leader_may_leave` take one of three values), and only the rows whose rates changed rebuilt, by
/// [`phi_series`]; the others are the previous matrix's rows.
#[derive(Debug, Clone, Default)]
pub(crate) struct SegMats {
    /// `P` and `Q` of each matrix, `k²` each.
    p: Vec<f64>,
    q: Vec<f64>,
    /// Per segment, the matrix of each half.
    idx: Vec<[u32; 2]>,
}

/// The hazards as [`SegMats::build`] uses them.
struct SegHazard<'a> {
    from: usize,
    to: usize,
    base: &'a [f64],
    beta: [f64; N_INPUTS],
    /// Whether a beta acts on an input other than `leader_may_leave`.
    varies: bool,
    /// Otherwise the factor for each value of `leader_may_leave`: before the switch, after it in the stays
    /// half, after it in the leaves half.
    fixed: [f64; 3],
    /// Bit `i` set when the beta on input `i` is non-zero: the inputs the exponent depends on.
    uses: u32,
}

impl SegMats {
    /// Build the matrices of `tl`'s segments for the (drawn) model `m` on `span` (`K` regimes), reusing this
    /// scratch.
    pub(crate) fn build<const K: usize>(&mut self, m: &ModelV2, span: &Span, tl: &InputTimeline) {
        let kk = K * K;
        let lml = Input::LeaderMayLeave.index();
        let leave_input = m.inputs[lml].present;
        let clip = m.clip;
        let eta = |beta: &[f64; N_INPUTS], x: &[f64; N_INPUTS]| {
            let mut eta = 0.0;
            for i in 0..N_INPUTS {
                eta += beta[i] * x[i];
            }
            eta.clamp(clip.0, clip.1)
        };
        // `leader_may_leave` as the walker sets it: before the switch, then per half.
        let leave = [1.0 - span.pi_stays, 0.0, 1.0];
        let hz: Vec<SegHazard> = m
            .hazards
            .iter()
            .map(|h| {
                let varies = (0..N_INPUTS).any(|i| i != lml && h.beta[i] != 0.0);
                let mut fixed = [0.0; 3];
                if !varies {
                    for (f, l) in fixed.iter_mut().zip(leave) {
                        let mut x = [0.0; N_INPUTS];
                        if leave_input {
                            x[lml] = l;
                        }
                        *f = eta(&h.beta, &x).exp();
                    }
                }
                let uses = (0..N_INPUTS)
                    .filter(|&i| h.beta[i] != 0.0)
                    .fold(0u32, |u, i| u | 1 << i);
                SegHazard {
                    from: h.from,
                    to: h.to,
                    base: &h.base,
                    beta: h.beta,
                    varies,
                    fixed,
                    uses,
                }
            })
            .collect();
        self.idx.clear();
        let total: usize = (0..tl.from.len())
            .map(|s| if leave_input && tl.after[s] { 2 } else { 1 })
            .sum();
        self.p.resize(total * kk, 0.0);
        self.q.resize(total * kk, 0.0);
        // The previous matrix's inputs, class, bucket, rates and rows, kept in locals. A hazard whose inputs,
        // class and bucket are unchanged has the same rate (the same arithmetic on the same numbers), so only the
        // others are recomputed, and only the rows they touch are rebuilt: the numbers are those of building every
        // matrix from its rates. Rows are copied out from here rather than read back from the output (which would
        // wait on the stores just made).
        let mut prev_x = [f64::NAN; N_INPUTS];
        let (mut prev_class, mut prev_b) = (usize::MAX, usize::MAX);
        let mut lam = [[0.0; K]; K];
        let mut rows = [[0.0; K]; K];
        // Per hazard, the last exponent and its `exp` (an exponent can come back unchanged when it is clipped).
        let mut memo = vec![(u64::MAX, f64::NAN); hz.len()];
        let mut out = self.p.chunks_exact_mut(kk).zip(self.q.chunks_exact_mut(kk));
        let mut nv = 0;
        for s in 0..tl.from.len() {
            let halves = if leave_input && tl.after[s] { 2 } else { 1 };
            self.idx.push([nv as u32, (nv + halves - 1) as u32]);
            for half in 0..halves {
                let class = if tl.after[s] { 1 + half } else { 0 };
                let mut x = tl.x[s];
                if leave_input {
                    x[lml] = leave[class];
                }
                let b = tl.bucket[s];
                let mut changed = 0u32;
                for i in 0..N_INPUTS {
                    if x[i].to_bits() != prev_x[i].to_bits() {
                        changed |= 1 << i;
                    }
                }
                let all = b != prev_b;
                let class_changed = class != prev_class;
                let mut dirty = [all; K];
                for (h, memo) in hz.iter().zip(&mut memo) {
                    let f = if h.varies {
                        if !all && h.uses & changed == 0 {
                            continue;
                        }
                        let e = eta(&h.beta, &x);
                        if e.to_bits() != memo.0 {
                            *memo = (e.to_bits(), linalg::exp_fast(e));
                        } else if !all {
                            continue;
                        }
                        memo.1
                    } else {
                        if !all && !class_changed {
                            continue;
                        }
                        h.fixed[class]
                    };
                    let v = h.base[b] * f;
                    if v != lam[h.from][h.to] || all {
                        lam[h.from][h.to] = v;
                        dirty[h.from] = true;
                    }
                }
                (prev_x, prev_class, prev_b) = (x, class, b);
                for i in 0..K {
                    if dirty[i] {
                        competing_risks_row_fixed::<K>(&lam[i], i, &mut rows[i]);
                    }
                }
                let (p, q) = out.next().expect("sized for every matrix above");
                for i in 0..K {
                    let row = i * K..(i + 1) * K;
                    p[row.clone()].copy_from_slice(&rows[i]);
                    q[row].copy_from_slice(&rows[i]);
                    if let Some(sd) = m.deal
                        && sd != i
                    {
                        q[i * K + sd] = 0.0;
                    }
                }
                nv += 1;
            }
        }
    }

    /// The daily `P` (`free`) or `Q` of matrix `i`.
    #[inline]
    fn get(&self, i: u32, free: bool, kk: usize) -> &[f64] {
        let at = i as usize * kk;
        if free {
            &self.p[at..at + kk]
        } else {
            &self.q[at..at + kk]
        }
    }
}

/// The action and context events of `evs` that feed a defined input, sorted by day: `(day, input, rho · w)`.
fn input_events(model: &ModelV2, evs: &[Ev]) -> Vec<(i64, usize, f64)> {
    let mut out = Vec::new();
    if !model.has_inputs {
        return out;
    }
    for e in evs {
        if let Some(inp) = model.types[e.ty].feeds
            && model.inputs[inp.index()].present
        {
            out.push((e.day, inp.index(), e.rho * e.w));
        }
    }
    out.sort_by_key(|e| e.0);
    out
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
    /// The case's segments and this draw's matrices for them, when shared by parameter draws (instead of
    /// `inputs`, the state's tracker and `mats`).
    timeline: Option<(&'m InputTimeline, &'m SegMats)>,
    /// Per hazard, the last exponent and its `exp`: a hazard whose exponent is unchanged (no beta, or betas only
    /// on inputs that did not change, such as `leader_may_leave`) costs no `exp`.
    eta_memo: Vec<Option<(u64, f64)>>,
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
    /// Build every matrix from scratch by the module's formula, with `exp` and `expm1` and no reuse (only in
    /// the tests that check the faster constructions against it).
    reference: bool,
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

    /// Forget which of the walker's input events the tracker took (for a walker given only the events after
    /// [`Walker::consumed_through`]; see [`crate::incremental`]).
    pub(crate) fn rebase_inputs(&mut self) {
        self.cursor = 0;
        self.inputs = None;
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
            mats: [Mats::new(), Mats::new()],
            eta_memo: vec![None; model.hazards.len()],
            keys: [None, None],
            timeline: None,
            lam: vec![0.0; model.k * model.k],
            sq: vec![0.0; model.k * model.k],
            tmp: vec![0.0; model.k],
            reuse_inputs: true,
            short_run: SHORT_RUN,
            reference: false,
        }
    }

    /// Set the input events: every action or context event of `evs` that feeds a defined input.
    pub(crate) fn set_inputs(&mut self, evs: &[Ev]) {
        self.inputs = input_events(self.model, evs);
        self.timeline = None;
    }

    /// The day of the last input event `st`'s tracker took from this walker (`i64::MIN` for none): it has taken
    /// every input event up to that day and none after, so a walker resuming from `st` needs only the later
    /// ones (with [`State::rebase_inputs`]).
    pub(crate) fn consumed_through(&self, st: &State) -> i64 {
        if st.cursor == 0 || self.timeline.is_some() {
            i64::MIN
        } else {
            self.inputs[st.cursor - 1].0
        }
    }

    /// Take the inputs from a case's timeline instead of tracking them (for walkers that never leave an input
    /// event out: see [`InputTimeline`]).
    pub(crate) fn set_timeline(&mut self, timeline: &'m InputTimeline, mats: &'m SegMats) {
        self.inputs.clear();
        self.timeline = self.model.has_inputs.then_some((timeline, mats));
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
            tracker: Tracker::new(self.span.start),
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
        if self.reference {
            self.reference_mats(slot, b, x);
            self.keys[slot] = Some(key);
            return slot;
        }
        self.lam.iter_mut().for_each(|v| *v = 0.0);
        for (h, memo) in m.hazards.iter().zip(&mut self.eta_memo) {
            let mut eta = 0.0;
            for i in 0..N_INPUTS {
                eta += h.beta[i] * x[i];
            }
            let eta = eta.clamp(m.clip.0, m.clip.1);
            let f = match *memo {
                Some((bits, f)) if bits == eta.to_bits() => f,
                _ => {
                    let f = eta.exp();
                    *memo = Some((eta.to_bits(), f));
                    f
                }
            };
            self.lam[h.from * k + h.to] = h.base[b] * f;
        }
        let mats = &mut self.mats[slot];
        let kk = k * k;
        mats.p.resize(kk, 0.0);
        mats.q.resize(kk, 0.0);
        mats.p.truncate(kk);
        mats.q.truncate(kk);
        mats.lam.resize(kk, 0.0);
        for i in 0..k {
            let row = i * k..(i + 1) * k;
            // Only the rows whose rates changed are rebuilt (same arithmetic, so the same numbers).
            if mats.built
                && mats.lam[row.clone()]
                    .iter()
                    .zip(&self.lam[row.clone()])
                    .all(|(a, b)| a.to_bits() == b.to_bits())
            {
                continue;
            }
            competing_risks_row(&self.lam, k, i, &mut mats.p[row.clone()]);
            mats.q[row.clone()].copy_from_slice(&mats.p[row.clone()]);
            if let Some(s) = m.deal
                && i != s
            {
                mats.q[i * k + s] = 0.0;
            }
            mats.lam[row.clone()].copy_from_slice(&self.lam[row]);
        }
        mats.built = true;
        self.keys[slot] = Some(key);
        slot
    }

    /// The daily `P` and `Q` of bucket `b` for inputs `x` in scratch `slot`, straight from the module's formula:
    /// `lambda_ij = base_ij exp(clip(beta_ij · x))`, `P_ii = exp(-L_i)`, `P_ij = -expm1(-L_i) lambda_ij / L_i`.
    fn reference_mats(&mut self, slot: usize, b: usize, x: &[f64; N_INPUTS]) {
        let m = self.model;
        let k = m.k;
        let mut lam = vec![0.0; k * k];
        for h in &m.hazards {
            let eta: f64 = (0..N_INPUTS).map(|i| h.beta[i] * x[i]).sum();
            lam[h.from * k + h.to] = h.base[b] * eta.clamp(m.clip.0, m.clip.1).exp();
        }
        let mut p = vec![0.0; k * k];
        for i in 0..k {
            let l: f64 = (0..k).filter(|&j| j != i).map(|j| lam[i * k + j]).sum();
            for j in 0..k {
                p[i * k + j] = if l == 0.0 {
                    f64::from(u8::from(i == j))
                } else if i == j {
                    (-l).exp()
                } else {
                    -(-l).exp_m1() * lam[i * k + j] / l
                };
            }
        }
        let mut q = p.clone();
        if let Some(s) = m.deal {
            for i in (0..k).filter(|&i| i != s) {
                q[i * k + s] = 0.0;
            }
        }
        let mats = &mut self.mats[slot];
        (mats.p, mats.q, mats.built) = (p, q, false);
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
            if let Some((tl, sm)) = self.timeline {
                // The case's segments and this draw's matrices for them: a short run steps here.
                let next = tl.at(&mut st.cursor, d);
                let b = tl.bucket[st.cursor];
                let end = to.min(next);
                let n = (end - d) as u64;
                if m.buckets[b].matrix.is_none() && (n <= self.short_run || n == 1) {
                    debug_assert_eq!(tl.after[st.cursor], d >= st.switch, "the timeline's switch day");
                    debug_assert_eq!(b, m.bucket_for(self.span.t - d));
                    let [i0, i1] = sm.idx[st.cursor];
                    if i1 != i0 {
                        st.split();
                    }
                    let kk = k * k;
                    step_short(st, [sm.get(i0, free, kk), sm.get(i1, free, kk)], n, k);
                    st.day = end;
                    if !free {
                        st.pending += 1;
                        if st.pending >= 32 || n > 365 {
                            st.normalise();
                        }
                    }
                    continue;
                }
            }
            let b = m.bucket_for(self.span.t - d);
            // The run ends where the bucket changes.
            let mut end = to.min(self.span.t - m.buckets[b].min_left + 1);
            let (mut x0, mut x1) = ([0.0; N_INPUTS], [0.0; N_INPUTS]);
            // With a timeline: whether the halves' matrices (copied into the scratch sets) differ.
            let mut from_segments = None;
            if m.has_inputs && m.buckets[b].matrix.is_none() {
                if let Some((tl, sm)) = self.timeline {
                    // A long run of the case's segments (no input yet; short ones stepped above): this draw's
                    // matrices for it, with their binary powers, in the scratch sets.
                    end = end.min(tl.at(&mut st.cursor, d));
                    let [i0, i1] = sm.idx[st.cursor];
                    let kk = k * k;
                    for (slot, i) in [(0, i0), (1, i1)] {
                        let mats = &mut self.mats[slot];
                        mats.p.clear();
                        mats.p.extend_from_slice(sm.get(i, true, kk));
                        mats.q.clear();
                        mats.q.extend_from_slice(sm.get(i, false, kk));
                        mats.built = false;
                        self.keys[slot] = None;
                    }
                    from_segments = Some(i1 != i0);
                } else {
                    // Inputs: bring the tracker to day d.
                    let limit = st.input_limit;
                    st.tracker
                        .bring(m, &self.span, &self.inputs, &mut st.cursor, d, limit);
                    let g = st.tracker.g;
                    // The inputs depend on the tracker (which changes only with its grid point and cursor) and on
                    // which side of the switch day `d` is: reuse them while those stay the same.
                    let key = (st.tracker.g, st.cursor, st.switch, d < st.switch);
                    let nonzero = match &st.inputs {
                        Some(c) if c.key == key && self.reuse_inputs => {
                            (x0, x1) = (c.x0, c.x1);
                            c.nonzero
                        }
                        _ => {
                            let counts = st.tracker.counts();
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
                    // The run also ends at the grid point where the next input event joins the counts, at the
                    // next grid point while any count is non-zero or an event waits to join, and at the switch
                    // day.
                    if st.cursor < self.inputs.len() && self.inputs[st.cursor].0 <= limit {
                        end = end.min(grid_on_or_after(&self.span, self.inputs[st.cursor].0));
                    }
                    if nonzero || !st.tracker.recent.is_empty() {
                        end = end.min(g + 7);
                    }
                    if leave_input && d < st.switch {
                        end = end.min(st.switch);
                    }
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
            let (e0, e1) = match from_segments {
                Some(two) => (0, usize::from(two)),
                None => {
                    let e0 = self.mats(0, b, &x0);
                    (e0, if x1 == x0 { e0 } else { self.mats(1, b, &x1) })
                }
            };
            if e1 != e0 {
                st.split();
            }
            if n <= self.short_run || (n == 1 && st.merged) {
                let pw = |e: usize| {
                    if free {
                        &self.mats[e].p[..]
                    } else {
                        &self.mats[e].q[..]
                    }
                };
                step_short(st, [pw(e0), pw(e1)], n, k);
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

/// Step `st` by `n` days with the daily matrices `pw` of its halves (`P` or `Q`, the first `k²` entries), one
/// product a day: for short runs (inputs change at least weekly while any count is non-zero), where `n`
/// products cost less than squaring the matrix.
#[inline]
fn step_short(st: &mut State, pw: [&[f64]; 2], n: u64, k: usize) {
    if n == 1 && st.merged {
        // The common case: one day, one shared vector, the daily matrix.
        linalg::step(&mut st.a, pw[0], k);
        return;
    }
    for (half, pw) in pw.into_iter().enumerate() {
        if half == 1 && st.merged {
            break;
        }
        let v = if half == 0 { &mut st.a } else { &mut st.b };
        if !st.merged && v.iter().all(|x| *x == 0.0) {
            continue;
        }
        for _ in 0..n {
            linalg::step(v, pw, k);
        }
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

/// [`competing_risks`] into `p` (`k x k`).
fn competing_risks_into(lam: &[f64], k: usize, p: &mut [f64]) {
    for i in 0..k {
        competing_risks_row(lam, k, i, &mut p[i * k..(i + 1) * k]);
    }
}

/// Row `i` of [`competing_risks`] into `row` (`k` entries).
///
/// With `phi(L) = -expm1(-L) / L`, `P_ij = lambda_ij phi(L)` and `P_ii = exp(-L) = 1 - L phi(L)`. Daily rates
/// are small: below [`PHI_SERIES_BELOW`], `phi` is its Taylor series `Σ (-L)^n / (n + 1)!` to `n = 9` (the
/// first term left out is below `L^10 / 11! < 3e-20`), which costs no call to `expm1`, `exp` or a division.
#[inline]
fn competing_risks_row(lam: &[f64], k: usize, i: usize, row: &mut [f64]) {
    let l: f64 = (0..k).filter(|&j| j != i).map(|j| lam[i * k + j]).sum();
    if l == 0.0 {
        row.iter_mut().for_each(|v| *v = 0.0);
        row[i] = 1.0;
        return;
    }
    let (phi, stay) = if l < PHI_SERIES_BELOW {
        let phi = phi_series(l);
        (phi, 1.0 - l * phi)
    } else {
        (-(-l).exp_m1() / l, (-l).exp())
    };
    for j in 0..k {
        row[j] = lam[i * k + j] * phi;
    }
    row[i] = stay;
}

/// [`competing_risks_row`] for a compile-time number of regimes, from the row's rates `lam`: the same
/// arithmetic.
#[inline(always)]
fn competing_risks_row_fixed<const K: usize>(lam: &[f64; K], i: usize, row: &mut [f64; K]) {
    let mut l = 0.0;
    for (j, x) in lam.iter().enumerate() {
        if j != i {
            l += x;
        }
    }
    if l == 0.0 {
        *row = [0.0; K];
        row[i] = 1.0;
        return;
    }
    let (phi, stay) = if l < PHI_SERIES_BELOW {
        let phi = phi_series(l);
        (phi, 1.0 - l * phi)
    } else {
        (-(-l).exp_m1() / l, (-l).exp())
    };
    for j in 0..K {
        row[j] = lam[j] * phi;
    }
    row[i] = stay;
}

/// Total daily rates below this use [`phi_series`].
const PHI_SERIES_BELOW: f64 = 1.0 / 16.0;

/// `(1 - exp(-l)) / l` by its Taylor series to `l^9`, for `0 < l < 1/16`, evaluated by Estrin's scheme: pairs
/// of terms combined by powers `l^2`, `l^4`, `l^8` computed alongside, so the dependent chain is four
/// multiply-adds long rather than Horner's nine (the rows of a matrix build wait on it).
#[inline(always)]
fn phi_series(l: f64) -> f64 {
    // 1/(n + 1)! for n = 0..=9.
    const C: [f64; 10] = [
        1.0,
        1.0 / 2.0,
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5040.0,
        1.0 / 40320.0,
        1.0 / 362880.0,
        1.0 / 3628800.0,
    ];
    let x = -l;
    let x2 = x * x;
    let x4 = x2 * x2;
    let x8 = x4 * x4;
    let p01 = C[0] + C[1] * x;
    let p23 = C[2] + C[3] * x;
    let p45 = C[4] + C[5] * x;
    let p67 = C[6] + C[7] * x;
    let p89 = C[8] + C[9] * x;
    let p03 = p01 + x2 * p23;
    let p47 = p45 + x2 * p67;
    (p03 + x4 * p47) + x8 * p89
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

/// [`run`] without future events, with the inputs from the case's `timeline` (made from `evs` by
/// [`InputTimeline::new`]), which parameter draws share, and the daily matrices built in `mats` (scratch).
pub(crate) fn run_timeline(
    model: &ModelV2,
    span: Span,
    evs: &[Ev],
    until: i64,
    timeline: &InputTimeline,
    mats: &mut SegMats,
) -> Result<Run> {
    let obs = &evs[..evs.partition_point(|e| e.day <= until)];
    debug_assert_eq!(
        obs.len(),
        evs.len(),
        "a timeline is made from the events up to the as-of date"
    );
    let mut w = Walker::new(model, span);
    match model.k {
        2 => mats.build::<2>(model, &span, timeline),
        3 => mats.build::<3>(model, &span, timeline),
        4 => mats.build::<4>(model, &span, timeline),
        5 => mats.build::<5>(model, &span, timeline),
        6 => mats.build::<6>(model, &span, timeline),
        // Larger models: the walker's own matrices.
        _ => {
            w.set_inputs(obs);
            return finish_run(w, obs, until);
        }
    }
    w.set_timeline(timeline, mats);
    finish_run(w, obs, until)
}

/// Filter `obs` to `until` and forecast from there.
fn finish_run(mut w: Walker, obs: &[Ev], until: i64) -> Result<Run> {
    let st = filter_to(&mut w, obs, until)?;
    let mut fut = st.clone();
    fut.input_limit = i64::MAX;
    let outcomes = forecast_from(&mut w, &mut fut);
    Ok(Run { state: st, outcomes })
}

/// Filter `evs` (sorted, all dated up to `until`) from the start to `until` (clamped to the span).
pub(crate) fn filter_to(w: &mut Walker, evs: &[Ev], until: i64) -> Result<State> {
    // The batch path, with the halves merged, up to the first fate signal and, with a timeline (parameter
    // draws), up to the switch day, where the halves' inputs part; the general path goes on from there. Without
    // inputs the matrices depend only on the bucket; with them, only a timeline's segments give them.
    let stop = match w.timeline {
        _ if !w.model.has_inputs => Some(i64::MAX),
        Some((tl, _)) if w.model.buckets.iter().all(|b| b.matrix.is_none()) => Some(tl.switch),
        _ => None,
    };
    if let Some(stop) = stop {
        let r = match w.model.k {
            2 => Some(filter_fixed_to::<2>(w, evs, until, stop)?),
            3 => Some(filter_fixed_to::<3>(w, evs, until, stop)?),
            4 => Some(filter_fixed_to::<4>(w, evs, until, stop)?),
            5 => Some(filter_fixed_to::<5>(w, evs, until, stop)?),
            _ => None,
        };
        if let Some((st, i)) = r {
            return filter_general_from(w, st, &evs[i..], until);
        }
    }
    filter_general(w, evs, until)
}

/// [`filter_to`] for any model: the joint state in vectors, split when the halves' dynamics differ.
fn filter_general(w: &mut Walker, evs: &[Ev], until: i64) -> Result<State> {
    let st = w.start();
    filter_general_from(w, st, evs, until)
}

/// [`filter_general`] from state `st` (on a day before the first of `evs`, or on it with none of its signals
/// applied yet).
fn filter_general_from(w: &mut Walker, mut st: State, evs: &[Ev], until: i64) -> Result<State> {
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
    /// Log-likelihood folded so far, and the product of the normalisers not yet in it
    /// ([`crate::inference::fold`]).
    log_likelihood: f64,
    scale: f64,
    pending: u32,
    /// The first day after the current bucket's run (the step from `day` uses this bucket while `day < end`).
    bucket_end: i64,
    /// Binary powers of `Q` and `P` of the current bucket.
    powers: [&'a [f64]; 2],
    /// The case's segments and this draw's matrices for them, instead of the buckets' powers (before the
    /// switch day, where the halves share their matrices), with the current segment.
    seg: Option<(&'a InputTimeline, &'a SegMats)>,
    cursor: usize,
    /// Scratch for the binary powers of a long run's matrix.
    scratch: Vec<f64>,
}

impl<'a, const K: usize> Batch<'a, K> {
    #[inline(always)]
    fn normalise(&mut self, a: &mut [f64; K]) {
        let c: f64 = a.iter().sum();
        let inv = 1.0 / c;
        a.iter_mut().for_each(|x| *x *= inv);
        // Into the running product (a logarithm every few hundred renormalisations, not at each).
        crate::inference::fold(&mut self.log_likelihood, &mut self.scale, c);
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
        if let Some((tl, sm)) = self.seg {
            // By value, so that the state's address is never taken and it can stay in registers.
            *a = self.propagate_segments(*a, to, free, tl, sm);
            return;
        }
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

impl<const K: usize> Batch<'_, K> {
    /// [`Batch::propagate`] with the segments' daily matrices, run by run as [`Walker::advance`] takes them:
    /// day by day up to [`SHORT_RUN`] days, by binary powers beyond.
    #[inline(always)]
    fn propagate_segments(
        &mut self,
        mut v: [f64; K],
        to: i64,
        free: bool,
        tl: &InputTimeline,
        sm: &SegMats,
    ) -> [f64; K] {
        let a = &mut v;
        let kk = K * K;
        while self.day < to {
            let end = to.min(tl.at(&mut self.cursor, self.day));
            let n = (end - self.day) as u64;
            let pw = sm.get(sm.idx[self.cursor][0], free, kk);
            if n <= SHORT_RUN {
                for _ in 0..n {
                    linalg::step_fixed::<K>(a, pw);
                }
            } else {
                let levels = (64 - n.leading_zeros() as usize).clamp(1, MAX_LEVELS);
                self.scratch.clear();
                self.scratch.extend_from_slice(pw);
                for l in 1..levels {
                    let sq = {
                        let prev = &self.scratch[(l - 1) * kk..l * kk];
                        linalg::matmul(prev, prev, K)
                    };
                    self.scratch.extend_from_slice(&sq);
                }
                linalg::apply_power_fixed::<K>(a, &self.scratch, n);
            }
            self.day = end;
            if !free {
                self.pending += 1;
                if self.pending >= 32 || n > 365 {
                    self.normalise(a);
                }
            }
        }
        v
    }
}

/// [`filter_fixed_to`] without a stop day, for the tests that compare it with the general path on signals
/// without fate types.
#[cfg(test)]
fn filter_fixed<const K: usize>(w: &mut Walker, evs: &[Ev], until: i64) -> Result<State> {
    Ok(filter_fixed_to::<K>(w, evs, until, i64::MAX)?.0)
}

/// [`filter_to`]'s batch path: while the matrices depend only on the bucket (or, with a timeline, come from its
/// segments) and no fate signal has come, the halves stay proportional, so one regime vector of compile-time
/// size `K` carries the state. Same arithmetic as the general path, in the same order.
///
/// It runs up to `until`, and stops early at day `stop` (with a timeline ([`Walker::set_timeline`]), the switch
/// day, where the halves' inputs part) or at the first day with a fate signal: the state there, with none of
/// that day's signals applied, and the index of the first event it did not apply, for the general path to go
/// on from.
fn filter_fixed_to<const K: usize>(
    w: &mut Walker,
    evs: &[Ev],
    until: i64,
    stop: i64,
) -> Result<(State, usize)> {
    let m = w.model;
    let span = w.span;
    let mut stop = stop;
    let clamped = until.clamp(span.start, span.last);
    let mut a: [f64; K] = m.prior[..K].try_into().expect("the model has K regimes");
    let mut s = Batch::<K> {
        m,
        span,
        day: span.start,
        log_likelihood: 0.0,
        scale: 1.0,
        pending: 0,
        bucket_end: i64::MIN,
        powers: [&[], &[]],
        seg: w.timeline,
        cursor: 0,
        scratch: Vec::new(),
    };
    let mut used = 0;
    let mut i = 0;
    while i < evs.len() && evs[i].day <= clamped && evs[i].day < stop {
        let d = evs[i].day;
        // The common day: one evidence signal of weight 1, alone on its day (the group below, in fewer steps).
        if (i + 1 == evs.len() || evs[i + 1].day != d) && evs[i].w == 1.0 {
            let e = &evs[i];
            let t = &m.types[e.ty];
            if t.rank == 0 {
                if d > s.day {
                    s.propagate(&mut a, d, false);
                }
                a = evidence_fixed::<K>(&mut s, a, t, e);
                used += 1;
                i += 1;
                continue;
            }
        }
        let mut j = i;
        while j < evs.len() && evs[j].day == d {
            j += 1;
        }
        let group = &evs[i..j];
        // The day's roles by rank: a deal entered (1), a fate signal (3, which splits the halves: the batch
        // stops before its day and the general path goes on from there).
        let (mut deal_day, mut fate) = (false, false);
        for e in group {
            match m.types[e.ty].rank {
                1 => deal_day = true,
                3 => fate = true,
                _ => {}
            }
        }
        if fate {
            stop = d;
            break;
        }
        if d > s.day {
            // "No deal today" on every day but a deal's own (its last step uses `P`).
            if deal_day && m.deal.is_some() {
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
                    if e.w == 1.0 {
                        a = evidence_fixed::<K>(&mut s, a, t, e);
                    } else {
                        let noise = (1.0 - e.rho) * t.mean;
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
                        a = repudiate_fixed(a, sd, m.repudiate_to, e.rho);
                    }
                }
                1 => {
                    if let Some(sd) = m.deal {
                        if e.rho == 1.0 && s.day > span.start {
                            let zero;
                            (a, zero) = only_fixed(a, sd);
                            if zero {
                                return Err(impossible(m, e));
                            }
                            s.normalise(&mut a);
                        } else {
                            // Jeffrey's rule; with proportional halves, one formula covers both branches of
                            // the general path.
                            a = jeffrey_fixed(a, sd, e.rho);
                        }
                    }
                }
                3 => unreachable!("the batch stops before a day with a fate signal"),
                _ => {}
            }
            used += 1;
        }
        i = j;
    }
    let until = clamped.min(stop);
    if i < evs.len()
        && evs[i].day == stop
        && stop <= until
        && m.deal.is_some()
        && evs[i..]
            .iter()
            .take_while(|e| e.day == stop)
            .any(|e| m.types[e.ty].rank == 1)
    {
        // The general path goes on with the signals of the stop day: its last step into it uses `P` when
        // one is a deal.
        s.propagate(&mut a, stop - 1, false);
        s.propagate(&mut a, stop, true);
    } else {
        s.propagate(&mut a, until, false);
    }
    let mut st = w.start();
    st.a.copy_from_slice(&a);
    st.log_likelihood = s.log_likelihood + s.scale.ln();
    st.pending = s.pending;
    st.day = s.day.max(until);
    st.used = used;
    st.input_limit = until;
    st.cursor = s.cursor;
    Ok((st, i))
}

/// The batch path's update by an evidence signal `e` of type `t` and weight 1.
#[inline(always)]
fn evidence_fixed<const K: usize>(
    s: &mut Batch<'_, K>,
    mut a: [f64; K],
    t: &super::spec::TypeV2,
    e: &Ev,
) -> [f64; K] {
    let q: &[f64; K] = t.q[..K].try_into().expect("q has K entries");
    if e.rho == 1.0 {
        // `1 q(r) + 0 = q(r)` exactly, without the arithmetic.
        for r in 0..K {
            a[r] *= q[r];
        }
    } else {
        let noise = (1.0 - e.rho) * t.mean;
        for r in 0..K {
            a[r] *= e.rho * q[r] + noise;
        }
    }
    // Only to decide whether to renormalise (which sums again): pairwise, off the step's path.
    let c = linalg::pairwise_sum(a);
    s.pending += 1;
    if s.pending >= 32 || c < 1e-100 {
        s.normalise(&mut a);
    }
    a
}

// The batch path's updates that index the state by a regime known only at run time: out of line and by value,
// so that the state's address is never taken in the batch loop and it stays in registers there.

/// A repudiation: `rho` times the deal regime's mass moves to the fallback regime.
#[inline(never)]
fn repudiate_fixed<const K: usize>(mut a: [f64; K], sd: usize, to: usize, rho: f64) -> [f64; K] {
    let moved = rho * a[sd];
    a[sd] -= moved;
    a[to] += moved;
    a
}

/// A deal of reliability 1: the mass outside the deal regime removed; and whether none is left.
#[inline(never)]
fn only_fixed<const K: usize>(mut a: [f64; K], sd: usize) -> ([f64; K], bool) {
    for (r, x) in a.iter_mut().enumerate() {
        if r != sd {
            *x = 0.0;
        }
    }
    let zero = a[sd] == 0.0;
    (a, zero)
}

/// A deal of reliability `rho < 1` by Jeffrey's rule: `P(deal) <- max(P(deal), rho)`, the rest in proportion.
#[inline(never)]
fn jeffrey_fixed<const K: usize>(mut a: [f64; K], sd: usize, rho: f64) -> [f64; K] {
    let z: f64 = a.iter().sum();
    if a[sd] < rho * z {
        let rest = (1.0 - rho) * z / (z - a[sd]);
        for x in a.iter_mut() {
            *x *= rest;
        }
        a[sd] = rho * z;
    }
    a
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

    /// `batch` (an entry to the batch path) and the general path filter `used` to `until` alike and forecast
    /// alike from there, or fail alike (a deal of reliability 1 can have probability 0: both then say so).
    fn paths_agree(
        m: &ModelV2,
        span: Span,
        used: &[Ev],
        until: i64,
        batch: fn(&mut Walker, &[Ev], i64) -> Result<State>,
    ) -> std::result::Result<(), proptest::test_runner::TestCaseError> {
        let mut w1 = Walker::new(m, span);
        let mut w2 = Walker::new(m, span);
        match (batch(&mut w1, used, until), filter_general(&mut w2, used, until)) {
            (Ok(a), Ok(b)) => {
                let (mut fa, mut fb) = (a.clone(), b.clone());
                let (oa, ob) = (forecast_from(&mut w1, &mut fa), forecast_from(&mut w2, &mut fb));
                assert_same(&a, &b, oa, ob);
            }
            (Err(a), Err(b)) => proptest::prop_assert_eq!(a.to_string(), b.to_string()),
            (a, b) => panic!("the paths disagree: {a:?} vs {b:?}"),
        }
        Ok(())
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
            paths_agree(&m, span, &used, until, filter_fixed::<4>)?;
            // With fate signals too: `filter_to` takes the batch path up to the first one's day and the general
            // path from there.
            let with_fate: Vec<Ev> = random_events(&m, &span, seed.rotate_left(29), n, true)
                .into_iter()
                .filter(|e| e.day <= until)
                .collect();
            paths_agree(&m, span, &with_fate, until, filter_to)?;

            let levels = (64 - ((span.t - span.start) as u64).leading_zeros()) as usize;
            let mut r1 = crate::uncertainty::stream(seed, 0);
            let mut r2 = crate::uncertainty::stream(seed, 0);
            let (d1, d2) = (m.draw(&mut r1, levels), m.draw(&mut r2, 16));
            if let (Ok(x), Ok(y)) = (run(&d1, span, &used, until, &[]), run(&d2, span, &used, until, &[])) {
                assert_same(&x.state, &y.state, x.outcomes, y.outcomes);
            }
        }

        /// Parameter draws' fast path (the case's input timeline shared by the draws, each draw's matrices built
        /// in one pass with the rows' series, the batch path up to the switch day) equals the straightforward
        /// filter (inputs recomputed every step, every matrix built from the formula with `exp` and `expm1`,
        /// every run of more than a day by binary powers) on random models with inputs, random draws of them and
        /// random signals of every role (fate included), to 1e-12: filtered state, log-likelihood and forecast.
        #[test]
        fn draws_fast_path_matches_the_straightforward_filter(
            seed in 1u64.., n in 0usize..250, cut in 0i64..1462, eligible: bool, draw in 0u64..4,
        ) {
            let base = random_model(seed, true);
            let m = if draw == 0 {
                base.clone()
            } else {
                let levels = (64 - 1462u64.leading_zeros()) as usize;
                base.draw(&mut crate::uncertainty::stream(seed, draw), levels)
            };
            let span = Span::new(&m, &terms(eligible)).unwrap();
            let until = span.start + cut;
            let evs: Vec<Ev> = random_events(&m, &span, seed.rotate_left(7), n, true)
                .into_iter()
                .filter(|e| e.day <= until)
                .collect();
            // The timeline comes from the undrawn model, as in `draw_forecasts`.
            let tl = InputTimeline::new(&base, &Span::new(&base, &terms(eligible)).unwrap(), &evs);
            let mut sm = SegMats::default();
            let fast = run_timeline(&m, span, &evs, until, &tl, &mut sm);
            let mut w = Walker::new(&m, span);
            w.reuse_inputs = false;
            w.short_run = 0;
            w.reference = true;
            w.set_inputs(&evs);
            let slow = filter_general(&mut w, &evs, until).map(|st| {
                let mut f = st.clone();
                f.input_limit = i64::MAX;
                let o = forecast_from(&mut w, &mut f);
                (st, o)
            });
            match (fast, slow) {
                (Ok(a), Ok((b, ob))) => assert_same(&a.state, &b, a.outcomes, ob),
                (Err(a), Err(b)) => proptest::prop_assert_eq!(a.to_string(), b.to_string()),
                (a, b) => panic!("the fast path disagrees: {a:?} vs {b:?}"),
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
