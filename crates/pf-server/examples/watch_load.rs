//! WATCHERS WatchForecast streams on one case of SIGNALS signals, then one append: the time from the append's
//! call until every stream has the new forecast, the server's resident memory before the streams, with them
//! open, and after the append, and the forecasts the server computed for them (`pf_shared_forecasts_total`).
//!
//! `watch_load SERVE_BIN WATCHERS SIGNALS`
//!
//! Starts `SERVE_BIN` (the `serve` example) on a fresh SQLite store in a temporary directory, 127.0.0.1 only, log
//! level warn. A connection carries at most 16 calls, so the streams are spread over WATCHERS / 16 connections.
//! Prints JSON.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pf_proto::google::r#type::Date;
use pf_proto::v1 as pb;
use pf_proto::v1::forecast_service_client::ForecastServiceClient;
use tokio_stream::StreamExt;
use tonic::transport::Channel;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn rss_mib(pid: u32) -> anyhow::Result<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb: f64 = s
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no VmRSS in /proc/{pid}/status"))?;
    Ok(kb / 1024.0)
}

async fn metric(addr: &str, name: &str) -> anyhow::Result<f64> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    s.write_all(b"GET /metrics HTTP/1.1\r\nhost: x\r\n\r\n").await?;
    let mut out = String::new();
    s.read_to_string(&mut out).await?;
    out.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no {name} in /metrics"))
}

fn date(y: i32, m: i32, d: i32) -> Option<Date> {
    Some(Date {
        year: y,
        month: m,
        day: d,
    })
}

fn signal(n: usize) -> pb::Signal {
    let types = [
        "sanctions_tightened",
        "talks_held",
        "talks_refused",
        "summit_held",
    ];
    let day = chrono::NaiveDate::from_ymd_opt(2017, 1, 21).expect("a date")
        + chrono::Days::new(((n * 7919) % 1400) as u64);
    pb::Signal {
        id: format!("s{n}"),
        signal_type: types[n % types.len()].into(),
        date: Some(pf_proto::convert::date_to_proto(day)),
        ..Default::default()
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    anyhow::ensure!(a.len() == 3, "usage: watch_load SERVE_BIN WATCHERS SIGNALS");
    let watchers: usize = a[1].parse()?;
    let signals: usize = a[2].parse()?;
    let dir = tempfile::tempdir()?;
    let addr = format!("127.0.0.1:{}", free_port()?);
    let metrics = format!("127.0.0.1:{}", free_port()?);
    let server = Killed(
        Command::new(&a[0])
            .args(["--listen", &addr, "--db"])
            .arg(dir.path().join("watch.sqlite3"))
            .env("PRESSURE_FORECAST_LOG", "warn")
            .env("PRESSURE_FORECAST_METRICS_LISTEN", &metrics)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()?,
    );
    let pid = server.0.id();
    let url = format!("http://{addr}");
    let connect = || async {
        for _ in 0..500 {
            if let Ok(ch) = Channel::from_shared(url.clone())?.connect().await {
                return Ok(ch);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        anyhow::bail!("the server did not come up on {url}")
    };
    let mut c = ForecastServiceClient::new(connect().await?);
    c.create_case(pb::CreateCaseRequest {
        coercion_case: Some(pb::Case {
            id: "w".into(),
            sender: "USA".into(),
            target: "PRK".into(),
            start: date(2017, 1, 20),
            term_end: date(2021, 1, 20),
            ..Default::default()
        }),
    })
    .await?;
    for chunk in (0..signals).collect::<Vec<_>>().chunks(10_000) {
        c.append_signals(pb::AppendSignalsRequest {
            case_id: "w".into(),
            signals: chunk.iter().map(|&n| signal(n)).collect(),
            as_of: date(2020, 12, 31),
        })
        .await?;
    }
    let rss_before = rss_mib(pid)?;
    let mut channels = Vec::new();
    for _ in 0..watchers.div_ceil(16) {
        channels.push(connect().await?);
    }
    let t = Instant::now();
    let mut streams = Vec::with_capacity(watchers);
    for i in 0..watchers {
        let mut w = ForecastServiceClient::new(channels[i / 16].clone());
        let mut s = w
            .watch_forecast(pb::WatchForecastRequest {
                case_id: "w".into(),
                as_of: date(2020, 12, 31),
            })
            .await?
            .into_inner();
        s.next()
            .await
            .ok_or_else(|| anyhow::anyhow!("a stream ended"))??;
        streams.push(s);
    }
    let open_ms = t.elapsed().as_secs_f64() * 1e3;
    let rss_open = rss_mib(pid)?;
    let computed_before = metric(&metrics, "pf_shared_forecasts_total").await?;
    let t = Instant::now();
    c.append_signals(pb::AppendSignalsRequest {
        case_id: "w".into(),
        signals: vec![signal(signals)],
        as_of: date(2020, 12, 31),
    })
    .await?;
    let replied_ms = t.elapsed().as_secs_f64() * 1e3;
    let mut all = futures_util::future::join_all(streams.iter_mut().map(|s| s.next())).await;
    let all_ms = t.elapsed().as_secs_f64() * 1e3;
    for r in all.drain(..) {
        let m = r.ok_or_else(|| anyhow::anyhow!("a stream ended"))??;
        anyhow::ensure!(
            m.signal_count as usize == signals + 1,
            "expected {} signals, found {}",
            signals + 1,
            m.signal_count
        );
    }
    let rss_after = rss_mib(pid)?;
    let computed = metric(&metrics, "pf_shared_forecasts_total").await? - computed_before;
    println!(
        "{{\"watchers\":{watchers},\"signals\":{signals},\"open_ms\":{open_ms:.0},\"append_reply_ms\":{replied_ms:.0},\"all_watchers_ms\":{all_ms:.0},\"forecasts_computed_for_the_append\":{computed},\"rss_mib_before\":{rss_before:.0},\"rss_mib_streams_open\":{rss_open:.0},\"rss_mib_after_append\":{rss_after:.0}}}"
    );
    drop(streams);
    drop(server);
    Ok(())
}
