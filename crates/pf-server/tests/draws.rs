//! Raw parameter draws over gRPC (issue 13, deliverable 4): `GetForecastRequest.include_draws` sends them in
//! `Forecast.draws`, only when asked for, equal to the engine's draws for the same seed; a reply that would not
//! fit `max_message_bytes` is refused with RESOURCE_EXHAUSTED before the work.

use std::time::Duration;

use chrono::NaiveDate;
use pf_core::{DrawOptions, Model};
use pf_proto::google::r#type::Date;
use pf_proto::v1 as pb;
use pf_proto::v1::forecast_service_client::ForecastServiceClient;
use pf_proto::v1::forecast_service_server::ForecastService;
use pf_server::Config;
use pf_server::limits::{ForecastExtras, forecast_bytes};
use prost::Message;
use tokio::sync::oneshot;
use tonic::transport::Channel;
use tonic::{Code, Request};
use tonic_types::StatusExt;

#[path = "common/backend.rs"]
mod backend;
use backend::Backend;

backend::backend_tests!(
    draws_are_sent_only_when_asked_for_and_equal_the_engines,
    over_size_draws_are_refused_before_the_work,
);

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

    /// A client once the server accepts connections (a state, retried until it holds).
    async fn client(&self) -> ForecastServiceClient<Channel> {
        let url = format!("http://{}", self.addr);
        for _ in 0..250 {
            if let Ok(c) = ForecastServiceClient::connect(url.clone()).await {
                return c.max_decoding_message_size(64 << 20);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("server did not come up on {url}");
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(30), self.handle)
            .await
            .expect("shutdown in time")
            .unwrap()
            .unwrap();
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

fn pd(s: &str) -> Option<Date> {
    Some(pf_proto::convert::date_to_proto(d(s)))
}

fn sig(id: &str, ty: &str, date: &str) -> pb::Signal {
    pb::Signal {
        id: id.into(),
        signal_type: ty.into(),
        date: pd(date),
        ..Default::default()
    }
}

/// The case sent to the server, with a few signals of the default model's vocabulary.
fn case_msg(id: &str) -> pb::Case {
    pb::Case {
        id: id.into(),
        sender: "USA".into(),
        target: "PRK".into(),
        start: pd("2017-01-20"),
        term_end: pd("2021-01-20"),
        signals: vec![
            sig("a", "sanctions_tightened", "2017-08-05"),
            sig("b", "talks_held", "2018-03-08"),
            sig("c", "summit_held", "2018-06-12"),
        ],
        ..Default::default()
    }
}

/// The same case built locally, as the server builds it.
fn local_case(id: &str) -> pf_core::Case {
    let new = pf_proto::NewCase::try_from(case_msg(id)).unwrap();
    let mut case = new.case;
    case.append(new.signals, &Model::default_model()).unwrap();
    case
}

fn reason(e: &tonic::Status) -> String {
    e.get_error_details()
        .error_info()
        .map(|i| i.reason.clone())
        .unwrap_or_default()
}

fn request(id: &str, draws: u32, include_draws: bool) -> pb::GetForecastRequest {
    pb::GetForecastRequest {
        case_id: id.into(),
        as_of: pd("2018-10-31"),
        draws,
        seed: 11,
        levels: vec![0.5, 0.9],
        include_attribution: false,
        include_draws,
    }
}

async fn draws_are_sent_only_when_asked_for_and_equal_the_engines(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let srv = TestServer::start(config(backend, &dir)).await;
    let mut c = srv.client().await;
    c.create_case(pb::CreateCaseRequest {
        coercion_case: Some(case_msg("k")),
    })
    .await
    .unwrap();

    let get = |r: pb::GetForecastRequest| {
        let mut c = c.clone();
        async move { c.get_forecast(r).await.unwrap().into_inner().forecast.unwrap() }
    };
    // Not asked for: no draws, the intervals as before.
    let plain = get(request("k", 300, false)).await;
    assert!(plain.draws.is_empty(), "draws sent without include_draws");
    assert_eq!(plain.intervals.as_ref().unwrap().draws, 300);
    // Asked for without draws: nothing to send.
    let none = get(request("k", 0, true)).await;
    assert!(none.draws.is_empty() && none.intervals.is_none());

    // Asked for: one row per draw, one value per outcome, the engine's numbers bit for bit.
    let with = get(request("k", 300, true)).await;
    assert_eq!(with.draws.len(), 300);
    assert!(
        with.draws
            .iter()
            .all(|r| r.probabilities.len() == with.outcome_order.len())
    );
    assert_eq!(with.intervals, plain.intervals, "the draws change nothing else");
    assert_eq!(with.probabilities, plain.probabilities);
    let model = Model::default_model();
    let opts = DrawOptions {
        draws: 300,
        seed: 11,
        levels: vec![0.5, 0.9],
    };
    let local = model
        .draw_forecasts(&local_case("k"), d("2018-10-31"), &opts, &pf_core::Silent)
        .unwrap();
    let remote = pf_proto::convert::draws_from_proto(&with).unwrap().unwrap();
    assert_eq!(remote.len(), local.len());
    for (i, (r, l)) in remote.iter().zip(&local).enumerate() {
        let (rb, lb): (Vec<u64>, Vec<u64>) = (
            r.iter().map(|x| x.to_bits()).collect(),
            l.iter().map(|x| x.to_bits()).collect(),
        );
        assert_eq!(rb, lb, "draw {i}");
    }
    // The intervals sent are the summary of the draws sent.
    let f = pf_core::Forecast::try_from(with.clone()).unwrap();
    assert_eq!(
        f.intervals.unwrap(),
        pf_core::uncertainty::summarise(&remote, &opts)
    );
    // Same seed, same draws; another seed, other draws.
    assert_eq!(get(request("k", 300, true)).await.draws, with.draws);
    let other = get(pb::GetForecastRequest {
        seed: 12,
        ..request("k", 300, true)
    })
    .await;
    assert_ne!(other.draws, with.draws);
    // With the attribution too: both in one reply.
    let both = get(pb::GetForecastRequest {
        include_attribution: true,
        ..request("k", 300, true)
    })
    .await;
    assert_eq!(both.draws, with.draws);
    assert!(both.attribution.is_some());
    srv.stop().await;
}

async fn over_size_draws_are_refused_before_the_work(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config {
        max_message_bytes: 64 * 1024,
        ..config(backend, &dir)
    };
    let srv = TestServer::start(cfg.clone()).await;
    let mut c = srv.client().await;
    c.create_case(pb::CreateCaseRequest {
        coercion_case: Some(case_msg("k")),
    })
    .await
    .unwrap();
    // 5,000 draws of 3 outcomes are 120,000 bytes of doubles: over 64 KiB.
    let e = c.get_forecast(request("k", 5_000, true)).await.unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
    assert_eq!(reason(&e), "LIMIT_EXCEEDED");
    assert!(e.message().contains("max_message_bytes"), "{e:?}");
    // The same draws not sent raw: the intervals fit.
    let ok = c
        .get_forecast(request("k", 5_000, false))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ok.forecast.unwrap().intervals.unwrap().draws, 5_000);
    srv.stop().await;

    // The handler itself refuses, without a transport whose message limit would refuse an encoded reply: the
    // check is made on the request, the case and the model, before any draw. Under the limit, the estimate
    // bounds the reply actually encoded.
    let server = pf_server::Server::open(cfg.clone()).await.unwrap();
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let api = pf_server::ForecastApi::new(server.state().clone(), cfg.clone(), rx);
    let e = api
        .get_forecast(Request::new(request("k", 5_000, true)))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
    assert!(e.message().contains("max_message_bytes"), "{e:?}");
    let case = local_case("k");
    let model = Model::default_model();
    for (draws, attribution) in [(1, false), (100, false), (2_000, false), (100, true)] {
        let estimate = forecast_bytes(
            &case,
            &model,
            ForecastExtras {
                levels: 2,
                draws,
                attribution,
            },
        );
        let reply = api
            .get_forecast(Request::new(pb::GetForecastRequest {
                include_attribution: attribution,
                ..request("k", u32::try_from(draws).unwrap(), true)
            }))
            .await
            .unwrap()
            .into_inner();
        let encoded = reply.encoded_len() as u64;
        assert!(
            encoded <= estimate,
            "{draws} draws: encoded {encoded} bytes, estimated {estimate}"
        );
        assert!(
            estimate <= encoded + encoded / 4 + 512,
            "{draws} draws: the estimate {estimate} is far above the {encoded} bytes encoded"
        );
        assert!(encoded >= 8 * 3 * draws);
    }
}
