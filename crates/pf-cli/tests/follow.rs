//! `pressure-forecast follow` end to end: `--once` for scripts, and the watching mode picking up a file dropped
//! while it runs. The watching test waits for a state (the checkpoint naming the file), never for a time; the
//! deadline only turns a hang into a failure.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A GDELT 2.0 row from the first data row of the shipped sample (61 columns), with id, date, countries, code
/// and URL replaced.
fn row(id: u64, date: &str, from: &str, to: &str, code: &str) -> String {
    let text = std::fs::read_to_string(root().join("data/events/gdelt2_events_sample_50rows.tsv")).unwrap();
    let mut f: Vec<String> = text
        .lines()
        .nth(1)
        .unwrap()
        .split('\t')
        .map(str::to_owned)
        .collect();
    f[0] = id.to_string();
    f[1] = date.into();
    f[7] = from.into();
    f[17] = to.into();
    f[26] = code.into();
    f[60] = format!("http://example.org/{id}");
    f.join("\t")
}

fn drop_file(dir: &Path, name: &str, rows: &[String]) {
    let tmp = dir.join(format!(".{name}.part"));
    std::fs::write(&tmp, rows.join("\n") + "\n").unwrap();
    std::fs::rename(tmp, dir.join(name)).unwrap();
}

fn setup() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let feed = tmp.path().join("feed");
    std::fs::create_dir(&feed).unwrap();
    let case = tmp.path().join("prk.json");
    std::fs::write(
        &case,
        r#"{"id": "usa-prk", "sender": "USA", "target": "PRK", "start": "2017-01-20", "term_end": "2021-01-20"}"#,
    )
    .unwrap();
    (tmp, feed, case)
}

fn signals(case: &Path) -> Vec<serde_json::Value> {
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(case).unwrap()).unwrap();
    v["signals"].as_array().cloned().unwrap_or_default()
}

#[test]
fn once_ingests_each_file_once_and_logs_counts() {
    let (_tmp, feed, case) = setup();
    drop_file(
        &feed,
        "1.export.CSV",
        &[
            row(1, "20180612", "USA", "PRK", "044"),
            row(2, "20180612", "PRK", "USA", "044"),
        ],
    );
    let args = [
        "follow",
        "--format",
        "gdelt2",
        "--case",
        case.to_str().unwrap(),
        "--once",
        feed.to_str().unwrap(),
    ];
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_pressure-forecast"))
            .args(args)
            .output()
            .unwrap()
    };
    let out = run();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "{err}");
    assert!(err.contains("1.export.CSV: 2 rows read, 0 bad"), "{err}");
    assert!(
        err.contains("2 matched, 0 already counted, 1 signals added"),
        "{err}"
    );
    assert_eq!(signals(&case).len(), 1);
    let before = std::fs::read(&case).unwrap();
    // Again: nothing to do (the checkpoint has the file), the case is untouched.
    let out = run();
    assert!(out.status.success());
    assert!(String::from_utf8(out.stderr).unwrap().is_empty());
    assert_eq!(std::fs::read(&case).unwrap(), before);
    let cp: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(feed.join(".pressure-forecast-follow.json")).unwrap())
            .unwrap();
    assert_eq!(cp["files"]["1.export.CSV"]["signals_added"], 1);
}

