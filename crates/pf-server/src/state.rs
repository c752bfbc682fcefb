//! The service's shared state: the model, the store (SQLite or PostgreSQL, [`Backend`]), and the cases rebuilt
//! from the store's logs, each with its version.
//!
//! Every write is optimistic: the writer validates its change on a copy of the case at the version it read
//! (`Case::append` on a clone), and commits it in one transaction only if the stored case is still at that
//! version ([`Write`]); when another writer went first (another call, or another replica on PostgreSQL), it
//! reloads the case and tries again. Only after the commit is the new case published to readers and to
//! WatchForecast streams. Readers take an `Arc<Case>` snapshot and compute without any lock. Writes run on a
//! task of their own, so a caller that goes away mid-commit cannot leave memory behind the store.
//!
//! On both stores the map is a cache bounded in bytes (`case_cache_bytes`, estimated; the oldest loaded leave
//! first): a case not in it is loaded from the store (its records read back and checked) on first use, so a
//! start reads no case at all. With SQLite the server is the store's only writer (it holds the store's lock), so
//! a cached case is always current. With PostgreSQL a change notification (LISTEN/NOTIFY, case id and version) from
//! any replica drops a cached copy older than the version notified and wakes the WatchForecast streams of the
//! case. When the database cannot be reached, cached cases are still read (with their version), writes and
//! cache misses answer UNAVAILABLE; once the notification connection is back, every cached case is checked
//! against the database's version, since notifications sent meanwhile were missed.
//!
//! The published case is the effective one: every signal appended, less those retracted, with every update
//! applied. Retracted signals are kept beside it (their ids stay taken).
//!
//! Every cached case also keeps its forecasts' checkpoints (module `incremental`), shared by the entries of its
//! successive versions: a write records how the version it publishes differs from the one it was made from, so
//! that the next forecast ([`State::forecast`]) filters the changed signals only. A case loaded from the store
//! (a cache miss, a reload after a conflict or a change notification) starts with none.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};

use pf_core::{AppendReport, Case, Model, Signal, Vocabulary};
use tokio::sync::broadcast;

use crate::error::{Result, ServerError, StoreError};
use crate::incremental::{CaseCheckpoints, Change, checkpoints_bytes};
use crate::pg::PgStore;
use crate::store::{CaseEvent, CaseUpdate, RawSummary, Store, StoredCase, Write};

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

/// How many times a write is tried when other writers keep moving the case on.
const MAX_ATTEMPTS: usize = 64;

/// Forecasts that filter more signals than this are computed on a blocking thread even without draws.
pub(crate) const INLINE_SIGNALS: usize = 2_000;

/// The store behind the state: the embedded SQLite file (its calls run on blocking threads) or a PostgreSQL
/// database shared by replicas.
#[derive(Debug)]
pub enum Backend {
    /// SQLite (`None` once closed).
    Sqlite(Arc<Mutex<Option<Store>>>),
    /// PostgreSQL.
    Postgres(Box<PgStore>),
}

impl Backend {
    /// Run `f` on the SQLite store on a blocking thread.
    async fn sqlite<T: Send + 'static>(
        store: &Arc<Mutex<Option<Store>>>,
        f: impl FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let store = store.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = store.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let st = guard.as_mut().ok_or(StoreError::Closed)?;
            f(st)
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("the store's thread failed: {e}")))?
    }

    async fn load_case(&self, id: &str, model: &Arc<Model>) -> Result<Option<StoredCase>, StoreError> {
        match self {
            Backend::Sqlite(st) => {
                let (id, model) = (id.to_owned(), model.clone());
                Backend::sqlite(st, move |s| s.load_case(&id, model.as_ref())).await
            }
            Backend::Postgres(pg) => pg.load_case(id, model.as_ref()).await,
        }
    }

    async fn summaries(&self, ids: Vec<String>) -> Result<Vec<RawSummary>, StoreError> {
        match self {
            Backend::Sqlite(st) => Backend::sqlite(st, move |s| s.summaries(&ids)).await,
            Backend::Postgres(pg) => pg.summaries(&ids).await,
        }
    }

    async fn insert_case(&self, case: &Arc<Case>) -> Result<bool, StoreError> {
        match self {
            Backend::Sqlite(st) => {
                let case = case.clone();
                Backend::sqlite(st, move |s| s.insert_case(&case, &[])).await
            }
            Backend::Postgres(pg) => pg.insert_case(case, &[]).await,
        }
    }

    async fn append(&self, id: &str, expected: u64, signals: Vec<Signal>) -> Result<Write, StoreError> {
        match self {
            Backend::Sqlite(st) => {
                let id = id.to_owned();
                Backend::sqlite(st, move |s| s.append(&id, expected, &signals)).await
            }
            Backend::Postgres(pg) => pg.append(id, expected, &signals).await,
        }
    }

    async fn add_event(&self, id: &str, expected: u64, event: CaseEvent) -> Result<Write, StoreError> {
        match self {
            Backend::Sqlite(st) => {
                let id = id.to_owned();
                Backend::sqlite(st, move |s| s.add_event(&id, expected, &event)).await
            }
            Backend::Postgres(pg) => pg.add_event(id, expected, &event).await,
        }
    }

    async fn delete_case(&self, id: &str) -> Result<Option<usize>, StoreError> {
        match self {
            Backend::Sqlite(st) => {
                let id = id.to_owned();
                Backend::sqlite(st, move |s| s.delete_case(&id)).await
            }
            Backend::Postgres(pg) => pg.delete_case(id).await,
        }
    }
}

