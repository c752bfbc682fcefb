//! Event data: `ingest_events` turns CAMEO-coded event files into signals (through `pf_events`).

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::PyList;
use pyo3_stub_gen::derive::*;

use crate::convert::{helper, opt_arg_date};
use crate::errors::{self, Details, Kind, make_error};
use crate::signal::PySignal;

/// What an event-data ingestion produced: the signals, row counts and the rows skipped as malformed.
#[gen_stub_pyclass]
#[pyclass(
    module = "pressure_forecast._native",
    name = "IngestReport",
    frozen,
    eq,
    get_all
)]
/// What an event-data ingestion produced: the signals, row counts and the rows skipped as malformed.
///
/// Plain data: ``signals``, ``rows_read``, ``rows_matched`` and ``bad_rows`` (``(line, reason)`` pairs).
/// Returned by ``ingest_events``.
///
/// Examples
/// --------
/// >>> import pressure_forecast as pf, pathlib, tempfile
/// >>> path = pathlib.Path(tempfile.mkdtemp()) / "events.csv"
/// >>> _ = path.write_text("date,source_country,target_country,cameo_code\n2018-06-12,USA,PRK,044\n")
/// >>> report = pf.ingest_events(path, "csv", "USA", "PRK")
/// >>> report.rows_read, report.rows_matched, [s.type for s in report.signals]
/// (1, 1, ['summit_held'])
#[derive(Clone, PartialEq)]
pub struct PyIngestReport {
    /// One signal per (date, signal type).
    ///
    /// Returns
    /// -------
    /// list[Signal]
    pub signals: Vec<PySignal>,
    /// Data rows read.
    ///
    /// Returns
    /// -------
    /// int
    pub rows_read: u64,
    /// Rows mapped to a signal.
    ///
    /// Returns
    /// -------
    /// int
    pub rows_matched: u64,
    /// Rows skipped as malformed: `(line, reason)`.
    ///
    /// Returns
    /// -------
    /// list[tuple[int, str]]
    pub bad_rows: Vec<(u64, String)>,
}

#[gen_stub_pymethods]
#[pymethods]
impl PyIngestReport {
    /// The signals as a DataFrame (one row per signal, as ``Case.to_pandas``).
    ///
    /// Returns
    /// -------
    /// pandas.DataFrame
    ///     Columns ``date``, ``type``, ``reliability``, ``weight``, ``source``, ``note``, ``id``.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf, pathlib, tempfile
    /// >>> path = pathlib.Path(tempfile.mkdtemp()) / "events.csv"
    /// >>> _ = path.write_text("date,source_country,target_country,cameo_code\n2018-06-12,USA,PRK,044\n")
    /// >>> report = pf.ingest_events(path, "csv", "USA", "PRK")
    /// >>> report.to_pandas()["type"].tolist()
    /// ['summit_held']
    #[gen_stub(override_return_type(type_repr = "pandas.DataFrame", imports = ("pandas")))]
    fn to_pandas<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        helper(
            py,
            "_frames",
            "signals_frame",
            (PyList::new(py, self.signals.clone())?,),
            None,
        )
    }
    fn __len__(&self) -> usize {
        self.signals.len()
    }
    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, pyo3::types::PyTuple>)> {
        crate::pickle::reduce(slf)
    }
    fn __repr__(&self) -> String {
        format!(
            "IngestReport(signals={}, rows_read={}, rows_matched={}, bad_rows={})",
            self.signals.len(),
            self.rows_read,
            self.rows_matched,
            self.bad_rows.len()
        )
    }
}

pub(crate) fn events_error(py: Python<'_>, e: pf_events::Error) -> PyErr {
    use pf_events::Error as E;
    let message = e.to_string();
    match e {
        E::Mapping {
            field,
            expected,
            found,
        } => make_error(
            py,
            Kind::Parse,
            message,
            Details {
                field: Some(field),
                expected: Some(expected),
                found: Some(found),
                ..Details::default()
            },
        ),
        E::BadRow { line, reason } => make_error(
            py,
            Kind::Parse,
            message,
            Details {
                found: Some(reason),
                line: usize::try_from(line).ok(),
                ..Details::default()
            },
        ),
        E::Io { path, source } => errors::to_py(py, pf_core::Error::Io { path, source }),
        E::Format {
            what,
            expected,
            found,
        } => make_error(
            py,
            Kind::Argument,
            message,
            Details {
                field: Some(what),
                expected: Some(expected),
                found: Some(found),
                ..Details::default()
            },
        ),
        // No catch-all arm: a variant added to pf_events::Error stops this build until it is mapped here.
    }
}

