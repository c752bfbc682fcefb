//! `pressure-forecast follow --server URL`: the followed cases live in a running `pressure-forecast serve`.
//!
//! A [`pf_events::follow::CaseStore`] over the gRPC client of `pf-proto`: a case is read with `GetCase` (its
//! header) and `ListSignals` (every page of its signals), and a file's new signals are sent with one
//! `AppendSignals` per case (atomic and idempotent by id on the service's side). The calls run on a
//! current-thread tokio runtime owned by the store, so the follower itself stays synchronous.

use pf_core::{AppendReport, Case, Signal};
use pf_events::follow::{CaseStore, FollowError};
use pf_proto::v1 as pb;
use pf_proto::v1::forecast_service_client::ForecastServiceClient;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;

/// Signals asked for per ListSignals page.
const PAGE: u32 = 1000;

/// Cases of a service, by id.
#[derive(Debug)]
pub struct RemoteCases {
    url: String,
    ids: Vec<String>,
    token: Option<MetadataValue<tonic::metadata::Ascii>>,
    client: ForecastServiceClient<Channel>,
    runtime: tokio::runtime::Runtime,
}

impl RemoteCases {
    /// Connect to the service at `url` (`http://host:port`) for the cases `ids`.
    ///
    /// # Errors
    /// A bad address or token, or a service that cannot be reached.
    pub fn connect(url: &str, ids: Vec<String>, token: Option<&str>) -> anyhow::Result<RemoteCases> {
        use anyhow::Context;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the gRPC client's runtime")?;
        let endpoint = Channel::from_shared(url.to_owned()).with_context(|| {
            format!("invalid --server: expected a URL such as http://127.0.0.1:50051, found `{url}`")
        })?;
        let channel = runtime
            .block_on(endpoint.connect())
            .with_context(|| format!("cannot connect to the service at `{url}`"))?;
        let token = token
            .map(|t| MetadataValue::try_from(format!("Bearer {t}")))
            .transpose()
            .map_err(|_| anyhow::anyhow!("invalid --token: expected printable ASCII"))?;
        Ok(RemoteCases {
            url: url.to_owned(),
            ids,
            token,
            client: ForecastServiceClient::new(channel).max_decoding_message_size(64 << 20),
            runtime,
        })
    }

    fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut r = tonic::Request::new(message);
        if let Some(t) = &self.token {
            r.metadata_mut().insert("authorization", t.clone());
        }
        r
    }

    fn fail(&self, i: usize, call: &str, e: impl std::fmt::Display) -> FollowError {
        FollowError::Store {
            case: self.label(i),
            message: format!("{call} failed: {e}"),
        }
    }
}

impl CaseStore for RemoteCases {
    fn len(&self) -> usize {
        self.ids.len()
    }

    fn label(&self, i: usize) -> String {
        format!("{}/{}", self.url.trim_end_matches('/'), self.ids[i])
    }

    fn load(&mut self, i: usize) -> Result<Case, FollowError> {
        let id = self.ids[i].clone();
        let mut client = self.client.clone();
        let header = self
            .runtime
            .block_on(client.get_case(self.request(pb::GetCaseRequest {
                case_id: id.clone(),
                page_size: 1,
            })))
            .map_err(|s| self.fail(i, "GetCase", s.message()))?
            .into_inner()
            .coercion_case
            .ok_or_else(|| self.fail(i, "GetCase", "the response holds no case"))?;
        let mut header = header;
        header.signals.clear();
        let new = pf_proto::NewCase::try_from(header).map_err(|e| self.fail(i, "GetCase", e))?;
        let mut signals: Vec<Signal> = Vec::new();
        let mut token = String::new();
        loop {
            let page = self
                .runtime
                .block_on(client.list_signals(self.request(pb::ListSignalsRequest {
                    case_id: id.clone(),
                    page_size: PAGE,
                    page_token: token,
                })))
                .map_err(|s| self.fail(i, "ListSignals", s.message()))?
                .into_inner();
            for s in page.signals {
                signals.push(Signal::try_from(s).map_err(|e| self.fail(i, "ListSignals", e))?);
            }
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        let mut case = new.case;
        // The service validated these signals against its model; keep them all (their event ids count).
        case.append(signals, &pf_core::V2)
            .map_err(|e| self.fail(i, "ListSignals", e))?;
        Ok(case)
    }

    fn store(
        &mut self,
        i: usize,
        _case: &Case,
        batch: &[Signal],
        report: AppendReport,
    ) -> Result<AppendReport, FollowError> {
        if batch.is_empty() {
            return Ok(report);
        }
        let mut client = self.client.clone();
        let r = self
            .runtime
            .block_on(client.append_signals(self.request(pb::AppendSignalsRequest {
                case_id: self.ids[i].clone(),
                signals: batch.iter().map(pb::Signal::from).collect(),
                as_of: None,
            })))
            .map_err(|s| self.fail(i, "AppendSignals", s.message()))?
            .into_inner();
        Ok(AppendReport {
            added: r.added as usize,
            unchanged: r.unchanged as usize,
        })
    }
}
