//! RunScenario, ComparePolicies and the signal roles end to end on an ephemeral port, checked against the
//! engine's own numbers (`pf_core::v2::analysis`): the same forecasts to 1e-12, compare's difference b - a,
//! the essay's claim that monthly sanctions raise P(deal), every invalid scenario field named by its path with
//! the case left unchanged, and the request cost refusing scenarios over the budget.

use std::time::Duration;

use chrono::NaiveDate;
use pf_core::v2::{self, Fate, Role, Scenario};
use pf_core::{Case, Model, Signal};
use pf_proto::convert::{ScenarioRun, date_to_proto};
use pf_proto::v1 as pb;
use pf_proto::v1::forecast_service_client::ForecastServiceClient;
use pf_server::Config;
use tokio::sync::oneshot;
use tonic::Code;
use tonic::transport::Channel;
use tonic_types::StatusExt;

#[path = "common/backend.rs"]
mod backend;
use backend::Backend;

backend::backend_tests!(
    scenarios_and_comparisons_equal_the_engine,
    monthly_sanctions_raise_the_chance_of_a_deal,
    roles_are_listed,
    invalid_scenarios_name_the_field_and_change_nothing,
    scenarios_over_the_budget_are_refused,
    a_v1_model_has_no_scenarios,
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

    /// A client, once the server accepts connections (it is bound already; the loop waits for its accept
    /// loop, not for a time).
    async fn client(&self) -> ForecastServiceClient<Channel> {
        let url = format!("http://{}", self.addr);
        for _ in 0..500 {
            if let Ok(c) = ForecastServiceClient::connect(url.clone()).await {
                return c;
            }
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("server did not come up on {url}");
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(20), self.handle)
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

fn pd(s: &str) -> Option<pf_proto::google::r#type::Date> {
    Some(date_to_proto(d(s)))
}

/// The shipped North Korea case, read with the shipped model.
fn north_korea() -> Case {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/cases/north_korea.json"
    ))
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    Case::from_json(&v, &Model::default_model()).unwrap()
}

/// A case with no signals (the essay's synthetic cases).
fn empty_case(id: &str) -> Case {
    Case::new(id, "USA", "PRK", d("2017-01-20"), d("2021-01-20")).unwrap()
}

async fn create(c: &mut ForecastServiceClient<Channel>, case: &Case) {
    c.create_case(pb::CreateCaseRequest {
        coercion_case: Some(pb::Case::from(case)),
    })
    .await
    .unwrap();
}

fn v2_model() -> v2::ModelV2 {
    let m = Model::default_model();
    assert_eq!(m.format_version(), 2, "the shipped default model is v2");
    m.as_v2().unwrap().clone()
}

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

fn reason(s: &tonic::Status) -> String {
    s.get_error_details().error_info().unwrap().reason.clone()
}

fn assert_close(p: &pb::Forecast, f: &pf_core::Forecast) {
    assert_eq!(p.as_of, pd(&f.as_of.to_string()));
    assert_eq!(p.term_end, pd(&f.term_end.to_string()));
    assert_eq!(p.outcome_order, f.outcomes);
    for (o, x) in f.outcomes.iter().zip(&f.probabilities) {
        assert!(
            (p.probabilities[o] - x).abs() <= 1e-12,
            "{o}: {} vs {x}",
            p.probabilities[o]
        );
    }
    for (r, x) in f.regimes.iter().zip(&f.regime_probabilities) {
        assert!((p.regimes[r] - x).abs() <= 1e-12, "{r}");
    }
    assert_eq!(p.signals_used as usize, f.signals_used);
    let m = p.model.as_ref().expect("every forecast names its model");
    assert_eq!(Some(&m.hash), f.model.as_ref().map(|m| &m.hash));
}

/// Relief in the future, sanctions monthly, the leader leaving, a hypothetical talk in the past.
fn rich_scenario() -> Scenario {
    Scenario {
        name: "relief and pressure".into(),
        signals: vec![
            Signal::new("talks_held", d("2018-10-20")),
            Signal::new("sanctions_relief", d("2019-03-01")),
            Signal::new("third_party_circumvention", d("2019-05-01")),
        ],
        monthly: vec!["sanctions_tightened".into()],
        policy_continues: true,
        fate: Some(Fate::Leaves),
        term_end: Some(d("2020-12-31")),
        reelection_eligible: None,
    }
}

