//! Cases (a campaign being forecast) and episodes (finished cases with their outcome).

use std::cmp::Ordering;
use std::collections::HashMap;
use std::path::Path;

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::dates::parse_date;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::signal::Signal;
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
    signals: Vec<Signal>,
    #[serde(skip)]
    ids: IdIndex,
}

/// A cache of the hashes of a case's signal ids, built by the first append that needs it and kept up to date
/// by appends: an append hashes its own signals' ids, not every stored one. It may hold hashes of ids no longer
/// stored (a removal leaves them), never miss a stored one: a hash not in it is a new id; one in it is looked up
/// among the signals. It takes no part in a case's equality.
#[derive(Debug, Clone, Default)]
struct IdIndex(Option<rustc_hash::FxHashSet<u64>>);

impl PartialEq for IdIndex {
    fn eq(&self, _: &IdIndex) -> bool {
        true
    }
}

fn id_hash(id: &str) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(id)
}

/// Signals in canonical order (a stable sort of indices, so that each signal is moved once).
fn sorted(signals: Vec<Signal>) -> Vec<Signal> {
    if signals.is_sorted_by(|a, b| canonical_order(a, b) != Ordering::Greater) {
        return signals;
    }
    let mut order: Vec<u32> = (0..signals.len() as u32).collect();
    order.sort_by(|&i, &j| canonical_order(&signals[i as usize], &signals[j as usize]));
    let mut slots: Vec<Option<Signal>> = signals.into_iter().map(Some).collect();
    order
        .into_iter()
        .map(|i| slots[i as usize].take().expect("a permutation"))
        .collect()
}

