//! Prometheus metrics (calls and latency by method and status, cache bytes, store size) and the probes, served
//! as plain HTTP/1.1 on their own port (`metrics_listen`): `GET /metrics`, `GET /livez` (the process runs),
//! `GET /readyz` (the store is open and the server is not shutting down).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// The server's metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    /// By method, then status: a call of a method and status seen before allocates nothing.
    calls: Mutex<BTreeMap<String, BTreeMap<String, Histogram>>>,
    /// Estimated bytes held by the forecast cache.
    pub cache_bytes: AtomicU64,
    /// Ready to serve (store open, not shutting down).
    pub ready: AtomicBool,
    /// Calls in flight (admitted and not yet answered).
    pub in_flight: AtomicU64,
    /// Reads since the last summary line.
    pub reads: AtomicU64,
    /// Forecasts computed for WatchForecast streams and write replies, one per case version and as-of date
    /// however many streams and replies share it.
    pub shared_forecasts: AtomicU64,
    /// Plain forecasts answered from a case's checkpoints as they were (they reflected the case's version).
    pub checkpoint_hits: AtomicU64,
    /// Plain forecasts that advanced a case's checkpoints over the signals a write changed.
    pub checkpoint_advances: AtomicU64,
    /// Plain forecasts that made a case's checkpoints from scratch (first use, or a change not recorded).
    pub checkpoint_rebuilds: AtomicU64,
    /// Plain forecasts made over the whole history (a version older than the checkpoints').
    pub checkpoint_full: AtomicU64,
    /// Signals the plain forecasts filtered: every signal for a rebuild, those up to the as-of date for a full
    /// forecast, those from the first changed one on for an advance (the filter restarts at the checkpoint
    /// before them: in date order, that is the end of the day before the last one), none for a hit (beyond the
    /// checkpoint's, which is the last when the as-of date is on or after the last signal's).
    pub forecast_signals_filtered: AtomicU64,
    /// The store's file, for its size.
    pub store_path: Mutex<Option<PathBuf>>,
    /// The PostgreSQL store, for its append counts.
    pub postgres: Mutex<Option<crate::pg::PgStore>>,
}

