//! The service end to end on an ephemeral port: every RPC, every error code, streaming after appends,
//! health, reflection, deadlines, limits, graceful shutdown and restart from the store. Every test runs against
//! both stores, `sqlite::NAME` and `postgres::NAME` (see `common/backend.rs`).

use std::time::Duration;

use chrono::NaiveDate;
use pf_core::{Case, Model};
use pf_proto::google::r#type::Date;
use pf_proto::v1 as pb;
use pf_proto::v1::forecast_service_client::ForecastServiceClient;
use pf_server::Config;
use tokio::sync::oneshot;
use tokio_stream::StreamExt;
use tonic::transport::Channel;
use tonic::{Code, Request};
use tonic_types::StatusExt;

#[path = "common/backend.rs"]
mod backend;
use backend::Backend;

backend::backend_tests!(
    case_lifecycle_and_pagination,
    append_is_atomic_idempotent_and_matches_the_engine,
    forecast_options_trajectory_what_if_voi_model,
    import_events_appends_atomically,
    watch_streams_after_appends_and_ends_on_delete,
    health_and_reflection,
    message_size_limit_is_resource_exhausted,
    store_unavailable_is_unavailable,
    graceful_shutdown_drains_and_restart_restores,
    versions_count_committed_changes,
    watchers_share_one_forecast_per_version,
    append_commits_are_counted,
    listing_cases_not_in_memory_matches_reading_them,
);

struct TestServer {
    addr: std::net::SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    handle: tokio::task::JoinHandle<anyhow::Result<()>>,
    config: Config,
}

impl TestServer {
    async fn start(config: Config) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(pf_server::serve(listener, config.clone(), async {
            let _ = stopped.await;
        }));
        TestServer {
            addr,
            stop: Some(stop),
            handle,
            config,
        }
    }

    async fn client(&self) -> ForecastServiceClient<Channel> {
        let url = format!("http://{}", self.addr);
        for _ in 0..100 {
            if let Ok(c) = ForecastServiceClient::connect(url.clone()).await {
                return c;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("server did not come up on {url}");
    }

    /// A client on a plain HTTP/2 connection: unlike tonic's `Channel`, it does not enforce the request's
    /// `grpc-timeout` itself, so a deadline's status comes from the server.
    fn client_without_deadline_timer(
        &self,
    ) -> ForecastServiceClient<
        hyper_util::client::legacy::Client<
            hyper_util::client::legacy::connect::HttpConnector,
            tonic::body::Body,
        >,
    > {
        let http = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .http2_only(true)
            .build_http();
        let origin: http::Uri = format!("http://{}", self.addr).parse().unwrap();
        ForecastServiceClient::with_origin(http, origin)
    }

    async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.addr))
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    async fn stop(mut self) -> anyhow::Result<()> {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(20), self.handle)
            .await
            .expect("shutdown in time")
            .unwrap()
    }
}

fn config(backend: Backend, dir: &tempfile::TempDir) -> Config {
    Config {
        db: backend.db(dir),
        listen: "127.0.0.1:0".parse().unwrap(),
        ..Config::default()
    }
}

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// A `google.type.Date` from `YYYY-MM-DD`, not checked (so that tests can send days that do not exist).
fn pd(s: &str) -> Option<Date> {
    let mut it = s.split('-').map(|x| x.parse::<i32>().unwrap());
    Some(Date {
        year: it.next().unwrap(),
        month: it.next().unwrap(),
        day: it.next().unwrap(),
    })
}

fn sig(id: &str, ty: &str, date: &str) -> pb::Signal {
    pb::Signal {
        id: id.into(),
        signal_type: ty.into(),
        date: pd(date),
        ..Default::default()
    }
}

fn case(id: &str) -> pb::Case {
    pb::Case {
        id: id.into(),
        sender: "USA".into(),
        target: "PRK".into(),
        start: pd("2017-01-20"),
        term_end: pd("2021-01-20"),
        description: "test".into(),
        signals: vec![sig("a", "sanctions_tightened", "2017-08-05")],
        ..Default::default()
    }
}

fn local_forecast(case: &Case, as_of: &str) -> pf_core::Forecast {
    Model::default_model().forecast(case, d(as_of)).unwrap()
}

fn assert_matches(p: &pb::Forecast, f: &pf_core::Forecast) {
    assert_eq!(p.as_of, Some(pf_proto::convert::date_to_proto(f.as_of)));
    assert_eq!(p.signals_used as usize, f.signals_used);
    for (o, x) in f.outcomes.iter().zip(&f.probabilities) {
        assert_eq!(p.probabilities[o].to_bits(), x.to_bits(), "outcome {o}");
    }
    assert_eq!(p.log_likelihood.to_bits(), f.log_likelihood.to_bits());
}

