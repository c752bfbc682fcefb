//! Fuzzing every RPC's decode-and-handle path in-process: random bytes, and valid requests with bytes flipped,
//! sent raw to each method of a server on 127.0.0.1. No call may answer INTERNAL or UNKNOWN (those are bugs),
//! and the server must still serve afterwards. Bounded: `PF_FUZZ_CASES` cases per method (default 24; `make
//! fuzz` runs thousands).

use std::sync::Arc;
use std::time::Duration;

use pf_proto::v1 as pb;
use proptest::prelude::*;
use prost::Message;
use tonic::transport::Channel;
use tonic::{Code, Request};

#[path = "common/raw.rs"]
mod raw;
use raw::Raw;

fn date(y: i32, m: i32, d: i32) -> Option<pf_proto::google::r#type::Date> {
    Some(pf_proto::google::r#type::Date {
        year: y,
        month: m,
        day: d,
    })
}

/// A valid request of each method, encoded: the seeds that bytes are flipped in.
fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let sig = pb::Signal {
        id: "s1".into(),
        signal_type: "talks_held".into(),
        date: date(2018, 6, 12),
        note: "n".into(),
        ..Default::default()
    };
    let relief = pb::Signal {
        signal_type: "sanctions_relief".into(),
        date: date(2019, 3, 1),
        ..Default::default()
    };
    let case = pb::Case {
        id: "fz".into(),
        sender: "USA".into(),
        target: "PRK".into(),
        start: date(2017, 1, 20),
        term_end: date(2021, 1, 20),
        signals: vec![sig.clone()],
        ..Default::default()
    };
    vec![
        (
            "CreateCase",
            pb::CreateCaseRequest {
                coercion_case: Some(case.clone()),
            }
            .encode_to_vec(),
        ),
        (
            "GetCase",
            pb::GetCaseRequest {
                case_id: "fz".into(),
                page_size: 3,
            }
            .encode_to_vec(),
        ),
        (
            "UpdateCase",
            pb::UpdateCaseRequest {
                coercion_case: Some(case.clone()),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["description".into()],
                }),
            }
            .encode_to_vec(),
        ),
        (
            "ListCases",
            pb::ListCasesRequest {
                page_size: 2,
                ..Default::default()
            }
            .encode_to_vec(),
        ),
        (
            "DeleteCase",
            pb::DeleteCaseRequest {
                case_id: "nope".into(),
            }
            .encode_to_vec(),
        ),
        (
            "ListSignals",
            pb::ListSignalsRequest {
                case_id: "fz".into(),
                ..Default::default()
            }
            .encode_to_vec(),
        ),
        (
            "AppendSignals",
            pb::AppendSignalsRequest {
                case_id: "fz".into(),
                signals: vec![sig.clone()],
                as_of: date(2019, 1, 1),
            }
            .encode_to_vec(),
        ),
        (
            "RetractSignal",
            pb::RetractSignalRequest {
                case_id: "fz".into(),
                signal_id: "s9".into(),
                ..Default::default()
            }
            .encode_to_vec(),
        ),
        (
            "GetForecast",
            pb::GetForecastRequest {
                case_id: "fz".into(),
                draws: 20,
                levels: vec![0.5],
                ..Default::default()
            }
            .encode_to_vec(),
        ),
        (
            "GetTrajectory",
            pb::GetTrajectoryRequest {
                case_id: "fz".into(),
                start_date: date(2018, 1, 1),
                end_date: date(2018, 2, 1),
                resolution: 1,
            }
            .encode_to_vec(),
        ),
        (
            "WhatIf",
            pb::WhatIfRequest {
                case_id: "fz".into(),
                signals: vec![sig.clone()],
                ..Default::default()
            }
            .encode_to_vec(),
        ),
        (
            "RunScenario",
            pb::RunScenarioRequest {
                case_id: "fz".into(),
                as_of: date(2018, 1, 1),
                scenario: Some(pb::Scenario {
                    signals: vec![sig, relief.clone()],
                    monthly: vec!["sanctions_tightened".into()],
                    policy_continues: true,
                    fate: pb::Fate::Leaves as i32,
                    term_end: date(2020, 12, 1),
                    reelection_eligible: Some(true),
                    name: "n".into(),
                }),
            }
            .encode_to_vec(),
        ),
        (
            "ComparePolicies",
            pb::ComparePoliciesRequest {
                case_id: "fz".into(),
                as_of: date(2018, 1, 1),
                a: None,
                b: Some(pb::Scenario {
                    signals: vec![relief],
                    monthly: vec!["military_threat".into()],
                    ..Default::default()
                }),
            }
            .encode_to_vec(),
        ),
        (
            "GetValueOfInformation",
            pb::GetValueOfInformationRequest {
                case_id: "fz".into(),
                as_of: date(2018, 10, 1),
            }
            .encode_to_vec(),
        ),
        ("GetModel", pb::GetModelRequest {}.encode_to_vec()),
        ("ListSignalTypes", pb::ListSignalTypesRequest {}.encode_to_vec()),
        (
            "ImportEvents",
            pb::ImportEventsRequest {
                case_id: "fz".into(),
                format: pb::EventFormat::Csv as i32,
                text: "date,source,target,code\n2018-06-12,USA,PRK,040\n".into(),
                ..Default::default()
            }
            .encode_to_vec(),
        ),
    ]
}

