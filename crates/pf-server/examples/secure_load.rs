//! GetForecast throughput with TLS, a bearer token and the limits on, against the same server with them off,
//! in one run with one load client: servers on 127.0.0.1 in this process, rounds alternating off/on, every
//! status checked. Prints one JSON line per round and a summary with the ratio on/off.
//!
//! `secure_load [CONNECTIONS] [STREAMS] [SECONDS_PER_ROUND] [ROUNDS]`
//!
//! `PF_SECURE_PARTS` (default `tls,token,limits`) chooses what the "on" server turns on, to measure the cost of
//! each part alone (for instance `PF_SECURE_PARTS=tls`).

use std::time::{Duration, Instant};

use pf_proto::v1 as pb;
use pf_proto::v1::forecast_service_client::ForecastServiceClient;
use pf_server::Config;
use pf_server::config::TokenConfig;
use tonic::transport::{Certificate, Channel, ClientTlsConfig};

struct Setup {
    tls: Option<(String, std::path::PathBuf, std::path::PathBuf)>,
    token: Option<String>,
}

fn pki(dir: &std::path::Path) -> anyhow::Result<(String, std::path::PathBuf, std::path::PathBuf)> {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate()?;
    let cert = CertificateParams::new(vec!["localhost".to_owned()])?.signed_by(&key, &issuer)?;
    let (c, k) = (dir.join("server.pem"), dir.join("server.key"));
    std::fs::write(&c, cert.pem())?;
    std::fs::write(&k, key.serialize_pem())?;
    Ok((ca.pem(), c, k))
}

async fn start(config: Config) -> anyhow::Result<(std::net::SocketAddr, tokio::sync::oneshot::Sender<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(pf_server::serve(listener, config, async {
        let _ = rx.await;
    }));
    Ok((addr, tx))
}

async fn round(
    addr: std::net::SocketAddr,
    setup: &Setup,
    conns: usize,
    streams: usize,
    secs: f64,
) -> anyhow::Result<(f64, f64, u64)> {
    let mut clients = Vec::new();
    for _ in 0..conns {
        let ch = match &setup.tls {
            Some((ca, _, _)) => {
                let tls = ClientTlsConfig::new()
                    .ca_certificate(Certificate::from_pem(ca))
                    .domain_name("localhost");
                let ep = Channel::from_shared(format!("https://{addr}"))?
                    .tls_config(tls)?
                    .tcp_nodelay(true);
                connect(ep).await?
            }
            None => connect(Channel::from_shared(format!("http://{addr}"))?.tcp_nodelay(true)).await?,
        };
        clients.push(ForecastServiceClient::new(ch));
    }
    let req = pb::GetForecastRequest {
        case_id: "usa-prk-2017".into(),
        as_of: Some(pf_proto::convert::date_to_proto(
            chrono::NaiveDate::from_ymd_opt(2018, 10, 31).unwrap(),
        )),
        ..Default::default()
    };
    let auth: Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>> = setup
        .token
        .as_ref()
        .map(|t| format!("Bearer {t}").parse())
        .transpose()?;
    let start_at = Instant::now() + Duration::from_millis(500);
    let end_at = start_at + Duration::from_secs_f64(secs);
    let mut tasks = Vec::new();
    for c in &clients {
        for _ in 0..streams {
            let mut c = c.clone();
            let req = req.clone();
            let auth = auth.clone();
            tasks.push(tokio::spawn(async move {
                let (mut ok, mut err) = (0u64, 0u64);
                loop {
                    let t0 = Instant::now();
                    if t0 >= end_at {
                        break;
                    }
                    let mut r = tonic::Request::new(req.clone());
                    if let Some(a) = &auth {
                        r.metadata_mut().insert("authorization", a.clone());
                    }
                    let res = c.get_forecast(r).await;
                    if t0 < start_at {
                        continue;
                    }
                    if res.is_ok() { ok += 1 } else { err += 1 }
                }
                (ok, err)
            }));
        }
    }
    // CPU time of this process (servers and client) over the measured window.
    tokio::time::sleep_until(start_at.into()).await;
    let cpu0 = cpu_seconds();
    tokio::time::sleep_until(end_at.into()).await;
    let cpu1 = cpu_seconds();
    let (mut ok, mut err) = (0, 0);
    for t in tasks {
        let (o, e) = t.await?;
        ok += o;
        err += e;
    }
    let cpu_us_per_call = if ok > 0 {
        (cpu1 - cpu0) * 1e6 / ok as f64
    } else {
        0.0
    };
    Ok((ok as f64 / secs, cpu_us_per_call, err))
}

