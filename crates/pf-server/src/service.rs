//! `pressure_forecast.v1.ForecastService`: one method per RPC, each converting its request at the edge,
//! calling the engine or the state, and converting the result back.
//!
//! Cheap work (a plain forecast is one filter pass, microseconds) runs on the async executor; anything
//! heavier (parameter draws, attribution, trajectories, what-if, value of information, every store write) runs
//! on tokio's blocking threads through `blocking`, with a cancel flag that is set when the call is dropped
//! (the caller went away or its deadline passed), which stops parameter draws early.

use std::pin::Pin;
use std::sync::Arc;

use chrono::NaiveDate;
use pf_core::{CancelFlag, Case, DrawOptions, Forecast, Model, WhatIf};
use pf_proto::convert::{self, named, signals_from_proto};
use pf_proto::v1::forecast_service_server::ForecastService;
use pf_proto::v1::{self as pb};
use pf_proto::{ConvertError, NewCase, parse_optional_date};
use tokio::sync::{broadcast, mpsc, watch};
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::config::Config;
use crate::error::{Result, ServerError};
use crate::state::State;

/// Forecasts with more signals than this are computed on a blocking thread even without draws.
const INLINE_SIGNALS: usize = 2_000;
/// Default and largest ListCases page.
const DEFAULT_PAGE: usize = 100;
const MAX_PAGE: usize = 1_000;
const PAGE_TOKEN_PREFIX: &str = "after:";

/// The service implementation.
#[derive(Debug, Clone)]
pub struct ForecastApi {
    state: Arc<State>,
    config: Arc<Config>,
    stopping: watch::Receiver<bool>,
    cache: Arc<ForecastCache>,
}

/// Plain forecasts already computed, by (case, as-of date). An entry holds the case snapshot it was computed
/// from, and is used only while that snapshot is still the case's current one (every append publishes a new
/// snapshot), so a cached forecast is always the one the log gives. Never the source of truth: it starts empty
/// and is cleared when it grows past `CACHE_ENTRIES`.
#[derive(Debug, Default)]
struct ForecastCache(std::sync::Mutex<std::collections::HashMap<CacheKey, CacheEntry>>);

/// A case id and an as-of date.
type CacheKey = (String, NaiveDate);
/// The case snapshot a forecast was computed from, and the forecast.
type CacheEntry = (Arc<Case>, pb::Forecast);

const CACHE_ENTRIES: usize = 10_000;

impl ForecastCache {
    fn get(&self, case: &Arc<Case>, as_of: NaiveDate) -> Option<pb::Forecast> {
        let map = self.0.lock().expect("the cache lock is never poisoned");
        match map.get(&(case.id.clone(), as_of)) {
            Some((snapshot, f)) if Arc::ptr_eq(snapshot, case) => Some(f.clone()),
            _ => None,
        }
    }

    fn put(&self, case: Arc<Case>, as_of: NaiveDate, f: pb::Forecast) {
        let mut map = self.0.lock().expect("the cache lock is never poisoned");
        if map.len() >= CACHE_ENTRIES {
            map.clear();
        }
        map.insert((case.id.clone(), as_of), (case, f));
    }
}

impl ForecastApi {
    /// A service over `state`; `stopping` turns true when the server begins to shut down (streams then end).
    pub fn new(state: Arc<State>, config: Config, stopping: watch::Receiver<bool>) -> ForecastApi {
        ForecastApi {
            state,
            config: Arc::new(config),
            stopping,
            cache: Arc::new(ForecastCache::default()),
        }
    }

    fn check_batch(&self, field: &'static str, n: usize) -> Result<()> {
        if n > self.config.max_batch {
            return Err(ServerError::BatchTooLarge {
                field,
                max: self.config.max_batch,
                found: n,
            });
        }
        Ok(())
    }

    /// A plain forecast, inline when cheap.
    async fn forecast(&self, case: Arc<Case>, as_of: NaiveDate) -> Result<Forecast> {
        if case.signals().len() <= INLINE_SIGNALS {
            return Ok(self.state.model.forecast(&case, as_of)?);
        }
        let model = self.state.model.clone();
        blocking(move |_| Ok(model.forecast(&case, as_of)?)).await
    }
}

/// Sets the flag when dropped: a call's future is dropped when the caller goes away or its deadline passes.
struct CancelOnDrop(Arc<CancelFlag>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// Run CPU-heavy or blocking work on tokio's blocking threads, cancelled when the call is dropped.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce(&CancelFlag) -> Result<T> + Send + 'static,
) -> Result<T> {
    let flag = Arc::new(CancelFlag::new());
    let _guard = CancelOnDrop(flag.clone());
    tokio::task::spawn_blocking(move || f(&flag))
        .await
        .map_err(|e| ServerError::Internal(format!("a worker task failed: {e}")))?
}