fn cases() -> u32 {
    std::env::var("PF_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24)
}

struct Fixture {
    rt: tokio::runtime::Runtime,
    ch: Channel,
    _dir: tempfile::TempDir,
}

fn fixture() -> Arc<Fixture> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = pf_server::Config {
        db: dir.path().join("fuzz.sqlite3"),
        max_cost: 50_000_000,
        ..pf_server::Config::default()
    };
    let ch = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(pf_server::serve(listener, config, std::future::pending()));
        for _ in 0..250 {
            if let Ok(c) = Channel::from_shared(format!("http://{addr}"))
                .unwrap()
                .connect()
                .await
            {
                return c;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("fuzz server did not come up");
    });
    Arc::new(Fixture { rt, ch, _dir: dir })
}

fn call(f: &Fixture, method: &str, body: Vec<u8>) -> Result<(), tonic::Status> {
    f.rt.block_on(async {
        let mut g = tonic::client::Grpc::new(f.ch.clone());
        g.ready().await.unwrap();
        let path = format!("/pressureforecast.v1.ForecastService/{method}")
            .parse()
            .unwrap();
        let mut req = Request::new(body);
        req.set_timeout(Duration::from_secs(20));
        g.unary(req, path, Raw).await.map(|_| ())
    })
}

fn check(method: &str, body: &[u8], r: Result<(), tonic::Status>) -> Result<(), TestCaseError> {
    if let Err(e) = r {
        prop_assert!(
            !matches!(e.code(), Code::Internal | Code::Unknown),
            "{method} with {} bytes {:02x?}: {e:?}",
            body.len(),
            &body[..body.len().min(64)]
        );
        prop_assert!(
            e.message().len() <= 2048,
            "{method}: message of {} bytes",
            e.message().len()
        );
    }
    Ok(())
}

#[test]
fn every_rpc_survives_random_and_mutated_requests() {
    let f = fixture();
    // The case the seeds name.
    let seeds = seeds();
    call(&f, "CreateCase", seeds[0].1.clone()).unwrap();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    for (method, seed) in &seeds {
        let f2 = f.clone();
        runner
            .run(&proptest::collection::vec(any::<u8>(), 0..256), |bytes| {
                let r = call(&f2, method, bytes.clone());
                check(method, &bytes, r)
            })
            .unwrap();
        let f2 = f.clone();
        let n = seed.len().max(1);
        runner
            .run(&proptest::collection::vec((0..n, any::<u8>()), 1..6), |flips| {
                let mut body = seed.clone();
                for (i, b) in flips {
                    if let Some(x) = body.get_mut(i) {
                        *x ^= b | 1;
                    }
                }
                let r = call(&f2, method, body.clone());
                check(method, &body, r)
            })
            .unwrap();
    }
    // Still serving.
    call(&f, "GetModel", Vec::new()).unwrap();
    call(&f, "GetCase", seeds[1].1.clone()).unwrap();
}