/// User and system CPU time of this process, in seconds (`/proc/self/stat`, 100 ticks a second).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = after.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // Fields 14 and 15 of the whole line are the 12th and 13th after the command's closing parenthesis.
    (tick(11) + tick(12)) / 100.0
}

async fn connect(ep: tonic::transport::Endpoint) -> anyhow::Result<Channel> {
    for _ in 0..250 {
        if let Ok(c) = ep.connect().await {
            return Ok(c);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    anyhow::bail!("cannot connect")
}

fn main() -> anyhow::Result<()> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let get = |i: usize, d: &str| a.get(i).cloned().unwrap_or_else(|| d.to_owned());
    let conns: usize = get(0, "10").parse()?;
    let streams: usize = get(1, "10").parse()?;
    let secs: f64 = get(2, "5").parse()?;
    let rounds: usize = get(3, "3").parse()?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        let dir = tempfile::tempdir()?;
        let token = pf_server::auth::new_token()?;
        let pki = pki(dir.path())?;
        let base = |name: &str| Config {
            db: dir.path().join(format!("{name}.sqlite3")),
            seed_examples: true,
            ..Config::default()
        };
        // Off: no TLS, no token, limits as loose as they go.
        let off_cfg = Config {
            max_cost: u64::MAX,
            max_concurrency: 1 << 20,
            max_concurrency_per_connection: 1 << 20,
            cache_bytes: 1 << 30,
            ..base("off")
        };
        let parts = std::env::var("PF_SECURE_PARTS").unwrap_or_else(|_| "tls,token,limits".to_owned());
        let has = |p: &str| parts.split(',').any(|x| x.trim() == p);
        // On: TLS, a token, the default limits and a (high) rate limit per credential.
        let mut on_cfg = base("on");
        if has("tls") {
            on_cfg.tls_cert = Some(pki.1.clone());
            on_cfg.tls_key = Some(pki.2.clone());
        }
        if has("token") {
            on_cfg.tokens = vec![TokenConfig {
                name: "load".into(),
                sha256: pf_server::auth::token_hash(&token),
                scopes: vec!["read".into()],
            }];
        }
        if has("limits") {
            on_cfg.rate_per_second = 1_000_000;
            on_cfg.rate_burst = 1_000_000;
        } else {
            on_cfg.max_cost = off_cfg.max_cost;
            on_cfg.max_concurrency = off_cfg.max_concurrency;
            on_cfg.max_concurrency_per_connection = off_cfg.max_concurrency_per_connection;
            on_cfg.cache_bytes = off_cfg.cache_bytes;
        }
        eprintln!("on: {parts}");
        let (off_addr, _off_stop) = start(off_cfg).await?;
        let (on_addr, _on_stop) = start(on_cfg).await?;
        let off = Setup { tls: None, token: None };
        let on = Setup {
            tls: has("tls").then_some(pki),
            token: has("token").then_some(token),
        };
        let (mut off_sum, mut on_sum, mut errors) = (0.0, 0.0, 0);
        let (mut off_cpu, mut on_cpu) = (0.0, 0.0);
        for r in 0..rounds {
            let (o, oc, e1) = round(off_addr, &off, conns, streams, secs).await?;
            let (n, nc, e2) = round(on_addr, &on, conns, streams, secs).await?;
            off_cpu += oc;
            on_cpu += nc;
            errors += e1 + e2;
            println!(
                "{{\"round\": {r}, \"off_rps\": {o:.0}, \"on_rps\": {n:.0}, \"off_cpu_us_per_call\": {oc:.1}, \"on_cpu_us_per_call\": {nc:.1}, \"errors\": {}}}",
                e1 + e2
            );
            off_sum += o;
            on_sum += n;
        }
        println!(
            "{{\"off_rps\": {:.0}, \"on_rps\": {:.0}, \"ratio\": {:.3}, \"off_cpu_us_per_call\": {:.1}, \"on_cpu_us_per_call\": {:.1}, \"cpu_ratio_off_on\": {:.3}, \"errors\": {errors}, \"connections\": {conns}, \"streams\": {streams}}}",
            off_sum / rounds as f64,
            on_sum / rounds as f64,
            on_sum / off_sum,
            off_cpu / rounds as f64,
            on_cpu / rounds as f64,
            off_cpu / on_cpu
        );
        anyhow::Ok(())
    })
}
