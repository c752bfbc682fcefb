//! The embedded store: SQLite, event-sourced.
//!
//! Three tables: `cases` (one row per case header, as JSON), `signals`, an append-only log of the signals
//! each case received, numbered per case by `seq`, and `case_events`, an append-only log of the changes made
//! to a case after its creation (field updates, signal retractions), numbered per case by `seq`. Nothing in
//! either log is ever rewritten or deleted, except with the whole case by DeleteCase. Forecasts are never
//! stored: they are recomputed from the logs. The journal is WAL with `synchronous = FULL`, so a committed transaction survives a crash or power
//! loss; every write is one transaction, committed before the call is acknowledged.
//!
//! On open the store checks its schema version (`PRAGMA user_version`), migrates an older store in one
//! transaction (version 1: adds `case_events`; version 2: gives every signal stored without an id its content
//! id, merging the records that then share one, see [`ContentIdMigration`]), records what each migration did in
//! the `migrations` table, and runs `PRAGMA quick_check`. A zero-length file, a file that is not SQLite, and an SQLite
//! file of another application (`PRAGMA application_id`, or tables without this schema) are refused.
//!
//! A server holds an exclusive lock on `<store>.lock` for as long as it runs, so that a second server on the
//! same file fails at start; the read-only tools ([`Store::open_read_only`]: `store check`, `store backup`) take
//! no lock and work beside a running server.
//!
//! Every record read back is checked: it must parse, fit the model, and serialize back to exactly what is
//! stored (so that a bit flip that still parses, such as a renamed key, is caught), and a signal's id must be
//! its row's `id`. An unreadable record stops the start with a message naming it; [`Store::scan`] reports them
//! all, and [`Store::repair`] moves them to the `quarantine` table (never deleting them).

use std::path::Path;

use chrono::NaiveDate;
use pf_core::{Case, Signal, Vocabulary};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::error::StoreError;

/// The schema version this build reads and writes.
pub const SCHEMA_VERSION: i64 = 4;

/// `PRAGMA application_id` of a store ("PFST").
pub const APPLICATION_ID: i64 = 0x5046_5354;

const QUARANTINE: &str = "
CREATE TABLE IF NOT EXISTS quarantine (
    tbl        TEXT NOT NULL,
    case_id    TEXT NOT NULL,
    seq        INTEGER,
    record     TEXT NOT NULL,
    reason     TEXT NOT NULL,
    moved_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
";

/// An unreadable record found by [`Store::scan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// `cases`, `signals` or `case_events`.
    pub table: &'static str,
    /// The case.
    pub case_id: String,
    /// The record's `seq` (none for a case header).
    pub seq: Option<i64>,
    /// What is wrong.
    pub reason: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.seq {
            Some(seq) => write!(
                f,
                "{} case `{}` #{seq}: {}",
                self.table, self.case_id, self.reason
            ),
            None => write!(f, "{} case `{}`: {}", self.table, self.case_id, self.reason),
        }
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS cases (
    id         TEXT PRIMARY KEY NOT NULL,
    header     TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
CREATE TABLE IF NOT EXISTS signals (
    case_id    TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    id         TEXT,
    record     TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (case_id, seq)
) STRICT;
CREATE UNIQUE INDEX IF NOT EXISTS signals_case_signal_id ON signals(case_id, id) WHERE id IS NOT NULL;
";

/// Version 2: the log of changes to a case (updates, retractions).
const SCHEMA_V2: &str = "
CREATE TABLE IF NOT EXISTS case_events (
    case_id    TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    record     TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (case_id, seq)
) STRICT;
";

/// Version 3: signals stored without an id get their content id ([`Signal::content_id`]); what a migration did is
/// recorded in `migrations` (one row per migration, its report as JSON), and the original of every signal
/// record the migration rewrote or merged is kept in `migrated_signals`.
const SCHEMA_V3: &str = "
CREATE TABLE IF NOT EXISTS migrations (
    version      INTEGER PRIMARY KEY NOT NULL,
    from_version INTEGER NOT NULL,
    report       TEXT NOT NULL,
    applied_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
CREATE TABLE IF NOT EXISTS migrated_signals (
    version     INTEGER NOT NULL,
    case_id     TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    record      TEXT NOT NULL,
    action      TEXT NOT NULL,
    content_id  TEXT NOT NULL,
    merged_into INTEGER,
    migrated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
";

/// Version 4: a version per case, 1 at creation and one more for each committed change (optimistic concurrency,
/// and the state a reply was made from). A case stored before it starts at 1.
const SCHEMA_V4: &str = "ALTER TABLE cases ADD COLUMN version INTEGER NOT NULL DEFAULT 1;";

/// What the migration to schema version 3 did (or, on a store not yet migrated, would do) to one case's signals
/// stored without an id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseContentIds {
    /// The case.
    pub case_id: String,
    /// Id-less records that now carry their content id (one per distinct content).
    pub given_ids: usize,
    /// Id-less records merged into an earlier record of the same content (removed from the log; their originals
    /// kept in `migrated_signals`).
    pub merged: usize,
    /// Id-less records whose content id is taken by a record of other content (a hash collision, or an id of
    /// the `c-` form chosen by hand): left as they were, for `store check` to report.
    pub conflicts: usize,
}

/// The migration of signals stored without ids (schema version 2 and before) to content-derived ids: each such
/// record gets [`Signal::content_id`] as its id, in its row and in its record; a later record whose content id
/// is already taken by a record of the same content (an earlier id-less copy, or a record stored with that id)
/// is merged into it: removed from the log, which is what loading the case already did in memory, since two
/// records of one content are one signal. Nothing is lost: the original of every record rewritten or merged is
/// kept in `migrated_signals`, and the report, per case, in `migrations`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentIdMigration {
    /// The schema version migrated from.
    pub from_version: i64,
    /// The cases that had signals without ids, in id order.
    pub cases: Vec<CaseContentIds>,
}

impl ContentIdMigration {
    /// Records merged over all cases.
    pub fn merged(&self) -> usize {
        self.cases.iter().map(|c| c.merged).sum()
    }

    /// Records given their content id over all cases.
    pub fn given_ids(&self) -> usize {
        self.cases.iter().map(|c| c.given_ids).sum()
    }

    /// Records left in conflict over all cases.
    pub fn conflicts(&self) -> usize {
        self.cases.iter().map(|c| c.conflicts).sum()
    }
}

impl std::fmt::Display for ContentIdMigration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "content ids (schema {} to 3): {} id-less signal record(s) given their content id, {} merged into an \
             earlier record of the same content, {} left in conflict",
            self.from_version,
            self.given_ids(),
            self.merged(),
            self.conflicts()
        )?;
        for c in &self.cases {
            write!(
                f,
                "; case `{}`: {} given ids, {} merged, {} conflicts",
                c.case_id, c.given_ids, c.merged, c.conflicts
            )?;
        }
        Ok(())
    }
}

