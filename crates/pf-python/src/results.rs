//! Result classes: thin, frozen wrappers of the engine's serde types. Each has `to_json()` / `from_json()`
//! (the engine's JSON form), pickling through serde, `__repr__`, `_repr_html_` and `to_pandas()` (the pandas
//! and HTML work is done by the pure-Python module `pressure_forecast._frames`).

use std::sync::Arc;

use chrono::NaiveDate;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple, PyType};
use pyo3_stub_gen::derive::*;
use serde::{Deserialize, Serialize};

use crate::convert::{from_py_json, helper, json_to_py, named, np_array2, py_dates};

pub(crate) fn ser_err(e: serde_json::Error) -> PyErr {
    crate::errors::PressureForecastError::new_err(e.to_string())
}

/// Outcome probabilities by the term end at an as-of date, with credible intervals when draws were made.
///
/// Returned by ``Case.forecast`` and ``forecast_many``; indexable by outcome.
///
/// Examples
/// --------
/// >>> import pressure_forecast as pf
/// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
/// >>> case.observe("summit_held", "2018-06-12")
/// AppendReport(added=1, unchanged=0)
/// >>> f = case.forecast(as_of="2018-07-01")
/// >>> f.outcomes
/// ['deal', 'stalemate', 'wait_out']
/// >>> abs(sum(f.probabilities.values()) - 1.0) < 1e-12
/// True
/// >>> f["deal"] == f.probabilities["deal"]
/// True
#[gen_stub_pyclass]
#[pyclass(module = "pressure_forecast._native", name = "Forecast", frozen, eq)]
#[derive(Clone)]
pub struct PyForecast {
    /// The engine's forecast.
    pub inner: pf_core::Forecast,
    /// The raw forecasts of the parameter draws (row `i` is draw `i`, columns in the order of the outcomes),
    /// kept when the forecast was made here with draws; None otherwise (no draws, or read from JSON without them).
    pub draws: Option<Arc<Vec<Vec<f64>>>>,
}

/// Equal when the engine's forecasts are: the raw draws are the detail behind the intervals, which carry their
/// seed and count (a forecast read back from JSON without its draws equals the one it was written from).
impl PartialEq for PyForecast {
    fn eq(&self, other: &Self) -> bool {
        self.inner == other.inner
    }
}

impl From<pf_core::Forecast> for PyForecast {
    fn from(inner: pf_core::Forecast) -> Self {
        Self { inner, draws: None }
    }
}

/// A forecast with credible intervals from parameter draws, keeping the draws: the same numbers as
/// `Model::forecast_with_intervals` (the point forecast, then `draw_forecasts` summarised).
///
/// # Errors
/// As [`pf_core::Model::forecast_with_intervals`].
pub fn forecast_drawn(
    model: &pf_core::Model,
    case: &pf_core::Case,
    as_of: NaiveDate,
    opts: &pf_core::DrawOptions,
    progress: &dyn pf_core::Progress,
) -> pf_core::Result<PyForecast> {
    let mut inner = model.forecast(case, as_of)?;
    let draws = model.draw_forecasts(case, as_of, opts, progress)?;
    inner.intervals = Some(pf_core::uncertainty::summarise(&draws, opts));
    Ok(PyForecast {
        inner,
        draws: Some(Arc::new(draws)),
    })
}

/// The pickled state of a Forecast: the engine's forecast and, when kept, its raw draws (an older pickle, the
/// bare forecast, reads with none).
#[derive(Serialize, Deserialize)]
pub struct ForecastState {
    #[serde(flatten)]
    inner: pf_core::Forecast,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    draws: Option<Vec<Vec<f64>>>,
}

impl crate::pickle::Pickle for PyForecast {
    const KIND: &'static str = "Forecast";
    type State = ForecastState;
    fn state(&self) -> ForecastState {
        ForecastState {
            inner: self.inner.clone(),
            draws: self.draws.as_ref().map(|d| d.as_ref().clone()),
        }
    }
    fn from_state(_py: Python<'_>, s: ForecastState) -> PyResult<Self> {
        Ok(Self {
            inner: s.inner,
            draws: s.draws.map(Arc::new),
        })
    }
}

