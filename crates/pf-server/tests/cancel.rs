//! A caller's deadline stops the engine's work, not only the call: a trajectory costing minutes of CPU (within
//! the budget) with a short deadline answers DEADLINE_EXCEEDED, its blocking work stops (the process's count of
//! running work units returns to 0) and the next request is served.
//!
//! Its own test binary, so that no other test's work shares the process-wide count; the SQLite and PostgreSQL
//! variants of the test share the binary, so they take turns ([`SERIAL`]).

use std::time::Duration;

use pf_proto::google::r#type::Date;
use pf_proto::v1 as pb;
use pf_proto::v1::forecast_service_client::ForecastServiceClient;
use pf_server::Config;
use tokio::sync::oneshot;
use tonic::{Code, Request};

#[path = "common/backend.rs"]
mod backend;
use backend::Backend;

backend::backend_tests!(a_deadline_stops_the_work_and_frees_the_worker,);

fn pd(y: i32, m: i32, d: i32) -> Option<Date> {
    Some(Date {
        year: y,
        month: m,
        day: d,
    })
}

/// Held by each variant for its whole run: the count of running work units is process-wide, and the other
/// backend's work would show in it (seen: SQLite's check read 1 while the PostgreSQL variant's work ran).
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Waits until no work unit runs (the outer bound only catches a work unit that never stops).
async fn until_no_work_runs(what: &str) {
    tokio::time::timeout(Duration::from_secs(60), async {
        while pf_server::work::running() != 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what}: a work unit still runs"));
}

async fn a_deadline_stops_the_work_and_frees_the_worker(backend: Backend) {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        db: backend.db(&dir),
        listen: "127.0.0.1:0".parse().unwrap(),
        // Room for a daily trajectory over two centuries: the reply limit is not what is tested here.
        max_message_bytes: 64 * 1024 * 1024,
        ..Config::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let handle = tokio::spawn(pf_server::serve(listener, config, async {
        let _ = stopped.await;
    }));
    let url = format!("http://{addr}");
    let mut client = None;
    for _ in 0..200 {
        if let Ok(c) = ForecastServiceClient::connect(url.clone()).await {
            client = Some(c);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut c = client.expect("the server comes up");

    // A case over two centuries with monthly sanctions: a daily trajectory runs one forecast per day to the term
    // end, each through thousands of weeks of decaying pressure (about 7.5e8 units of `limits::trajectory_cost`,
    // within the default budget of 1e9, and minutes of CPU).
    let signals: Vec<pb::Signal> = (0..2000)
        .map(|i| pb::Signal {
            id: format!("s{i}"),
            signal_type: "sanctions_tightened".into(),
            date: pd(1901 + i / 12, 1 + i % 12, 15),
            ..Default::default()
        })
        .collect();
    c.create_case(pb::CreateCaseRequest {
        coercion_case: Some(pb::Case {
            id: "long".into(),
            sender: "USA".into(),
            target: "PRK".into(),
            start: pd(1901, 1, 1),
            term_end: pd(2099, 12, 31),
            signals,
            ..Default::default()
        }),
    })
    .await
    .unwrap();

    // Through a client that sends `grpc-timeout` but keeps no timer of its own: the status is the server's.
    let http = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .http2_only(true)
        .build_http();
    let origin: http::Uri = url.parse().unwrap();
    let mut raw = ForecastServiceClient::with_origin(http, origin);
    let mut slow = Request::new(pb::GetTrajectoryRequest {
        case_id: "long".into(),
        resolution: pb::Resolution::Daily as i32,
        ..Default::default()
    });
    slow.set_timeout(Duration::from_millis(200));
    let e = raw.get_trajectory(slow).await.unwrap_err();
    assert_eq!(e.code(), Code::DeadlineExceeded, "{e:?}");

    // The work saw its cancel flag and returned: the count of running work units comes back to 0. (Polled: the
    // worker notices the flag within 64 days of the trajectory; the outer bound only catches a work unit that
    // never stops, since the whole trajectory would take minutes.)
    until_no_work_runs("the cancelled work stops").await;

    // The worker is free: the next request is served.
    let t = c
        .get_trajectory(pb::GetTrajectoryRequest {
            case_id: "long".into(),
            start_date: pd(2000, 1, 1),
            end_date: pd(2000, 1, 10),
            resolution: pb::Resolution::Daily as i32,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(t.points.len(), 10);
    // Its work unit ends as its reply goes out: waited for, not read at once.
    until_no_work_runs("the next request's work ends").await;

    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(20), handle)
        .await
        .expect("shutdown in time")
        .unwrap()
        .unwrap();
}