/// One step of the content-id migration.
enum Step {
    /// Give the record at `seq` its content id.
    Give {
        case_id: String,
        seq: i64,
        record: String,
        signal: Signal,
    },
    /// Merge the record at `seq` into the record at `into`.
    Merge {
        case_id: String,
        seq: i64,
        record: String,
        content_id: String,
        into: i64,
    },
}

/// Plan the content-id migration: what to do with each signal record without an id (read-only).
fn plan_content_ids(
    conn: &Connection,
    from_version: i64,
) -> Result<(Vec<Step>, ContentIdMigration), StoreError> {
    let mut rows =
        conn.prepare("SELECT case_id, seq, record FROM signals WHERE id IS NULL ORDER BY case_id, seq")?;
    let rows: Vec<(String, i64, String)> = rows
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    let mut by_id = conn.prepare("SELECT seq, record FROM signals WHERE case_id = ?1 AND id = ?2")?;
    let mut steps = Vec::new();
    let mut report = ContentIdMigration {
        from_version,
        cases: Vec::new(),
    };
    // Content ids given so far in this plan, per case: id -> (seq, signal).
    let mut given: std::collections::HashMap<(String, String), (i64, Signal)> =
        std::collections::HashMap::new();
    for (case_id, seq, record) in rows {
        // A record that does not parse is left alone: `store check` reports it, `store repair` quarantines it.
        let Ok(signal) = serde_json::from_str::<Signal>(&record) else {
            continue;
        };
        if signal.id.is_some() {
            continue;
        }
        if report.cases.last().is_none_or(|c| c.case_id != case_id) {
            report.cases.push(CaseContentIds {
                case_id: case_id.clone(),
                ..CaseContentIds::default()
            });
        }
        let counts = report.cases.last_mut().expect("pushed above");
        let content_id = signal.content_id();
        let stored: Option<(i64, String)> = by_id
            .query_row(params![case_id, content_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let earlier = match stored {
            Some((s, rec)) => serde_json::from_str::<Signal>(&rec).ok().map(|sig| (s, sig)),
            None => given.get(&(case_id.clone(), content_id.clone())).cloned(),
        };
        match earlier {
            Some((into, prior)) if prior.same_content(&signal) => {
                counts.merged += 1;
                steps.push(Step::Merge {
                    case_id,
                    seq,
                    record,
                    content_id,
                    into,
                });
            }
            Some(_) => counts.conflicts += 1,
            None => {
                counts.given_ids += 1;
                given.insert((case_id.clone(), content_id), (seq, signal.clone()));
                steps.push(Step::Give {
                    case_id,
                    seq,
                    record,
                    signal,
                });
            }
        }
    }
    Ok((steps, report))
}

/// Apply a planned content-id migration inside `tx`.
fn apply_content_ids(tx: &rusqlite::Transaction<'_>, steps: Vec<Step>) -> Result<(), StoreError> {
    for step in steps {
        match step {
            Step::Give {
                case_id,
                seq,
                record,
                signal,
            } => {
                let signal = signal.with_content_id();
                let id = signal.id.as_deref().unwrap_or_default().to_owned();
                let new = serde_json::to_string(&signal).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                tx.execute(
                    "INSERT INTO migrated_signals (version, case_id, seq, record, action, content_id) \
                     VALUES (3, ?1, ?2, ?3, 'given_content_id', ?4)",
                    params![case_id, seq, record, id],
                )?;
                tx.execute(
                    "UPDATE signals SET id = ?3, record = ?4 WHERE case_id = ?1 AND seq = ?2",
                    params![case_id, seq, id, new],
                )?;
            }
            Step::Merge {
                case_id,
                seq,
                record,
                content_id,
                into,
            } => {
                tx.execute(
                    "INSERT INTO migrated_signals (version, case_id, seq, record, action, content_id, merged_into) \
                     VALUES (3, ?1, ?2, ?3, 'merged', ?4, ?5)",
                    params![case_id, seq, record, content_id, into],
                )?;
                tx.execute(
                    "DELETE FROM signals WHERE case_id = ?1 AND seq = ?2",
                    params![case_id, seq],
                )?;
            }
        }
    }
    Ok(())
}

/// A change to a case after its creation, as logged in `case_events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CaseEvent {
    /// Fields written by UpdateCase (or given at creation); a field not present is left alone.
    Update(CaseUpdate),
    /// A signal retracted: forecasts no longer use it.
    Retract {
        /// The signal's id.
        signal_id: String,
        /// Why, as given.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        reason: String,
    },
}

impl CaseEvent {
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            CaseEvent::Update(_) => "update",
            CaseEvent::Retract { .. } => "retract",
        }
    }
}

