//! Stateless replicas on one PostgreSQL database: an append through replica A is seen through replica B (its
//! cache invalidated by LISTEN/NOTIFY) and by a WatchForecast stream on B; a PostgreSQL restart under load makes
//! writes UNAVAILABLE while cached reads go on, then the replica recovers by itself and nothing acknowledged is
//! lost; `pressure-forecast serve` processes killed with SIGKILL under concurrent appends through two replicas
//! lose no acknowledged signal and store none twice (the ledger check of tests/test_grpc_durability.py).
//!
//! Every test here needs PostgreSQL: skipped loudly without it, a failure under `CI=true`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use pf_proto::google::r#type::Date;
use pf_proto::v1 as pb;
use pf_proto::v1::forecast_service_client::ForecastServiceClient;
use pf_server::Config;
use tokio::sync::oneshot;
use tokio_stream::StreamExt;
use tonic::Code;
use tonic::transport::Channel;

#[path = "common/backend.rs"]
mod backend;

struct Replica {
    addr: std::net::SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    handle: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Replica {
    async fn start(db: &str) -> Replica {
        let config = Config {
            db: db.into(),
            ..Config::default()
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(pf_server::serve(listener, config, async {
            let _ = stopped.await;
        }));
        Replica {
            addr,
            stop: Some(stop),
            handle,
        }
    }

    async fn client(&self) -> ForecastServiceClient<Channel> {
        connect(self.addr).await
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.handle.await.unwrap().unwrap();
    }
}

async fn connect(addr: std::net::SocketAddr) -> ForecastServiceClient<Channel> {
    let url = format!("http://{addr}");
    for _ in 0..1500 {
        if let Ok(c) = ForecastServiceClient::connect(url.clone()).await {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("server did not come up on {url}");
}

fn pd(y: i32, m: i32, d: i32) -> Option<Date> {
    Some(Date {
        year: y,
        month: m,
        day: d,
    })
}

const TYPES: [&str; 4] = [
    "sanctions_tightened",
    "talks_held",
    "talks_refused",
    "summit_held",
];

/// Signal `n` of writer `w`: a distinct id, a date and type that depend on `n`.
fn signal(w: usize, n: usize) -> pb::Signal {
    let day = (n * 7 + w * 3) % 1400;
    let date = chrono::NaiveDate::from_ymd_opt(2017, 1, 21).unwrap() + chrono::Days::new(day as u64);
    pb::Signal {
        id: format!("w{w}-{n}"),
        signal_type: TYPES[(n + w) % TYPES.len()].into(),
        date: Some(pf_proto::convert::date_to_proto(date)),
        ..Default::default()
    }
}

async fn create(c: &mut ForecastServiceClient<Channel>, id: &str) {
    c.create_case(pb::CreateCaseRequest {
        coercion_case: Some(pb::Case {
            id: id.into(),
            sender: "USA".into(),
            target: "PRK".into(),
            start: pd(2017, 1, 20),
            term_end: pd(2021, 1, 20),
            ..Default::default()
        }),
    })
    .await
    .unwrap();
}

async fn get_case(c: &mut ForecastServiceClient<Channel>, id: &str) -> Result<pb::Case, tonic::Status> {
    c.get_case(pb::GetCaseRequest {
        case_id: id.into(),
        page_size: 0,
    })
    .await
    .map(|r| r.into_inner().coercion_case.unwrap())
}

/// Every signal id of a case, through ListSignals.
async fn signal_ids(c: &mut ForecastServiceClient<Channel>, id: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut token = String::new();
    loop {
        let r = c
            .list_signals(pb::ListSignalsRequest {
                case_id: id.into(),
                page_size: 1000,
                page_token: token,
            })
            .await
            .unwrap()
            .into_inner();
        out.extend(r.signals.into_iter().map(|s| s.id));
        if r.next_page_token.is_empty() {
            return out;
        }
        token = r.next_page_token;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_append_through_a_is_seen_through_b_and_by_a_watcher_on_b() {
    if backend::skip_postgres("an_append_through_a_is_seen_through_b_and_by_a_watcher_on_b") {
        return;
    }
    let db = backend::shared().unwrap().new_database();
    let a = Replica::start(&db).await;
    let b = Replica::start(&db).await;
    let (mut ca, mut cb) = (a.client().await, b.client().await);
    create(&mut ca, "r").await;
    // B reads the case (now in its cache) and watches it.
    assert_eq!(get_case(&mut cb, "r").await.unwrap().version, 1);
    let mut watch = cb
        .watch_forecast(pb::WatchForecastRequest {
            case_id: "r".into(),
            as_of: pd(2020, 1, 1),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(watch.next().await.unwrap().unwrap().version, 1);
    let mut latencies = Vec::new();
    for n in 0..20 {
        let sent = Instant::now();
        let r = ca
            .append_signals(pb::AppendSignalsRequest {
                case_id: "r".into(),
                signals: vec![signal(0, n)],
                as_of: None,
            })
            .await
            .unwrap()
            .into_inner();
        let acked = sent.elapsed();
        let version = r.version;
        assert_eq!(version, n as u64 + 2);
        // Through B: wait for the state (bounded only by the runner's patience), and time it.
        let seen = loop {
            let c = get_case(&mut cb, "r").await.unwrap();
            if c.version >= version {
                assert_eq!(c.signal_count as usize, n + 1);
                break sent.elapsed();
            }
            assert!(
                sent.elapsed() < Duration::from_secs(30),
                "B never saw version {version}"
            );
            tokio::task::yield_now().await;
        };
        latencies.push(seen.saturating_sub(acked));
        // The watcher on B gets the append made through A.
        let m = watch.next().await.unwrap().unwrap();
        assert_eq!((m.version, m.signal_count as usize), (version, n + 1));
    }
    latencies.sort();
    let median = latencies[latencies.len() / 2];
    eprintln!(
        "visible through B after the acknowledgement by A: median {:?}, max {:?} (20 appends)",
        median,
        latencies.last().unwrap()
    );
    assert!(
        median < Duration::from_millis(100),
        "median {median:?}: expected under 100 ms"
    );
    drop(watch);
    a.stop().await;
    b.stop().await;
}

/// A replica that learns of appends made through another by NOTIFY forecasts from checkpoints of the case as it
/// is now (its cached copy and checkpoints of the older version are not used): every GetForecast through B, at
/// random as-of dates, equals pf-core's full forecast of the same case (to 1e-12), after appends in date order and
/// not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_that_learns_a_change_by_notify_forecasts_the_new_version() {
    if backend::skip_postgres("a_replica_that_learns_a_change_by_notify_forecasts_the_new_version") {
        return;
    }
    let db = backend::shared().unwrap().new_database();
    let a = Replica::start(&db).await;
    let b = Replica::start(&db).await;
    let (mut ca, mut cb) = (a.client().await, b.client().await);
    create(&mut ca, "n").await;
    let model = pf_core::Model::default_model();
    let d = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let mut local = pf_core::Case::new("n", "USA", "PRK", d("2017-01-20"), d("2021-01-20")).unwrap();
    let as_ofs = [
        "2017-06-01",
        "2018-03-15",
        "2019-11-30",
        "2020-12-31",
        "2022-01-01",
    ];
    let mut n = 0;
    for round in 0..8 {
        // Out of date order (signal() spreads dates over the span), then in date order (after every other).
        let batch: Vec<pb::Signal> = if round % 2 == 0 {
            (0..300).map(|i| signal(1, n + i)).collect()
        } else {
            (0..3)
                .map(|i| pb::Signal {
                    id: format!("late-{round}-{i}"),
                    signal_type: TYPES[i].into(),
                    date: pd(2020, 12, 1 + round),
                    ..Default::default()
                })
                .collect()
        };
        n += batch.len();
        let version = ca
            .append_signals(pb::AppendSignalsRequest {
                case_id: "n".into(),
                signals: batch.clone(),
                as_of: None,
            })
            .await
            .unwrap()
            .into_inner()
            .version;
        local
            .append(
                batch.into_iter().map(|p| pf_core::Signal::try_from(p).unwrap()),
                &model,
            )
            .unwrap();
        // B answers the new version once NOTIFY told it (waiting for the state, bounded by the runner only).
        let started = Instant::now();
        loop {
            let r = cb
                .get_forecast(pb::GetForecastRequest {
                    case_id: "n".into(),
                    as_of: pd(2020, 12, 31),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner();
            if r.version >= version {
                assert_eq!(r.version, version);
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "B never saw version {version}"
            );
            tokio::task::yield_now().await;
        }
        for as_of in as_ofs {
            let f = cb
                .get_forecast(pb::GetForecastRequest {
                    case_id: "n".into(),
                    as_of: Some(pf_proto::convert::date_to_proto(d(as_of))),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
                .forecast
                .unwrap();
            let full = model.forecast(&local, d(as_of)).unwrap();
            assert_eq!(
                f.signals_used as usize, full.signals_used,
                "round {round}, as of {as_of}"
            );
            assert!(
                (f.log_likelihood - full.log_likelihood).abs() < 1e-12,
                "round {round}, as of {as_of}: log-likelihood {} vs {}",
                f.log_likelihood,
                full.log_likelihood
            );
            for (o, p) in full.outcomes.iter().zip(&full.probabilities) {
                assert!(
                    (f.probabilities[o] - p).abs() < 1e-12,
                    "round {round}, as of {as_of}, outcome {o}: {} vs {p}",
                    f.probabilities[o]
                );
            }
        }
    }
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_restart_mid_load_is_unavailable_then_recovers_with_nothing_lost() {
    if backend::skip_postgres("a_postgres_restart_mid_load_is_unavailable_then_recovers_with_nothing_lost") {
        return;
    }
    // A cluster of its own: this test stops it.
    let cluster = match std::env::var("PF_TEST_POSTGRES_URL") {
        Ok(_) => {
            eprintln!("SKIPPED the restart test: PF_TEST_POSTGRES_URL names a server this test may not stop");
            return;
        }
        Err(_) => backend::Cluster::start().unwrap(),
    };
    let db = cluster.new_database();
    let a = Replica::start(&db).await;
    let mut c = a.client().await;
    create(&mut c, "p").await;
    // Two writers append one signal at a time and keep the ids acknowledged, retrying a failed signal (as a
    // client should: appends are idempotent by id) until it is acknowledged.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let unavailable = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut writers = Vec::new();
    for w in 0..2 {
        let mut c = c.clone();
        let (stop, unavailable) = (stop.clone(), unavailable.clone());
        writers.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let s = signal(w, n);
                match c
                    .append_signals(pb::AppendSignalsRequest {
                        case_id: "p".into(),
                        signals: vec![s.clone()],
                        as_of: None,
                    })
                    .await
                {
                    Ok(_) => {
                        acked.push(s.id);
                        n += 1;
                    }
                    Err(e) => {
                        assert_eq!(e.code(), Code::Unavailable, "{e:?}");
                        unavailable.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
            acked
        }));
    }
    // Some load, then the database goes away.
    while get_case(&mut c, "p").await.unwrap().signal_count < 20 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    cluster.pg_stop().unwrap();
    // Writes answer UNAVAILABLE, saying the database is unreachable.
    let e = loop {
        match c
            .append_signals(pb::AppendSignalsRequest {
                case_id: "p".into(),
                signals: vec![signal(9, 0)],
                as_of: None,
            })
            .await
        {
            Err(e) => break e,
            Ok(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    };
    assert_eq!(e.code(), Code::Unavailable, "{e:?}");
    assert!(e.message().contains("database is unreachable"), "{e:?}");
    // Reads of the cached case go on, with its version.
    let cached = get_case(&mut c, "p").await.unwrap();
    assert!(cached.version >= 21, "{cached:?}");
    let f = c
        .get_forecast(pb::GetForecastRequest {
            case_id: "p".into(),
            as_of: pd(2020, 1, 1),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(f.version, cached.version);
    // A case it never read is UNAVAILABLE, not NOT_FOUND.
    let e = get_case(&mut c, "never-read").await.unwrap_err();
    assert_eq!(e.code(), Code::Unavailable, "{e:?}");
    cluster.pg_start().unwrap();
    // It recovers by itself: the writers' retries go through.
    let before = unavailable.load(std::sync::atomic::Ordering::Relaxed);
    assert!(before > 0, "the writers saw UNAVAILABLE");
    let target = cached.signal_count + 20;
    loop {
        let now = get_case(&mut c, "p").await;
        if now.is_ok_and(|n| n.signal_count >= target) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut acked = BTreeSet::new();
    for w in writers {
        acked.extend(w.await.unwrap());
    }
    // Nothing acknowledged is lost, nothing is stored twice: through a new replica, which reads the database.
    a.stop().await;
    let b = Replica::start(&db).await;
    let mut cb = b.client().await;
    let ids = signal_ids(&mut cb, "p").await;
    let stored: BTreeSet<String> = ids.iter().cloned().collect();
    assert_eq!(stored.len(), ids.len(), "no signal stored twice");
    let lost: Vec<&String> = acked.difference(&stored).collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    let rows = cluster
        .psql(
            db.rsplit('/').next().unwrap(),
            "SELECT COUNT(*), COUNT(DISTINCT id) FROM signals WHERE case_id = 'p'",
        )
        .unwrap();
    assert_eq!(rows.trim(), format!("{}|{}", ids.len(), ids.len()));
    eprintln!(
        "restart under load: {} acknowledged, {} UNAVAILABLE answers, {} stored",
        acked.len(),
        unavailable.load(std::sync::atomic::Ordering::Relaxed),
        ids.len()
    );
    b.stop().await;
}

/// The child side of the kill -9 test: when `PF_TEST_REPLICA_DB` is set, this process is a
/// `pressure-forecast serve` replica (the same code as the binary's, `pf_server::cli::run`) on that database,
/// listening on `PF_TEST_REPLICA_LISTEN`, until it is killed. Ignored: the kill -9 test runs it.
#[test]
#[ignore = "the child process of the kill -9 test, which runs it"]
fn replica_process() {
    let db =
        std::env::var("PF_TEST_REPLICA_DB").expect("run by the kill -9 test, which sets PF_TEST_REPLICA_DB");
    let listen = std::env::var("PF_TEST_REPLICA_LISTEN").expect("and PF_TEST_REPLICA_LISTEN");
    let args = pf_server::cli::ServeArgs {
        db: Some(db.into()),
        listen: Some(listen.parse().unwrap()),
        ..Default::default()
    };
    pf_server::cli::run(args).unwrap();
}

/// A replica in a process of its own (this test binary, running only [`replica_process`]).
fn spawn_replica(db: &str, port: u16) -> std::process::Child {
    std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "replica_process",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("PF_TEST_REPLICA_DB", db)
        .env("PF_TEST_REPLICA_LISTEN", format!("127.0.0.1:{port}"))
        .env("PRESSURE_FORECAST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_of_a_replica_under_concurrent_appends_loses_and_duplicates_nothing() {
    if backend::skip_postgres("sigkill_of_a_replica_under_concurrent_appends_loses_and_duplicates_nothing") {
        return;
    }
    let cluster = backend::shared().unwrap();
    let db = cluster.new_database();
    let (pa, pb_) = (free_port(), free_port());
    let mut a = spawn_replica(&db, pa);
    let mut b = spawn_replica(&db, pb_);
    let addr = |p: u16| std::net::SocketAddr::from(([127, 0, 0, 1], p));
    let mut ca = connect(addr(pa)).await;
    let cb = connect(addr(pb_)).await;
    create(&mut ca, "k").await;
    const BATCH: usize = 5;
    // Four writers, two through each replica, each appending batches of five and keeping what was acknowledged
    // (and what was attempted: a batch cut off by the kill may or may not have committed, never in part).
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..4 {
        let mut c = if w % 2 == 0 { ca.clone() } else { cb.clone() };
        let stop = stop.clone();
        writers.push(tokio::spawn(async move {
            let (mut acked, mut attempted) = (Vec::new(), Vec::new());
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let batch: Vec<pb::Signal> = (0..BATCH).map(|i| signal(w, n * BATCH + i)).collect();
                let ids: Vec<String> = batch.iter().map(|s| s.id.clone()).collect();
                attempted.push(ids.clone());
                n += 1;
                match c
                    .append_signals(pb::AppendSignalsRequest {
                        case_id: "k".into(),
                        signals: batch,
                        as_of: None,
                    })
                    .await
                {
                    Ok(r) => {
                        assert_eq!(r.into_inner().added as usize, BATCH);
                        acked.push(ids);
                    }
                    // The writers through A lose their replica.
                    Err(_) if w % 2 == 0 => break,
                    Err(e) => panic!("writer {w} through B: {e:?}"),
                }
            }
            (w, acked, attempted)
        }));
    }
    // Let both replicas take appends, then kill A mid-load.
    let mut cb_read = cb.clone();
    while get_case(&mut cb_read, "k").await.unwrap().signal_count < 200 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    a.kill().unwrap();
    a.wait().unwrap();
    // B keeps taking appends after A's death.
    let after_kill = get_case(&mut cb_read, "k").await.unwrap().signal_count;
    while get_case(&mut cb_read, "k").await.unwrap().signal_count < after_kill + 100 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut acked: BTreeMap<usize, Vec<Vec<String>>> = BTreeMap::new();
    let mut attempted: Vec<Vec<String>> = Vec::new();
    for w in writers {
        let (w, ok, tried) = w.await.unwrap();
        acked.insert(w, ok);
        attempted.extend(tried);
    }
    // The ledger: through a fresh replica after B is killed too.
    b.kill().unwrap();
    b.wait().unwrap();
    let port = free_port();
    let mut c = spawn_replica(&db, port);
    let mut check = connect(addr(port)).await;
    let ids = signal_ids(&mut check, "k").await;
    let stored: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
    assert_eq!(stored.len(), ids.len(), "a signal stored twice");
    let acked_ids: BTreeSet<&str> = acked.values().flatten().flatten().map(String::as_str).collect();
    let lost: Vec<&&str> = acked_ids.difference(&stored).collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    // Every batch is all or nothing; nothing stored that was not attempted.
    let mut partial = 0;
    let mut attempted_ids = BTreeSet::new();
    for batch in &attempted {
        let present = batch.iter().filter(|id| stored.contains(id.as_str())).count();
        if present != 0 && present != batch.len() {
            partial += 1;
        }
        attempted_ids.extend(batch.iter().map(String::as_str));
    }
    assert_eq!(partial, 0, "batches stored in part");
    assert!(stored.is_subset(&attempted_ids));
    eprintln!(
        "kill -9 under load: {} acknowledged through A, {} through B, {} stored, 0 lost, 0 duplicated, 0 partial",
        acked
            .iter()
            .filter(|(w, _)| *w % 2 == 0)
            .map(|(_, b)| b.len() * BATCH)
            .sum::<usize>(),
        acked
            .iter()
            .filter(|(w, _)| *w % 2 == 1)
            .map(|(_, b)| b.len() * BATCH)
            .sum::<usize>(),
        ids.len()
    );
    c.kill().unwrap();
    c.wait().unwrap();
}
