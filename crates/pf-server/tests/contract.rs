//! The methods and details added with the `pressureforecast.v1` contract: standard error details on every
//! error, UpdateCase with a field mask, RetractSignal (an event in the log; the forecast changes back), paging
//! of GetCase and ListSignals, and all of it surviving a restart from the store.

use std::time::Duration;

use pf_proto::convert::date_to_proto;
use pf_proto::google::r#type::Date;
use pf_proto::v1 as pb;
use pf_proto::v1::forecast_service_client::ForecastServiceClient;
use pf_server::Config;
use prost_types::FieldMask;
use tokio::sync::oneshot;
use tonic::Code;
use tonic::transport::Channel;
use tonic_types::StatusExt;

#[path = "common/backend.rs"]
mod backend;
use backend::Backend;

backend::backend_tests!(
    errors_carry_standard_details_with_field_paths,
    update_retract_and_paging_survive_a_restart,
);

struct TestServer {
    addr: std::net::SocketAddr,
    stop: oneshot::Sender<()>,
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
        TestServer { addr, stop, handle }
    }

    async fn client(&self) -> ForecastServiceClient<Channel> {
        let url = format!("http://{}", self.addr);
        for _ in 0..200 {
            if let Ok(c) = ForecastServiceClient::connect(url.clone()).await {
                return c;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("server did not come up on {url}");
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(20), self.handle)
            .await
            .expect("shutdown in time")
            .unwrap()
            .unwrap();
    }
}

fn pd(s: &str) -> Option<Date> {
    Some(date_to_proto(
        chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap(),
    ))
}

fn sig(id: &str, ty: &str, date: &str) -> pb::Signal {
    pb::Signal {
        id: id.into(),
        signal_type: ty.into(),
        date: pd(date),
        ..Default::default()
    }
}

fn case(id: &str, signals: Vec<pb::Signal>) -> pb::Case {
    pb::Case {
        id: id.into(),
        sender: "USA".into(),
        target: "PRK".into(),
        start: pd("2017-01-20"),
        term_end: pd("2021-01-20"),
        signals,
        ..Default::default()
    }
}

/// (reason, violation fields) of an error status; every one carries an ErrorInfo in the service's domain.
fn details(s: &tonic::Status) -> (String, Vec<String>) {
    let d = s.get_error_details();
    let info = d.error_info().unwrap_or_else(|| panic!("no ErrorInfo on {s:?}"));
    assert_eq!(info.domain, "pressureforecast.v1");
    let fields = d
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default();
    (info.reason.clone(), fields)
}

async fn forecast(c: &mut ForecastServiceClient<Channel>, id: &str) -> pb::Forecast {
    c.get_forecast(pb::GetForecastRequest {
        case_id: id.into(),
        as_of: pd("2020-12-31"),
        ..Default::default()
    })
    .await
    .unwrap()
    .into_inner()
    .forecast
    .unwrap()
}

