//! `Case`: a campaign being forecast, its signals, and every question asked of it (forecast, trajectory,
//! explanation, what-if, value of information).

use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};

use chrono::NaiveDate;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use pyo3_stub_gen::derive::*;
use serde::{Deserialize, Serialize};

use crate::convert::{arg_date, case_date, helper, json_to_py, opt_arg_date, py_to_json};
use crate::errors::{IntoPyResult, argument_error};
use crate::model::PyModel;
use crate::progress::{run_long, want_bar};
use crate::results::{
    ExplanationData, PyAppendReport, PyExplanation, PyForecast, PyTrajectory, PyValueOfInformation, PyWhatIf,
};
use crate::scenario::{PyPolicyComparison, PyScenario, v2_of};
use crate::signal::{PySignal, records_of, signal_from_record};

/// Draws at or above this show a progress bar unless `progress=False`.
pub const BAR_DRAWS: usize = 20_000;

/// A coercion campaign: sender, target, start, term end and its signals, with the model it is read with.
///
/// Parameters
/// ----------
/// id : str
///     The case's id.
/// sender, target : str
///     The state applying pressure and the state pressed.
/// start, term_end : datetime.date or str
///     The campaign's start and the end of the sender leader's term.
/// model : Model, optional
///     The model for vocabulary checks and forecasts (default: the default model).
/// description : str, optional
///     Free text.
///
/// Examples
/// --------
/// >>> import pressure_forecast as pf
/// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
/// >>> case.observe("summit_held", "2018-06-12")
/// AppendReport(added=1, unchanged=0)
/// >>> case.forecast(as_of="2018-07-01").most_likely in ("deal", "stalemate", "wait_out")
/// True
#[gen_stub_pyclass]
#[pyclass(module = "pressure_forecast._native", name = "Case", eq)]
#[derive(Clone)]
pub struct PyCase {
    /// The engine's case (shared until changed, so that batch calls do not copy signals).
    pub inner: Arc<pf_core::Case>,
    /// The model used for vocabulary checks and as the default for forecasts.
    pub model: Arc<pf_core::Model>,
    /// The signals resolved against the model of the last forecasts, for repeated forecasts.
    pub obs: ObsCache,
}

/// The case's signals resolved against a model ([`pf_core::Model::observations`]: signal types turned into
/// indices once), kept for repeated forecasts of an unchanged case with the same model, so that each forecast
/// runs the bare filter instead of looking every signal's type up again.
///
/// Built on the second forecast with the same case and model (a single forecast keeps its old cost), and
/// dropped by any change: the entry holds `Weak` references to the case and the model it was made from, and a
/// change of the case goes through `Arc::make_mut`, which moves a case that only weak references share into a
/// new allocation, so the entry no longer matches. Cloning a `Case` (`copy`) starts with an empty cache.
#[derive(Default)]
pub struct ObsCache(Mutex<Option<ObsEntry>>);

/// One entry of [`ObsCache`]: what it was made from, and the observations once built.
struct ObsEntry {
    case: Weak<pf_core::Case>,
    model: Weak<pf_core::Model>,
    obs: Resolved,
}

/// How far an [`ObsEntry`] got.
enum Resolved {
    /// Forecast once: build on the next forecast.
    Seen,
    /// Built.
    Built(Arc<pf_core::Observations>),
    /// The whole record does not resolve against the model: forecast from the case every time.
    Failed,
}

impl ObsEntry {
    fn of(&self, case: &Arc<pf_core::Case>, model: &Arc<pf_core::Model>) -> bool {
        // The entry's weak references keep both allocations, so their addresses cannot be reused by another case
        // or model while it lives: equal addresses are the same live objects.
        std::ptr::eq(self.case.as_ptr(), Arc::as_ptr(case))
            && std::ptr::eq(self.model.as_ptr(), Arc::as_ptr(model))
    }
}

impl Clone for ObsCache {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl ObsCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<ObsEntry>> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The observations of `case` under `model`: from the cache, or built now (the GIL released, the lock not
    /// held) when this pair was forecast before; None on the first forecast of the pair, or when the whole
    /// record does not resolve (a signal after the as-of date that the model rejects): the caller then
    /// forecasts from the case.
    fn get(
        &self,
        py: Python<'_>,
        case: &Arc<pf_core::Case>,
        model: &Arc<pf_core::Model>,
    ) -> Option<Arc<pf_core::Observations>> {
        {
            let mut slot = self.lock();
            match slot.as_ref() {
                Some(e) if e.of(case, model) => match &e.obs {
                    Resolved::Built(o) => return Some(o.clone()),
                    Resolved::Failed => return None,
                    Resolved::Seen => {}
                },
                _ => {
                    *slot = Some(ObsEntry {
                        case: Arc::downgrade(case),
                        model: Arc::downgrade(model),
                        obs: Resolved::Seen,
                    });
                    return None;
                }
            }
        }
        let built = py.detach(|| model.observations(case)).ok().map(Arc::new);
        let mut slot = self.lock();
        if let Some(e) = slot.as_mut().filter(|e| e.of(case, model)) {
            e.obs = built.clone().map_or(Resolved::Failed, Resolved::Built);
        }
        built
    }
}

/// Pickled state: the case and, unless it is the default, the model file.
#[derive(Serialize, Deserialize)]
pub struct CaseState {
    case: pf_core::Case,
    #[serde(default)]
    model_toml: Option<String>,
}

fn model_arc(model: Option<&Bound<'_, PyModel>>) -> Arc<pf_core::Model> {
    model.map_or_else(crate::default_model, |m| m.get().inner.clone())
}

/// The default as-of date: today, as in the CLI (after the term end a forecast is the resolved distribution).
fn default_as_of(_case: &pf_core::Case) -> NaiveDate {
    crate::today()
}

/// Levels of credible intervals from a Python sequence.
pub fn levels_of(levels: &Bound<'_, PyAny>) -> PyResult<Vec<f64>> {
    if let Ok(x) = levels.extract::<f64>() {
        return Ok(vec![x]);
    }
    levels.extract::<Vec<f64>>().map_err(|_| {
        argument_error(
            levels.py(),
            "levels",
            "a sequence of interval levels in (0, 1), e.g. (0.9,)",
            levels.repr().map(|r| r.to_string()).unwrap_or_default(),
        )
    })
}

impl PyCase {
    fn as_of(&self, as_of: Option<&Bound<'_, PyAny>>) -> PyResult<NaiveDate> {
        Ok(opt_arg_date(as_of, "as_of")?.unwrap_or_else(|| default_as_of(&self.inner)))
    }

