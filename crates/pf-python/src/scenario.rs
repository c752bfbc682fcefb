//! Scenarios on v2 models: `Scenario` (future sender actions, a fate, a term end, eligibility) and
//! `PolicyComparison` (two scenarios for one case), with `Case.what_if(scenario=...)` and `Case.compare`.

use chrono::NaiveDate;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use pyo3_stub_gen::derive::*;

use crate::convert::{json_to_py, opt_arg_date};
use crate::errors::{IntoPyResult, argument_error};
use crate::results::PyForecast;
use crate::signal::{PySignal, records_of, signal_from_record};

/// A scenario for a v2 model: hypothetical signals, future sender actions, the leader's fate and other terms.
///
/// The default future of a forecast is "no new actions"; a scenario says otherwise. Signals dated on or before
/// the as-of date join the record (any role); those after it must be actions or context and act as future
/// inputs of the transition rates.
///
/// Parameters
/// ----------
/// name : str, default ""
///     A name for reports.
/// signals : iterable of Signal or dict, or pandas.DataFrame, optional
///     Hypothetical signals ("relief on 2019-03-01": ``pf.Signal("sanctions_relief", "2019-03-01")``).
/// monthly : iterable of str, optional
///     Action or context types repeated monthly from one month after the as-of date to the term end
///     ("sanctions monthly from now").
/// policy_continues : bool, default False
///     Repeat the action signals of the last 90 days every 90 days until the term end.
/// fate : {"stays", "leaves"} or None
///     The leader's fate, as if revealed (reliability 1) on the as-of date.
/// term_end : datetime.date or str, optional
///     Another term end (the election date moves with it when the case's was the default).
/// reelection_eligible : bool, optional
///     Another eligibility of the leader.
///
/// Examples
/// --------
/// >>> import pressure_forecast as pf
/// >>> case = pf.datasets.north_korea()
/// >>> pressure = pf.Scenario("pressure", monthly=["sanctions_tightened"])
/// >>> w = case.what_if(pressure, as_of="2018-10-31")
/// >>> w.scenario.probabilities["deal"] > w.baseline.probabilities["deal"]
/// True
/// >>> import pickle
/// >>> pickle.loads(pickle.dumps(pressure)) == pressure
/// True
#[gen_stub_pyclass]
#[pyclass(module = "pressure_forecast._native", name = "Scenario", frozen, eq)]
#[derive(Clone, PartialEq)]
pub struct PyScenario {
    /// The engine's scenario.
    pub inner: pf_core::v2::Scenario,
}

crate::pickle::pickle_inner!(PyScenario, pf_core::v2::Scenario, "Scenario");

fn fate_of(py: Python<'_>, fate: Option<&str>) -> PyResult<Option<pf_core::v2::Fate>> {
    match fate {
        None => Ok(None),
        Some("stays") => Ok(Some(pf_core::v2::Fate::Stays)),
        Some("leaves") => Ok(Some(pf_core::v2::Fate::Leaves)),
        Some(other) => Err(argument_error(
            py,
            "fate",
            "\"stays\", \"leaves\" or None",
            format!("{other:?}"),
        )),
    }
}

fn fate_name(f: pf_core::v2::Fate) -> &'static str {
    match f {
        pf_core::v2::Fate::Stays => "stays",
        pf_core::v2::Fate::Leaves => "leaves",
    }
}