#[gen_stub_pymethods]
#[pymethods]
impl PyForecast {
    /// The case's id.
    ///
    /// Returns
    /// -------
    /// str
    #[getter]
    fn case(&self) -> &str {
        &self.inner.case
    }
    /// Only signals dated on or before this day were used.
    ///
    /// Returns
    /// -------
    /// datetime.date
    #[getter]
    fn as_of(&self) -> NaiveDate {
        self.inner.as_of
    }
    /// The term end the forecast is for.
    ///
    /// Returns
    /// -------
    /// datetime.date
    #[getter]
    fn term_end(&self) -> NaiveDate {
        self.inner.term_end
    }
    /// Outcome names, in model order.
    ///
    /// Returns
    /// -------
    /// list[str]
    #[getter]
    fn outcomes(&self) -> Vec<String> {
        self.inner.outcomes.clone()
    }
    /// `{outcome: probability}`.
    ///
    /// Returns
    /// -------
    /// dict[str, float]
    #[getter]
    fn probabilities<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        named(py, &self.inner.outcomes, &self.inner.probabilities)
    }
    /// Regime names, in model order.
    ///
    /// Returns
    /// -------
    /// list[str]
    #[getter]
    fn regimes(&self) -> Vec<String> {
        self.inner.regimes.clone()
    }
    /// `{regime: probability}`: the filtered regime distribution on the as-of date.
    ///
    /// Returns
    /// -------
    /// dict[str, float]
    #[getter]
    fn regime_probabilities<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        named(py, &self.inner.regimes, &self.inner.regime_probabilities)
    }
    /// Log-likelihood of the signals used.
    ///
    /// Returns
    /// -------
    /// float
    #[getter]
    fn log_likelihood(&self) -> f64 {
        self.inner.log_likelihood
    }
    /// Number of signals used.
    ///
    /// Returns
    /// -------
    /// int
    #[getter]
    fn signals_used(&self) -> usize {
        self.inner.signals_used
    }
    /// The most probable outcome.
    ///
    /// Returns
    /// -------
    /// str
    #[getter]
    fn most_likely(&self) -> String {
        let i = (0..self.inner.probabilities.len())
            .max_by(|&a, &b| self.inner.probabilities[a].total_cmp(&self.inner.probabilities[b]))
            .unwrap_or(0);
        self.inner.outcomes.get(i).cloned().unwrap_or_default()
    }
    /// Credible intervals from parameter draws, or None when no draws were made: the engine's serde form
    /// `{draws, seed, mean, sd, intervals: [{level, lower, upper}]}`, each vector in the order of `outcomes`.
    ///
    /// Returns
    /// -------
    /// dict[str, Any] or None
    #[getter]
    fn intervals<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match &self.inner.intervals {
            None => Ok(py.None().into_bound(py)),
            Some(iv) => json_to_py(py, &iv.to_json(&self.inner.outcomes)),
        }
    }
    /// The credible interval at ``level`` for each outcome.
    ///
    /// Parameters
    /// ----------
    /// level : float, default 0.9
    ///     One of the levels drawn.
    ///
    /// Returns
    /// -------
    /// dict of str to (float, float)
    ///     ``{outcome: (lower, upper)}``.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    /// >>> f = case.forecast(as_of="2018-07-01", draws=100, seed=2, levels=(0.5, 0.9))
    /// >>> lo, hi = f.interval(0.5)["stalemate"]
    /// >>> 0 <= lo <= hi <= 1
    /// True
    #[pyo3(signature = (level = 0.9))]
    fn interval<'py>(&self, py: Python<'py>, level: f64) -> PyResult<Bound<'py, PyDict>> {
        let Some(iv) = &self.inner.intervals else {
            return Err(crate::errors::argument_error(
                py,
                "level",
                "a forecast made with draws > 0 (this one has no intervals)",
                "no draws".into(),
            ));
        };
        let Some(i) = iv.intervals.iter().find(|i| (i.level - level).abs() < 1e-12) else {
            let have: Vec<String> = iv.intervals.iter().map(|i| i.level.to_string()).collect();
            return Err(crate::errors::argument_error(
                py,
                "level",
                &format!("one of the levels drawn: {}", have.join(", ")),
                level.to_string(),
            ));
        };
        let d = PyDict::new(py);
        for (o, n) in self.inner.outcomes.iter().enumerate() {
            d.set_item(n, (i.lower[o], i.upper[o]))?;
        }
        Ok(d)
    }

    /// The raw forecasts of the parameter draws, a numpy array of shape (draws, outcomes) (row ``i`` is draw
    /// ``i``, columns in the order of ``outcomes``), or None when the forecast was made without draws (or read
    /// back from JSON, or received from the service, without them).
    ///
    /// Their mean, sd and quantiles are ``intervals``; ``summary()`` adds highest-density intervals and
    /// ``to_arviz()`` gives an ArviZ ``InferenceData``.
    ///
    /// Returns
    /// -------
    /// numpy.ndarray or None
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    /// >>> f = case.forecast(as_of="2018-07-01", draws=200, seed=1)
    /// >>> f.draws.shape
    /// (200, 3)
    /// >>> abs(f.draws.mean(axis=0)[0] - f.intervals["mean"][0]) < 1e-12
    /// True
    /// >>> case.forecast(as_of="2018-07-01").draws is None
    /// True
    #[getter]
    #[gen_stub(override_return_type(type_repr = "numpy.typing.NDArray[numpy.float64] | None", imports = ("numpy", "numpy.typing")))]
    fn draws<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match &self.draws {
            None => Ok(py.None().into_bound(py)),
            Some(d) => {
                let flat: Vec<f64> = d.iter().flatten().copied().collect();
                np_array2(py, &flat, self.inner.outcomes.len())
            }
        }
    }

    /// Posterior summary of each outcome's probability over the parameter draws, in ArviZ's conventions.
    ///
    /// Columns ``mean``, ``sd``, then for each level ``hdi_<a>%`` / ``hdi_<b>%`` (highest-density interval, when
    /// the raw draws are kept) and ``eti_<a>%`` / ``eti_<b>%`` (equal-tailed interval), as ``arviz.summary``
    /// names them (``hdi_5%``, ``hdi_95%`` for a 90% interval).
    ///
    /// Parameters
    /// ----------
    /// levels : float or sequence of float, optional
    ///     Interval levels; by default those the forecast was made with. Other levels need the raw draws.
    /// hdi : bool, default True
    ///     Add the HDI columns (needs the raw draws; left out without them).
    ///
    /// Returns
    /// -------
    /// pandas.DataFrame
    ///     Indexed by ``outcome``.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    /// >>> f = case.forecast(as_of="2018-07-01", draws=200, seed=1)
    /// >>> list(f.summary().columns)
    /// ['mean', 'sd', 'hdi_5%', 'hdi_95%', 'eti_5%', 'eti_95%']
    #[pyo3(signature = (levels = None, hdi = true))]
    #[gen_stub(override_return_type(type_repr = "pandas.DataFrame", imports = ("pandas")))]
    fn summary<'py>(
        slf: &Bound<'py, Self>,
        #[gen_stub(override_type(type_repr = "builtins.float | collections.abc.Sequence[builtins.float] | None", imports = ("builtins", "collections.abc")))]
        levels: Option<&Bound<'py, PyAny>>,
        hdi: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let kw = PyDict::new(slf.py());
        kw.set_item("levels", levels)?;
        kw.set_item("hdi", hdi)?;
        helper(slf.py(), "_uncertainty", "forecast_summary", (slf,), Some(&kw))
    }

    /// The parameter draws as an ArviZ ``InferenceData`` (needs ``pip install "pressure_forecast[arviz]"``).
    ///
    /// One posterior variable, ``probability``, with dimensions ``chain`` (one), ``draw`` and ``outcome``, so
    /// that ``arviz.summary``, ``arviz.plot_posterior`` and the rest work on it.
    ///
    /// Returns
    /// -------
    /// arviz.InferenceData
    ///
    /// Raises
    /// ------
    /// ImportError
    ///     When arviz is not installed (the message names the extra).
    /// ArgumentError
    ///     When the forecast has no raw draws.
    #[gen_stub(override_return_type(type_repr = "typing.Any", imports = ("typing")))]
    fn to_arviz<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        helper(slf.py(), "_uncertainty", "forecast_to_arviz", (slf,), None)
    }

    fn __getitem__(&self, py: Python<'_>, outcome: &str) -> PyResult<f64> {
        self.inner.probability(outcome).ok_or_else(|| {
            crate::errors::to_py(
                py,
                pf_core::Error::UnknownOutcome {
                    name: outcome.into(),
                    valid: self.inner.outcomes.clone(),
                },
            )
        })
    }

    fn __len__(&self) -> usize {
        self.inner.outcomes.len()
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        PyList::new(py, &self.inner.outcomes)?
            .try_iter()
            .map(Bound::into_any)
    }

    /// The forecast as a dict in the engine's JSON form (the CLI's `--json`).
    ///
    /// Returns
    /// -------
    /// dict
    ///     ``case``, ``as_of``, ``term_end``, ``{outcome: probability}`` maps and the intervals; ``Forecast.from_json`` reads it back.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    /// >>> case.observe("summit_held", "2018-06-12")
    /// AppendReport(added=1, unchanged=0)
    /// >>> f = case.forecast(as_of="2018-07-01")
    /// >>> d = f.to_json()
    /// >>> d["case"], d["as_of"]
    /// ('demo', '2018-07-01')
    #[gen_stub(override_return_type(type_repr = "dict[str, typing.Any]", imports = ("typing")))]
    fn to_json<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.inner.to_json())
    }

    /// Build a forecast from the engine's JSON form (a dict or a JSON string), as `to_json` writes it.
    ///
    /// Parameters
    /// ----------
    /// obj : dict or str
    ///     The forecast's JSON form.
    ///
    /// Returns
    /// -------
    /// Forecast
    ///     An equal forecast.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    /// >>> case.observe("summit_held", "2018-06-12")
    /// AppendReport(added=1, unchanged=0)
    /// >>> f = case.forecast(as_of="2018-07-01")
    /// >>> pf.Forecast.from_json(f.to_json()) == f
    /// True
    /// >>> import json
    /// >>> pf.Forecast.from_json(json.dumps(f.to_json())) == f
    /// True
    #[classmethod]
    fn from_json(_cls: &Bound<'_, PyType>, obj: &Bound<'_, PyAny>) -> PyResult<PyForecast> {
        from_py_json::<pf_core::Forecast>(obj, "a Forecast").map(PyForecast::from)
    }

    /// One row per outcome: probability, and with draws mean, sd and the equal-tailed interval bounds.
    ///
    /// Parameters
    /// ----------
    /// long : bool, default False
    ///     The tidy form: one row per outcome and statistic (columns ``case``, ``as_of``, ``outcome``,
    ///     ``statistic``, ``value``).
    ///
    /// Returns
    /// -------
    /// pandas.DataFrame
    ///     Indexed by ``outcome``; with draws also ``mean``, ``sd`` and ``eti_<a>%`` / ``eti_<b>%`` per level (ArviZ's
    ///     names: ``eti_5%``, ``eti_95%`` for 90%).
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    /// >>> case.observe("summit_held", "2018-06-12")
    /// AppendReport(added=1, unchanged=0)
    /// >>> df = case.forecast(as_of="2018-07-01", draws=50, seed=1, levels=0.9).to_pandas()
    /// >>> df.index.tolist(), list(df.columns)
    /// (['deal', 'stalemate', 'wait_out'], ['probability', 'mean', 'sd', 'eti_5%', 'eti_95%'])
    #[pyo3(signature = (long = false))]
    #[gen_stub(override_return_type(type_repr = "pandas.DataFrame", imports = ("pandas")))]
    fn to_pandas<'py>(slf: &Bound<'py, Self>, long: bool) -> PyResult<Bound<'py, PyAny>> {
        let kw = PyDict::new(slf.py());
        kw.set_item("long", long)?;
        helper(slf.py(), "_frames", "forecast_frame", (slf,), Some(&kw))
    }

    /// A bar chart of the outcome probabilities with their intervals (needs matplotlib).
    ///
    /// Parameters
    /// ----------
    /// ax : matplotlib.axes.Axes, optional
    ///     Where to draw; a new figure when None.
    /// case : Case, optional
    ///     The case, for a title with the countries' names.
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
    /// >>> f = case.forecast(as_of="2018-07-01")
    /// >>> ax = f.plot()
    /// >>> type(ax).__name__
    /// 'Axes'
    #[pyo3(signature = (ax = None, case = None))]
    fn plot<'py>(
        slf: &Bound<'py, Self>,
        ax: Option<&Bound<'py, PyAny>>,
        case: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let kw = PyDict::new(slf.py());
        kw.set_item("ax", ax)?;
        kw.set_item("case", case)?;
        helper(slf.py(), "plot", "plot_forecast", (slf,), Some(&kw))
    }

    /// The forecast as HTML, for notebooks: a title and the table of ``to_pandas``.
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
    /// >>> f = case.forecast(as_of="2018-07-01")
    /// >>> f._repr_html_().startswith("<p><strong>Forecast for demo as of 2018-07-01")
    /// True
    #[gen_stub(override_return_type(type_repr = "builtins.str", imports = ("builtins")))]
    fn _repr_html_<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        helper(slf.py(), "_frames", "forecast_html", (slf,), None)
    }

    fn __repr__(&self) -> String {
        let f = &self.inner;
        let probs: Vec<String> = f
            .outcomes
            .iter()
            .zip(&f.probabilities)
            .map(|(o, p)| format!("{o}={p:.3}"))
            .collect();
        let draws = f
            .intervals
            .as_ref()
            .map_or(String::new(), |i| format!(", draws={}", i.draws));
        format!(
            "Forecast(case={:?}, as_of={}, term_end={}, {}, signals_used={}{})",
            f.case,
            f.as_of,
            f.term_end,
            probs.join(", "),
            f.signals_used,
            draws
        )
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        crate::pickle::reduce(slf)
    }
}

