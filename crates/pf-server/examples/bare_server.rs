//! The benchmarks' baselines: a bare tonic handler for `ForecastService/GetForecast` that returns a
//! precomputed response of the same size as the real service's (the forecast of an example case), with no
//! store, no state and no layers; and, given a PostgreSQL URL, a bare relay for `CreateCase` and
//! `AppendSignals` that does what `append_load plain` does (the case's row; then per call one transaction with
//! the batch's rows in one multi-row INSERT) and answers with the count only: no validation beyond the
//! conversion, no case in memory, no version, no notification, no forecast. It is the ceiling of any gRPC
//! front end to those inserts on the machine it runs on (`scripts/bench_pg.sh`). Every other method is
//! UNIMPLEMENTED.
//!
//! `cargo run --release -p pf-server --example bare_server -- 127.0.0.1:50052 usa-prk-2017 2018-10-31 [URL]`

use pf_proto::v1 as pb;
use pf_proto::v1::forecast_service_server::{ForecastService, ForecastServiceServer};
use tonic::{Request, Response, Status};

#[derive(Clone)]
struct Bare(pb::GetForecastResponse, Option<deadpool_postgres::Pool>);

impl Bare {
    /// The relay's pool, or UNIMPLEMENTED when no URL was given.
    async fn client(&self) -> Result<deadpool_postgres::Object, Status> {
        let pool = self
            .1
            .as_ref()
            .ok_or_else(|| Status::unimplemented("bare server without a database"))?;
        pool.get().await.map_err(|e| Status::unavailable(e.to_string()))
    }
}

fn pg(e: tokio_postgres::Error) -> Status {
    Status::unavailable(e.to_string())
}