/// Appended signals whose id hash is already stored, looked up one by one among the signals; beyond this many,
/// a map of every stored id is built once instead (a retried batch).
const ID_SCANS: usize = 8;

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
            signals: Vec::new(),
            ids: IdIndex::default(),
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
        let signals = match obj.get("signals") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    Signal::from_json(s).map_err(|e| match e {
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
                    })
                })
                .collect::<Result<_>>()?,
            Some(_) => {
                return Err(Error::case(
                    "signals",
                    "a list of signal records",
                    "another JSON value",
                ));
            }
        };
        if version >= 2 {
            case.check_fate_signals(&signals)?;
        }
        case.append(signals, vocabulary)?;
        Ok(case)
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
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.into(),
            source,
        })?;
        let v: Value = serde_json::from_str(&text).map_err(|e| Error::Parse {
            what: format!("case file {}", path.display()),
            line: Some(e.line()),
            message: e.to_string(),
        })?;
        Case::from_json(&v, vocabulary)
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
    pub fn signals(&self) -> &[Signal] {
        &self.signals
    }

    /// Signals dated on or before `as_of`.
    pub fn signals_until(&self, as_of: NaiveDate) -> &[Signal] {
        let n = self.signals.partition_point(|s| s.date <= as_of);
        &self.signals[..n]
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
        let mut index = match self.ids.0.take() {
            Some(index) => index,
            None => self
                .signals
                .iter()
                .filter_map(|s| s.id.as_deref())
                .map(id_hash)
                .collect(),
        };
        let checked = self.fresh_signals(signals, vocabulary, &index);
        let (report, fresh) = match checked {
            Ok(r) => r,
            Err(e) => {
                self.ids.0 = Some(index);
                return Err(e);
            }
        };
        index.reserve(fresh.len());
        index.extend(fresh.iter().filter_map(|s| s.id.as_deref()).map(id_hash));
        self.ids.0 = Some(index);
        let fresh = sorted(fresh);
        if fresh.len() * 16 < self.signals.len() {
            // A few signals into many: each inserted at its place (after the equal ones), no pass over the whole.
            for s in fresh {
                let at = self
                    .signals
                    .partition_point(|x| canonical_order(x, &s) != Ordering::Greater);
                self.signals.insert(at, s);
            }
        } else if self.signals.is_empty() {
            self.signals = fresh;
        } else if !fresh.is_empty() {
            // Two sorted runs merged, the stored signals first among equal ones: what a stable sort of both gives,
            // each signal moved once.
            let old = std::mem::take(&mut self.signals);
            let mut out = Vec::with_capacity(old.len() + fresh.len());
            let mut a = old.into_iter().peekable();
            let mut b = fresh.into_iter().peekable();
            while let (Some(x), Some(y)) = (a.peek(), b.peek()) {
                if canonical_order(x, y) != Ordering::Greater {
                    out.extend(a.next());
                } else {
                    out.extend(b.next());
                }
            }
            out.extend(a);
            out.extend(b);
            self.signals = out;
        }
        Ok(report)
    }

    /// The signals of an append that are new to the case (checked, normalised, with content ids), with the
    /// report; `index` holds the hashes of the stored ids.
    fn fresh_signals(
        &self,
        signals: impl IntoIterator<Item = Signal>,
        vocabulary: &impl Vocabulary,
        index: &rustc_hash::FxHashSet<u64>,
    ) -> Result<(AppendReport, Vec<Signal>)> {
        let signals = signals.into_iter();
        let mut batch = Vec::with_capacity(signals.size_hint().0);
        for (i, s) in signals.enumerate() {
            // Content-derived id for an id-less signal (issue 13, part 2).
            let s = s.normalised().with_content_id();
            self.check_signal(&s, vocabulary).map_err(|e| match e {
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
            })?;
            batch.push(s);
        }
        // The stored signal with each id whose hash is stored: one by one for a few, by a map of them all beyond.
        let suspects = batch
            .iter()
            .filter(|s| s.id.as_deref().is_some_and(|id| index.contains(&id_hash(id))))
            .count();
        let all: Option<HashMap<&str, &Signal>> = (suspects > ID_SCANS).then(|| {
            self.signals
                .iter()
                .filter_map(|s| s.id.as_deref().map(|i| (i, s)))
                .collect()
        });
        let stored = |id: &str| -> Option<&Signal> {
            if !index.contains(&id_hash(id)) {
                return None;
            }
            match &all {
                Some(m) => m.get(id).copied(),
                None => self.signals.iter().find(|s| s.id.as_deref() == Some(id)),
            }
        };
        // Earlier signals of the batch by id (indices into it, so no signal is copied).
        let mut batch_ids: rustc_hash::FxHashMap<&str, usize> =
            rustc_hash::FxHashMap::with_capacity_and_hasher(batch.len(), Default::default());
        let mut keep = vec![false; batch.len()];
        let mut report = AppendReport::default();
        for (i, s) in batch.iter().enumerate() {
            if let Some(id) = &s.id {
                let prior = stored(id).or_else(|| batch_ids.get(id.as_str()).map(|&j| &batch[j]));
                if let Some(p) = prior {
                    if p.same_content(s) {
                        report.unchanged += 1;
                        continue;
                    }
                    return Err(Error::DuplicateSignal {
                        id: id.clone(),
                        stored: p.describe(),
                        found: s.describe(),
                    });
                }
                batch_ids.insert(id, i);
            }
            keep[i] = true;
        }
        drop(batch_ids);
        drop(all);
        let fresh: Vec<Signal> = batch
            .into_iter()
            .zip(keep)
            .filter_map(|(s, k)| k.then_some(s))
            .collect();
        report.added = fresh.len();
        Ok((report, fresh))
    }

    /// Index of the first signal dated on or after `date` (the signals' count if none): where signals of that
    /// date or later go in the case's order, the `first_changed` of [`crate::Checkpoints::append`] after an
    /// append whose earliest signal is dated `date`.
    pub fn first_index_on_or_after(&self, date: NaiveDate) -> usize {
        self.signals.partition_point(|s| s.date < date)
    }

    /// Remove the signal with this id; returns it if it was present.
    pub fn remove(&mut self, id: &str) -> Option<Signal> {
        let pos = self.signals.iter().position(|s| s.id.as_deref() == Some(id))?;
        Some(self.signals.remove(pos))
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
        c.signals = signals;
        c.signals.sort_by(canonical_order);
        c.ids = IdIndex::default();
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