/// The field path of the status's `google.rpc.BadRequest` violation (empty when it has none); every error
/// status carries an `ErrorInfo` in the service's domain.
fn field(s: &tonic::Status) -> String {
    let details = s.get_error_details();
    let info = details
        .error_info()
        .expect("every error status carries an ErrorInfo");
    assert_eq!(info.domain, pf_server::error::ERROR_DOMAIN);
    details
        .bad_request()
        .and_then(|b| b.field_violations.first())
        .map(|v| v.field.clone())
        .unwrap_or_default()
}

async fn case_lifecycle_and_pagination(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let srv = TestServer::start(config(backend, &dir)).await;
    let mut c = srv.client().await;

    let r = c
        .create_case(pb::CreateCaseRequest {
            coercion_case: Some(case("c1")),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(r.created);
    assert_eq!(r.coercion_case.unwrap().signal_count, 1);
    // Identical: idempotent.
    let r = c
        .create_case(pb::CreateCaseRequest {
            coercion_case: Some(case("c1")),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!r.created);
    // Same id, other content.
    let mut other = case("c1");
    other.target = "IRN".into();
    let e = c
        .create_case(pb::CreateCaseRequest {
            coercion_case: Some(other),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::AlreadyExists, "{e:?}");
    // Bad header.
    let mut bad = case("c9");
    bad.term_end = pd("2016-01-01");
    let e = c
        .create_case(pb::CreateCaseRequest {
            coercion_case: Some(bad),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(field(&e), "coercion_case.term_end");
    let e = c
        .create_case(pb::CreateCaseRequest { coercion_case: None })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);

    for id in ["c2", "c3", "c4"] {
        c.create_case(pb::CreateCaseRequest {
            coercion_case: Some(case(id)),
        })
        .await
        .unwrap();
    }
    let g = c
        .get_case(pb::GetCaseRequest {
            case_id: "c2".into(),
            page_size: 0,
        })
        .await
        .unwrap()
        .into_inner()
        .coercion_case
        .unwrap();
    assert_eq!(g.signals.len(), 1);
    assert_eq!(g.signals[0].id, "a");

    let mut ids = Vec::new();
    let mut token = String::new();
    loop {
        let p = c
            .list_cases(pb::ListCasesRequest {
                page_size: 3,
                page_token: token.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert!(p.cases.len() <= 3);
        assert!(
            p.cases
                .iter()
                .all(|c| c.signals.is_empty() && c.signal_count == 1)
        );
        ids.extend(p.cases.into_iter().map(|c| c.id));
        if p.next_page_token.is_empty() {
            break;
        }
        token = p.next_page_token;
    }
    assert_eq!(ids, ["c1", "c2", "c3", "c4"]);
    let e = c
        .list_cases(pb::ListCasesRequest {
            page_size: 1,
            page_token: "garbage".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);

    let r = c
        .delete_case(pb::DeleteCaseRequest { case_id: "c3".into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.signals_deleted, 1);
    for e in [
        c.delete_case(pb::DeleteCaseRequest { case_id: "c3".into() })
            .await
            .unwrap_err(),
        c.get_case(pb::GetCaseRequest {
            case_id: "c3".into(),
            page_size: 0,
        })
        .await
        .unwrap_err(),
        c.get_forecast(pb::GetForecastRequest {
            case_id: "c3".into(),
            ..Default::default()
        })
        .await
        .unwrap_err(),
    ] {
        assert_eq!(e.code(), Code::NotFound, "{e:?}");
    }
    let e = c
        .get_case(pb::GetCaseRequest {
            case_id: String::new(),
            page_size: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    srv.stop().await.unwrap();
}

async fn append_is_atomic_idempotent_and_matches_the_engine(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(backend, &dir);
    cfg.max_batch = 5;
    let srv = TestServer::start(cfg).await;
    let mut c = srv.client().await;
    c.create_case(pb::CreateCaseRequest {
        coercion_case: Some(case("k")),
    })
    .await
    .unwrap();

    let batch = vec![
        sig("b", "summit_held", "2018-06-12"),
        sig("c", "talks_held", "2018-07-06"),
    ];
    let r = c
        .append_signals(pb::AppendSignalsRequest {
            case_id: "k".into(),
            signals: batch.clone(),
            as_of: pd("2018-10-31"),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((r.added, r.unchanged, r.signal_count), (2, 0, 3));

    let model = Model::default_model();
    let mut local = Case::new("k", "USA", "PRK", d("2017-01-20"), d("2021-01-20")).unwrap();
    local.description = "test".into();
    local
        .append(
            [
                pf_core::Signal::new("sanctions_tightened", d("2017-08-05")).with_id("a"),
                pf_core::Signal::new("summit_held", d("2018-06-12")).with_id("b"),
                pf_core::Signal::new("talks_held", d("2018-07-06")).with_id("c"),
            ],
            &model,
        )
        .unwrap();
    assert_matches(
        r.forecast.as_ref().unwrap(),
        &local_forecast(&local, "2018-10-31"),
    );

    // Retry: nothing added.
    let r = c
        .append_signals(pb::AppendSignalsRequest {
            case_id: "k".into(),
            signals: batch,
            as_of: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((r.added, r.unchanged, r.signal_count), (0, 2, 3));

    // A batch with one bad signal changes nothing.
    let cases: Vec<(Vec<pb::Signal>, Code, &str)> = vec![
        (
            vec![
                sig("d", "talks_held", "2018-08-01"),
                sig("e", "talks_held", "2018-02-30"),
            ],
            Code::InvalidArgument,
            "signals[1].date",
        ),
        (
            vec![
                sig("d", "talks_held", "2018-08-01"),
                sig("e", "no_such_type", "2018-08-02"),
            ],
            Code::InvalidArgument,
            "signals[1].signal_type",
        ),
        (
            vec![sig("d", "talks_held", "2016-08-01")],
            Code::InvalidArgument,
            "signals[0].date",
        ),
        (
            vec![pb::Signal {
                reliability: Some(2.0),
                ..sig("d", "talks_held", "2018-08-01")
            }],
            Code::InvalidArgument,
            "signals[0].reliability",
        ),
        (
            vec![
                sig("d", "talks_held", "2018-08-01"),
                sig("b", "talks_refused", "2018-06-12"),
            ],
            Code::AlreadyExists,
            "signals[1].id",
        ),
        (
            (0..6)
                .map(|i| sig(&format!("x{i}"), "talks_held", "2018-08-01"))
                .collect(),
            Code::InvalidArgument,
            "signals",
        ),
    ];
    for (signals, code, f) in cases {
        let e = c
            .append_signals(pb::AppendSignalsRequest {
                case_id: "k".into(),
                signals,
                as_of: None,
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), code, "{e:?}");
        assert_eq!(field(&e), f, "{e:?}");
        let g = c
            .get_case(pb::GetCaseRequest {
                case_id: "k".into(),
                page_size: 0,
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            g.coercion_case.unwrap().signal_count,
            3,
            "a rejected batch changed the case"
        );
    }
    let e = c
        .append_signals(pb::AppendSignalsRequest {
            case_id: "nope".into(),
            signals: vec![],
            as_of: None,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);

    // GetForecast equals the engine, bit for bit.
    let f = c
        .get_forecast(pb::GetForecastRequest {
            case_id: "k".into(),
            as_of: pd("2018-10-31"),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .forecast
        .unwrap();
    assert_matches(&f, &local_forecast(&local, "2018-10-31"));
    assert_eq!(f.outcome_order, model.outcomes());
    assert!(f.intervals.is_none() && f.attribution.is_none());

    // A cached forecast never outlives the case snapshot it came from: after an append, GetForecast for the same
    // as-of date gives the new forecast.
    c.append_signals(pb::AppendSignalsRequest {
        case_id: "k".into(),
        signals: vec![sig("e", "talks_refused", "2018-09-01")],
        as_of: None,
    })
    .await
    .unwrap();
    local
        .append(
            [pf_core::Signal::new("talks_refused", d("2018-09-01")).with_id("e")],
            &model,
        )
        .unwrap();
    let again = c
        .get_forecast(pb::GetForecastRequest {
            case_id: "k".into(),
            as_of: pd("2018-10-31"),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .forecast
        .unwrap();
    assert_matches(&again, &local_forecast(&local, "2018-10-31"));
    assert_ne!(again.probabilities, f.probabilities);
    srv.stop().await.unwrap();
}

async fn forecast_options_trajectory_what_if_voi_model(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(backend, &dir);
    cfg.seed_examples = true;
    cfg.max_draws = 50_000;
    let srv = TestServer::start(cfg).await;
    let mut c = srv.client().await;
    let list = c
        .list_cases(pb::ListCasesRequest::default())
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<_> = list.cases.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["usa-irn-2018", "usa-prk-2017"]);
    let id = "usa-prk-2017".to_owned();

    let req = pb::GetForecastRequest {
        case_id: id.clone(),
        as_of: pd("2018-10-31"),
        draws: 200,
        seed: 7,
        levels: vec![0.5, 0.9],
        include_attribution: true,
        include_draws: false,
    };
    let f1 = c
        .get_forecast(req.clone())
        .await
        .unwrap()
        .into_inner()
        .forecast
        .unwrap();
    let f2 = c
        .get_forecast(req.clone())
        .await
        .unwrap()
        .into_inner()
        .forecast
        .unwrap();
    let iv = f1.intervals.as_ref().unwrap();
    assert_eq!((iv.draws, iv.seed, iv.intervals.len()), (200, 7, 2));
    assert_eq!(f1.intervals, f2.intervals, "same seed, same intervals");
    let att = f1.attribution.as_ref().unwrap();
    assert_eq!(att.contributions.len() as u32, f1.signals_used);
    assert_eq!(att.drop_one.len() as u32, f1.signals_used);
    for o in &f1.outcome_order {
        let sum: f64 = att.contributions.iter().map(|c| c.delta[o]).sum();
        assert!((sum - (att.total[o] - att.baseline[o])).abs() < 1e-12);
    }

    for (r, code, f) in [
        (
            pb::GetForecastRequest {
                as_of: Some(Date {
                    year: 2018,
                    month: 10,
                    day: 0,
                }),
                ..req.clone()
            },
            Code::InvalidArgument,
            "as_of",
        ),
        (
            pb::GetForecastRequest {
                levels: vec![1.5],
                ..req.clone()
            },
            Code::InvalidArgument,
            "levels",
        ),
        (
            pb::GetForecastRequest {
                draws: 60_000,
                ..req.clone()
            },
            Code::InvalidArgument,
            "draws",
        ),
    ] {
        let e = c.get_forecast(r).await.unwrap_err();
        assert_eq!(e.code(), code, "{e:?}");
        assert_eq!(field(&e), f);
    }

    // Deadline: many draws, a short deadline. The call goes through a client that sends `grpc-timeout` but keeps
    // no timer of its own, so the status checked is the server's, whatever the machine's load: the server's
    // answer is awaited (a state), not raced against a client-side clock.
    let mut slow = Request::new(pb::GetForecastRequest {
        draws: 50_000,
        include_attribution: false,
        ..req.clone()
    });
    slow.set_timeout(Duration::from_millis(30));
    let e = srv
        .client_without_deadline_timer()
        .get_forecast(slow)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::DeadlineExceeded, "{e:?}");

    let t = c
        .get_trajectory(pb::GetTrajectoryRequest {
            case_id: id.clone(),
            start_date: pd("2018-01-01"),
            end_date: pd("2018-01-10"),
            resolution: pb::Resolution::Daily as i32,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(t.points.len(), 10);
    assert_eq!(t.points[0].date, pd("2018-01-01"));
    let t = c
        .get_trajectory(pb::GetTrajectoryRequest {
            case_id: id.clone(),
            resolution: pb::Resolution::SignalDates as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(t.points.len() > 5);
    let e = c
        .get_trajectory(pb::GetTrajectoryRequest {
            case_id: id.clone(),
            start_date: pd("2019-01-01"),
            end_date: pd("2018-01-01"),
            resolution: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    let e = c
        .get_trajectory(pb::GetTrajectoryRequest {
            case_id: id.clone(),
            resolution: 42,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(field(&e), "resolution");

    let w = c
        .what_if(pb::WhatIfRequest {
            case_id: id.clone(),
            as_of: pd("2018-10-31"),
            signals: vec![sig("hypo", "agreement_signed", "2018-11-15")],
            term_end: None,
        })
        .await
        .unwrap()
        .into_inner();
    let (b, s) = (w.baseline.unwrap(), w.scenario.unwrap());
    assert!(s.probabilities["deal"] > b.probabilities["deal"]);
    let g = c
        .get_case(pb::GetCaseRequest {
            case_id: id.clone(),
            page_size: 0,
        })
        .await
        .unwrap()
        .into_inner()
        .coercion_case
        .unwrap();
    assert!(
        g.signals.iter().all(|s| s.id != "hypo"),
        "what-if must not change the case"
    );
    let w = c
        .what_if(pb::WhatIfRequest {
            case_id: id.clone(),
            as_of: pd("2018-10-31"),
            signals: vec![],
            term_end: pd("2019-01-20"),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(w.scenario.unwrap().term_end, pd("2019-01-20"));
    let e = c
        .what_if(pb::WhatIfRequest {
            case_id: id.clone(),
            as_of: None,
            signals: vec![],
            term_end: pd("2010-01-01"),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);

    let v = c
        .get_value_of_information(pb::GetValueOfInformationRequest {
            case_id: id.clone(),
            as_of: pd("2018-10-31"),
        })
        .await
        .unwrap()
        .into_inner();
    let model = Model::default_model();
    // Every type the model can forecast with (the neutral v2 types are left out by the engine since `core`).
    let types = model.signal_types();
    assert!(!v.values.is_empty() && v.values.len() <= types.len());
    assert!(v.values.iter().all(|x| types.contains(&x.signal_type)));
    assert!(v.values.windows(2).all(|w| w[0].score >= w[1].score));
    // An as-of date past the term end is clamped by the engine's one rule (since `core`), no longer refused.
    let late = c
        .get_value_of_information(pb::GetValueOfInformationRequest {
            case_id: id.clone(),
            as_of: pd("2022-01-01"),
        })
        .await
        .unwrap()
        .into_inner();
    let at = pf_proto::convert::required_date("as_of", late.as_of.as_ref()).unwrap();
    assert!(at < d("2021-01-20"), "{at}");

    let m = c.get_model(pb::GetModelRequest {}).await.unwrap().into_inner();
    assert_eq!(m.toml, Model::default_toml());
    assert_eq!(m.regimes, model.regimes());
    assert_eq!(m.outcomes, model.outcomes());
    let types = c
        .list_signal_types(pb::ListSignalTypesRequest {})
        .await
        .unwrap()
        .into_inner()
        .types;
    assert_eq!(types.len(), model.signal_types().len());
    assert!(
        types
            .iter()
            .all(|t| !t.description.is_empty() && t.likelihood.len() == model.n_regimes())
    );
    srv.stop().await.unwrap();
}

async fn import_events_appends_atomically(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let srv = TestServer::start(config(backend, &dir)).await;
    let mut c = srv.client().await;
    c.create_case(pb::CreateCaseRequest {
        coercion_case: Some(case("ev")),
    })
    .await
    .unwrap();
    let text = "date,source_country,target_country,cameo_code,story_id\n\
                2018-06-12,USA,PRK,044,s1\n\
                2018-06-12,PRK,USA,044,s2\n\
                2018-06-12,USA,FRA,044,s3\n";
    let req = pb::ImportEventsRequest {
        case_id: "ev".into(),
        text: text.into(),
        format: pb::EventFormat::Csv as i32,
        ..Default::default()
    };
    let r = c.import_events(req.clone()).await.unwrap().into_inner();
    assert_eq!((r.rows_read, r.rows_matched, r.added, r.unchanged), (3, 2, 1, 0));
    let r = c.import_events(req.clone()).await.unwrap().into_inner();
    assert_eq!((r.added, r.unchanged), (0, 1), "a repeated import adds nothing");
    let e = c
        .import_events(pb::ImportEventsRequest {
            format: 0,
            ..req.clone()
        })
        .await
        .unwrap_err();
    assert_eq!((e.code(), field(&e).as_str()), (Code::InvalidArgument, "format"));
    let e = c
        .import_events(pb::ImportEventsRequest {
            text: "nonsense,header\n1,2\n".into(),
            ..req.clone()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    let e = c
        .import_events(pb::ImportEventsRequest {
            case_id: "missing".into(),
            ..req
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    srv.stop().await.unwrap();
}

async fn watch_streams_after_appends_and_ends_on_delete(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let srv = TestServer::start(config(backend, &dir)).await;
    let mut c = srv.client().await;
    c.create_case(pb::CreateCaseRequest {
        coercion_case: Some(case("w")),
    })
    .await
    .unwrap();
    c.create_case(pb::CreateCaseRequest {
        coercion_case: Some(case("other")),
    })
    .await
    .unwrap();
    let mut stream = c
        .watch_forecast(pb::WatchForecastRequest {
            case_id: "w".into(),
            as_of: pd("2020-01-01"),
        })
        .await
        .unwrap()
        .into_inner();
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first.signal_count, 1);
    let mut w = c.clone();
    // An append to another case sends nothing; two appends to this one send two forecasts.
    w.append_signals(pb::AppendSignalsRequest {
        case_id: "other".into(),
        signals: vec![sig("z", "talks_held", "2018-01-01")],
        as_of: None,
    })
    .await
    .unwrap();
    for (i, (id, ty)) in [("s1", "summit_held"), ("s2", "talks_refused")]
        .iter()
        .enumerate()
    {
        let r = w
            .append_signals(pb::AppendSignalsRequest {
                case_id: "w".into(),
                signals: vec![sig(id, ty, "2018-06-12")],
                as_of: pd("2020-01-01"),
            })
            .await
            .unwrap()
            .into_inner();
        let got = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(got.signal_count as usize, 2 + i);
        assert_eq!(
            got.forecast, r.forecast,
            "the pushed forecast is the one the append returned"
        );
    }
    let e = c
        .watch_forecast(pb::WatchForecastRequest {
            case_id: "nope".into(),
            as_of: None,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    c.delete_case(pb::DeleteCaseRequest { case_id: "w".into() })
        .await
        .unwrap();
    let end = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    assert_eq!(end.code(), Code::NotFound);
    srv.stop().await.unwrap();
}

/// A server with `/metrics` on a port of its own, and that port's address.
async fn start_with_metrics(backend: Backend, dir: &tempfile::TempDir) -> (TestServer, std::net::SocketAddr) {
    let metrics = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let srv = TestServer::start(Config {
        metrics_listen: Some(metrics),
        ..config(backend, dir)
    })
    .await;
    (srv, metrics)
}

/// [`metric`] once the endpoint answers with it: the metrics listener starts beside the gRPC one, so the first
/// requests may find nothing listening yet (a state to wait for, tried for up to 30 s, not a time).
async fn wait_for_metric(addr: std::net::SocketAddr, name: &str) -> Option<f64> {
    for _ in 0..3000 {
        if let Some(v) = metric(addr, name).await {
            return Some(v);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    None
}

/// The value of a metric on the `/metrics` endpoint at `addr`.
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

/// Many WatchForecast streams of one case, and the append that moves it on, share one forecast computation per
/// version and as-of date (counted by `pf_shared_forecasts_total`, not timed).
async fn watchers_share_one_forecast_per_version(backend: Backend) {
    const WATCHERS: usize = 24;
    let dir = tempfile::tempdir().unwrap();
    let (srv, metrics) = start_with_metrics(backend, &dir).await;
    let mut c = srv.client().await;
    c.create_case(pb::CreateCaseRequest {
        coercion_case: Some(case("shared")),
    })
    .await
    .unwrap();
    let mut streams = Vec::new();
    for _ in 0..WATCHERS {
        // A connection each: a connection carries at most 16 calls (`max_concurrency_per_connection`).
        let mut w = srv.client().await;
        let mut s = w
            .watch_forecast(pb::WatchForecastRequest {
                case_id: "shared".into(),
                as_of: pd("2020-01-01"),
            })
            .await
            .unwrap()
            .into_inner();
        let first = s.next().await.unwrap().unwrap();
        assert_eq!(first.version, 1);
        streams.push(s);
    }
    assert_eq!(
        wait_for_metric(metrics, "pf_shared_forecasts_total").await,
        Some(1.0),
        "{WATCHERS} streams opened on one version: one computation"
    );
    let r = c
        .append_signals(pb::AppendSignalsRequest {
            case_id: "shared".into(),
            signals: vec![sig("b", "talks_held", "2018-06-12")],
            as_of: pd("2020-01-01"),
        })
        .await
        .unwrap()
        .into_inner();
    for s in &mut streams {
        let got = tokio::time::timeout(Duration::from_secs(30), s.next())
            .await
            .expect("every stream hears of the append")
            .unwrap()
            .unwrap();
        assert_eq!((got.version, got.signal_count), (2, 2));
        assert_eq!(got.forecast, r.forecast);
    }
    assert_eq!(
        metric(metrics, "pf_shared_forecasts_total").await,
        Some(2.0),
        "one append seen by {WATCHERS} streams and replied to: one more computation"
    );
    drop(streams);
    srv.stop().await.unwrap();
}

/// On PostgreSQL `/metrics` counts the appends written and the transactions that wrote them (their ratio is the
/// group commit's gain); appends one after another take a transaction each, and a retry writes nothing. SQLite
/// has no such counts.
async fn append_commits_are_counted(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let (srv, metrics) = start_with_metrics(backend, &dir).await;
    let mut c = srv.client().await;
    c.create_case(pb::CreateCaseRequest {
        coercion_case: Some(case("counted")),
    })
    .await
    .unwrap();
    assert_eq!(
        wait_for_metric(metrics, "pf_ready").await,
        Some(1.0),
        "/metrics answers"
    );
    let append = |id: &str, date: &str| pb::AppendSignalsRequest {
        case_id: "counted".into(),
        signals: vec![sig(id, "talks_held", date)],
        as_of: pd("2020-01-01"),
    };
    for (id, date) in [("n1", "2018-06-12"), ("n2", "2018-06-13"), ("n1", "2018-06-12")] {
        c.append_signals(append(id, date)).await.unwrap();
    }
    let counts = (
        metric(metrics, "pf_appends_written_total").await,
        metric(metrics, "pf_append_transactions_total").await,
    );
    match backend {
        Backend::Postgres => assert_eq!(
            counts,
            (Some(2.0), Some(2.0)),
            "two appends written, one transaction each; the retry wrote nothing"
        ),
        Backend::Sqlite => assert_eq!(counts, (None, None)),
    }
    srv.stop().await.unwrap();
}

/// ListCases reads the cases that are not in memory from their header rows and counts instead of loading them;
/// after a restart (nothing in memory) its pages say what GetCase of each case says: header fields as updated,
/// signal counts after retries, id-less signals and retractions, versions.
async fn listing_cases_not_in_memory_matches_reading_them(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(backend, &dir);
    let srv = TestServer::start(cfg.clone()).await;
    let mut c = srv.client().await;
    for id in ["l1", "l2", "l3"] {
        c.create_case(pb::CreateCaseRequest {
            coercion_case: Some(case(id)),
        })
        .await
        .unwrap();
    }
    let append = |case_id: &str, signals: Vec<pb::Signal>| pb::AppendSignalsRequest {
        case_id: case_id.into(),
        signals,
        as_of: None,
    };
    let idless = pb::Signal {
        id: String::new(),
        ..sig("", "talks_held", "2018-06-12")
    };
    c.append_signals(append(
        "l1",
        vec![sig("b", "talks_held", "2018-03-01"), idless.clone(), idless],
    ))
    .await
    .unwrap();
    // A retry stores nothing.
    c.append_signals(append("l1", vec![sig("b", "talks_held", "2018-03-01")]))
        .await
        .unwrap();
    c.append_signals(append(
        "l2",
        vec![
            sig("b", "talks_held", "2018-03-01"),
            sig("c", "summit_held", "2018-06-12"),
        ],
    ))
    .await
    .unwrap();
    for _ in 0..2 {
        c.retract_signal(pb::RetractSignalRequest {
            case_id: "l2".into(),
            signal_id: "b".into(),
            reason: "test".into(),
            as_of: None,
        })
        .await
        .unwrap();
    }
    c.update_case(pb::UpdateCaseRequest {
        coercion_case: Some(pb::Case {
            id: "l3".into(),
            description: "updated".into(),
            reelection_eligible: Some(false),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["description".into(), "reelection_eligible".into()],
        }),
    })
    .await
    .unwrap();
    srv.stop().await.unwrap();

    let srv = TestServer::start(cfg).await;
    let mut c = srv.client().await;
    let mut listed = Vec::new();
    let mut token = String::new();
    loop {
        let page = c
            .list_cases(pb::ListCasesRequest {
                page_size: 2,
                page_token: token,
            })
            .await
            .unwrap()
            .into_inner();
        listed.extend(page.cases.into_iter().filter(|p| p.id.starts_with('l')));
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(
        listed
            .iter()
            .map(|p| (p.id.as_str(), p.signal_count, p.version))
            .collect::<Vec<_>>(),
        [("l1", 3, 2), ("l2", 2, 3), ("l3", 1, 2)],
        "l1: a, b and one id-less signal (the retry and the repeat wrote nothing); l2: a, c after b's retraction \
         (the second wrote nothing)"
    );
    for p in &listed {
        let mut read = c
            .get_case(pb::GetCaseRequest {
                case_id: p.id.clone(),
                page_size: 0,
            })
            .await
            .unwrap()
            .into_inner()
            .coercion_case
            .unwrap();
        read.signals.clear();
        assert_eq!(p, &read, "case {}", p.id);
    }
    srv.stop().await.unwrap();
}

async fn health_and_reflection(backend: Backend) {
    use tonic_health::pb::health_client::HealthClient;
    use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};
    let dir = tempfile::tempdir().unwrap();
    let srv = TestServer::start(config(backend, &dir)).await;
    let _ = srv.client().await;
    let ch = srv.channel().await;
    let mut h = HealthClient::new(ch.clone());
    for service in ["", pf_proto::SERVICE_NAME] {
        let r = h
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(r.status(), ServingStatus::Serving, "{service}");
    }

    {
        use tonic_reflection::pb::v1::ServerReflectionRequest;
        use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
        let mut r = ServerReflectionClient::new(ch.clone());
        let req = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut resp = r
            .server_reflection_info(tokio_stream::iter(vec![req]))
            .await
            .unwrap()
            .into_inner();
        let msg = resp.next().await.unwrap().unwrap();
        let Some(MessageResponse::ListServicesResponse(list)) = msg.message_response else {
            panic!("{msg:?}")
        };
        let names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
        assert!(names.contains(&pf_proto::SERVICE_NAME), "{names:?}");
        assert!(names.contains(&"grpc.health.v1.Health"), "{names:?}");
        // The file containing the service's symbol.
        let req = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::FileContainingSymbol(
                pf_proto::SERVICE_NAME.into(),
            )),
        };
        let mut resp = r
            .server_reflection_info(tokio_stream::iter(vec![req]))
            .await
            .unwrap()
            .into_inner();
        let msg = resp.next().await.unwrap().unwrap();
        assert!(
            matches!(
                msg.message_response,
                Some(MessageResponse::FileDescriptorResponse(_))
            ),
            "{msg:?}"
        );
    }
    {
        use tonic_reflection::pb::v1alpha::ServerReflectionRequest;
        use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;
        let mut r = ServerReflectionClient::new(ch);
        let req = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut resp = r
            .server_reflection_info(tokio_stream::iter(vec![req]))
            .await
            .unwrap()
            .into_inner();
        let msg = resp.next().await.unwrap().unwrap();
        let Some(MessageResponse::ListServicesResponse(list)) = msg.message_response else {
            panic!("{msg:?}")
        };
        assert!(list.service.iter().any(|s| s.name == pf_proto::SERVICE_NAME));
    }
    srv.stop().await.unwrap();
}

async fn message_size_limit_is_resource_exhausted(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(backend, &dir);
    cfg.max_message_bytes = 4096;
    let srv = TestServer::start(cfg).await;
    let mut c = srv.client().await;
    c.create_case(pb::CreateCaseRequest {
        coercion_case: Some(case("m")),
    })
    .await
    .unwrap();
    let big = pb::Signal {
        note: "x".repeat(10_000),
        ..sig("big", "talks_held", "2018-01-01")
    };
    let e = c
        .append_signals(pb::AppendSignalsRequest {
            case_id: "m".into(),
            signals: vec![big],
            as_of: None,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
    srv.stop().await.unwrap();
}

async fn store_unavailable_is_unavailable(backend: Backend) {
    use pf_proto::v1::forecast_service_server::ForecastService;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(backend, &dir);
    let server = pf_server::Server::open(cfg.clone()).await.unwrap();
    server
        .state()
        .create(
            Case::new("u", "USA", "PRK", d("2017-01-20"), d("2021-01-20")).unwrap(),
            vec![],
        )
        .await
        .unwrap();
    server.state().close().unwrap();
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let api = pf_server::ForecastApi::new(server.state().clone(), cfg, rx);
    let e = api
        .append_signals(Request::new(pb::AppendSignalsRequest {
            case_id: "u".into(),
            signals: vec![sig("a", "talks_held", "2018-01-01")],
            as_of: None,
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unavailable, "{e:?}");
    // Reads still work from the rebuilt cases.
    api.get_case(Request::new(pb::GetCaseRequest {
        case_id: "u".into(),
        page_size: 0,
    }))
    .await
    .unwrap();
}

async fn graceful_shutdown_drains_and_restart_restores(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(backend, &dir);
    let srv = TestServer::start(cfg.clone()).await;
    let mut c = srv.client().await;
    c.create_case(pb::CreateCaseRequest {
        coercion_case: Some(case("g")),
    })
    .await
    .unwrap();
    c.append_signals(pb::AppendSignalsRequest {
        case_id: "g".into(),
        signals: vec![sig("b", "summit_held", "2018-06-12")],
        as_of: None,
    })
    .await
    .unwrap();
    let before = c
        .get_forecast(pb::GetForecastRequest {
            case_id: "g".into(),
            as_of: pd("2019-01-01"),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut stream = c
        .watch_forecast(pb::WatchForecastRequest {
            case_id: "g".into(),
            as_of: None,
        })
        .await
        .unwrap()
        .into_inner();
    stream.next().await.unwrap().unwrap();
    // A slow call in flight when the shutdown starts completes.
    let mut slow_client = c.clone();
    let slow = tokio::spawn(async move {
        slow_client
            .get_forecast(pb::GetForecastRequest {
                case_id: "g".into(),
                as_of: pd("2019-01-01"),
                draws: 3000,
                seed: 1,
                ..Default::default()
            })
            .await
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let stopped = srv.stop();
    let (r, s) = tokio::join!(slow, stopped);
    s.unwrap();
    let r = r.unwrap().expect("the call in flight finished");
    assert_eq!(r.into_inner().forecast.unwrap().intervals.unwrap().draws, 3000);
    let end = stream.next().await;
    assert!(
        matches!(&end, Some(Err(e)) if e.code() == Code::Unavailable) || end.is_none(),
        "{end:?}"
    );

    // Restart on the same store: same cases, same numbers.
    let srv = TestServer::start(cfg).await;
    let mut c = srv.client().await;
    let after = c
        .get_forecast(pb::GetForecastRequest {
            case_id: "g".into(),
            as_of: pd("2019-01-01"),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(before, after);
    let g = c
        .get_case(pb::GetCaseRequest {
            case_id: "g".into(),
            page_size: 0,
        })
        .await
        .unwrap()
        .into_inner()
        .coercion_case
        .unwrap();
    assert_eq!(g.signal_count, 2);
    assert_eq!(srv.config.max_batch, Config::default().max_batch);
    srv.stop().await.unwrap();
}

/// A case's version: 1 at creation, one more per committed change (never for a retry), on every reply that
/// carries the case or a forecast of it, and kept across a restart.
async fn versions_count_committed_changes(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(backend, &dir);
    let srv = TestServer::start(cfg.clone()).await;
    let mut c = srv.client().await;
    let created = c
        .create_case(pb::CreateCaseRequest {
            coercion_case: Some(case("v")),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.coercion_case.unwrap().version, 1);
    let append = pb::AppendSignalsRequest {
        case_id: "v".into(),
        signals: vec![sig("b", "summit_held", "2018-06-12")],
        as_of: None,
    };
    let r = c.append_signals(append.clone()).await.unwrap().into_inner();
    assert_eq!((r.added, r.version), (1, 2));
    let r = c.append_signals(append).await.unwrap().into_inner();
    assert_eq!((r.added, r.version), (0, 2), "a retry commits nothing");
    let f = c
        .get_forecast(pb::GetForecastRequest {
            case_id: "v".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(f.version, 2);
    let u = c
        .update_case(pb::UpdateCaseRequest {
            coercion_case: Some(pb::Case {
                id: "v".into(),
                description: "new".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["description".into()],
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(u.coercion_case.unwrap().version, 3);
    let retract = pb::RetractSignalRequest {
        case_id: "v".into(),
        signal_id: "b".into(),
        reason: "test".into(),
        as_of: None,
    };
    let r = c.retract_signal(retract.clone()).await.unwrap().into_inner();
    assert_eq!((r.retracted, r.version), (true, 4));
    let r = c.retract_signal(retract).await.unwrap().into_inner();
    assert_eq!((r.retracted, r.version), (false, 4));
    let mut stream = c
        .watch_forecast(pb::WatchForecastRequest {
            case_id: "v".into(),
            as_of: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stream.next().await.unwrap().unwrap().version, 4);
    drop(stream);
    srv.stop().await.unwrap();
    let srv = TestServer::start(cfg).await;
    let mut c = srv.client().await;
    let g = c
        .get_case(pb::GetCaseRequest {
            case_id: "v".into(),
            page_size: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(g.coercion_case.unwrap().version, 4, "the version is stored");
    let listed = c
        .list_cases(pb::ListCasesRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.cases[0].version, 4);
    srv.stop().await.unwrap();
}