#[tonic::async_trait]
impl ForecastService for Bare {
    async fn get_forecast(
        &self,
        _r: Request<pb::GetForecastRequest>,
    ) -> Result<Response<pb::GetForecastResponse>, Status> {
        Ok(Response::new(self.0.clone()))
    }
    async fn create_case(
        &self,
        r: Request<pb::CreateCaseRequest>,
    ) -> Result<Response<pb::CreateCaseResponse>, Status> {
        let c = r
            .into_inner()
            .coercion_case
            .ok_or_else(|| Status::invalid_argument("case: required"))?;
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO cases (id, header) VALUES ($1, '{}') ON CONFLICT DO NOTHING",
                &[&c.id],
            )
            .await
            .map_err(pg)?;
        Ok(Response::new(pb::CreateCaseResponse {
            coercion_case: Some(c),
            ..Default::default()
        }))
    }
    async fn update_case(
        &self,
        _r: Request<pb::UpdateCaseRequest>,
    ) -> Result<Response<pb::UpdateCaseResponse>, Status> {
        Err(Status::unimplemented("bare server"))
    }
    async fn list_signals(
        &self,
        _r: Request<pb::ListSignalsRequest>,
    ) -> Result<Response<pb::ListSignalsResponse>, Status> {
        Err(Status::unimplemented("bare server"))
    }
    async fn retract_signal(
        &self,
        _r: Request<pb::RetractSignalRequest>,
    ) -> Result<Response<pb::RetractSignalResponse>, Status> {
        Err(Status::unimplemented("bare server"))
    }
    async fn get_case(
        &self,
        _r: Request<pb::GetCaseRequest>,
    ) -> Result<Response<pb::GetCaseResponse>, Status> {
        Err(Status::unimplemented("bare server"))
    }
    async fn list_cases(
        &self,
        _r: Request<pb::ListCasesRequest>,
    ) -> Result<Response<pb::ListCasesResponse>, Status> {
        Err(Status::unimplemented("bare server"))
    }
    async fn delete_case(
        &self,
        _r: Request<pb::DeleteCaseRequest>,
    ) -> Result<Response<pb::DeleteCaseResponse>, Status> {
        Err(Status::unimplemented("bare server"))
    }
    async fn append_signals(
        &self,
        r: Request<pb::AppendSignalsRequest>,
    ) -> Result<Response<pb::AppendSignalsResponse>, Status> {
        let r = r.into_inner();
        let mut ids = Vec::with_capacity(r.signals.len());
        let mut records = Vec::with_capacity(r.signals.len());
        for p in r.signals {
            let s = pf_core::Signal::try_from(p).map_err(|e| Status::invalid_argument(e.to_string()))?;
            ids.push(s.id.as_deref().unwrap_or_default().to_owned());
            records.push(serde_json::to_string(&s).map_err(|e| Status::internal(e.to_string()))?);
        }
        let mut client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "INSERT INTO signals (case_id, id, record) \
                 SELECT $1, b.id, b.record FROM unnest($2::text[], $3::text[]) AS b(id, record)",
            )
            .await
            .map_err(pg)?;
        let tx = client.transaction().await.map_err(pg)?;
        let added = tx
            .execute(&stmt, &[&r.case_id, &ids, &records])
            .await
            .map_err(pg)?;
        tx.commit().await.map_err(pg)?;
        Ok(Response::new(pb::AppendSignalsResponse {
            added: u32::try_from(added).unwrap_or(u32::MAX),
            ..Default::default()
        }))
    }
    async fn get_trajectory(
        &self,
        _r: Request<pb::GetTrajectoryRequest>,
    ) -> Result<Response<pb::GetTrajectoryResponse>, Status> {
        Err(Status::unimplemented("bare server"))
    }
    async fn what_if(&self, _r: Request<pb::WhatIfRequest>) -> Result<Response<pb::WhatIfResponse>, Status> {
        Err(Status::unimplemented("bare server"))
    }
    async fn run_scenario(
        &self,
        _r: Request<pb::RunScenarioRequest>,
    ) -> Result<Response<pb::RunScenarioResponse>, Status> {
        Err(Status::unimplemented("bare server"))
    }
    async fn compare_policies(
        &self,
        _r: Request<pb::ComparePoliciesRequest>,
    ) -> Result<Response<pb::ComparePoliciesResponse>, Status> {
        Err(Status::unimplemented("bare server"))
    }
    async fn get_value_of_information(
        &self,
        _r: Request<pb::GetValueOfInformationRequest>,
    ) -> Result<Response<pb::GetValueOfInformationResponse>, Status> {
        Err(Status::unimplemented("bare server"))
    }
    async fn get_model(
        &self,
        _r: Request<pb::GetModelRequest>,
    ) -> Result<Response<pb::GetModelResponse>, Status> {
        Err(Status::unimplemented("bare server"))
    }
    async fn list_signal_types(
        &self,
        _r: Request<pb::ListSignalTypesRequest>,
    ) -> Result<Response<pb::ListSignalTypesResponse>, Status> {
        Err(Status::unimplemented("bare server"))
    }
    async fn import_events(
        &self,
        _r: Request<pb::ImportEventsRequest>,
    ) -> Result<Response<pb::ImportEventsResponse>, Status> {
        Err(Status::unimplemented("bare server"))
    }
    type WatchForecastStream = tokio_stream::Empty<Result<pb::WatchForecastResponse, Status>>;
    async fn watch_forecast(
        &self,
        _r: Request<pb::WatchForecastRequest>,
    ) -> Result<Response<Self::WatchForecastStream>, Status> {
        Err(Status::unimplemented("bare server"))
    }
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr: std::net::SocketAddr = args.next().unwrap_or_else(|| "127.0.0.1:50052".into()).parse()?;
    let id = args.next().unwrap_or_else(|| "usa-prk-2017".into());
    let as_of = args.next().unwrap_or_else(|| "2018-10-31".into());
    let url = args.next();
    let model = pf_core::Model::default_model();
    let (_, text) = pf_server::state::EXAMPLE_CASES
        .iter()
        .find(|(_, t)| t.contains(&format!("\"{id}\"")))
        .ok_or_else(|| anyhow::anyhow!("no example case {id}"))?;
    let case = pf_core::Case::from_json(&serde_json::from_str(text)?, &model)?;
    let f = model.forecast(&case, chrono::NaiveDate::parse_from_str(&as_of, "%Y-%m-%d")?)?;
    let resp = pb::GetForecastResponse {
        forecast: Some(pb::Forecast::from(&f)),
        // The service's first version of a case.
        version: 1,
    };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        let pool = match url {
            Some(url) => {
                let config: tokio_postgres::Config = url.parse()?;
                let manager = deadpool_postgres::Manager::new(config, tokio_postgres::NoTls);
                Some(deadpool_postgres::Pool::builder(manager).max_size(16).build()?)
            }
            None => None,
        };
        let listener = tokio::net::TcpListener::bind(addr).await?;
        println!("bare server listening on {}", listener.local_addr()?);
        tonic::transport::Server::builder()
            .add_service(ForecastServiceServer::new(Bare(resp, pool)))
            .serve_with_incoming_shutdown(pf_server::nodelay(listener), async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        Ok(())
    })
}