/// Hypothetical signals from None, one Signal or dict, an iterable of them, or a DataFrame.
pub fn signals_arg(signals: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<pf_core::Signal>> {
    match signals {
        None => Ok(Vec::new()),
        Some(s) if s.is_none() => Ok(Vec::new()),
        Some(s) if s.cast::<PySignal>().is_ok() || s.cast::<PyDict>().is_ok() => {
            Ok(vec![signal_from_record(s, 0)?])
        }
        Some(s) => records_of(s)?
            .iter()
            .enumerate()
            .map(|(i, r)| signal_from_record(r, i))
            .collect(),
    }
}

#[gen_stub_pymethods]
#[pymethods]
impl PyScenario {
    #[new]
    #[pyo3(signature = (name = String::new(), *, signals = None, monthly = Vec::new(), policy_continues = false, fate = None, term_end = None, reelection_eligible = None))]
    fn new(
        py: Python<'_>,
        name: String,
        #[gen_stub(override_type(type_repr = "typing.Iterable[Signal | dict[str, typing.Any]] | pandas.DataFrame | None", imports = ("typing", "pandas")))]
        signals: Option<&Bound<'_, PyAny>>,
        monthly: Vec<String>,
        policy_continues: bool,
        #[gen_stub(override_type(type_repr = "typing.Literal['stays', 'leaves'] | None", imports = ("typing")))]
        fate: Option<&str>,
        #[gen_stub(override_type(type_repr = "datetime.date | builtins.str | numpy.datetime64 | None", imports = ("datetime", "builtins", "numpy")))]
        term_end: Option<&Bound<'_, PyAny>>,
        reelection_eligible: Option<bool>,
    ) -> PyResult<PyScenario> {
        Ok(PyScenario {
            inner: pf_core::v2::Scenario {
                name,
                signals: signals_arg(signals)?,
                monthly,
                policy_continues,
                fate: fate_of(py, fate)?,
                term_end: opt_arg_date(term_end, "term_end")?,
                reelection_eligible,
            },
        })
    }

    /// The scenario's name.
    ///
    /// Returns
    /// -------
    /// str
    #[getter]
    fn name(&self) -> &str {
        &self.inner.name
    }

    /// Hypothetical signals.
    ///
    /// Returns
    /// -------
    /// list[Signal]
    #[getter]
    fn signals(&self) -> Vec<PySignal> {
        self.inner
            .signals
            .iter()
            .map(|s| PySignal { inner: s.clone() })
            .collect()
    }

    /// Action or context types repeated monthly from one month after the as-of date.
    ///
    /// Returns
    /// -------
    /// list[str]
    #[getter]
    fn monthly(&self) -> Vec<String> {
        self.inner.monthly.clone()
    }

    /// Whether the last 90 days' actions repeat every 90 days until the term end.
    ///
    /// Returns
    /// -------
    /// bool
    #[getter]
    fn policy_continues(&self) -> bool {
        self.inner.policy_continues
    }

    /// The leader's fate, ``"stays"`` or ``"leaves"``, or None.
    ///
    /// Returns
    /// -------
    /// str or None
    #[getter]
    fn fate(&self) -> Option<&'static str> {
        self.inner.fate.map(fate_name)
    }

    /// Another term end, or None.
    ///
    /// Returns
    /// -------
    /// datetime.date or None
    #[getter]
    fn term_end(&self) -> Option<NaiveDate> {
        self.inner.term_end
    }

    /// Another eligibility of the leader, or None.
    ///
    /// Returns
    /// -------
    /// bool or None
    #[getter]
    fn reelection_eligible(&self) -> Option<bool> {
        self.inner.reelection_eligible
    }

    /// The scenario as a dict (the engine's JSON form).
    ///
    /// Returns
    /// -------
    /// dict
    ///     ``Scenario.from_json`` reads it back.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> s = pf.Scenario("wait", fate="leaves")
    /// >>> pf.Scenario.from_json(s.to_json()) == s
    /// True
    #[gen_stub(override_return_type(type_repr = "dict[str, typing.Any]", imports = ("typing")))]
    fn to_json<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(
            py,
            &serde_json::to_value(&self.inner).map_err(crate::results::ser_err)?,
        )
    }

    /// Build from the form of ``to_json`` (a dict or a JSON string).
    ///
    /// Parameters
    /// ----------
    /// obj : dict or str
    ///     The form ``to_json`` writes.
    ///
    /// Returns
    /// -------
    /// Scenario
    ///     An equal scenario.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> pf.Scenario.from_json({"name": "x", "monthly": ["sanctions_tightened"]}).monthly
    /// ['sanctions_tightened']
    #[staticmethod]
    fn from_json(obj: &Bound<'_, PyAny>) -> PyResult<PyScenario> {
        crate::convert::from_py_json(obj, "a Scenario").map(|inner| PyScenario { inner })
    }

    fn __repr__(&self) -> String {
        let mut parts = vec![format!("{:?}", self.inner.name)];
        if !self.inner.signals.is_empty() {
            parts.push(format!("signals={}", self.inner.signals.len()));
        }
        if !self.inner.monthly.is_empty() {
            parts.push(format!("monthly={:?}", self.inner.monthly));
        }
        if self.inner.policy_continues {
            parts.push("policy_continues=True".to_owned());
        }
        if let Some(f) = self.inner.fate {
            parts.push(format!("fate={:?}", fate_name(f)));
        }
        if let Some(t) = self.inner.term_end {
            parts.push(format!("term_end='{t}'"));
        }
        if let Some(e) = self.inner.reelection_eligible {
            parts.push(format!(
                "reelection_eligible={}",
                if e { "True" } else { "False" }
            ));
        }
        format!("Scenario({})", parts.join(", "))
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        crate::pickle::reduce(slf)
    }
}