/// Fields written by an update; `None` leaves a field alone, `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CaseUpdate {
    /// The new description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether the sender's leader may stand for re-election.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reelection_eligible: Option<bool>,
    /// The sender's next election.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub election_date: Option<Option<NaiveDate>>,
}

/// A case as stored: the header with every signal ever appended (retracted ones too), and its change log.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredCase {
    /// The header and every signal, in log order.
    pub case: Case,
    /// Updates and retractions, in log order.
    pub events: Vec<CaseEvent>,
    /// The case's version: 1 at creation, one more for each committed change.
    pub version: u64,
}

/// What a write conditional on a case's version found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// Committed: the case's new version.
    Done(u64),
    /// The case is at another version than expected (another writer went first): nothing written.
    Conflict,
    /// No such case: nothing written.
    Missing,
}

/// A case's rows as read from either backend, before they are checked: id, header, version, signals
/// (`seq`, id, record) and events (`seq`, record), each in log order.
#[derive(Debug, Default)]
pub(crate) struct RawCase {
    pub id: String,
    pub header: String,
    pub version: i64,
    pub signals: Vec<(i64, Option<String>, String)>,
    pub events: Vec<(i64, String)>,
}

/// What a listing reads of a case, from either backend, instead of its whole log: id, header, version, the
/// number of signal rows, the update events' records (in log order) and the number of retractions. Every
/// retraction removes one stored signal and a retracted id stays taken, so the case holds `signals -
/// retractions` signals.
#[derive(Debug, Default)]
pub(crate) struct RawSummary {
    pub id: String,
    pub header: String,
    pub version: i64,
    pub signals: i64,
    pub updates: Vec<String>,
    pub retractions: i64,
}

/// A case's header row read back: the case without its signals, whose id must be the row's.
pub(crate) fn read_header(id: &str, header: &str, vocabulary: &impl Vocabulary) -> Result<Case, String> {
    serde_json::from_str::<serde_json::Value>(header)
        .map_err(|e| e.to_string())
        .and_then(|v| Case::from_json(&v, vocabulary).map_err(|e| e.to_string()))
        .and_then(|c| {
            if c.id == id {
                Ok(c)
            } else {
                Err(format!("header id `{}` is not the row's id", c.id))
            }
        })
}

/// Check and rebuild a case from its rows, leaving out (and reporting in `problems`) each record that cannot be
/// read back exactly; `None` when the header itself cannot (the whole case is reported).
pub(crate) fn assemble(
    raw: RawCase,
    vocabulary: &impl Vocabulary,
    problems: &mut Vec<Problem>,
) -> Option<StoredCase> {
    let RawCase {
        id,
        header,
        version,
        signals,
        events,
    } = raw;
    let mut case = match read_header(&id, &header, vocabulary) {
        Ok(c) => c,
        Err(reason) => {
            problems.push(Problem {
                table: "cases",
                case_id: id,
                seq: None,
                reason: format!("header: {reason}"),
            });
            return None;
        }
    };
    let mut read = Vec::with_capacity(signals.len());
    for (seq, row_id, rec) in signals {
        match read_signal(&rec, row_id.as_deref()) {
            Ok(s) => read.push((seq, s)),
            Err(reason) => problems.push(Problem {
                table: "signals",
                case_id: id.clone(),
                seq: Some(seq),
                reason,
            }),
        }
    }
    // The whole log at once; only when it does not fit, one by one to find the records that do not.
    let header = case.clone();
    if case
        .append(read.iter().map(|(_, s)| s.clone()), vocabulary)
        .is_err()
    {
        case = header;
        for (seq, s) in read {
            if let Err(e) = case.append([s], vocabulary) {
                problems.push(Problem {
                    table: "signals",
                    case_id: id.clone(),
                    seq: Some(seq),
                    reason: format!("does not fit the case: {e}"),
                });
            }
        }
    }
    let mut out = Vec::with_capacity(events.len());
    for (seq, rec) in events {
        match read_exact::<CaseEvent>(&rec) {
            Ok(e) => out.push(e),
            Err(reason) => problems.push(Problem {
                table: "case_events",
                case_id: id.clone(),
                seq: Some(seq),
                reason,
            }),
        }
    }
    Some(StoredCase {
        case,
        events: out,
        version: u64::try_from(version).unwrap_or(0),
    })
}

/// The SQLite store.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    /// The exclusive lock of a server's store (none for read-only tools and in-memory stores).
    _lock: Option<std::fs::File>,
    /// What opening this store migrated (none when it was current).
    migrated: Option<ContentIdMigration>,
}

/// Refuse a file that exists and is not an SQLite database (zero-length included).
fn check_file(path: &Path) -> Result<(), StoreError> {
    use std::io::Read;
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(());
    };
    if meta.len() == 0 {
        return Err(StoreError::Check(format!(
            "{} is an empty file: expected a pressure_forecast store, or no file (a new store is created)",
            path.display()
        )));
    }
    let mut head = [0u8; 16];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|e| StoreError::Check(format!("cannot read {}: {e}", path.display())))?;
    if n < 16 || &head != b"SQLite format 3\0" {
        return Err(StoreError::Check(format!(
            "{} is not an SQLite database: expected a pressure_forecast store",
            path.display()
        )));
    }
    Ok(())
}

/// The lock file of a store.
pub fn lock_path(path: &Path) -> std::path::PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".lock");
    p.into()
}

/// A case header as stored (the case file format without its signals).
pub(crate) fn header_json(case: &Case) -> String {
    let mut v = case.to_json();
    if let Some(o) = v.as_object_mut() {
        o.remove("signals");
    }
    v.to_string()
}

