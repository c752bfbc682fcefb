//! # pf-python: the Python face of pressure_forecast
//!
//! A thin PyO3 adapter around [`pf_core`] (and [`pf_events`] for event data), built by maturin as
//! `pressure_forecast._native`. It converts at the edge (dates, dicts, numpy arrays, pandas records), maps the
//! engine's errors to one exception tree, releases the GIL around long work and turns Ctrl-C into
//! `KeyboardInterrupt`. It has no forecasting logic of its own; pandas and plotting live in the pure-Python
//! package (`python/pressure_forecast/`).
//!
//! One module per concern: [`model`], [`signal`], [`case`] (a case and its computations), [`results`] (the
//! result classes), [`episodes`], [`learning`] (fit and backtest), [`batch`] (`forecast_many`), [`events`]
//! (event-data ingestion), [`errors`] (the exception tree), [`progress`] (bars, Ctrl-C, the GIL), [`pickle`]
//! (one `__reduce__` for every class) and [`convert`] (Python values at the edge).

use std::sync::{Arc, OnceLock};

use pyo3::prelude::*;

pub mod batch;
pub mod case;
pub mod convert;
pub mod episodes;
pub mod errors;
pub mod events;
pub mod follow;
pub mod learning;
pub mod learning_v2;
pub mod model;
pub mod pickle;
pub mod progress;
pub mod remote;
pub mod results;
pub mod scenario;
pub mod signal;

/// The embedded default model, built once.
pub(crate) fn default_model() -> Arc<pf_core::Model> {
    static DEFAULT: OnceLock<Arc<pf_core::Model>> = OnceLock::new();
    DEFAULT
        .get_or_init(|| Arc::new(pf_core::Model::default_model()))
        .clone()
}

/// Today's date in UTC (`pf_core::dates::today`): the default as-of date of every face (the CLI, the server
/// and Python agree).
pub(crate) fn today() -> chrono::NaiveDate {
    pf_core::dates::today()
}

/// The native module's name, as the stubs and `#[pyclass(module = ...)]` spell it.
pub const MODULE: &str = "pressure_forecast._native";

pyo3_stub_gen::module_variable!("pressure_forecast._native", "__version__", String);
pyo3_stub_gen::module_variable!("pressure_forecast._native", "SIGNAL_TYPES_V1", Vec<String>);
pyo3_stub_gen::module_variable!("pressure_forecast._native", "OUTCOMES_V1", Vec<String>);
pyo3_stub_gen::module_variable!("pressure_forecast._native", "PROTO_FORECAST_SERVICE", String);

/// The text of `python/pressure_forecast/_native.pyi`, generated from the `#[gen_stub_*]` annotations of this
/// crate (pyo3-stub-gen) plus the exception tree (`stubs/exceptions.pyi`: the exception classes are built at
/// import time, so no annotation sees them). `cargo run -p pf-python --bin stub_gen` writes it; `--check`
/// fails when the committed file differs.
pub fn stub_text() -> pyo3_stub_gen::Result<String> {
    let root: &std::path::Path = env!("CARGO_MANIFEST_DIR").as_ref();
    let info = pyo3_stub_gen::StubInfo::from_pyproject_toml(root.join("../../pyproject.toml"))?;
    let Some(module) = info.modules.get(MODULE) else {
        return Err(std::io::Error::other(format!("no stub information for {MODULE}")).into());
    };
    // pyo3 strips the raw-identifier prefix of `r#type` (Signal's `type`); the stub must too.
    let generated = module.to_string().replace("r#", "");
    Ok(format!(
        "{}\n{}",
        generated.trim_end(),
        include_str!("../stubs/exceptions.pyi")
    ))
}

/// The native module `pressure_forecast._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<model::PyModel>()?;
    m.add_class::<signal::PySignal>()?;
    m.add_class::<case::PyCase>()?;
    m.add_class::<results::PyAppendReport>()?;
    m.add_class::<results::PyForecast>()?;
    m.add_class::<results::PyTrajectory>()?;
    m.add_class::<results::PyExplanation>()?;
    m.add_class::<results::PyWhatIf>()?;
    m.add_class::<results::PyValueOfInformation>()?;
    m.add_class::<episodes::PyEpisode>()?;
    m.add_class::<learning::PyFitReport>()?;
    m.add_class::<learning::PyBacktestReport>()?;
    m.add_class::<events::PyIngestReport>()?;
    m.add_class::<scenario::PyScenario>()?;
    m.add_class::<learning_v2::PyFitReportV2>()?;
    m.add_class::<learning_v2::PyBacktestReportV2>()?;
    m.add_class::<scenario::PyPolicyComparison>()?;
    m.add_function(wrap_pyfunction!(episodes::load_episodes, m)?)?;
    m.add_function(wrap_pyfunction!(learning::fit, m)?)?;
    m.add_function(wrap_pyfunction!(learning::backtest, m)?)?;
    m.add_function(wrap_pyfunction!(learning_v2::_backtest_fold, m)?)?;
    m.add_function(wrap_pyfunction!(learning_v2::_backtest_plan, m)?)?;
    m.add_function(wrap_pyfunction!(learning_v2::_backtest_folds, m)?)?;
    m.add_function(wrap_pyfunction!(learning_v2::_backtest_report, m)?)?;
    m.add_function(wrap_pyfunction!(batch::forecast_many, m)?)?;
    m.add_function(wrap_pyfunction!(events::ingest_events, m)?)?;
    m.add_function(wrap_pyfunction!(pickle::_unpickle, m)?)?;
    // The gRPC contract, shipped inside the extension (the generated Python stubs ship in `pressure_forecast._proto`).
    m.add(
        "PROTO_FORECAST_SERVICE",
        include_str!("../../../proto/pressureforecast/v1/forecast_service.proto"),
    )?;
    m.add(
        "SIGNAL_TYPES_V1",
        pf_core::vocab::signal_types_v1().collect::<Vec<_>>(),
    )?;
    m.add("OUTCOMES_V1", pf_core::vocab::OUTCOMES_V1.to_vec())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    errors::register(m)?;
    remote::register(m)?;
    follow::register(m)?;
    Ok(())
}
