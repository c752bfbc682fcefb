//! Incremental forecasts through the service (issue 14): the forecasts the server answers from its cases'
//! checkpoints equal the full forecast of the same case computed with pf-core directly (to 1e-12), after random
//! appends in and out of date order, retractions and updates, at random as-of dates, and with writers and a reader
//! on one case at once (each reply the forecast of the version it names); and an append in date order
//! to a large case filters only the new signals (counted by `pf_checkpoints_total` and
//! `pf_forecast_signals_filtered_total`, not timed). Every test runs against both stores.

use std::time::Duration;

use chrono::{Days, NaiveDate};
use pf_core::{Case, Model, Signal};
use pf_proto::v1 as pb;
use pf_proto::v1::forecast_service_client::ForecastServiceClient;
use pf_server::Config;
use tokio::sync::oneshot;
use tonic::transport::Channel;

#[path = "common/backend.rs"]
mod backend;
use backend::Backend;

backend::backend_tests!(
    random_changes_match_full_forecasts,
    an_in_order_append_filters_only_the_new_signals,
    concurrent_writers_get_the_forecast_of_their_version,
);

struct TestServer {
    addr: std::net::SocketAddr,
    metrics: std::net::SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    handle: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl TestServer {
    async fn start(backend: Backend, dir: &tempfile::TempDir) -> TestServer {
        let metrics = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let config = Config {
            db: backend.db(dir),
            listen: "127.0.0.1:0".parse().unwrap(),
            metrics_listen: Some(metrics),
            ..Config::default()
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(pf_server::serve(listener, config, async {
            let _ = stopped.await;
        }));
        TestServer {
            addr,
            metrics,
            stop: Some(stop),
            handle,
        }
    }

    async fn client(&self) -> ForecastServiceClient<Channel> {
        let url = format!("http://{}", self.addr);
        for _ in 0..500 {
            if let Ok(c) = ForecastServiceClient::connect(url.clone()).await {
                return c.max_decoding_message_size(64 << 20);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("server did not come up on {url}");
    }

    /// The value of a metric line (`name` with its labels) on the metrics endpoint, once it answers.
    async fn metric(&self, name: &str) -> f64 {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        for _ in 0..500 {
            if let Ok(mut s) = tokio::net::TcpStream::connect(self.metrics).await {
                s.write_all(b"GET /metrics HTTP/1.1\r\nhost: x\r\n\r\n")
                    .await
                    .unwrap();
                let mut out = String::new();
                s.read_to_string(&mut out).await.unwrap();
                return out
                    .lines()
                    .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
                    .and_then(|l| l.rsplit(' ').next()?.parse().ok())
                    .unwrap_or_else(|| panic!("no metric {name} in {out}"));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the metrics endpoint did not come up");
    }

    /// The checkpoint counters: (hit, advance, rebuild, full, signals filtered).
    async fn counters(&self) -> [f64; 5] {
        let mut out = [0.0; 5];
        for (i, kind) in ["hit", "advance", "rebuild", "full"].into_iter().enumerate() {
            out[i] = self
                .metric(&format!("pf_checkpoints_total{{kind=\"{kind}\"}}"))
                .await;
        }
        out[4] = self.metric("pf_forecast_signals_filtered_total").await;
        out
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

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

const START: &str = "2017-01-20";
const TERM_END: &str = "2021-01-20";
const TYPES: [&str; 4] = [
    "sanctions_tightened",
    "talks_held",
    "talks_refused",
    "summit_held",
];

fn header(id: &str) -> pb::Case {
    pb::Case {
        id: id.into(),
        sender: "USA".into(),
        target: "PRK".into(),
        start: Some(pf_proto::convert::date_to_proto(d(START))),
        term_end: Some(pf_proto::convert::date_to_proto(d(TERM_END))),
        ..Default::default()
    }
}

/// The same case in pf-core, kept beside the server's.
fn local(id: &str) -> Case {
    Case::new(id, "USA", "PRK", d(START), d(TERM_END)).unwrap()
}

fn to_proto(s: &Signal) -> pb::Signal {
    pb::Signal::from(s)
}

/// A small deterministic generator (SplitMix64), so that a failure replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A day of the span, `start + [lo, hi)` days.
    fn day(&mut self, lo: u64, hi: u64) -> NaiveDate {
        d(START) + Days::new(lo + self.below(hi - lo))
    }
}

fn span_days() -> u64 {
    (d(TERM_END) - d(START)).num_days() as u64
}

/// The server's forecast equals pf-core's full forecast of the same case, to 1e-12.
fn assert_close(p: &pb::Forecast, case: &Case, as_of: NaiveDate, what: &str) {
    let f = Model::default_model().forecast(case, as_of).unwrap();
    assert_eq!(
        p.as_of,
        Some(pf_proto::convert::date_to_proto(as_of)),
        "{what}: as of"
    );
    assert_eq!(p.signals_used as usize, f.signals_used, "{what}: signals used");
    assert!(
        (p.log_likelihood - f.log_likelihood).abs() < 1e-12,
        "{what}: log-likelihood {} vs {}",
        p.log_likelihood,
        f.log_likelihood
    );
    for (o, x) in f.outcomes.iter().zip(&f.probabilities) {
        assert!(
            (p.probabilities[o] - x).abs() < 1e-12,
            "{what}: outcome {o}: {} vs {x}",
            p.probabilities[o]
        );
    }
    for (r, x) in f.regimes.iter().zip(&f.regime_probabilities) {
        assert!(
            (p.regimes[r] - x).abs() < 1e-12,
            "{what}: regime {r}: {} vs {x}",
            p.regimes[r]
        );
    }
}

/// Append `signals` through the service and to `case`; returns the reply.
async fn append(
    c: &mut ForecastServiceClient<Channel>,
    case: &mut Case,
    signals: Vec<Signal>,
    as_of: NaiveDate,
) -> pb::AppendSignalsResponse {
    let r = c
        .append_signals(pb::AppendSignalsRequest {
            case_id: case.id.clone(),
            signals: signals.iter().map(to_proto).collect(),
            as_of: Some(pf_proto::convert::date_to_proto(as_of)),
        })
        .await
        .unwrap()
        .into_inner();
    let report = case.append(signals, &Model::default_model()).unwrap();
    assert_eq!(r.added as usize, report.added);
    assert_eq!(r.signal_count as usize, case.signal_count());
    r
}

/// Random appends (in date order and not), retractions, updates and forecasts at random as-of dates on a case
/// large enough for several checkpoints: every reply equals the full forecast of the same case.
async fn random_changes_match_full_forecasts(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let srv = TestServer::start(backend, &dir).await;
    let mut c = srv.client().await;
    let mut rng = Rng(0x5EED_0014);
    let mut case = local("inc");
    c.create_case(pb::CreateCaseRequest {
        coercion_case: Some(header("inc")),
    })
    .await
    .unwrap();
    let mut n = 0;
    let mut signal = |rng: &mut Rng, date: NaiveDate| {
        n += 1;
        Signal::new(TYPES[rng.below(4) as usize], date).with_id(format!("s{n}"))
    };
    // 2,600 signals over the first half of the span (checkpoints every 1,024 signals or so).
    let bulk: Vec<Signal> = (0..2600)
        .map(|_| {
            let date = rng.day(0, span_days() / 2);
            signal(&mut rng, date)
        })
        .collect();
    let as_of = d("2019-06-01");
    let r = append(&mut c, &mut case, bulk, as_of).await;
    assert_close(r.forecast.as_ref().unwrap(), &case, as_of, "bulk");
    let mut kinds = [0usize; 4];
    for step in 0..60 {
        let as_of = rng.day(0, span_days() + 30);
        let last = case.signals().last().map_or(d(START), |s| s.date);
        match rng.below(10) {
            // An append in date order: on or after the last signal's day.
            0..=3 => {
                let k = 1 + rng.below(3);
                let from = (last - d(START)).num_days() as u64;
                let batch = (0..k)
                    .map(|_| {
                        let date = rng.day(from, (from + 5).min(span_days()));
                        signal(&mut rng, date)
                    })
                    .collect();
                let r = append(&mut c, &mut case, batch, as_of).await;
                kinds[0] += 1;
                assert_close(
                    r.forecast.as_ref().unwrap(),
                    &case,
                    as_of,
                    &format!("step {step}: in order"),
                );
            }
            // Out of date order: anywhere in the span.
            4..=5 => {
                let k = 1 + rng.below(3);
                let batch = (0..k)
                    .map(|_| {
                        let date = rng.day(0, span_days());
                        signal(&mut rng, date)
                    })
                    .collect();
                let r = append(&mut c, &mut case, batch, as_of).await;
                kinds[1] += 1;
                assert_close(
                    r.forecast.as_ref().unwrap(),
                    &case,
                    as_of,
                    &format!("step {step}: out of order"),
                );
            }
            // A retraction: of the last signal, or of any.
            6..=7 => {
                let all = case.signals();
                let i = if rng.below(2) == 0 {
                    all.len() - 1
                } else {
                    rng.below(all.len() as u64) as usize
                };
                let id = all[i].id.as_ref().unwrap().to_string();
                let r = c
                    .retract_signal(pb::RetractSignalRequest {
                        case_id: "inc".into(),
                        signal_id: id.clone(),
                        reason: "test".into(),
                        as_of: Some(pf_proto::convert::date_to_proto(as_of)),
                    })
                    .await
                    .unwrap()
                    .into_inner();
                assert!(r.retracted);
                case.remove(&id).unwrap();
                kinds[2] += 1;
                assert_close(
                    r.forecast.as_ref().unwrap(),
                    &case,
                    as_of,
                    &format!("step {step}: retraction"),
                );
            }
            // A forecast alone; now and then after an update of the description (no signal changes).
            _ => {
                if rng.below(3) == 0 {
                    c.update_case(pb::UpdateCaseRequest {
                        coercion_case: Some(pb::Case {
                            id: "inc".into(),
                            description: format!("step {step}"),
                            ..Default::default()
                        }),
                        update_mask: Some(prost_types::FieldMask {
                            paths: vec!["description".into()],
                        }),
                    })
                    .await
                    .unwrap();
                }
                let r = c
                    .get_forecast(pb::GetForecastRequest {
                        case_id: "inc".into(),
                        as_of: Some(pf_proto::convert::date_to_proto(as_of)),
                        ..Default::default()
                    })
                    .await
                    .unwrap()
                    .into_inner();
                kinds[3] += 1;
                assert_close(
                    r.forecast.as_ref().unwrap(),
                    &case,
                    as_of,
                    &format!("step {step}: forecast"),
                );
            }
        }
    }
    assert!(kinds.iter().all(|&k| k > 0), "every kind of step ran: {kinds:?}");
    // The checkpoints answered (advanced) rather than being rebuilt for every change.
    let [_, advances, rebuilds, _, _] = srv.counters().await;
    assert!(
        advances >= (kinds[0] + kinds[1] + kinds[2]) as f64,
        "every write's reply advanced the checkpoints: {advances} advances, {rebuilds} rebuilds, steps {kinds:?}"
    );
    srv.stop().await;
}

/// An append in date order of one signal to a case of 20,000 signals filters that signal only (beyond the
/// day's), and its reply is the full forecast.
async fn an_in_order_append_filters_only_the_new_signals(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let srv = TestServer::start(backend, &dir).await;
    let mut c = srv.client().await;
    let mut case = local("big");
    c.create_case(pb::CreateCaseRequest {
        coercion_case: Some(header("big")),
    })
    .await
    .unwrap();
    let mut rng = Rng(7);
    let as_of = d("2020-12-31");
    for b in 0..2 {
        let batch = (0..10_000)
            .map(|i| {
                let date = rng.day(0, 900);
                Signal::new(TYPES[i % 4], date).with_id(format!("b{b}-{i}"))
            })
            .collect();
        append(&mut c, &mut case, batch, as_of).await;
    }
    let before = srv.counters().await;
    let mut day = d("2019-09-01");
    for i in 0..5 {
        // A new last day, then the same day again.
        if i % 2 == 0 {
            day = day + Days::new(3);
        }
        let s = Signal::new(TYPES[i % 4], day).with_id(format!("new-{i}"));
        let r = append(&mut c, &mut case, vec![s], as_of).await;
        assert_close(r.forecast.as_ref().unwrap(), &case, as_of, &format!("append {i}"));
    }
    let after = srv.counters().await;
    let delta: Vec<f64> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
    assert_eq!(
        (delta[1], delta[2], delta[3]),
        (5.0, 0.0, 0.0),
        "five appends in date order: five advances, no rebuild, no full forecast ({delta:?})"
    );
    assert_eq!(
        delta[4], 7.0,
        "five appends of one signal each filtered {} signals of 20,000: expected 7 (each new signal, and the day's \
         earlier one for the two appended to a day that had one already)",
        delta[4]
    );
    srv.stop().await;
}

/// Writers appending to one case at once (their versions in flight together, some retried after a conflict) and a
/// reader forecasting meanwhile: every reply is the full forecast of the case at the version it names (the
/// signals of every batch committed up to it), whichever version the checkpoints reflected when it was made.
async fn concurrent_writers_get_the_forecast_of_their_version(backend: Backend) {
    const WRITERS: usize = 4;
    const BATCHES: usize = 12;
    let dir = tempfile::tempdir().unwrap();
    let srv = TestServer::start(backend, &dir).await;
    let mut c = srv.client().await;
    c.create_case(pb::CreateCaseRequest {
        coercion_case: Some(header("conc")),
    })
    .await
    .unwrap();
    let as_of = d("2020-12-31");
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let mut c = srv.client().await;
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(100 + w as u64);
            let mut out = Vec::new();
            for b in 0..BATCHES {
                // Every other batch in date order (after the writer's earlier ones), the others anywhere.
                let batch: Vec<Signal> = (0..3)
                    .map(|i| {
                        let date = if b % 2 == 0 {
                            d(START) + Days::new((b * 100 + i) as u64 + 10 * w as u64)
                        } else {
                            rng.day(0, span_days())
                        };
                        Signal::new(TYPES[(b + i) % 4], date).with_id(format!("w{w}-{b}-{i}"))
                    })
                    .collect();
                let r = c
                    .append_signals(pb::AppendSignalsRequest {
                        case_id: "conc".into(),
                        signals: batch.iter().map(to_proto).collect(),
                        as_of: Some(pf_proto::convert::date_to_proto(as_of)),
                    })
                    .await
                    .unwrap()
                    .into_inner();
                out.push((r.version, batch, r.forecast.unwrap()));
            }
            out
        }));
    }
    let reader = {
        let mut c = srv.client().await;
        tokio::spawn(async move {
            let mut out = Vec::new();
            for i in 0..40 {
                let as_of = d(START) + Days::new(30 * i);
                let r = c
                    .get_forecast(pb::GetForecastRequest {
                        case_id: "conc".into(),
                        as_of: Some(pf_proto::convert::date_to_proto(as_of)),
                        ..Default::default()
                    })
                    .await
                    .unwrap()
                    .into_inner();
                out.push((r.version, as_of, r.forecast.unwrap()));
            }
            out
        })
    };
    let mut batches = Vec::new();
    for t in tasks {
        batches.extend(t.await.unwrap());
    }
    let reads = reader.await.unwrap();
    // The case at each version: the batches committed up to it, in version order (version 1 is the empty case).
    batches.sort_by_key(|b| b.0);
    let versions: Vec<u64> = batches.iter().map(|b| b.0).collect();
    assert_eq!(versions, (2..2 + (WRITERS * BATCHES) as u64).collect::<Vec<_>>());
    let model = Model::default_model();
    let mut case = local("conc");
    let mut at = vec![case.clone()];
    for (version, batch, forecast) in &batches {
        case.append(batch.clone(), &model).unwrap();
        assert_close(forecast, &case, as_of, &format!("the reply of version {version}"));
        at.push(case.clone());
    }
    for (version, as_of, forecast) in &reads {
        assert_close(
            forecast,
            &at[*version as usize - 1],
            *as_of,
            &format!("a read of version {version}"),
        );
    }
    srv.stop().await;
}