impl Store {
    /// Open (or create) the store at `path`, creating the parent directory; check schema and integrity.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`] when the file cannot be opened, [`StoreError::Check`] when its schema version is
    /// not this build's or the integrity check fails.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Check(format!("cannot create the directory {}: {e}", dir.display()))
            })?;
        }
        let lock_file = lock_path(path);
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_file)
            .map_err(|e| {
                StoreError::Check(format!("cannot open the lock file {}: {e}", lock_file.display()))
            })?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StoreError::Check(format!(
                    "{} is in use by another server (it holds {}): expected one server per store; \
                     read-only tools (`pressure-forecast store check`, `store backup`) work beside it",
                    path.display(),
                    lock_file.display()
                )));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(StoreError::Check(format!(
                    "cannot lock {}: {e}",
                    lock_file.display()
                )));
            }
        }
        check_file(path)?;
        let conn = Connection::open(path)?;
        let mut store = Store::init(conn)?;
        store._lock = Some(lock);
        Ok(store)
    }

    /// Open an existing store read-only, without the server's lock (tools beside a running server).
    ///
    /// # Errors
    /// As [`Store::open`]; a missing file.
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        if !path.is_file() {
            return Err(StoreError::Check(format!(
                "{}: no such store file",
                path.display()
            )));
        }
        check_file(path)?;
        let conn = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        check_identity(&conn)?;
        Ok(Store {
            conn,
            _lock: None,
            migrated: None,
        })
    }

    /// SQLite's `PRAGMA quick_check` over the whole file (every page: seconds per million signals).
    ///
    /// # Errors
    /// [`StoreError::Check`] with SQLite's findings; [`StoreError::Sqlite`].
    pub fn quick_check(&self) -> Result<(), StoreError> {
        let check: String = self.conn.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
        if check != "ok" {
            return Err(StoreError::Check(format!(
                "integrity check: expected ok, found {check}"
            )));
        }
        Ok(())
    }

    /// Up to `limit` case ids after `after`, in id order (the primary key's index: no case is read).
    ///
    /// # Errors
    /// [`StoreError::Sqlite`].
    pub fn list_ids(&self, after: Option<&str>, limit: usize) -> Result<Vec<String>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id FROM cases WHERE ?1 IS NULL OR id > ?1 ORDER BY id LIMIT ?2")?;
        let ids = stmt
            .query_map(params![after, limit], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(ids)
    }

    /// How many cases the store holds.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`].
    pub fn case_count(&self) -> Result<usize, StoreError> {
        let n: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM cases", [], |r| r.get(0))?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// The content-id migration this open applied, when the store was older than [`SCHEMA_VERSION`].
    pub fn migrated(&self) -> Option<&ContentIdMigration> {
        self.migrated.as_ref()
    }

    /// The store's schema version.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`].
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self.conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// The content-id migrations applied to this store (schema 3), oldest first: (version, applied at, report
    /// as recorded). The migration to schema 4 is recorded in the same table with a report of its own.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`].
    pub fn migrations(&self) -> Result<Vec<(i64, String, ContentIdMigration)>, StoreError> {
        let exists: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'migrations'",
            [],
            |r| r.get(0),
        )?;
        if exists == 0 {
            return Ok(Vec::new());
        }
        let mut stmt = self.conn.prepare(
            "SELECT version, applied_at, report FROM migrations WHERE version = 3 ORDER BY version",
        )?;
        let rows: Vec<(i64, String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        rows.into_iter()
            .map(|(v, at, report)| {
                let report = serde_json::from_str(&report)
                    .map_err(|e| StoreError::Corrupt(format!("migration {v}: unreadable report: {e}")))?;
                Ok((v, at, report))
            })
            .collect()
    }

    /// What the content-id migration would do to this store (for `store check` on a store a server has not
    /// opened since it was written by an older build); `None` when the store is current.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`].
    pub fn pending_migration(&self) -> Result<Option<ContentIdMigration>, StoreError> {
        let version = self.schema_version()?;
        // Schema 3 and later hold content ids already (4 only adds the version column).
        if version >= 3 {
            return Ok(None);
        }
        Ok(Some(plan_content_ids(&self.conn, version)?.1))
    }

    /// A consistent copy of the store at `dest` while it may be written to (`VACUUM INTO`: one read
    /// transaction, so the copy is the store at one instant; it is also compacted).
    ///
    /// # Errors
    /// [`StoreError::Check`] when `dest` exists, [`StoreError::Sqlite`].
    pub fn backup(&self, dest: &Path) -> Result<(), StoreError> {
        if dest.exists() {
            return Err(StoreError::Check(format!(
                "{} exists: expected a new file for the backup",
                dest.display()
            )));
        }
        let dest = dest
            .to_str()
            .ok_or_else(|| StoreError::Check(format!("{}: expected a UTF-8 path", dest.display())))?;
        self.conn.execute("VACUUM INTO ?1", [dest])?;
        Ok(())
    }

    /// An in-memory store (tests).
    ///
    /// # Errors
    /// As [`Store::open`].
    pub fn open_in_memory() -> Result<Store, StoreError> {
        Store::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> Result<Store, StoreError> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // journal_mode returns a row; pragma_update would fail on it.
        let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let version = check_identity(&conn)?;
        let mut migrated = None;
        match version {
            0 => {
                conn.execute_batch(&format!(
                    "BEGIN; {SCHEMA} {SCHEMA_V2} {SCHEMA_V3} {SCHEMA_V4} PRAGMA user_version = {SCHEMA_VERSION}; \
                     PRAGMA application_id = {APPLICATION_ID}; COMMIT;"
                ))?;
            }
            1 | 2 => {
                // One transaction: a crash leaves the store at its old version, to be migrated again.
                let tx = conn.transaction()?;
                if version == 1 {
                    tx.execute_batch(SCHEMA_V2)?;
                }
                tx.execute_batch(SCHEMA_V3)?;
                let (steps, report) = plan_content_ids(&tx, version)?;
                apply_content_ids(&tx, steps)?;
                let json = serde_json::to_string(&report).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                tx.execute(
                    "INSERT INTO migrations (version, from_version, report) VALUES (3, ?1, ?2)",
                    params![version, json],
                )?;
                migrate_v4(&tx)?;
                tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
                tx.commit()?;
                if report.merged() > 0 || report.conflicts() > 0 {
                    tracing::warn!(target: "pf_server::store", "store migrated: {report}");
                } else {
                    tracing::info!(target: "pf_server::store", "store migrated: {report}");
                }
                migrated = Some(report);
            }
            3 => {
                let tx = conn.transaction()?;
                migrate_v4(&tx)?;
                tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
                tx.commit()?;
                tracing::info!(target: "pf_server::store", "store migrated to schema 4: a version per case");
            }
            SCHEMA_VERSION => {}
            other => {
                return Err(StoreError::Check(format!(
                    "schema version {other}: expected {SCHEMA_VERSION} (a store written by another build)"
                )));
            }
        }
        conn.pragma_update(None, "application_id", APPLICATION_ID)?;
        conn.execute_batch(QUARANTINE)?;
        // No `PRAGMA quick_check` here: it reads every page (seconds per million signals), and a server reads a
        // case's records, each checked, when the case is first used. `store check` runs it
        // ([`Store::quick_check`]).
        Ok(Store {
            conn,
            _lock: None,
            migrated,
        })
    }

    /// Rebuild every case from its header and its signal log, in log order, with its change log.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] naming the first unreadable record (and how many there are) when any record
    /// cannot be read back exactly.
    pub fn load_all(&self, vocabulary: &impl Vocabulary) -> Result<Vec<StoredCase>, StoreError> {
        let (cases, problems) = self.scan(vocabulary)?;
        if let Some(first) = problems.first() {
            return Err(StoreError::Corrupt(format!(
                "{first} ({} unreadable record(s) in all): expected every record to read back; \
                 `pressure-forecast store check` lists them, `store repair` quarantines them",
                problems.len()
            )));
        }
        Ok(cases)
    }

    /// Read every case, leaving out (and reporting) each record that cannot be read back exactly: a header that
    /// does not parse leaves its whole case out; a signal or event that does not, only itself.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`].
    pub fn scan(&self, vocabulary: &impl Vocabulary) -> Result<(Vec<StoredCase>, Vec<Problem>), StoreError> {
        let mut cases = Vec::new();
        let mut problems = Vec::new();
        let mut stmt = self
            .conn
            .prepare("SELECT id, header, version FROM cases ORDER BY id")?;
        let headers: Vec<(String, String, i64)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        for (id, header, version) in headers {
            let raw = self.raw_case(id, header, version)?;
            if let Some(c) = assemble(raw, vocabulary, &mut problems) {
                cases.push(c);
            }
        }
        Ok((cases, problems))
    }

    /// One case, read back and checked as [`Store::load_all`] does; `None` when there is no such case.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] naming the first unreadable record; [`StoreError::Sqlite`].
    pub fn load_case(
        &self,
        case_id: &str,
        vocabulary: &impl Vocabulary,
    ) -> Result<Option<StoredCase>, StoreError> {
        let row: Option<(String, i64)> = self
            .conn
            .query_row(
                "SELECT header, version FROM cases WHERE id = ?1",
                [case_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((header, version)) = row else {
            return Ok(None);
        };
        let raw = self.raw_case(case_id.to_owned(), header, version)?;
        let mut problems = Vec::new();
        let case = assemble(raw, vocabulary, &mut problems);
        match problems.first() {
            Some(first) => Err(StoreError::Corrupt(format!(
                "{first}: expected every record to read back; `pressure-forecast store check` lists them, \
                 `store repair` quarantines them"
            ))),
            None => Ok(case),
        }
    }

    /// What a listing shows of the cases `ids` that exist ([`RawSummary`]), without reading their signals.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`].
    pub(crate) fn summaries(&self, ids: &[String]) -> Result<Vec<RawSummary>, StoreError> {
        let mut head = self
            .conn
            .prepare_cached("SELECT header, version FROM cases WHERE id = ?1")?;
        let mut count = self
            .conn
            .prepare_cached("SELECT COUNT(*) FROM signals WHERE case_id = ?1")?;
        let mut events = self.conn.prepare_cached(
            "SELECT kind, record FROM case_events WHERE case_id = ?1 AND kind IN ('update', 'retract') ORDER BY seq",
        )?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let Some((header, version)) = head.query_row([id], |r| Ok((r.get(0)?, r.get(1)?))).optional()?
            else {
                continue;
            };
            let signals: i64 = count.query_row([id], |r| r.get(0))?;
            let mut updates = Vec::new();
            let mut retractions = 0;
            let mut rows = events.query([id])?;
            while let Some(r) = rows.next()? {
                if r.get::<_, String>(0)? == "retract" {
                    retractions += 1;
                } else {
                    updates.push(r.get(1)?);
                }
            }
            out.push(RawSummary {
                id: id.clone(),
                header,
                version,
                signals,
                updates,
                retractions,
            });
        }
        Ok(out)
    }

    fn raw_case(&self, id: String, header: String, version: i64) -> Result<RawCase, StoreError> {
        let mut sig_stmt = self
            .conn
            .prepare_cached("SELECT seq, id, record FROM signals WHERE case_id = ?1 ORDER BY seq")?;
        let signals = sig_stmt
            .query_map([&id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        let mut ev_stmt = self
            .conn
            .prepare_cached("SELECT seq, record FROM case_events WHERE case_id = ?1 ORDER BY seq")?;
        let events = ev_stmt
            .query_map([&id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        Ok(RawCase {
            id,
            header,
            version,
            signals,
            events,
        })
    }

    /// Move the records of `problems` (from [`Store::scan`]) to the `quarantine` table, in one transaction, and
    /// return how many rows moved. A case whose header is unreadable moves with its signals and events.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`] (nothing moves then).
    pub fn repair(&mut self, problems: &[Problem]) -> Result<usize, StoreError> {
        let tx = self.conn.transaction()?;
        let mut moved = 0;
        for p in problems {
            let reason = p.to_string();
            match (p.table, p.seq) {
                ("cases", _) => {
                    moved += tx.execute(
                        "INSERT INTO quarantine (tbl, case_id, seq, record, reason) \
                         SELECT 'signals', case_id, seq, record, ?2 FROM signals WHERE case_id = ?1",
                        params![p.case_id, reason],
                    )?;
                    moved += tx.execute(
                        "INSERT INTO quarantine (tbl, case_id, seq, record, reason) \
                         SELECT 'case_events', case_id, seq, record, ?2 FROM case_events WHERE case_id = ?1",
                        params![p.case_id, reason],
                    )?;
                    moved += tx.execute(
                        "INSERT INTO quarantine (tbl, case_id, seq, record, reason) \
                         SELECT 'cases', id, NULL, header, ?2 FROM cases WHERE id = ?1",
                        params![p.case_id, reason],
                    )?;
                    tx.execute("DELETE FROM signals WHERE case_id = ?1", [&p.case_id])?;
                    tx.execute("DELETE FROM case_events WHERE case_id = ?1", [&p.case_id])?;
                    tx.execute("DELETE FROM cases WHERE id = ?1", [&p.case_id])?;
                }
                (table @ ("signals" | "case_events"), Some(seq)) => {
                    moved += tx.execute(
                        &format!(
                            "INSERT INTO quarantine (tbl, case_id, seq, record, reason) \
                             SELECT '{table}', case_id, seq, record, ?3 FROM {table} WHERE case_id = ?1 AND seq = ?2"
                        ),
                        params![p.case_id, seq, reason],
                    )?;
                    tx.execute(
                        &format!("DELETE FROM {table} WHERE case_id = ?1 AND seq = ?2"),
                        params![p.case_id, seq],
                    )?;
                }
                _ => {}
            }
        }
        tx.commit()?;
        Ok(moved)
    }

    /// Rows in the `quarantine` table.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`].
    pub fn quarantined(&self) -> Result<usize, StoreError> {
        let n: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM quarantine", [], |r| r.get(0))
            .or_else(|_| Ok::<i64, rusqlite::Error>(0))?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// Store a new case (at version 1), its signals and its first events (the fields beyond the header) in one
    /// transaction; false (nothing written) when a case with this id exists.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`] (nothing is stored then).
    pub fn insert_case(&mut self, case: &Case, events: &[CaseEvent]) -> Result<bool, StoreError> {
        let tx = self.conn.transaction()?;
        let n = tx.execute(
            "INSERT INTO cases (id, header, version) VALUES (?1, ?2, 1) ON CONFLICT (id) DO NOTHING",
            params![case.id, header_json(case)],
        )?;
        if n == 0 {
            return Ok(false);
        }
        insert_signals(&tx, &case.id, 1, case.signals())?;
        for e in events {
            insert_event(&tx, &case.id, e)?;
        }
        tx.commit()?;
        Ok(true)
    }

    /// Append signals to a case's log in one transaction, if the case is at version `expected`; a signal whose
    /// id the case holds already is skipped (`ON CONFLICT DO NOTHING`), so a retried batch stores nothing twice.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`] (nothing is stored then).
    pub fn append(&mut self, case_id: &str, expected: u64, signals: &[Signal]) -> Result<Write, StoreError> {
        let tx = self.conn.transaction()?;
        let w = bump(&tx, case_id, expected)?;
        if let Write::Done(_) = w {
            let next: i64 = tx.query_row(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM signals WHERE case_id = ?1",
                [case_id],
                |r| r.get(0),
            )?;
            insert_signals(&tx, case_id, next, signals)?;
            tx.commit()?;
        }
        Ok(w)
    }

    /// Append an event to a case's change log in one transaction, if the case is at version `expected`.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`] (nothing is stored then).
    pub fn add_event(
        &mut self,
        case_id: &str,
        expected: u64,
        event: &CaseEvent,
    ) -> Result<Write, StoreError> {
        let tx = self.conn.transaction()?;
        let w = bump(&tx, case_id, expected)?;
        if let Write::Done(_) = w {
            insert_event(&tx, case_id, event)?;
            tx.commit()?;
        }
        Ok(w)
    }

    /// Delete a case and its log; returns the number of signals deleted, or `None` when there was no such case.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`].
    pub fn delete_case(&mut self, case_id: &str) -> Result<Option<usize>, StoreError> {
        let tx = self.conn.transaction()?;
        let exists: Option<i64> = tx
            .query_row("SELECT 1 FROM cases WHERE id = ?1", [case_id], |r| r.get(0))
            .optional()?;
        if exists.is_none() {
            return Ok(None);
        }
        let n = tx.execute("DELETE FROM signals WHERE case_id = ?1", [case_id])?;
        tx.execute("DELETE FROM case_events WHERE case_id = ?1", [case_id])?;
        tx.execute("DELETE FROM cases WHERE id = ?1", [case_id])?;
        tx.commit()?;
        Ok(Some(n))
    }

    /// Checkpoint the WAL and close the database.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`] when SQLite cannot close cleanly.
    pub fn close(self) -> Result<(), StoreError> {
        let _ = self.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);");
        self.conn.close().map_err(|(_, e)| StoreError::Sqlite(e))
    }
}

/// `rec` parsed as a `T` that serializes back to exactly the JSON stored.
pub(crate) fn read_exact<T: serde::de::DeserializeOwned + Serialize>(rec: &str) -> Result<T, String> {
    let stored: serde_json::Value = serde_json::from_str(rec).map_err(|e| format!("not JSON: {e}"))?;
    let t: T = serde_json::from_value(stored.clone()).map_err(|e| e.to_string())?;
    let back = serde_json::to_value(&t).map_err(|e| e.to_string())?;
    if back != stored {
        return Err(format!(
            "does not read back exactly: stored {}, read {}",
            crate::limits::truncate(rec, 200),
            crate::limits::truncate(&back.to_string(), 200)
        ));
    }
    Ok(t)
}

/// A signal record, checked against its row's id.
fn read_signal(rec: &str, row_id: Option<&str>) -> Result<Signal, String> {
    let s: Signal = read_exact(rec)?;
    if s.id.as_deref() != row_id {
        return Err(format!("its id {:?} is not the row's id {row_id:?}", s.id));
    }
    Ok(s)
}

/// The schema version of a store, refusing another application's SQLite file.
fn check_identity(conn: &Connection) -> Result<i64, StoreError> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let app: i64 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    let tables: i64 = conn.query_row(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'",
        [],
        |r| r.get(0),
    )?;
    let has_cases: i64 = conn.query_row(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'cases'",
        [],
        |r| r.get(0),
    )?;
    let foreign = (app != 0 && app != APPLICATION_ID)
        || (version == 0 && tables > 0)
        || (version != 0 && has_cases == 0);
    if foreign {
        return Err(StoreError::Check(format!(
            "an SQLite database of another application (application_id {app}, user_version {version}, \
             {tables} tables): expected a pressure_forecast store"
        )));
    }
    Ok(version)
}

/// Move a case from version `expected` to the next, inside `tx`.
fn bump(tx: &rusqlite::Transaction<'_>, case_id: &str, expected: u64) -> Result<Write, StoreError> {
    let expected = i64::try_from(expected).unwrap_or(i64::MAX);
    let n = tx.execute(
        "UPDATE cases SET version = version + 1 WHERE id = ?1 AND version = ?2",
        params![case_id, expected],
    )?;
    if n == 1 {
        return Ok(Write::Done(u64::try_from(expected).unwrap_or(0) + 1));
    }
    let exists: Option<i64> = tx
        .query_row("SELECT 1 FROM cases WHERE id = ?1", [case_id], |r| r.get(0))
        .optional()?;
    Ok(if exists.is_some() {
        Write::Conflict
    } else {
        Write::Missing
    })
}

/// Record the migration to schema 4 inside `tx`: the `version` column, and its row in `migrations`.
fn migrate_v4(tx: &rusqlite::Transaction<'_>) -> Result<(), StoreError> {
    tx.execute_batch(SCHEMA_V4)?;
    tx.execute(
        "INSERT INTO migrations (version, from_version, report) VALUES (4, 3, ?1)",
        [r#"{"added":"cases.version","initial":1}"#],
    )?;
    Ok(())
}

fn insert_event(tx: &rusqlite::Transaction<'_>, case_id: &str, event: &CaseEvent) -> Result<(), StoreError> {
    let next: i64 = tx.query_row(
        "SELECT COALESCE(MAX(seq), 0) + 1 FROM case_events WHERE case_id = ?1",
        [case_id],
        |r| r.get(0),
    )?;
    let record = serde_json::to_string(event).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    tx.execute(
        "INSERT INTO case_events (case_id, seq, kind, record) VALUES (?1, ?2, ?3, ?4)",
        params![case_id, next, event.kind(), record],
    )?;
    Ok(())
}

fn insert_signals(
    tx: &rusqlite::Transaction<'_>,
    case_id: &str,
    first: i64,
    signals: &[Signal],
) -> Result<(), StoreError> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO signals (case_id, seq, id, record) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (case_id, id) WHERE id IS NOT NULL DO NOTHING",
    )?;
    for (i, s) in signals.iter().enumerate() {
        let record = serde_json::to_string(s).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        stmt.execute(params![case_id, first + i as i64, s.id.as_deref(), record])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use pf_core::Model;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn round_trip_through_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/store.sqlite3");
        let model = Model::default_model();
        let retract = CaseEvent::Retract {
            signal_id: "s2".into(),
            reason: "misreported".into(),
        };
        let mut case = Case::new("c1", "USA", "PRK", d("2017-01-20"), d("2021-01-20")).unwrap();
        case.append(
            [Signal::new("summit_held", d("2018-06-12")).with_id("s1")],
            &model,
        )
        .unwrap();
        {
            let mut st = Store::open(&path).unwrap();
            st.insert_case(&case, &[]).unwrap();
            let more = vec![
                Signal::new("talks_held", d("2018-07-06")).with_id("s2"),
                Signal::new("talks_refused", d("2018-08-01")),
            ];
            assert_eq!(st.append("c1", 1, &more).unwrap(), Write::Done(2));
            // A writer that read version 1 is too late; a retry of the batch stores nothing twice.
            assert_eq!(st.append("c1", 1, &more).unwrap(), Write::Conflict);
            assert_eq!(st.append("c1", 2, &more[..1]).unwrap(), Write::Done(3));
            assert_eq!(st.append("nope", 1, &more).unwrap(), Write::Missing);
            case.append(more, &model).unwrap();
            assert_eq!(st.add_event("c1", 3, &retract).unwrap(), Write::Done(4));
            assert!(!st.insert_case(&case, &[]).unwrap());
            st.close().unwrap();
        }
        let st = Store::open(&path).unwrap();
        let back = st.load_all(&model).unwrap();
        assert_eq!(
            back,
            vec![StoredCase {
                case,
                events: vec![retract],
                version: 4,
            }]
        );
    }

    #[test]
    fn migrates_a_version_1_store() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite3");
        let c = Connection::open(&path).unwrap();
        c.execute_batch(&format!("{SCHEMA} PRAGMA user_version = 1;"))
            .unwrap();
        drop(c);
        let mut st = Store::open(&path).unwrap();
        let case = Case::new("c1", "USA", "PRK", d("2017-01-20"), d("2021-01-20")).unwrap();
        st.insert_case(&case, &[CaseEvent::Update(CaseUpdate::default())])
            .unwrap();
        assert_eq!(st.load_all(&Model::default_model()).unwrap()[0].events.len(), 1);
    }

    /// A store as a version-2 build wrote it: signals without ids stored with a NULL id, repeats included.
    fn old_store(path: &Path, cases: &[(&Case, &[Signal])]) {
        let c = Connection::open(path).unwrap();
        c.execute_batch(&format!(
            "{SCHEMA} {SCHEMA_V2} PRAGMA user_version = 2; PRAGMA application_id = {APPLICATION_ID};"
        ))
        .unwrap();
        for (case, signals) in cases {
            c.execute(
                "INSERT INTO cases (id, header) VALUES (?1, ?2)",
                params![case.id, header_json(case)],
            )
            .unwrap();
            for (i, s) in signals.iter().enumerate() {
                c.execute(
                    "INSERT INTO signals (case_id, seq, id, record) VALUES (?1, ?2, ?3, ?4)",
                    params![
                        case.id,
                        i as i64 + 1,
                        s.id.as_deref(),
                        serde_json::to_string(s).unwrap()
                    ],
                )
                .unwrap();
            }
        }
    }

    #[test]
    fn migration_gives_content_ids_and_merges_repeats() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite3");
        let model = Model::default_model();
        let c1 = Case::new("c1", "USA", "PRK", d("2017-01-20"), d("2021-01-20")).unwrap();
        let c2 = Case::new("c2", "USA", "IRN", d("2017-01-20"), d("2021-01-20")).unwrap();
        let a = Signal::new("summit_held", d("2018-06-12"));
        let b = Signal::new("talks_held", d("2018-07-06")).with_note("in Pyongyang");
        let named = Signal::new("talks_refused", d("2018-08-01")).with_id("s1");
        // The same content stored once with its content id by a newer client, then twice without an id.
        let c = Signal::new("talks_refused", d("2018-09-01"));
        let c1_log = [
            a.clone(),
            a.clone(),
            b.clone(),
            named.clone(),
            a.clone(),
            c.clone().with_content_id(),
            c.clone(),
            c.clone(),
        ];
        let c2_log = [b.clone()];
        old_store(&path, &[(&c1, &c1_log), (&c2, &c2_log)]);
        // What a read-only tool sees before a server opens it.
        {
            let ro = Store::open_read_only(&path).unwrap();
            assert_eq!(ro.schema_version().unwrap(), 2);
            let pending = ro.pending_migration().unwrap().unwrap();
            assert_eq!((pending.given_ids(), pending.merged()), (3, 4));
        }
        // What the in-memory case was before the migration (loading already merged the repeats).
        let mut expected = c1.clone();
        expected.append(c1_log.iter().cloned(), &model).unwrap();
        assert_eq!(expected.signals().len(), 4);
        let st = Store::open(&path).unwrap();
        let report = st.migrated().unwrap().clone();
        assert_eq!(
            report.cases,
            vec![
                CaseContentIds {
                    case_id: "c1".into(),
                    given_ids: 2,
                    merged: 4,
                    conflicts: 0
                },
                CaseContentIds {
                    case_id: "c2".into(),
                    given_ids: 1,
                    merged: 0,
                    conflicts: 0
                },
            ]
        );
        assert!(
            report
                .to_string()
                .contains("case `c1`: 2 given ids, 4 merged, 0 conflicts")
        );
        let back = st.load_all(&model).unwrap();
        assert_eq!(back[0].case, expected);
        assert!(back[0].case.signals().iter().all(|s| s.id.is_some()));
        let nulls: i64 = st
            .conn
            .query_row("SELECT COUNT(*) FROM signals WHERE id IS NULL", [], |r| r.get(0))
            .unwrap();
        assert_eq!(nulls, 0);
        // Every original kept: 3 rewritten, 4 merged.
        let kept: i64 = st
            .conn
            .query_row("SELECT COUNT(*) FROM migrated_signals", [], |r| r.get(0))
            .unwrap();
        assert_eq!(kept, 7);
        let history = st.migrations().unwrap();
        assert_eq!(history.len(), 1);
        assert_eq!((history[0].0, &history[0].2), (3, &report));
        assert_eq!(st.pending_migration().unwrap(), None);
        st.close().unwrap();
        // Opened again: current, nothing migrated.
        let st = Store::open(&path).unwrap();
        assert!(st.migrated().is_none());
        assert_eq!(st.load_all(&model).unwrap()[0].case, expected);
    }

    #[test]
    fn rejects_another_schema_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite3");
        Store::open(&path).unwrap().close().unwrap();
        let c = Connection::open(&path).unwrap();
        c.pragma_update(None, "user_version", 99).unwrap();
        drop(c);
        assert!(matches!(Store::open(&path), Err(StoreError::Check(_))));
    }
}