/// Outcome probabilities over time, each day forecast with the signals dated up to that day.
///
/// Returned by ``Case.trajectory``; ``probabilities`` is a numpy array of shape (days, outcomes).
///
/// Examples
/// --------
/// >>> import pressure_forecast as pf
/// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
/// >>> case.observe("summit_held", "2018-06-12")
/// AppendReport(added=1, unchanged=0)
/// >>> t = case.trajectory(start="2018-06-01", end="2018-06-30")
/// >>> len(t), t.probabilities.shape
/// (30, (30, 3))
#[gen_stub_pyclass]
#[pyclass(module = "pressure_forecast._native", name = "Trajectory", frozen, eq)]
#[derive(Clone, PartialEq)]
pub struct PyTrajectory {
    /// The engine's trajectory.
    pub inner: pf_core::Trajectory,
}

#[gen_stub_pymethods]
#[pymethods]
impl PyTrajectory {
    /// The case's id.
    ///
    /// Returns
    /// -------
    /// str
    #[getter]
    fn case(&self) -> &str {
        &self.inner.case
    }
    /// The term end.
    ///
    /// Returns
    /// -------
    /// datetime.date
    #[getter]
    fn term_end(&self) -> NaiveDate {
        self.inner.term_end
    }
    /// Outcome names.
    ///
    /// Returns
    /// -------
    /// list[str]
    #[getter]
    fn outcomes(&self) -> Vec<String> {
        self.inner.outcomes.clone()
    }
    /// Regime names.
    ///
    /// Returns
    /// -------
    /// list[str]
    #[getter]
    fn regimes(&self) -> Vec<String> {
        self.inner.regimes.clone()
    }
    /// The days (`datetime.date`).
    ///
    /// Returns
    /// -------
    /// list[datetime.date]
    #[getter]
    fn dates<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        py_dates(py, self.inner.points.iter().map(|p| p.date))
    }
    /// Outcome probabilities, a numpy array of shape (days, outcomes).
    ///
    /// Returns
    /// -------
    /// numpy.ndarray
    #[getter]
    fn probabilities<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let flat: Vec<f64> = self
            .inner
            .points
            .iter()
            .flat_map(|p| p.probabilities.iter().copied())
            .collect();
        np_array2(py, &flat, self.inner.outcomes.len())
    }
    /// Filtered regime probabilities, a numpy array of shape (days, regimes).
    ///
    /// Returns
    /// -------
    /// numpy.ndarray
    #[getter]
    fn regime_probabilities<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let flat: Vec<f64> = self
            .inner
            .points
            .iter()
            .flat_map(|p| p.regime_probabilities.iter().copied())
            .collect();
        np_array2(py, &flat, self.inner.regimes.len())
    }
    /// Signals used up to each day.
    ///
    /// Returns
    /// -------
    /// list[int]
    #[getter]
    fn signals_used(&self) -> Vec<usize> {
        self.inner.points.iter().map(|p| p.signals_used).collect()
    }
    /// Types of the signals dated on each day.
    ///
    /// Returns
    /// -------
    /// list[list[str]]
    #[getter]
    fn signal_types(&self) -> Vec<Vec<String>> {
        self.inner.points.iter().map(|p| p.signal_types.clone()).collect()
    }

    fn __len__(&self) -> usize {
        self.inner.points.len()
    }

    /// The trajectory as a dict in the engine's JSON form.
    ///
    /// Returns
    /// -------
    /// dict
    ///     ``case``, ``term_end``, the names and one point per day; ``Trajectory.from_json`` reads it back.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    /// >>> case.observe("summit_held", "2018-06-12")
    /// AppendReport(added=1, unchanged=0)
    /// >>> t = case.trajectory(start="2018-06-01", end="2018-06-30")
    /// >>> d = t.to_json()
    /// >>> d["case"], d["term_end"]
    /// ('demo', '2021-01-20')
    #[gen_stub(override_return_type(type_repr = "dict[str, typing.Any]", imports = ("typing")))]
    fn to_json<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.inner.to_json())
    }

    /// Build a trajectory from the engine's JSON form (a dict or a JSON string), as `to_json` writes it.
    ///
    /// Parameters
    /// ----------
    /// obj : dict or str
    ///     The trajectory's JSON form.
    ///
    /// Returns
    /// -------
    /// Trajectory
    ///     An equal trajectory.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    /// >>> case.observe("summit_held", "2018-06-12")
    /// AppendReport(added=1, unchanged=0)
    /// >>> t = case.trajectory(start="2018-06-01", end="2018-06-30")
    /// >>> pf.Trajectory.from_json(t.to_json()) == t
    /// True
    #[classmethod]
    fn from_json(_cls: &Bound<'_, PyType>, obj: &Bound<'_, PyAny>) -> PyResult<PyTrajectory> {
        from_py_json(obj, "a Trajectory").map(|inner| PyTrajectory { inner })
    }

    /// One row per day (a DatetimeIndex): a column per outcome, `signals_used`, `signal_types` (the day's signal types joined by ", "); with `regimes=True` also a column per regime (`regime:<name>`).
    ///
    /// Parameters
    /// ----------
    /// regimes : bool, default False
    ///     Add the filtered regime probabilities, a column per regime.
    /// long : bool, default False
    ///     The tidy form: one row per day and outcome (columns ``date``, ``outcome``, ``probability``; with
    ///     ``regimes=True`` the regimes follow as rows whose ``outcome`` is ``regime:<name>``).
    ///
    /// Returns
    /// -------
    /// pandas.DataFrame
    ///     Indexed by ``date``.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    /// >>> case.observe("summit_held", "2018-06-12")
    /// AppendReport(added=1, unchanged=0)
    /// >>> t = case.trajectory(start="2018-06-01", end="2018-06-30")
    /// >>> df = t.to_pandas()
    /// >>> df.shape, list(df.columns)
    /// ((30, 5), ['deal', 'stalemate', 'wait_out', 'signals_used', 'signal_types'])
    /// >>> t.to_pandas(regimes=True).shape[1] == 5 + len(t.regimes)
    /// True
    #[pyo3(signature = (regimes = false, long = false))]
    #[gen_stub(override_return_type(type_repr = "pandas.DataFrame", imports = ("pandas")))]
    fn to_pandas<'py>(slf: &Bound<'py, Self>, regimes: bool, long: bool) -> PyResult<Bound<'py, PyAny>> {
        let kw = PyDict::new(slf.py());
        kw.set_item("regimes", regimes)?;
        kw.set_item("long", long)?;
        helper(slf.py(), "_frames", "trajectory_frame", (slf,), Some(&kw))
    }

    /// Plot the outcome probabilities over time: credible bands, every signal a tick, the largest named (needs matplotlib).
    ///
    /// See ``pressure_forecast.plot.plot_trajectory``.
    ///
    /// Parameters
    /// ----------
    /// ax : matplotlib.axes.Axes, optional
    ///     Where to draw; a new figure when None.
    /// case : Case, optional
    ///     The case the trajectory is of: with it, the credible bands, the signals' attribution and a title with the countries' names.
    /// draws : int, default 200
    ///     Parameter draws per band date (0: no band).
    /// level : float, default 0.9
    ///     The band's probability.
    /// label_top : int, default 5
    ///     How many signals are named (those that moved the forecast most).
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
    /// >>> t = case.trajectory(start="2018-06-01", end="2018-06-30")
    /// >>> ax = t.plot(case=case)
    /// >>> ax.get_ylabel()
    /// 'probability by the term end'
    #[pyo3(signature = (ax = None, case = None, *, draws = 200, level = 0.9, label_top = 5))]
    fn plot<'py>(
        slf: &Bound<'py, Self>,
        ax: Option<&Bound<'py, PyAny>>,
        case: Option<&Bound<'py, PyAny>>,
        draws: usize,
        level: f64,
        label_top: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        let kw = PyDict::new(slf.py());
        kw.set_item("ax", ax)?;
        kw.set_item("case", case)?;
        kw.set_item("draws", draws)?;
        kw.set_item("level", level)?;
        kw.set_item("label_top", label_top)?;
        helper(slf.py(), "plot", "plot_trajectory", (slf,), Some(&kw))
    }

    /// The trajectory as HTML, for notebooks: the days with signals (every day when none has).
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
    /// >>> t = case.trajectory(start="2018-06-01", end="2018-06-30")
    /// >>> t._repr_html_().startswith("<p><strong>Trajectory of demo: 30 days")
    /// True
    #[gen_stub(override_return_type(type_repr = "builtins.str", imports = ("builtins")))]
    fn _repr_html_<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        helper(slf.py(), "_frames", "trajectory_html", (slf,), None)
    }

    fn __repr__(&self) -> String {
        let t = &self.inner;
        let span = match (t.points.first(), t.points.last()) {
            (Some(a), Some(b)) => format!("{} to {}", a.date, b.date),
            _ => "empty".into(),
        };
        let last = t.points.last().map_or(String::new(), |p| {
            let v: Vec<String> = t
                .outcomes
                .iter()
                .zip(&p.probabilities)
                .map(|(o, x)| format!("{o}={x:.3}"))
                .collect();
            format!(", last: {}", v.join(", "))
        });
        format!(
            "Trajectory(case={:?}, {} points, {}{})",
            t.case,
            t.points.len(),
            span,
            last
        )
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        crate::pickle::reduce(slf)
    }
}