async fn errors_carry_standard_details_with_field_paths(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let srv = TestServer::start(Config {
        db: backend.db(&dir),
        ..Config::default()
    })
    .await;
    let mut c = srv.client().await;
    c.create_case(pb::CreateCaseRequest {
        coercion_case: Some(case("e", vec![])),
    })
    .await
    .unwrap();
    // A bad date in the third signal.
    let mut third = sig("c", "talks_held", "2018-01-01");
    third.date = Some(Date {
        year: 2018,
        month: 2,
        day: 30,
    });
    let e = c
        .append_signals(pb::AppendSignalsRequest {
            case_id: "e".into(),
            signals: vec![
                sig("a", "talks_held", "2018-01-01"),
                sig("b", "talks_held", "2018-01-02"),
                third,
            ],
            as_of: None,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(
        details(&e),
        ("INVALID_FIELD".into(), vec!["signals[2].date".into()])
    );
    assert!(e.message().contains("signals[2].date"), "{}", e.message());
    // Outside the case's span: the engine's check, still named by its path.
    let e = c
        .append_signals(pb::AppendSignalsRequest {
            case_id: "e".into(),
            signals: vec![
                sig("a", "talks_held", "2018-01-01"),
                sig("b", "talks_held", "2030-01-01"),
            ],
            as_of: None,
        })
        .await
        .unwrap_err();
    assert_eq!(details(&e).1, vec!["signals[1].date".to_owned()]);
    let e = c
        .create_case(pb::CreateCaseRequest {
            coercion_case: Some(case("f", vec![sig("a", "no_such_type", "2018-01-01")])),
        })
        .await
        .unwrap_err();
    assert_eq!(
        details(&e).1,
        vec!["coercion_case.signals[0].signal_type".to_owned()]
    );
    let e = c
        .get_forecast(pb::GetForecastRequest {
            case_id: "nope".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), details(&e).0.as_str()),
        (Code::NotFound, "CASE_NOT_FOUND")
    );
    let e = c
        .get_trajectory(pb::GetTrajectoryRequest {
            case_id: "e".into(),
            start_date: Some(Date {
                year: 2018,
                month: 0,
                day: 1,
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(details(&e).1, vec!["start_date".to_owned()]);
    srv.stop().await;
}

async fn update_retract_and_paging_survive_a_restart(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        db: backend.db(&dir),
        ..Config::default()
    };
    let srv = TestServer::start(config.clone()).await;
    let mut c = srv.client().await;
    let first: Vec<pb::Signal> = (0..5)
        .map(|i| sig(&format!("s{i}"), "talks_held", &format!("2018-0{}-01", i + 1)))
        .collect();
    c.create_case(pb::CreateCaseRequest {
        coercion_case: Some(case("k", first)),
    })
    .await
    .unwrap();

    // UpdateCase writes only the fields in the mask.
    let e = c
        .update_case(pb::UpdateCaseRequest {
            coercion_case: Some(pb::Case {
                id: "k".into(),
                ..Default::default()
            }),
            update_mask: Some(FieldMask {
                paths: vec!["description".into(), "sender".into()],
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(details(&e).1, vec!["update_mask.paths[1]".to_owned()]);
    let e = c
        .update_case(pb::UpdateCaseRequest {
            coercion_case: Some(pb::Case {
                id: "k".into(),
                ..Default::default()
            }),
            update_mask: None,
        })
        .await
        .unwrap_err();
    assert_eq!(details(&e).1, vec!["update_mask".to_owned()]);
    let e = c
        .update_case(pb::UpdateCaseRequest {
            coercion_case: Some(pb::Case {
                id: "k".into(),
                election_date: pd("2024-11-05"),
                ..Default::default()
            }),
            update_mask: Some(FieldMask {
                paths: vec!["election_date".into()],
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(details(&e).1, vec!["coercion_case.election_date".to_owned()]);
    let u = c
        .update_case(pb::UpdateCaseRequest {
            coercion_case: Some(pb::Case {
                id: "k".into(),
                description: "updated".into(),
                reelection_eligible: Some(true),
                election_date: pd("2020-11-03"),
                sender: "ignored".into(),
                ..Default::default()
            }),
            update_mask: Some(FieldMask {
                paths: vec!["reelection_eligible".into(), "election_date".into()],
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .coercion_case
        .unwrap();
    assert_eq!(
        (
            u.description.as_str(),
            u.sender.as_str(),
            u.reelection_eligible,
            u.election_date
        ),
        ("", "USA", Some(true), pd("2020-11-03"))
    );
    let u = c
        .update_case(pb::UpdateCaseRequest {
            coercion_case: Some(pb::Case {
                id: "k".into(),
                description: "updated".into(),
                ..Default::default()
            }),
            update_mask: Some(FieldMask {
                paths: vec!["description".into()],
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .coercion_case
        .unwrap();
    assert_eq!(
        (u.description.as_str(), u.reelection_eligible),
        ("updated", Some(true))
    );

    // RetractSignal: the forecast changes, and changes back to the one without the signal.
    let before = forecast(&mut c, "k").await;
    c.append_signals(pb::AppendSignalsRequest {
        case_id: "k".into(),
        signals: vec![sig("deal", "agreement_signed", "2018-06-12")],
        as_of: None,
    })
    .await
    .unwrap();
    let with = forecast(&mut c, "k").await;
    assert_ne!(with.probabilities, before.probabilities);
    let r = c
        .retract_signal(pb::RetractSignalRequest {
            case_id: "k".into(),
            signal_id: "deal".into(),
            reason: "misreported".into(),
            as_of: pd("2020-12-31"),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(r.retracted);
    assert_eq!(r.signal_count, 5);
    assert_eq!(r.forecast.unwrap(), before);
    assert_eq!(forecast(&mut c, "k").await, before);
    // Idempotent.
    let again = c
        .retract_signal(pb::RetractSignalRequest {
            case_id: "k".into(),
            signal_id: "deal".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!again.retracted);
    // The id stays taken: the identical signal is a retry, another one a conflict.
    let r = c
        .append_signals(pb::AppendSignalsRequest {
            case_id: "k".into(),
            signals: vec![sig("deal", "agreement_signed", "2018-06-12")],
            as_of: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((r.added, r.unchanged, r.signal_count), (0, 1, 5));
    let e = c
        .append_signals(pb::AppendSignalsRequest {
            case_id: "k".into(),
            signals: vec![sig("deal", "talks_held", "2018-06-13")],
            as_of: None,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::AlreadyExists);
    assert_eq!(
        details(&e),
        ("SIGNAL_CONFLICT".into(), vec!["signals[0].id".into()])
    );
    let e = c
        .retract_signal(pb::RetractSignalRequest {
            case_id: "k".into(),
            signal_id: "never".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), details(&e).0.as_str()),
        (Code::NotFound, "SIGNAL_NOT_FOUND")
    );

    // GetCase returns a page of signals and a token; ListSignals goes on from it.
    let g = c
        .get_case(pb::GetCaseRequest {
            case_id: "k".into(),
            page_size: 2,
        })
        .await
        .unwrap()
        .into_inner();
    let gc = g.coercion_case.unwrap();
    assert_eq!((gc.signals.len(), gc.signal_count), (2, 5));
    let mut ids: Vec<String> = gc.signals.iter().map(|s| s.id.clone()).collect();
    let mut token = g.next_page_token;
    while !token.is_empty() {
        let page = c
            .list_signals(pb::ListSignalsRequest {
                case_id: "k".into(),
                page_size: 2,
                page_token: token,
            })
            .await
            .unwrap()
            .into_inner();
        assert!(page.signals.len() <= 2);
        ids.extend(page.signals.iter().map(|s| s.id.clone()));
        token = page.next_page_token;
    }
    assert_eq!(ids, ["s0", "s1", "s2", "s3", "s4"]);
    let e = c
        .list_signals(pb::ListSignalsRequest {
            case_id: "k".into(),
            page_size: 2,
            page_token: "bogus".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(details(&e).1, vec!["page_token".to_owned()]);
    srv.stop().await;

    // After a restart the log gives the same case: the update and the retraction replayed.
    let srv = TestServer::start(config).await;
    let mut c = srv.client().await;
    let g = c
        .get_case(pb::GetCaseRequest {
            case_id: "k".into(),
            page_size: 0,
        })
        .await
        .unwrap()
        .into_inner()
        .coercion_case
        .unwrap();
    assert_eq!(
        (
            g.description.as_str(),
            g.reelection_eligible,
            g.election_date,
            g.signal_count
        ),
        ("updated", Some(true), pd("2020-11-03"), 5)
    );
    assert_eq!(forecast(&mut c, "k").await, before);
    srv.stop().await;
}
