//! The findings of issue 12, one test each (or more): every reproduction gets a clear status in bounded time
//! and memory, and no store change. Each test ends by checking the process's resident memory (the whole suite
//! runs in this one process) against [`RSS_LIMIT_KB`].

use std::time::Duration;

use pf_proto::google::r#type::Date;
use pf_proto::v1 as pb;
use pf_proto::v1::forecast_service_client::ForecastServiceClient;
use pf_server::Config;
use tokio::sync::oneshot;
use tonic::transport::Channel;
use tonic::{Code, Request};
use tonic_types::StatusExt;

/// The suite's memory bound.
const RSS_LIMIT_KB: u64 = 300 * 1024;

fn status_kb(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

fn rss_kb() -> u64 {
    status_kb("VmRSS:")
}

/// The peak resident memory of the process so far (VmHWM), so "throughout", not only at the end.
fn assert_rss() {
    let kb = status_kb("VmHWM:");
    assert!(
        kb < RSS_LIMIT_KB,
        "peak resident memory {kb} kB: expected under {RSS_LIMIT_KB} kB"
    );
    println!("peak resident memory so far: {kb} kB");
}

struct TestServer {
    addr: std::net::SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    handle: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl TestServer {
    async fn start(config: Config) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(pf_server::serve(listener, config, async {
            let _ = stopped.await;
        }));
        TestServer {
            addr,
            stop: Some(stop),
            handle,
        }
    }

    async fn channel(&self) -> Channel {
        let url = format!("http://{}", self.addr);
        for _ in 0..250 {
            if let Ok(c) = Channel::from_shared(url.clone()).unwrap().connect().await {
                return c;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("server did not come up on {url}");
    }

    async fn client(&self) -> ForecastServiceClient<Channel> {
        ForecastServiceClient::new(self.channel().await).max_decoding_message_size(64 << 20)
    }

    async fn stop(mut self) -> anyhow::Result<()> {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(30), self.handle)
            .await
            .expect("shutdown in time")
            .unwrap()
    }
}

fn config(dir: &tempfile::TempDir) -> Config {
    Config {
        db: dir.path().join("store.sqlite3"),
        listen: "127.0.0.1:0".parse().unwrap(),
        ..Config::default()
    }
}

fn pd(s: &str) -> Option<Date> {
    let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    Some(pf_proto::convert::date_to_proto(d))
}

fn signal(t: &str, date: &str) -> pb::Signal {
    pb::Signal {
        signal_type: t.into(),
        date: pd(date),
        ..Default::default()
    }
}

fn new_case(id: &str, start: &str, end: &str, signals: Vec<pb::Signal>) -> pb::CreateCaseRequest {
    pb::CreateCaseRequest {
        coercion_case: Some(pb::Case {
            id: id.into(),
            sender: "USA".into(),
            target: "PRK".into(),
            start: pd(start),
            term_end: pd(end),
            signals,
            ..Default::default()
        }),
    }
}

fn reason(e: &tonic::Status) -> String {
    e.get_error_details()
        .error_info()
        .map(|i| i.reason.clone())
        .unwrap_or_default()
}

fn field(e: &tonic::Status) -> String {
    e.get_error_details()
        .bad_request()
        .and_then(|b| b.field_violations.first().map(|v| v.field.clone()))
        .unwrap_or_default()
}

/// A signal type of the default model.
fn a_type() -> String {
    pf_core::Model::default_model()
        .signal_types()
        .into_iter()
        .find(|t| t == "talks_held")
        .unwrap_or_else(|| pf_core::Model::default_model().signal_types()[0].clone())
}

// ---- Finding 1: one request exhausts memory -----------------------------------------------------------------

#[tokio::test]
async fn f01_trajectory_over_a_huge_span_is_refused_before_the_work() {
    let dir = tempfile::tempdir().unwrap();
    let srv = TestServer::start(config(&dir)).await;
    let mut c = srv.client().await;
    // A case over the whole allowed span (1900-2100): accepted; a span outside it: refused.
    c.create_case(new_case("wide", "1900-01-01", "2100-12-31", vec![]))
        .await
        .unwrap();
    let e = c
        .create_case(new_case("huge", "0001-01-01", "9999-12-31", vec![]))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert_eq!(field(&e), "coercion_case.start");
    // to = 9999-12-31: outside the date span.
    let e = c
        .get_trajectory(pb::GetTrajectoryRequest {
            case_id: "wide".into(),
            end_date: pd("9999-12-31"),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert_eq!(field(&e), "end_date");
    // The whole 200-year span, daily: 73,000 points, over the message size: refused before the work.
    let e = c
        .get_trajectory(pb::GetTrajectoryRequest {
            case_id: "wide".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
    assert!(e.message().contains("max_message_bytes"), "{e:?}");
    // Draws over the cost budget: refused, naming the limit.
    let e = c
        .get_forecast(pb::GetForecastRequest {
            case_id: "wide".into(),
            draws: 100_000,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
    assert_eq!(reason(&e), "LIMIT_EXCEEDED");
    assert!(e.message().contains("max_cost"), "{e:?}");
    // A smaller budget refuses attribution on a long case too.
    srv.stop().await.unwrap();
    let srv = TestServer::start(Config {
        max_cost: 100_000,
        ..config(&dir)
    })
    .await;
    let mut c = srv.client().await;
    let e = c
        .get_forecast(pb::GetForecastRequest {
            case_id: "wide".into(),
            include_attribution: true,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
    srv.stop().await.unwrap();
    assert_rss();
}

// ---- Finding 2: the forecast cache grows without bound -----------------------------------------------------

#[tokio::test]
async fn f02_cache_is_bounded_in_bytes_and_holds_no_case_copies() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config {
        cache_bytes: 256 * 1024,
        ..config(&dir)
    };
    let store = pf_server::store::Store::open(&cfg.db).unwrap();
    let state = std::sync::Arc::new(
        pf_server::State::open(store, pf_core::Model::default_model(), String::new()).unwrap(),
    );
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let api = pf_server::ForecastApi::new(state, cfg.clone(), rx);
    use pf_proto::v1::forecast_service_server::ForecastService;
    // A case of 5,000 signals.
    let t = a_type();
    let start = chrono::NaiveDate::from_ymd_opt(2000, 1, 1).unwrap();
    let signals: Vec<pb::Signal> = (0..5_000)
        .map(|i| pb::Signal {
            id: format!("s{i}"),
            signal_type: t.clone(),
            date: Some(pf_proto::convert::date_to_proto(
                start + chrono::Days::new(i % 3000),
            )),
            ..Default::default()
        })
        .collect();
    api.create_case(Request::new(new_case("big", "2000-01-01", "2010-01-01", signals)))
        .await
        .unwrap();
    let before = rss_kb();
    // Alternate a one-signal append with a forecast at a new date.
    for i in 0..300u64 {
        api.append_signals(Request::new(pb::AppendSignalsRequest {
            case_id: "big".into(),
            signals: vec![pb::Signal {
                id: format!("n{i}"),
                ..signal(&t, "2005-01-01")
            }],
            as_of: pd("2009-01-01"),
        }))
        .await
        .unwrap();
        let d = start + chrono::Days::new(i);
        api.get_forecast(Request::new(pb::GetForecastRequest {
            case_id: "big".into(),
            as_of: Some(pf_proto::convert::date_to_proto(d)),
            ..Default::default()
        }))
        .await
        .unwrap();
        assert!(
            api.cache_bytes() <= cfg.cache_bytes,
            "cache {} bytes",
            api.cache_bytes()
        );
    }
    let grown = rss_kb().saturating_sub(before);
    // A case copy per key would be 300 copies of 5,000 signals (hundreds of MB).
    assert!(
        grown < 80 * 1024,
        "grew by {grown} kB over 300 append/forecast pairs"
    );
    assert!(api.cache_bytes() > 0);
    assert_rss();
}

// ---- Finding 3: a weight of 1e308 ----------------------------------------------------------------------------

#[tokio::test]
async fn f03_weights_and_reliabilities_in_documented_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let srv = TestServer::start(config(&dir)).await;
    let mut c = srv.client().await;
    c.create_case(new_case("c", "2017-01-20", "2021-01-20", vec![]))
        .await
        .unwrap();
    for (w, r) in [
        (Some(1e308), None),
        (Some(100.5), None),
        (Some(0.0), None),
        (None, Some(1.5)),
    ] {
        let e = c
            .append_signals(pb::AppendSignalsRequest {
                case_id: "c".into(),
                signals: vec![pb::Signal {
                    weight: w,
                    reliability: r,
                    ..signal(&a_type(), "2018-01-01")
                }],
                as_of: None,
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
        let f = field(&e);
        assert!(f == "signals[0].weight" || f == "signals[0].reliability", "{f}");
    }
    let ok = c
        .append_signals(pb::AppendSignalsRequest {
            case_id: "c".into(),
            signals: vec![pb::Signal {
                weight: Some(100.0),
                ..signal(&a_type(), "2018-01-01")
            }],
            as_of: None,
        })
        .await
        .unwrap()
        .into_inner();
    let f = ok.forecast.unwrap();
    assert!(f.probabilities.values().all(|p| p.is_finite()));
    srv.stop().await.unwrap();
    assert_rss();
}

// ---- Finding 4: malformed protobuf ---------------------------------------------------------------------------

#[path = "common/raw.rs"]
mod raw;
use raw::Raw;

/// Every unary method of the service.
const METHODS: [&str; 17] = [
    "CreateCase",
    "GetCase",
    "UpdateCase",
    "ListCases",
    "DeleteCase",
    "ListSignals",
    "AppendSignals",
    "RetractSignal",
    "GetForecast",
    "GetTrajectory",
    "WhatIf",
    "RunScenario",
    "ComparePolicies",
    "GetValueOfInformation",
    "GetModel",
    "ListSignalTypes",
    "ImportEvents",
];

async fn raw_call(ch: &Channel, method: &str, body: Vec<u8>) -> Result<Vec<u8>, tonic::Status> {
    let mut g = tonic::client::Grpc::new(ch.clone());
    g.ready().await.unwrap();
    let path = format!("/pressureforecast.v1.ForecastService/{method}")
        .parse()
        .unwrap();
    g.unary(Request::new(body), path, Raw)
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test]
async fn f04_malformed_protobuf_is_invalid_argument() {
    let dir = tempfile::tempdir().unwrap();
    let srv = TestServer::start(config(&dir)).await;
    let ch = srv.channel().await;
    let probes: [&[u8]; 6] = [
        &[0xff],
        &[0x0a, 0x05, 0x01],
        &[
            0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ],
        &[0x0f],
        &[0x12, 0x80, 0x80, 0x80, 0x80, 0x10],
        &[0x0a, 0x02, 0xc3, 0x28],
    ];
    let mut seen = 0;
    for m in METHODS {
        for p in probes {
            match raw_call(&ch, m, p.to_vec()).await {
                Ok(_) => {}
                Err(e) => {
                    assert_ne!(e.code(), Code::Internal, "{m} {p:?}: {e:?}");
                    assert_ne!(e.code(), Code::Unknown, "{m} {p:?}: {e:?}");
                    seen += 1;
                }
            }
        }
    }
    assert!(seen > 0);
    let e = raw_call(&ch, "GetCase", vec![0xff]).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(reason(&e), "MALFORMED_REQUEST");
    srv.stop().await.unwrap();
    assert_rss();
}

// ---- Finding 5: oversize replies, unlimited lengths, batch limit ---------------------------------------------

#[tokio::test]
async fn f05_lengths_limited_pages_fit_and_batches_name_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let srv = TestServer::start(Config {
        max_batch: 50,
        ..config(&dir)
    })
    .await;
    let mut c = srv.client().await;
    c.create_case(new_case("c", "2017-01-20", "2021-01-20", vec![]))
        .await
        .unwrap();
    // A large note: refused before anything is stored.
    let e = c
        .append_signals(pb::AppendSignalsRequest {
            case_id: "c".into(),
            signals: vec![pb::Signal {
                note: "n".repeat(2 << 20),
                ..signal(&a_type(), "2018-01-01")
            }],
            as_of: None,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert_eq!(field(&e), "signals[0].note");
    // A 1 MiB id.
    let e = c
        .create_case(new_case(&"x".repeat(1 << 20), "2017-01-20", "2021-01-20", vec![]))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert!(e.message().len() < 2048, "message of {} bytes", e.message().len());
    // Notes at the limit on many signals: every page of GetCase, ListSignals and ListCases fits.
    let note = "n".repeat(pf_server::limits::MAX_TEXT_BYTES);
    for b in 0..20 {
        let batch = (0..50)
            .map(|i| pb::Signal {
                id: format!("s{b}-{i}"),
                note: note.clone(),
                ..signal(&a_type(), "2018-01-01")
            })
            .collect();
        c.append_signals(pb::AppendSignalsRequest {
            case_id: "c".into(),
            signals: batch,
            as_of: None,
        })
        .await
        .unwrap();
    }
    let got = c
        .get_case(pb::GetCaseRequest {
            case_id: "c".into(),
            page_size: 1000,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!got.next_page_token.is_empty());
    let mut token = String::new();
    let mut n = 0;
    for _ in 0..100 {
        let page = c
            .list_signals(pb::ListSignalsRequest {
                case_id: "c".into(),
                page_size: 1000,
                page_token: token.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        n += page.signals.len();
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(n, 1000);
    // A batch over the limit: INVALID_ARGUMENT naming the limit.
    let batch: Vec<pb::Signal> = (0..51).map(|_| signal(&a_type(), "2018-01-01")).collect();
    let e = c
        .append_signals(pb::AppendSignalsRequest {
            case_id: "c".into(),
            signals: batch,
            as_of: None,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert_eq!(reason(&e), "BATCH_TOO_LARGE");
    assert!(e.message().contains("at most 50"), "{e:?}");
    srv.stop().await.unwrap();
    assert_rss();
}

// ---- Finding 6: two servers on one store -------------------------------------------------------------------

#[tokio::test]
async fn f06_a_second_server_is_refused_while_read_only_tools_work() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&dir);
    let first = pf_server::Server::open(cfg.clone()).await.unwrap();
    let e = pf_server::Server::open(cfg.clone()).await.unwrap_err();
    let msg = format!("{e:#}");
    assert!(msg.contains("in use by another server"), "{msg}");
    // Read-only tools beside it.
    let ro = pf_server::store::Store::open_read_only(&cfg.db).unwrap();
    let (cases, problems) = ro.scan(&pf_core::Model::default_model()).unwrap();
    assert!(cases.is_empty() && problems.is_empty());
    ro.backup(&dir.path().join("backup.sqlite3")).unwrap();
    drop(first);
    // Once the first is gone, a server starts.
    let again = pf_server::Server::open(cfg).await;
    assert!(again.is_ok(), "{:?}", again.err());
    assert_rss();
}

// ---- Finding 7: a corrupt store --------------------------------------------------------------------------

#[tokio::test]
async fn f07_empty_foreign_and_corrupt_stores_are_refused_and_repairable() {
    let dir = tempfile::tempdir().unwrap();
    // Zero-length.
    let empty = dir.path().join("empty.sqlite3");
    std::fs::write(&empty, b"").unwrap();
    let e = pf_server::store::Store::open(&empty).unwrap_err();
    assert!(e.to_string().contains("empty file"), "{e}");
    assert_eq!(std::fs::metadata(&empty).unwrap().len(), 0, "no store change");
    // Not SQLite.
    let text = dir.path().join("text.sqlite3");
    std::fs::write(&text, b"hello, this is not a database at all").unwrap();
    let e = pf_server::store::Store::open(&text).unwrap_err();
    assert!(e.to_string().contains("not an SQLite database"), "{e}");
    // Another application's SQLite file.
    let other = dir.path().join("other.sqlite3");
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE t (x INTEGER);")
        .unwrap();
    let e = pf_server::store::Store::open(&other).unwrap_err();
    assert!(e.to_string().contains("another application"), "{e}");

    // A bit flip that still parses: a signal's `id` key renamed.
    let cfg = Config {
        db: dir.path().join("s.sqlite3"),
        ..Config::default()
    };
    {
        let server = pf_server::Server::open(cfg.clone()).await.unwrap();
        let model = pf_core::Model::default_model();
        let mut case = pf_core::Case::new(
            "c",
            "USA",
            "PRK",
            chrono::NaiveDate::from_ymd_opt(2017, 1, 20).unwrap(),
            chrono::NaiveDate::from_ymd_opt(2021, 1, 20).unwrap(),
        )
        .unwrap();
        case.description = String::new();
        let s1 = pf_core::Signal::new(a_type(), chrono::NaiveDate::from_ymd_opt(2018, 1, 1).unwrap())
            .with_id("s1");
        let s2 = pf_core::Signal::new(a_type(), chrono::NaiveDate::from_ymd_opt(2018, 2, 1).unwrap())
            .with_id("s2");
        server.state().create(case, vec![s1, s2]).await.unwrap();
        let _ = model;
        server.state().close().unwrap();
    }
    let conn = rusqlite::Connection::open(&cfg.db).unwrap();
    conn.execute(
        "UPDATE signals SET record = replace(record, '\"id\"', '\"hd\"') WHERE id = 's2'",
        [],
    )
    .unwrap();
    drop(conn);
    // The server starts without reading any case; the case's first use reads its records back and refuses it,
    // naming the record and the tools.
    let server = pf_server::Server::open(cfg.clone()).await.unwrap();
    let e = server.state().case("c").await.unwrap_err();
    let msg = format!("{e:#}");
    assert!(msg.contains("signals case `c` #2"), "{msg}");
    assert!(msg.contains("store repair"), "{msg}");
    let status = tonic::Status::from(e);
    assert_eq!(status.code(), Code::DataLoss, "{status:?}");
    server.state().close().unwrap();
    drop(server);
    // Check reports it; repair quarantines it; the server starts with the rest.
    let (_, problems) = pf_server::store::Store::open_read_only(&cfg.db)
        .unwrap()
        .scan(&pf_core::Model::default_model())
        .unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    let mut st = pf_server::store::Store::open(&cfg.db).unwrap();
    assert_eq!(st.repair(&problems).unwrap(), 1);
    assert_eq!(st.quarantined().unwrap(), 1);
    st.close().unwrap();
    let server = pf_server::Server::open(cfg).await.unwrap();
    assert_eq!(server.state().case("c").await.unwrap().signals().len(), 1);
    assert_rss();
}

// ---- Finding 8: errors echo input without limit ---------------------------------------------------------------

#[tokio::test]
async fn f08_error_messages_truncate_echoed_input() {
    let dir = tempfile::tempdir().unwrap();
    let srv = TestServer::start(config(&dir)).await;
    let mut c = srv.client().await;
    let e = c
        .get_case(pb::GetCaseRequest {
            case_id: "y".repeat(1 << 20),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert!(e.message().len() < 2048);
    assert!(e.details().len() < 4096, "details of {} bytes", e.details().len());
    c.create_case(new_case("c", "2017-01-20", "2021-01-20", vec![]))
        .await
        .unwrap();
    let r = c
        .import_events(pb::ImportEventsRequest {
            case_id: "c".into(),
            format: pb::EventFormat::Csv as i32,
            text: ",".repeat(3 << 20),
            strict: true,
            ..Default::default()
        })
        .await;
    match r {
        Ok(resp) => {
            let resp = resp.into_inner();
            let total: usize = resp.bad_rows.iter().map(|b| b.reason.len()).sum();
            assert!(total < 1 << 20, "{total} bytes of bad-row reasons");
        }
        Err(e) => {
            assert_ne!(e.code(), Code::Internal, "{e:?}");
            assert!(e.message().len() < 2048, "message of {} bytes", e.message().len());
        }
    }
    srv.stop().await.unwrap();
    assert_rss();
}

// ---- Finding 9: shutdown has no drain limit ---------------------------------------------------------------

async fn metric(addr: std::net::SocketAddr, name: &str) -> Option<f64> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
    s.write_all(b"GET /metrics HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).await.ok()?;
    out.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

#[tokio::test]
async fn f09_drain_timeout_ends_the_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let metrics_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let srv = TestServer::start(Config {
        drain_timeout_ms: 50,
        metrics_listen: Some(metrics_port),
        ..config(&dir)
    })
    .await;
    let ch = srv.channel().await;
    // A call that never completes: its request body never ends.
    let mut g = tonic::client::Grpc::new(ch.clone());
    g.ready().await.unwrap();
    let path = "/pressureforecast.v1.ForecastService/GetModel".parse().unwrap();
    let stuck = tokio::spawn(async move {
        let body = futures_pending();
        let _ = g.client_streaming(Request::new(body), path, Raw).await;
    });
    // Wait for the state: the call is in flight.
    let mut in_flight = false;
    for _ in 0..500 {
        if metric(metrics_port, "pf_in_flight").await.unwrap_or(0.0) >= 1.0 {
            in_flight = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(in_flight, "the stuck call never showed as in flight");
    assert_eq!(metric(metrics_port, "pf_ready").await, Some(1.0));
    let r = srv.stop().await;
    let e = r.unwrap_err();
    assert!(e.to_string().contains("drain timeout"), "{e}");
    stuck.abort();
    assert_rss();
}

fn futures_pending() -> impl tokio_stream::Stream<Item = Vec<u8>> + Send + 'static {
    tokio_stream::pending()
}

// ---- Finding 10: validation looser than documented --------------------------------------------------------

#[tokio::test]
async fn f10_strict_validation() {
    let dir = tempfile::tempdir().unwrap();
    let srv = TestServer::start(config(&dir)).await;
    let mut c = srv.client().await;
    for bad in ["a\0b", "a\nb", "\u{1b}[31m", " lead", "trail "] {
        let e = c
            .create_case(new_case(bad, "2017-01-20", "2021-01-20", vec![]))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{bad:?}: {e:?}");
        assert_eq!(field(&e), "coercion_case.id", "{bad:?}");
    }
    for (start, end) in [("1899-12-31", "1950-01-01"), ("2000-01-01", "2101-01-01")] {
        let e = c
            .create_case(new_case("c", start, end, vec![]))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{start} {end}: {e:?}");
    }
    c.create_case(new_case("c", "2000-01-01", "2030-01-01", vec![]))
        .await
        .unwrap();
    // An unknown type at the end of a 10,000-signal batch: named by its index.
    let mut batch: Vec<pb::Signal> = (0..9_999).map(|_| signal(&a_type(), "2018-01-01")).collect();
    batch.push(signal("no_such_type", "2018-01-01"));
    let e = c
        .append_signals(pb::AppendSignalsRequest {
            case_id: "c".into(),
            signals: batch.clone(),
            as_of: None,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert_eq!(field(&e), "signals[9999].signal_type");
    // The same in WhatIf.
    let e = c
        .what_if(pb::WhatIfRequest {
            case_id: "c".into(),
            signals: batch,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert_eq!(field(&e), "signals[9999].signal_type");
    // Dates of requests outside the span.
    let e = c
        .get_forecast(pb::GetForecastRequest {
            case_id: "c".into(),
            as_of: pd("0001-01-01"),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert_eq!(field(&e), "as_of");
    // No store change from any of it.
    let got = c
        .get_case(pb::GetCaseRequest {
            case_id: "c".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.coercion_case.unwrap().signal_count, 0);
    srv.stop().await.unwrap();
    assert_rss();
}