/// Two policies for one case: the forecasts under scenarios ``a`` and ``b`` and their difference ``b - a``.
///
/// Returned by ``Case.compare``.
///
/// Examples
/// --------
/// >>> import pressure_forecast as pf
/// >>> case = pf.datasets.north_korea()
/// >>> c = case.compare(pf.Scenario("no pressure"), pf.Scenario("sanctions", monthly=["sanctions_tightened"]),
/// ...                  as_of="2018-10-31")
/// >>> abs(c.difference["deal"] - (c.b.probabilities["deal"] - c.a.probabilities["deal"])) < 1e-15
/// True
/// >>> list(c.to_pandas().columns)
/// ['no pressure', 'sanctions', 'difference']
#[gen_stub_pyclass]
#[pyclass(module = "pressure_forecast._native", name = "PolicyComparison", frozen, eq)]
#[derive(Clone, PartialEq)]
pub struct PyPolicyComparison {
    /// The engine's comparison.
    pub inner: pf_core::v2::PolicyComparison,
    /// The scenarios compared.
    pub scenarios: (pf_core::v2::Scenario, pf_core::v2::Scenario),
}

/// Pickled state of a comparison: the engine's result and the two scenarios.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct ComparisonState {
    comparison: pf_core::v2::PolicyComparison,
    a: pf_core::v2::Scenario,
    b: pf_core::v2::Scenario,
}

impl crate::pickle::Pickle for PyPolicyComparison {
    const KIND: &'static str = "PolicyComparison";
    type State = ComparisonState;
    fn state(&self) -> ComparisonState {
        ComparisonState {
            comparison: self.inner.clone(),
            a: self.scenarios.0.clone(),
            b: self.scenarios.1.clone(),
        }
    }
    fn from_state(_py: Python<'_>, s: ComparisonState) -> PyResult<Self> {
        Ok(PyPolicyComparison {
            inner: s.comparison,
            scenarios: (s.a, s.b),
        })
    }
}

fn label(sc: &pf_core::v2::Scenario, fallback: &str) -> String {
    if sc.name.is_empty() {
        fallback.to_owned()
    } else {
        sc.name.clone()
    }
}

impl PyPolicyComparison {
    /// Column labels of the two scenarios: their names, or ``a`` and ``b`` (distinct even when the names agree).
    fn labels(&self) -> (String, String) {
        let a = label(&self.scenarios.0, "a");
        let mut b = label(&self.scenarios.1, "b");
        if a == b || b == "difference" {
            b = format!("{b} (b)");
        }
        let a = if a == "difference" { "a".to_owned() } else { a };
        (a, b)
    }
}

#[gen_stub_pymethods]
#[pymethods]
impl PyPolicyComparison {
    /// The forecast under the first scenario.
    ///
    /// Returns
    /// -------
    /// Forecast
    #[getter]
    fn a(&self) -> PyForecast {
        PyForecast::from(self.inner.a.clone())
    }

    /// The forecast under the second scenario.
    ///
    /// Returns
    /// -------
    /// Forecast
    #[getter]
    fn b(&self) -> PyForecast {
        PyForecast::from(self.inner.b.clone())
    }

    /// The first scenario.
    ///
    /// Returns
    /// -------
    /// Scenario
    #[getter]
    fn scenario_a(&self) -> PyScenario {
        PyScenario {
            inner: self.scenarios.0.clone(),
        }
    }

    /// The second scenario.
    ///
    /// Returns
    /// -------
    /// Scenario
    #[getter]
    fn scenario_b(&self) -> PyScenario {
        PyScenario {
            inner: self.scenarios.1.clone(),
        }
    }

