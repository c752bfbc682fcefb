//! The PostgreSQL store (13 or later): the same event-sourced logs as the SQLite store, shared by any number of
//! `pressure-forecast serve` replicas.
//!
//! Tables: `cases` (id, header as JSON text, `version`), `signals` (a global `seq`, the case, the signal's id,
//! its record as JSON text; unique on (case, id), so an append is idempotent by signal id with
//! `ON CONFLICT DO NOTHING`) and `case_events` (updates and retractions). Records are stored as text, exactly
//! as the SQLite store keeps them, and read back with the same checks ([`crate::store`]).
//!
//! Every write is one transaction that moves the case from the version the writer read to the next
//! (`UPDATE cases SET version = version + 1 WHERE id = $1 AND version = $2`: optimistic concurrency; a writer
//! that finds another version reloads the case and tries again) and sends `pg_notify('pf_cases',
//! '<version> <case id>')`, which PostgreSQL delivers to every listening replica when, and only when, the
//! transaction commits. Commits use the server's durability settings (`synchronous_commit` on by default).
//!
//! Appends are committed in groups (group commit, issue 14): an append waits in a queue while
//! [`MAX_GROUPS_IN_FLIGHT`] groups are being committed, and the next group takes the appends waiting then (at
//! most [`MAX_GROUP`], one per case) into one statement and one transaction: each case's version moves on only
//! if it is the one its append expected, only those cases' rows go in, and each gets its own notification. An
//! append is acknowledged, as before, only once the transaction holding it has committed. A group that fails
//! as a whole is committed again one append at a time (each then gets its own outcome).
//!
//! Schema migrations are numbered SQL scripts ([`MIGRATIONS`]), applied at start in one transaction under an
//! advisory lock (so that replicas starting together apply each once), and recorded in `pf_migrations`.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use pf_core::{Case, Signal, Vocabulary};
use tokio_postgres::NoTls;

use crate::error::StoreError;
use crate::store::{CaseEvent, Problem, RawCase, RawSummary, StoredCase, Write, assemble};

/// The channel of change notifications.
pub const CHANNEL: &str = "pf_cases";

/// The schema migrations, in order: (version, name, SQL). Never edit one that has shipped: add the next.
pub const MIGRATIONS: &[(i32, &str, &str)] = &[(
    1,
    "cases, signals and case_events with a version per case",
    "
    CREATE TABLE cases (
        id         TEXT PRIMARY KEY,
        header     TEXT NOT NULL,
        version    BIGINT NOT NULL DEFAULT 1,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE TABLE signals (
        seq        BIGSERIAL PRIMARY KEY,
        case_id    TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
        id         TEXT,
        record     TEXT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        UNIQUE (case_id, id)
    );
    CREATE INDEX signals_case ON signals (case_id, seq);
    CREATE TABLE case_events (
        seq        BIGSERIAL PRIMARY KEY,
        case_id    TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
        kind       TEXT NOT NULL,
        record     TEXT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE INDEX case_events_case ON case_events (case_id, seq);
    ",
)];

/// The advisory lock key of migrations ("PFST").
const MIGRATION_LOCK: i64 = 0x5046_5354;

/// Appends committed together at most (group commit; module docs).
pub const MAX_GROUP: usize = 32;

/// Groups of appends being committed at once at most; appends arriving meanwhile wait for the next group.
pub const MAX_GROUPS_IN_FLIGHT: usize = 1;

/// A pool of connections to one PostgreSQL database.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    config: tokio_postgres::Config,
    appends: Arc<Mutex<Appends>>,
}

/// Appends waiting for a group, the number of groups being committed, and counts of what was committed so far
/// ([`AppendCounts`]).
#[derive(Default)]
struct Appends {
    queue: VecDeque<AppendJob>,
    committers: usize,
    counts: AppendCounts,
}

/// What the appends' commits did since the store was opened (exported on `/metrics`; the ratio of appends to
/// transactions is the group commit's gain).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct AppendCounts {
    /// Transactions that wrote at least one append.
    pub transactions: u64,
    /// Appends written (a case moved on by one version each).
    pub appends: u64,
    /// Groups of several appends committed in one transaction.
    pub groups: u64,
    /// Appends those groups held.
    pub grouped: u64,
}

