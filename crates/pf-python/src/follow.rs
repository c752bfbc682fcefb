//! Following a feed from Python: `Follower` watches a directory of event files and ingests each new file once
//! into case files (through [`pf_events::follow`], the engine of `pressure-forecast follow`).
//!
//! `poll()` ingests what is there now and returns the counts; `run()` polls until a stop event is set or Ctrl-C,
//! with the GIL released while it reads, maps and writes, and while it waits (it wakes every 50 ms to run
//! Python's signal handlers and look at the stop event). The counts of each pass go to the
//! `pressure_forecast.follow` logger and come back as a DataFrame (`pressure_forecast._follow`).

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use pf_events::follow::{CaseStore, FileOutcome, FollowConfig, FollowError, Follower};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use pyo3_stub_gen::derive::*;

use crate::case::PyCase;
use crate::convert::helper;
use crate::errors::{self, Details, Kind, make_error};
use crate::signal::PySignal;

/// The cases of a running service, through a `pressure_forecast.Client` (its `load_case` and `append_signals`):
/// the follower's worker thread takes the GIL for each call.
#[derive(Debug)]
struct ClientCases {
    client: Py<PyAny>,
    address: String,
    ids: Vec<String>,
}

impl ClientCases {
    fn fail(&self, i: usize, call: &str, e: &PyErr) -> FollowError {
        FollowError::Store {
            case: self.label(i),
            message: format!("{call} failed: {e}"),
        }
    }
}

impl CaseStore for ClientCases {
    fn len(&self) -> usize {
        self.ids.len()
    }
    fn label(&self, i: usize) -> String {
        format!("{}/{}", self.address, self.ids[i])
    }
    fn load(&mut self, i: usize) -> Result<pf_core::Case, FollowError> {
        Python::attach(|py| {
            let case = self
                .client
                .bind(py)
                .call_method1("load_case", (self.ids[i].as_str(),))?;
            let case = case.cast::<PyCase>()?;
            let inner = case.borrow().inner.as_ref().clone();
            Ok::<_, PyErr>(inner)
        })
        .map_err(|e| self.fail(i, "load_case", &e))
    }
    fn store(
        &mut self,
        i: usize,
        _case: &pf_core::Case,
        batch: &[pf_core::Signal],
        report: pf_core::AppendReport,
    ) -> Result<pf_core::AppendReport, FollowError> {
        if batch.is_empty() {
            return Ok(report);
        }
        Python::attach(|py| {
            let signals: Vec<PySignal> = batch.iter().map(|s| PySignal { inner: s.clone() }).collect();
            let result = self
                .client
                .bind(py)
                .call_method1("append_signals", (self.ids[i].as_str(), signals))?;
            let r = result.getattr("report")?;
            Ok::<_, PyErr>(pf_core::AppendReport {
                added: r.getattr("added")?.extract()?,
                unchanged: r.getattr("unchanged")?.extract()?,
            })
        })
        .map_err(|e| self.fail(i, "append_signals", &e))
    }
}

/// How often `run()` wakes while it waits, to run signal handlers and look at the stop event.
const WAKE: Duration = Duration::from_millis(50);

/// The one mapping from the follower's errors to Python exceptions.
fn follow_error(py: Python<'_>, e: FollowError) -> PyErr {
    let message = e.to_string();
    match e {
        FollowError::File { source, .. } => follow_error(py, *source),
        FollowError::Events { source, .. } => crate::events::events_error(py, source),
        FollowError::Case { source, .. } => errors::to_py(py, *source),
        FollowError::Store { case, message: m } => make_error(
            py,
            Kind::Case,
            message,
            Details {
                field: Some("cases".into()),
                expected: Some(format!("case `{case}` to take the signals")),
                found: Some(m),
                ..Details::default()
            },
        ),
        FollowError::Checkpoint { expected, found, .. } => make_error(
            py,
            Kind::Parse,
            message,
            Details {
                field: Some("checkpoint".into()),
                expected: Some(expected),
                found: Some(found),
                ..Details::default()
            },
        ),
        FollowError::Io { path, source } => errors::to_py(py, pf_core::Error::Io { path, source }),
        // No catch-all arm: a variant added to FollowError stops this build until it is mapped here.
    }
}