/// Shared state of one server.
#[derive(Debug)]
pub struct State {
    /// The model forecasts are made with.
    pub model: Arc<Model>,
    /// The model file's text (the embedded default's, or the file given).
    pub model_toml: String,
    backend: Backend,
    cases: RwLock<CaseMap>,
    changes: broadcast::Sender<String>,
}

/// A case as ListCases shows it: its header, signal count and version. A case in memory is given whole; a case
/// that is not is read without its signals (so `case` holds none: use `signal_count`).
#[derive(Debug, Clone)]
pub struct Summary {
    /// The effective case (header fields as updated); its signals only when it was in memory.
    pub case: Arc<Case>,
    /// The signals the effective case holds (retracted ones left out).
    pub signal_count: usize,
    /// Its version in the store.
    pub version: u64,
}

impl From<&Snapshot> for Summary {
    fn from(s: &Snapshot) -> Summary {
        Summary {
            signal_count: s.case.signal_count(),
            case: s.case.clone(),
            version: s.version,
        }
    }
}

impl Summary {
    /// The summary of a case's listing rows: the header with its updates applied, and the signal count.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] naming the case when its header or an update cannot be read back.
    fn read(raw: RawSummary, vocabulary: &impl Vocabulary) -> Result<Summary, StoreError> {
        let corrupt = |what: &str, reason: String| {
            StoreError::Corrupt(format!(
                "case `{}`: {what}: {reason}: expected every record to read back",
                raw.id
            ))
        };
        let mut case =
            crate::store::read_header(&raw.id, &raw.header, vocabulary).map_err(|r| corrupt("header", r))?;
        for rec in &raw.updates {
            match crate::store::read_exact::<CaseEvent>(rec).map_err(|r| corrupt("update event", r))? {
                CaseEvent::Update(u) => apply_update(&mut case, u),
                CaseEvent::Retract { .. } => {
                    return Err(corrupt("update event", "a retraction".into()));
                }
            }
        }
        Ok(Summary {
            case: Arc::new(case),
            signal_count: usize::try_from(raw.signals - raw.retractions).unwrap_or(0),
            version: u64::try_from(raw.version).unwrap_or(0),
        })
    }
}

/// A case as read: the effective case and its version.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The effective case (retracted signals removed).
    pub case: Arc<Case>,
    /// Its version in the store.
    pub version: u64,
    /// The checkpoints of the case's cache entry (shared by its versions; [`crate::incremental`]).
    pub(crate) checkpoints: Arc<CaseCheckpoints>,
}

impl Snapshot {
    /// A snapshot of a case outside the cache: its forecasts make checkpoints of their own.
    pub fn new(case: Arc<Case>, version: u64) -> Snapshot {
        Snapshot {
            case,
            version,
            checkpoints: Arc::default(),
        }
    }
}

/// The cases in memory: every case (SQLite) or a cache bounded in bytes (PostgreSQL).
#[derive(Debug, Default)]
struct CaseMap {
    map: BTreeMap<String, Entry>,
    /// Load order, oldest first (eviction order).
    order: BTreeMap<u64, String>,
    tick: u64,
    bytes: usize,
    max_bytes: usize,
    /// Loads in flight, by case: how many, and the highest version notified meanwhile (a load that started
    /// before a change committed must not put its older copy in the cache).
    loading: HashMap<String, (usize, u64)>,
}