    /// ``b - a`` per outcome, ``{outcome: difference}``.
    ///
    /// Returns
    /// -------
    /// dict[str, float]
    #[getter]
    fn difference<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (o, x) in self.inner.a.outcomes.iter().zip(&self.inner.difference) {
            d.set_item(o, x)?;
        }
        Ok(d)
    }

    /// The comparison as a dict: ``{a, b, difference, scenario_a, scenario_b}`` (forecasts in the engine's form).
    ///
    /// Returns
    /// -------
    /// dict
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> case = pf.datasets.north_korea()
    /// >>> c = case.compare(pf.Scenario(), pf.Scenario(fate="leaves"), as_of="2018-10-31")
    /// >>> sorted(c.to_json())
    /// ['a', 'b', 'difference', 'scenario_a', 'scenario_b']
    #[gen_stub(override_return_type(type_repr = "dict[str, typing.Any]", imports = ("typing")))]
    fn to_json<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let mut v = serde_json::to_value(&self.inner).map_err(crate::results::ser_err)?;
        v["scenario_a"] = serde_json::to_value(&self.scenarios.0).map_err(crate::results::ser_err)?;
        v["scenario_b"] = serde_json::to_value(&self.scenarios.1).map_err(crate::results::ser_err)?;
        json_to_py(py, &v)
    }

    /// One row per outcome: the probability under each scenario (columns named after them) and ``difference``.
    ///
    /// Returns
    /// -------
    /// pandas.DataFrame
    ///     Indexed by ``outcome``.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> case = pf.datasets.north_korea()
    /// >>> df = case.compare(pf.Scenario(), pf.Scenario(fate="leaves"), as_of="2018-10-31").to_pandas()
    /// >>> df.index.tolist()
    /// ['deal', 'stalemate', 'wait_out']
    #[pyo3(signature = (long = false))]
    #[gen_stub(override_return_type(type_repr = "pandas.DataFrame", imports = ("pandas")))]
    fn to_pandas<'py>(&self, py: Python<'py>, long: bool) -> PyResult<Bound<'py, PyAny>> {
        let pd = py.import("pandas")?;
        let (la, lb) = self.labels();
        let data = PyDict::new(py);
        data.set_item(la, self.inner.a.probabilities.clone())?;
        data.set_item(lb, self.inner.b.probabilities.clone())?;
        data.set_item("difference", self.inner.difference.clone())?;
        let kw = PyDict::new(py);
        kw.set_item("name", "outcome")?;
        let index = pd
            .getattr("Index")?
            .call((self.inner.a.outcomes.clone(),), Some(&kw))?;
        let kw = PyDict::new(py);
        kw.set_item("index", index)?;
        let df = pd.getattr("DataFrame")?.call((data,), Some(&kw))?;
        if long {
            return crate::convert::helper(py, "_frames", "long_form", (df, "forecast", "probability"), None);
        }
        Ok(df)
    }

    /// The comparison as HTML, for notebooks: its repr and the table of ``to_pandas``.
    ///
    /// Returns
    /// -------
    /// str
    ///     HTML.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> case = pf.datasets.north_korea()
    /// >>> c = case.compare(pf.Scenario(), pf.Scenario(fate="leaves"), as_of="2018-10-31")
    /// >>> c._repr_html_().startswith("<p><strong>PolicyComparison(")
    /// True
    fn _repr_html_(&self, py: Python<'_>) -> PyResult<String> {
        let html = py.import("html")?;
        let title: String = html.getattr("escape")?.call1((self.__repr__(),))?.extract()?;
        let kw = PyDict::new(py);
        kw.set_item("float_format", py.eval(c"'{:.4f}'.format", None, None)?)?;
        let table: String = self
            .to_pandas(py, false)?
            .call_method("to_html", (), Some(&kw))?
            .extract()?;
        Ok(format!("<p><strong>{title}</strong></p>\n{table}"))
    }

    fn __repr__(&self) -> String {
        let (la, lb) = self.labels();
        let diff = self
            .inner
            .a
            .outcomes
            .iter()
            .zip(&self.inner.difference)
            .map(|(o, d)| format!("{o}={d:+.4}"))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "PolicyComparison(case={:?}, as_of='{}', a={la:?}, b={lb:?}, difference: {diff})",
            self.inner.a.case, self.inner.a.as_of
        )
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        crate::pickle::reduce(slf)
    }
}

/// The v2 model of a `Model`, or an `ArgumentError` naming what needs it.
pub fn v2_of<'a>(py: Python<'_>, m: &'a pf_core::Model, what: &str) -> PyResult<&'a pf_core::v2::ModelV2> {
    m.as_v2().ok_or_else(|| {
        argument_error(
            py,
            "model",
            &format!("a v2 model (format_version = 2) for {what}"),
            format!("the v1 model {:?}", m.name()),
        )
    })
}

/// The forecast of a case under a scenario (the GIL released).
pub fn scenario_forecast(
    py: Python<'_>,
    m: &pf_core::v2::ModelV2,
    case: &pf_core::Case,
    as_of: NaiveDate,
    sc: &pf_core::v2::Scenario,
) -> PyResult<pf_core::Forecast> {
    py.detach(|| pf_core::v2::scenario_forecast(m, case, as_of, sc))
        .py_err(py)
}

/// Compare two scenarios (the GIL released).
pub fn compare(
    py: Python<'_>,
    m: &pf_core::v2::ModelV2,
    case: &pf_core::Case,
    as_of: NaiveDate,
    a: &pf_core::v2::Scenario,
    b: &pf_core::v2::Scenario,
) -> PyResult<PyPolicyComparison> {
    let inner = py
        .detach(|| pf_core::v2::compare(m, case, as_of, a, b))
        .py_err(py)?;
    Ok(PyPolicyComparison {
        inner,
        scenarios: (a.clone(), b.clone()),
    })
}
