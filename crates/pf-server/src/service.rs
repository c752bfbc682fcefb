//! `pressureforecast.v1.ForecastService`: one method per RPC, each converting its request at the edge,
//! calling the engine or the state, and converting the result back.
//!
//! Cheap work (a plain forecast is one filter pass, microseconds) runs on the async executor; anything
//! heavier (parameter draws, attribution, trajectories, what-if, value of information, every store write) runs
//! on tokio's blocking threads through `blocking`, with a cancel flag that is set when the call is dropped
//! (the caller went away or its deadline passed), which stops parameter draws early.

use std::pin::Pin;
use std::sync::Arc;

use chrono::NaiveDate;
use pf_core::v2::{Role, Scenario};
use pf_core::{Case, DrawOptions, Forecast, Model, Signal, WhatIf};
use pf_proto::convert::{self, case_summary, named, signals_from_proto};
use pf_proto::v1::forecast_service_server::ForecastService;
use pf_proto::v1::{self as pb};
use pf_proto::{ConvertError, NewCase};
use tokio::sync::{broadcast, mpsc, watch};
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::config::Config;
use crate::error::{Result, ServerError};
use crate::state::{Snapshot, State, Summary};
use crate::store::CaseUpdate;
use crate::work::{blocking, today};

/// Default and largest page of every paged list.
const DEFAULT_PAGE: usize = 100;
const MAX_PAGE: usize = 1_000;
const CASE_TOKEN_PREFIX: &str = "after:";
const SIGNAL_TOKEN_PREFIX: &str = "signal:";

/// The fields UpdateCase writes.
const UPDATE_PATHS: [&str; 3] = ["description", "reelection_eligible", "election_date"];

/// The service implementation.
#[derive(Debug, Clone)]
pub struct ForecastApi {
    state: Arc<State>,
    config: Arc<Config>,
    stopping: watch::Receiver<bool>,
    cache: Arc<ForecastCache>,
    shared: Arc<SharedForecasts>,
}

/// The forecast of one case version as of one date, computed once and shared by everyone who asks for it while
/// it is being made or after: every WatchForecast stream of the case and the AppendSignals (or ImportEvents)
/// reply that made the version. A computation in flight is awaited by the others (a `OnceCell` per key), never
/// started twice. One entry per (case, as-of date): a newer version replaces it, and an entry whose case
/// snapshot nobody holds any more is dropped as the map grows.
#[derive(Debug, Default)]
struct SharedForecasts {
    map: std::sync::Mutex<std::collections::HashMap<CacheKey, SharedEntry>>,
}

/// The outcome of one shared computation.
type SharedResult = std::result::Result<Arc<pb::Forecast>, Status>;

#[derive(Debug)]
struct SharedEntry {
    version: u64,
    case: std::sync::Weak<Case>,
    cell: Arc<tokio::sync::OnceCell<SharedResult>>,
}

/// Past this many entries, entries whose snapshot is gone are swept on insertion.
const SHARED_SWEEP: usize = 256;

impl SharedForecasts {
    /// The cell of (`snap`'s case and version, `as_of`): the existing one when it is for this very snapshot.
    fn cell(&self, snap: &Snapshot, as_of: NaiveDate) -> Arc<tokio::sync::OnceCell<SharedResult>> {
        let mut map = self.map.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let key = (snap.case.id.clone(), as_of);
        if let Some(e) = map.get(&key)
            && e.version == snap.version
            && std::ptr::eq(e.case.as_ptr(), Arc::as_ptr(&snap.case))
        {
            return e.cell.clone();
        }
        if map.len() >= SHARED_SWEEP {
            map.retain(|_, e| e.case.strong_count() > 0);
        }
        let cell = Arc::new(tokio::sync::OnceCell::new());
        map.insert(
            key,
            SharedEntry {
                version: snap.version,
                case: Arc::downgrade(&snap.case),
                cell: cell.clone(),
            },
        );
        cell
    }
}

/// Plain forecasts already computed, by (case, as-of date), bounded in bytes (`cache_bytes`). An entry holds
/// a weak reference to the case snapshot it was computed from (not a copy of the case: the snapshot's signals
/// are freed as soon as the case moves on), and is used only while that snapshot is still the case's current
/// one, so a cached forecast is always the one the log gives. Entries leave oldest first when the cache is
/// over its size. Never the source of truth.
#[derive(Debug)]
struct ForecastCache {
    inner: std::sync::Mutex<CacheInner>,
    max_bytes: usize,
    metrics: Arc<crate::metrics::Metrics>,
}

#[derive(Debug, Default)]
struct CacheInner {
    map: std::collections::HashMap<CacheKey, CacheEntry>,
    order: std::collections::VecDeque<CacheKey>,
    bytes: usize,
}

/// A case id and an as-of date.
type CacheKey = (String, NaiveDate);
/// The case snapshot a forecast was computed from, the forecast, and the entry's estimated size.
type CacheEntry = (std::sync::Weak<Case>, pb::Forecast, usize);

/// Estimated bytes of an entry beyond its key and forecast (map slot, queue slot, allocations).
const CACHE_OVERHEAD: usize = 160;

impl ForecastCache {
    fn new(max_bytes: usize, metrics: Arc<crate::metrics::Metrics>) -> ForecastCache {
        ForecastCache {
            inner: std::sync::Mutex::default(),
            max_bytes,
            metrics,
        }
    }

