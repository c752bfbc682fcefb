//! Issue 13, item 2, on the service side: a signal without an id gets its content id, so an id-less
//! `AppendSignals` retried changes nothing; and a store written before content ids (signals stored with no id,
//! repeats included) is migrated when a server opens it, with a report of what was merged, per case, in the log
//! and in `store check`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use pf_proto::google::r#type::Date;
use pf_proto::v1 as pb;
use pf_proto::v1::forecast_service_client::ForecastServiceClient;
use pf_server::Config;
use tokio::sync::oneshot;
use tonic::transport::Channel;

struct Server {
    addr: std::net::SocketAddr,
    stop: oneshot::Sender<()>,
    handle: tokio::task::JoinHandle<anyhow::Result<()>>,
}

async fn start(config: Config) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let handle = tokio::spawn(pf_server::serve(listener, config, async {
        let _ = stopped.await;
    }));
    Server { addr, stop, handle }
}

impl Server {
    async fn client(&self) -> ForecastServiceClient<Channel> {
        let url = format!("http://{}", self.addr);
        // Bounded: the server opens its store and binds within this many attempts, or the test fails.
        for _ in 0..500 {
            if let Ok(c) = ForecastServiceClient::connect(url.clone()).await {
                return c;
            }
            if self.handle.is_finished() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("server did not come up on {url}");
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        self.handle.await.unwrap().unwrap();
    }
}

fn date(y: i32, m: i32, d: i32) -> Option<Date> {
    Some(Date {
        year: y,
        month: m,
        day: d,
    })
}

const CASE: &str = "usa-prk-2017";

/// Three signals without ids, one of them given twice in the batch.
fn id_less_batch() -> Vec<pb::Signal> {
    let talks = pb::Signal {
        signal_type: "talks_held".into(),
        date: date(2018, 9, 18),
        source: "wire".into(),
        note: "inter-Korean summit".into(),
        ..Default::default()
    };
    vec![
        talks.clone(),
        pb::Signal {
            signal_type: "provocation_by_target".into(),
            date: date(2018, 10, 2),
            reliability: Some(0.6),
            ..Default::default()
        },
        talks,
        pb::Signal {
            signal_type: "talks_refused".into(),
            date: date(2018, 10, 20),
            weight: Some(0.5),
            ..Default::default()
        },
    ]
}

async fn snapshot(c: &mut ForecastServiceClient<Channel>) -> (Vec<pb::Signal>, pb::Forecast) {
    let signals = c
        .list_signals(pb::ListSignalsRequest {
            case_id: CASE.into(),
            page_size: 1000,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(signals.next_page_token.is_empty());
    let forecast = c
        .get_forecast(pb::GetForecastRequest {
            case_id: CASE.into(),
            as_of: date(2018, 10, 31),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .forecast
        .unwrap();
    (signals.signals, forecast)
}

#[path = "common/backend.rs"]
mod backend;
use backend::Backend;

backend::backend_tests!(an_id_less_append_retried_three_times_changes_nothing);

async fn an_id_less_append_retried_three_times_changes_nothing(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        db: backend.db(&dir),
        seed_examples: true,
        ..Config::default()
    };
    let server = start(config.clone()).await;
    let mut c = server.client().await;
    let (before, _) = snapshot(&mut c).await;
    let request = pb::AppendSignalsRequest {
        case_id: CASE.into(),
        signals: id_less_batch(),
        as_of: date(2018, 10, 31),
    };
    let first = c.append_signals(request.clone()).await.unwrap().into_inner();
    // Four records, three contents: the repeat inside the batch is the same signal.
    assert_eq!((first.added, first.unchanged), (3, 1));
    assert_eq!(first.signal_count as usize, before.len() + 3);
    let (after_first, forecast) = snapshot(&mut c).await;
    assert_eq!(after_first.len(), before.len() + 3);
    let given: Vec<&pb::Signal> = after_first.iter().filter(|s| s.id.starts_with("c-")).collect();
    assert_eq!(given.len(), 3, "content ids given: {after_first:?}");
    assert_eq!(first.forecast.as_ref(), Some(&forecast));
    for retry in 1..=3 {
        let r = c.append_signals(request.clone()).await.unwrap().into_inner();
        assert_eq!((r.added, r.unchanged), (0, 4), "retry {retry}");
        assert_eq!(r.signal_count, first.signal_count, "retry {retry}");
        assert_eq!(r.forecast.as_ref(), Some(&forecast), "retry {retry}");
        assert_eq!(
            snapshot(&mut c).await,
            (after_first.clone(), forecast.clone()),
            "retry {retry}"
        );
    }
    server.stop().await;
    // And from the store: a restarted server holds each signal once.
    let server = start(config).await;
    let mut c = server.client().await;
    assert_eq!(snapshot(&mut c).await, (after_first, forecast));
    server.stop().await;
}

/// Log lines written while the test runs (the migration's report is logged from a blocking thread).
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_written_before_content_ids_is_migrated_at_start_and_says_what_it_merged() {
    let log = Captured::default();
    let writer = log.clone();
    let _ = tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("pf_server::store=info"))
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish(),
    );
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("old.sqlite3");
    let config = Config {
        db: db.clone(),
        seed_examples: true,
        ..Config::default()
    };
    // A store as it is today, with the example cases and the id-less batch appended once.
    let server = start(config.clone()).await;
    let mut c = server.client().await;
    c.append_signals(pb::AppendSignalsRequest {
        case_id: CASE.into(),
        signals: id_less_batch(),
        as_of: None,
    })
    .await
    .unwrap();
    let expected = snapshot(&mut c).await;
    server.stop().await;
    // Rewritten into what a build before content ids left behind: those signals stored without ids, each
    // stored three times (a notebook cell run three times), schema version 2, no migration tables.
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        let rows: Vec<(i64, String)> = conn
            .prepare("SELECT seq, record FROM signals WHERE case_id = ?1 AND id LIKE 'c-%' ORDER BY seq")
            .unwrap()
            .query_map([CASE], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows.len(), 3);
        let next: i64 = conn
            .query_row(
                "SELECT MAX(seq) + 1 FROM signals WHERE case_id = ?1",
                [CASE],
                |r| r.get(0),
            )
            .unwrap();
        for (k, (seq, record)) in rows.iter().enumerate() {
            let mut v: serde_json::Value = serde_json::from_str(record).unwrap();
            v.as_object_mut().unwrap().remove("id");
            let old = v.to_string();
            conn.execute(
                "UPDATE signals SET id = NULL, record = ?2 WHERE case_id = ?1 AND seq = ?3",
                rusqlite::params![CASE, old, seq],
            )
            .unwrap();
            for copy in 0..2 {
                conn.execute(
                    "INSERT INTO signals (case_id, seq, id, record) VALUES (?1, ?2, NULL, ?3)",
                    rusqlite::params![CASE, next + 2 * k as i64 + copy, old],
                )
                .unwrap();
            }
        }
        conn.execute_batch(
            "DROP TABLE migrations; DROP TABLE migrated_signals; ALTER TABLE cases DROP COLUMN version; \
             PRAGMA user_version = 2; \
             PRAGMA wal_checkpoint(TRUNCATE);",
        )
        .unwrap();
    }
    // `store check` before a server opens it: the migration the next start will apply.
    let st = pf_server::store::Store::open_read_only(&db).unwrap();
    let lines = pf_server::cli::migration_lines(&st).unwrap().join("\n");
    drop(st);
    assert!(lines.contains("schema version 2"), "{lines}");
    assert!(
        lines.contains("migration pending")
            && lines.contains(&format!("case `{CASE}`: 3 given ids, 6 merged")),
        "{lines}"
    );
    // The server migrates at start, says so, and serves the case exactly as before.
    let server = start(config.clone()).await;
    let mut c = server.client().await;
    assert_eq!(snapshot(&mut c).await, expected);
    // Retried id-less appends still change nothing after the migration.
    let r = c
        .append_signals(pb::AppendSignalsRequest {
            case_id: CASE.into(),
            signals: id_less_batch(),
            as_of: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((r.added, r.unchanged), (0, 4));
    server.stop().await;
    let logged = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert!(
        logged.contains("store migrated: content ids (schema 2 to 3): 3 id-less signal record(s) given their content id, 6 merged"),
        "{logged}"
    );
    assert!(
        logged.contains(&format!("case `{CASE}`: 3 given ids, 6 merged, 0 conflicts")),
        "{logged}"
    );
    // `store check` afterwards: current, with the migration's record.
    let st = pf_server::store::Store::open_read_only(&db).unwrap();
    let lines = pf_server::cli::migration_lines(&st).unwrap().join("\n");
    assert!(lines.starts_with("schema version 4"), "{lines}");
    assert!(lines.contains("migrated to schema 3 at "), "{lines}");
    assert!(
        lines.contains(&format!("case `{CASE}`: 3 given ids, 6 merged, 0 conflicts")),
        "{lines}"
    );
    assert!(!lines.contains("pending"), "{lines}");
}