/// What an append did: signals added, and repeats of stored ids left unchanged.
///
/// Examples
/// --------
/// >>> import pressure_forecast as pf
/// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
/// >>> case.observe("summit_held", "2018-06-12")
/// AppendReport(added=1, unchanged=0)
/// >>> r = case.observe("talks_refused", "2018-08-01")
/// >>> r.added, r.unchanged
/// (1, 0)
#[gen_stub_pyclass]
#[pyclass(
    module = "pressure_forecast._native",
    name = "AppendReport",
    frozen,
    eq,
    hash,
    get_all
)]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PyAppendReport {
    /// Signals stored.
    ///
    /// Returns
    /// -------
    /// int
    pub added: usize,
    /// Signals whose id was already present with the same content.
    ///
    /// Returns
    /// -------
    /// int
    pub unchanged: usize,
}

#[gen_stub_pymethods]
#[pymethods]
impl PyAppendReport {
    fn __repr__(&self) -> String {
        format!("AppendReport(added={}, unchanged={})", self.added, self.unchanged)
    }
}

/// Generates a frozen result class around a serde type of the engine: `to_json`, `from_json`, `to_pandas`,
/// `_repr_html_`, `__repr__`, `__eq__` and pickling, plus the given methods.
macro_rules! serde_result {
    ($(#[$doc:meta])* $py:ident, $core:ty, $name:literal, { $($extra:tt)* }) => {
        $(#[$doc])*
        #[gen_stub_pyclass]
        #[pyclass(module = "pressure_forecast._native", name = $name, frozen, eq)]
        #[derive(Clone)]
        pub struct $py {
            /// The engine's result.
            pub inner: $core,
        }

        /// Equal when their JSON forms are (so that NaN in empty bins compares equal).
        impl PartialEq for $py {
            fn eq(&self, other: &Self) -> bool {
                serde_json::to_value(&self.inner).ok() == serde_json::to_value(&other.inner).ok()
            }
        }

        #[gen_stub_pymethods]

        #[pymethods]
        impl $py {
            /// The result as a dict (the engine's JSON form).
            ///
            /// Shown for an Explanation; WhatIf, ValueOfInformation and BacktestReport have the same method.
            ///
            /// Returns
            /// -------
            /// dict
            ///     The result; ``from_json`` of the same class reads it back.
            ///
            /// Examples
            /// --------
            /// >>> import pressure_forecast as pf
            /// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
            /// >>> case.observe("summit_held", "2018-06-12")
            /// AppendReport(added=1, unchanged=0)
            /// >>> r = case.explain(as_of="2018-07-01")
            /// >>> d = r.to_json()
            /// >>> d["case"], d["as_of"]
            /// ('demo', '2018-07-01')
            #[gen_stub(override_return_type(type_repr = "dict[str, typing.Any]", imports = ("typing")))]
            fn to_json<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                $crate::convert::json_to_py(py, &serde_json::to_value(&self.inner).map_err($crate::results::ser_err)?)
            }

            /// Build from the engine's JSON form (a dict or a JSON string).
            ///
            /// Shown for an Explanation; WhatIf, ValueOfInformation and BacktestReport have the same method.
            ///
            /// Parameters
            /// ----------
            /// obj : dict or str
            ///     The form ``to_json`` writes.
            ///
            /// Returns
            /// -------
            /// same class as the result
            ///     An equal result.
            ///
            /// Examples
            /// --------
            /// >>> import pressure_forecast as pf
            /// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
            /// >>> case.observe("summit_held", "2018-06-12")
            /// AppendReport(added=1, unchanged=0)
            /// >>> r = case.explain(as_of="2018-07-01")
            /// >>> type(r).from_json(r.to_json()) == r
            /// True
            #[classmethod]
            fn from_json(_cls: &Bound<'_, pyo3::types::PyType>, obj: &Bound<'_, PyAny>) -> PyResult<Self> {
                $crate::convert::from_py_json(obj, concat!("a ", $name)).map(|inner| Self { inner })
            }

            /// The result as a pandas DataFrame.
            ///
            /// Shown for an Explanation; WhatIf, ValueOfInformation and BacktestReport have the same method.
            ///
            /// Parameters
            /// ----------
            /// long : bool, default False
            ///     The tidy form: one row per outcome and item (signal, forecast, signal type) or per forecaster and score, with the measures as columns.
            ///
            /// Returns
            /// -------
            /// pandas.DataFrame
            ///     Explanation: one row per signal, indexed by its date; WhatIf: one per outcome; ValueOfInformation: one per signal type; BacktestReport: one per forecaster (model and baselines).
            ///
            /// Examples
            /// --------
            /// >>> import pressure_forecast as pf
            /// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
            /// >>> case.observe("summit_held", "2018-06-12")
            /// AppendReport(added=1, unchanged=0)
            /// >>> r = case.explain(as_of="2018-07-01")
            /// >>> df = r.to_pandas()
            /// >>> len(df), df["type"].tolist()
            /// (1, ['summit_held'])
            #[pyo3(signature = (long = false))]
            #[gen_stub(override_return_type(type_repr = "pandas.DataFrame", imports = ("pandas")))]
            fn to_pandas<'py>(slf: &Bound<'py, Self>, long: bool) -> PyResult<Bound<'py, PyAny>> {
                let kw = pyo3::types::PyDict::new(slf.py());
                kw.set_item("long", long)?;
                $crate::convert::helper(slf.py(), "_frames", "to_pandas", (slf,), Some(&kw))
            }

            /// The result as HTML, for notebooks: its repr and the table of ``to_pandas``.
            ///
            /// Shown for an Explanation; WhatIf, ValueOfInformation and BacktestReport have the same method.
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
            /// >>> r = case.explain(as_of="2018-07-01")
            /// >>> r._repr_html_().startswith("<p><strong>Explanation(case=&#x27;demo&#x27;")
            /// True
            #[gen_stub(override_return_type(type_repr = "builtins.str", imports = ("builtins")))]
            fn _repr_html_<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
                $crate::convert::helper(slf.py(), "_frames", "result_html", (slf,), None)
            }

            #[gen_stub(override_return_type(type_repr = "builtins.str", imports = ("builtins")))]
            fn __repr__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
                $crate::convert::helper(slf.py(), "_frames", "result_repr", (slf,), None)
            }

            fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, pyo3::types::PyTuple>)> {
                $crate::pickle::reduce(slf)
            }

            $($extra)*
        }

        $crate::pickle::pickle_inner!($py, $core, $name);
    };
}
pub(crate) use serde_result;