    fn get(&self, case: &Arc<Case>, as_of: NaiveDate) -> Option<pb::Forecast> {
        let inner = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match inner.map.get(&(case.id.clone(), as_of)) {
            Some((snapshot, f, _))
                if std::ptr::eq(snapshot.as_ptr(), Arc::as_ptr(case)) && snapshot.strong_count() > 0 =>
            {
                Some(f.clone())
            }
            _ => None,
        }
    }

    fn put(&self, case: &Arc<Case>, as_of: NaiveDate, f: pb::Forecast) {
        use prost::Message;
        let size = f.encoded_len() * 2 + case.id.len() * 2 + CACHE_OVERHEAD;
        if size > self.max_bytes {
            return;
        }
        let mut inner = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let key = (case.id.clone(), as_of);
        if let Some((_, _, old)) = inner.map.remove(&key) {
            inner.bytes -= old;
            inner.order.retain(|k| *k != key);
        }
        while inner.bytes + size > self.max_bytes {
            let Some(k) = inner.order.pop_front() else { break };
            if let Some((_, _, n)) = inner.map.remove(&k) {
                inner.bytes -= n;
            }
        }
        inner.map.insert(key.clone(), (Arc::downgrade(case), f, size));
        inner.order.push_back(key);
        inner.bytes += size;
        self.metrics
            .cache_bytes
            .store(inner.bytes as u64, std::sync::atomic::Ordering::Relaxed);
    }

    fn bytes(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .bytes
    }
}

impl ForecastApi {
    /// A service over `state`; `stopping` turns true when the server begins to shut down (streams then end).
    pub fn new(state: Arc<State>, config: Config, stopping: watch::Receiver<bool>) -> ForecastApi {
        ForecastApi {
            state,
            stopping,
            cache: Arc::new(ForecastCache::new(config.cache_bytes, Arc::default())),
            shared: Arc::default(),
            config: Arc::new(config),
        }
    }

    /// As [`ForecastApi::new`], recording the cache's size in `metrics`.
    pub fn with_metrics(
        state: Arc<State>,
        config: Config,
        stopping: watch::Receiver<bool>,
        metrics: Arc<crate::metrics::Metrics>,
    ) -> ForecastApi {
        ForecastApi {
            state,
            stopping,
            cache: Arc::new(ForecastCache::new(config.cache_bytes, metrics)),
            shared: Arc::default(),
            config: Arc::new(config),
        }
    }

    /// Estimated bytes held by the forecast cache.
    pub fn cache_bytes(&self) -> usize {
        self.cache.bytes()
    }

    /// The cost of one forecast of `case` checked against the budget.
    fn pass_budget(&self, what: &str, case: &Case, extra: u64) -> Result<()> {
        crate::limits::budget(
            &self.config,
            what,
            crate::limits::pass(case).saturating_add(extra),
        )
    }

    /// A required id in a request.
    fn case_id(field: &str, id: &str) -> Result<()> {
        crate::limits::id(field, id)
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

    /// Check each signal of a batch against the case and the model, naming a bad one by its path
    /// (`signals[3].date`).
    fn check_signals(&self, case: &Case, field: &str, signals: &[Signal]) -> Result<()> {
        for (i, s) in signals.iter().enumerate() {
            case.check_signal(s, self.state.model.as_ref())
                .map_err(|source| ServerError::CoreField {
                    field: format!(
                        "{field}[{i}].{}",
                        match source.field() {
                            Some("type") | None => "signal_type",
                            Some(f) => f,
                        }
                    ),
                    source: Box::new(source),
                })?;
        }
        Ok(())
    }

    /// The plain forecast of a case version as of a date, computed at most once for every caller that asks for
    /// the same snapshot and date ([`SharedForecasts`]); counted in `pf_shared_forecasts_total`. Through the
    /// case's checkpoints ([`ForecastApi::forecast`]).
    async fn shared_forecast(&self, snap: &Snapshot, as_of: NaiveDate) -> SharedResult {
        let cell = self.shared.cell(snap, as_of);
        cell.get_or_init(|| async {
            self.cache
                .metrics
                .shared_forecasts
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.forecast(snap, as_of)
                .await
                .map(|f| Arc::new(pb::Forecast::from(&f)))
                .map_err(Status::from)
        })
        .await
        .clone()
    }

    /// The plain forecast of a snapshot, through its case's checkpoints ([`State::forecast`]).
    async fn forecast(&self, snap: &Snapshot, as_of: NaiveDate) -> Result<Forecast> {
        self.state.forecast(snap, as_of, &self.cache.metrics).await
    }
}

/// The page size of a request: 0 is the default, larger than the maximum is capped.
fn page_size(n: u32) -> usize {
    match usize::try_from(n).unwrap_or(MAX_PAGE) {
        0 => DEFAULT_PAGE,
        n => n.min(MAX_PAGE),
    }
}

/// Bytes of a page of signals or cases: half the largest message, so that the rest of a reply always fits.
fn page_bytes(config: &Config) -> usize {
    config.max_message_bytes / 2
}

/// A page of a case's signals from position `offset`, at most `size` of them and at most `bytes` encoded (at
/// least one), and the token of the next page (empty at the end).
fn signal_page(case: &Case, offset: usize, size: usize, bytes: usize) -> (Vec<pb::Signal>, String) {
    use prost::Message;
    let all = case.signals();
    let end = offset.saturating_add(size).min(all.len());
    let mut page = Vec::new();
    let mut used = 0;
    for s in all.get(offset..end).unwrap_or_default() {
        let p = pb::Signal::from(s);
        let n = p.encoded_len() + 8;
        if !page.is_empty() && used + n > bytes {
            break;
        }
        used += n;
        page.push(p);
    }
    let next = offset + page.len();
    let token = if next < all.len() {
        format!("{SIGNAL_TOKEN_PREFIX}{next}")
    } else {
        String::new()
    };
    (page, token)
}

/// The position a ListSignals page token stands for.
fn signal_offset(token: &str) -> Result<usize> {
    if token.is_empty() {
        return Ok(0);
    }
    token
        .strip_prefix(SIGNAL_TOKEN_PREFIX)
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| {
            ConvertError::invalid(
                "page_token",
                "the next_page_token of a previous GetCase or ListSignals response",
                format!("{token:?}"),
            )
            .into()
        })
}