/// One append waiting to be committed: its rows, ready to bind, and where its outcome goes.
struct AppendJob {
    case_id: String,
    expected: i64,
    ids: Vec<Option<String>>,
    records: Vec<String>,
    reply: tokio::sync::oneshot::Sender<Result<Write, StoreError>>,
}

/// The statement of one append: the version moves on, the rows go in (none when the version was not the one
/// expected) and the notification is queued, or nothing happens.
const APPEND_ONE: &str = "WITH b AS (UPDATE cases SET version = version + 1 WHERE id = $1 AND version = $2 RETURNING version), \
     ins AS (INSERT INTO signals (case_id, id, record) \
         SELECT $1, x.id, x.record FROM b, unnest($3::text[], $4::text[]) WITH ORDINALITY AS x(id, record, n) \
         ORDER BY x.n ON CONFLICT (case_id, id) DO NOTHING RETURNING 1), \
     n AS (SELECT pg_notify($5, b.version::text || ' ' || $1) FROM b) \
     SELECT b.version, (SELECT COUNT(*) FROM n) FROM b";

/// The statement of a group of appends to distinct cases: the cases' rows are locked in id order (so that two
/// groups never wait for each other in a cycle), each case whose version is the one its append expected moves
/// on, the rows of those cases go in (in the group's order) and each of them gets its notification. Returns
/// (case id, new version) for each case written.
const APPEND_GROUP: &str = "WITH r AS (SELECT c.id, x.expected FROM unnest($1::text[], $2::bigint[]) AS x(id, expected) \
         JOIN cases c ON c.id = x.id ORDER BY c.id FOR UPDATE OF c), \
     b AS (UPDATE cases c SET version = c.version + 1 FROM r WHERE c.id = r.id AND c.version = r.expected \
         RETURNING c.id, c.version), \
     ins AS (INSERT INTO signals (case_id, id, record) \
         SELECT x.case_id, x.id, x.record FROM b \
         JOIN unnest($3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS x(case_id, id, record, n) ON x.case_id = b.id \
         ORDER BY x.n ON CONFLICT (case_id, id) DO NOTHING RETURNING 1), \
     n AS (SELECT pg_notify($6, b.version::text || ' ' || b.id) FROM b) \
     SELECT b.id, b.version, (SELECT COUNT(*) FROM n) FROM b";

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("hosts", &self.config.get_hosts())
            .field("dbname", &self.config.get_dbname())
            .finish_non_exhaustive()
    }
}

/// A PostgreSQL error as a store error: a lost or refused connection (no SQLSTATE, class 08, or an operator
/// shutdown 57P0x) is [`StoreError::Unavailable`]; anything else is [`StoreError::Postgres`].
fn pg_error(e: tokio_postgres::Error) -> StoreError {
    match e.code() {
        None => StoreError::Unavailable(format!("the database is unreachable: {e}")),
        Some(c) if c.code().starts_with("08") || c.code().starts_with("57P") => {
            StoreError::Unavailable(format!("the database is unreachable: {e}"))
        }
        Some(_) => StoreError::Postgres(e.to_string()),
    }
}

fn pool_error(e: deadpool_postgres::PoolError) -> StoreError {
    match e {
        deadpool_postgres::PoolError::Backend(e) => pg_error(e),
        other => StoreError::Unavailable(format!("the database is unreachable: {other}")),
    }
}

/// The URL without its password, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let cred = &url[s + 3..at];
            match cred.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &cred[..c], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