/// An explanation of a forecast: attribution (each signal's change, in date order) and drop-one. Its JSON form
/// is the CLI's `explain --drop-one --json`: the attribution's fields and `drop_one`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExplanationData {
    /// Each signal's contribution; they add up to `total - baseline`.
    #[serde(flatten)]
    pub attribution: pf_core::explain::Attribution,
    /// The forecast with each signal removed.
    #[serde(default)]
    pub drop_one: Vec<pf_core::explain::DropOne>,
}

serde_result!(
    /// What moved a forecast: each signal's change to every outcome's probability and the forecast without it.
    ///
    /// The attribution adds up to ``total - baseline``; ``drop_one`` is the forecast with each signal removed.
    /// Returned by ``Case.explain``.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    /// >>> case.observe("summit_held", "2018-06-12")
    /// AppendReport(added=1, unchanged=0)
    /// >>> e = case.explain(as_of="2018-07-01")
    /// >>> e.outcomes == case.forecast(as_of="2018-07-01").outcomes
    /// True
    /// >>> len(e.contributions)
    /// 1
    PyExplanation, ExplanationData, "Explanation", {
        /// The case's id.
        ///
        /// Returns
        /// -------
        /// str
        #[getter]
        fn case(&self) -> &str { &self.inner.attribution.case }
        /// The as-of date.
        ///
        /// Returns
        /// -------
        /// datetime.date
        #[getter]
        fn as_of(&self) -> NaiveDate { self.inner.attribution.as_of }
        /// Outcome names.
        ///
        /// Returns
        /// -------
        /// list[str]
        #[getter]
        fn outcomes(&self) -> Vec<String> { self.inner.attribution.outcomes.clone() }
        /// `{outcome: p}` with no signals.
        ///
        /// Returns
        /// -------
        /// dict[str, float]
        #[getter]
        fn baseline<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> { named(py, &self.inner.attribution.outcomes, &self.inner.attribution.baseline) }
        /// `{outcome: p}` with every signal up to the as-of date.
        ///
        /// Returns
        /// -------
        /// dict[str, float]
        #[getter]
        fn total<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> { named(py, &self.inner.attribution.outcomes, &self.inner.attribution.total) }
        /// Per-signal contributions (dicts in the engine's JSON form).
        ///
        /// Returns
        /// -------
        /// list[dict[str, Any]]
        #[getter]
        fn contributions<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            json_to_py(py, &serde_json::to_value(&self.inner.attribution.contributions).map_err(ser_err)?)
        }
        /// Drop-one forecasts (dicts in the engine's JSON form).
        ///
        /// Returns
        /// -------
        /// list[dict[str, Any]]
        #[getter]
        fn drop_one<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            json_to_py(py, &serde_json::to_value(&self.inner.drop_one).map_err(ser_err)?)
        }
        /// The attribution waterfall: from the baseline, each signal's change to one outcome, with its value (needs matplotlib).
        ///
        /// Parameters
        /// ----------
        /// outcome : str, optional
        ///     The outcome shown; by default the one that moved most.
        /// ax : matplotlib.axes.Axes, optional
        ///     Where to draw; a new figure when None.
        /// top : int, default 12
        ///     How many signals get their own bar (the rest pooled as "other signals").
        /// case : Case, optional
        ///     The case, for a title with the countries' names.
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
        /// >>> r = case.explain(as_of="2018-07-01")
        /// >>> ax = r.plot(outcome="deal")
        /// >>> type(ax).__name__
        /// 'Axes'
        #[pyo3(signature = (outcome = None, ax = None, top = 12, case = None))]
        fn plot<'py>(slf: &Bound<'py, Self>, outcome: Option<&str>, ax: Option<&Bound<'py, PyAny>>, top: usize, case: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
            let kw = PyDict::new(slf.py());
            kw.set_item("outcome", outcome)?;
            kw.set_item("ax", ax)?;
            kw.set_item("top", top)?;
            kw.set_item("case", case)?;
            helper(slf.py(), "plot", "plot_attribution", (slf,), Some(&kw))
        }
    }
);

