//! The service's shared state: the model, the store, and the cases rebuilt from the store's log.
//!
//! Writes are serialised by the store's mutex: a writer validates its change on a copy of the case
//! (`Case::append` on a clone), commits it in one SQLite transaction, and only then publishes the new case to
//! readers and to WatchForecast streams. Readers take an `Arc<Case>` snapshot and compute without any lock.
//!
//! The published case is the effective one: every signal appended, less those retracted, with every update
//! applied. Retracted signals are kept beside it (their ids stay taken).

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};

use pf_core::{AppendReport, Case, Model, Signal};
use tokio::sync::broadcast;

use crate::error::{Result, ServerError, StoreError};
use crate::store::{CaseEvent, CaseUpdate, Store, StoredCase};

/// The example cases of `data/cases/`, embedded so that the binary needs no files.
pub const EXAMPLE_CASES: [(&str, &str); 2] = [
    (
        "data/cases/north_korea.json",
        include_str!("../../../data/cases/north_korea.json"),
    ),
    (
        "data/cases/iran.json",
        include_str!("../../../data/cases/iran.json"),
    ),
];

/// Shared state of one server.
#[derive(Debug)]
pub struct State {
    /// The model forecasts are made with.
    pub model: Arc<Model>,
    /// The model file's text (the embedded default's, or the file given).
    pub model_toml: String,
    store: Mutex<Option<Store>>,
    cases: RwLock<BTreeMap<String, Entry>>,
    changes: broadcast::Sender<String>,
}

/// One case in memory.
#[derive(Debug, Clone)]
struct Entry {
    /// The effective case: retracted signals removed.
    case: Arc<Case>,
    /// Retracted signals by id.
    retracted: BTreeMap<String, Signal>,
}

impl Entry {
    /// Replay a stored case's change log.
    fn replay(stored: StoredCase) -> Result<Entry, StoreError> {
        let StoredCase { mut case, events } = stored;
        let mut retracted = BTreeMap::new();
        for e in events {
            match e {
                CaseEvent::Update(u) => apply_update(&mut case, u),
                CaseEvent::Retract { signal_id, .. } => {
                    let s = case.remove(&signal_id).ok_or_else(|| {
                        StoreError::Corrupt(format!(
                            "case `{}`: retraction of signal `{signal_id}`, which the log does not hold",
                            case.id
                        ))
                    })?;
                    retracted.insert(signal_id, s);
                }
            }
        }
        Ok(Entry {
            case: Arc::new(case),
            retracted,
        })
    }
}

fn apply_update(case: &mut Case, u: CaseUpdate) {
    if let Some(d) = u.description {
        case.description = d;
    }
    if let Some(v) = u.reelection_eligible {
        case.reelection_eligible = v;
    }
    if let Some(v) = u.election_date {
        case.election_date_given = v;
    }
}

/// What RetractSignal did.
#[derive(Debug, Clone)]
pub struct Retracted {
    /// The case after the retraction.
    pub case: Arc<Case>,
    /// False when the signal was already retracted.
    pub retracted: bool,
}

/// What CreateCase did.
#[derive(Debug, Clone)]
pub struct Created {
    /// The case as stored.
    pub case: Arc<Case>,
    /// False when the identical case already existed.
    pub created: bool,
}

/// What AppendSignals did.
#[derive(Debug, Clone)]
pub struct Appended {
    /// The case after the append.
    pub case: Arc<Case>,
    /// Counts.
    pub report: AppendReport,
}

impl State {
    /// Open the store and rebuild every case from its log.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be opened, fails its checks, or holds records the model rejects.
    pub fn open(store: Store, model: Model, model_toml: String) -> Result<State, StoreError> {
        let cases = store
            .load_all(&model)?
            .into_iter()
            .map(|c| Ok((c.case.id.clone(), Entry::replay(c)?)))
            .collect::<Result<_, StoreError>>()?;
        let (changes, _) = broadcast::channel(1024);
        Ok(State {
            model: Arc::new(model),
            model_toml,
            store: Mutex::new(Some(store)),
            cases: RwLock::new(cases),
            changes,
        })
    }