impl CaseMap {
    /// Put `entry` in the map unless a newer version of its case is there; the entry now current.
    fn install(&mut self, entry: Entry) -> Entry {
        let id = entry.case.id.clone();
        if let Some(old) = self.map.get(&id)
            && old.version >= entry.version
        {
            return old.clone();
        }
        self.remove(&id);
        let mut entry = entry;
        self.tick += 1;
        entry.tick = self.tick;
        if entry.bytes == 0 {
            entry.bytes = entry_bytes(&entry);
        }
        self.bytes += entry.bytes;
        self.order.insert(entry.tick, id.clone());
        self.map.insert(id, entry.clone());
        while self.bytes > self.max_bytes && self.order.len() > 1 {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            if let Some(e) = self.map.remove(&oldest) {
                self.bytes -= e.bytes;
            }
        }
        entry
    }

    fn remove(&mut self, id: &str) -> Option<Entry> {
        let e = self.map.remove(id)?;
        self.order.remove(&e.tick);
        self.bytes -= e.bytes;
        Some(e)
    }
}

/// Estimated bytes of one signal of a case in memory: twice its size, since a case read holds its signals in
/// its persistent list and in the contiguous copy readers get (`Case::signals`), plus its id in the id index.
pub(crate) fn signal_bytes(s: &Signal) -> usize {
    let own = std::mem::size_of::<Signal>()
        + s.id.as_ref().map_or(0, |i| i.len())
        + s.signal_type.len()
        + s.source.as_ref().map_or(0, |t| t.len())
        + s.note.as_ref().map_or(0, |t| t.len())
        + s.event_ids.iter().map(|e| e.len() + 24).sum::<usize>()
        + 32;
    own * 2 + s.id.as_ref().map_or(0, |i| i.len() + 48)
}

/// Estimated bytes of a case in memory, counted over every signal, with its forecasts' checkpoints: when a
/// case is loaded. A write adds the bytes of what it changes to the entry's count instead ([`Entry::bytes`]).
fn entry_bytes(e: &Entry) -> usize {
    512 + e.case.id.len() * 3
        + checkpoints_bytes(e.case.signal_count())
        + e.case.description.len()
        + e.case.iter_signals().map(signal_bytes).sum::<usize>()
        + e.retracted.values().map(signal_bytes).sum::<usize>()
}

/// One case in memory.
#[derive(Debug, Clone)]
struct Entry {
    /// The effective case: retracted signals removed.
    case: Arc<Case>,
    /// Retracted signals by id.
    retracted: BTreeMap<String, Signal>,
    /// The store's version of the case.
    version: u64,
    /// Estimated size: 0 until [`CaseMap::install`] counts it over the case; a write sets it to its
    /// predecessor's plus what the write added.
    bytes: usize,
    /// Position in the load order (set by [`CaseMap::install`]).
    tick: u64,
    /// The forecasts' checkpoints, shared with the entries of the case's earlier versions this one was made
    /// from by a write (a case loaded from the store starts with none).
    checkpoints: Arc<CaseCheckpoints>,
}

impl Entry {
    /// Replay a stored case's change log.
    fn replay(stored: StoredCase) -> Result<Entry, StoreError> {
        let StoredCase {
            mut case,
            events,
            version,
        } = stored;
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
            version,
            bytes: 0,
            tick: 0,
            checkpoints: Arc::default(),
        })
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot {
            case: self.case.clone(),
            version: self.version,
            checkpoints: self.checkpoints.clone(),
        }
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
    /// Its version.
    pub version: u64,
    /// False when the signal was already retracted.
    pub retracted: bool,
    checkpoints: Arc<CaseCheckpoints>,
}

impl Retracted {
    /// The case after the retraction, as a snapshot.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            case: self.case.clone(),
            version: self.version,
            checkpoints: self.checkpoints.clone(),
        }
    }
}

/// What CreateCase did.
#[derive(Debug, Clone)]
pub struct Created {
    /// The case as stored.
    pub case: Arc<Case>,
    /// Its version.
    pub version: u64,
    /// False when the identical case already existed.
    pub created: bool,
    checkpoints: Arc<CaseCheckpoints>,
}

impl Created {
    /// The case as stored, as a snapshot.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            case: self.case.clone(),
            version: self.version,
            checkpoints: self.checkpoints.clone(),
        }
    }
}

