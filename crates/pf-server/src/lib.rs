//! # pf-server: the pressure_forecast gRPC service
//!
//! `pressureforecast.v1.ForecastService` over tonic, on an event-sourced store: the embedded SQLite file (the
//! default) or a PostgreSQL database shared by any number of replicas ([`pg`]), with the standard health
//! (`grpc.health.v1`) and reflection (v1 and v1alpha) services always on.
//!
//! [`serve`] takes a bound listener, a [`Config`] and a shutdown future, so tests can pass port 0; the
//! `pressure-forecast serve` command is [`cli::run`].
//!
//! # Examples
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let config = pf_server::Config { db: "var/test.sqlite3".into(), ..Default::default() };
//! tokio::spawn(pf_server::serve(listener, config, async { let _ = stopped.await; }));
//! // ... call it ...
//! let _ = stop.send(());
//! # Ok(()) }
//! ```

pub mod auth;
pub mod cli;
pub mod config;
pub mod error;
mod import;
mod incremental;
pub mod layer;
pub mod limits;
pub mod metrics;
pub mod pg;
pub mod service;
pub mod state;
pub mod store;
pub mod work;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use pf_core::{Case, Forecast, Model};
use pf_proto::v1::forecast_service_server::ForecastServiceServer;
use tokio::net::TcpListener;

pub use config::Config;
pub use error::{ServerError, StoreError};
pub use service::ForecastApi;
pub use state::State;
pub use work::today;

/// An opened server: model loaded, store opened and checked (cases load on first use), examples seeded if configured.
#[derive(Debug)]
pub struct Server {
    state: Arc<State>,
    config: Config,
    seeded: Vec<String>,
}