impl PgStore {
    /// Connect to the database at `url` (`postgres://user:password@host:port/dbname`, or with
    /// `?host=/socket/dir`), check the server's version (13 or later) and apply the migrations not yet applied.
    ///
    /// # Errors
    /// [`StoreError::Check`] for a URL that does not parse, a server older than 13, or a schema newer than
    /// this build's; [`StoreError::Unavailable`] when the database cannot be reached.
    pub async fn connect(url: &str) -> Result<PgStore, StoreError> {
        let mut config: tokio_postgres::Config = url.parse().map_err(|e| {
            StoreError::Check(format!(
                "invalid database URL {}: {e}: expected postgres://user:password@host:port/dbname",
                redact(url)
            ))
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        config.application_name("pressure-forecast");
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(16)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(10)))
            .create_timeout(Some(Duration::from_secs(5)))
            .recycle_timeout(Some(Duration::from_secs(5)))
            .build()
            .map_err(|e| StoreError::Check(format!("connection pool: {e}")))?;
        let store = PgStore {
            pool,
            config,
            appends: Arc::default(),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// The connection settings (for the notification listener).
    pub fn config(&self) -> &tokio_postgres::Config {
        &self.config
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(pool_error)
    }

    /// Apply the migrations this database lacks, in one transaction under an advisory lock.
    async fn migrate(&self) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let version: i32 = client
            .query_one("SHOW server_version_num", &[])
            .await
            .map_err(pg_error)?
            .get::<_, String>(0)
            .parse()
            .unwrap_or(0);
        if version < 130_000 {
            return Err(StoreError::Check(format!(
                "PostgreSQL server version {version}: expected 13 or later (130000)"
            )));
        }
        let tx = client.transaction().await.map_err(pg_error)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(pg_error)?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS pf_migrations (
                version    INTEGER PRIMARY KEY,
                name       TEXT NOT NULL,
                applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
            )",
        )
        .await
        .map_err(pg_error)?;
        let applied: i32 = tx
            .query_one("SELECT COALESCE(MAX(version), 0) FROM pf_migrations", &[])
            .await
            .map_err(pg_error)?
            .get(0);
        let latest = MIGRATIONS.last().map_or(0, |m| m.0);
        if applied > latest {
            return Err(StoreError::Check(format!(
                "schema version {applied}: expected at most {latest} (a database written by a newer build)"
            )));
        }
        for (v, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > applied) {
            tx.batch_execute(sql).await.map_err(pg_error)?;
            tx.execute(
                "INSERT INTO pf_migrations (version, name) VALUES ($1, $2)",
                &[v, name],
            )
            .await
            .map_err(pg_error)?;
            tracing::info!(target: "pf_server::store", version = v, "PostgreSQL schema migrated: {name}");
        }
        tx.commit().await.map_err(pg_error)?;
        Ok(())
    }

    /// The migrations applied, oldest first: (version, name).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`], [`StoreError::Postgres`].
    pub async fn migrations(&self) -> Result<Vec<(i32, String)>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query("SELECT version, name FROM pf_migrations ORDER BY version", &[])
            .await
            .map_err(pg_error)?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// One case, read back and checked as the SQLite store does; `None` when there is no such case. The
    /// header, signals and events are read in one repeatable-read transaction, so they are one version's.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] naming the first unreadable record; [`StoreError::Unavailable`].
    pub async fn load_case(
        &self,
        case_id: &str,
        vocabulary: &impl Vocabulary,
    ) -> Result<Option<StoredCase>, StoreError> {
        let mut client = self.client().await?;
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(pg_error)?;
        let Some(row) = tx
            .query_opt("SELECT header, version FROM cases WHERE id = $1", &[&case_id])
            .await
            .map_err(pg_error)?
        else {
            return Ok(None);
        };
        let signals = tx
            .query(
                "SELECT seq, id, record FROM signals WHERE case_id = $1 ORDER BY seq",
                &[&case_id],
            )
            .await
            .map_err(pg_error)?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        let events = tx
            .query(
                "SELECT seq, record FROM case_events WHERE case_id = $1 ORDER BY seq",
                &[&case_id],
            )
            .await
            .map_err(pg_error)?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        tx.commit().await.map_err(pg_error)?;
        let raw = RawCase {
            id: case_id.to_owned(),
            header: row.get(0),
            version: row.get(1),
            signals,
            events,
        };
        let mut problems: Vec<Problem> = Vec::new();
        let case = assemble(raw, vocabulary, &mut problems);
        match problems.first() {
            Some(first) => Err(StoreError::Corrupt(format!(
                "{first}: expected every record to read back"
            ))),
            None => Ok(case),
        }
    }