/// The log lines of a pass: `(ok, line)`, errors with `ok` false.
type LogLines = Vec<(bool, String)>;

/// One row per (file, case) of a pass, and the log lines; a file that failed is one row with its error.
fn records<'py>(
    py: Python<'py>,
    results: Vec<Result<FileOutcome, FollowError>>,
) -> PyResult<(Bound<'py, PyList>, LogLines)> {
    let rows = PyList::empty(py);
    let mut lines = Vec::new();
    for r in results {
        match r {
            Ok(o) => {
                lines.push((true, o.log_line()));
                for c in &o.cases {
                    let d = PyDict::new(py);
                    d.set_item("file", &o.name)?;
                    d.set_item("case", &c.case)?;
                    d.set_item("rows_read", o.rows_read)?;
                    d.set_item("bad_rows", o.bad_rows.len())?;
                    d.set_item("rows_matched", c.rows_matched)?;
                    d.set_item("already_counted", c.already_counted)?;
                    d.set_item("signals_added", c.added)?;
                    d.set_item("signals_present", c.unchanged)?;
                    d.set_item("error", py.None())?;
                    rows.append(d)?;
                }
            }
            Err(e) => {
                let text = e.to_string();
                let file = match &e {
                    FollowError::File { name, .. } => Some(name.clone()),
                    _ => None,
                };
                lines.push((false, text.clone()));
                let d = PyDict::new(py);
                d.set_item("file", file)?;
                d.set_item("case", py.None())?;
                d.set_item("error", text)?;
                rows.append(d)?;
            }
        }
    }
    Ok((rows, lines))
}

/// Follows a directory of coded-event files (e.g. the GDELT 2.0 feed, one export every 15 minutes) and
/// ingests each new file exactly once into case files.
///
/// Each file is mapped for every case (its sender and target select the events, its span their dates); the
/// new signals are appended to the case files (written atomically), and the file is recorded in the
/// checkpoint, so a restart with the same checkpoint ingests nothing again. A signal's id derives from the
/// events it aggregates, so a later file reporting more events of a day already recorded adds a new signal,
/// or nothing when its events were counted, and never conflicts with an earlier one. Files named ``.*``,
/// ``*.tmp`` or ``*.part`` are ignored: write a file under such a name and rename it into place.
///
/// Parameters
/// ----------
/// directory : str or os.PathLike
///     The directory watched.
/// cases : list of str or os.PathLike
///     Case files (JSON) to append to, read and written in place.
/// format : str, default "gdelt2"
///     ``icews``, ``gdelt1``, ``gdelt2`` or ``csv``.
/// checkpoint : str or os.PathLike, optional
///     The checkpoint file (default: ``.pressure-forecast-follow.json`` in the directory).
/// mapping : str or os.PathLike, optional
///     A CAMEO mapping file (default: the built-in mapping).
/// suffix : str, optional
///     Only files whose name ends with this (e.g. ``.export.CSV``).
/// strict : bool, default False
///     Fail a file on its first malformed row instead of skipping the row.
/// client : pressure_forecast.Client, optional
///     Append through a running service instead: ``cases`` are then case ids of the service, each read with
///     ``client.load_case`` and given its new signals with ``client.append_signals`` (atomic and idempotent by
///     id). The checkpoint stays a local file.
///
/// Examples
/// --------
/// >>> import pressure_forecast as pf, pathlib, tempfile
/// >>> folder = pathlib.Path(tempfile.mkdtemp())
/// >>> pf.Case("usa-prk", "USA", "PRK", "2017-01-20", "2021-01-20").save(folder / "prk.json")
/// >>> feed = folder / "feed"
/// >>> feed.mkdir()
/// >>> _ = (feed / "1.csv").write_text("date,source_country,target_country,cameo_code\n2018-06-12,USA,PRK,044\n")
/// >>> f = pf.Follower(feed, [folder / "prk.json"], format="csv")
/// >>> f.poll()[["file", "rows_read", "signals_added"]].to_dict("records")
/// [{'file': '1.csv', 'rows_read': 1, 'signals_added': 1}]
/// >>> len(f.poll()), f.files_done
/// (0, ['1.csv'])
#[gen_stub_pyclass]
#[pyclass(module = "pressure_forecast._native", name = "Follower", frozen)]
pub struct PyFollower {
    inner: Mutex<Follower>,
    directory: PathBuf,
    cases: Vec<PathBuf>,
    checkpoint: PathBuf,
    format: &'static str,
}