/// Turn a file of CAMEO-coded events into signals for a sender and target.
///
/// Add them to a case with ``case.observe_many(report.signals)``.
///
/// Parameters
/// ----------
/// path : str or os.PathLike
///     The events file.
/// format : str
///     ``icews``, ``gdelt1``, ``gdelt2`` or ``csv``.
/// sender, target : str
///     ISO3 codes of the state applying pressure and the state pressed.
/// start, end : date or str, optional
///     Keep the events in this span.
/// mapping : str or os.PathLike, optional
///     A CAMEO mapping file (default: the built-in mapping).
/// strict : bool, default False
///     Raise on a malformed row instead of skipping it (skipped rows are in ``bad_rows``).
///
/// Returns
/// -------
/// IngestReport
///     The signals and the row counts.
///
/// Examples
/// --------
/// >>> import pressure_forecast as pf, pathlib, tempfile
/// >>> path = pathlib.Path(tempfile.mkdtemp()) / "events.csv"
/// >>> _ = path.write_text("date,source_country,target_country,cameo_code\n2018-06-12,USA,PRK,044\n")
/// >>> len(pf.ingest_events(path, "csv", "USA", "PRK"))
/// 1
#[gen_stub_pyfunction]
#[pyfunction]
#[pyo3(signature = (path, format, sender, target, *, start = None, end = None, mapping = None, strict = false))]
pub fn ingest_events(
    py: Python<'_>,
    path: PathBuf,
    format: &str,
    sender: String,
    target: String,
    #[gen_stub(override_type(type_repr = "datetime.date | builtins.str | numpy.datetime64 | None", imports = ("datetime", "builtins", "numpy")))]
    start: Option<&Bound<'_, PyAny>>,
    #[gen_stub(override_type(type_repr = "datetime.date | builtins.str | numpy.datetime64 | None", imports = ("datetime", "builtins", "numpy")))]
    end: Option<&Bound<'_, PyAny>>,
    mapping: Option<PathBuf>,
    strict: bool,
) -> PyResult<PyIngestReport> {
    let fmt: pf_events::Format = format.parse().map_err(|e| events_error(py, e))?;
    let mut opts = pf_events::IngestOptions::new(fmt, sender, target);
    opts.start = opt_arg_date(start, "start")?;
    opts.end = opt_arg_date(end, "end")?;
    opts.strict = strict;
    let mapping = match mapping {
        None => pf_events::Mapping::default_mapping(),
        Some(p) => pf_events::Mapping::load(&p).map_err(|e| events_error(py, e))?,
    };
    let r = py
        .detach(|| pf_events::ingest_path(&path, &mapping, &opts))
        .map_err(|e| events_error(py, e))?;
    Ok(PyIngestReport {
        signals: r.signals.into_iter().map(|inner| PySignal { inner }).collect(),
        rows_read: r.rows_read,
        rows_matched: r.rows_matched,
        bad_rows: r.bad_rows.into_iter().map(|b| (b.line, b.reason)).collect(),
    })
}

/// Pickled state of an ingest report.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct IngestState {
    signals: Vec<pf_core::Signal>,
    rows_read: u64,
    rows_matched: u64,
    bad_rows: Vec<(u64, String)>,
}

impl crate::pickle::Pickle for PyIngestReport {
    const KIND: &'static str = "IngestReport";
    type State = IngestState;
    fn state(&self) -> IngestState {
        IngestState {
            signals: self.signals.iter().map(|s| s.inner.clone()).collect(),
            rows_read: self.rows_read,
            rows_matched: self.rows_matched,
            bad_rows: self.bad_rows.clone(),
        }
    }
    fn from_state(_py: Python<'_>, s: IngestState) -> PyResult<Self> {
        Ok(Self {
            signals: s.signals.into_iter().map(|inner| PySignal { inner }).collect(),
            rows_read: s.rows_read,
            rows_matched: s.rows_matched,
            bad_rows: s.bad_rows,
        })
    }
}