    /// What a listing shows of the cases `ids` that exist ([`crate::store::RawSummary`]), without reading their
    /// signals: one statement, so one snapshot of the database.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`], [`StoreError::Postgres`].
    pub(crate) async fn summaries(&self, ids: &[String]) -> Result<Vec<RawSummary>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT c.id, c.header, c.version, \
                     (SELECT COUNT(*) FROM signals s WHERE s.case_id = c.id), \
                     ARRAY(SELECT e.record FROM case_events e WHERE e.case_id = c.id AND e.kind = 'update' ORDER BY e.seq), \
                     (SELECT COUNT(*) FROM case_events e WHERE e.case_id = c.id AND e.kind = 'retract') \
                 FROM cases c WHERE c.id = ANY($1)",
                &[&ids],
            )
            .await
            .map_err(pg_error)?;
        Ok(rows
            .iter()
            .map(|r| RawSummary {
                id: r.get(0),
                header: r.get(1),
                version: r.get(2),
                signals: r.get(3),
                updates: r.get(4),
                retractions: r.get(5),
            })
            .collect())
    }

    /// Up to `limit` case ids after `after`, in id order.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`], [`StoreError::Postgres`].
    pub async fn list_ids(&self, after: Option<&str>, limit: usize) -> Result<Vec<String>, StoreError> {
        let client = self.client().await?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = client
            .query(
                "SELECT id FROM cases WHERE $1::text IS NULL OR id > $1 ORDER BY id LIMIT $2",
                &[&after, &limit],
            )
            .await
            .map_err(pg_error)?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// The versions of the cases `ids` that exist.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`], [`StoreError::Postgres`].
    pub async fn versions(&self, ids: &[String]) -> Result<Vec<(String, u64)>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query("SELECT id, version FROM cases WHERE id = ANY($1)", &[&ids])
            .await
            .map_err(pg_error)?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), u64::try_from(r.get::<_, i64>(1)).unwrap_or(0)))
            .collect())
    }

    /// Store a new case at version 1 with its signals and first events, in one transaction; false (nothing
    /// written) when a case with this id exists.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`], [`StoreError::Postgres`] (nothing is stored then).
    pub async fn insert_case(&self, case: &Case, events: &[CaseEvent]) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_error)?;
        let n = tx
            .execute(
                "INSERT INTO cases (id, header, version) VALUES ($1, $2, 1) ON CONFLICT (id) DO NOTHING",
                &[&case.id, &crate::store::header_json(case)],
            )
            .await
            .map_err(pg_error)?;
        if n == 0 {
            return Ok(false);
        }
        insert_signals(&tx, &case.id, case.signals()).await?;
        for e in events {
            insert_event(&tx, &case.id, e).await?;
        }
        notify(&tx, &case.id, 1).await?;
        tx.commit().await.map_err(pg_error)?;
        Ok(true)
    }

    /// Append signals in one transaction if the case is at version `expected` (signals whose id the case holds
    /// are skipped: `ON CONFLICT DO NOTHING`); the transaction may hold the appends to other cases waiting at the
    /// same time (group commit; module docs). Returns once it has committed.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`], [`StoreError::Postgres`] (nothing is stored then).
    pub async fn append(
        &self,
        case_id: &str,
        expected: u64,
        signals: &[Signal],
    ) -> Result<Write, StoreError> {
        let mut ids: Vec<Option<String>> = Vec::with_capacity(signals.len());
        let mut records: Vec<String> = Vec::with_capacity(signals.len());
        for s in signals {
            ids.push(s.id.as_deref().map(str::to_owned));
            records.push(serde_json::to_string(s).map_err(|e| StoreError::Corrupt(e.to_string()))?);
        }
        let (reply, outcome) = tokio::sync::oneshot::channel();
        let job = AppendJob {
            case_id: case_id.to_owned(),
            expected: i64::try_from(expected).unwrap_or(i64::MAX),
            ids,
            records,
            reply,
        };
        let start = {
            let mut a = self
                .appends
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            a.queue.push_back(job);
            let start = a.committers < MAX_GROUPS_IN_FLIGHT;
            if start {
                a.committers += 1;
            }
            start
        };
        if start {
            // A task of its own, so that the appends of the groups it commits never depend on this caller.
            tokio::spawn(commit_groups(self.pool.clone(), self.appends.clone()));
        }
        outcome.await.unwrap_or_else(|_| {
            Err(StoreError::Unavailable(
                "the append's commit task ended without an outcome".into(),
            ))
        })
    }

    /// Append an event in one transaction if the case is at version `expected`.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`], [`StoreError::Postgres`] (nothing is stored then).
    pub async fn add_event(
        &self,
        case_id: &str,
        expected: u64,
        event: &CaseEvent,
    ) -> Result<Write, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_error)?;
        let w = bump(&tx, case_id, expected).await?;
        if let Write::Done(v) = w {
            insert_event(&tx, case_id, event).await?;
            notify(&tx, case_id, v).await?;
            tx.commit().await.map_err(pg_error)?;
        }
        Ok(w)
    }

    /// Delete a case and its logs; the number of signals deleted, or `None` when there was no such case.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`], [`StoreError::Postgres`].
    pub async fn delete_case(&self, case_id: &str) -> Result<Option<usize>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_error)?;
        let n: i64 = tx
            .query_one("SELECT COUNT(*) FROM signals WHERE case_id = $1", &[&case_id])
            .await
            .map_err(pg_error)?
            .get(0);
        let gone = tx
            .execute("DELETE FROM cases WHERE id = $1", &[&case_id])
            .await
            .map_err(pg_error)?;
        if gone == 0 {
            return Ok(None);
        }
        notify(&tx, case_id, 0).await?;
        tx.commit().await.map_err(pg_error)?;
        Ok(Some(usize::try_from(n).unwrap_or(0)))
    }

    /// What the appends' commits did so far: transactions, appends written, and the groups of several appends
    /// (group commit; module docs).
    pub fn append_counts(&self) -> AppendCounts {
        self.appends
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .counts
    }

    /// Close the pool.
    pub fn close(&self) {
        self.pool.close();
    }
}