impl PyFollower {
    /// One pass with the GIL released; the mutex is taken only on the worker side.
    fn pass<'py>(&self, py: Python<'py>, stable: bool) -> PyResult<Bound<'py, PyAny>> {
        let results = py
            .detach(|| {
                let mut f = self
                    .inner
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                f.poll(stable)
            })
            .map_err(|e| follow_error(py, e))?;
        let (rows, lines) = records(py, results)?;
        helper(py, "_follow", "report", (rows, lines), None)
    }
}

#[gen_stub_pymethods]
#[pymethods]
impl PyFollower {
    #[new]
    #[pyo3(signature = (directory, cases, *, format = "gdelt2", checkpoint = None, mapping = None, suffix = None, strict = false, client = None))]
    fn new(
        py: Python<'_>,
        directory: PathBuf,
        cases: Vec<PathBuf>,
        format: &str,
        checkpoint: Option<PathBuf>,
        mapping: Option<PathBuf>,
        suffix: Option<String>,
        strict: bool,
        #[gen_stub(override_type(type_repr = "typing.Any | None", imports = ("typing")))] client: Option<
            Bound<'_, PyAny>,
        >,
    ) -> PyResult<PyFollower> {
        let fmt: pf_events::Format = format.parse().map_err(|e| crate::events::events_error(py, e))?;
        if cases.is_empty() {
            return Err(errors::argument_error(
                py,
                "cases",
                "at least one case file",
                "an empty list".into(),
            ));
        }
        if !directory.is_dir() {
            return Err(errors::argument_error(
                py,
                "directory",
                "an existing directory",
                format!("`{}`", directory.display()),
            ));
        }
        let mapping = match mapping {
            None => pf_events::Mapping::default_mapping(),
            Some(p) => pf_events::Mapping::load(&p).map_err(|e| crate::events::events_error(py, e))?,
        };
        let checkpoint = checkpoint.unwrap_or_else(|| directory.join(".pressure-forecast-follow.json"));
        let config = FollowConfig {
            dir: directory.clone(),
            format: fmt,
            mapping,
            cases: if client.is_some() {
                Vec::new()
            } else {
                cases.clone()
            },
            checkpoint: checkpoint.clone(),
            strict,
            suffix,
        };
        let inner = match client {
            None => Follower::new(config),
            Some(c) => {
                let address = match c.getattr("address") {
                    Ok(a) => a.str()?.to_string(),
                    Err(_) => "service".to_owned(),
                };
                let store = ClientCases {
                    client: c.unbind(),
                    address,
                    ids: cases.iter().map(|p| p.display().to_string()).collect(),
                };
                Follower::with_store(config, Box::new(store))
            }
        }
        .map_err(|e| follow_error(py, e))?;
        Ok(PyFollower {
            inner: Mutex::new(inner),
            directory,
            cases,
            checkpoint,
            format: fmt.name(),
        })
    }