serde_result!(
    /// The answer to a what-if question: the forecast with and without the hypothetical change.
    ///
    /// Returned by ``Case.what_if``; ``delta`` is ``scenario - baseline`` per outcome.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    /// >>> case.observe("summit_held", "2018-06-12")
    /// AppendReport(added=1, unchanged=0)
    /// >>> w = case.what_if([pf.Signal("talks_refused", "2018-08-01")], as_of="2018-09-01")
    /// >>> abs(sum(w.delta.values())) < 1e-9
    /// True
    PyWhatIf, pf_core::explain::WhatIfResult, "WhatIf", {
        /// The case's forecast at the evaluation date.
        ///
        /// Returns
        /// -------
        /// Forecast
        #[getter]
        fn baseline(&self) -> PyForecast { PyForecast::from(self.inner.baseline.clone()) }
        /// The forecast with the hypothetical change.
        ///
        /// Returns
        /// -------
        /// Forecast
        #[getter]
        fn scenario(&self) -> PyForecast { PyForecast::from(self.inner.scenario.clone()) }
        /// `{outcome: scenario - baseline}`.
        ///
        /// Returns
        /// -------
        /// dict[str, float]
        #[getter]
        fn delta<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> { named(py, &self.inner.baseline.outcomes, &self.inner.delta) }
    }
);