/// Commit the waiting appends group after group until none waits (one committer of
/// [`MAX_GROUPS_IN_FLIGHT`]).
async fn commit_groups(pool: Pool, appends: Arc<Mutex<Appends>>) {
    /// The committer's place, given back however the task ends (a panic included), so that a later append
    /// starts another committer instead of waiting for this one forever.
    struct Place {
        appends: Arc<Mutex<Appends>>,
        held: bool,
    }
    impl Drop for Place {
        fn drop(&mut self) {
            if self.held {
                let mut a = self
                    .appends
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                a.committers -= 1;
            }
        }
    }
    let mut place = Place { appends, held: true };
    loop {
        let group = {
            let mut a = place
                .appends
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let group = take_group(&mut a.queue);
            if group.is_empty() {
                // Given back under the lock that found the queue empty: an append queued after it starts a
                // committer of its own.
                a.committers -= 1;
                drop(a);
                place.held = false;
                return;
            }
            group
        };
        commit_group(&pool, &place.appends, group).await;
    }
}

/// The next group: the waiting appends in order, at most [`MAX_GROUP`], one per case (a later append to a case
/// of the group waits for the next one, in its place in the queue).
fn take_group(queue: &mut VecDeque<AppendJob>) -> Vec<AppendJob> {
    let mut group: Vec<AppendJob> = Vec::new();
    let mut later = VecDeque::new();
    while group.len() < MAX_GROUP {
        let Some(job) = queue.pop_front() else { break };
        if group.iter().any(|g| g.case_id == job.case_id) {
            later.push_back(job);
        } else {
            group.push(job);
        }
    }
    while let Some(job) = later.pop_back() {
        queue.push_front(job);
    }
    group
}

/// Commit one group and send each append its outcome. One append takes the statement of one; several take the
/// group's statement, and when that fails, each is committed alone.
async fn commit_group(pool: &Pool, appends: &Mutex<Appends>, group: Vec<AppendJob>) {
    if group.len() > 1 {
        match append_group(pool, &group).await {
            Ok(outcomes) => {
                count(appends, &outcomes, group.len());
                for (job, w) in group.into_iter().zip(outcomes) {
                    let _ = job.reply.send(Ok(w));
                }
                return;
            }
            Err(e) => {
                tracing::debug!(target: "pf_server::store", "a group of {} appends failed ({e}); committing each alone", group.len());
            }
        }
    }
    for job in group {
        let w = append_one(pool, &job).await;
        if let Ok(w) = &w {
            count(appends, std::slice::from_ref(w), 1);
        }
        let _ = job.reply.send(w);
    }
}

/// Count a committed transaction of `size` appends with these outcomes.
fn count(appends: &Mutex<Appends>, outcomes: &[Write], size: usize) {
    let written = outcomes.iter().filter(|w| matches!(w, Write::Done(_))).count() as u64;
    let mut a = appends.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if written > 0 {
        a.counts.transactions += 1;
        a.counts.appends += written;
    }
    if size > 1 {
        a.counts.groups += 1;
        a.counts.grouped += size as u64;
    }
}