    /// A snapshot of a case.
    ///
    /// # Errors
    /// [`ServerError::CaseNotFound`].
    pub fn case(&self, id: &str) -> Result<Arc<Case>> {
        self.cases
            .read()
            .expect("the case map lock is never poisoned: no code panics while holding it")
            .get(id)
            .map(|e| e.case.clone())
            .ok_or_else(|| ServerError::CaseNotFound(id.to_owned()))
    }

    fn entry(&self, id: &str) -> Result<Entry> {
        self.cases
            .read()
            .expect("never poisoned")
            .get(id)
            .cloned()
            .ok_or_else(|| ServerError::CaseNotFound(id.to_owned()))
    }

    /// Up to `limit` cases with ids after `after`, in id order, and whether more follow.
    pub fn list(&self, after: Option<&str>, limit: usize) -> (Vec<Arc<Case>>, bool) {
        let map = self.cases.read().expect("never poisoned");
        let iter: Box<dyn Iterator<Item = (&String, &Entry)>> = match after {
            Some(a) => {
                Box::new(map.range::<str, _>((std::ops::Bound::Excluded(a), std::ops::Bound::Unbounded)))
            }
            None => Box::new(map.iter()),
        };
        let mut out: Vec<Arc<Case>> = iter.take(limit + 1).map(|(_, e)| e.case.clone()).collect();
        let more = out.len() > limit;
        out.truncate(limit);
        (out, more)
    }

    /// Subscribe to the ids of cases that change.
    pub fn subscribe(&self) -> broadcast::Receiver<String> {
        self.changes.subscribe()
    }

    fn with_store<T>(&self, f: impl FnOnce(&mut Store) -> Result<T>) -> Result<T> {
        let mut guard = self
            .store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let store = guard.as_mut().ok_or(ServerError::Store(StoreError::Closed))?;
        f(store)
    }

    fn publish(&self, entry: Entry) {
        let id = entry.case.id.clone();
        self.cases
            .write()
            .expect("never poisoned")
            .insert(id.clone(), entry);
        let _ = self.changes.send(id);
    }

    /// Create a case from its header and first batch. Blocking (SQLite); call from a blocking thread.
    ///
    /// # Errors
    /// [`ServerError::CaseExists`] when the id is taken by a different case; the engine's errors for the batch;
    /// [`ServerError::Store`].
    pub fn create(&self, header: Case, signals: Vec<Signal>) -> Result<Created> {
        let mut case = header;
        case.append(signals, self.model.as_ref())?;
        self.with_store(|store| {
            if let Ok(existing) = self.entry(&case.id) {
                return if *existing.case == case && existing.retracted.is_empty() {
                    Ok(Created {
                        case: existing.case,
                        created: false,
                    })
                } else {
                    Err(ServerError::CaseExists(case.id.clone()))
                };
            }
            store.insert_case(&case, &[])?;
            let case = Arc::new(case);
            self.publish(Entry {
                case: case.clone(),
                retracted: BTreeMap::new(),
            });
            Ok(Created { case, created: true })
        })
    }

    /// Write the fields of `update` (an event in the case's log). Blocking (SQLite).
    ///
    /// # Errors
    /// [`ServerError::CaseNotFound`], [`ServerError::Store`] (nothing changes then).
    pub fn update(&self, case_id: &str, update: CaseUpdate) -> Result<Arc<Case>> {
        self.with_store(|store| {
            let mut entry = self.entry(case_id)?;
            store.add_event(case_id, &CaseEvent::Update(update.clone()))?;
            let mut case = (*entry.case).clone();
            apply_update(&mut case, update);
            entry.case = Arc::new(case);
            let out = entry.case.clone();
            self.publish(entry);
            Ok(out)
        })
    }

