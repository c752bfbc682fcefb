//! The embedded store: SQLite, event-sourced.
//!
//! Three tables: `cases` (one row per case header, as JSON), `signals`, an append-only log of the signals
//! each case received, numbered per case by `seq`, and `case_events`, an append-only log of the changes made
//! to a case after its creation (field updates, signal retractions), numbered per case by `seq`. Nothing in
//! either log is ever rewritten or deleted, except with the whole case by DeleteCase. Forecasts are never
//! stored: they are recomputed from the logs. The journal is WAL with `synchronous = FULL`, so a committed transaction survives a crash or power
//! loss; every write is one transaction, committed before the call is acknowledged.
//!
//! On open the store checks its schema version (`PRAGMA user_version`), migrates a store of version 1 (adds
//! `case_events`), and runs `PRAGMA quick_check`.

use std::path::Path;

use chrono::NaiveDate;
use pf_core::{Case, Signal, Vocabulary};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::error::StoreError;

/// The schema version this build reads and writes.
pub const SCHEMA_VERSION: i64 = 2;

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
    fn kind(&self) -> &'static str {
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
}

/// The SQLite store.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
}

/// A case header as stored (the case file format without its signals).
fn header_json(case: &Case) -> String {
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
        let conn = Connection::open(path)?;
        Store::init(conn)
    }

    /// An in-memory store (tests).
    ///
    /// # Errors
    /// As [`Store::open`].
    pub fn open_in_memory() -> Result<Store, StoreError> {
        Store::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Store, StoreError> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // journal_mode returns a row; pragma_update would fail on it.
        let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        match version {
            0 => {
                conn.execute_batch(&format!(
                    "BEGIN; {SCHEMA} {SCHEMA_V2} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
                ))?;
            }
            1 => {
                conn.execute_batch(&format!(
                    "BEGIN; {SCHEMA_V2} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
                ))?;
            }
            SCHEMA_VERSION => {}
            other => {
                return Err(StoreError::Check(format!(
                    "schema version {other}: expected {SCHEMA_VERSION} (a store written by another build)"
                )));
            }
        }
        let check: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
        if check != "ok" {
            return Err(StoreError::Check(format!(
                "integrity check: expected ok, found {check}"
            )));
        }
        Ok(Store { conn })
    }

    /// Rebuild every case from its header and its signal log, in log order, with its change log.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when a record cannot be parsed or no longer fits the model.
    pub fn load_all(&self, vocabulary: &impl Vocabulary) -> Result<Vec<StoredCase>, StoreError> {
        let mut cases = Vec::new();
        let mut stmt = self.conn.prepare("SELECT id, header FROM cases ORDER BY id")?;
        let headers: Vec<(String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let mut sig_stmt = self
            .conn
            .prepare("SELECT seq, record FROM signals WHERE case_id = ?1 ORDER BY seq")?;
        let mut ev_stmt = self
            .conn
            .prepare("SELECT seq, record FROM case_events WHERE case_id = ?1 ORDER BY seq")?;
        for (id, header) in headers {
            let v: serde_json::Value = serde_json::from_str(&header)
                .map_err(|e| StoreError::Corrupt(format!("case `{id}`: header: {e}")))?;
            let mut case = Case::from_json(&v, vocabulary)
                .map_err(|e| StoreError::Corrupt(format!("case `{id}`: header: {e}")))?;
            let rows: Vec<(i64, String)> = sig_stmt
                .query_map([&id], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            let mut signals = Vec::with_capacity(rows.len());
            for (seq, rec) in rows {
                let v: serde_json::Value = serde_json::from_str(&rec)
                    .map_err(|e| StoreError::Corrupt(format!("case `{id}` signal #{seq}: {e}")))?;
                signals.push(
                    Signal::from_json(&v)
                        .map_err(|e| StoreError::Corrupt(format!("case `{id}` signal #{seq}: {e}")))?,
                );
            }
            case.append(signals, vocabulary).map_err(|e| {
                StoreError::Corrupt(format!("case `{id}`: its signals do not fit the model: {e}"))
            })?;
            let rows: Vec<(i64, String)> = ev_stmt
                .query_map([&id], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            let events = rows
                .into_iter()
                .map(|(seq, rec)| {
                    serde_json::from_str(&rec)
                        .map_err(|e| StoreError::Corrupt(format!("case `{id}` event #{seq}: {e}")))
                })
                .collect::<Result<_, _>>()?;
            cases.push(StoredCase { case, events });
        }
        Ok(cases)
    }

    /// Store a new case, its signals and its first events (the fields beyond the header) in one transaction.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`] (nothing is stored then).
    pub fn insert_case(&mut self, case: &Case, events: &[CaseEvent]) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO cases (id, header) VALUES (?1, ?2)",
            params![case.id, header_json(case)],
        )?;
        insert_signals(&tx, &case.id, 1, case.signals())?;
        for e in events {
            insert_event(&tx, &case.id, e)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Append signals to a case's log in one transaction.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`] (nothing is stored then).
    pub fn append(&mut self, case_id: &str, signals: &[Signal]) -> Result<(), StoreError> {
        if signals.is_empty() {
            return Ok(());
        }
        let tx = self.conn.transaction()?;
        let next: i64 = tx.query_row(
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM signals WHERE case_id = ?1",
            [case_id],
            |r| r.get(0),
        )?;
        insert_signals(&tx, case_id, next, signals)?;
        tx.commit()?;
        Ok(())
    }

    /// Append an event to a case's change log in one transaction.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`] (nothing is stored then).
    pub fn add_event(&mut self, case_id: &str, event: &CaseEvent) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        insert_event(&tx, case_id, event)?;
        tx.commit()?;
        Ok(())
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
    let mut stmt =
        tx.prepare_cached("INSERT INTO signals (case_id, seq, id, record) VALUES (?1, ?2, ?3, ?4)")?;
    for (i, s) in signals.iter().enumerate() {
        let record = serde_json::to_string(s).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        stmt.execute(params![case_id, first + i as i64, s.id, record])?;
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
            st.append("c1", &more).unwrap();
            case.append(more, &model).unwrap();
            st.add_event("c1", &retract).unwrap();
            st.close().unwrap();
        }
        let st = Store::open(&path).unwrap();
        let back = st.load_all(&model).unwrap();
        assert_eq!(
            back,
            vec![StoredCase {
                case,
                events: vec![retract]
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