/// One append in one statement (so one round trip and one transaction).
async fn append_one(pool: &Pool, job: &AppendJob) -> Result<Write, StoreError> {
    let client = pool.get().await.map_err(pool_error)?;
    let stmt = client.prepare_cached(APPEND_ONE).await.map_err(pg_error)?;
    let row = client
        .query_opt(
            &stmt,
            &[&job.case_id, &job.expected, &job.ids, &job.records, &CHANNEL],
        )
        .await
        .map_err(pg_error)?;
    outcome(&client, &job.case_id, row).await
}

/// A group of appends to distinct cases in one statement: each append's outcome, in the group's order.
async fn append_group(pool: &Pool, group: &[AppendJob]) -> Result<Vec<Write>, StoreError> {
    let client = pool.get().await.map_err(pool_error)?;
    let cases: Vec<&str> = group.iter().map(|j| j.case_id.as_str()).collect();
    let expected: Vec<i64> = group.iter().map(|j| j.expected).collect();
    let rows_n: usize = group.iter().map(|j| j.records.len()).sum();
    let mut row_cases: Vec<&str> = Vec::with_capacity(rows_n);
    let mut ids: Vec<Option<&str>> = Vec::with_capacity(rows_n);
    let mut records: Vec<&str> = Vec::with_capacity(rows_n);
    for j in group {
        row_cases.extend(std::iter::repeat_n(j.case_id.as_str(), j.records.len()));
        ids.extend(j.ids.iter().map(Option::as_deref));
        records.extend(j.records.iter().map(String::as_str));
    }
    let stmt = client.prepare_cached(APPEND_GROUP).await.map_err(pg_error)?;
    let rows = client
        .query(&stmt, &[&cases, &expected, &row_cases, &ids, &records, &CHANNEL])
        .await
        .map_err(pg_error)?;
    let done: Vec<(String, i64)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    outcomes(&client, &cases, &done).await
}

/// Move a case from version `expected` to the next, inside `tx` (the row stays locked until commit).
async fn bump(
    tx: &deadpool_postgres::Transaction<'_>,
    case_id: &str,
    expected: u64,
) -> Result<Write, StoreError> {
    let expected = i64::try_from(expected).unwrap_or(i64::MAX);
    let row = tx
        .query_opt(
            "UPDATE cases SET version = version + 1 WHERE id = $1 AND version = $2 RETURNING version",
            &[&case_id, &expected],
        )
        .await
        .map_err(pg_error)?;
    outcome(tx, case_id, row).await
}

/// The outcome of a write that moves a case on from the version it expects: [`Write::Done`] with the new version
/// when the write returned its `row` (the version, first column), else (the case was at another version, or is
/// gone) [`Write::Conflict`] or [`Write::Missing`], after looking the case up through `client` (the write's
/// connection or transaction).
async fn outcome(
    client: &impl GenericClient,
    case_id: &str,
    row: Option<tokio_postgres::Row>,
) -> Result<Write, StoreError> {
    let done: Vec<(String, i64)> = row.map(|r| (case_id.to_owned(), r.get(0))).into_iter().collect();
    let mut w = outcomes(client, &[case_id], &done).await?;
    Ok(w.pop().expect("one outcome for one case"))
}

/// The outcomes of appends to `cases`, given the cases written and their new versions (`done`): a case not
/// written was at another version (a conflict) or is gone (missing), which one query tells.
async fn outcomes(
    client: &impl GenericClient,
    cases: &[&str],
    done: &[(String, i64)],
) -> Result<Vec<Write>, StoreError> {
    let version = |id: &str| done.iter().find(|(c, _)| c == id).map(|(_, v)| *v);
    let unwritten: Vec<&str> = cases.iter().copied().filter(|c| version(c).is_none()).collect();
    let existing: Vec<String> = if unwritten.is_empty() {
        Vec::new()
    } else {
        client
            .query("SELECT id FROM cases WHERE id = ANY($1)", &[&unwritten])
            .await
            .map_err(pg_error)?
            .iter()
            .map(|r| r.get(0))
            .collect()
    };
    Ok(cases
        .iter()
        .map(|c| match version(c) {
            Some(v) => Write::Done(u64::try_from(v).unwrap_or(0)),
            None if existing.iter().any(|e| e == c) => Write::Conflict,
            None => Write::Missing,
        })
        .collect())
}