    fn pick(&self, model: Option<&Bound<'_, PyModel>>) -> Arc<pf_core::Model> {
        model.map_or_else(|| self.model.clone(), |m| m.get().inner.clone())
    }
}

/// Forecast one case (the GIL released; a bar and Ctrl-C for large draws).
pub fn forecast_one(
    py: Python<'_>,
    model: &pf_core::Model,
    case: &pf_core::Case,
    as_of: NaiveDate,
    draws: usize,
    seed: u64,
    levels: Vec<f64>,
    progress: Option<bool>,
) -> PyResult<pf_core::Forecast> {
    forecast_one_drawn(py, model, case, as_of, draws, seed, levels, progress).map(|f| f.inner)
}

/// [`forecast_one`] keeping the raw per-draw forecasts (`Forecast.draws`) when `draws > 0`.
#[allow(clippy::too_many_arguments)]
pub fn forecast_one_drawn(
    py: Python<'_>,
    model: &pf_core::Model,
    case: &pf_core::Case,
    as_of: NaiveDate,
    draws: usize,
    seed: u64,
    levels: Vec<f64>,
    progress: Option<bool>,
) -> PyResult<PyForecast> {
    if draws == 0 {
        return py
            .detach(|| model.forecast(case, as_of))
            .py_err(py)
            .map(PyForecast::from);
    }
    let opts = pf_core::DrawOptions { draws, seed, levels };
    run_long(
        py,
        want_bar(progress, draws >= BAR_DRAWS && crate::progress::interactive(py)),
        |p| crate::results::forecast_drawn(model, case, as_of, &opts, p),
    )
}

#[gen_stub_pymethods]
#[pymethods]
impl PyCase {
    #[new]
    #[pyo3(signature = (id, sender, target, start, term_end, model = None, description = None, *, reelection_eligible = true, election_date = None))]
    fn new(
        py: Python<'_>,
        id: String,
        sender: String,
        target: String,
        #[gen_stub(override_type(type_repr = "datetime.date | builtins.str | numpy.datetime64", imports = ("datetime", "builtins", "numpy")))]
        start: &Bound<'_, PyAny>,
        #[gen_stub(override_type(type_repr = "datetime.date | builtins.str | numpy.datetime64", imports = ("datetime", "builtins", "numpy")))]
        term_end: &Bound<'_, PyAny>,
        model: Option<&Bound<'_, PyModel>>,
        description: Option<String>,
        reelection_eligible: bool,
        #[gen_stub(override_type(type_repr = "datetime.date | builtins.str | numpy.datetime64 | None", imports = ("datetime", "builtins", "numpy")))]
        election_date: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyCase> {
        let mut inner = pf_core::Case::new(
            id,
            sender,
            target,
            case_date(start, "start")?,
            case_date(term_end, "term_end")?,
        )
        .py_err(py)?;
        inner.description = description.unwrap_or_default();
        inner.reelection_eligible = reelection_eligible;
        if let Some(e) = opt_arg_date(election_date, "election_date")? {
            if e > inner.term_end {
                return Err(argument_error(
                    py,
                    "election_date",
                    &format!(
                        "a date on or before the term end {} (the day the leader's fate is decided)",
                        inner.term_end
                    ),
                    e.to_string(),
                ));
            }
            inner.election_date_given = Some(e);
        }
        Ok(PyCase {
            inner: Arc::new(inner),
            model: model_arc(model),
            obs: Default::default(),
        })
    }

    /// Read a case file (JSON: `{id, sender, target, start, term_end, description?, signals: [...]}`).
    ///
    /// Parameters
    /// ----------
    /// path : str or os.PathLike
    ///     The case file.
    /// model : Model, optional
    ///     The model for vocabulary checks and forecasts (default: the default model).
    ///
    /// Returns
    /// -------
    /// Case
    ///     The case, its signals checked against the model.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    /// >>> case.observe("summit_held", "2018-06-12")
    /// AppendReport(added=1, unchanged=0)
    /// >>> import pathlib, tempfile
    /// >>> folder = pathlib.Path(tempfile.mkdtemp())
    /// >>> case.save(folder / "demo.json")
    /// >>> pf.Case.load(folder / "demo.json") == case
    /// True
    #[staticmethod]
    #[pyo3(signature = (path, model = None))]
    fn load(py: Python<'_>, path: PathBuf, model: Option<&Bound<'_, PyModel>>) -> PyResult<PyCase> {
        let m = model_arc(model);
        let inner = pf_core::Case::load(&path, m.as_ref()).py_err(py)?;
        Ok(PyCase {
            inner: Arc::new(inner),
            model: m,
            obs: Default::default(),
        })
    }

    /// Build a case from its JSON form (a dict or a JSON string), as ``to_json`` writes it.
    ///
    /// Parameters
    /// ----------
    /// obj : dict or str
    ///     The case file's content.
    /// model : Model, optional
    ///     The model for vocabulary checks and forecasts (default: the default model).
    ///
    /// Returns
    /// -------
    /// Case
    ///     The case, its signals checked against the model.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    /// >>> case.observe("summit_held", "2018-06-12")
    /// AppendReport(added=1, unchanged=0)
    /// >>> pf.Case.from_json(case.to_json()) == case
    /// True
    /// >>> import json
    /// >>> len(pf.Case.from_json(json.dumps(case.to_json())))
    /// 1
    #[staticmethod]
    #[pyo3(signature = (obj, model = None))]
    fn from_json(obj: &Bound<'_, PyAny>, model: Option<&Bound<'_, PyModel>>) -> PyResult<PyCase> {
        let py = obj.py();
        let obj = if let Ok(s) = obj.extract::<String>() {
            py.import("json")?.call_method1("loads", (s,))?
        } else {
            obj.clone()
        };
        let m = model_arc(model);
        let inner = pf_core::Case::from_json(&py_to_json(&obj)?, m.as_ref()).py_err(py)?;
        Ok(PyCase {
            inner: Arc::new(inner),
            model: m,
            obs: Default::default(),
        })
    }

    /// A case whose signals are read from a JSON Lines or CSV file (`.csv` is CSV).
    ///
    /// Parameters
    /// ----------
    /// path : str or os.PathLike
    ///     The signals file: one record per line (JSON Lines) or per row (CSV).
    /// id, sender, target : str
    ///     The case's id and the ISO 3166 alpha-3 codes of the two states.
    /// start, term_end : datetime.date or str
    ///     The campaign's start and the sender leader's term end.
    /// model : Model, optional
    ///     The model for vocabulary checks and forecasts (default: the default model).
    /// description : str, optional
    ///     Free text.
    ///
    /// Returns
    /// -------
    /// Case
    ///     The case with the file's signals.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> import pathlib, tempfile
    /// >>> folder = pathlib.Path(tempfile.mkdtemp())
    /// >>> path = folder / "signals.csv"
    /// >>> _ = path.write_text("date,type\n2018-06-12,summit_held\n2018-08-01,talks_refused\n")
    /// >>> case = pf.Case.from_signals_file(path, "demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    /// >>> [s.type for s in case.signals]
    /// ['summit_held', 'talks_refused']
    #[staticmethod]
    #[pyo3(signature = (path, id, sender, target, start, term_end, model = None, description = None))]
    fn from_signals_file(
        py: Python<'_>,
        path: PathBuf,
        id: String,
        sender: String,
        target: String,
        #[gen_stub(override_type(type_repr = "datetime.date | builtins.str | numpy.datetime64", imports = ("datetime", "builtins", "numpy")))]
        start: &Bound<'_, PyAny>,
        #[gen_stub(override_type(type_repr = "datetime.date | builtins.str | numpy.datetime64", imports = ("datetime", "builtins", "numpy")))]
        term_end: &Bound<'_, PyAny>,
        model: Option<&Bound<'_, PyModel>>,
        description: Option<String>,
    ) -> PyResult<PyCase> {
        let mut case = PyCase::new(
            py,
            id,
            sender,
            target,
            start,
            term_end,
            model,
            description,
            true,
            None,
        )?;
        case.observe_file(py, path)?;
        Ok(case)
    }

    /// The case as a dict (the case file format).
    ///
    /// Returns
    /// -------
    /// dict
    ///     ``{id, sender, target, start, term_end, description, signals}``, dates as ``YYYY-MM-DD``.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    /// >>> case.observe("summit_held", "2018-06-12")
    /// AppendReport(added=1, unchanged=0)
    /// >>> d = case.to_json()
    /// >>> d["id"], d["term_end"], len(d["signals"])
    /// ('demo', '2021-01-20', 1)
    #[gen_stub(override_return_type(type_repr = "dict[str, typing.Any]", imports = ("typing")))]
    fn to_json<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.inner.to_json())
    }

