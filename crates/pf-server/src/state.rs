//! The service's shared state: the model, the store, and the cases rebuilt from the store's log.
//!
//! Writes are serialised by the store's mutex: a writer validates its change on a copy of the case
//! (`Case::append` on a clone), commits it in one SQLite transaction, and only then publishes the new case to
//! readers and to WatchForecast streams. Readers take an `Arc<Case>` snapshot and compute without any lock.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};

use pf_core::{AppendReport, Case, Model, Signal};
use tokio::sync::broadcast;

use crate::error::{Result, ServerError, StoreError};
use crate::store::Store;

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
    cases: RwLock<BTreeMap<String, Arc<Case>>>,
    changes: broadcast::Sender<String>,
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
        let cases = store.load_all(&model)?;
        let (changes, _) = broadcast::channel(1024);
        Ok(State {
            model: Arc::new(model),
            model_toml,
            store: Mutex::new(Some(store)),
            cases: RwLock::new(cases.into_iter().map(|c| (c.id.clone(), Arc::new(c))).collect()),
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
            .cloned()
            .ok_or_else(|| ServerError::CaseNotFound(id.to_owned()))
    }

    /// Up to `limit` cases with ids after `after`, in id order, and whether more follow.
    pub fn list(&self, after: Option<&str>, limit: usize) -> (Vec<Arc<Case>>, bool) {
        let map = self.cases.read().expect("never poisoned");
        let iter: Box<dyn Iterator<Item = (&String, &Arc<Case>)>> = match after {
            Some(a) => {
                Box::new(map.range::<str, _>((std::ops::Bound::Excluded(a), std::ops::Bound::Unbounded)))
            }
            None => Box::new(map.iter()),
        };
        let mut out: Vec<Arc<Case>> = iter.take(limit + 1).map(|(_, c)| c.clone()).collect();
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

    fn publish(&self, case: Arc<Case>) {
        self.cases
            .write()
            .expect("never poisoned")
            .insert(case.id.clone(), case);
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
            if let Ok(existing) = self.case(&case.id) {
                return if *existing == case {
                    Ok(Created {
                        case: existing,
                        created: false,
                    })
                } else {
                    Err(ServerError::CaseExists(case.id.clone()))
                };
            }
            store.insert_case(&case)?;
            let case = Arc::new(case);
            self.publish(case.clone());
            let _ = self.changes.send(case.id.clone());
            Ok(Created { case, created: true })
        })
    }

    /// Append a batch, atomically. Blocking (SQLite); call from a blocking thread.
    ///
    /// # Errors
    /// [`ServerError::CaseNotFound`]; the engine's errors for the batch (nothing changes then);
    /// [`ServerError::Store`] (nothing changes then).
    pub fn append(&self, case_id: &str, signals: Vec<Signal>) -> Result<Appended> {
        self.with_store(|store| {
            let current = self.case(case_id)?;
            let mut next = (*current).clone();
            let fresh = fresh_signals(&current, &signals);
            let report = next.append(signals, self.model.as_ref())?;
            debug_assert_eq!(report.added, fresh.len());
            if report.added == 0 {
                return Ok(Appended {
                    case: current,
                    report,
                });
            }
            store.append(case_id, &fresh)?;
            let next = Arc::new(next);
            self.publish(next.clone());
            let _ = self.changes.send(case_id.to_owned());
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
