//! Cases (a campaign being forecast) and episodes (finished cases with their outcome).

use std::cmp::Ordering;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use chrono::{Datelike, Days, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::dates::parse_date;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::signal::Signal;
#[cfg(test)]
use crate::signal::Text;
use crate::vocab;

/// Something that says which signal types exist: a [`Model`], or [`V1`] for the fixed vocabulary.
pub trait Vocabulary {
    /// Check that a signal type exists.
    ///
    /// # Errors
    /// [`Error::UnknownSignalType`] naming the valid types.
    fn check_type(&self, name: &str) -> Result<()>;
}

/// The fixed v1 vocabulary of `docs/signals.md` (19 types).
#[derive(Debug, Clone, Copy, Default)]
pub struct V1;

/// The fixed v2 vocabulary of `docs/signals.md`: v1 plus `target_withdraws_from_agreement`,
/// `sender_leader_reelected` and `sender_leader_departing`.
#[derive(Debug, Clone, Copy, Default)]
pub struct V2;

impl Vocabulary for V2 {
    fn check_type(&self, name: &str) -> Result<()> {
        if vocab::role(name).is_some() {
            Ok(())
        } else {
            Err(Error::UnknownSignalType {
                name: name.to_owned(),
                valid: vocab::signal_types_v2().map(|(n, _, _)| n.to_owned()).collect(),
                line: None,
            })
        }
    }
}

impl Vocabulary for V1 {
    fn check_type(&self, name: &str) -> Result<()> {
        if vocab::describe_v1(name).is_some() {
            Ok(())
        } else {
            Err(Error::UnknownSignalType {
                name: name.to_owned(),
                valid: vocab::signal_types_v1().map(str::to_owned).collect(),
                line: None,
            })
        }
    }
}

impl Vocabulary for Model {
    fn check_type(&self, name: &str) -> Result<()> {
        self.type_index(name).map(|_| ())
    }
}

/// What an append did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AppendReport {
    /// Signals stored.
    pub added: usize,
    /// Signals whose id was already present with the same content (idempotent retries).
    pub unchanged: usize,
}

/// A coercion campaign: sender, target, start, term end and its signals.
///
/// Signals are kept in a canonical order (date, then type, id and the other fields), so the order in which
/// they arrive never changes a forecast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    /// The case's id.
    pub id: String,
    /// The state applying pressure.
    pub sender: String,
    /// The state pressed.
    pub target: String,
    /// The campaign's start.
    pub start: NaiveDate,
    /// The sender leader's term end.
    pub term_end: NaiveDate,
    /// Free text.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Whether the sender's leader can remain in office after the term end (stand again, extend the term);
    /// default true. When false, a stalemate is impossible (`docs/outcomes.md`).
    #[serde(default = "yes")]
    pub reelection_eligible: bool,
    /// The day the leader's fate after the term end is decided, as given in the file; see
    /// [`Case::election_date`] for the effective date.
    #[serde(default, rename = "election_date", skip_serializing_if = "Option::is_none")]
    pub election_date_given: Option<NaiveDate>,
    signals: SignalList,
}

/// A case's signals in canonical order, in structures that a clone shares: cloning a case copies no signal,
/// and an append or a removal costs the signals it changes, not the history.
///
/// - `runs`: the signals in runs of at most [`2 * CHUNK`](CHUNK), each a range of a shared buffer; a clone
///   copies the list of runs (one per [`CHUNK`] signals), a change copies the one run it touches into a buffer
///   of its own when that run is shared or a range of a larger buffer (copy on write), except that a signal
///   after the end of a shared last run of at least [`CHUNK`] signals starts a new run (an append in date order
///   copies the partly filled last run only). A persistent RRB vector
///   (`imbl::Vector`) was measured first: its insertion inside the history splits and re-joins the tree,
///   0.76 ms for one signal into 100,000 against about 20 us here;
/// - `ids`: where each signal id is (see [`IdIndex`]), kept with every change (an append checks its ids against
///   it instead of indexing the whole case);
/// - `flat`: the contiguous list that [`Case::signals`] hands out, shared by the clones made before the next
///   change. A list built whole (a case read from a file, a large append) is one buffer that the runs are
///   ranges of, so the contiguous list is that buffer and costs nothing more (issue 14: one copy of the
///   signals, not two); after smaller changes it is made on first use, and the next change makes the runs
///   ranges of it, so the buffers it replaced are freed with the versions that still use them.
///
/// The serde form is the plain list of signals.
#[derive(Clone, Default)]
struct SignalList {
    runs: Vec<Run>,
    len: usize,
    ids: IdIndex,
    flat: Arc<OnceLock<Arc<Vec<Signal>>>>,
}

/// The size of a run of [`SignalList`]: runs are cut to this size, and split in two when they reach twice it.
const CHUNK: usize = 128;

/// Above this share of new signals in one batch (new / stored), the list is rebuilt and sorted once instead of
/// taking one insertion per signal.
const REBUILD_SHARE: usize = 8;

/// A run of [`SignalList`]: the signals `start..end` of a buffer that runs, clones and the contiguous list
/// share.
#[derive(Clone)]
struct Run {
    buf: Arc<Vec<Signal>>,
    start: usize,
    end: usize,
}

impl Run {
    /// A run that is the whole of its own buffer.
    fn whole(signals: Vec<Signal>) -> Run {
        let end = signals.len();
        Run {
            buf: Arc::new(signals),
            start: 0,
            end,
        }
    }

    fn as_slice(&self) -> &[Signal] {
        &self.buf[self.start..self.end]
    }

    fn last(&self) -> Option<&Signal> {
        self.as_slice().last()
    }

    /// Whether the run is the whole of a buffer that nothing else holds (a change needs no copy).
    fn owned(&self) -> bool {
        self.start == 0
            && self.end == self.buf.len()
            && Arc::strong_count(&self.buf) == 1
            && Arc::weak_count(&self.buf) == 0
    }

    /// The run's signals to change in place: copied first into a buffer of its own when the buffer is shared
    /// or holds more than this run. The caller sets `end` to the vector's new length.
    fn make_mut(&mut self) -> &mut Vec<Signal> {
        if !self.owned() {
            self.buf = Arc::new(self.as_slice().to_vec());
            self.start = 0;
        }
        Arc::get_mut(&mut self.buf).expect("a run owns its buffer once copied")
    }
}

/// Where each signal id of a [`SignalList`] is: the signal's date (the list is in date order, so the signal is
/// found by a binary search on its date and a scan of that date's signals).
///
/// Keyed by a 64-bit hash of the id rather than the id, so the index holds no second copy of the ids (issue 14):
/// the pairs (hash, date) in sorted order, in runs of at most [`2 * ID_CHUNK`](ID_CHUNK) behind `Arc`s, shared by
/// clones and copied on write as the signal runs are; 16 bytes a signal when built whole (a case read, a large
/// append), at most twice that after many single inserts. Two ids may share a hash (about `n^2 / 2^65` pairs,
/// 3e-8 for a million signals): the pairs are a multiset, and every candidate date is checked against the
/// stored ids. Measured first: `imbl::HashMap<String, NaiveDate>` (about 250 bytes a signal with the copy of
/// the id), `imbl::HashMap<u64, NaiveDate>` (about 100, mostly sparse nodes), `imbl::OrdMap<u64, NaiveDate>`
/// (28, but a tree descent with cache misses per insert: a fifth of the time of appending a million signals).
#[derive(Clone, Default)]
struct IdIndex {
    chunks: Vec<Arc<Vec<(u64, NaiveDate)>>>,
}

/// The size of a run of [`IdIndex`]: runs are cut to this size, and split in two when they reach twice it.
const ID_CHUNK: usize = 256;

/// The key of an id in [`IdIndex`].
fn id_hash(id: &[u8]) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    #[cfg(test)]
    if tests::ALL_IDS_COLLIDE.with(std::cell::Cell::get) {
        return 7;
    }
    let mut h = rustc_hash::FxBuildHasher.build_hasher();
    h.write(id);
    h.write_usize(id.len());
    h.finish()
}

impl IdIndex {
    /// The index of `signals`.
    fn of(signals: &[Signal]) -> IdIndex {
        let mut keys: Vec<(u64, NaiveDate)> = signals
            .iter()
            .filter_map(|s| s.id.as_ref().map(|id| (id_hash(id.as_bytes()), s.date)))
            .collect();
        keys.sort_unstable();
        IdIndex {
            chunks: keys.chunks(ID_CHUNK).map(|c| Arc::new(c.to_vec())).collect(),
        }
    }

    /// The run where `key` is or would go.
    fn chunk_of(&self, key: (u64, NaiveDate)) -> usize {
        self.chunks
            .partition_point(|c| c.last().is_some_and(|l| *l < key))
            .min(self.chunks.len().saturating_sub(1))
    }

