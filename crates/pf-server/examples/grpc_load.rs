//! A small gRPC load client for `ForecastService/GetForecast`: `C` HTTP/2 connections with `M` calls in flight
//! on each, for a fixed time, after a warm-up. Every status is checked (non-OK calls are counted as errors,
//! unlike h2load, which sees only HTTP 200). Prints one JSON line: requests/s, p50/p99/max latency in
//! microseconds, ok and error counts, and the response size.
//!
//! `grpc_load ADDR CASE AS_OF CONNECTIONS STREAMS SECONDS`

use std::time::{Duration, Instant};

use pf_proto::v1 as pb;
use pf_proto::v1::forecast_service_client::ForecastServiceClient;
use prost::Message;

fn main() -> anyhow::Result<()> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let get = |i: usize, d: &str| a.get(i).cloned().unwrap_or_else(|| d.to_owned());
    let addr = get(0, "127.0.0.1:50051");
    let case_id = get(1, "usa-prk-2017");
    let as_of = get(2, "2018-10-31");
    let conns: usize = get(3, "10").parse()?;
    let streams: usize = get(4, "10").parse()?;
    let secs: f64 = get(5, "10").parse()?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        let as_of = chrono::NaiveDate::parse_from_str(&as_of, "%Y-%m-%d")?;
        let req = pb::GetForecastRequest { case_id, as_of: Some(pf_proto::convert::date_to_proto(as_of)), ..Default::default() };
        let mut clients = Vec::new();
        for _ in 0..conns {
            let ch = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?.tcp_nodelay(true).connect().await?;
            clients.push(ForecastServiceClient::new(ch));
        }
        // Size check and warm-up.
        let first = clients[0].clone().get_forecast(req.clone()).await?.into_inner();
        let size = first.encoded_len();
        let warm = Instant::now() + Duration::from_millis(500);
        let start_at = warm;
        let end_at = start_at + Duration::from_secs_f64(secs);
        let mut tasks = Vec::new();
        for c in &clients {
            for _ in 0..streams {
                let mut c = c.clone();
                let req = req.clone();
                tasks.push(tokio::spawn(async move {
                    let mut lat = Vec::with_capacity(100_000);
                    let (mut ok, mut err) = (0u64, 0u64);
                    loop {
                        let t0 = Instant::now();
                        if t0 >= end_at {
                            break;
                        }
                        let r = c.get_forecast(req.clone()).await;
                        let dt = t0.elapsed();
                        if t0 < start_at {
                            continue;
                        }
                        match r {
                            Ok(_) => {
                                ok += 1;
                                lat.push(dt.as_micros() as u64);
                            }
                            Err(_) => err += 1,
                        }
                    }
                    (lat, ok, err)
                }));
            }
        }
        let mut lat = Vec::new();
        let (mut ok, mut err) = (0u64, 0u64);
        for t in tasks {
            let (l, o, e) = t.await?;
            lat.extend(l);
            ok += o;
            err += e;
        }
        lat.sort_unstable();
        let q = |p: f64| lat.get(((lat.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(0);
        println!(
            "{{\"rps\": {:.0}, \"p50_us\": {}, \"p99_us\": {}, \"max_us\": {}, \"ok\": {}, \"errors\": {}, \"response_bytes\": {}}}",
            ok as f64 / secs,
            q(0.5),
            q(0.99),
            lat.last().copied().unwrap_or(0),
            ok,
            err,
            size
        );
        anyhow::Ok(())
    })
}