    /// Write the case file (pretty JSON).
    ///
    /// Parameters
    /// ----------
    /// path : str or os.PathLike
    ///     Where to write it (replaced if it exists).
    ///
    /// Returns
    /// -------
    /// None
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    /// >>> case.observe("summit_held", "2018-06-12")
    /// AppendReport(added=1, unchanged=0)
    /// >>> import pathlib, tempfile
    /// >>> folder = pathlib.Path(tempfile.mkdtemp())
    /// >>> case.save(folder / "demo.json")
    /// >>> (folder / "demo.json").exists()
    /// True
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        self.inner.save(&path).py_err(py)
    }

    /// Record one signal.
    ///
    /// A repeat of a stored id with the same content changes nothing; with different content it raises
    /// ``DuplicateSignalError``. On any error the case is left unchanged.
    ///
    /// Parameters
    /// ----------
    /// type : str
    ///     The signal type.
    /// date : datetime.date or str
    ///     The day it was observed.
    /// reliability : float, default 1.0
    ///     Probability that the report is true, in [0, 1].
    /// weight : float, default 1.0
    ///     How strongly it counts, > 0.
    /// source, note, id : str, optional
    ///     Who reported it, free text, and an id unique within the case.
    ///
    /// Returns
    /// -------
    /// AppendReport
    ///     Signals added and repeats left unchanged.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    /// >>> case.observe("summit_held", "2018-06-12", id="s1")
    /// AppendReport(added=1, unchanged=0)
    /// >>> case.observe("summit_held", "2018-06-12", id="s1")
    /// AppendReport(added=0, unchanged=1)
    #[pyo3(signature = (r#type, date, reliability = 1.0, weight = 1.0, source = None, note = None, id = None))]
    fn observe(
        &mut self,
        py: Python<'_>,
        r#type: String,
        #[gen_stub(override_type(type_repr = "datetime.date | builtins.str | numpy.datetime64", imports = ("datetime", "builtins", "numpy")))]
        date: &Bound<'_, PyAny>,
        reliability: f64,
        weight: f64,
        source: Option<String>,
        note: Option<String>,
        id: Option<String>,
    ) -> PyResult<PyAppendReport> {
        let mut s = pf_core::Signal::new(r#type, crate::convert::signal_date(date, "date")?);
        s.reliability = reliability;
        s.weight = weight;
        s.source = source.as_deref().map(pf_core::Text::interned);
        s.note = note.map(Into::into);
        s.id = id.map(Into::into);
        let model = self.model.clone();
        let r = Arc::make_mut(&mut self.inner)
            .append([s], model.as_ref())
            .py_err(py)?;
        Ok(PyAppendReport {
            added: r.added,
            unchanged: r.unchanged,
        })
    }

    /// Record many signals at once, atomically (all or none).
    ///
    /// Parameters
    /// ----------
    /// records : iterable of Signal or dict, or pandas.DataFrame
    ///     ``Signal``s, dicts with the fields of SIGNALS.md, or a DataFrame with those columns.
    ///
    /// Returns
    /// -------
    /// AppendReport
    ///     Signals added and repeats left unchanged.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    /// >>> case.observe_many([{"type": "summit_held", "date": "2018-06-12"}, pf.Signal("talks_refused", "2018-08-01")])
    /// AppendReport(added=2, unchanged=0)
    fn observe_many(&mut self, records: &Bound<'_, PyAny>) -> PyResult<PyAppendReport> {
        let py = records.py();
        let signals = records_of(records)?
            .iter()
            .enumerate()
            .map(|(i, r)| signal_from_record(r, i))
            .collect::<PyResult<Vec<_>>>()?;
        let model = self.model.clone();
        let r = Arc::make_mut(&mut self.inner)
            .append(signals, model.as_ref())
            .py_err(py)?;
        Ok(PyAppendReport {
            added: r.added,
            unchanged: r.unchanged,
        })
    }

    /// Record the signals of a JSON Lines or CSV file (`.csv` is CSV), atomically.
    ///
    /// Parameters
    /// ----------
    /// path : str or os.PathLike
    ///     The signals file; if one record is invalid, none is recorded.
    ///
    /// Returns
    /// -------
    /// AppendReport
    ///     Signals added, and repeats of stored ids left unchanged.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    /// >>> import pathlib, tempfile
    /// >>> folder = pathlib.Path(tempfile.mkdtemp())
    /// >>> path = folder / "signals.jsonl"
    /// >>> _ = path.write_text('{"date": "2018-06-12", "type": "summit_held"}\n')
    /// >>> case.observe_file(path)
    /// AppendReport(added=1, unchanged=0)
    fn observe_file(&mut self, py: Python<'_>, path: PathBuf) -> PyResult<PyAppendReport> {
        let signals = pf_core::signal::read_signals_file(&path).py_err(py)?;
        let model = self.model.clone();
        let r = Arc::make_mut(&mut self.inner)
            .append(signals, model.as_ref())
            .py_err(py)?;
        Ok(PyAppendReport {
            added: r.added,
            unchanged: r.unchanged,
        })
    }

    /// Remove the signal with this id; returns it, or None if there was none.
    ///
    /// Parameters
    /// ----------
    /// id : str
    ///     The signal's id.
    ///
    /// Returns
    /// -------
    /// Signal or None
    ///     The signal removed.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    /// >>> case.observe("summit_held", "2018-06-12", id="s1")
    /// AppendReport(added=1, unchanged=0)
    /// >>> case.remove("s1").type, len(case)
    /// ('summit_held', 0)
    /// >>> case.remove("s1") is None
    /// True
    fn remove(&mut self, id: &str) -> Option<PySignal> {
        Arc::make_mut(&mut self.inner)
            .remove(id)
            .map(|inner| PySignal { inner })
    }

    /// The signals in date order.
    ///
    /// Returns
    /// -------
    /// list[Signal]
    #[getter]
    fn signals(&self) -> Vec<PySignal> {
        self.inner
            .signals()
            .iter()
            .cloned()
            .map(|inner| PySignal { inner })
            .collect()
    }

    /// The case's id.
    ///
    /// Returns
    /// -------
    /// str
    #[getter]
    fn id(&self) -> &str {
        &self.inner.id
    }
    /// The state applying pressure.
    ///
    /// Returns
    /// -------
    /// str
    #[getter]
    fn sender(&self) -> &str {
        &self.inner.sender
    }
    /// The state pressed.
    ///
    /// Returns
    /// -------
    /// str
    #[getter]
    fn target(&self) -> &str {
        &self.inner.target
    }
    /// The campaign's start.
    ///
    /// Returns
    /// -------
    /// datetime.date
    #[getter]
    fn start(&self) -> NaiveDate {
        self.inner.start
    }
    /// The sender leader's term end.
    ///
    /// Returns
    /// -------
    /// datetime.date
    #[getter]
    fn term_end(&self) -> NaiveDate {
        self.inner.term_end
    }
    /// Whether the sender's leader can remain in office after the term end (when false, a stalemate is
    /// impossible under a v2 model).
    ///
    /// Returns
    /// -------
    /// bool
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> pf.Case("d", "USA", "PRK", "2017-01-20", "2021-01-20", reelection_eligible=False).reelection_eligible
    /// False
    #[getter]
    fn reelection_eligible(&self) -> bool {
        self.inner.reelection_eligible
    }
    /// The day the leader's fate after the term end is decided: the date given, or 78 days before the term end.
    ///
    /// Returns
    /// -------
    /// datetime.date
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> pf.Case("d", "USA", "PRK", "2017-01-20", "2021-01-20").election_date
    /// datetime.date(2020, 11, 3)
    #[getter]
    fn election_date(&self) -> NaiveDate {
        self.inner.election_date()
    }
    /// Free text.
    ///
    /// Returns
    /// -------
    /// str
    #[getter]
    fn get_description(&self) -> &str {
        &self.inner.description
    }
    #[setter]
    fn set_description(&mut self, description: String) {
        Arc::make_mut(&mut self.inner).description = description;
    }
    /// The model the case is read with (the default model unless one was given).
    ///
    /// Returns
    /// -------
    /// Model
    #[getter]
    fn model(&self) -> PyModel {
        PyModel {
            inner: self.model.clone(),
        }
    }

    /// A copy of the case read with another model (its signal types must be known to it).
    ///
    /// Parameters
    /// ----------
    /// model : Model
    ///     The model.
    ///
    /// Returns
    /// -------
    /// Case
    ///     A copy with the same signals; the original is unchanged.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    /// >>> case.observe("summit_held", "2018-06-12")
    /// AppendReport(added=1, unchanged=0)
    /// >>> case.with_model(pf.Model.static()).model.name == pf.Model.static().name
    /// True
    fn with_model(&self, py: Python<'_>, model: &Bound<'_, PyModel>) -> PyResult<PyCase> {
        let m = model.get().inner.clone();
        for s in self.inner.signals() {
            self.inner.check_signal(s, m.as_ref()).py_err(py)?;
        }
        Ok(PyCase {
            inner: self.inner.clone(),
            model: m,
            obs: Default::default(),
        })
    }

    /// A copy with another term end (signals after it are dropped).
    ///
    /// Parameters
    /// ----------
    /// term_end : datetime.date or str
    ///     The new term end.
    ///
    /// Returns
    /// -------
    /// Case
    ///     A copy; the original is unchanged.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    /// >>> case.observe("summit_held", "2018-06-12")
    /// AppendReport(added=1, unchanged=0)
    /// >>> short = case.with_term_end("2018-01-01")
    /// >>> str(short.term_end), len(short), len(case)
    /// ('2018-01-01', 0, 1)
    fn with_term_end(
        &self,
        py: Python<'_>,
        #[gen_stub(override_type(type_repr = "datetime.date | builtins.str | numpy.datetime64", imports = ("datetime", "builtins", "numpy")))]
        term_end: &Bound<'_, PyAny>,
    ) -> PyResult<PyCase> {
        let inner = self
            .inner
            .with_term_end(arg_date(term_end, "term_end")?)
            .py_err(py)?;
        Ok(PyCase {
            inner: Arc::new(inner),
            model: self.model.clone(),
            obs: Default::default(),
        })
    }

    /// A copy of the case.
    ///
    /// Returns
    /// -------
    /// Case
    ///     An equal case; observing on one leaves the other unchanged.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    /// >>> case.observe("summit_held", "2018-06-12")
    /// AppendReport(added=1, unchanged=0)
    /// >>> c = case.copy()
    /// >>> c == case
    /// True
    /// >>> _ = c.observe("talks_refused", "2018-08-01")
    /// >>> len(c), len(case)
    /// (2, 1)
    fn copy(&self) -> PyCase {
        self.clone()
    }

    /// Forecast the outcomes by the term end with the signals dated on or before ``as_of``.
    ///
    /// After the term end the forecast is the distribution resolved at the term end.
    ///
    /// Parameters
    /// ----------
    /// as_of : datetime.date or str, optional
    ///     The as-of date (default: today, in UTC).
    /// draws : int, default 0
    ///     Parameter draws for credible intervals (0: none).
    /// seed : int, default 0
    ///     Seed of the draws.
    /// levels : float or sequence of float, optional
    ///     Levels of the credible intervals (default 0.9).
    /// model : Model, optional
    ///     Another model than the case's own.
    /// progress : bool, optional
    ///     Show a progress bar (default: for large draws only).
    ///
    /// Returns
    /// -------
    /// Forecast
    ///     The outcome probabilities, with intervals when ``draws > 0``.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    /// >>> f = case.forecast(as_of="2018-07-01", draws=200, seed=1)
    /// >>> lo, hi = f.interval(0.9)["deal"]
    /// >>> lo <= hi
    /// True
    #[pyo3(signature = (as_of = None, draws = 0, seed = 0, levels = None, model = None, progress = None))]
    fn forecast(
        &self,
        py: Python<'_>,
        #[gen_stub(override_type(type_repr = "datetime.date | builtins.str | numpy.datetime64 | None", imports = ("datetime", "builtins", "numpy")))]
        as_of: Option<&Bound<'_, PyAny>>,
        draws: usize,
        seed: u64,
        levels: Option<&Bound<'_, PyAny>>,
        model: Option<&Bound<'_, PyModel>>,
        progress: Option<bool>,
    ) -> PyResult<PyForecast> {
        let as_of = self.as_of(as_of)?;
        let levels = levels.map(levels_of).transpose()?.unwrap_or_else(|| vec![0.9]);
        let m = self.pick(model);
        if draws == 0
            && let Some(obs) = self.obs.get(py, &self.inner, &m)
        {
            return Ok(PyForecast::from(
                py.detach(|| m.forecast_observations(&obs, as_of)),
            ));
        }
        forecast_one_drawn(py, &m, &self.inner, as_of, draws, seed, levels, progress)
    }

    /// Outcome probabilities over time, each day forecast with the signals dated up to it.
    ///
    /// Parameters
    /// ----------
    /// start, end : datetime.date or str, optional
    ///     The first and last day (default: the case's start and its term end).
    /// resolution : {"daily", "signal_dates"}, default "daily"
    ///     Every day, or the first day and each day with a signal.
    /// model : Model, optional
    ///     Another model than the case's own.
    ///
    /// Returns
    /// -------
    /// Trajectory
    ///     One point per day.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    /// >>> len(case.trajectory(start="2018-01-01", end="2018-01-31"))
    /// 31
    #[pyo3(signature = (start = None, end = None, resolution = "daily", model = None))]
    fn trajectory(
        &self,
        py: Python<'_>,
        #[gen_stub(override_type(type_repr = "datetime.date | builtins.str | numpy.datetime64 | None", imports = ("datetime", "builtins", "numpy")))]
        start: Option<&Bound<'_, PyAny>>,
        #[gen_stub(override_type(type_repr = "datetime.date | builtins.str | numpy.datetime64 | None", imports = ("datetime", "builtins", "numpy")))]
        end: Option<&Bound<'_, PyAny>>,
        resolution: &str,
        model: Option<&Bound<'_, PyModel>>,
    ) -> PyResult<PyTrajectory> {
        let res = match resolution {
            "daily" => pf_core::Resolution::Daily,
            "signal_dates" => pf_core::Resolution::SignalDates,
            other => {
                return Err(argument_error(
                    py,
                    "resolution",
                    "\"daily\" or \"signal_dates\"",
                    format!("{other:?}"),
                ));
            }
        };
        let (a, b) = (opt_arg_date(start, "start")?, opt_arg_date(end, "end")?);
        let m = self.pick(model);
        let case = &self.inner;
        // Through `run_long` (no bar): Ctrl-C stops a long daily trajectory between checks.
        run_long(py, false, |p| m.trajectory_with(case, a, b, res, p)).map(|inner| PyTrajectory { inner })
    }

    /// What moved the forecast at ``as_of``: attribution and drop-one.
    ///
    /// Each signal's change in date order (the changes add up to the total change from the no-signal baseline),
    /// and the forecast with each signal removed.
    ///
    /// Parameters
    /// ----------
    /// as_of : datetime.date or str, optional
    ///     The as-of date (default: today, in UTC).
    /// model : Model, optional
    ///     Another model than the case's own.
    ///
    /// Returns
    /// -------
    /// Explanation
    ///     The attribution and the drop-one forecasts.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    /// >>> _ = case.observe("summit_held", "2018-06-12")
    /// >>> len(case.explain(as_of="2018-07-01").drop_one)
    /// 1
    #[pyo3(signature = (as_of = None, model = None))]
    fn explain(
        &self,
        py: Python<'_>,
        #[gen_stub(override_type(type_repr = "datetime.date | builtins.str | numpy.datetime64 | None", imports = ("datetime", "builtins", "numpy")))]
        as_of: Option<&Bound<'_, PyAny>>,
        model: Option<&Bound<'_, PyModel>>,
    ) -> PyResult<PyExplanation> {
        let as_of = self.as_of(as_of)?;
        let m = self.pick(model);
        let case = &self.inner;
        let inner = run_long(py, false, |p| -> pf_core::Result<ExplanationData> {
            Ok(ExplanationData {
                attribution: m.attribution_with(case, as_of, p)?,
                drop_one: m.drop_one_with(case, as_of, p)?,
            })
        })?;
        Ok(PyExplanation { inner })
    }

    /// The forecast with hypothetical signals and/or another term end, beside the case's own.
    ///
    /// The case is not changed.
    ///
    /// Parameters
    /// ----------
    /// signals : iterable of Signal or dict, or pandas.DataFrame, optional
    ///     Hypothetical signals to add.
    /// term_end : datetime.date or str, optional
    ///     Another term end.
    /// as_of : datetime.date or str, optional
    ///     The evaluation date (default: today, in UTC).
    /// model : Model, optional
    ///     Another model than the case's own.
    ///
    /// Returns
    /// -------
    /// WhatIf
    ///     The baseline and scenario forecasts and their difference.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    /// >>> w = case.what_if(term_end="2025-01-20", as_of="2018-07-01")
    /// >>> w.scenario.term_end
    /// datetime.date(2025, 1, 20)
    #[pyo3(signature = (signals = None, term_end = None, as_of = None, model = None, *, scenario = None))]
    fn what_if(
        &self,
        py: Python<'_>,
        #[gen_stub(override_type(type_repr = "Scenario | typing.Iterable[Signal | dict[str, typing.Any]] | Signal | dict[str, typing.Any] | pandas.DataFrame | None", imports = ("typing", "pandas")))]
        signals: Option<&Bound<'_, PyAny>>,
        #[gen_stub(override_type(type_repr = "datetime.date | builtins.str | numpy.datetime64 | None", imports = ("datetime", "builtins", "numpy")))]
        term_end: Option<&Bound<'_, PyAny>>,
        #[gen_stub(override_type(type_repr = "datetime.date | builtins.str | numpy.datetime64 | None", imports = ("datetime", "builtins", "numpy")))]
        as_of: Option<&Bound<'_, PyAny>>,
        model: Option<&Bound<'_, PyModel>>,
        scenario: Option<&Bound<'_, PyScenario>>,
    ) -> PyResult<PyWhatIf> {
        let as_of = self.as_of(as_of)?;
        let given = signals.and_then(|s| s.cast::<PyScenario>().ok().cloned());
        if let Some(sc) = scenario.cloned().or(given) {
            if (scenario.is_some() && signals.is_some_and(|s| !s.is_none()))
                || term_end.is_some_and(|t| !t.is_none())
            {
                return Err(argument_error(
                    py,
                    "scenario",
                    "a Scenario alone (its signals and term end are part of it)",
                    "a Scenario with signals or term_end beside it".to_owned(),
                ));
            }
            let m = self.pick(model);
            let v2 = v2_of(py, &m, "a scenario")?;
            let sc = sc.get().inner.clone();
            let baseline =
                crate::scenario::scenario_forecast(py, v2, &self.inner, as_of, &Default::default())?;
            let scen = crate::scenario::scenario_forecast(py, v2, &self.inner, as_of, &sc)?;
            let delta = scen
                .probabilities
                .iter()
                .zip(&baseline.probabilities)
                .map(|(a, b)| a - b)
                .collect();
            return Ok(PyWhatIf {
                inner: pf_core::WhatIfResult {
                    baseline,
                    scenario: scen,
                    delta,
                },
            });
        }
        let signals = crate::scenario::signals_arg(signals)?;
        let question = pf_core::WhatIf {
            signals,
            term_end: opt_arg_date(term_end, "term_end")?,
        };
        let m = self.pick(model);
        let case = &self.inner;
        py.detach(|| m.what_if(case, as_of, &question))
            .py_err(py)
            .map(|inner| PyWhatIf { inner })
    }

    /// Two policies for this case in one call: the forecasts under scenarios ``a`` and ``b`` and ``b - a``.
    ///
    /// Needs a v2 model.
    ///
    /// Parameters
    /// ----------
    /// a, b : Scenario
    ///     The two policies (``pf.Scenario()`` is the default future: no new actions).
    /// as_of : datetime.date or str, optional
    ///     The evaluation date (default: today, in UTC).
    /// model : Model, optional
    ///     Another model than the case's own.
    ///
    /// Returns
    /// -------
    /// PolicyComparison
    ///     Both forecasts and their difference.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> case = pf.datasets.north_korea()
    /// >>> c = case.compare(pf.Scenario("none"), pf.Scenario("sanctions", monthly=["sanctions_tightened"]),
    /// ...                  as_of="2018-10-31")
    /// >>> c.difference["deal"] > 0
    /// True
    #[pyo3(signature = (a, b, as_of = None, model = None))]
    fn compare(
        &self,
        py: Python<'_>,
        a: &Bound<'_, PyScenario>,
        b: &Bound<'_, PyScenario>,
        #[gen_stub(override_type(type_repr = "datetime.date | builtins.str | numpy.datetime64 | None", imports = ("datetime", "builtins", "numpy")))]
        as_of: Option<&Bound<'_, PyAny>>,
        model: Option<&Bound<'_, PyModel>>,
    ) -> PyResult<PyPolicyComparison> {
        let as_of = self.as_of(as_of)?;
        let m = self.pick(model);
        let v2 = v2_of(py, &m, "compare")?;
        crate::scenario::compare(py, v2, &self.inner, as_of, &a.get().inner, &b.get().inner)
    }

    /// Signal types ranked by how much observing each on the day after ``as_of`` would move the forecast.
    ///
    /// An ``as_of`` on or after the term end is moved to the day before it (the one clamp rule of every face).
    ///
    /// Parameters
    /// ----------
    /// as_of : datetime.date or str, optional
    ///     The as-of date (default: today, in UTC).
    /// model : Model, optional
    ///     Another model than the case's own.
    ///
    /// Returns
    /// -------
    /// ValueOfInformation
    ///     The ranked signal types.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    /// >>> case.value_of_information(as_of="2030-01-01").as_of  # clamped: the last day a report can still count
    /// datetime.date(2021, 1, 18)
    #[pyo3(signature = (as_of = None, model = None))]
    fn value_of_information(
        &self,
        py: Python<'_>,
        #[gen_stub(override_type(type_repr = "datetime.date | builtins.str | numpy.datetime64 | None", imports = ("datetime", "builtins", "numpy")))]
        as_of: Option<&Bound<'_, PyAny>>,
        model: Option<&Bound<'_, PyModel>>,
    ) -> PyResult<PyValueOfInformation> {
        let as_of = self.as_of(as_of)?;
        let m = self.pick(model);
        let case = &self.inner;
        run_long(py, false, |p| m.value_of_information_with(case, as_of, p))
            .map(|inner| PyValueOfInformation { inner })
    }

    /// The signals as a DataFrame (one row per signal).
    ///
    /// Returns
    /// -------
    /// pandas.DataFrame
    ///     Columns ``date``, ``type``, ``reliability``, ``weight``, ``source``, ``note``, ``id``.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    /// >>> case.observe("summit_held", "2018-06-12")
    /// AppendReport(added=1, unchanged=0)
    /// >>> df = case.to_pandas()
    /// >>> df.shape, df["type"].tolist()
    /// ((1, 7), ['summit_held'])
    #[gen_stub(override_return_type(type_repr = "pandas.DataFrame", imports = ("pandas")))]
    fn to_pandas<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let signals = slf.borrow().signals();
        helper(
            slf.py(),
            "_frames",
            "signals_frame",
            (PyList::new(slf.py(), signals)?,),
            None,
        )
    }

    /// Plot the case's trajectory with each signal marked (needs matplotlib).
    ///
    /// Parameters
    /// ----------
    /// ax : matplotlib.axes.Axes, optional
    ///     Where to draw; a new figure when None.
    /// model : Model, optional
    ///     Forecast with this model instead of the case's.
    ///
    /// Returns
    /// -------
    /// matplotlib.axes.Axes
    ///     The axes drawn on.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    /// >>> case.observe("summit_held", "2018-06-12")
    /// AppendReport(added=1, unchanged=0)
    /// >>> ax = case.plot()
    /// >>> ax.get_ylabel()
    /// 'probability by the term end'
    #[pyo3(signature = (ax = None, model = None))]
    fn plot<'py>(
        slf: &Bound<'py, Self>,
        ax: Option<&Bound<'py, PyAny>>,
        model: Option<&Bound<'py, PyModel>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let t = slf.borrow().trajectory(py, None, None, "daily", model)?;
        let kw = PyDict::new(py);
        kw.set_item("ax", ax)?;
        kw.set_item("case", slf)?;
        helper(py, "plot", "plot_trajectory", (t,), Some(&kw))
    }

    fn __len__(&self) -> usize {
        self.inner.signals().len()
    }

    fn __repr__(&self) -> String {
        let c = &self.inner;
        format!(
            "Case(id={:?}, sender={:?}, target={:?}, start={}, term_end={}, signals={}, model={:?})",
            c.id,
            c.sender,
            c.target,
            c.start,
            c.term_end,
            c.signals().len(),
            self.model.name()
        )
    }

    /// The case as HTML, for notebooks: its header and its signals.
    ///
    /// Returns
    /// -------
    /// str
    ///     HTML.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    /// >>> case.observe("summit_held", "2018-06-12")
    /// AppendReport(added=1, unchanged=0)
    /// >>> case._repr_html_().startswith("<p><strong>Case demo")
    /// True
    #[gen_stub(override_return_type(type_repr = "builtins.str", imports = ("builtins")))]
    fn _repr_html_<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        helper(slf.py(), "_frames", "case_html", (slf,), None)
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        crate::pickle::reduce(slf)
    }
}

impl crate::pickle::Pickle for PyCase {
    const KIND: &'static str = "Case";
    type State = CaseState;
    fn state(&self) -> CaseState {
        let default = Arc::ptr_eq(&self.model, &crate::default_model());
        CaseState {
            case: (*self.inner).clone(),
            model_toml: (!default).then(|| self.model.to_toml()),
        }
    }
    fn from_state(py: Python<'_>, s: CaseState) -> PyResult<Self> {
        let model = match s.model_toml {
            None => crate::default_model(),
            Some(t) => Arc::new(pf_core::Model::from_toml_str(&t).py_err(py)?),
        };
        Ok(PyCase {
            inner: Arc::new(s.case),
            model,
            obs: Default::default(),
        })
    }
}

/// Equal when the cases are and they are read with the same model.
impl PartialEq for PyCase {
    fn eq(&self, other: &Self) -> bool {
        self.inner == other.inner && self.model.to_spec() == other.model.to_spec()
    }
}