    /// The dates recorded for ids of this hash (usually none or one).
    fn dates(&self, h: u64) -> impl Iterator<Item = NaiveDate> + '_ {
        let first = self.chunks.partition_point(|c| c.last().is_some_and(|l| l.0 < h));
        self.chunks[first..]
            .iter()
            .flat_map(move |c| c[c.partition_point(|e| e.0 < h)..].iter())
            .take_while(move |e| e.0 == h)
            .map(|e| e.1)
    }

    /// Record an id at `date`.
    fn insert(&mut self, id: &str, date: NaiveDate) {
        let key = (id_hash(id.as_bytes()), date);
        if self.chunks.is_empty() {
            self.chunks.push(Arc::new(vec![key]));
            return;
        }
        let ci = self.chunk_of(key);
        let run = Arc::make_mut(&mut self.chunks[ci]);
        let at = run.partition_point(|e| *e < key);
        run.insert(at, key);
        if run.len() >= 2 * ID_CHUNK {
            let right = run.split_off(ID_CHUNK);
            self.chunks.insert(ci + 1, Arc::new(right));
        }
    }

    /// Forget an id recorded at `date`.
    fn remove(&mut self, id: &str, date: NaiveDate) {
        let key = (id_hash(id.as_bytes()), date);
        let Some(ci) = (!self.chunks.is_empty()).then(|| self.chunk_of(key)) else {
            return;
        };
        let Ok(at) = self.chunks[ci].binary_search(&key) else {
            return;
        };
        let run = Arc::make_mut(&mut self.chunks[ci]);
        run.remove(at);
        if run.is_empty() {
            self.chunks.remove(ci);
        }
    }
}

impl SignalList {
    /// The list of `signals`, which must be in canonical order: one buffer that the runs are ranges of and that
    /// is also the contiguous list.
    fn from_vec(mut signals: Vec<Signal>) -> SignalList {
        signals.shrink_to_fit();
        let ids = IdIndex::of(&signals);
        let len = signals.len();
        let buf = Arc::new(signals);
        let runs = (0..len)
            .step_by(CHUNK)
            .map(|start| Run {
                buf: buf.clone(),
                start,
                end: (start + CHUNK).min(len),
            })
            .collect();
        SignalList {
            runs,
            len,
            ids,
            flat: Arc::new(OnceLock::from(buf)),
        }
    }

    fn len(&self) -> usize {
        self.len
    }

    fn iter(&self) -> impl Iterator<Item = &Signal> {
        self.runs.iter().flat_map(Run::as_slice)
    }

    fn as_slice(&self) -> &[Signal] {
        self.flat
            .get_or_init(|| Arc::new(self.iter().cloned().collect()))
            .as_slice()
    }

    /// Before a change: when the contiguous list was made and the runs are not yet ranges of it, make them so
    /// (same boundaries), so the buffers it copied are freed once no other version uses them. Then forget the
    /// contiguous list, which the change makes stale.
    fn settle(&mut self) {
        if let Some(flat) = self.flat.get().cloned()
            && !self.runs.iter().all(|r| Arc::ptr_eq(&r.buf, &flat))
        {
            let mut start = 0;
            for r in &mut self.runs {
                let n = r.end - r.start;
                *r = Run {
                    buf: flat.clone(),
                    start,
                    end: start + n,
                };
                start += n;
            }
        }
        self.flat = Arc::default();
    }

    /// The position (run, index in the run) of the signal with this id.
    fn position(&self, id: &str) -> Option<(usize, usize)> {
        self.ids
            .dates(id_hash(id.as_bytes()))
            .find_map(|date| self.position_on(date, id))
    }

    /// The position of the signal with this id among the signals dated `date`.
    fn position_on(&self, date: NaiveDate, id: &str) -> Option<(usize, usize)> {
        let first = self
            .runs
            .partition_point(|r| r.last().is_some_and(|l| l.date < date));
        for (ri, r) in self.runs.iter().enumerate().skip(first) {
            let run = r.as_slice();
            let from = run.partition_point(|x| x.date < date);
            for (i, s) in run.iter().enumerate().skip(from) {
                if s.date != date {
                    return None;
                }
                if s.id.as_ref().is_some_and(|x| x.as_bytes() == id.as_bytes()) {
                    return Some((ri, i));
                }
            }
        }
        None
    }

    /// Index of the first signal dated on or after `date` (`len` if none).
    fn first_index_on_or_after(&self, date: NaiveDate) -> usize {
        let before = self
            .runs
            .partition_point(|r| r.last().is_some_and(|l| l.date < date));
        let skipped: usize = self.runs[..before].iter().map(|r| r.end - r.start).sum();
        skipped
            + self
                .runs
                .get(before)
                .map_or(0, |r| r.as_slice().partition_point(|x| x.date < date))
    }

    /// The signals from index `from` on: a slice of the contiguous list when it exists, else a copy of those
    /// signals only (the runs before them skipped whole).
    fn tail(&self, from: usize) -> std::borrow::Cow<'_, [Signal]> {
        if let Some(flat) = self.flat.get() {
            return std::borrow::Cow::Borrowed(&flat[from.min(flat.len())..]);
        }
        let mut out = Vec::with_capacity(self.len.saturating_sub(from));
        let mut skipped = 0;
        for r in &self.runs {
            let run = r.as_slice();
            if skipped + run.len() <= from {
                skipped += run.len();
                continue;
            }
            out.extend_from_slice(&run[from.saturating_sub(skipped)..]);
            skipped += run.len();
        }
        std::borrow::Cow::Owned(out)
    }

    /// The signals from index `from` on, read in place: a slice of the contiguous list when it exists, else
    /// the runs (those before `from` skipped whole). No copy.
    fn iter_from(&self, from: usize) -> impl Iterator<Item = &Signal> {
        let (flat, runs) = match self.flat.get() {
            Some(flat) => (&flat[from.min(flat.len())..], &[][..]),
            None => (&[][..], &self.runs[..]),
        };
        let mut skipped = 0;
        let runs = runs.iter().filter_map(move |r| {
            let run = r.as_slice();
            let at = skipped;
            skipped += run.len();
            (at + run.len() > from).then(|| &run[from.saturating_sub(at)..])
        });
        flat.iter().chain(runs.flatten())
    }

    fn get(&self, id: &str) -> Option<&Signal> {
        self.position(id).map(|(r, i)| &self.runs[r].as_slice()[i])
    }

    /// Add one signal at its place in the canonical order.
    fn insert(&mut self, s: Signal) {
        let Some(last) = self.runs.len().checked_sub(1) else {
            self.runs.push(Run::whole(vec![s]));
            return;
        };
        let ri = self
            .runs
            .partition_point(|r| r.last().is_some_and(|l| canonical_order(l, &s) == Ordering::Less))
            .min(last);
        let run = &mut self.runs[ri];
        // After the last signal of a last run of at least CHUNK signals that another version shares: a new run
        // (a feed in date order then copies at most the CHUNK - 1 signals of the run it is filling, not a full one).
        if ri == last
            && run.end - run.start >= CHUNK
            && !run.owned()
            && run
                .last()
                .is_some_and(|l| canonical_order(l, &s) != Ordering::Greater)
        {
            self.runs.push(Run::whole(vec![s]));
            return;
        }
        let v = run.make_mut();
        let at = v.partition_point(|x| canonical_order(x, &s) != Ordering::Greater);
        v.insert(at, s);
        let right = (v.len() >= 2 * CHUNK).then(|| v.split_off(CHUNK));
        let n = v.len();
        run.end = n;
        if let Some(right) = right {
            self.runs.insert(ri + 1, Run::whole(right));
        }
    }

    /// Add signals (checked by the caller: their ids are new and distinct) in canonical order.
    fn extend(&mut self, fresh: Vec<Signal>) {
        if fresh.is_empty() {
            return;
        }
        if fresh.len().saturating_mul(REBUILD_SHARE) >= self.len {
            // The batch's buffer takes the stored signals (no copy of the batch; none at all into an empty list).
            let mut all = fresh;
            all.reserve_exact(self.len);
            all.extend(self.iter().cloned());
            sort_canonical(&mut all);
            *self = SignalList::from_vec(all);
            return;
        }
        self.settle();
        for s in fresh {
            if let Some(id) = &s.id {
                self.ids.insert(id, s.date);
            }
            self.insert(s);
            self.len += 1;
        }
    }

    fn remove(&mut self, id: &str) -> Option<Signal> {
        let (ri, i) = self.position(id)?;
        self.settle();
        self.ids.remove(id, self.runs[ri].as_slice()[i].date);
        self.len -= 1;
        let run = &mut self.runs[ri];
        let v = run.make_mut();
        let s = v.remove(i);
        let n = v.len();
        run.end = n;
        if n == 0 {
            self.runs.remove(ri);
        }
        Some(s)
    }

    fn retain(&mut self, mut keep: impl FnMut(&Signal) -> bool) {
        if self.iter().all(&mut keep) {
            return;
        }
        let kept = self.iter().filter(|s| keep(s)).cloned().collect();
        *self = SignalList::from_vec(kept);
    }
}