async fn scenarios_and_comparisons_equal_the_engine(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let srv = TestServer::start(config(backend, &dir)).await;
    let mut c = srv.client().await;
    let case = north_korea();
    create(&mut c, &case).await;
    let m = v2_model();
    let as_of = d("2018-10-31");

    let sc = rich_scenario();
    let r = c
        .run_scenario(pb::RunScenarioRequest {
            case_id: case.id.clone(),
            as_of: pd("2018-10-31"),
            scenario: Some(pb::Scenario::from(&sc)),
        })
        .await
        .unwrap()
        .into_inner();
    let run = ScenarioRun::try_from(r.clone()).unwrap();
    let want = v2::scenario_forecast(&m, &case, as_of, &sc).unwrap();
    let base = v2::scenario_forecast(&m, &case, as_of, &Scenario::default()).unwrap();
    assert_close(r.scenario.as_ref().unwrap(), &want);
    assert_close(r.baseline.as_ref().unwrap(), &base);
    // The default future is the plain forecast.
    assert_close(
        r.baseline.as_ref().unwrap(),
        &v2::forecast(&m, &case, as_of).unwrap(),
    );
    for (i, o) in want.outcomes.iter().enumerate() {
        assert!(
            (run.delta[i] - (want.probabilities[i] - base.probabilities[i])).abs() <= 1e-12,
            "{o}"
        );
    }
    let state = v2::analysis::scenario_state(&m, &case, as_of, &sc).unwrap();
    assert!((r.leader_stays - state.leader_stays).abs() <= 1e-12);
    assert!(
        r.leader_stays.abs() <= 1e-12,
        "the scenario reveals that the leader leaves"
    );
    let base_state = v2::filter(&m, &v2::Terms::of_case(&case), case.signals(), as_of).unwrap();
    assert!((r.baseline_leader_stays - base_state.leader_stays).abs() <= 1e-12);
    assert!(r.baseline_leader_stays > 0.0 && r.baseline_leader_stays < 1.0);
    assert_eq!(
        r.scenario.as_ref().unwrap().term_end,
        pd("2020-12-31"),
        "the scenario's term end"
    );

    // Eligibility: an ineligible leader has no stalemate.
    let ineligible = Scenario {
        reelection_eligible: Some(false),
        ..Scenario::default()
    };
    let r = c
        .run_scenario(pb::RunScenarioRequest {
            case_id: case.id.clone(),
            as_of: pd("2018-10-31"),
            scenario: Some(pb::Scenario::from(&ineligible)),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.scenario.as_ref().unwrap().probabilities["stalemate"], 0.0);
    assert_close(
        r.scenario.as_ref().unwrap(),
        &v2::scenario_forecast(&m, &case, as_of, &ineligible).unwrap(),
    );

    // Two policies in one call: both forecasts are the engine's and the difference is b - a.
    let a = Scenario {
        signals: vec![Signal::new("sanctions_relief", d("2019-03-01"))],
        ..Scenario::default()
    };
    let b = Scenario {
        monthly: vec!["sanctions_tightened".into()],
        ..Scenario::default()
    };
    let cmp = c
        .compare_policies(pb::ComparePoliciesRequest {
            case_id: case.id.clone(),
            as_of: pd("2018-10-31"),
            a: Some(pb::Scenario::from(&a)),
            b: Some(pb::Scenario::from(&b)),
        })
        .await
        .unwrap()
        .into_inner();
    let (pa, pb_) = (cmp.a.as_ref().unwrap(), cmp.b.as_ref().unwrap());
    let want = v2::compare(&m, &case, as_of, &a, &b).unwrap();
    assert_close(pa, &want.a);
    assert_close(pb_, &want.b);
    for o in &want.a.outcomes {
        let diff = pb_.probabilities[o] - pa.probabilities[o];
        assert!((cmp.difference[o] - diff).abs() <= 1e-12, "{o}");
    }
    let back = v2::PolicyComparison::try_from(cmp.clone()).unwrap();
    for (x, y) in back.difference.iter().zip(&want.difference) {
        assert!((x - y).abs() <= 1e-12);
    }
    assert!(
        (cmp.difference.values().sum::<f64>()).abs() <= 1e-12,
        "differences of two distributions sum to 0"
    );
    // A policy not set is the default future.
    let cmp = c
        .compare_policies(pb::ComparePoliciesRequest {
            case_id: case.id.clone(),
            as_of: pd("2018-10-31"),
            a: None,
            b: Some(pb::Scenario::from(&b)),
        })
        .await
        .unwrap()
        .into_inner();
    assert_close(cmp.a.as_ref().unwrap(), &v2::forecast(&m, &case, as_of).unwrap());
    srv.stop().await;
}

/// The essay's claim (a), through the service: monthly sanctions from now raise P(deal) above the same case
/// with no new actions, on the shipped model.
async fn monthly_sanctions_raise_the_chance_of_a_deal(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let srv = TestServer::start(config(backend, &dir)).await;
    let mut c = srv.client().await;
    for case in [empty_case("synthetic"), north_korea()] {
        create(&mut c, &case).await;
        for as_of in ["2017-02-20", "2018-10-31"] {
            let cmp = c
                .compare_policies(pb::ComparePoliciesRequest {
                    case_id: case.id.clone(),
                    as_of: pd(as_of),
                    a: Some(pb::Scenario::default()),
                    b: Some(pb::Scenario {
                        monthly: vec!["sanctions_tightened".into()],
                        ..Default::default()
                    }),
                })
                .await
                .unwrap()
                .into_inner();
            let (a, b) = (cmp.a.unwrap(), cmp.b.unwrap());
            assert!(
                b.probabilities["deal"] > a.probabilities["deal"],
                "{} at {as_of}: monthly sanctions {} vs no new actions {}",
                case.id,
                b.probabilities["deal"],
                a.probabilities["deal"]
            );
            assert!(cmp.difference["deal"] > 0.0);
        }
    }
    srv.stop().await;
}

async fn roles_are_listed(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let srv = TestServer::start(config(backend, &dir)).await;
    let mut c = srv.client().await;
    let m = v2_model();
    let types = c
        .list_signal_types(pb::ListSignalTypesRequest {})
        .await
        .unwrap()
        .into_inner()
        .types;
    assert_eq!(types.len(), m.signal_types().len());
    let mut seen = std::collections::BTreeSet::new();
    for t in &types {
        let role = pf_proto::convert::role_from_proto("role", t.role).unwrap();
        assert_eq!(Some(role), m.role(&t.name), "{}", t.name);
        seen.insert(format!("{role:?}"));
        let spec = &m.spec().signals[&t.name];
        assert_eq!(t.repudiates, spec.repudiates);
        assert_eq!(
            pf_proto::convert::fate_from_proto("reveals", t.reveals).unwrap(),
            spec.reveals
        );
        assert_eq!(role == Role::Fate, spec.reveals.is_some());
    }
    assert_eq!(seen.len(), 5, "the shipped model has every role: {seen:?}");
    let g = c.get_model(pb::GetModelRequest {}).await.unwrap().into_inner();
    assert_eq!(g.format_version, 2);
    assert_eq!(g.roles.len(), g.signal_types.len());
    for t in &types {
        assert_eq!(g.roles[&t.name], t.role);
    }
    assert_eq!(g.model_id.unwrap().hash, m.hash());
    srv.stop().await;
}

async fn case_as_stored(c: &mut ForecastServiceClient<Channel>, id: &str) -> pb::Case {
    c.get_case(pb::GetCaseRequest {
        case_id: id.into(),
        page_size: 1000,
    })
    .await
    .unwrap()
    .into_inner()
    .coercion_case
    .unwrap()
}

fn psig(ty: &str, date: &str) -> pb::Signal {
    pb::Signal {
        signal_type: ty.into(),
        date: pd(date),
        ..Default::default()
    }
}

async fn invalid_scenarios_name_the_field_and_change_nothing(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let srv = TestServer::start(config(backend, &dir)).await;
    let mut c = srv.client().await;
    let case = north_korea();
    create(&mut c, &case).await;
    let before = case_as_stored(&mut c, &case.id).await;
    let bad: Vec<(pb::Scenario, &str)> = vec![
        // An evidence-role type as a future action.
        (
            pb::Scenario {
                signals: vec![psig("talks_held", "2019-03-01")],
                ..Default::default()
            },
            "scenario.signals[0].signal_type",
        ),
        // A deal as a future action.
        (
            pb::Scenario {
                signals: vec![
                    psig("sanctions_relief", "2019-03-01"),
                    psig("agreement_signed", "2019-04-01"),
                ],
                ..Default::default()
            },
            "scenario.signals[1].signal_type",
        ),
        // A future action after the scenario's term end.
        (
            pb::Scenario {
                signals: vec![psig("sanctions_relief", "2019-09-01")],
                term_end: pd("2019-06-01"),
                ..Default::default()
            },
            "scenario.signals[0].date",
        ),
        // A future action on the term end (nothing after T - 1 counts).
        (
            pb::Scenario {
                signals: vec![psig("sanctions_relief", "2021-01-20")],
                ..Default::default()
            },
            "scenario.signals[0].date",
        ),
        // A future action after the case's term end.
        (
            pb::Scenario {
                signals: vec![psig("sanctions_relief", "2022-01-01")],
                ..Default::default()
            },
            "scenario.signals[0].date",
        ),
        // An unknown fate.
        (
            pb::Scenario {
                fate: 7,
                ..Default::default()
            },
            "scenario.fate",
        ),
        // "Stays" for a leader who cannot stay.
        (
            pb::Scenario {
                fate: pb::Fate::Stays as i32,
                reelection_eligible: Some(false),
                ..Default::default()
            },
            "scenario.fate",
        ),
        // An evidence type repeated monthly, an unknown type.
        (
            pb::Scenario {
                monthly: vec!["sanctions_tightened".into(), "talks_held".into()],
                ..Default::default()
            },
            "scenario.monthly[1]",
        ),
        (
            pb::Scenario {
                monthly: vec!["no_such_type".into()],
                ..Default::default()
            },
            "scenario.monthly[0]",
        ),
        (
            pb::Scenario {
                signals: vec![psig("no_such_type", "2018-01-01")],
                ..Default::default()
            },
            "scenario.signals[0].signal_type",
        ),
        // A term end before the start, a partial date.
        (
            pb::Scenario {
                term_end: pd("2016-01-01"),
                ..Default::default()
            },
            "scenario.term_end",
        ),
        (
            pb::Scenario {
                signals: vec![pb::Signal {
                    signal_type: "sanctions_relief".into(),
                    date: Some(pf_proto::google::r#type::Date {
                        year: 2019,
                        month: 2,
                        day: 30,
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            },
            "scenario.signals[0].date",
        ),
    ];
    for (sc, path) in bad {
        let e = c
            .run_scenario(pb::RunScenarioRequest {
                case_id: case.id.clone(),
                as_of: pd("2018-10-31"),
                scenario: Some(sc.clone()),
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{path}: {e:?}");
        assert_eq!(field(&e), path, "{e:?}");
        assert_eq!(reason(&e), "INVALID_FIELD");
        // The same scenario as policy b of a comparison is named under `b`.
        let e = c
            .compare_policies(pb::ComparePoliciesRequest {
                case_id: case.id.clone(),
                as_of: pd("2018-10-31"),
                a: None,
                b: Some(sc),
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument);
        assert_eq!(field(&e), path.replacen("scenario.", "b.", 1));
        assert_eq!(case_as_stored(&mut c, &case.id).await, before, "{path}");
    }
    // A valid scenario changes nothing either.
    c.run_scenario(pb::RunScenarioRequest {
        case_id: case.id.clone(),
        as_of: pd("2018-10-31"),
        scenario: Some(pb::Scenario::from(&rich_scenario())),
    })
    .await
    .unwrap();
    assert_eq!(case_as_stored(&mut c, &case.id).await, before);
    let e = c
        .run_scenario(pb::RunScenarioRequest {
            case_id: "nope".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    srv.stop().await;
}

/// The cost of a request is known before the work: a scenario is refused with RESOURCE_EXHAUSTED exactly when
/// the documented formula is over `max_cost`, and the future actions it generates count.
async fn scenarios_over_the_budget_are_refused(backend: Backend) {
    let case = empty_case("budget");
    let as_of = d("2017-02-20");
    let m = v2_model();
    let is_action = |t: &str| m.role(t) == Some(Role::Action);
    let scenarios: Vec<Scenario> = (0..4)
        .map(|n| Scenario {
            monthly: ["sanctions_tightened", "military_threat", "diplomatic_isolation"][..n]
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            signals: vec![Signal::new("sanctions_relief", d("2019-03-01")); n],
            ..Scenario::default()
        })
        .collect();
    let cost = |sc: &Scenario| {
        let f = pf_server::limits::scenario_future(&case, as_of, sc, is_action);
        (
            2 * (pf_server::limits::pass(&case) + pf_server::limits::scenario_pass(&case, sc, f)),
            pf_server::limits::scenario_pass(&case, &Scenario::default(), 0)
                + pf_server::limits::scenario_pass(&case, sc, f),
        )
    };
    // Future actions count: each scenario costs more than the one before.
    for w in scenarios.windows(2) {
        assert!(cost(&w[1]).0 > cost(&w[0]).0 && cost(&w[1]).1 > cost(&w[0]).1);
    }
    for max_cost in [
        cost(&scenarios[0]).0,
        cost(&scenarios[2]).0,
        cost(&scenarios[2]).1,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let srv = TestServer::start(Config {
            max_cost,
            ..config(backend, &dir)
        })
        .await;
        let mut c = srv.client().await;
        create(&mut c, &case).await;
        for sc in &scenarios {
            let (run, cmp) = cost(sc);
            let r = c
                .run_scenario(pb::RunScenarioRequest {
                    case_id: case.id.clone(),
                    as_of: pd("2017-02-20"),
                    scenario: Some(pb::Scenario::from(sc)),
                })
                .await;
            match r {
                Ok(_) => assert!(run <= max_cost, "{run} > {max_cost} was accepted"),
                Err(e) => {
                    assert!(run > max_cost, "{run} <= {max_cost} was refused: {e:?}");
                    assert_eq!(e.code(), Code::ResourceExhausted);
                    assert_eq!(reason(&e), "LIMIT_EXCEEDED");
                    assert!(e.message().contains("max_cost"), "{}", e.message());
                }
            }
            let r = c
                .compare_policies(pb::ComparePoliciesRequest {
                    case_id: case.id.clone(),
                    as_of: pd("2017-02-20"),
                    a: None,
                    b: Some(pb::Scenario::from(sc)),
                })
                .await;
            match r {
                Ok(_) => assert!(cmp <= max_cost),
                Err(e) => {
                    assert!(cmp > max_cost, "{cmp} <= {max_cost}: {e:?}");
                    assert_eq!(e.code(), Code::ResourceExhausted);
                }
            }
        }
        srv.stop().await;
    }
}

async fn a_v1_model_has_no_scenarios(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let model = std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../models/maximum_pressure_v1.toml"
    ));
    let srv = TestServer::start(Config {
        model: Some(model.clone()),
        ..config(backend, &dir)
    })
    .await;
    let mut c = srv.client().await;
    let v1 = Model::load(&model).unwrap();
    let case = Case::new("v1", "USA", "PRK", d("2017-01-20"), d("2021-01-20")).unwrap();
    create(&mut c, &case).await;
    let e = c
        .run_scenario(pb::RunScenarioRequest {
            case_id: "v1".into(),
            as_of: pd("2018-10-31"),
            scenario: None,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(field(&e), "scenario");
    let types = c
        .list_signal_types(pb::ListSignalTypesRequest {})
        .await
        .unwrap()
        .into_inner()
        .types;
    assert_eq!(types.len(), v1.signal_types().len());
    assert!(types.iter().all(|t| t.role == pb::SignalRole::Evidence as i32));
    let g = c.get_model(pb::GetModelRequest {}).await.unwrap().into_inner();
    assert_eq!(g.format_version, 1);
    srv.stop().await;
}
