//! Time from starting a server process to its health check answering SERVING, on a store holding `SIGNALS`
//! signals over `CASES` cases, against the same on an empty store in the same run; then the first and second
//! GetForecast of one stored case (the first loads the case from its log, checking every record).
//!
//! `startup_time SERVE_BIN DIR SIGNALS CASES`
//!
//! The store `DIR/big.sqlite3` is made once, by a bulk path (one transaction of plain INSERTs of the records the
//! server writes, `synchronous = OFF`), not through the API; later runs reuse it. `SERVE_BIN` is the `serve`
//! example (or `pressure-forecast serve`); it runs with `PRESSURE_FORECAST_LOG=warn` on 127.0.0.1. Prints JSON.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{Days, NaiveDate};
use pf_core::{Case, Signal};
use pf_proto::v1 as pb;
use pf_proto::v1::forecast_service_client::ForecastServiceClient;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

const TYPES: [&str; 4] = [
    "sanctions_tightened",
    "talks_held",
    "talks_refused",
    "summit_held",
];

fn start() -> NaiveDate {
    NaiveDate::from_ymd_opt(2017, 1, 20).expect("a date")
}

/// Write a store of `signals` signals over `cases` cases, in order, in one transaction.
fn generate(path: &Path, signals: usize, cases: usize) -> anyhow::Result<()> {
    let t = Instant::now();
    let mut store = pf_server::store::Store::open(path)?;
    for c in 0..cases {
        let case = Case::new(
            format!("case-{c:05}"),
            "USA",
            "PRK",
            start(),
            NaiveDate::from_ymd_opt(2021, 1, 20).expect("a date"),
        )?;
        store.insert_case(&case, &[])?;
    }
    store.close()?;
    let mut conn = rusqlite::Connection::open(path)?;
    conn.pragma_update(None, "synchronous", "OFF")?;
    let tx = conn.transaction()?;
    {
        let mut stmt =
            tx.prepare("INSERT INTO signals (case_id, seq, id, record) VALUES (?1, ?2, ?3, ?4)")?;
        let per = signals / cases;
        for c in 0..cases {
            let case_id = format!("case-{c:05}");
            for i in 0..per {
                let date = start() + Days::new(1 + (i * 1400 / per.max(1)) as u64);
                let s = Signal::new(TYPES[i % TYPES.len()], date).with_id(format!("s{i}"));
                let record = serde_json::to_string(&s)?;
                stmt.execute(rusqlite::params![case_id, i as i64 + 1, s.id.as_deref(), record])?;
            }
        }
    }
    tx.commit()?;
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
    eprintln!(
        "generated {signals} signals over {cases} cases in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start a server on `db` and wait for SERVING: (milliseconds, the process, its address).
async fn serve(bin: &str, db: &Path) -> anyhow::Result<(f64, Killed, String)> {
    let port = free_port()?;
    let addr = format!("127.0.0.1:{port}");
    let t = Instant::now();
    let child = Killed(
        Command::new(bin)
            .args(["--listen", &addr, "--db"])
            .arg(db)
            .env("PRESSURE_FORECAST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()?,
    );
    let url = format!("http://{addr}");
    loop {
        anyhow::ensure!(t.elapsed() < Duration::from_secs(600), "no SERVING within 600 s");
        if let Ok(ch) = tonic::transport::Endpoint::from_shared(url.clone())?
            .connect()
            .await
        {
            let mut h = HealthClient::new(ch);
            if let Ok(r) = h
                .check(HealthCheckRequest {
                    service: String::new(),
                })
                .await
                && r.into_inner().status() == ServingStatus::Serving
            {
                return Ok((t.elapsed().as_secs_f64() * 1e3, child, url));
            }
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    anyhow::ensure!(a.len() == 4, "usage: startup_time SERVE_BIN DIR SIGNALS CASES");
    let (bin, dir) = (a[0].as_str(), Path::new(&a[1]));
    let signals: usize = a[2].parse()?;
    let cases: usize = a[3].parse()?;
    anyhow::ensure!(cases > 0 && signals >= cases, "expected SIGNALS >= CASES > 0");
    std::fs::create_dir_all(dir)?;
    let big = dir.join("big.sqlite3");
    if !big.exists() {
        generate(&big, signals, cases)?;
    }
    let empty = dir.join("empty.sqlite3");
    let _ = std::fs::remove_file(&empty);
    let (empty_ms, server, _) = serve(bin, &empty).await?;
    drop(server);
    let (big_ms, server, url) = serve(bin, &big).await?;
    let mut c = ForecastServiceClient::connect(url).await?;
    let mut first_use = Vec::new();
    for _ in 0..2 {
        let t = Instant::now();
        let r = c
            .get_forecast(pb::GetForecastRequest {
                case_id: "case-00000".into(),
                as_of: Some(pf_proto::convert::date_to_proto(
                    NaiveDate::from_ymd_opt(2020, 12, 31).expect("a date"),
                )),
                ..Default::default()
            })
            .await?
            .into_inner();
        first_use.push(t.elapsed().as_secs_f64() * 1e3);
        anyhow::ensure!(r.forecast.is_some(), "expected a forecast");
    }
    drop(server);
    println!(
        "{{\"signals\":{signals},\"cases\":{cases},\"empty_serving_ms\":{empty_ms:.0},\"serving_ms\":{big_ms:.0},\"first_forecast_ms\":{:.0},\"second_forecast_ms\":{:.1}}}",
        first_use[0], first_use[1]
    );
    Ok(())
}