/// What AppendSignals did.
#[derive(Debug, Clone)]
pub struct Appended {
    /// The case after the append.
    pub case: Arc<Case>,
    /// Its version.
    pub version: u64,
    /// Counts.
    pub report: AppendReport,
    checkpoints: Arc<CaseCheckpoints>,
}

impl Appended {
    /// The case after the append, as a snapshot.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            case: self.case.clone(),
            version: self.version,
            checkpoints: self.checkpoints.clone(),
        }
    }
}

impl State {
    /// Open on an SQLite store with a case cache of 256 MiB (estimated); see [`State::open_sqlite`].
    ///
    /// # Errors
    /// As [`State::open_sqlite`].
    pub fn open(store: Store, model: Model, model_toml: String) -> Result<State, StoreError> {
        State::open_sqlite(store, model, model_toml, 256 * 1024 * 1024)
    }

    /// Open on an SQLite store, with a case cache of `cache_bytes` (estimated). No case is read here: each is
    /// loaded from its log (replayed and checked) when first used, and kept while the cache has room.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`] when the store cannot be read.
    pub fn open_sqlite(
        store: Store,
        model: Model,
        model_toml: String,
        cache_bytes: usize,
    ) -> Result<State, StoreError> {
        let cases = store.case_count()?;
        tracing::debug!(target: "pf_server::store", cases, "store opened; cases load on first use");
        let (changes, _) = broadcast::channel(1024);
        Ok(State {
            model: Arc::new(model),
            model_toml,
            backend: Backend::Sqlite(Arc::new(Mutex::new(Some(store)))),
            cases: RwLock::new(CaseMap {
                max_bytes: cache_bytes,
                ..CaseMap::default()
            }),
            changes,
        })
    }

    /// Open on a PostgreSQL store, with a case cache of `cache_bytes` (estimated). Call
    /// [`State::listen_for_changes`] to follow the changes other replicas make.
    pub fn open_postgres(store: PgStore, model: Model, model_toml: String, cache_bytes: usize) -> State {
        let (changes, _) = broadcast::channel(1024);
        State {
            model: Arc::new(model),
            model_toml,
            backend: Backend::Postgres(Box::new(store)),
            cases: RwLock::new(CaseMap {
                max_bytes: cache_bytes,
                ..CaseMap::default()
            }),
            changes,
        }
    }

