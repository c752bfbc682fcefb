//! # pf-server: the pressure_forecast gRPC service
//!
//! `pressureforecast.v1.ForecastService` over tonic, on an embedded, event-sourced SQLite store, with the
//! standard health (`grpc.health.v1`) and reflection (v1 and v1alpha) services always on.
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

pub mod cli;
pub mod config;
pub mod error;
mod import;
pub mod layer;
pub mod service;
pub mod state;
pub mod store;
pub mod work;

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use pf_core::{Case, Forecast, Model};
use pf_proto::v1::forecast_service_server::ForecastServiceServer;
use tokio::net::TcpListener;

pub use config::Config;
pub use error::{ServerError, StoreError};
pub use service::ForecastApi;
pub use state::State;
pub use work::today;

/// An opened server: model loaded, store opened, checked and replayed, examples seeded if configured.
#[derive(Debug)]
pub struct Server {
    state: Arc<State>,
    config: Config,
    seeded: Vec<String>,
}

impl Server {
    /// Load the model, open the store (creating it on first start), rebuild the cases from its log, and seed
    /// the example cases when `config.seed_examples` is set (idempotent: existing cases are left alone).
    /// Blocking.
    ///
    /// # Errors
    /// A bad model file, a store that cannot be opened or fails its checks, an example case that does not load.
    pub fn open(config: Config) -> anyhow::Result<Server> {
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
        let store =
            store::Store::open(&config.db).with_context(|| format!("store {}", config.db.display()))?;
        let state = Arc::new(
            State::open(store, model, toml).with_context(|| format!("store {}", config.db.display()))?,
        );
        let mut seeded = Vec::new();
        if config.seed_examples {
            for (name, text) in state::EXAMPLE_CASES {
                let v: serde_json::Value =
                    serde_json::from_str(text).with_context(|| format!("example {name}"))?;
                let case =
                    Case::from_json(&v, state.model.as_ref()).with_context(|| format!("example {name}"))?;
                let id = case.id.clone();
                if state.case(&id).is_err() {
                    state
                        .create(case, Vec::new())
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
    pub fn example_forecasts(&self) -> anyhow::Result<Vec<Forecast>> {
        let today = work::today();
        self.seeded
            .iter()
            .filter_map(|id| self.state.case(id).ok())
            .map(|c| Ok(self.state.model.forecast(&c, today)?))
            .collect()
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
        let api = ForecastApi::new(state.clone(), config.clone(), stopping);
        let service = ForecastServiceServer::new(api)
            .max_decoding_message_size(config.max_message_bytes)
            .max_encoding_message_size(config.max_message_bytes);
        let signal = async move {
            shutdown.await;
            tracing::info!("shutting down: no new calls, draining the calls in flight");
            health
                .set_not_serving::<ForecastServiceServer<ForecastApi>>()
                .await;
            let _ = stopping_tx.send(true);
        };
        let incoming = nodelay(listener);
        tonic::transport::Server::builder()
            .layer(layer::CallLayer)
            .add_service(health_service)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            .add_service(service)
            .serve_with_incoming_shutdown(incoming, signal)
            .await
            .context("serving")?;
        state.close().context("closing the store")?;
        tracing::info!("store closed");
        Ok(())
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
    let server = tokio::task::spawn_blocking(move || Server::open(config)).await??;
    server.serve(listener, shutdown).await
}