serde_result!(
    /// Signal types ranked by the expected change they would bring if observed next.
    ///
    /// Returned by ``Case.value_of_information``; ``values`` holds the entries, highest score first.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    /// >>> case.observe("summit_held", "2018-06-12")
    /// AppendReport(added=1, unchanged=0)
    /// >>> v = case.value_of_information(as_of="2018-07-01")
    /// >>> len(v) == len(v.values) > 0
    /// True
    PyValueOfInformation, pf_core::explain::ValueOfInformation, "ValueOfInformation", {
        /// The case's id.
        ///
        /// Returns
        /// -------
        /// str
        #[getter]
        fn case(&self) -> &str { &self.inner.case }
        /// The as-of date.
        ///
        /// Returns
        /// -------
        /// datetime.date
        #[getter]
        fn as_of(&self) -> NaiveDate { self.inner.as_of }
        /// Outcome names.
        ///
        /// Returns
        /// -------
        /// list[str]
        #[getter]
        fn outcomes(&self) -> Vec<String> { self.inner.outcomes.clone() }
        /// `{outcome: p}` now.
        ///
        /// Returns
        /// -------
        /// dict[str, float]
        #[getter]
        fn current<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> { named(py, &self.inner.outcomes, &self.inner.current) }
        /// The ranked entries (dicts in the engine's JSON form), highest score first.
        ///
        /// Returns
        /// -------
        /// list[dict[str, Any]]
        #[getter]
        fn values<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            json_to_py(py, &serde_json::to_value(&self.inner.values).map_err(ser_err)?)
        }
        fn __len__(&self) -> usize { self.inner.values.len() }
    }
);

crate::pickle::pickle_inner!(PyTrajectory, pf_core::Trajectory, "Trajectory");

impl crate::pickle::Pickle for PyAppendReport {
    const KIND: &'static str = "AppendReport";
    type State = (usize, usize);
    fn state(&self) -> (usize, usize) {
        (self.added, self.unchanged)
    }
    fn from_state(_py: Python<'_>, (added, unchanged): (usize, usize)) -> PyResult<Self> {
        Ok(Self { added, unchanged })
    }
}