/// The as-of date of a request: the date given, or today (UTC).
pub(crate) fn parse_as_of(field: &str, text: &str) -> Result<NaiveDate> {
    Ok(parse_optional_date(field, text)?.unwrap_or_else(|| chrono::Utc::now().date_naive()))
}

fn required(field: &str, text: &str) -> Result<()> {
    if text.trim().is_empty() {
        return Err(ConvertError::invalid(field, "a non-empty id", "an empty string").into());
    }
    Ok(())
}

type WatchStream = Pin<Box<dyn Stream<Item = Result<pb::WatchForecastResponse, Status>> + Send>>;

#[tonic::async_trait]
impl ForecastService for ForecastApi {
    async fn create_case(
        &self,
        request: Request<pb::CreateCaseRequest>,
    ) -> Result<Response<pb::CreateCaseResponse>, Status> {
        let req = request.into_inner();
        let case = req
            .r#case
            .ok_or_else(|| ConvertError::invalid("case", "a case", "nothing"))
            .map_err(ServerError::from)?;
        self.check_batch("case.signals", case.signals.len())?;
        let NewCase { case, signals } = NewCase::try_from(case).map_err(ServerError::from)?;
        let state = self.state.clone();
        let created = blocking(move |_| state.create(case, signals)).await?;
        let forecast = self
            .forecast(created.case.clone(), parse_as_of("as_of", "")?)
            .await?;
        Ok(Response::new(pb::CreateCaseResponse {
            r#case: Some(pb::Case::from(created.case.as_ref())),
            created: created.created,
            forecast: Some(pb::Forecast::from(&forecast)),
        }))
    }

    async fn get_case(
        &self,
        request: Request<pb::GetCaseRequest>,
    ) -> Result<Response<pb::GetCaseResponse>, Status> {
        let req = request.into_inner();
        required("case_id", &req.case_id)?;
        let case = self.state.case(&req.case_id)?;
        Ok(Response::new(pb::GetCaseResponse {
            r#case: Some(pb::Case::from(case.as_ref())),
        }))
    }

    async fn list_cases(
        &self,
        request: Request<pb::ListCasesRequest>,
    ) -> Result<Response<pb::ListCasesResponse>, Status> {
        let req = request.into_inner();
        let size = match req.page_size as usize {
            0 => DEFAULT_PAGE,
            n => n.min(MAX_PAGE),
        };
        let after = if req.page_token.is_empty() {
            None
        } else {
            Some(req.page_token.strip_prefix(PAGE_TOKEN_PREFIX).ok_or_else(|| {
                ServerError::from(ConvertError::invalid(
                    "page_token",
                    "the next_page_token of a previous ListCases response",
                    format!("{:?}", req.page_token),
                ))
            })?)
        };
        let (cases, more) = self.state.list(after, size);
        let next_page_token = match (more, cases.last()) {
            (true, Some(last)) => format!("{PAGE_TOKEN_PREFIX}{}", last.id),
            _ => String::new(),
        };
        Ok(Response::new(pb::ListCasesResponse {
            cases: cases.iter().map(|c| convert::case_summary(c)).collect(),
            next_page_token,
        }))
    }

    async fn delete_case(
        &self,
        request: Request<pb::DeleteCaseRequest>,
    ) -> Result<Response<pb::DeleteCaseResponse>, Status> {
        let req = request.into_inner();
        required("case_id", &req.case_id)?;
        let state = self.state.clone();
        let n = blocking(move |_| state.delete(&req.case_id)).await?;
        Ok(Response::new(pb::DeleteCaseResponse {
            signals_deleted: u32::try_from(n).unwrap_or(u32::MAX),
        }))
    }

    async fn append_signals(
        &self,
        request: Request<pb::AppendSignalsRequest>,
    ) -> Result<Response<pb::AppendSignalsResponse>, Status> {
        let req = request.into_inner();
        required("case_id", &req.case_id)?;
        self.check_batch("signals", req.signals.len())?;
        let as_of = parse_as_of("as_of", &req.as_of)?;
        let signals = signals_from_proto("signals", req.signals).map_err(ServerError::from)?;
        let state = self.state.clone();
        let id = req.case_id;
        let appended = blocking(move |_| state.append(&id, signals)).await?;
        let forecast = self.forecast(appended.case.clone(), as_of).await?;
        Ok(Response::new(pb::AppendSignalsResponse {
            added: u32::try_from(appended.report.added).unwrap_or(u32::MAX),
            unchanged: u32::try_from(appended.report.unchanged).unwrap_or(u32::MAX),
            forecast: Some(pb::Forecast::from(&forecast)),
            signal_count: u32::try_from(appended.case.signals().len()).unwrap_or(u32::MAX),
        }))
    }