/// A case with a page of its signals, and the token of the next page.
fn case_page(case: &Case, size: usize, bytes: usize) -> (pb::Case, String) {
    let mut p = case_summary(case);
    let (signals, token) = signal_page(case, 0, size, bytes);
    p.signals = signals;
    (p, token)
}

/// A case without its signals, with its version (UpdateCase, ListCases).
fn summary(s: &Summary) -> pb::Case {
    let mut p = case_summary(&s.case);
    p.signal_count = u32::try_from(s.signal_count).unwrap_or(u32::MAX);
    p.version = s.version;
    p
}

/// A required id: non-empty, and within the limits of [`crate::limits::id`].
fn required(field: &str, text: &str) -> Result<()> {
    ForecastApi::case_id(field, text)
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
            .coercion_case
            .ok_or_else(|| ConvertError::invalid("coercion_case", "a case", "nothing"))
            .map_err(ServerError::from)?;
        self.check_batch("coercion_case.signals", case.signals.len())?;
        required("coercion_case.id", &case.id)?;
        crate::limits::name("coercion_case.sender", &case.sender)?;
        crate::limits::name("coercion_case.target", &case.target)?;
        crate::limits::text("coercion_case.description", &case.description)?;
        crate::limits::signals(&self.config, "coercion_case.signals", &case.signals)?;
        for (f, d) in [
            ("coercion_case.start", case.start.as_ref()),
            ("coercion_case.term_end", case.term_end.as_ref()),
            ("coercion_case.election_date", case.election_date.as_ref()),
        ] {
            if let Some(d) = d
                && let Ok(d) = pf_proto::convert::date_from_proto(f, d)
            {
                crate::limits::date(&self.config, f, d)?;
            }
        }
        let NewCase { case, signals } =
            NewCase::try_from(case).map_err(|e| ServerError::from(e.within("coercion_case")))?;
        self.check_signals(&case, "coercion_case.signals", &signals)?;
        self.pass_budget("CreateCase's forecast", &case, signals.len() as u64)?;
        let created = self.state.create(case, signals).await?;
        let forecast = self.forecast(&created.snapshot(), today()).await?;
        let mut p = case_page(&created.case, DEFAULT_PAGE, page_bytes(&self.config)).0;
        p.version = created.version;
        Ok(Response::new(pb::CreateCaseResponse {
            coercion_case: Some(p),
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
        let snap = self.state.snapshot(&req.case_id).await?;
        let (mut p, next_page_token) =
            case_page(&snap.case, page_size(req.page_size), page_bytes(&self.config));
        p.version = snap.version;
        Ok(Response::new(pb::GetCaseResponse {
            coercion_case: Some(p),
            next_page_token,
        }))
    }

    async fn update_case(
        &self,
        request: Request<pb::UpdateCaseRequest>,
    ) -> Result<Response<pb::UpdateCaseResponse>, Status> {
        let req = request.into_inner();
        let case = req
            .coercion_case
            .ok_or_else(|| ConvertError::invalid("coercion_case", "a case", "nothing"))
            .map_err(ServerError::from)?;
        required("coercion_case.id", &case.id)?;
        crate::limits::text("coercion_case.description", &case.description)?;
        let paths = req.update_mask.map(|m| m.paths).unwrap_or_default();
        if paths.is_empty() {
            return Err(ServerError::from(ConvertError::invalid(
                "update_mask",
                format!("at least one of the paths {}", UPDATE_PATHS.join(", ")),
                "no paths",
            ))
            .into());
        }
        let mut update = CaseUpdate::default();
        for (i, path) in paths.iter().enumerate() {
            match path.as_str() {
                "description" => update.description = Some(case.description.clone()),
                // Not set is the default: eligible.
                "reelection_eligible" => {
                    update.reelection_eligible = Some(case.reelection_eligible.unwrap_or(true));
                }
                "election_date" => {
                    // Within the stored case's span (which no update changes).
                    let stored = self.state.case(&case.id).await?;
                    update.election_date = Some(
                        convert::election_date_within(&stored, case.election_date.as_ref())
                            .map_err(|e| ServerError::from(e.within("coercion_case")))?,
                    );
                }
                other => {
                    return Err(ServerError::from(ConvertError::invalid(
                        format!("update_mask.paths[{i}]"),
                        format!("one of {}", UPDATE_PATHS.join(", ")),
                        format!("{other:?}"),
                    ))
                    .into());
                }
            }
        }
        let snap = self.state.update(&case.id, update).await?;
        Ok(Response::new(pb::UpdateCaseResponse {
            coercion_case: Some(summary(&Summary::from(&snap))),
        }))
    }

    async fn list_cases(
        &self,
        request: Request<pb::ListCasesRequest>,
    ) -> Result<Response<pb::ListCasesResponse>, Status> {
        let req = request.into_inner();
        let size = page_size(req.page_size);
        let after = if req.page_token.is_empty() {
            None
        } else {
            Some(req.page_token.strip_prefix(CASE_TOKEN_PREFIX).ok_or_else(|| {
                ServerError::from(ConvertError::invalid(
                    "page_token",
                    "the next_page_token of a previous ListCases response",
                    format!("{:?}", req.page_token),
                ))
            })?)
        };
        let (cases, mut more) = self.state.list(after, size).await?;
        // Cut the page to fit in a message (at least one case).
        use prost::Message;
        let mut page = Vec::with_capacity(cases.len());
        let mut used = 0;
        let mut last = None;
        for c in &cases {
            let p = summary(c);
            let n = p.encoded_len() + 8;
            if !page.is_empty() && used + n > page_bytes(&self.config) {
                more = true;
                break;
            }
            used += n;
            last = Some(c.case.id.clone());
            page.push(p);
        }
        let next_page_token = match (more, last) {
            (true, Some(last)) => format!("{CASE_TOKEN_PREFIX}{last}"),
            _ => String::new(),
        };
        Ok(Response::new(pb::ListCasesResponse {
            cases: page,
            next_page_token,
        }))
    }

    async fn delete_case(
        &self,
        request: Request<pb::DeleteCaseRequest>,
    ) -> Result<Response<pb::DeleteCaseResponse>, Status> {
        let req = request.into_inner();
        required("case_id", &req.case_id)?;
        let n = self.state.delete(&req.case_id).await?;
        Ok(Response::new(pb::DeleteCaseResponse {
            signals_deleted: u32::try_from(n).unwrap_or(u32::MAX),
        }))
    }

    async fn list_signals(
        &self,
        request: Request<pb::ListSignalsRequest>,
    ) -> Result<Response<pb::ListSignalsResponse>, Status> {
        let req = request.into_inner();
        required("case_id", &req.case_id)?;
        let offset = signal_offset(&req.page_token)?;
        let case = self.state.case(&req.case_id).await?;
        let (signals, next_page_token) =
            signal_page(&case, offset, page_size(req.page_size), page_bytes(&self.config));
        Ok(Response::new(pb::ListSignalsResponse {
            signals,
            next_page_token,
            signal_count: u32::try_from(case.signal_count()).unwrap_or(u32::MAX),
        }))
    }

    async fn append_signals(
        &self,
        request: Request<pb::AppendSignalsRequest>,
    ) -> Result<Response<pb::AppendSignalsResponse>, Status> {
        let req = request.into_inner();
        required("case_id", &req.case_id)?;
        self.check_batch("signals", req.signals.len())?;
        crate::limits::signals(&self.config, "signals", &req.signals)?;
        let as_of = self.as_of("as_of", req.as_of.as_ref())?;
        let signals = signals_from_proto("signals", req.signals).map_err(ServerError::from)?;
        let (report, snap, forecast) = self.append_and_forecast(req.case_id, signals, as_of).await?;
        let case = snap.case;
        Ok(Response::new(pb::AppendSignalsResponse {
            version: snap.version,
            added: u32::try_from(report.added).unwrap_or(u32::MAX),
            unchanged: u32::try_from(report.unchanged).unwrap_or(u32::MAX),
            forecast: Some(Arc::unwrap_or_clone(forecast)),
            signal_count: u32::try_from(case.signal_count()).unwrap_or(u32::MAX),
        }))
    }

    async fn retract_signal(
        &self,
        request: Request<pb::RetractSignalRequest>,
    ) -> Result<Response<pb::RetractSignalResponse>, Status> {
        let req = request.into_inner();
        required("case_id", &req.case_id)?;
        required("signal_id", &req.signal_id)?;
        crate::limits::text("reason", &req.reason)?;
        let as_of = self.as_of("as_of", req.as_of.as_ref())?;
        let out = self
            .state
            .retract(&req.case_id, &req.signal_id, &req.reason)
            .await?;
        let count = out.case.signal_count();
        let forecast = self.forecast(&out.snapshot(), as_of).await?;
        Ok(Response::new(pb::RetractSignalResponse {
            version: out.version,
            retracted: out.retracted,
            forecast: Some(pb::Forecast::from(&forecast)),
            signal_count: u32::try_from(count).unwrap_or(u32::MAX),
        }))
    }

    async fn get_forecast(
        &self,
        request: Request<pb::GetForecastRequest>,
    ) -> Result<Response<pb::GetForecastResponse>, Status> {
        let req = request.into_inner();
        required("case_id", &req.case_id)?;
        let as_of = self.as_of("as_of", req.as_of.as_ref())?;
        let snap = self.state.snapshot(&req.case_id).await?;
        let pass = crate::limits::pass(&snap.case);
        if req.draws == 0 && !req.include_attribution {
            crate::limits::budget(&self.config, "a forecast", pass)?;
            if let Some(hit) = self.cache.get(&snap.case, as_of) {
                return Ok(Response::new(pb::GetForecastResponse {
                    forecast: Some(hit),
                    version: snap.version,
                }));
            }
            let f = pb::Forecast::from(&self.forecast(&snap, as_of).await?);
            let (case, version) = (snap.case, snap.version);
            self.cache.put(&case, as_of, f.clone());
            return Ok(Response::new(pb::GetForecastResponse {
                forecast: Some(f),
                version,
            }));
        }
        let (case, version) = (snap.case, snap.version);
        let draws = req.draws as usize;
        if draws > self.config.max_draws {
            return Err(ServerError::from(ConvertError::invalid(
                "draws",
                format!("at most {} draws (the server's max_draws)", self.config.max_draws),
                draws,
            ))
            .into());
        }
        if req.levels.len() > crate::limits::MAX_LEVELS
            || req
                .levels
                .iter()
                .any(|l| !(l.is_finite() && *l > 0.0 && *l < 1.0))
        {
            return Err(ServerError::from(ConvertError::invalid(
                "levels",
                format!("at most {} levels, each in (0, 1)", crate::limits::MAX_LEVELS),
                format!("{} levels", req.levels.len()),
            ))
            .into());
        }
        let signals_used = case.signal_count() as u64;
        // The raw draws are sent only when asked for, and only with draws.
        let sent_draws = if req.include_draws { draws as u64 } else { 0 };
        let n_outcomes = self.state.model.n_outcomes() as u64;
        let cost = pass
            .saturating_mul(1 + draws as u64)
            .saturating_add(sent_draws.saturating_mul(n_outcomes))
            .saturating_add(if req.include_attribution {
                pass.saturating_mul(signals_used + 2)
            } else {
                0
            });
        let what = format!(
            "a forecast with {draws} draws{}{} over {} days and {signals_used} signals",
            if sent_draws > 0 { " sent raw" } else { "" },
            if req.include_attribution {
                " and attribution"
            } else {
                ""
            },
            crate::limits::days(case.start, case.term_end)
        );
        crate::limits::budget(&self.config, what.clone(), cost)?;
        // The reply's size before the work (the raw draws are 8 × draws × outcomes bytes).
        crate::limits::reply(
            &self.config,
            what,
            crate::limits::forecast_bytes(
                &case,
                &self.state.model,
                crate::limits::ForecastExtras {
                    levels: if draws > 0 { req.levels.len().max(1) } else { 0 },
                    draws: sent_draws,
                    attribution: req.include_attribution,
                },
            ),
        )?;
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
            // As `Model::forecast_with_intervals`, keeping the draws when they are sent.
            let mut f = model.forecast(&case, as_of)?;
            let mut raw = Vec::new();
            if draws > 0 {
                let d = model.draw_forecasts(&case, as_of, &opts, flag)?;
                f.intervals = Some(pf_core::uncertainty::summarise(&d, &opts));
                if sent_draws > 0 {
                    raw = convert::draws_to_proto(&d);
                }
            }
            let mut p = pb::Forecast::from(&f);
            p.draws = raw;
            if with_attribution {
                let a = model.attribution_with(&case, as_of, flag)?;
                let d = model.drop_one_with(&case, as_of, flag)?;
                p.attribution = Some(convert::attribution_to_proto(&a, &d));
            }
            Ok(p)
        })
        .await?;
        Ok(Response::new(pb::GetForecastResponse {
            forecast: Some(out),
            version,
        }))
    }

    async fn get_trajectory(
        &self,
        request: Request<pb::GetTrajectoryRequest>,
    ) -> Result<Response<pb::GetTrajectoryResponse>, Status> {
        let req = request.into_inner();
        required("case_id", &req.case_id)?;
        let from = crate::limits::proto_date(&self.config, "start_date", req.start_date.as_ref())?;
        let to = crate::limits::proto_date(&self.config, "end_date", req.end_date.as_ref())?;
        let resolution = convert::resolution_from_proto(req.resolution).map_err(ServerError::from)?;
        let case = self.state.case(&req.case_id).await?;
        let model = self.state.model.clone();
        // Cost and reply size before the work: one point per day (or per signal date) from `from` to `to`.
        let first = from.unwrap_or(case.start).max(case.start);
        let last = to.unwrap_or(case.term_end);
        let span = crate::limits::days(case.start, last) + 1;
        let (k, m) = (model.n_regimes() as u64, model.n_outcomes() as u64);
        let points = match resolution {
            pf_core::Resolution::Daily => crate::limits::days(first, last) + 1,
            pf_core::Resolution::SignalDates => {
                (case.signal_count() as u64 + 1).min(crate::limits::days(first, last) + 1)
            }
        };
        crate::limits::budget(
            &self.config,
            format!("a trajectory over {span} days"),
            crate::limits::trajectory_cost(&case, &model, span, points, k * m),
        )?;
        let type_bytes = if matches!(resolution, pf_core::Resolution::SignalDates) {
            case.signals()
                .iter()
                .map(|s| s.signal_type.len() as u64 + 2)
                .sum::<u64>()
        } else {
            0
        };
        let names: u64 = model
            .regimes()
            .iter()
            .chain(model.outcomes())
            .map(|n| n.len() as u64 + 14)
            .sum();
        crate::limits::reply(
            &self.config,
            format!("a trajectory of {points} points"),
            points.saturating_mul(24 + names) + type_bytes,
        )?;
        let out = blocking(move |flag| {
            Ok(pb::GetTrajectoryResponse::from(
                &model.trajectory_with(&case, from, to, resolution, flag)?,
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
        crate::limits::signals(&self.config, "signals", &req.signals)?;
        let as_of = self.as_of("as_of", req.as_of.as_ref())?;
        let term_end = crate::limits::proto_date(&self.config, "term_end", req.term_end.as_ref())?;
        let signals = signals_from_proto("signals", req.signals).map_err(ServerError::from)?;
        let case = self.state.case(&req.case_id).await?;
        let scenario = match term_end {
            Some(te) => case.with_term_end(te).map_err(|source| ServerError::CoreField {
                field: "term_end".into(),
                source: Box::new(source),
            })?,
            None => (*case).clone(),
        };
        self.check_signals(&scenario, "signals", &signals)?;
        let p = crate::limits::pass(&scenario) + signals.len() as u64;
        crate::limits::budget(&self.config, "a what-if", p.saturating_mul(2))?;
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
        let as_of = self.as_of("as_of", req.as_of.as_ref())?;
        let case = self.state.case(&req.case_id).await?;
        let model = self.state.model.clone();
        let types = model.signal_types().len() as u64;
        crate::limits::budget(
            &self.config,
            format!("a value of information over {types} signal types"),
            crate::limits::pass(&case).saturating_mul(types + 2),
        )?;
        let out = blocking(move |flag| {
            Ok(pb::GetValueOfInformationResponse::from(
                &model.value_of_information_with(&case, as_of, flag)?,
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
        let fixed = crate::limits::proto_date(&self.config, "as_of", req.as_of.as_ref())?;
        // Subscribe before the first snapshot, so that no change falls between the two.
        let mut changes = self.state.subscribe();
        let snap = self.state.snapshot(&req.case_id).await?;
        let as_of = move || fixed.unwrap_or_else(today);
        // Every stream of the case shares one computation per version and as-of date.
        let first = self.shared_forecast(&snap, as_of()).await?;
        let (tx, rx) = mpsc::channel::<Result<pb::WatchForecastResponse, Status>>(16);
        let api = self.clone();
        let mut stopping = self.stopping.clone();
        let id = req.case_id;
        tokio::spawn(async move {
            let msg = |f: &pb::Forecast, s: &Snapshot| pb::WatchForecastResponse {
                forecast: Some(f.clone()),
                signal_count: u32::try_from(s.case.signal_count()).unwrap_or(u32::MAX),
                version: s.version,
            };
            if tx.send(Ok(msg(&first, &snap))).await.is_err() {
                return;
            }
            drop(first);
            let mut last = snap;
            loop {
                let changed = tokio::select! {
                    r = changes.recv() => match r {
                        Ok(changed) => changed == id,
                        Err(broadcast::error::RecvError::Lagged(_)) => true,
                        Err(broadcast::error::RecvError::Closed) => break,
                    },
                    r = stopping.wait_for(|s| *s) => {
                        drop(r);
                        let _ = tx.try_send(Err(Status::from(ServerError::Store(crate::StoreError::Closed))));
                        break;
                    }
                    () = tx.closed() => break,
                };
                if !changed {
                    continue;
                }
                let snap = match api.state.snapshot(&id).await {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = tx.send(Err(Status::from(e))).await;
                        break;
                    }
                };
                // Every committed change (an update of eligibility too) moves the version on; an idempotent retry
                // publishes nothing, and a notification of a version already sent changes nothing.
                if snap.version == last.version && Arc::ptr_eq(&snap.case, &last.case) {
                    continue;
                }
                let item = api.shared_forecast(&snap, as_of()).await.map(|f| msg(&f, &snap));
                last = snap;
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
            roles: m
                .signal_types()
                .into_iter()
                .map(|name| {
                    let role = signal_role(m, &name) as i32;
                    (name, role)
                })
                .collect(),
            format_version: m.format_version(),
            model_id: Some(convert::model_id_to_proto(&m.model_id())),
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
            .map(|name| {
                let spec = m.as_v2().and_then(|v| v.spec().signals.get(&name));
                pb::SignalType {
                    description: m.describe_signal_type(&name).unwrap_or_default().to_owned(),
                    likelihood: named(m.regimes(), m.emission(&name).unwrap_or_default()),
                    role: signal_role(m, &name) as i32,
                    repudiates: spec.is_some_and(|t| t.repudiates),
                    reveals: convert::fate_to_proto(spec.and_then(|t| t.reveals)) as i32,
                    name,
                }
            })
            .collect();
        Ok(Response::new(pb::ListSignalTypesResponse { types }))
    }

    async fn run_scenario(
        &self,
        request: Request<pb::RunScenarioRequest>,
    ) -> Result<Response<pb::RunScenarioResponse>, Status> {
        let req = request.into_inner();
        required("case_id", &req.case_id)?;
        let as_of = self.as_of("as_of", req.as_of.as_ref())?;
        let case = self.state.case(&req.case_id).await?;
        let (sc, future) = self.scenario(&case, as_of, "scenario", req.scenario)?;
        let p = crate::limits::pass(&case);
        let ps = crate::limits::scenario_pass(&case, &sc, future);
        crate::limits::budget(
            &self.config,
            format!(
                "a scenario over {} days with {} hypothetical and {future} generated future signals",
                crate::limits::days(case.start, sc.term_end.unwrap_or(case.term_end)),
                sc.signals.len()
            ),
            p.saturating_add(ps).saturating_mul(2),
        )?;
        let model = self.state.model.clone();
        let out = blocking(move |_| {
            let m = model.as_v2().expect("checked by ForecastApi::scenario");
            let none = Scenario::default();
            let at = |e: pf_core::Error| scenario_error(e, "scenario");
            let baseline = pf_core::v2::scenario_forecast(m, &case, as_of, &none)?;
            let scenario = pf_core::v2::scenario_forecast(m, &case, as_of, &sc).map_err(at)?;
            let base_state = pf_core::v2::analysis::scenario_state(m, &case, as_of, &none)?;
            let state = pf_core::v2::analysis::scenario_state(m, &case, as_of, &sc).map_err(at)?;
            let delta = scenario
                .probabilities
                .iter()
                .zip(&baseline.probabilities)
                .map(|(s, b)| s - b)
                .collect();
            Ok(pb::RunScenarioResponse::from(&convert::ScenarioRun {
                baseline,
                scenario,
                delta,
                baseline_leader_stays: base_state.leader_stays,
                leader_stays: state.leader_stays,
            }))
        })
        .await?;
        Ok(Response::new(out))
    }

    async fn compare_policies(
        &self,
        request: Request<pb::ComparePoliciesRequest>,
    ) -> Result<Response<pb::ComparePoliciesResponse>, Status> {
        let req = request.into_inner();
        required("case_id", &req.case_id)?;
        let as_of = self.as_of("as_of", req.as_of.as_ref())?;
        let case = self.state.case(&req.case_id).await?;
        let (a, fa) = self.scenario(&case, as_of, "a", req.a)?;
        let (b, fb) = self.scenario(&case, as_of, "b", req.b)?;
        crate::limits::budget(
            &self.config,
            format!(
                "a comparison of two policies with {} and {} future signals",
                a.signals.len() as u64 + fa,
                b.signals.len() as u64 + fb
            ),
            crate::limits::scenario_pass(&case, &a, fa)
                .saturating_add(crate::limits::scenario_pass(&case, &b, fb)),
        )?;
        let model = self.state.model.clone();
        let out = blocking(move |_| {
            let m = model.as_v2().expect("checked by ForecastApi::scenario");
            let c = pf_core::v2::compare(m, &case, as_of, &a, &b).map_err(|e| {
                // Only on the error path: which policy the engine refused, to name its field.
                let which = if pf_core::v2::scenario_forecast(m, &case, as_of, &a).is_err() {
                    "a"
                } else {
                    "b"
                };
                scenario_error(e, which)
            })?;
            Ok(pb::ComparePoliciesResponse::from(&c))
        })
        .await?;
        Ok(Response::new(out))
    }

    async fn import_events(
        &self,
        request: Request<pb::ImportEventsRequest>,
    ) -> Result<Response<pb::ImportEventsResponse>, Status> {
        let mut req = request.into_inner();
        required("case_id", &req.case_id)?;
        let as_of = self.as_of("as_of", req.as_of.as_ref())?;
        let case = self.state.case(&req.case_id).await?;
        crate::limits::name("sender", &req.sender)?;
        crate::limits::name("target", &req.target)?;
        self.pass_budget("an import", &case, req.text.len() as u64)?;
        crate::limits::import_text(&req.text)?;
        let case_id = std::mem::take(&mut req.case_id);
        let mut report = crate::import::read_events(&case, req).await?;
        let bad_rows = crate::import::bad_rows(&report);
        let signals = std::mem::take(&mut report.signals);
        let (appended, snap, forecast) = self.append_and_forecast(case_id, signals, as_of).await?;
        Ok(Response::new(pb::ImportEventsResponse {
            rows_read: report.rows_read,
            rows_matched: report.rows_matched,
            bad_rows,
            added: u32::try_from(appended.added).unwrap_or(u32::MAX),
            unchanged: u32::try_from(appended.unchanged).unwrap_or(u32::MAX),
            forecast: Some(Arc::unwrap_or_clone(forecast)),
            version: snap.version,
        }))
    }
}

impl ForecastApi {
    /// The as-of date of a request: the date given (within the configured span), or today (UTC).
    fn as_of(&self, field: &str, d: Option<&pf_proto::google::r#type::Date>) -> Result<NaiveDate> {
        Ok(crate::limits::proto_date(&self.config, field, d)?.unwrap_or_else(today))
    }

    /// Append a batch (checked against the case first, so that an error names the signal by its index) and
    /// forecast the case after it.
    async fn append_and_forecast(
        &self,
        case_id: String,
        signals: Vec<Signal>,
        as_of: NaiveDate,
    ) -> std::result::Result<(pf_core::AppendReport, Snapshot, Arc<pb::Forecast>), Status> {
        self.check_batch("signals", signals.len())?;
        let current = self.state.case(&case_id).await?;
        self.check_signals(&current, "signals", &signals)?;
        self.pass_budget("the forecast after the append", &current, signals.len() as u64)?;
        // Where each id sits in the batch, to name a conflicting signal by its path.
        let ids: Vec<Option<String>> = signals
            .iter()
            .map(|s| s.id.as_deref().map(str::to_owned))
            .collect();
        let appended = self
            .state
            .append(&case_id, signals)
            .await
            .map_err(|e| name_duplicate(e, &ids))?;
        let snap = appended.snapshot();
        let forecast = self.shared_forecast(&snap, as_of).await?;
        Ok((appended.report, snap, forecast))
    }
}

impl ForecastApi {
    /// A scenario of a request (`prefix` is its field: `scenario`, `a`, `b`), checked against the case, the
    /// model and the limits before any work, each error naming the field by its path (`scenario.monthly[0]`,
    /// `a.signals[2].signal_type`); and the number of future actions it generates
    /// ([`crate::limits::scenario_future`]). Not set is the default future.
    fn scenario(
        &self,
        case: &Case,
        as_of: NaiveDate,
        prefix: &'static str,
        p: Option<pb::Scenario>,
    ) -> Result<(Scenario, u64)> {
        let Some(p) = p else {
            self.v2_model(prefix)?;
            return Ok((Scenario::default(), 0));
        };
        let batch = match prefix {
            "a" => "a.signals",
            "b" => "b.signals",
            _ => "scenario.signals",
        };
        self.check_batch(batch, p.signals.len())?;
        crate::limits::signals(&self.config, batch, &p.signals)?;
        crate::limits::text(&format!("{prefix}.name"), &p.name)?;
        let field = |f: String| format!("{prefix}.{f}");
        let m = self.v2_model(prefix)?;
        if p.monthly.len() > m.signal_types().len() {
            return Err(ConvertError::invalid(
                field("monthly".into()),
                format!("at most {} types (the model's)", m.signal_types().len()),
                p.monthly.len(),
            )
            .into());
        }
        for (i, ty) in p.monthly.iter().enumerate() {
            crate::limits::name(&field(format!("monthly[{i}]")), ty)?;
        }
        crate::limits::proto_date(&self.config, &field("term_end".into()), p.term_end.as_ref())?;
        let sc = Scenario::try_from(p).map_err(|e| ServerError::from(e.within(prefix)))?;
        let term_end = sc.term_end.unwrap_or(case.term_end);
        let within = case
            .with_term_end(term_end)
            .map_err(|source| ServerError::CoreField {
                field: field("term_end".into()),
                source: Box::new(source),
            })?;
        self.check_signals(&within, batch, &sc.signals)?;
        let is_future = |r: Option<Role>| matches!(r, Some(Role::Action | Role::Context));
        for (i, s) in sc.signals.iter().enumerate() {
            if s.date <= as_of {
                continue;
            }
            let role = m.role(&s.signal_type);
            if !is_future(role) {
                return Err(ConvertError::invalid(
                    field(format!("signals[{i}].signal_type")),
                    format!(
                        "an action or context type for a future action (dated after the as-of date {as_of}), or a date on or before it"
                    ),
                    format!("{:?} of role {}", s.signal_type, role_name(role)),
                )
                .into());
            }
            if s.date >= term_end {
                return Err(ConvertError::invalid(
                    field(format!("signals[{i}].date")),
                    format!("a future action dated before the term end {term_end}"),
                    s.date,
                )
                .into());
            }
        }
        for (i, ty) in sc.monthly.iter().enumerate() {
            let role = m.role(ty);
            if !is_future(role) {
                return Err(ConvertError::invalid(
                    field(format!("monthly[{i}]")),
                    "an action or context type of the model (see ListSignalTypes)",
                    format!("{ty:?} of role {}", role_name(role)),
                )
                .into());
            }
        }
        let eligible = sc.reelection_eligible.unwrap_or(case.reelection_eligible);
        if sc.fate == Some(pf_core::v2::Fate::Stays) && !eligible {
            return Err(ConvertError::invalid(
                field("fate".into()),
                "FATE_LEAVES or FATE_UNSPECIFIED for a leader not eligible for re-election",
                "FATE_STAYS",
            )
            .into());
        }
        let future = crate::limits::scenario_future(case, as_of, &sc, |t| m.role(t) == Some(Role::Action));
        Ok((sc, future))
    }

    /// The server's v2 model, or INVALID_ARGUMENT on `field` with a v1 model (scenarios need the v2 engine).
    fn v2_model(&self, field: &str) -> Result<&pf_core::v2::ModelV2> {
        self.state.model.as_v2().ok_or_else(|| {
            ConvertError::invalid(
                field,
                "a server whose model is format_version 2 (scenarios need the v2 engine)",
                "a format_version 1 model",
            )
            .into()
        })
    }
}

/// The name of a signal role in errors.
fn role_name(r: Option<Role>) -> &'static str {
    match r {
        Some(Role::Action) => "action",
        Some(Role::Context) => "context",
        Some(Role::Evidence) => "evidence",
        Some(Role::Deal) => "deal",
        Some(Role::Fate) => "fate",
        None => "none (not a type of the model)",
    }
}

/// The role of a signal type on the wire: its v2 role, or evidence for a v1 model (which reads every signal as
/// evidence about the regime).
fn signal_role(m: &Model, name: &str) -> pb::SignalRole {
    match m.as_v2() {
        Some(v) => v
            .role(name)
            .map_or(pb::SignalRole::Unspecified, convert::role_to_proto),
        None => pb::SignalRole::Evidence,
    }
}

/// An engine error about a scenario, named by its field under `prefix` (`scenario.term_end`,
/// `a.monthly[0]`) when the engine names a scenario field, else by the scenario itself.
fn scenario_error(e: pf_core::Error, prefix: &str) -> ServerError {
    let field = match e.field() {
        Some(f)
            if f == "term_end" || f == "fate" || f.starts_with("monthly[") || f.starts_with("signals[") =>
        {
            format!("{prefix}.{f}")
        }
        _ => prefix.to_owned(),
    };
    ServerError::CoreField {
        field,
        source: Box::new(e),
    }
}

/// An engine error about a signal id reused with other content, named by the id's path in the batch
/// (`signals[1].id`); other errors unchanged.
fn name_duplicate(e: ServerError, ids: &[Option<String>]) -> ServerError {
    let ServerError::Core(source) = e else {
        return e;
    };
    let at = match &source {
        pf_core::Error::DuplicateSignal { id, .. } => {
            ids.iter().position(|x| x.as_deref() == Some(id.as_str()))
        }
        _ => None,
    };
    match at {
        Some(i) => ServerError::CoreField {
            field: format!("signals[{i}].id"),
            source: Box::new(source),
        },
        None => ServerError::Core(source),
    }
}
