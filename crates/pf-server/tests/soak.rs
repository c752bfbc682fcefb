//! Soak: a server in a child process under mixed load (appends with unique ids, forecasts, reads, deletes),
//! killed with SIGKILL and restarted, cycle after cycle. Each cycle writes to its own cases; after the restart
//! that follows, a ledger of that cycle's acknowledged appends is checked (every acknowledged signal present
//! exactly once, no batch partly stored, no error other than those the kills cause) and the cycle's cases are
//! then deleted, so the data held stays about one cycle's worth and the server's resident memory can be held to
//! the bound: each cycle's peak within 20% of the warm-up cycle's (the second), plus 2 KB per signal
//! by which a cycle's appends exceed the warm-up cycle's (cycles end on a count of acknowledgements, so they
//! hold about as many signals each).
//!
//! The test runs a short form bounded by counts (`PF_SOAK_CYCLES` cycles of `PF_SOAK_ACKS` acknowledged
//! appends, default 3 and 150); `make soak` sets `PF_SOAK_SECONDS` to run cycles for that long. The child is this
//! test binary itself, re-run with `PF_SOAK_CHILD_DB` set (the `soak_child` test then serves and never ends).

use std::collections::{HashMap, HashSet};
use std::io::BufRead;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pf_proto::v1 as pb;
use pf_proto::v1::forecast_service_client::ForecastServiceClient;
use tonic::transport::Channel;

const WRITERS: usize = 4;
const READERS: usize = 2;

/// The child: serve the store named by `PF_SOAK_CHILD_DB` on an ephemeral port, print the address, and run until
/// killed. Without the variable, nothing.
#[test]
fn soak_child() {
    let Ok(db) = std::env::var("PF_SOAK_CHILD_DB") else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("listening {}", listener.local_addr().unwrap());
        let config = pf_server::Config {
            db: db.into(),
            ..pf_server::Config::default()
        };
        pf_server::serve(listener, config, std::future::pending())
            .await
            .unwrap();
    });
}

struct Child {
    proc: std::process::Child,
    addr: String,
}

fn spawn(db: &std::path::Path) -> Child {
    let mut proc = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "soak_child", "--nocapture", "--test-threads=1"])
        .env("PF_SOAK_CHILD_DB", db)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let out = proc.stdout.take().unwrap();
    let mut lines = std::io::BufReader::new(out).lines();
    let addr = loop {
        match lines.next() {
            Some(Ok(l)) => {
                // libtest may print `test soak_child ... ` before it on the same line.
                if let Some(a) = l.split("listening ").nth(1) {
                    break a.trim().to_owned();
                }
            }
            _ => panic!("the soak child ended before listening"),
        }
    };
    // Keep draining its stdout so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines.by_ref() {});
    Child { proc, addr }
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

async fn connect(addr: &str) -> ForecastServiceClient<Channel> {
    for _ in 0..500 {
        if let Ok(c) = Channel::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
        {
            return ForecastServiceClient::new(c);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("cannot connect to {addr}");
}

fn date(y: i32, m: i32, d: i32) -> Option<pf_proto::google::r#type::Date> {
    Some(pf_proto::google::r#type::Date {
        year: y,
        month: m,
        day: d,
    })
}

/// Acknowledged and uncertain batches (an append whose answer was lost may or may not be stored) of the cases
/// of the cycle not yet checked, and the totals of the cycles checked.
#[derive(Default)]
struct Ledger {
    cases: Vec<String>,
    acked: Vec<Vec<String>>,
    uncertain: Vec<Vec<String>>,
    errors: Vec<String>,
    checked_signals: usize,
    checked_uncertain: usize,
    lost: usize,
    duplicated: usize,
    partial: usize,
}