#[test]
fn watching_picks_up_a_file_dropped_while_running() {
    let (tmp, feed, case) = setup();
    let checkpoint = tmp.path().join("cp.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_pressure-forecast"))
        .args(["follow", "--format", "gdelt2", "--interval", "0.02", "--case"])
        .arg(&case)
        .arg("--checkpoint")
        .arg(&checkpoint)
        .arg(&feed)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let wait_for = |name: &str| {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let listed = std::fs::read_to_string(&checkpoint)
                .ok()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                .is_some_and(|v| v["files"].get(name).is_some());
            if listed {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    drop_file(&feed, "1.export.CSV", &[row(1, "20180612", "USA", "PRK", "044")]);
    let first = wait_for("1.export.CSV");
    drop_file(
        &feed,
        "2.export.CSV",
        &[
            row(1, "20180612", "USA", "PRK", "044"),
            row(5, "20180801", "USA", "PRK", "163"),
        ],
    );
    let second = first && wait_for("2.export.CSV");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(first && second, "the follower did not record the files in time");
    let s = signals(&case);
    assert_eq!(s.len(), 2, "{s:?}");
    let types: Vec<&str> = s.iter().map(|x| x["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["summit_held", "sanctions_tightened"]);
}

/// A service on an ephemeral port, seeded with the example cases, served from a thread of its own until dropped.
struct Service {
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Service {
    fn start() -> Service {
        let dir = tempfile::tempdir().unwrap();
        let config = pf_server::config::Config {
            db: dir.path().join("store.sqlite3"),
            listen: "127.0.0.1:0".parse().unwrap(),
            seed_examples: true,
            ..pf_server::config::Config::default()
        };
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                pf_server::serve(listener, config, async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
            });
        });
        Service {
            url,
            stop: Some(stop),
            thread: Some(thread),
            _dir: dir,
        }
    }

    /// The signals of a case, read back through the service (every page).
    fn signals(&self, case_id: &str) -> Vec<pf_proto::v1::Signal> {
        use pf_proto::v1::forecast_service_client::ForecastServiceClient;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut c = ForecastServiceClient::connect(self.url.clone()).await.unwrap();
            let mut out = Vec::new();
            let mut token = String::new();
            loop {
                let page = c
                    .list_signals(pf_proto::v1::ListSignalsRequest {
                        case_id: case_id.into(),
                        page_size: 1000,
                        page_token: token,
                    })
                    .await
                    .unwrap()
                    .into_inner();
                out.extend(page.signals);
                if page.next_page_token.is_empty() {
                    return out;
                }
                token = page.next_page_token;
            }
        })
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn through_the_service_each_file_once_and_more_of_a_day_adds_a_signal() {
    let service = Service::start();
    let tmp = tempfile::tempdir().unwrap();
    let feed = tmp.path().join("feed");
    std::fs::create_dir(&feed).unwrap();
    let checkpoint = tmp.path().join("cp.json");
    let run = || {
        let out = Command::new(env!("CARGO_BIN_EXE_pressure-forecast"))
            .args(["follow", "--format", "gdelt2", "--once", "--server", &service.url])
            .args(["--case", "usa-prk-2017", "--checkpoint"])
            .arg(&checkpoint)
            .arg(&feed)
            .output()
            .unwrap();
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(out.status.success(), "{err}");
        err
    };
    let gdelt = |signals: &[pf_proto::v1::Signal]| -> Vec<(String, Vec<String>)> {
        signals
            .iter()
            .filter(|s| s.source == "gdelt2")
            .map(|s| (s.id.clone(), s.event_ids.clone()))
            .collect()
    };
    let seeded = service.signals("usa-prk-2017");
    assert!(!seeded.is_empty() && gdelt(&seeded).is_empty());

    drop_file(
        &feed,
        "1.export.CSV",
        &[
            row(1, "20180612", "USA", "PRK", "044"),
            row(2, "20180612", "PRK", "USA", "044"),
        ],
    );
    let err = run();
    assert!(
        err.contains("case http://127.0.0.1:")
            && err.contains("/usa-prk-2017: 2 matched, 0 already counted, 1 signals added"),
        "{err}"
    );
    let after_first = service.signals("usa-prk-2017");
    assert_eq!(after_first.len(), seeded.len() + 1);
    let first = gdelt(&after_first);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].1, ["1", "2"]);

    // A restart with the same checkpoint ingests nothing again.
    assert!(run().is_empty());
    assert_eq!(service.signals("usa-prk-2017").len(), after_first.len());

    // A later file reporting more of the same day: the counted events are left out, the new one makes a new
    // signal with its own id (no conflict with the first).
    drop_file(
        &feed,
        "2.export.CSV",
        &[
            row(2, "20180612", "PRK", "USA", "044"),
            row(3, "20180612", "USA", "PRK", "044"),
        ],
    );
    let err = run();
    assert!(
        err.contains("1 matched, 1 already counted, 1 signals added"),
        "{err}"
    );
    let second = gdelt(&service.signals("usa-prk-2017"));
    assert_eq!(second.len(), 2);
    assert!(
        second
            .iter()
            .any(|(id, ev)| *id == first[0].0 && ev == &["1", "2"])
    );
    assert!(second.iter().any(|(id, ev)| *id != first[0].0 && ev == &["3"]));

    // A file of events all counted already adds nothing.
    drop_file(&feed, "3.export.CSV", &[row(1, "20180612", "USA", "PRK", "044")]);
    let err = run();
    assert!(
        err.contains("0 matched, 1 already counted, 0 signals added"),
        "{err}"
    );
    assert_eq!(gdelt(&service.signals("usa-prk-2017")).len(), 2);
}

#[test]
fn through_the_service_an_unknown_case_fails_and_is_not_checkpointed() {
    let service = Service::start();
    let tmp = tempfile::tempdir().unwrap();
    let feed = tmp.path().join("feed");
    std::fs::create_dir(&feed).unwrap();
    drop_file(&feed, "1.export.CSV", &[row(1, "20180612", "USA", "PRK", "044")]);
    let out = Command::new(env!("CARGO_BIN_EXE_pressure-forecast"))
        .args(["follow", "--format", "gdelt2", "--once", "--server", &service.url])
        .args(["--case", "no-such-case"])
        .arg(&feed)
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(!out.status.success());
    assert!(
        err.contains("follow: error: `1.export.CSV`: case `http://"),
        "{err}"
    );
    assert!(err.contains("no-such-case`: GetCase failed"), "{err}");
    assert!(!feed.join(".pressure-forecast-follow.json").exists());
}