    /// Ingest every file of the directory not done yet, now, in name order.
    ///
    /// Parameters
    /// ----------
    /// stable : bool, default False
    ///     Take a file only when its size is the one seen at the previous ``poll`` (it is no longer being
    ///     written); ``run()`` polls this way.
    ///
    /// Returns
    /// -------
    /// pandas.DataFrame
    ///     One row per file and case: ``file``, ``case``, ``rows_read``, ``bad_rows``, ``rows_matched``,
    ///     ``already_counted``, ``signals_added``, ``signals_present`` and ``error`` (None). A file that could
    ///     not be ingested is one row with its ``error`` (and ``case`` None); it is left out of the checkpoint
    ///     and not tried again until it changes. Empty when there was nothing new. Each file's counts are also
    ///     logged (logger ``pressure_forecast.follow``).
    #[pyo3(signature = (*, stable = false))]
    #[gen_stub(override_return_type(type_repr = "pandas.DataFrame", imports = ("pandas")))]
    fn poll<'py>(&self, py: Python<'py>, stable: bool) -> PyResult<Bound<'py, PyAny>> {
        self.pass(py, stable)
    }

    /// Poll the directory every ``interval`` seconds until ``stop`` is set, or Ctrl-C.
    ///
    /// A file is taken once its size is the same at two successive polls. The GIL is released while files are
    /// ingested and while it waits; every write is atomic, so stopping at any moment is safe.
    ///
    /// Parameters
    /// ----------
    /// stop : threading.Event, optional
    ///     Any object with ``is_set()``; ``run`` returns soon after it is set (within ``interval`` at most
    ///     once a pass has started, within 50 ms while it waits).
    /// interval : float, default 60.0
    ///     Seconds between two passes.
    ///
    /// Returns
    /// -------
    /// pandas.DataFrame
    ///     The rows of every pass (as ``poll`` returns them), when ``stop`` was set.
    ///
    /// Raises
    /// ------
    /// KeyboardInterrupt
    ///     On Ctrl-C (the files done so far are in the checkpoint and were logged).
    #[pyo3(signature = (stop = None, *, interval = 60.0))]
    #[gen_stub(override_return_type(type_repr = "pandas.DataFrame", imports = ("pandas")))]
    fn run<'py>(
        &self,
        py: Python<'py>,
        #[gen_stub(override_type(type_repr = "threading.Event | None", imports = ("threading")))]
        stop: Option<&Bound<'py, PyAny>>,
        interval: f64,
    ) -> PyResult<Bound<'py, PyAny>> {
        if !(interval.is_finite() && interval > 0.0) {
            return Err(errors::argument_error(
                py,
                "interval",
                "a number of seconds > 0",
                interval.to_string(),
            ));
        }
        let pause = Duration::from_secs_f64(interval);
        let stopped = |py: Python<'py>| -> PyResult<bool> {
            py.check_signals()?;
            match stop {
                Some(s) => s.call_method0("is_set")?.is_truthy(),
                None => Ok(false),
            }
        };
        let frames = PyList::empty(py);
        while !stopped(py)? {
            frames.append(self.pass(py, true)?)?;
            let until = Instant::now() + pause;
            loop {
                let now = Instant::now();
                if now >= until || stopped(py)? {
                    break;
                }
                py.detach(|| std::thread::sleep(WAKE.min(until - now)));
            }
        }
        helper(py, "_follow", "concat", (frames,), None)
    }

    /// Names of the files recorded in the checkpoint, in name order.
    ///
    /// Returns
    /// -------
    /// list[str]
    #[getter]
    fn files_done(&self, py: Python<'_>) -> Vec<String> {
        py.detach(|| {
            let f = self
                .inner
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            f.checkpoint().files.keys().cloned().collect()
        })
    }

    /// The directory watched.
    ///
    /// Returns
    /// -------
    /// pathlib.Path
    #[getter]
    fn directory(&self) -> PathBuf {
        self.directory.clone()
    }

    /// The case files appended to.
    ///
    /// Returns
    /// -------
    /// list[pathlib.Path]
    #[getter]
    fn cases(&self) -> Vec<PathBuf> {
        self.cases.clone()
    }

    /// The checkpoint file.
    ///
    /// Returns
    /// -------
    /// pathlib.Path
    #[getter]
    fn checkpoint(&self) -> PathBuf {
        self.checkpoint.clone()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Follower(directory={:?}, format={:?}, cases={}, files_done={})",
            self.directory.display().to_string(),
            self.format,
            self.cases.len(),
            self.files_done(py).len()
        )
    }
}

/// Register `Follower` on the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyFollower>()
}