/// Every signal id of a case, through ListSignals pages.
async fn stored_ids(c: &mut ForecastServiceClient<Channel>, case: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut token = String::new();
    for _ in 0..100_000 {
        let p = c
            .list_signals(pb::ListSignalsRequest {
                case_id: case.into(),
                page_size: 1000,
                page_token: token.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        ids.extend(p.signals.into_iter().map(|s| s.id));
        token = p.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    ids
}

#[test]
fn soak_kill_9_cycles_lose_nothing_acknowledged() {
    if std::env::var("PF_SOAK_CHILD_DB").is_ok() {
        return;
    }
    let env = |k: &str, d: u64| std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d);
    let cycles = env("PF_SOAK_CYCLES", 3);
    let acks_per_cycle = env("PF_SOAK_ACKS", 150) as usize;
    let seconds = std::env::var("PF_SOAK_SECONDS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok());
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("soak.sqlite3");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut rss = Vec::new();
    let started = Instant::now();
    let mut cycle = 0u64;
    loop {
        let done = match seconds {
            Some(s) => started.elapsed() >= Duration::from_secs(s),
            None => cycle >= cycles,
        };
        if done {
            break;
        }
        let mut child = spawn(&db);
        let pid = child.proc.id();
        let addr = child.addr.clone();
        let ledger2 = ledger.clone();
        let peak = rt.block_on(async move {
            let mut c = connect(&addr).await;
            // Verify the ledger against the restarted store, then delete the cases checked.
            verify(&mut c, &ledger2).await;
            let old = std::mem::take(&mut ledger2.lock().unwrap().cases);
            for case in old {
                if let Err(e) = c
                    .delete_case(pb::DeleteCaseRequest {
                        case_id: case.clone(),
                    })
                    .await
                    && e.code() != tonic::Code::NotFound
                {
                    ledger2
                        .lock()
                        .unwrap()
                        .errors
                        .push(format!("delete {case}: {e:?}"));
                }
            }
            ledger2.lock().unwrap().cases = (0..WRITERS).map(|w| format!("soak-{cycle}-{w}")).collect();
            for w in 0..WRITERS {
                let _ = c
                    .create_case(pb::CreateCaseRequest {
                        coercion_case: Some(pb::Case {
                            id: format!("soak-{cycle}-{w}"),
                            sender: "USA".into(),
                            target: "PRK".into(),
                            start: date(2000, 1, 1),
                            term_end: date(2030, 1, 1),
                            ..Default::default()
                        }),
                    })
                    .await;
            }
            let acked_now = Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let mut tasks = Vec::new();
            for w in 0..WRITERS {
                let mut c = c.clone();
                let ledger = ledger2.clone();
                let acked_now = acked_now.clone();
                let stop = stop.clone();
                tasks.push(tokio::spawn(async move {
                    for n in 0..1_000_000u64 {
                        if stop.load(std::sync::atomic::Ordering::Relaxed) {
                            break;
                        }
                        let k = 1 + (n % 4) as usize;
                        let ids: Vec<String> = (0..k).map(|j| format!("c{cycle}-w{w}-{n}-{j}")).collect();
                        let signals = ids
                            .iter()
                            .enumerate()
                            .map(|(j, id)| pb::Signal {
                                id: id.clone(),
                                signal_type: "talks_held".into(),
                                date: date(2001 + (n % 20) as i32, 1 + (j % 12) as i32, 1 + (n % 28) as i32),
                                ..Default::default()
                            })
                            .collect();
                        let r = c
                            .append_signals(pb::AppendSignalsRequest {
                                case_id: format!("soak-{cycle}-{w}"),
                                signals,
                                as_of: date(2020, 1, 1),
                            })
                            .await;
                        let mut l = ledger.lock().unwrap();
                        match r {
                            Ok(_) => {
                                l.acked.push(ids);
                                acked_now.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            }
                            Err(e) => {
                                l.uncertain.push(ids);
                                if !stop.load(std::sync::atomic::Ordering::Relaxed) {
                                    l.errors.push(format!("append: {e:?}"));
                                }
                                break;
                            }
                        }
                    }
                }));
            }
            for r in 0..READERS {
                let mut c = c.clone();
                let stop = stop.clone();
                let ledger = ledger2.clone();
                tasks.push(tokio::spawn(async move {
                    for n in 0..1_000_000u64 {
                        if stop.load(std::sync::atomic::Ordering::Relaxed) {
                            break;
                        }
                        let case_id = format!("soak-{cycle}-{}", (n as usize + r) % WRITERS);
                        let res = match n % 3 {
                            0 => c
                                .get_forecast(pb::GetForecastRequest {
                                    case_id,
                                    as_of: date(2000 + (n % 30) as i32, 6, 1),
                                    ..Default::default()
                                })
                                .await
                                .map(|_| ()),
                            1 => c
                                .get_case(pb::GetCaseRequest {
                                    case_id,
                                    ..Default::default()
                                })
                                .await
                                .map(|_| ()),
                            _ => c.list_cases(pb::ListCasesRequest::default()).await.map(|_| ()),
                        };
                        if let Err(e) = res {
                            if !stop.load(std::sync::atomic::Ordering::Relaxed) {
                                ledger.lock().unwrap().errors.push(format!("read: {e:?}"));
                            }
                            break;
                        }
                    }
                }));
            }
            // Wait for the state: this cycle's acknowledged appends (bounded by the writers' own loops).
            let mut peak = 0;
            for _ in 0..100_000 {
                peak = peak.max(rss_kb(pid));
                if acked_now.load(std::sync::atomic::Ordering::Relaxed) >= acks_per_cycle
                    || tasks
                        .iter()
                        .take(WRITERS)
                        .all(tokio::task::JoinHandle::is_finished)
                {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            peak
        });
        // SIGKILL with calls in flight.
        child.proc.kill().unwrap();
        let _ = child.proc.wait();
        let held: usize = ledger.lock().unwrap().acked.iter().map(Vec::len).sum();
        rss.push((peak, held as u64));
        rt.block_on(async {
            // Let the client tasks see the dead server and stop (each stops on its first error).
            tokio::time::sleep(Duration::from_millis(1)).await;
        });
        cycle += 1;
    }
    // A last restart and check.
    let mut child = spawn(&db);
    let addr = child.addr.clone();
    let l2 = ledger.clone();
    rt.block_on(async move {
        let mut c = connect(&addr).await;
        verify(&mut c, &l2).await;
    });
    child.proc.kill().unwrap();
    let _ = child.proc.wait();
    let l = ledger.lock().unwrap();
    let acked = l.checked_signals;
    println!(
        "{{\"cycles\": {cycle}, \"seconds\": {}, \"acknowledged_signals\": {acked}, \"lost\": {}, \"duplicated\": {}, \"partial_batches\": {}, \"uncertain_batches\": {}, \"errors\": {}, \"rss_kb_and_signals\": {rss:?}}}",
        started.elapsed().as_secs(),
        l.lost,
        l.duplicated,
        l.partial,
        l.checked_uncertain,
        l.errors.len()
    );
    assert!(
        l.errors.is_empty(),
        "errors other than the kills: {:?}",
        &l.errors[..l.errors.len().min(5)]
    );
    assert!(acked > 0);
    // The cases are held in memory (event-sourced), so the server's RSS follows the signals held: each cycle holds
    // its own, and the last cycle's are deleted after they are checked. Each cycle's peak may exceed the warm-up
    // cycle's (the second) by 20%, plus 2 KB per signal by which the cycle's exceed the warm-up cycle's.
    if rss.len() > 2 {
        let (base, base_signals) = rss[1];
        for (r, n) in &rss[1..] {
            let allowed = base + base / 5 + 2 * n.saturating_sub(base_signals) + 4096;
            assert!(
                *r <= allowed,
                "RSS {r} kB with {n} signals: expected at most {allowed} kB (warm-up {base} kB with {base_signals} signals): {rss:?}"
            );
        }
    }
}

/// Every acknowledged signal of the cycle's cases present exactly once, every batch whole or absent; then the
/// cycle's batches are counted as checked and cleared (its cases are deleted by the caller).
async fn verify(c: &mut ForecastServiceClient<Channel>, ledger: &Mutex<Ledger>) {
    let cases = ledger.lock().unwrap().cases.clone();
    let mut stored: HashMap<String, usize> = HashMap::new();
    for case in &cases {
        let exists = c
            .get_case(pb::GetCaseRequest {
                case_id: case.clone(),
                ..Default::default()
            })
            .await
            .is_ok();
        if exists {
            for id in stored_ids(c, case).await {
                *stored.entry(id).or_default() += 1;
            }
        }
    }
    let mut l = ledger.lock().unwrap();
    let dup: Vec<_> = stored.iter().filter(|(_, n)| **n > 1).collect();
    l.duplicated += dup.len();
    assert!(dup.is_empty(), "duplicated signals: {dup:?}");
    let acked = std::mem::take(&mut l.acked);
    for batch in &acked {
        for id in batch {
            if !stored.contains_key(id) {
                l.lost += 1;
            }
            assert!(stored.contains_key(id), "acknowledged signal {id} lost");
        }
    }
    l.checked_signals += acked.iter().map(Vec::len).sum::<usize>();
    let uncertain = std::mem::take(&mut l.uncertain);
    for batch in &uncertain {
        let present: HashSet<bool> = batch.iter().map(|id| stored.contains_key(id)).collect();
        if present.len() > 1 {
            l.partial += 1;
        }
        assert!(present.len() <= 1, "a batch partly stored: {batch:?}");
    }
    l.checked_uncertain += uncertain.len();
}