    /// The store behind this state.
    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// On PostgreSQL, follow the change notifications of every replica (a task that ends with the state);
    /// nothing on SQLite.
    pub fn listen_for_changes(self: &Arc<Self>) {
        let Backend::Postgres(pg) = &self.backend else {
            return;
        };
        let (tx, mut rx) = tokio::sync::mpsc::channel(4096);
        let listener = tokio::spawn(crate::pg::listen(pg.config().clone(), tx));
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            while let Some(change) = rx.recv().await {
                let Some(state) = weak.upgrade() else { break };
                match change {
                    Some((id, version)) => state.changed(&id, version),
                    None => state.revalidate().await,
                }
            }
            listener.abort();
        });
    }

    /// A change notification: drop a cached copy older than `version` (0: the case was deleted) and wake the
    /// case's watchers.
    fn changed(&self, id: &str, version: u64) {
        let mut map = self.cases.write().expect("never poisoned");
        if let Some(l) = map.loading.get_mut(id) {
            l.1 = l.1.max(version.max(1));
        }
        let stale = match map.map.get(id) {
            Some(e) => version == 0 || e.version < version,
            None => true,
        };
        if stale {
            map.remove(id);
            drop(map);
            let _ = self.changes.send(id.to_owned());
        }
    }

    /// After the notification connection was (re)made: drop every cached case whose version is not the
    /// database's, and wake their watchers.
    async fn revalidate(&self) {
        let Backend::Postgres(pg) = &self.backend else {
            return;
        };
        let cached: Vec<(String, u64)> = self
            .cases
            .read()
            .expect("never poisoned")
            .map
            .iter()
            .map(|(id, e)| (id.clone(), e.version))
            .collect();
        if cached.is_empty() {
            return;
        }
        let ids: Vec<String> = cached.iter().map(|c| c.0.clone()).collect();
        // When the database cannot answer (it went away again, or the store was closed), the cached cases are
        // kept and still served with their versions, as during any outage; the next (re)connection of the
        // notification channel checks them again.
        let stored: HashMap<String, u64> = match pg.versions(&ids).await {
            Ok(v) => v.into_iter().collect(),
            Err(e) => {
                tracing::warn!(target: "pf_server::store", "cannot check the cached cases against the database: {e}; keeping them until the next connection");
                return;
            }
        };
        for (id, v) in cached {
            match stored.get(&id) {
                Some(&s) if s == v => {}
                Some(&s) => self.changed(&id, s),
                None => self.changed(&id, 0),
            }
        }
    }

    /// A snapshot of a case and its version: from memory, or (PostgreSQL) loaded from the database.
    ///
    /// # Errors
    /// [`ServerError::CaseNotFound`]; [`ServerError::Store`] when a case not in memory cannot be loaded.
    pub async fn snapshot(&self, id: &str) -> Result<Snapshot> {
        Ok(self.entry(id).await?.snapshot())
    }

    /// A snapshot of a case.
    ///
    /// # Errors
    /// As [`State::snapshot`].
    pub async fn case(&self, id: &str) -> Result<Arc<Case>> {
        Ok(self.entry(id).await?.case)
    }

    /// The case's entry, from memory or loaded.
    async fn entry(&self, id: &str) -> Result<Entry> {
        // The common case, a hit, under the read lock only.
        if let Some(e) = self.cases.read().expect("never poisoned").map.get(id) {
            return Ok(e.clone());
        }
        {
            let mut map = self.cases.write().expect("never poisoned");
            if let Some(e) = map.map.get(id) {
                return Ok(e.clone());
            }
            map.loading.entry(id.to_owned()).or_insert((0, 0)).0 += 1;
        }
        let loaded = self.backend.load_case(id, &self.model).await;
        let mut map = self.cases.write().expect("never poisoned");
        let notified = match map.loading.get_mut(id) {
            Some(l) => {
                l.0 -= 1;
                let n = l.1;
                if l.0 == 0 {
                    map.loading.remove(id);
                }
                n
            }
            None => 0,
        };
        let entry = Entry::replay(loaded?.ok_or_else(|| ServerError::CaseNotFound(id.to_owned()))?)?;
        if notified > entry.version {
            // A newer version committed while this one loaded: answer with what was read, cache nothing.
            return Ok(entry);
        }
        Ok(map.install(entry))
    }

    /// Reload a case from the store after a conflict (another writer moved it on).
    async fn refresh(&self, id: &str) -> Result<()> {
        match self.backend.load_case(id, &self.model).await? {
            Some(stored) => {
                let e = Entry::replay(stored)?;
                self.cases.write().expect("never poisoned").install(e);
            }
            None => {
                self.cases.write().expect("never poisoned").remove(id);
            }
        }
        Ok(())
    }

    /// The plain forecast of a snapshot as of `as_of` (as `Model::forecast`, to 1e-12), through its case's
    /// checkpoints (module `incremental`): at the cost of the signals changed since the version they reflect
    /// when they can advance. Inline when cheap (a small case, or checkpoints that reflect the version or advance
    /// over the last day's signals and at most 2,000 new ones, as of a date on or after the last
    /// signal's); on a blocking thread otherwise (a rebuild, an advance from deep in the history, a forecast as of
    /// a date inside a large case's history). The work is counted in `metrics`.
    ///
    /// # Errors
    /// [`ServerError::Core`] as `Model::forecast` (a signal of probability 0).
    pub async fn forecast(
        &self,
        snap: &Snapshot,
        as_of: chrono::NaiveDate,
        metrics: &Arc<crate::metrics::Metrics>,
    ) -> Result<pf_core::Forecast> {
        let (model, case, version) = (&self.model, &snap.case, snap.version);
        if case.signal_count() <= INLINE_SIGNALS {
            return Ok(snap.checkpoints.forecast(model, case, version, as_of, metrics)?);
        }
        if let Some(f) = snap
            .checkpoints
            .try_cheap(model, case, version, as_of, metrics, INLINE_SIGNALS)
        {
            return Ok(f?);
        }
        let (model, snap, metrics) = (model.clone(), snap.clone(), metrics.clone());
        crate::work::blocking(move |_| {
            Ok(snap
                .checkpoints
                .forecast(&model, &snap.case, snap.version, as_of, &metrics)?)
        })
        .await
    }

    /// Up to `limit` cases with ids after `after`, in id order, and whether more follow.
    ///
    /// # Errors
    /// [`ServerError::Store`] when (PostgreSQL) the database cannot be read.
    pub async fn list(&self, after: Option<&str>, limit: usize) -> Result<(Vec<Summary>, bool)> {
        let ids: Vec<String> = match &self.backend {
            Backend::Postgres(pg) => pg.list_ids(after, limit.saturating_add(1)).await?,
            Backend::Sqlite(st) => {
                let after = after.map(str::to_owned);
                Backend::sqlite(st, move |s| s.list_ids(after.as_deref(), limit.saturating_add(1))).await?
            }
        };
        let more = ids.len() > limit;
        let ids: Vec<String> = ids.into_iter().take(limit).collect();
        // The cases in memory as they are; the others from their header rows and counts, not loaded: a page
        // costs the cases' headers, not their signals, and leaves the case cache as it was.
        let mut found: HashMap<String, Summary> = {
            let map = self.cases.read().expect("never poisoned");
            ids.iter()
                .filter_map(|id| {
                    map.map
                        .get(id)
                        .map(|e| (id.clone(), Summary::from(&e.snapshot())))
                })
                .collect()
        };
        let rest: Vec<String> = ids
            .iter()
            .filter(|id| !found.contains_key(*id))
            .cloned()
            .collect();
        if !rest.is_empty() {
            for raw in self.backend.summaries(rest).await? {
                let s = Summary::read(raw, self.model.as_ref())?;
                found.insert(s.case.id.clone(), s);
            }
        }
        // A case deleted since the ids were listed is left out.
        Ok((ids.iter().filter_map(|id| found.remove(id)).collect(), more))
    }

    /// Subscribe to the ids of cases that change (through this replica or, on PostgreSQL, any other).
    pub fn subscribe(&self) -> broadcast::Receiver<String> {
        self.changes.subscribe()
    }

    /// Put a newly committed entry in memory and wake the case's watchers.
    fn publish(&self, entry: Entry) {
        let id = entry.case.id.clone();
        self.cases.write().expect("never poisoned").install(entry);
        let _ = self.changes.send(id);
    }

    /// Create a case from its header and first batch.
    ///
    /// # Errors
    /// [`ServerError::CaseExists`] when the id is taken by a different case; the engine's errors for the batch;
    /// [`ServerError::Store`].
    pub async fn create(self: &Arc<Self>, header: Case, signals: Vec<Signal>) -> Result<Created> {
        let mut case = header;
        case.append(signals, self.model.as_ref())?;
        let me = self.clone();
        spawn(async move {
            let case = Arc::new(case);
            loop {
                match me.entry(&case.id).await {
                    Ok(existing) => {
                        return if *existing.case == *case && existing.retracted.is_empty() {
                            Ok(Created {
                                case: existing.case,
                                version: existing.version,
                                created: false,
                                checkpoints: existing.checkpoints,
                            })
                        } else {
                            Err(ServerError::CaseExists(case.id.clone()))
                        };
                    }
                    Err(ServerError::CaseNotFound(_)) => {}
                    Err(e) => return Err(e),
                }
                if me.backend.insert_case(&case).await? {
                    let checkpoints = Arc::<CaseCheckpoints>::default();
                    me.publish(Entry {
                        case: case.clone(),
                        retracted: BTreeMap::new(),
                        version: 1,
                        bytes: 0,
                        tick: 0,
                        checkpoints: checkpoints.clone(),
                    });
                    return Ok(Created {
                        case,
                        version: 1,
                        created: true,
                        checkpoints,
                    });
                }
                // Created meanwhile by another writer: compare with it.
                me.refresh(&case.id).await?;
            }
        })
        .await
    }

    /// Commit `event` on the case at the version `entry` is, or report a conflict (after reloading the case).
    async fn commit_event(&self, entry: &Entry, event: CaseEvent) -> Result<Option<u64>> {
        let id = &entry.case.id;
        match self.backend.add_event(id, entry.version, event).await? {
            Write::Done(v) => Ok(Some(v)),
            Write::Conflict => {
                self.refresh(id).await?;
                Ok(None)
            }
            Write::Missing => {
                self.cases.write().expect("never poisoned").remove(id);
                Err(ServerError::CaseNotFound(id.clone()))
            }
        }
    }

    /// Write the fields of `update` (an event in the case's log).
    ///
    /// # Errors
    /// [`ServerError::CaseNotFound`], [`ServerError::Store`] (nothing changes then).
    pub async fn update(self: &Arc<Self>, case_id: &str, update: CaseUpdate) -> Result<Snapshot> {
        let me = self.clone();
        let case_id = case_id.to_owned();
        spawn(async move {
            for _ in 0..MAX_ATTEMPTS {
                let mut entry = me.entry(&case_id).await?;
                let Some(v) = me.commit_event(&entry, CaseEvent::Update(update.clone())).await? else {
                    continue;
                };
                // A clone of the case shares its signals (persistent lists): this copies the header only.
                let mut case = (*entry.case).clone();
                let old = case.description.len();
                let terms = update.reelection_eligible.is_some() || update.election_date.is_some();
                entry.checkpoints.record(Change::update(&entry.case, v, terms));
                apply_update(&mut case, update);
                entry.bytes = (entry.bytes + case.description.len()).saturating_sub(old);
                entry.case = Arc::new(case);
                entry.version = v;
                let out = entry.snapshot();
                me.publish(entry);
                return Ok(out);
            }
            Err(contention(&case_id))
        })
        .await
    }

    /// Retract a signal (an event in the case's log); idempotent.
    ///
    /// # Errors
    /// [`ServerError::CaseNotFound`], [`ServerError::SignalNotFound`], [`ServerError::Store`] (nothing changes
    /// then).
    pub async fn retract(
        self: &Arc<Self>,
        case_id: &str,
        signal_id: &str,
        reason: &str,
    ) -> Result<Retracted> {
        let me = self.clone();
        let (case_id, signal_id, reason) = (case_id.to_owned(), signal_id.to_owned(), reason.to_owned());
        spawn(async move {
            for _ in 0..MAX_ATTEMPTS {
                let mut entry = me.entry(&case_id).await?;
                if entry.retracted.contains_key(&signal_id) {
                    return Ok(Retracted {
                        case: entry.case,
                        version: entry.version,
                        retracted: false,
                        checkpoints: entry.checkpoints,
                    });
                }
                let mut case = (*entry.case).clone();
                let signal = case
                    .remove(&signal_id)
                    .ok_or_else(|| ServerError::SignalNotFound {
                        case: case_id.clone(),
                        signal: signal_id.clone(),
                    })?;
                let event = CaseEvent::Retract {
                    signal_id: signal_id.clone(),
                    reason: reason.clone(),
                };
                let Some(v) = me.commit_event(&entry, event).await? else {
                    continue;
                };
                entry
                    .checkpoints
                    .record(Change::retract(&entry.case, v, signal.date));
                entry.retracted.insert(signal_id.clone(), signal);
                entry.case = Arc::new(case);
                entry.version = v;
                let out = Retracted {
                    case: entry.case.clone(),
                    version: v,
                    retracted: true,
                    checkpoints: entry.checkpoints.clone(),
                };
                me.publish(entry);
                return Ok(out);
            }
            Err(contention(&case_id))
        })
        .await
    }

    /// The PostgreSQL store, when that is the backend (for its counts on `/metrics`).
    pub fn postgres(&self) -> Option<&PgStore> {
        match &self.backend {
            Backend::Postgres(pg) => Some(pg),
            Backend::Sqlite(_) => None,
        }
    }

    /// Append a batch, atomically; idempotent by signal id (a signal without an id takes its content id).
    ///
    /// # Errors
    /// [`ServerError::CaseNotFound`]; the engine's errors for the batch (nothing changes then);
    /// [`ServerError::Store`] (nothing changes then).
    pub async fn append(self: &Arc<Self>, case_id: &str, signals: Vec<Signal>) -> Result<Appended> {
        let me = self.clone();
        let case_id = case_id.to_owned();
        // A signal without an id takes its content id first (docs/signals.md), so an id-less retry is the same
        // signal as the one stored, not a new one.
        let signals: Vec<Signal> = signals.into_iter().map(Signal::with_content_id).collect();
        spawn(async move {
            for _ in 0..MAX_ATTEMPTS {
                let entry = me.entry(&case_id).await?;
                let current = entry.case.clone();
                // Retracted ids stay taken: the identical signal is a retry (unchanged), another is a conflict.
                let mut repeats = 0;
                let mut batch = Vec::with_capacity(signals.len());
                for (i, s) in signals.iter().enumerate() {
                    match s.id.as_deref().and_then(|id| entry.retracted.get(id)) {
                        Some(old) if old == s => repeats += 1,
                        Some(_) => {
                            return Err(ServerError::SignalRetracted {
                                field: format!("signals[{i}].id"),
                                id: s.id.as_deref().unwrap_or_default().to_owned(),
                            });
                        }
                        None => batch.push(s.clone()),
                    }
                }
                // The clone shares the signals (persistent lists), the append adds a path per new signal, and its
                // duplicate checks use the case's id index: the cost is the batch's, not the history's.
                let mut next = (*current).clone();
                let fresh = fresh_signals(&current, &batch);
                let added_bytes: usize = fresh.iter().map(signal_bytes).sum();
                let mut report = next.append(batch, me.model.as_ref())?;
                debug_assert_eq!(report.added, fresh.len());
                report.unchanged += repeats;
                if report.added == 0 {
                    return Ok(Appended {
                        case: current,
                        version: entry.version,
                        report,
                        checkpoints: entry.checkpoints,
                    });
                }
                let earliest = fresh.iter().map(|s| s.date).min();
                match me.backend.append(&case_id, entry.version, fresh).await? {
                    Write::Done(v) => {
                        if let Some(earliest) = earliest {
                            entry.checkpoints.record(Change::append(&current, v, earliest));
                        }
                        let next = Arc::new(next);
                        let checkpoints = entry.checkpoints.clone();
                        me.publish(Entry {
                            case: next.clone(),
                            version: v,
                            bytes: entry.bytes + added_bytes,
                            ..entry
                        });
                        return Ok(Appended {
                            case: next,
                            version: v,
                            report,
                            checkpoints,
                        });
                    }
                    Write::Conflict => me.refresh(&case_id).await?,
                    Write::Missing => {
                        me.cases.write().expect("never poisoned").remove(&case_id);
                        return Err(ServerError::CaseNotFound(case_id));
                    }
                }
            }
            Err(contention(&case_id))
        })
        .await
    }

    /// Delete a case; returns the number of signals deleted.
    ///
    /// # Errors
    /// [`ServerError::CaseNotFound`], [`ServerError::Store`].
    pub async fn delete(self: &Arc<Self>, case_id: &str) -> Result<usize> {
        let me = self.clone();
        let case_id = case_id.to_owned();
        spawn(async move {
            let n = me
                .backend
                .delete_case(&case_id)
                .await?
                .ok_or_else(|| ServerError::CaseNotFound(case_id.clone()))?;
            {
                let mut map = me.cases.write().expect("never poisoned");
                // A load of the case in flight must not put it back.
                if let Some(l) = map.loading.get_mut(&case_id) {
                    l.1 = u64::MAX;
                }
                map.remove(&case_id);
            }
            let _ = me.changes.send(case_id);
            Ok(n)
        })
        .await
    }

    /// Close the store (SQLite: checkpoint and close; PostgreSQL: close the pool); later writes fail with
    /// UNAVAILABLE.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`] when SQLite cannot close cleanly.
    pub fn close(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(st) => {
                let store = st
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .take();
                match store {
                    Some(s) => s.close(),
                    None => Ok(()),
                }
            }
            Backend::Postgres(pg) => {
                pg.close();
                Ok(())
            }
        }
    }
}

/// Run a write on a task of its own to its end, so that a caller going away mid-commit cannot leave memory
/// behind the store.
async fn spawn<T: Send + 'static>(
    f: impl std::future::Future<Output = Result<T>> + Send + 'static,
) -> Result<T> {
    tokio::spawn(f)
        .await
        .map_err(|e| ServerError::Internal(format!("a write task failed: {e}")))?
}

/// The error of a write that lost to other writers [`MAX_ATTEMPTS`] times in a row.
fn contention(case_id: &str) -> ServerError {
    ServerError::Store(StoreError::Unavailable(format!(
        "case `{case_id}` changed under {MAX_ATTEMPTS} attempts in a row: too many concurrent writers; retry"
    )))
}

/// The signals of a batch that an append stores: those without an id, and the first of each id not already in
/// the case. (Repeats with the same content are skipped by `Case::append`; different content is an error.)
fn fresh_signals(case: &Case, batch: &[Signal]) -> Vec<Signal> {
    let mut seen: HashSet<&str> = HashSet::with_capacity(batch.len());
    batch
        .iter()
        .filter(|s| match s.id.as_deref() {
            None => true,
            Some(id) => case.signal(id).is_none() && seen.insert(id),
        })
        .cloned()
        .collect()
}
