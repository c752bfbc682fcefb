//! Responses of the gRPC service turned into the local API's result objects.
//!
//! `pressure_forecast.client.Client` passes the serialized response message (bytes, as received) to one of
//! these functions; pf-proto decodes it and converts it to the engine's type with the same `TryFrom` the
//! contract defines, and the result is wrapped in the very class the local API returns (`Forecast`,
//! `Trajectory`, ...), so remote and local results are the same type and compare equal. No dicts, no JSON.

use std::sync::Arc;

use pf_proto::v1 as pb;
use prost::Message;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::case::PyCase;
use crate::results::{
    ExplanationData, PyAppendReport, PyExplanation, PyForecast, PyTrajectory, PyValueOfInformation, PyWhatIf,
};
use crate::scenario::{PyPolicyComparison, PyScenario};
use crate::signal::PySignal;

/// A response that does not decode, or does not make a valid engine value.
fn bad(message: &str, e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(format!("invalid {message} from the service: {e}"))
}

fn decode<M: Message + Default>(name: &str, data: &[u8]) -> PyResult<M> {
    M::decode(data).map_err(|e| bad(name, e))
}

fn forecast_of(name: &str, f: Option<pb::Forecast>) -> PyResult<PyForecast> {
    let f = f.ok_or_else(|| {
        bad(
            name,
            "invalid field `forecast`: expected a forecast, found nothing",
        )
    })?;
    pf_core::Forecast::try_from(f)
        .map(PyForecast::from)
        .map_err(|e| bad(name, e.within("forecast")))
}

/// `GetForecastResponse` -> `Forecast`, with its raw draws (`Forecast.draws`) when the response carries them
/// (`include_draws`).
#[pyfunction]
fn _remote_forecast(data: &[u8]) -> PyResult<PyForecast> {
    const NAME: &str = "GetForecastResponse";
    let r: pb::GetForecastResponse = decode(NAME, data)?;
    let draws = r
        .forecast
        .as_ref()
        .map(pf_proto::convert::draws_from_proto)
        .transpose()
        .map_err(|e| bad(NAME, e.within("forecast")))?
        .flatten();
    let mut f = forecast_of(NAME, r.forecast)?;
    f.draws = draws.map(Arc::new);
    Ok(f)
}

/// `GetForecastResponse` with an attribution -> `Explanation`.
#[pyfunction]
fn _remote_explanation(data: &[u8]) -> PyResult<PyExplanation> {
    const NAME: &str = "GetForecastResponse";
    let r: pb::GetForecastResponse = decode(NAME, data)?;
    let f = r.forecast.ok_or_else(|| {
        bad(
            NAME,
            "invalid field `forecast`: expected a forecast, found nothing",
        )
    })?;
    let (attribution, drop_one) = pf_proto::convert::explanation_from_proto(&f)
        .map_err(|e| bad(NAME, e.within("forecast")))?
        .ok_or_else(|| {
            bad(
                NAME,
                "invalid field `forecast.attribution`: expected an attribution, found nothing",
            )
        })?;
    Ok(PyExplanation {
        inner: ExplanationData {
            attribution,
            drop_one,
        },
    })
}

/// `GetTrajectoryResponse` -> `Trajectory`.
#[pyfunction]
fn _remote_trajectory(data: &[u8]) -> PyResult<PyTrajectory> {
    const NAME: &str = "GetTrajectoryResponse";
    let r: pb::GetTrajectoryResponse = decode(NAME, data)?;
    pf_core::Trajectory::try_from(r)
        .map(|inner| PyTrajectory { inner })
        .map_err(|e| bad(NAME, e))
}

/// A `Scenario` as the contract's message, serialized: the request field of RunScenario and ComparePolicies.
#[pyfunction]
fn _remote_scenario_message(scenario: &Bound<'_, PyScenario>) -> Vec<u8> {
    pb::Scenario::from(&scenario.get().inner).encode_to_vec()
}