impl Server {
    /// Load the model, open the store (creating it on first start; PostgreSQL: applying its migrations and
    /// listening for changes), and seed the example cases when
    /// `config.seed_examples` is set (idempotent: existing cases are left alone).
    ///
    /// # Errors
    /// A bad model file, a store that cannot be opened or fails its checks, an example case that does not load.
    pub async fn open(config: Config) -> anyhow::Result<Server> {
        let (model, toml) = match &config.model {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read the model file {}", p.display()))?;
                (
                    Model::from_toml_str(&text).with_context(|| format!("model file {}", p.display()))?,
                    text,
                )
            }
            None => (Model::default_model(), Model::default_toml().to_owned()),
        };
        let name = config.db_display();
        let state = match config.database() {
            config::Database::Sqlite(path) => {
                let cache = config.case_cache_bytes;
                let opened = tokio::task::spawn_blocking(move || {
                    let store = store::Store::open(&path)?;
                    State::open_sqlite(store, model, toml, cache)
                })
                .await?;
                Arc::new(opened.with_context(|| format!("store {name}"))?)
            }
            config::Database::Postgres(url) => {
                let pg = pg::PgStore::connect(&url)
                    .await
                    .with_context(|| format!("store {name}"))?;
                let state = Arc::new(State::open_postgres(pg, model, toml, config.case_cache_bytes));
                state.listen_for_changes();
                state
            }
        };
        let mut seeded = Vec::new();
        if config.seed_examples {
            for (name, text) in state::EXAMPLE_CASES {
                let v: serde_json::Value =
                    serde_json::from_str(text).with_context(|| format!("example {name}"))?;
                let case =
                    Case::from_json(&v, state.model.as_ref()).with_context(|| format!("example {name}"))?;
                let id = case.id.clone();
                if state.case(&id).await.is_err() {
                    state
                        .create(case, Vec::new())
                        .await
                        .with_context(|| format!("seeding example {name}"))?;
                    tracing::info!(case = %id, "seeded example case");
                }
                seeded.push(id);
            }
        }
        Ok(Server {
            state,
            config,
            seeded,
        })
    }

    /// The shared state.
    pub fn state(&self) -> &Arc<State> {
        &self.state
    }

    /// The current forecasts (as of today) of the example cases, when seeding was configured.
    ///
    /// # Errors
    /// An engine error for a stored case.
    pub async fn example_forecasts(&self) -> anyhow::Result<Vec<Forecast>> {
        let today = work::today();
        let mut out = Vec::new();
        for id in &self.seeded {
            if let Ok(c) = self.state.case(id).await {
                out.push(self.state.model.forecast(&c, today)?);
            }
        }
        Ok(out)
    }

    /// Serve on `listener` until `shutdown` completes; then stop accepting, end WatchForecast streams, drain
    /// the calls in flight, and close the store.
    ///
    /// # Errors
    /// A transport error, or the store failing to close cleanly.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Server { state, config, .. } = self;
        let metrics = Arc::new(metrics::Metrics::default());
        *metrics
            .store_path
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = match config.database() {
            config::Database::Sqlite(p) => Some(p),
            config::Database::Postgres(_) => None,
        };
        *metrics
            .postgres
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = state.postgres().cloned();
        if let Some(addr) = config.metrics_listen {
            let l = TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen for metrics on {addr}"))?;
            tracing::info!(addr = %l.local_addr()?, "metrics and probes on /metrics, /livez, /readyz");
            tokio::spawn(metrics::serve(l, metrics.clone()));
        }
        // Reads are logged at debug level; once a minute, their count at info.
        let summary = {
            let metrics = metrics.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
                tick.tick().await;
                loop {
                    tick.tick().await;
                    let n = metrics.reads.swap(0, std::sync::atomic::Ordering::Relaxed);
                    if n > 0 {
                        tracing::info!(target: "pf_server::call", reads = n, "reads in the last minute");
                    }
                }
            })
        };
        let (health, health_service) = tonic_health::server::health_reporter();
        health.set_serving::<ForecastServiceServer<ForecastApi>>().await;
        let reflection_v1 = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(pf_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1()?;
        let reflection_v1alpha = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(pf_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1alpha()?;
        let (stopping_tx, stopping) = tokio::sync::watch::channel(false);
        let api = ForecastApi::with_metrics(state.clone(), config.clone(), stopping, metrics.clone());
        let service = ForecastServiceServer::new(api)
            .max_decoding_message_size(config.max_message_bytes)
            .max_encoding_message_size(config.max_message_bytes);
        let (drain_tx, drain_rx) = tokio::sync::oneshot::channel::<()>();
        let ready = metrics.clone();
        ready.ready.store(true, std::sync::atomic::Ordering::Relaxed);
        let signal = async move {
            shutdown.await;
            tracing::info!("shutting down: no new calls, draining the calls in flight");
            ready.ready.store(false, std::sync::atomic::Ordering::Relaxed);
            health
                .set_not_serving::<ForecastServiceServer<ForecastApi>>()
                .await;
            let _ = stopping_tx.send(true);
            let _ = drain_tx.send(());
        };
        let incoming = nodelay(listener);
        let guard = Arc::new(layer::Guard::new(&config, metrics.clone()));
        let mut builder =
            tonic::transport::Server::builder().max_concurrent_streams(config.max_concurrency_per_connection);
        if let (Some(cert), Some(key)) = (&config.tls_cert, &config.tls_key) {
            let read = |p: &std::path::Path, what: &str| {
                std::fs::read(p).with_context(|| format!("cannot read the TLS {what} {}", p.display()))
            };
            let mut tls = tonic::transport::ServerTlsConfig::new().identity(
                tonic::transport::Identity::from_pem(read(cert, "certificate")?, read(key, "key")?),
            );
            if let Some(ca) = &config.tls_client_ca {
                tls = tls.client_ca_root(tonic::transport::Certificate::from_pem(read(ca, "client CA")?));
            }
            builder = builder.tls_config(tls).context("TLS configuration")?;
        }
        let router = builder
            .layer(layer::CallLayer::new(guard))
            .add_service(health_service)
            .add_optional_service(config.reflection.then_some(reflection_v1))
            .add_optional_service(config.reflection.then_some(reflection_v1alpha))
            .add_service(service);
        let serving = router.serve_with_incoming_shutdown(incoming, signal);
        let drain = Duration::from_millis(config.drain_timeout_ms);
        let outcome = tokio::select! {
            r = serving => r.context("serving"),
            () = async move {
                if drain_rx.await.is_ok() {
                    tokio::time::sleep(drain).await;
                } else {
                    std::future::pending::<()>().await;
                }
            } => {
                tracing::warn!(drain_ms = config.drain_timeout_ms, "drain timeout: calls still in flight are abandoned");
                Err(anyhow::anyhow!(
                    "drain timeout: calls were still in flight {} ms after shutdown began (drain_timeout_ms)",
                    config.drain_timeout_ms
                ))
            }
        };
        summary.abort();
        state.close().context("closing the store")?;
        tracing::info!("store closed");
        outcome
    }
}

/// Accepted connections with TCP_NODELAY set: gRPC writes small frames, and Nagle's algorithm with delayed ACKs
/// would hold each response back by tens of milliseconds.
pub fn nodelay(
    listener: TcpListener,
) -> impl tokio_stream::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    use tokio_stream::StreamExt;
    tokio_stream::wrappers::TcpListenerStream::new(listener).map(|r| {
        r.and_then(|s| {
            s.set_nodelay(true)?;
            Ok(s)
        })
    })
}

/// Open the store and serve on `listener` until `shutdown` completes (see [`Server::open`] and
/// [`Server::serve`]).
///
/// # Errors
/// As [`Server::open`] and [`Server::serve`].
pub async fn serve(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let server = Server::open(config).await?;
    server.serve(listener, shutdown).await
}