    async fn get_forecast(
        &self,
        request: Request<pb::GetForecastRequest>,
    ) -> Result<Response<pb::GetForecastResponse>, Status> {
        let req = request.into_inner();
        required("case_id", &req.case_id)?;
        let as_of = parse_as_of("as_of", &req.as_of)?;
        let case = self.state.case(&req.case_id)?;
        if req.draws == 0 && !req.include_attribution {
            if let Some(hit) = self.cache.get(&case, as_of) {
                return Ok(Response::new(pb::GetForecastResponse { forecast: Some(hit) }));
            }
            let f = pb::Forecast::from(&self.forecast(case.clone(), as_of).await?);
            self.cache.put(case, as_of, f.clone());
            return Ok(Response::new(pb::GetForecastResponse { forecast: Some(f) }));
        }
        let draws = req.draws as usize;
        if draws > self.config.max_draws {
            return Err(ServerError::from(ConvertError::invalid(
                "draws",
                format!("at most {} draws (the server's max_draws)", self.config.max_draws),
                draws,
            ))
            .into());
        }
        let opts = DrawOptions {
            draws,
            seed: req.seed,
            levels: if req.levels.is_empty() {
                vec![0.9]
            } else {
                req.levels
            },
        };
        let model: Arc<Model> = self.state.model.clone();
        let with_attribution = req.include_attribution;
        let out = blocking(move |flag| {
            let f = if draws > 0 {
                model.forecast_with_intervals(&case, as_of, &opts, flag)?
            } else {
                model.forecast(&case, as_of)?
            };
            let mut p = pb::Forecast::from(&f);
            if with_attribution {
                let a = model.attribution(&case, as_of)?;
                let d = model.drop_one(&case, as_of)?;
                p.attribution = Some(convert::attribution_to_proto(&a, &d));
            }
            Ok(p)
        })
        .await?;
        Ok(Response::new(pb::GetForecastResponse { forecast: Some(out) }))
    }

    async fn get_trajectory(
        &self,
        request: Request<pb::GetTrajectoryRequest>,
    ) -> Result<Response<pb::GetTrajectoryResponse>, Status> {
        let req = request.into_inner();
        required("case_id", &req.case_id)?;
        let from = parse_optional_date("from", &req.from).map_err(ServerError::from)?;
        let to = parse_optional_date("to", &req.to).map_err(ServerError::from)?;
        let resolution = convert::resolution_from_proto(req.resolution).map_err(ServerError::from)?;
        let case = self.state.case(&req.case_id)?;
        let model = self.state.model.clone();
        let out = blocking(move |_| {
            Ok(pb::GetTrajectoryResponse::from(
                &model.trajectory(&case, from, to, resolution)?,
            ))
        })
        .await?;
        Ok(Response::new(out))
    }

    async fn what_if(
        &self,
        request: Request<pb::WhatIfRequest>,
    ) -> Result<Response<pb::WhatIfResponse>, Status> {
        let req = request.into_inner();
        required("case_id", &req.case_id)?;
        self.check_batch("signals", req.signals.len())?;
        let as_of = parse_as_of("as_of", &req.as_of)?;
        let term_end = parse_optional_date("term_end", &req.term_end).map_err(ServerError::from)?;
        let signals = signals_from_proto("signals", req.signals).map_err(ServerError::from)?;
        let case = self.state.case(&req.case_id)?;
        let model = self.state.model.clone();
        let out = blocking(move |_| {
            Ok(pb::WhatIfResponse::from(&model.what_if(
                &case,
                as_of,
                &WhatIf { signals, term_end },
            )?))
        })
        .await?;
        Ok(Response::new(out))
    }

    async fn get_value_of_information(
        &self,
        request: Request<pb::GetValueOfInformationRequest>,
    ) -> Result<Response<pb::GetValueOfInformationResponse>, Status> {
        let req = request.into_inner();
        required("case_id", &req.case_id)?;
        let as_of = parse_as_of("as_of", &req.as_of)?;
        let case = self.state.case(&req.case_id)?;
        let model = self.state.model.clone();
        let out = blocking(move |_| {
            Ok(pb::GetValueOfInformationResponse::from(
                &model.value_of_information(&case, as_of)?,
            ))
        })
        .await?;
        Ok(Response::new(out))
    }