/// `RunScenarioResponse` -> `WhatIf` (the default future, the scenario, their difference), as the local
/// `case.what_if(scenario)` returns it.
#[pyfunction]
fn _remote_scenario(data: &[u8]) -> PyResult<PyWhatIf> {
    const NAME: &str = "RunScenarioResponse";
    let r: pb::RunScenarioResponse = decode(NAME, data)?;
    let run = pf_proto::convert::ScenarioRun::try_from(r).map_err(|e| bad(NAME, e))?;
    Ok(PyWhatIf {
        inner: pf_core::WhatIfResult {
            baseline: run.baseline,
            scenario: run.scenario,
            delta: run.delta,
        },
    })
}

/// `ComparePoliciesResponse` -> `PolicyComparison`, labelled by the two scenarios sent, as the local
/// `case.compare(a, b)` returns it.
#[pyfunction]
fn _remote_compare(
    data: &[u8],
    a: &Bound<'_, PyScenario>,
    b: &Bound<'_, PyScenario>,
) -> PyResult<PyPolicyComparison> {
    const NAME: &str = "ComparePoliciesResponse";
    let r: pb::ComparePoliciesResponse = decode(NAME, data)?;
    let inner = pf_core::v2::PolicyComparison::try_from(r).map_err(|e| bad(NAME, e))?;
    Ok(PyPolicyComparison {
        inner,
        scenarios: (a.get().inner.clone(), b.get().inner.clone()),
    })
}

/// `WhatIfResponse` -> `WhatIf`.
#[pyfunction]
fn _remote_what_if(data: &[u8]) -> PyResult<PyWhatIf> {
    const NAME: &str = "WhatIfResponse";
    let r: pb::WhatIfResponse = decode(NAME, data)?;
    pf_core::WhatIfResult::try_from(r)
        .map(|inner| PyWhatIf { inner })
        .map_err(|e| bad(NAME, e))
}

/// `GetValueOfInformationResponse` -> `ValueOfInformation`.
#[pyfunction]
fn _remote_value_of_information(data: &[u8]) -> PyResult<PyValueOfInformation> {
    const NAME: &str = "GetValueOfInformationResponse";
    let r: pb::GetValueOfInformationResponse = decode(NAME, data)?;
    pf_core::ValueOfInformation::try_from(r)
        .map(|inner| PyValueOfInformation { inner })
        .map_err(|e| bad(NAME, e))
}

/// `CreateCaseResponse` -> `(created, Forecast)`.
#[pyfunction]
fn _remote_create(data: &[u8]) -> PyResult<(bool, PyForecast)> {
    const NAME: &str = "CreateCaseResponse";
    let r: pb::CreateCaseResponse = decode(NAME, data)?;
    Ok((r.created, forecast_of(NAME, r.forecast)?))
}

/// `AppendSignalsResponse` -> `(AppendReport, signal_count, Forecast)`.
#[pyfunction]
fn _remote_append(data: &[u8]) -> PyResult<(PyAppendReport, u32, PyForecast)> {
    const NAME: &str = "AppendSignalsResponse";
    let r: pb::AppendSignalsResponse = decode(NAME, data)?;
    let report = PyAppendReport {
        added: r.added as usize,
        unchanged: r.unchanged as usize,
    };
    Ok((report, r.signal_count, forecast_of(NAME, r.forecast)?))
}

/// `RetractSignalResponse` -> `(retracted, signal_count, Forecast)`.
#[pyfunction]
fn _remote_retract(data: &[u8]) -> PyResult<(bool, u32, PyForecast)> {
    const NAME: &str = "RetractSignalResponse";
    let r: pb::RetractSignalResponse = decode(NAME, data)?;
    Ok((r.retracted, r.signal_count, forecast_of(NAME, r.forecast)?))
}

/// `WatchForecastResponse` -> `(Forecast, signal_count)`.
#[pyfunction]
fn _remote_watch(data: &[u8]) -> PyResult<(PyForecast, u32)> {
    const NAME: &str = "WatchForecastResponse";
    let r: pb::WatchForecastResponse = decode(NAME, data)?;
    Ok((forecast_of(NAME, r.forecast)?, r.signal_count))
}