impl Metrics {
    /// Count a call of `method` ending with `status` after `seconds`.
    pub fn record(&self, method: &str, status: &str, seconds: f64) {
        let mut calls = self
            .calls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !calls.contains_key(method) {
            calls.insert(method.to_owned(), BTreeMap::new());
        }
        let Some(by_status) = calls.get_mut(method) else {
            return;
        };
        if !by_status.contains_key(status) {
            by_status.insert(status.to_owned(), Histogram::default());
        }
        let Some(h) = by_status.get_mut(status) else {
            return;
        };
        for (i, b) in BUCKETS.iter().enumerate() {
            if seconds <= *b {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += seconds;
    }

    /// The metrics in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let calls = self
            .calls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        out.push_str(
            "# HELP pf_calls_total gRPC calls by method and status.\n# TYPE pf_calls_total counter\n",
        );
        let calls: Vec<(&String, &String, &Histogram)> = calls
            .iter()
            .flat_map(|(m, by)| by.iter().map(move |(s, h)| (m, s, h)))
            .collect();
        for &(m, s, h) in &calls {
            let _ = writeln!(out, "pf_calls_total{{method=\"{m}\",status=\"{s}\"}} {}", h.count);
        }
        out.push_str("# HELP pf_call_seconds gRPC call latency by method and status.\n# TYPE pf_call_seconds histogram\n");
        for &(m, s, h) in &calls {
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "pf_call_seconds_bucket{{method=\"{m}\",status=\"{s}\",le=\"{b}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "pf_call_seconds_bucket{{method=\"{m}\",status=\"{s}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "pf_call_seconds_sum{{method=\"{m}\",status=\"{s}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "pf_call_seconds_count{{method=\"{m}\",status=\"{s}\"}} {}",
                h.count
            );
        }
        let _ = writeln!(
            out,
            "# HELP pf_cache_bytes Estimated bytes of the forecast cache.\n# TYPE pf_cache_bytes gauge\npf_cache_bytes {}",
            self.cache_bytes.load(Ordering::Relaxed)
        );
        let store = self
            .store_path
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
            .map_or(0, |p| {
                let wal = PathBuf::from(format!("{}-wal", p.display()));
                std::fs::metadata(&p).map_or(0, |m| m.len()) + std::fs::metadata(wal).map_or(0, |m| m.len())
            });
        let _ = writeln!(
            out,
            "# HELP pf_store_bytes Size of the store's files (database and WAL).\n# TYPE pf_store_bytes gauge\npf_store_bytes {store}"
        );
        let postgres = self
            .postgres
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .map(crate::pg::PgStore::append_counts);
        if let Some(c) = postgres {
            for (name, help, n) in [
                (
                    "pf_append_transactions_total",
                    "PostgreSQL transactions that wrote appends.",
                    c.transactions,
                ),
                (
                    "pf_appends_written_total",
                    "Appends written to PostgreSQL (appends per transaction: the group commit's gain).",
                    c.appends,
                ),
                (
                    "pf_append_groups_total",
                    "Groups of several appends committed in one PostgreSQL transaction.",
                    c.groups,
                ),
                (
                    "pf_appends_grouped_total",
                    "Appends those groups held.",
                    c.grouped,
                ),
            ] {
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {n}");
            }
        }
        let _ = writeln!(
            out,
            "# HELP pf_shared_forecasts_total Forecasts computed for WatchForecast streams and write replies (one per case version and as-of date, shared).\n# TYPE pf_shared_forecasts_total counter\npf_shared_forecasts_total {}",
            self.shared_forecasts.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP pf_checkpoints_total Plain forecasts by what they did with the case's checkpoints: hit (used as they were), advance (over the changed signals), rebuild (from scratch), full (over the whole history, for an older version).\n# TYPE pf_checkpoints_total counter"
        );
        for (kind, n) in [
            ("hit", &self.checkpoint_hits),
            ("advance", &self.checkpoint_advances),
            ("rebuild", &self.checkpoint_rebuilds),
            ("full", &self.checkpoint_full),
        ] {
            let _ = writeln!(
                out,
                "pf_checkpoints_total{{kind=\"{kind}\"}} {}",
                n.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP pf_forecast_signals_filtered_total Signals the plain forecasts filtered (from where each computation starts: see pf_checkpoints_total).\n# TYPE pf_forecast_signals_filtered_total counter\npf_forecast_signals_filtered_total {}",
            self.forecast_signals_filtered.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP pf_in_flight Calls in flight.\n# TYPE pf_in_flight gauge\npf_in_flight {}",
            self.in_flight.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP pf_work_running Blocking work units running (a cancelled call's work counts until it stops).\n# TYPE pf_work_running gauge\npf_work_running {}",
            crate::work::running()
        );
        let _ = writeln!(
            out,
            "# HELP pf_ready Whether the server is ready.\n# TYPE pf_ready gauge\npf_ready {}",
            u8::from(self.ready.load(Ordering::Relaxed))
        );
        out
    }
}

/// Serve `/metrics`, `/livez` and `/readyz` on `listener` for ever (one short request per connection).
pub async fn serve(listener: tokio::net::TcpListener, metrics: std::sync::Arc<Metrics>) {
    loop {
        let Ok((mut sock, _)) = listener.accept().await else {
            continue;
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 2048];
            let mut n = 0;
            // Read the request head (bounded: 2 KiB, 5 s).
            let read = tokio::time::timeout(std::time::Duration::from_secs(5), async {
                while n < buf.len() {
                    match sock.read(&mut buf[n..]).await {
                        Ok(0) | Err(_) => break,
                        Ok(k) => n += k,
                    }
                    if buf[..n].windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
            })
            .await;
            if read.is_err() {
                return;
            }
            let head = String::from_utf8_lossy(&buf[..n]);
            let path = head.split_whitespace().nth(1).unwrap_or("/");
            let (code, body) = match path {
                "/metrics" => ("200 OK", metrics.render()),
                "/livez" => ("200 OK", "ok\n".to_owned()),
                "/readyz" if metrics.ready.load(Ordering::Relaxed) => ("200 OK", "ready\n".to_owned()),
                "/readyz" => ("503 Service Unavailable", "not ready\n".to_owned()),
                _ => (
                    "404 Not Found",
                    "expected /metrics, /livez or /readyz\n".to_owned(),
                ),
            };
            let resp = format!(
                "HTTP/1.1 {code}\r\ncontent-type: text/plain; version=0.0.4\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(resp.as_bytes()).await;
        });
    }
}