/// The change notification of a case at `version` (0: deleted), sent when `tx` commits.
async fn notify(
    tx: &deadpool_postgres::Transaction<'_>,
    case_id: &str,
    version: u64,
) -> Result<(), StoreError> {
    tx.execute(
        "SELECT pg_notify($1, $2)",
        &[&CHANNEL, &format!("{version} {case_id}")],
    )
    .await
    .map_err(pg_error)?;
    Ok(())
}

/// A notification's payload: (case id, version; 0 for a deletion).
pub fn parse_payload(payload: &str) -> Option<(String, u64)> {
    let (v, id) = payload.split_once(' ')?;
    Some((id.to_owned(), v.parse().ok()?))
}

async fn insert_signals(
    tx: &deadpool_postgres::Transaction<'_>,
    case_id: &str,
    signals: &[Signal],
) -> Result<(), StoreError> {
    if signals.is_empty() {
        return Ok(());
    }
    let mut ids: Vec<Option<String>> = Vec::with_capacity(signals.len());
    let mut records: Vec<String> = Vec::with_capacity(signals.len());
    for s in signals {
        ids.push(s.id.as_deref().map(str::to_owned));
        records.push(serde_json::to_string(s).map_err(|e| StoreError::Corrupt(e.to_string()))?);
    }
    // One statement for the batch, in batch order.
    let stmt = tx
        .prepare_cached(
            "INSERT INTO signals (case_id, id, record) \
             SELECT $1, b.id, b.record FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS b(id, record, n) \
             ORDER BY b.n ON CONFLICT (case_id, id) DO NOTHING",
        )
        .await
        .map_err(pg_error)?;
    tx.execute(&stmt, &[&case_id, &ids, &records])
        .await
        .map_err(pg_error)?;
    Ok(())
}

async fn insert_event(
    tx: &deadpool_postgres::Transaction<'_>,
    case_id: &str,
    event: &CaseEvent,
) -> Result<(), StoreError> {
    let record = serde_json::to_string(event).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    tx.execute(
        "INSERT INTO case_events (case_id, kind, record) VALUES ($1, $2, $3)",
        &[&case_id, &event.kind(), &record],
    )
    .await
    .map_err(pg_error)?;
    Ok(())
}

/// Listen for change notifications on a connection of its own, for as long as `sink` accepts them; reconnects
/// with a back-off when the connection is lost. After each (re)connection `sink` receives `None` first: the
/// notifications sent while this replica was not listening are lost, so the cache must be checked against the
/// database.
pub async fn listen(config: tokio_postgres::Config, sink: tokio::sync::mpsc::Sender<Option<(String, u64)>>) {
    use futures_util::StreamExt;
    let mut backoff = Duration::from_millis(50);
    loop {
        if sink.is_closed() {
            return;
        }
        match config.connect(NoTls).await {
            Ok((client, mut connection)) => {
                let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
                let driver = tokio::spawn(async move {
                    let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
                    while let Some(m) = messages.next().await {
                        match m {
                            Ok(tokio_postgres::AsyncMessage::Notification(n)) => {
                                if tx.send(Some(n.payload().to_owned())).is_err() {
                                    return;
                                }
                            }
                            Ok(_) => {}
                            Err(e) => {
                                tracing::warn!(target: "pf_server::store", "notification connection lost: {e}");
                                break;
                            }
                        }
                    }
                    let _ = tx.send(None);
                });
                if let Err(e) = client.batch_execute(&format!("LISTEN {CHANNEL}")).await {
                    tracing::warn!(target: "pf_server::store", "LISTEN failed: {e}");
                    driver.abort();
                } else {
                    backoff = Duration::from_millis(50);
                    tracing::info!(target: "pf_server::store", "listening for case changes");
                    if sink.send(None).await.is_err() {
                        driver.abort();
                        return;
                    }
                    while let Some(Some(payload)) = rx.recv().await {
                        match parse_payload(&payload) {
                            Some(change) => {
                                if sink.send(Some(change)).await.is_err() {
                                    driver.abort();
                                    return;
                                }
                            }
                            None => tracing::warn!(
                                target: "pf_server::store",
                                "unreadable change notification {payload:?}: expected '<version> <case id>'"
                            ),
                        }
                    }
                    driver.abort();
                    drop(client);
                }
            }
            Err(e) => {
                tracing::debug!(target: "pf_server::store", "cannot connect to listen: {e}");
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(1));
    }
}