/// `ImportEventsResponse` -> `(rows_read, rows_matched, [(line, reason)], AppendReport, Forecast)`.
#[pyfunction]
#[allow(clippy::type_complexity)]
fn _remote_import(data: &[u8]) -> PyResult<(u64, u64, Vec<(u64, String)>, PyAppendReport, PyForecast)> {
    const NAME: &str = "ImportEventsResponse";
    let r: pb::ImportEventsResponse = decode(NAME, data)?;
    let report = PyAppendReport {
        added: r.added as usize,
        unchanged: r.unchanged as usize,
    };
    let bad_rows = r.bad_rows.into_iter().map(|b| (b.line, b.reason)).collect();
    Ok((
        r.rows_read,
        r.rows_matched,
        bad_rows,
        report,
        forecast_of(NAME, r.forecast)?,
    ))
}

/// `ListSignalsResponse` -> `([Signal], next_page_token, signal_count)`.
#[pyfunction]
fn _remote_signals(data: &[u8]) -> PyResult<(Vec<PySignal>, String, u32)> {
    const NAME: &str = "ListSignalsResponse";
    let r: pb::ListSignalsResponse = decode(NAME, data)?;
    let signals = pf_proto::convert::signals_from_proto("signals", r.signals).map_err(|e| bad(NAME, e))?;
    Ok((
        signals.into_iter().map(|inner| PySignal { inner }).collect(),
        r.next_page_token,
        r.signal_count,
    ))
}

/// `GetCaseResponse` and the `ListSignalsResponse` pages that follow it -> `Case` (read with the default model).
#[pyfunction]
fn _remote_case(py: Python<'_>, data: &[u8], pages: Vec<Vec<u8>>) -> PyResult<PyCase> {
    const NAME: &str = "GetCaseResponse";
    let r: pb::GetCaseResponse = decode(NAME, data)?;
    let case = r.coercion_case.ok_or_else(|| {
        bad(
            NAME,
            "invalid field `coercion_case`: expected a case, found nothing",
        )
    })?;
    let new = pf_proto::NewCase::try_from(case).map_err(|e| bad(NAME, e.within("coercion_case")))?;
    let mut signals = new.signals;
    for page in pages {
        let p: pb::ListSignalsResponse = decode("ListSignalsResponse", &page)?;
        signals.extend(
            pf_proto::convert::signals_from_proto("signals", p.signals)
                .map_err(|e| bad("ListSignalsResponse", e))?,
        );
    }
    let model = crate::default_model();
    let mut case = new.case;
    crate::errors::IntoPyResult::py_err(case.append(signals, model.as_ref()), py)?;
    Ok(PyCase {
        inner: Arc::new(case),
        model,
        obs: Default::default(),
    })
}

/// Add the functions to the extension module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_remote_forecast, m)?)?;
    m.add_function(wrap_pyfunction!(_remote_explanation, m)?)?;
    m.add_function(wrap_pyfunction!(_remote_trajectory, m)?)?;
    m.add_function(wrap_pyfunction!(_remote_what_if, m)?)?;
    m.add_function(wrap_pyfunction!(_remote_scenario_message, m)?)?;
    m.add_function(wrap_pyfunction!(_remote_scenario, m)?)?;
    m.add_function(wrap_pyfunction!(_remote_compare, m)?)?;
    m.add_function(wrap_pyfunction!(_remote_value_of_information, m)?)?;
    m.add_function(wrap_pyfunction!(_remote_create, m)?)?;
    m.add_function(wrap_pyfunction!(_remote_append, m)?)?;
    m.add_function(wrap_pyfunction!(_remote_retract, m)?)?;
    m.add_function(wrap_pyfunction!(_remote_watch, m)?)?;
    m.add_function(wrap_pyfunction!(_remote_import, m)?)?;
    m.add_function(wrap_pyfunction!(_remote_signals, m)?)?;
    m.add_function(wrap_pyfunction!(_remote_case, m)?)?;
    Ok(())
}