    type WatchForecastStream = WatchStream;

    async fn watch_forecast(
        &self,
        request: Request<pb::WatchForecastRequest>,
    ) -> Result<Response<Self::WatchForecastStream>, Status> {
        let req = request.into_inner();
        required("case_id", &req.case_id)?;
        let fixed = parse_optional_date("as_of", &req.as_of).map_err(ServerError::from)?;
        // Subscribe before the first snapshot, so that no append falls between the two.
        let mut changes = self.state.subscribe();
        let case = self.state.case(&req.case_id)?;
        let first = self
            .forecast(
                case.clone(),
                fixed.unwrap_or_else(|| chrono::Utc::now().date_naive()),
            )
            .await?;
        let (tx, rx) = mpsc::channel::<Result<pb::WatchForecastResponse, Status>>(16);
        let api = self.clone();
        let mut stopping = self.stopping.clone();
        let id = req.case_id;
        tokio::spawn(async move {
            let msg = |f: &Forecast, n: usize| pb::WatchForecastResponse {
                forecast: Some(pb::Forecast::from(f)),
                signal_count: u32::try_from(n).unwrap_or(u32::MAX),
            };
            if tx.send(Ok(msg(&first, case.signals().len()))).await.is_err() {
                return;
            }
            let mut last = case.signals().len();
            loop {
                let changed = tokio::select! {
                    r = changes.recv() => match r {
                        Ok(changed) => changed == id,
                        Err(broadcast::error::RecvError::Lagged(_)) => true,
                        Err(broadcast::error::RecvError::Closed) => break,
                    },
                    r = stopping.wait_for(|s| *s) => {
                        drop(r);
                        let _ = tx.try_send(Err(Status::unavailable("server shutting down: reconnect to go on watching")));
                        break;
                    }
                    () = tx.closed() => break,
                };
                if !changed {
                    continue;
                }
                let case = match api.state.case(&id) {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = tx.send(Err(Status::from(e))).await;
                        break;
                    }
                };
                if case.signals().len() == last {
                    continue;
                }
                last = case.signals().len();
                let as_of = fixed.unwrap_or_else(|| chrono::Utc::now().date_naive());
                let item = api
                    .forecast(case, as_of)
                    .await
                    .map(|f| msg(&f, last))
                    .map_err(Status::from);
                if tx.send(item).await.is_err() {
                    break;
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn get_model(
        &self,
        _request: Request<pb::GetModelRequest>,
    ) -> Result<Response<pb::GetModelResponse>, Status> {
        let m = &self.state.model;
        Ok(Response::new(pb::GetModelResponse {
            name: m.name().to_owned(),
            description: m.description().to_owned(),
            toml: self.state.model_toml.clone(),
            regimes: m.regimes().to_vec(),
            outcomes: m.outcomes().to_vec(),
            signal_types: m.signal_types(),
        }))
    }

    async fn list_signal_types(
        &self,
        _request: Request<pb::ListSignalTypesRequest>,
    ) -> Result<Response<pb::ListSignalTypesResponse>, Status> {
        let m = &self.state.model;
        let types = m
            .signal_types()
            .into_iter()
            .map(|name| pb::SignalType {
                description: m.describe_signal_type(&name).unwrap_or_default().to_owned(),
                likelihood: named(m.regimes(), m.emission(&name).unwrap_or_default()),
                name,
            })
            .collect();
        Ok(Response::new(pb::ListSignalTypesResponse { types }))
    }

    async fn import_events(
        &self,
        request: Request<pb::ImportEventsRequest>,
    ) -> Result<Response<pb::ImportEventsResponse>, Status> {
        crate::import::import_events(self, request.into_inner())
            .await
            .map(Response::new)
            .map_err(Status::from)
    }
}

impl ForecastApi {
    /// Shared with [`crate::import`]: append and forecast.
    pub(crate) async fn append_and_forecast(
        &self,
        case_id: String,
        signals: Vec<pf_core::Signal>,
        as_of: NaiveDate,
    ) -> Result<(pf_core::AppendReport, Forecast)> {
        self.check_batch("signals", signals.len())?;
        let state = self.state.clone();
        let appended = blocking(move |_| state.append(&case_id, signals)).await?;
        let forecast = self.forecast(appended.case.clone(), as_of).await?;
        Ok((appended.report, forecast))
    }

    /// The state (for [`crate::import`]).
    pub(crate) fn state(&self) -> &Arc<State> {
        &self.state
    }
}