impl PartialEq for SignalList {
    fn eq(&self, other: &SignalList) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl std::fmt::Debug for SignalList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for SignalList {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for SignalList {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let mut signals = Vec::<Signal>::deserialize(deserializer)?;
        // The lookups by id and date rely on the canonical order, which a hand-made document may not keep.
        if !signals.is_sorted_by(|a, b| canonical_order(a, b) != Ordering::Greater) {
            signals.sort_by(canonical_order);
        }
        Ok(SignalList::from_vec(signals))
    }
}

/// A signal error of the case file's `signals[i]`: the field named by its path in the file.
fn signal_at(i: usize, e: Error) -> Error {
    match e {
        Error::InvalidSignal {
            field,
            expected,
            found,
            id,
            ..
        } => Error::InvalidSignal {
            field: format!("signals[{i}].{field}"),
            expected,
            found,
            line: None,
            id,
        },
        other => other,
    }
}

/// The error of a case file whose `signals` is neither a list nor null.
fn not_a_list() -> Error {
    Error::case("signals", "a list of signal records", "another JSON value")
}

/// A case file read by [`Case::from_json_slice`]: its header fields as JSON values (`None` when the document is
/// not an object) and its signals already turned into [`Signal`]s.
struct CaseDocument {
    header: Option<serde_json::Map<String, Value>>,
    signals: SignalsField,
}

/// What a case file holds under `signals`.
enum SignalsField {
    /// No `signals` field, or `null`.
    Absent,
    /// The signals, parsed.
    List(Vec<Signal>),
    /// The first bad signal record (the rest of the list is read only for the JSON syntax).
    Bad(Error),
    /// Some other JSON value.
    Other,
}

/// Visitor methods for the JSON values a reader takes as "some other value": each returns `$value`.
macro_rules! other_values {
    ($out:ty, $value:expr) => {
        fn visit_bool<E: serde::de::Error>(self, _: bool) -> std::result::Result<$out, E> {
            Ok($value)
        }
        fn visit_i64<E: serde::de::Error>(self, _: i64) -> std::result::Result<$out, E> {
            Ok($value)
        }
        fn visit_u64<E: serde::de::Error>(self, _: u64) -> std::result::Result<$out, E> {
            Ok($value)
        }
        fn visit_f64<E: serde::de::Error>(self, _: f64) -> std::result::Result<$out, E> {
            Ok($value)
        }
        fn visit_str<E: serde::de::Error>(self, _: &str) -> std::result::Result<$out, E> {
            Ok($value)
        }
    };
}

impl<'de> Deserialize<'de> for CaseDocument {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Doc;
        impl<'de> serde::de::Visitor<'de> for Doc {
            type Value = CaseDocument;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON case file")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<CaseDocument, A::Error> {
                let mut header = serde_json::Map::new();
                let mut signals = SignalsField::Absent;
                while let Some(key) = map.next_key::<String>()? {
                    if key == "signals" {
                        signals = map.next_value_seed(Signals)?;
                    } else {
                        let v = map.next_value::<Value>()?;
                        header.insert(key, v);
                    }
                }
                Ok(CaseDocument {
                    header: Some(header),
                    signals,
                })
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<CaseDocument, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(CaseDocument::NOT_AN_OBJECT)
            }
            fn visit_unit<E: serde::de::Error>(self) -> std::result::Result<CaseDocument, E> {
                Ok(CaseDocument::NOT_AN_OBJECT)
            }
            other_values!(CaseDocument, CaseDocument::NOT_AN_OBJECT);
        }
        d.deserialize_any(Doc)
    }
}

impl CaseDocument {
    /// A document that is not a JSON object.
    const NOT_AN_OBJECT: CaseDocument = CaseDocument {
        header: None,
        signals: SignalsField::Absent,
    };
}

/// Reads a case file's `signals` one record at a time into [`Signal`]s.
struct Signals;

impl<'de> serde::de::DeserializeSeed<'de> for Signals {
    type Value = SignalsField;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> std::result::Result<SignalsField, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Signals {
    type Value = SignalsField;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a list of signal records")
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<SignalsField, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        let mut i = 0;
        while let Some(record) = seq.next_element::<Value>()? {
            match Signal::from_json(&record) {
                Ok(s) => out.push(s),
                Err(e) => {
                    let bad = signal_at(i, e);
                    while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                    return Ok(SignalsField::Bad(bad));
                }
            }
            i += 1;
        }
        Ok(SignalsField::List(out))
    }
    fn visit_unit<E: serde::de::Error>(self) -> std::result::Result<SignalsField, E> {
        Ok(SignalsField::Absent)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<SignalsField, A::Error> {
        while map
            .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
            .is_some()
        {}
        Ok(SignalsField::Other)
    }
    other_values!(SignalsField, SignalsField::Other);
}

fn yes() -> bool {
    true
}

/// Days before the term end of the default election date (a US presidential election falls 76 to 82 days
/// before the inauguration).
pub const DEFAULT_ELECTION_LEAD_DAYS: u64 = 78;

/// The case and episode file format versions this build reads: 1 (or no `format_version`) loads leniently as
/// before, 2 is held to the codebook's rules (`docs/outcomes.md`).
pub const CASE_FORMAT_VERSIONS: [u32; 2] = [1, 2];

pub(crate) fn canonical_order(a: &Signal, b: &Signal) -> Ordering {
    a.date
        .cmp(&b.date)
        .then_with(|| a.signal_type.cmp(&b.signal_type))
        .then_with(|| a.id.cmp(&b.id))
        .then_with(|| a.reliability.total_cmp(&b.reliability))
        .then_with(|| a.weight.total_cmp(&b.weight))
        .then_with(|| a.source.cmp(&b.source))
        .then_with(|| a.note.cmp(&b.note))
}

/// The error of a signal `found` under the id of another signal `stored` (of the case, or earlier in the batch).
fn duplicate(stored: &Signal, found: &Signal) -> Error {
    Error::DuplicateSignal {
        id: found.id.as_deref().unwrap_or_default().to_owned(),
        stored: stored.describe(),
        found: found.describe(),
    }
}

/// Put signals with distinct ids in canonical order ([`canonical_order`]).
///
/// Why not `sort_unstable_by(canonical_order)`: on a million signals that moves 128-byte signals around some
/// twenty times and compares type names and ids through pointers, most of the cost of appending them (issue
/// 14). Here a compact key is sorted instead (date, the type's rank among the names present, the id's first
/// eight bytes: 24 bytes with the position), the signals are moved once to their places, and only runs of
/// equal keys are sorted by the full order. The ids being distinct, no two signals are equal in the canonical
/// order, so the result is the one order.
fn sort_canonical(v: &mut [Signal]) {
    if v.is_sorted_by(|a, b| canonical_order(a, b) != Ordering::Greater) {
        return;
    }
    if v.len() <= 64 {
        v.sort_unstable_by(canonical_order);
        return;
    }
    // Each type name's first-seen slot, then its rank in string order.
    let mut slots: rustc_hash::FxHashMap<&str, u32> = rustc_hash::FxHashMap::default();
    let mut keys: Vec<(u64, u64, u32)> = Vec::with_capacity(v.len());
    for (i, s) in v.iter().enumerate() {
        let next = slots.len() as u32;
        let slot = *slots.entry(s.signal_type.as_str()).or_insert(next);
        let mut prefix = [0u8; 8];
        if let Some(id) = &s.id {
            let b = id.as_bytes();
            let n = b.len().min(8);
            prefix[..n].copy_from_slice(&b[..n]);
        }
        // Days from the common era are positive for every date a case accepts (1900 to 2100).
        let day = u64::from(s.date.num_days_from_ce().max(0).unsigned_abs());
        keys.push((
            (day << 32) | u64::from(slot),
            u64::from_be_bytes(prefix),
            i as u32,
        ));
    }
    let mut names: Vec<(&str, u32)> = slots.into_iter().collect();
    names.sort_unstable();
    let mut rank = vec![0u32; names.len()];
    for (r, (_, slot)) in names.iter().enumerate() {
        rank[*slot as usize] = r as u32;
    }
    for k in &mut keys {
        let slot = (k.0 & 0xFFFF_FFFF) as usize;
        k.0 = (k.0 & !0xFFFF_FFFF) | u64::from(rank[slot]);
    }
    keys.sort_unstable();
    // Move each signal to its place (the cycle walk of `slice::sort_by_cached_key`).
    for i in 0..keys.len() {
        let mut from = keys[i].2 as usize;
        while from < i {
            from = keys[from].2 as usize;
        }
        keys[i].2 = from as u32;
        v.swap(i, from);
    }
    // Runs of equal keys (same date, type and first eight bytes of id) in the full order.
    let mut a = 0;
    while a < keys.len() {
        let mut b = a + 1;
        while b < keys.len() && keys[b].0 == keys[a].0 && keys[b].1 == keys[a].1 {
            b += 1;
        }
        if b - a > 1 {
            v[a..b].sort_unstable_by(canonical_order);
        }
        a = b;
    }
}

fn header_text(obj: &serde_json::Map<String, Value>, name: &str, required: bool) -> Result<String> {
    match obj.get(name) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
        None | Some(Value::Null) if !required => Ok(String::new()),
        None | Some(Value::Null) => Err(Error::case(
            name,
            "a non-empty string",
            "nothing (the field is missing)",
        )),
        Some(other) => Err(Error::case(name, "a non-empty string", other.to_string())),
    }
}