    /// Retract a signal (an event in the case's log); idempotent. Blocking (SQLite).
    ///
    /// # Errors
    /// [`ServerError::CaseNotFound`], [`ServerError::SignalNotFound`], [`ServerError::Store`] (nothing changes
    /// then).
    pub fn retract(&self, case_id: &str, signal_id: &str, reason: &str) -> Result<Retracted> {
        self.with_store(|store| {
            let mut entry = self.entry(case_id)?;
            if entry.retracted.contains_key(signal_id) {
                return Ok(Retracted {
                    case: entry.case,
                    retracted: false,
                });
            }
            let mut case = (*entry.case).clone();
            let signal = case
                .remove(signal_id)
                .ok_or_else(|| ServerError::SignalNotFound {
                    case: case_id.to_owned(),
                    signal: signal_id.to_owned(),
                })?;
            store.add_event(
                case_id,
                &CaseEvent::Retract {
                    signal_id: signal_id.to_owned(),
                    reason: reason.to_owned(),
                },
            )?;
            entry.retracted.insert(signal_id.to_owned(), signal);
            entry.case = Arc::new(case);
            let case = entry.case.clone();
            self.publish(entry);
            Ok(Retracted {
                case,
                retracted: true,
            })
        })
    }

    /// Append a batch, atomically. Blocking (SQLite); call from a blocking thread.
    ///
    /// # Errors
    /// [`ServerError::CaseNotFound`]; the engine's errors for the batch (nothing changes then);
    /// [`ServerError::Store`] (nothing changes then).
    pub fn append(&self, case_id: &str, signals: Vec<Signal>) -> Result<Appended> {
        self.with_store(|store| {
            let entry = self.entry(case_id)?;
            let current = entry.case.clone();
            // Retracted ids stay taken: the identical signal is a retry (unchanged), another is a conflict.
            let mut repeats = 0;
            let mut batch = Vec::with_capacity(signals.len());
            for (i, s) in signals.into_iter().enumerate() {
                match s.id.as_deref().and_then(|id| entry.retracted.get(id)) {
                    Some(old) if *old == s => repeats += 1,
                    Some(_) => {
                        return Err(ServerError::SignalRetracted {
                            field: format!("signals[{i}].id"),
                            id: s.id.unwrap_or_default(),
                        });
                    }
                    None => batch.push(s),
                }
            }
            let mut next = (*current).clone();
            let fresh = fresh_signals(&current, &batch);
            let mut report = next.append(batch, self.model.as_ref())?;
            debug_assert_eq!(report.added, fresh.len());
            report.unchanged += repeats;
            if report.added == 0 {
                return Ok(Appended {
                    case: current,
                    report,
                });
            }
            store.append(case_id, &fresh)?;
            let next = Arc::new(next);
            self.publish(Entry {
                case: next.clone(),
                ..entry
            });
            Ok(Appended { case: next, report })
        })
    }

    /// Delete a case; returns the number of signals deleted. Blocking (SQLite).
    ///
    /// # Errors
    /// [`ServerError::CaseNotFound`], [`ServerError::Store`].
    pub fn delete(&self, case_id: &str) -> Result<usize> {
        self.with_store(|store| {
            let n = store
                .delete_case(case_id)?
                .ok_or_else(|| ServerError::CaseNotFound(case_id.to_owned()))?;
            self.cases.write().expect("never poisoned").remove(case_id);
            let _ = self.changes.send(case_id.to_owned());
            Ok(n)
        })
    }

    /// Close the store (checkpoint and close SQLite); later writes fail with UNAVAILABLE.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`] when SQLite cannot close cleanly.
    pub fn close(&self) -> Result<(), StoreError> {
        let store = self
            .store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        match store {
            Some(s) => s.close(),
            None => Ok(()),
        }
    }
}

/// The signals of a batch that an append stores: those without an id, and the first of each id not already in
/// the case. (Repeats with the same content are skipped by `Case::append`; different content is an error.)
fn fresh_signals(case: &Case, batch: &[Signal]) -> Vec<Signal> {
    let mut seen: HashSet<&str> = case.signals().iter().filter_map(|s| s.id.as_deref()).collect();
    batch
        .iter()
        .filter(|s| match s.id.as_deref() {
            None => true,
            Some(id) => seen.insert(id),
        })
        .cloned()
        .collect()
}
