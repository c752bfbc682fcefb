//! AppendSignals throughput against a baseline: `W` writers, each appending `N` batches of `B` new signals to a
//! case of its own, either through the service (`grpc ADDR`) or as a plain PostgreSQL client inserting the same
//! rows (the same signal records, one transaction per batch, one multi-row INSERT, committed with the server's
//! durability: `synchronous_commit` as configured, on by default) into the same `signals` table (`plain URL`,
//! on a database the service created). Every call is checked. Prints one JSON line: signals/s, batches/s, p50
//! and p99 batch latency in microseconds.
//!
//! `append_load grpc ADDR TAG WRITERS BATCHES BATCH [AS_OF] [ORDER]` / `append_load plain URL TAG WRITERS BATCHES
//! BATCH`
//!
//! `TAG` keeps the case ids (and signal ids) of one run apart from another's. An optional seventh argument
//! `AS_OF` (YYYY-MM-DD) is the as-of date of the service's replies (default: today, after the cases' term end, so
//! each reply forecasts over the whole span); an early date makes the reply's forecast cover a few days only,
//! which shows what the append costs without most of that forecast; `-` is today. An optional eighth argument
//! `ORDER` is `spread` (the default: each batch's dates spread over the span, so most appends land inside the
//! history) or `ordered` (each writer's signals dated in the order it sends them, as a feed of new events does:
//! every append is in date order, and the reply's forecast advances the case's checkpoints over the new
//! signals only).

use std::time::Instant;

use pf_proto::v1 as pb;
use pf_proto::v1::forecast_service_client::ForecastServiceClient;

/// Signal `n` of writer `w`: dated anywhere in the span (`total` is 0), or in the order of `n` among `total`.
fn signal(tag: &str, w: usize, n: usize, total: usize) -> pb::Signal {
    let types = [
        "sanctions_tightened",
        "talks_held",
        "talks_refused",
        "summit_held",
    ];
    let day = (n * 1400).checked_div(total).unwrap_or((n * 7 + w) % 1400);
    let date = chrono::NaiveDate::from_ymd_opt(2017, 1, 21).expect("a date") + chrono::Days::new(day as u64);
    pb::Signal {
        id: format!("{tag}-w{w}-{n}"),
        signal_type: types[n % types.len()].into(),
        date: Some(pf_proto::convert::date_to_proto(date)),
        ..Default::default()
    }
}

fn case(id: &str) -> pb::Case {
    let d = |y, m, d| {
        Some(pf_proto::google::r#type::Date {
            year: y,
            month: m,
            day: d,
        })
    };
    pb::Case {
        id: id.into(),
        sender: "USA".into(),
        target: "PRK".into(),
        start: d(2017, 1, 20),
        term_end: d(2021, 1, 20),
        ..Default::default()
    }
}

fn main() -> anyhow::Result<()> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    anyhow::ensure!(
        (6..=8).contains(&a.len()),
        "usage: append_load grpc ADDR TAG WRITERS BATCHES BATCH [AS_OF|-] [spread|ordered] | append_load plain URL TAG WRITERS BATCHES BATCH"
    );
    let as_of = match a.get(6).filter(|d| *d != "-") {
        Some(d) => Some(pf_proto::convert::date_to_proto(
            chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map_err(|e| anyhow::anyhow!("AS_OF {d:?}: expected YYYY-MM-DD ({e})"))?,
        )),
        None => None,
    };
    let (mode, target, tag) = (a[0].clone(), a[1].clone(), a[2].clone());
    let writers: usize = a[3].parse()?;
    let batches: usize = a[4].parse()?;
    let batch: usize = a[5].parse()?;
    let total = match a.get(7).map(String::as_str) {
        None | Some("spread") => 0,
        Some("ordered") => batches * batch,
        Some(other) => anyhow::bail!("ORDER {other:?}: expected spread or ordered"),
    };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        let started = Instant::now();
        let mut tasks = Vec::new();
        for w in 0..writers {
            let (mode, target, tag) = (mode.clone(), target.clone(), tag.clone());
            let as_of = as_of;
            tasks.push(tokio::spawn(async move {
                let case_id = format!("{tag}-case-{w}");
                let mut lat = Vec::with_capacity(batches);
                match mode.as_str() {
                    "grpc" => {
                        let ch = tonic::transport::Endpoint::from_shared(format!("http://{target}"))?
                            .tcp_nodelay(true)
                            .connect()
                            .await?;
                        let mut c = ForecastServiceClient::new(ch);
                        c.create_case(pb::CreateCaseRequest { coercion_case: Some(case(&case_id)) }).await?;
                        for n in 0..batches {
                            let signals = (0..batch).map(|i| signal(&tag, w, n * batch + i, total)).collect();
                            let t = Instant::now();
                            let r = c
                                .append_signals(pb::AppendSignalsRequest {
                                    case_id: case_id.clone(),
                                    signals,
                                    as_of,
                                })
                                .await?
                                .into_inner();
                            anyhow::ensure!(r.added as usize == batch, "added {} of {batch}", r.added);
                            lat.push(t.elapsed().as_micros() as u64);
                        }
                    }
                    "plain" => {
                        let (mut client, conn) = tokio_postgres::connect(&target, tokio_postgres::NoTls).await?;
                        tokio::spawn(conn);
                        // The same case row the service would hold, so that the foreign key holds.
                        client
                            .execute(
                                "INSERT INTO cases (id, header) VALUES ($1, '{}') ON CONFLICT DO NOTHING",
                                &[&case_id],
                            )
                            .await?;
                        let stmt = client
                            .prepare(
                                "INSERT INTO signals (case_id, id, record) \
                                 SELECT $1, b.id, b.record FROM unnest($2::text[], $3::text[]) AS b(id, record)",
                            )
                            .await?;
                        for n in 0..batches {
                            let mut ids = Vec::with_capacity(batch);
                            let mut records = Vec::with_capacity(batch);
                            for i in 0..batch {
                                let p = signal(&tag, w, n * batch + i, total);
                                let s = pf_core::Signal::try_from(p)?;
                                ids.push(s.id.as_deref().unwrap_or_default().to_owned());
                                records.push(serde_json::to_string(&s)?);
                            }
                            let t = Instant::now();
                            let tx = client.transaction().await?;
                            let k = tx.execute(&stmt, &[&case_id, &ids, &records]).await?;
                            anyhow::ensure!(k as usize == batch, "inserted {k} of {batch}");
                            tx.commit().await?;
                            lat.push(t.elapsed().as_micros() as u64);
                        }
                    }
                    other => anyhow::bail!("mode {other:?}: expected grpc or plain"),
                }
                Ok::<_, anyhow::Error>(lat)
            }));
        }
        let mut lat = Vec::new();
        for t in tasks {
            lat.extend(t.await??);
        }
        let secs = started.elapsed().as_secs_f64();
        lat.sort_unstable();
        let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
        let total = writers * batches * batch;
        println!(
            "{{\"signals_per_s\": {:.1}, \"batches_per_s\": {:.1}, \"p50_us\": {}, \"p99_us\": {}, \"signals\": {total}}}",
            total as f64 / secs,
            (writers * batches) as f64 / secs,
            pct(0.5),
            pct(0.99)
        );
        Ok(())
    })
}