/// The file's `format_version`: 1 when absent.
fn format_version(obj: &serde_json::Map<String, Value>) -> Result<u32> {
    match obj.get("format_version") {
        None | Some(Value::Null) => Ok(1),
        Some(v) => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| CASE_FORMAT_VERSIONS.contains(n))
            .ok_or_else(|| Error::case("format_version", "1 or 2", v.to_string())),
    }
}

fn header_date(obj: &serde_json::Map<String, Value>, name: &str) -> Result<NaiveDate> {
    let s = header_text(obj, name, true)?;
    parse_date(name, &s).map_err(Error::into_case)
}

impl Case {
    /// A case with no signals.
    ///
    /// # Errors
    /// [`Error::InvalidCase`] when a name is empty or the term end is not after the start.
    pub fn new(
        id: impl Into<String>,
        sender: impl Into<String>,
        target: impl Into<String>,
        start: NaiveDate,
        term_end: NaiveDate,
    ) -> Result<Case> {
        let c = Case {
            id: id.into(),
            sender: sender.into(),
            target: target.into(),
            start,
            term_end,
            description: String::new(),
            reelection_eligible: true,
            election_date_given: None,
            signals: SignalList::default(),
        };
        for (f, v) in [("id", &c.id), ("sender", &c.sender), ("target", &c.target)] {
            if v.trim().is_empty() {
                return Err(Error::case(f, "a non-empty string", "an empty string"));
            }
        }
        if term_end <= start {
            return Err(Error::case(
                "term_end",
                format!("a date after the start {start}"),
                term_end,
            ));
        }
        Ok(c)
    }

    /// Parse a case from a JSON object `{id, sender, target, start, term_end, description?, signals: [...]}`.
    /// Unknown fields are ignored. Signal types are checked against `vocabulary`.
    ///
    /// # Errors
    /// [`Error::InvalidCase`] for the header, or the first bad signal.
    pub fn from_json(v: &Value, vocabulary: &impl Vocabulary) -> Result<Case> {
        let obj = v
            .as_object()
            .ok_or_else(|| Error::case("case", "a JSON object", "another JSON value"))?;
        let (case, version) = Case::from_header(obj)?;
        let signals = match obj.get("signals") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .enumerate()
                .map(|(i, s)| Signal::from_json(s).map_err(|e| signal_at(i, e)))
                .collect::<Result<_>>()?,
            Some(_) => return Err(not_a_list()),
        };
        case.with_parsed_signals(version, signals, vocabulary)
    }

    /// Parse a case file's JSON text (UTF-8 bytes), as [`Case::from_json`] does with the parsed document, but
    /// without the JSON tree of its signals: each signal record is read into a small tree, turned into a
    /// [`Signal`] and dropped, so reading a case costs the signals it holds, not ten times that (issue 14: the
    /// command line held 2 KB a signal reading a case of a million signals, most of it the tree).
    ///
    /// # Errors
    /// [`Error::Parse`] (`what` is `case file`) when the text is not JSON; otherwise the errors of
    /// [`Case::from_json`], in the same order (the header's before the signals').
    pub fn from_json_slice(text: &[u8], vocabulary: &impl Vocabulary) -> Result<Case> {
        let doc: CaseDocument = serde_json::from_slice(text).map_err(|e| Error::Parse {
            what: "case file".into(),
            line: Some(e.line()),
            message: e.to_string(),
        })?;
        Case::from_document(doc, vocabulary)
    }

    /// Read a case file from a reader, as [`Case::from_json_slice`] reads its text, without holding the text: the
    /// reader is buffered here and read once, so a case file costs the signals it holds (the command line reads
    /// case files so).
    ///
    /// # Errors
    /// As [`Case::from_json_slice`]; a read error of the reader is an [`Error::Parse`] naming it, and text that is
    /// not UTF-8 inside a string is a parse error at its line.
    pub fn from_json_reader(reader: impl std::io::Read, vocabulary: &impl Vocabulary) -> Result<Case> {
        let doc: CaseDocument = serde_json::from_reader(std::io::BufReader::with_capacity(1 << 16, reader))
            .map_err(|e| Error::Parse {
            what: "case file".into(),
            line: Some(e.line()),
            message: e.to_string(),
        })?;
        Case::from_document(doc, vocabulary)
    }

    /// The case of a parsed case document: its header checked, then its signals.
    fn from_document(doc: CaseDocument, vocabulary: &impl Vocabulary) -> Result<Case> {
        let Some(header) = doc.header else {
            return Err(Error::case("case", "a JSON object", "another JSON value"));
        };
        let (case, version) = Case::from_header(&header)?;
        let signals = match doc.signals {
            SignalsField::Absent => Vec::new(),
            SignalsField::List(signals) => signals,
            SignalsField::Bad(e) => return Err(e),
            SignalsField::Other => return Err(not_a_list()),
        };
        case.with_parsed_signals(version, signals, vocabulary)
    }

    /// The case of a header (every field but the signals) and its format version, checked.
    fn from_header(obj: &serde_json::Map<String, Value>) -> Result<(Case, u32)> {
        let mut case = Case::new(
            header_text(obj, "id", true)?,
            header_text(obj, "sender", true)?,
            header_text(obj, "target", true)?,
            header_date(obj, "start")?,
            header_date(obj, "term_end")?,
        )?;
        case.description = header_text(obj, "description", false)?;
        let version = format_version(obj)?;
        case.reelection_eligible = match obj.get("reelection_eligible") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Err(Error::case(
                    "reelection_eligible",
                    "true or false",
                    other.to_string(),
                ));
            }
        };
        case.election_date_given = match obj.get("election_date") {
            None | Some(Value::Null) => None,
            Some(_) => Some(header_date(obj, "election_date")?),
        };
        if version >= 2 {
            case.check_election_date()?;
        }
        Ok((case, version))
    }

    /// The case with the signals of its file: the codebook's rules on fate signals (format version 2), then the
    /// append's checks.
    fn with_parsed_signals(
        mut self,
        version: u32,
        signals: Vec<Signal>,
        vocabulary: &impl Vocabulary,
    ) -> Result<Case> {
        if version >= 2 {
            self.check_fate_signals(&signals)?;
        }
        self.append(signals, vocabulary)?;
        Ok(self)
    }

    /// The day the leader's fate after the term end is decided: the `election_date` given, or
    /// [`DEFAULT_ELECTION_LEAD_DAYS`] (78) days before the term end. Whether it was given:
    /// [`Case::election_date_given`].
    pub fn election_date(&self) -> NaiveDate {
        self.election_date_given.unwrap_or_else(|| {
            self.term_end
                .checked_sub_days(Days::new(DEFAULT_ELECTION_LEAD_DAYS))
                .unwrap_or(self.term_end)
        })
    }

    /// Codebook rule: a given election date is on or before the term end. It may precede the case's start: a
    /// campaign that begins between the election and the term end starts with the leader's fate already known
    /// (its fate signal then stands on the start day).
    fn check_election_date(&self) -> Result<()> {
        match self.election_date_given {
            Some(e) if e > self.term_end => Err(Error::case(
                "election_date",
                format!(
                    "a date on or before the term end {} (the day the leader's fate is decided)",
                    self.term_end
                ),
                e,
            )),
            _ => Ok(()),
        }
    }

    /// Codebook rules on fate signals (format version 2): none before the start (the span check of
    /// [`Case::check_signal`] says so too, but names the rule here), and no re-election of an ineligible leader.
    fn check_fate_signals(&self, signals: &[Signal]) -> Result<()> {
        for (i, s) in signals.iter().enumerate() {
            if vocab::role(&s.signal_type) != Some(vocab::Role::Fate) {
                continue;
            }
            if s.date < self.start {
                return Err(Error::signal(
                    format!("signals[{i}].date"),
                    format!("a fate signal dated on or after the case's start {}", self.start),
                    s.date,
                )
                .with_id(s.id.as_deref()));
            }
            if s.signal_type == vocab::REELECTED_TYPE && !self.reelection_eligible {
                return Err(Error::signal(
                    format!("signals[{i}].type"),
                    "no sender_leader_reelected for a leader who is not reelection_eligible (use sender_leader_departing, or set reelection_eligible)",
                    &s.signal_type,
                )
                .with_id(s.id.as_deref()));
            }
        }
        Ok(())
    }

    /// Read a case file (JSON).
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::Parse`] or the errors of [`Case::from_json`].
    pub fn load(path: impl AsRef<Path>, vocabulary: &impl Vocabulary) -> Result<Case> {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|source| Error::Io {
            path: path.into(),
            source,
        })?;
        Case::from_json_reader(file, vocabulary).map_err(|e| match e {
            Error::Parse { line, message, .. } => Error::Parse {
                what: format!("case file {}", path.display()),
                line,
                message,
            },
            other => other,
        })
    }

    /// The case as a JSON value (the case file format).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).expect("a case always serialises")
    }

    /// Write the case file (pretty JSON).
    ///
    /// # Errors
    /// [`Error::Io`].
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let text = serde_json::to_string_pretty(self).expect("a case always serialises");
        std::fs::write(path, text + "\n").map_err(|source| Error::Io {
            path: path.into(),
            source,
        })
    }

    /// The case's signals in canonical (date) order.
    ///
    /// The contiguous list is made on the first call after a change (one copy of the signals) and shared by
    /// the clones of this case until the next change; [`Case::signal_count`], [`Case::signal`] and
    /// [`Case::iter_signals`] read without making it.
    pub fn signals(&self) -> &[Signal] {
        self.signals.as_slice()
    }

    /// Signals dated on or before `as_of`.
    pub fn signals_until(&self, as_of: NaiveDate) -> &[Signal] {
        let all = self.signals();
        let n = all.partition_point(|s| s.date <= as_of);
        &all[..n]
    }

    /// How many signals the case holds.
    pub fn signal_count(&self) -> usize {
        self.signals.len()
    }

    /// The signal with this id, if the case holds it.
    pub fn signal(&self, id: &str) -> Option<&Signal> {
        self.signals.get(id)
    }

    /// The signals in canonical order, without making the contiguous list of [`Case::signals`].
    pub fn iter_signals(&self) -> impl Iterator<Item = &Signal> {
        self.signals.iter()
    }

    /// Check one signal against this case: fields, vocabulary and the case's span.
    ///
    /// # Errors
    /// [`Error::InvalidSignal`] or [`Error::UnknownSignalType`].
    pub fn check_signal(&self, s: &Signal, vocabulary: &impl Vocabulary) -> Result<()> {
        s.validate()?;
        vocabulary.check_type(&s.signal_type)?;
        if s.date < self.start || s.date > self.term_end {
            return Err(Error::signal(
                "date",
                format!(
                    "a date within the case's span {} to {}",
                    self.start, self.term_end
                ),
                s.date,
            )
            .with_id(s.id.as_deref()));
        }
        Ok(())
    }

    /// Append a batch of signals, atomically: either every signal is valid and the batch is applied, or the
    /// case is left exactly as it was. A signal without an id first gets its content-derived id
    /// ([`Signal::content_id`]), so re-appending the same id-less records changes nothing and two identical
    /// id-less records are one signal. A signal whose id is already present with the same content is skipped
    /// (idempotent retry, counted in [`AppendReport::unchanged`]); with different content it is an error.
    ///
    /// # Errors
    /// The first invalid signal ([`Error::InvalidSignal`], [`Error::UnknownSignalType`]) or
    /// [`Error::DuplicateSignal`].
    pub fn append(
        &mut self,
        signals: impl IntoIterator<Item = Signal>,
        vocabulary: &impl Vocabulary,
    ) -> Result<AppendReport> {
        // The batch is checked and thinned in its own buffer (no copy of a `Vec` given, issue 14).
        let mut batch: Vec<Signal> = signals.into_iter().collect();
        // Positions of the retries, left out.
        let mut retries: Vec<usize> = Vec::new();
        // The first signal that fails: (position, error). Duplicates within the batch at earlier positions
        // come first, as a check in batch order would find them.
        let mut failed: Option<(usize, Error)> = None;
        for i in 0..batch.len() {
            // Content-derived id for an id-less signal (issue 13, part 2).
            batch[i].normalise();
            batch[i].give_content_id();
            let s = &batch[i];
            if let Err(e) = self.check_signal(s, vocabulary) {
                let e = match e {
                    Error::InvalidSignal {
                        field,
                        expected,
                        found,
                        line,
                        id,
                    } if line.is_none() => Error::InvalidSignal {
                        field: format!("signals[{i}].{field}"),
                        expected,
                        found,
                        line,
                        id,
                    },
                    other => other,
                };
                failed = Some((i, e));
                break;
            }
            if let Some(p) = s.id.as_ref().and_then(|id| self.signals.get(id)) {
                if p.same_content(s) {
                    retries.push(i);
                    continue;
                }
                failed = Some((i, duplicate(p, s)));
                break;
            }
        }
        let checked = failed.as_ref().map_or(batch.len(), |(i, _)| *i);
        // Ids repeated within the batch, found by sorting (hash of id, position) rather than a hash map of the
        // batch, whose inserts miss the cache once the batch outgrows it (issue 14: flat cost per signal). The
        // first signal of an id is kept; a later one with the same content is a retry, another a conflict.
        let mut keys: Vec<(u64, u32)> = Vec::with_capacity(checked);
        let mut r = retries.iter().copied().peekable();
        for (i, s) in batch[..checked].iter().enumerate() {
            if r.next_if_eq(&i).is_some() {
                continue;
            }
            if let Some(id) = &s.id {
                keys.push((id_hash(id.as_bytes()), i as u32));
            }
        }
        keys.sort_unstable();
        let mut repeats: Vec<usize> = Vec::new();
        let mut a = 0;
        while a < keys.len() {
            let mut b = a + 1;
            while b < keys.len() && keys[b].0 == keys[a].0 {
                b += 1;
            }
            // Within one hash (in position order), each id's first signal against its later ones.
            for x in a..b {
                let later = &batch[keys[x].1 as usize];
                let first = (a..x)
                    .map(|y| &batch[keys[y].1 as usize])
                    .find(|f| f.id == later.id);
                match first {
                    Some(f) if f.same_content(later) => repeats.push(keys[x].1 as usize),
                    Some(f) => {
                        let at = keys[x].1 as usize;
                        if failed.as_ref().is_none_or(|(i, _)| at < *i) {
                            failed = Some((at, duplicate(f, later)));
                        }
                    }
                    None => {}
                }
            }
            a = b;
        }
        drop(keys);
        if let Some((_, e)) = failed {
            return Err(e);
        }
        let mut report = AppendReport {
            added: 0,
            unchanged: retries.len() + repeats.len(),
        };
        if report.unchanged > 0 {
            retries.extend(repeats);
            retries.sort_unstable();
            let mut next = retries.iter().copied().peekable();
            let mut i = 0;
            batch.retain(|_| {
                let retry = next.next_if_eq(&i).is_some();
                i += 1;
                !retry
            });
        }
        report.added = batch.len();
        self.signals.extend(batch);
        Ok(report)
    }

    /// Index of the first signal dated on or after `date` (the signals' count if none): where signals of that
    /// date or later go in the case's order, the `first_changed` of [`crate::Checkpoints::append`] after an
    /// append whose earliest signal is dated `date`. Reads the runs of signals, not the contiguous copy of
    /// [`Case::signals`].
    pub fn first_index_on_or_after(&self, date: NaiveDate) -> usize {
        self.signals.first_index_on_or_after(date)
    }

    /// The signals from index `from` on, in canonical order, without making the contiguous list of
    /// [`Case::signals`] when it is not made yet (a copy of those signals only): what an incremental forecast
    /// reads after an append.
    pub fn signals_from(&self, from: usize) -> std::borrow::Cow<'_, [Signal]> {
        self.signals.tail(from)
    }

    /// The signals from index `from` on, in canonical order, read in place (no copy, and without making the
    /// contiguous list of [`Case::signals`]): what an incremental forecast reads after an append.
    pub fn iter_signals_from(&self, from: usize) -> impl Iterator<Item = &Signal> {
        self.signals.iter_from(from)
    }

    /// Remove the signal with this id; returns it if it was present.
    pub fn remove(&mut self, id: &str) -> Option<Signal> {
        self.signals.remove(id)
    }

    /// A copy of this case with another term end (for what-if questions); signals after it are dropped.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the term end is not after the start.
    pub fn with_term_end(&self, term_end: NaiveDate) -> Result<Case> {
        if term_end <= self.start {
            return Err(Error::argument(
                "term_end",
                format!("a date after the case's start {}", self.start),
                term_end,
            ));
        }
        let mut c = self.clone();
        c.term_end = term_end;
        c.signals.retain(|s| s.date <= term_end);
        Ok(c)
    }

    /// Replace the signal list without checks (used by explanations on copies of a checked case).
    pub(crate) fn with_signals(&self, signals: Vec<Signal>) -> Case {
        let mut c = self.clone();
        let mut signals = signals;
        signals.sort_by(canonical_order);
        c.signals = SignalList::from_vec(signals);
        c
    }
}

/// A finished case with the outcome that happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Episode {
    /// The case.
    #[serde(flatten)]
    pub case: Case,
    /// The outcome at the term end.
    pub outcome: String,
    /// Why the outcome is what it is, citing the record: the agreement and its date, or the leader's fate
    /// (`docs/outcomes.md`). Required by format version 2; empty in older files.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub outcome_justification: String,
    /// Not for training or scoring: `fit` does not learn from it and `backtest` does not score it (both
    /// report it as left out). Default false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub exclude_from_training: bool,
}

impl Episode {
    /// An episode with no justification, used for training.
    pub fn new(case: Case, outcome: impl Into<String>) -> Episode {
        Episode {
            case,
            outcome: outcome.into(),
            outcome_justification: String::new(),
            exclude_from_training: false,
        }
    }

    /// Codebook rules of format version 2 on a parsed episode (`docs/outcomes.md`): a justification; no
    /// stalemate for an ineligible leader or a leader whose departure is recorded; no wait-out for a leader whose
    /// re-election is recorded; a deal holds an `agreement_signed` of reliability 1 dated before the term end
    /// and not repudiated (`sender_withdraws_from_agreement`, `target_withdraws_from_agreement`) from its date
    /// to the term end.
    ///
    /// # Errors
    /// [`Error::InvalidCase`] naming `outcome_justification` or `outcome`.
    pub fn check_codebook(&self) -> Result<()> {
        if self.outcome_justification.trim().is_empty() {
            return Err(Error::case(
                "outcome_justification",
                "a non-empty string citing the record (the agreement and its date, or the leader's fate)",
                "nothing",
            ));
        }
        let c = &self.case;
        let has = |t: &str| c.signals().iter().any(|s| s.signal_type == t);
        match self.outcome.as_str() {
            "stalemate" if !c.reelection_eligible => Err(Error::case(
                "outcome",
                "deal or wait_out for a leader who is not reelection_eligible (a stalemate needs a leader who stays)",
                "stalemate",
            )),
            "stalemate" if has(vocab::DEPARTING_TYPE) => Err(Error::case(
                "outcome",
                "deal or wait_out for a leader whose departure is recorded (sender_leader_departing)",
                "stalemate",
            )),
            "wait_out" if has(vocab::REELECTED_TYPE) => Err(Error::case(
                "outcome",
                "deal or stalemate for a leader whose re-election is recorded (sender_leader_reelected)",
                "wait_out",
            )),
            "deal" if self.deal_date().is_none() => Err(Error::case(
                "outcome",
                format!(
                    "a deal episode to hold an agreement_signed signal of reliability 1 dated before the term end {} and not repudiated before it",
                    c.term_end
                ),
                "none",
            )),
            _ => Ok(()),
        }
    }

    /// The date of the deal by the codebook: the first `agreement_signed` of reliability 1 dated before the
    /// term end with no repudiation from its date to before the term end; `None` when there is none.
    pub fn deal_date(&self) -> Option<NaiveDate> {
        let c = &self.case;
        let signals = c.signals();
        signals
            .iter()
            .filter(|s| s.signal_type == vocab::DEAL_TYPE && s.reliability >= 1.0 && s.date < c.term_end)
            .find(|a| {
                !signals.iter().any(|w| {
                    vocab::REPUDIATION_TYPES.contains(&w.signal_type.as_str())
                        && w.date >= a.date
                        && w.date < c.term_end
                })
            })
            .map(|a| a.date)
    }

    /// Parse an episode from JSON: a case plus `outcome`, `outcome_justification` (required by format version
    /// 2) and `exclude_from_training` (default false). With `format_version: 2` the codebook's rules apply (see
    /// [`Episode::check_codebook`]). Extra fields (notes, sources, confidence) are ignored.
    ///
    /// # Errors
    /// As [`Case::from_json`], plus [`Error::InvalidCase`] when the outcome is missing.
    pub fn from_json(v: &Value, vocabulary: &impl Vocabulary) -> Result<Episode> {
        let case = Case::from_json(v, vocabulary)?;
        let obj = v.as_object().expect("checked by Case::from_json");
        let version = format_version(obj)?;
        let outcome_justification = header_text(obj, "outcome_justification", false)?;
        let exclude_from_training = match obj.get("exclude_from_training") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Err(Error::case(
                    "exclude_from_training",
                    "true or false",
                    other.to_string(),
                ));
            }
        };
        let outcome = match v.get("outcome") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(other) => {
                return Err(Error::case(
                    "outcome",
                    "an outcome name such as deal, stalemate or wait_out",
                    other.to_string(),
                ));
            }
            None => {
                return Err(Error::case(
                    "outcome",
                    "an outcome name such as deal, stalemate or wait_out",
                    "nothing (the field is missing)",
                ));
            }
        };
        let ep = Episode {
            case,
            outcome,
            outcome_justification,
            exclude_from_training,
        };
        if version >= 2 {
            if !vocab::OUTCOMES_V1.contains(&ep.outcome.as_str()) {
                return Err(Error::case(
                    "outcome",
                    "one of deal, stalemate, wait_out",
                    format!("{:?}", ep.outcome),
                ));
            }
            ep.check_codebook()?;
        }
        Ok(ep)
    }

    /// Parse a list of episodes: a JSON array, one object, or JSON Lines.
    ///
    /// # Errors
    /// The first bad episode, prefixed with its position and id.
    pub fn parse_many(text: &str, vocabulary: &impl Vocabulary) -> Result<Vec<Episode>> {
        Episode::parse_values(&Episode::values(text)?, vocabulary)
    }

    /// As [`Episode::parse_many`], but a signal dated outside its episode's span (a common slip in hand-made
    /// historical data: context from before the campaign, or the aftermath) is left out instead of failing the
    /// whole file; each one left out is described in the returned warnings, which the caller must show.
    /// Episodes with `format_version: 2` are not relaxed: their signals must lie in their span.
    ///
    /// # Errors
    /// Every other bad episode or signal, as [`Episode::parse_many`].
    pub fn parse_many_lenient(
        text: &str,
        vocabulary: &impl Vocabulary,
    ) -> Result<(Vec<Episode>, Vec<String>)> {
        let mut warnings = Vec::new();
        let mut values = Episode::values(text)?;
        for v in &mut values {
            if v.get("format_version")
                .and_then(Value::as_u64)
                .is_some_and(|n| n >= 2)
            {
                continue;
            }
            let id = v.get("id").and_then(Value::as_str).unwrap_or("?").to_owned();
            let date = |name: &str| {
                v.get(name)
                    .and_then(Value::as_str)
                    .and_then(|s| parse_date(name, s).ok())
            };
            let (Some(start), Some(end)) = (date("start"), date("term_end")) else {
                continue;
            };
            if let Some(Value::Array(signals)) = v.get_mut("signals") {
                signals.retain(|s| {
                    let d = s.get("date").and_then(Value::as_str).and_then(|t| parse_date("date", t).ok());
                    match d {
                        Some(d) if d < start || d > end => {
                            let sid = s.get("id").and_then(Value::as_str).unwrap_or("(no id)");
                            let ty = s.get("type").and_then(Value::as_str).unwrap_or("?");
                            warnings.push(format!(
                                "episode {id}: signal {sid} ({ty}) dated {d} is outside the episode's span {start} to {end}: left out"
                            ));
                            false
                        }
                        _ => true,
                    }
                });
            }
        }
        Ok((Episode::parse_values(&values, vocabulary)?, warnings))
    }

    /// The JSON values of an episodes text: a JSON array, one object, or JSON Lines.
    fn values(text: &str) -> Result<Vec<Value>> {
        let values: Vec<Value> = match serde_json::from_str::<Value>(text) {
            Ok(Value::Array(a)) => a,
            Ok(v @ Value::Object(_)) => vec![v],
            Ok(_) => {
                return Err(Error::Parse {
                    what: "episodes".into(),
                    line: None,
                    message: "expected a JSON array of episode objects".into(),
                });
            }
            Err(whole) => {
                let mut out = Vec::new();
                for (i, line) in text.lines().enumerate() {
                    let t = line.trim();
                    if t.is_empty() || t.starts_with('#') {
                        continue;
                    }
                    out.push(serde_json::from_str(t).map_err(|e| Error::Parse {
                        what: "episodes (neither a JSON document nor JSON Lines)".into(),
                        line: Some(if out.is_empty() { whole.line() } else { i + 1 }),
                        message: e.to_string(),
                    })?);
                }
                out
            }
        };
        Ok(values)
    }

    fn parse_values(values: &[Value], vocabulary: &impl Vocabulary) -> Result<Vec<Episode>> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                Episode::from_json(v, vocabulary).map_err(|e| {
                    let id = v.get("id").and_then(Value::as_str).unwrap_or("?");
                    match e {
                        Error::InvalidCase {
                            field,
                            expected,
                            found,
                        } => Error::InvalidCase {
                            field: format!("episodes[{i}] ({id}).{field}"),
                            expected,
                            found,
                        },
                        Error::InvalidSignal {
                            field,
                            expected,
                            found,
                            line,
                            id: sid,
                        } => Error::InvalidSignal {
                            field: format!("episodes[{i}] ({id}).{field}"),
                            expected,
                            found,
                            line,
                            id: sid,
                        },
                        other => other,
                    }
                })
            })
            .collect()
    }

    /// Read an episodes file leniently (see [`Episode::parse_many_lenient`]).
    ///
    /// # Errors
    /// [`Error::Io`] or the first bad episode.
    pub fn load_many_lenient(
        path: impl AsRef<Path>,
        vocabulary: &impl Vocabulary,
    ) -> Result<(Vec<Episode>, Vec<String>)> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.into(),
            source,
        })?;
        Episode::parse_many_lenient(&text, vocabulary)
    }

    /// Read an episodes file (JSON array, one object, or JSON Lines).
    ///
    /// # Errors
    /// [`Error::Io`] or the first bad episode.
    pub fn load_many(path: impl AsRef<Path>, vocabulary: &impl Vocabulary) -> Result<Vec<Episode>> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.into(),
            source,
        })?;
        Episode::parse_many(&text, vocabulary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    thread_local! {
        /// When set, every id has the same key in [`IdIndex`] (this thread only): the collision path for all ids
        /// but the first.
        pub(super) static ALL_IDS_COLLIDE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }

    fn day(n: u64) -> NaiveDate {
        NaiveDate::from_ymd_opt(2020, 1, 1).expect("a date") + Days::new(n)
    }

    fn case() -> Case {
        Case::new("c", "USA", "PRK", day(0), day(400)).expect("a valid header")
    }

    fn signal(n: u64, id: &str) -> Signal {
        Signal::new("sanctions_tightened", day(n)).with_id(id)
    }

    /// Appends in date order while the previous version is held (as the service holds it): each copies less than
    /// a run (the partly filled last run and the new signals), the previous version keeps its signals, and the
    /// list stays in order.
    #[test]
    fn appends_in_date_order_copy_less_than_a_run() {
        let mut a = case();
        a.append((0..1000).map(|i| signal(i / 4, &format!("h{i}"))), &V1)
            .expect("valid signals");
        for b in 0..60 {
            let before = a.clone();
            let old: Vec<Signal> = before.iter_signals().cloned().collect();
            a.append((0..10).map(|i| signal(250 + b, &format!("n{b}-{i}"))), &V1)
                .expect("valid signals");
            let unshared: usize = a
                .signals
                .runs
                .iter()
                .filter(|r| !before.signals.runs.iter().any(|o| Arc::ptr_eq(&o.buf, &r.buf)))
                .map(|r| r.end - r.start)
                .sum();
            assert!(
                unshared < CHUNK + 10,
                "append {b}: {unshared} signals in new buffers"
            );
            assert!(a.signals.runs.iter().all(|r| r.end - r.start < 2 * CHUNK));
            assert_eq!(before.iter_signals().cloned().collect::<Vec<_>>(), old);
            assert_eq!(a.signal_count(), old.len() + 10);
        }
        let all: Vec<Signal> = a.iter_signals().cloned().collect();
        assert!(all.is_sorted_by(|x, y| canonical_order(x, y) != Ordering::Greater));
        assert_eq!(a.signals(), all.as_slice());
    }

    #[test]
    fn a_clone_is_untouched_by_appends_and_removals_of_the_other() {
        let mut a = case();
        a.append((0..50).map(|i| signal(i * 3, &format!("s{i}"))), &V1)
            .expect("valid signals");
        let before = a.signals().to_vec();
        let b = a.clone();
        a.append([signal(10, "late"), signal(1, "early")], &V1)
            .expect("valid signals");
        assert!(a.remove("s7").is_some());
        assert_eq!(b.signals(), before.as_slice());
        assert_eq!(b.signal_count(), 50);
        assert!(b.signal("late").is_none() && b.signal("s7").is_some());
        assert_eq!(a.signal_count(), 51);
        assert_eq!(a.signal("early").map(|s| s.date), Some(day(1)));
        assert!(a.signal("s7").is_none());
        assert!(
            a.signals()
                .is_sorted_by(|x, y| canonical_order(x, y) != Ordering::Greater)
        );
    }

    #[test]
    fn an_id_already_stored_is_a_retry_or_a_conflict() {
        let mut a = case();
        a.append((0..100).map(|i| signal(i, &format!("s{i}"))), &V1)
            .expect("valid signals");
        let r = a.append([signal(40, "s40")], &V1).expect("a retry");
        assert_eq!((r.added, r.unchanged), (0, 1));
        let e = a
            .append([signal(41, "s40")], &V1)
            .expect_err("another signal under a taken id");
        assert!(
            matches!(e, Error::DuplicateSignal { ref id, .. } if id == "s40"),
            "{e}"
        );
        assert_eq!(a.signal_count(), 100);
    }

    #[test]
    fn the_serde_form_is_the_plain_list_and_an_unsorted_list_is_put_in_order() {
        let mut a = case();
        a.append([signal(5, "b"), signal(2, "a")], &V1)
            .expect("valid signals");
        let v = a.to_json();
        let list = v
            .get("signals")
            .and_then(Value::as_array)
            .expect("a list of signals");
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].get("id").and_then(Value::as_str), Some("a"));
        let mut reversed = v.clone();
        reversed["signals"] = Value::Array(list.iter().rev().cloned().collect());
        let back: Case = serde_json::from_value(reversed).expect("a case");
        assert_eq!(back, a);
        assert_eq!(back.signal("b").map(|s| s.date), Some(day(5)));
    }

    proptest! {
        /// Whatever the batches, the list equals the sorted list of every signal appended, and each id is found.
        #[test]
        fn appends_keep_the_canonical_order(batches in prop::collection::vec(prop::collection::vec(0u64..300, 0..40), 1..40)) {
            let mut a = case();
            let mut all = Vec::new();
            let mut n = 0;
            for b in batches {
                let batch: Vec<Signal> = b.iter().map(|&d| { n += 1; signal(d, &format!("x{n}")) }).collect();
                all.extend(batch.iter().cloned());
                let copy = a.clone();
                let r = a.append(batch, &V1).expect("valid signals");
                prop_assert_eq!(copy.signal_count() + r.added, a.signal_count());
                // Read in place from any index, from the runs (no contiguous list made since the append).
                let len = a.signal_count();
                for from in [0, len / 3, len / 2, len.saturating_sub(1), len, len + 5] {
                    let tail: Vec<Signal> = a.iter_signals_from(from).cloned().collect();
                    prop_assert_eq!(&tail, &a.iter_signals().skip(from).cloned().collect::<Vec<_>>());
                    prop_assert_eq!(tail.as_slice(), &*a.signals_from(from));
                }
            }
            all.sort_by(canonical_order);
            prop_assert_eq!(a.signals(), all.as_slice());
            prop_assert_eq!(a.iter_signals().cloned().collect::<Vec<_>>(), all.clone());
            // And from the contiguous list, once made.
            for from in [0, all.len() / 2, all.len(), all.len() + 1] {
                prop_assert_eq!(a.iter_signals_from(from).cloned().collect::<Vec<_>>(), all[from.min(all.len())..].to_vec());
            }
            for s in &all {
                prop_assert_eq!(a.signal(s.id.as_deref().expect("an id")), Some(s));
            }
        }
    }

    /// Appends, lookups, retries and removals with every id colliding in the id index: each id is still found,
    /// each absent id is not, and a retry is still told from a conflict.
    #[test]
    fn ids_whose_keys_collide_are_still_told_apart() {
        ALL_IDS_COLLIDE.with(|c| c.set(true));
        let mut a = case();
        a.append((0..300).map(|i| signal(i % 50, &format!("s{i}"))), &V1)
            .expect("valid signals");
        a.append((300..310).map(|i| signal(i % 50, &format!("s{i}"))), &V1)
            .expect("valid signals");
        for i in 0..310 {
            let id = format!("s{i}");
            assert_eq!(a.signal(&id).and_then(|s| s.id.as_deref()), Some(id.as_str()));
        }
        assert!(a.signal("s310").is_none() && a.signal("s").is_none());
        let r = a.append([signal(7, "s7")], &V1).expect("a retry");
        assert_eq!((r.added, r.unchanged), (0, 1));
        assert!(matches!(
            a.append([signal(8, "s7")], &V1),
            Err(Error::DuplicateSignal { .. })
        ));
        // Removing the id that holds the key leaves the others found through the second map.
        let holder = a.signals()[0].id.clone().expect("an id");
        assert!(a.remove(&holder).is_some());
        assert!(a.signal(&holder).is_none());
        for s in a.signals().to_vec() {
            let id = s.id.as_deref().expect("an id");
            assert_eq!(a.signal(id), Some(&s));
        }
        let r = a
            .append([signal(9, &holder)], &V1)
            .expect("the freed id is new again");
        assert_eq!(r.added, 1);
        assert_eq!(a.signal(&holder).map(|s| s.date), Some(day(9)));
        // Within one batch: a repeat is a retry, another signal under a taken id a conflict.
        let r = a
            .append([signal(1, "n1"), signal(2, "n2"), signal(1, "n1")], &V1)
            .expect("a retry within the batch");
        assert_eq!((r.added, r.unchanged), (2, 1));
        assert!(matches!(
            a.append([signal(3, "m1"), signal(3, "m2"), signal(4, "m2")], &V1),
            Err(Error::DuplicateSignal { ref id, .. }) if id == "m2"
        ));
        ALL_IDS_COLLIDE.with(|c| c.set(false));
    }

    /// A list built whole is one buffer: its runs are ranges of the contiguous list, which costs no copy. After
    /// small appends the contiguous list is a new buffer, and the next change makes the runs ranges of it (only
    /// the run that change touches has a buffer of its own).
    #[test]
    fn the_contiguous_list_is_the_storage_after_a_change() {
        let mut a = case();
        a.append((0..1000).map(|i| signal(i % 400, &format!("s{i}"))), &V1)
            .expect("valid signals");
        let whole = a
            .signals
            .flat
            .get()
            .cloned()
            .expect("a list built whole has its contiguous list");
        assert!(a.signals.runs.iter().all(|r| Arc::ptr_eq(&r.buf, &whole)));
        assert_eq!(a.signals().as_ptr(), whole.as_ptr());
        a.append([signal(3, "late")], &V1).expect("a valid signal");
        assert!(
            a.signals.flat.get().is_none(),
            "a small append makes the contiguous list stale"
        );
        let made = a.signals().to_vec();
        let flat = a.signals.flat.get().cloned().expect("made by signals()");
        a.append([signal(200, "later")], &V1).expect("a valid signal");
        let own = a
            .signals
            .runs
            .iter()
            .filter(|r| !Arc::ptr_eq(&r.buf, &flat))
            .count();
        assert_eq!(
            own, 1,
            "every run but the one changed is a range of the last contiguous list"
        );
        let mut expected = made;
        expected.push(signal(200, "later").normalised().with_content_id());
        expected.sort_by(canonical_order);
        assert_eq!(a.signals(), expected.as_slice());
    }

    /// Reading a case file with [`Case::from_json_slice`] gives what [`Case::from_json`] gives on the parsed
    /// document: the same case, or the same error.
    #[test]
    fn the_streaming_reader_agrees_with_the_tree_reader() {
        let header =
            r#""id": "c", "sender": "USA", "target": "PRK", "start": "2020-01-01", "term_end": "2021-01-01""#;
        let docs = [
            format!(r#"{{{header}, "signals": [{{"type": "summit_held", "date": "2020-03-01"}}, {{"id": "x", "type": "talks_held", "date": "2020-02-01", "source": "kcna"}}]}}"#),
            format!(r#"{{{header}}}"#),
            format!(r#"{{{header}, "signals": null, "extra": [1, 2]}}"#),
            format!(r#"{{"signals": [{{"type": "summit_held", "date": "2020-03-01"}}], {header}, "description": "d"}}"#),
            format!(r#"{{{header}, "signals": {{"a": 1}}}}"#),
            format!(r#"{{{header}, "signals": "none"}}"#),
            format!(r#"{{{header}, "signals": [{{"type": "summit_held", "date": "2020-03-01"}}, {{"type": "summit_held", "date": "2020-13-01"}}, {{"type": 3}}]}}"#),
            format!(r#"{{{header}, "signals": [{{"type": "no_such_type", "date": "2020-03-01"}}]}}"#),
            format!(r#"{{{header}, "signals": [{{"type": "summit_held", "date": "2019-03-01"}}]}}"#),
            r#"{"id": "c", "sender": "", "target": "PRK", "start": "2020-01-01", "term_end": "2021-01-01", "signals": [{"type": 1}]}"#.to_owned(),
            format!(r#"{{{header}, "format_version": 2, "reelection_eligible": false, "signals": [{{"type": "sender_leader_reelected", "date": "2020-11-03"}}]}}"#),
            format!(r#"{{{header}, "format_version": 7}}"#),
            "[1, 2]".to_owned(),
            "3".to_owned(),
        ];
        for doc in &docs {
            let tree: Value = serde_json::from_str(doc).expect("JSON");
            let a = Case::from_json(&tree, &V2);
            let b = Case::from_json_slice(doc.as_bytes(), &V2);
            // And read from a reader (the command line streams case files), in small reads.
            let c = Case::from_json_reader(std::io::BufReader::with_capacity(3, doc.as_bytes()), &V2);
            match (&b, &c) {
                (Ok(b), Ok(c)) => assert_eq!(b, c, "{doc}"),
                (Err(b), Err(c)) => assert_eq!(b.to_string(), c.to_string(), "{doc}"),
                (b, c) => panic!("{doc}: {b:?} against {c:?} from the reader"),
            }
            match (a, b) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{doc}"),
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{doc}"),
                (a, b) => panic!("{doc}: {a:?} against {b:?}"),
            }
        }
        let e = Case::from_json_slice(b"{\"id\": ", &V2).expect_err("not JSON");
        assert!(matches!(e, Error::Parse { line: Some(1), .. }), "{e}");
        let e = Case::from_json_reader(&b"{\"id\": "[..], &V2).expect_err("not JSON");
        assert!(matches!(e, Error::Parse { line: Some(1), .. }), "{e}");
    }

    proptest! {
        /// The keyed sort gives the canonical order: ids sharing their first eight bytes, types given as
        /// interned and as own text, dates and reliabilities that tie.
        #[test]
        fn the_keyed_sort_is_the_canonical_order(
            rows in prop::collection::vec((0u64..20, 0usize..5, 0u32..4, prop::bool::ANY), 65..300),
            seed in 0u64..1000,
        ) {
            let types = ["talks_held", "summit_held", "a", "talks_heldx", "sanctions_tightened"];
            let mut v: Vec<Signal> = rows
                .iter()
                .enumerate()
                .map(|(i, &(d, t, r, own))| {
                    let mut s = Signal::new(types[t], day(d))
                        .with_id(format!("same-pre{}", (i as u64 * 7919 + seed) % 1000));
                    if own {
                        s.signal_type = Text::from(types[t]);
                    }
                    s.reliability = f64::from(r) / 4.0;
                    s
                })
                .collect();
            let mut seen = std::collections::HashSet::new();
            v.retain(|s| seen.insert(s.id.clone()));
            let mut expected = v.clone();
            expected.sort_by(canonical_order);
            sort_canonical(&mut v);
            prop_assert_eq!(v, expected);
        }
    }

    /// The failure reported is the first in batch order, whether a conflict with the case, a conflict within
    /// the batch or an invalid signal; nothing is applied.
    #[test]
    fn the_first_failure_in_batch_order_is_reported() {
        let mut a = case();
        a.append([signal(1, "z")], &V1).expect("a valid signal");
        let invalid = || Signal::new("sanctions_tightened", day(900)).with_id("bad");
        let dup = |r: Result<AppendReport>| match r {
            Err(Error::DuplicateSignal { id, .. }) => id,
            other => panic!("expected a conflict, found {other:?}"),
        };
        let bad_field = |r: Result<AppendReport>| match r {
            Err(Error::InvalidSignal { field, .. }) => field,
            other => panic!("expected an invalid signal, found {other:?}"),
        };
        assert_eq!(
            dup(a.append([signal(2, "a"), signal(3, "b"), signal(4, "a"), invalid()], &V1)),
            "a"
        );
        assert_eq!(
            bad_field(a.append([signal(2, "a"), invalid(), signal(4, "a")], &V1)),
            "signals[1].date"
        );
        assert_eq!(
            dup(a.append([signal(2, "a"), signal(5, "z"), signal(4, "a")], &V1)),
            "z"
        );
        assert_eq!(
            dup(a.append([signal(2, "a"), signal(4, "a"), signal(5, "z")], &V1)),
            "a"
        );
        assert_eq!(a.signal_count(), 1);
        let r = a
            .append(
                [signal(1, "z"), signal(2, "a"), signal(2, "a"), signal(3, "b")],
                &V1,
            )
            .expect("retries and new signals");
        assert_eq!((r.added, r.unchanged), (2, 2));
    }
}
