//! `Signal`: one dated observation, and the conversion of Python records (dicts, DataFrame rows) to signals.

use chrono::NaiveDate;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use pyo3_stub_gen::derive::*;

use crate::convert::{helper, json_to_py, py_to_json, signal_date};
use crate::errors::IntoPyResult;

/// A dated observation of one signal type, with reliability, weight, source and note.
///
/// Parameters
/// ----------
/// type : str
///     The signal type (one of ``SIGNAL_TYPES_V1`` for the default model).
/// date : datetime.date or str
///     The day it was observed (a date, an ISO 8601 string, a pandas Timestamp).
/// reliability : float, default 1.0
///     Probability that the report is true, in [0, 1].
/// weight : float, default 1.0
///     How strongly it counts, > 0.
/// source, note, id : str, optional
///     Who reported it, free text, and an id unique within a case.
///
/// Examples
/// --------
/// >>> import pressure_forecast as pf
/// >>> s = pf.Signal("summit_held", "2018-06-12", source="AP")
/// >>> s
/// Signal("summit_held", '2018-06-12', source="AP")
/// >>> s.date
/// datetime.date(2018, 6, 12)
#[gen_stub_pyclass]
#[pyclass(module = "pressure_forecast._native", name = "Signal", frozen, eq)]
#[derive(Clone, PartialEq)]
pub struct PySignal {
    /// The engine's signal.
    pub inner: pf_core::Signal,
}

/// A signal from a Python record: a `Signal`, or a mapping with the fields of SIGNALS.md (`type` or
/// `signal_type`, `date`, ...). Field errors name `records[i].<field>`.
pub fn signal_from_record(obj: &Bound<'_, PyAny>, i: usize) -> PyResult<pf_core::Signal> {
    let py = obj.py();
    if let Ok(s) = obj.cast::<PySignal>() {
        return Ok(s.get().inner.clone());
    }
    let mut v = py_to_json(obj)?;
    if let Some(m) = v.as_object_mut() {
        // A missing cell of a DataFrame (NaN) in a text column means the field is absent.
        for k in ["source", "note", "id", "event_ids", "reports"] {
            if let Ok(x) = obj.get_item(k)
                && x.extract::<f64>().is_ok_and(f64::is_nan)
            {
                m.remove(k);
            }
        }
    }
    if let Some(m) = v.as_object_mut()
        && !m.contains_key("type")
        && let Some(t) = m.remove("signal_type")
    {
        m.insert("type".into(), t);
    }
    pf_core::Signal::from_json(&v)
        .map_err(|e| match e {
            pf_core::Error::InvalidSignal {
                field,
                expected,
                found,
                line,
                id,
            } => pf_core::Error::InvalidSignal {
                field: format!("records[{i}].{field}"),
                expected,
                found,
                line,
                id,
            },
            other => other,
        })
        .py_err(py)
}

/// The records of a list, an iterable or a pandas DataFrame (`to_dict("records")`).
pub fn records_of<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let obj = if obj.hasattr("to_dict")? && !obj.is_instance_of::<PyDict>() {
        obj.call_method1("to_dict", ("records",))?
    } else {
        obj.clone()
    };
    obj.try_iter()?.collect()
}

#[gen_stub_pymethods]
#[pymethods]
impl PySignal {
    #[new]
    #[pyo3(signature = (r#type, date, reliability = 1.0, weight = 1.0, source = None, note = None, id = None))]
    fn new(
        r#type: String,
        #[gen_stub(override_type(type_repr = "datetime.date | builtins.str | numpy.datetime64", imports = ("datetime", "builtins", "numpy")))]
        date: &Bound<'_, PyAny>,
        reliability: f64,
        weight: f64,
        source: Option<String>,
        note: Option<String>,
        id: Option<String>,
    ) -> PyResult<PySignal> {
        let py = date.py();
        let mut s = pf_core::Signal::new(r#type, signal_date(date, "date")?);
        s.reliability = reliability;
        s.weight = weight;
        s.source = source.as_deref().map(pf_core::Text::interned);
        s.note = note.map(Into::into);
        s.id = id.map(Into::into);
        s.validate().py_err(py)?;
        Ok(PySignal { inner: s })
    }

    /// Parse a record with the fields of SIGNALS.md (a dict, or a JSON string).
    ///
    /// Parameters
    /// ----------
    /// obj : dict or str
    ///     The record: ``date`` and ``type`` required, the other fields optional.
    ///
    /// Returns
    /// -------
    /// Signal
    ///     The validated signal.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> s = pf.Signal.from_json({"date": "2018-06-12", "type": "summit_held", "source": "Reuters"})
    /// >>> s.type, str(s.date), s.source
    /// ('summit_held', '2018-06-12', 'Reuters')
    /// >>> pf.Signal.from_json(s.to_json()) == s
    /// True
    #[staticmethod]
    fn from_json(obj: &Bound<'_, PyAny>) -> PyResult<PySignal> {
        let obj = if let Ok(s) = obj.extract::<String>() {
            obj.py().import("json")?.call_method1("loads", (s,))?
        } else {
            obj.clone()
        };
        signal_from_record(&obj, 0).map(|inner| PySignal { inner })
    }

    /// The record as a dict (the JSON form of SIGNALS.md).
    ///
    /// Returns
    /// -------
    /// dict
    ///     ``date`` (``YYYY-MM-DD``), ``type`` and the optional fields that are set.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> d = pf.Signal("summit_held", "2018-06-12").to_json()
    /// >>> d["date"], d["type"]
    /// ('2018-06-12', 'summit_held')
    #[gen_stub(override_return_type(type_repr = "dict[str, typing.Any]", imports = ("typing")))]
    fn to_json<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.inner.to_json())
    }

    /// The signal type.
    ///
    /// Returns
    /// -------
    /// str
    #[getter]
    fn r#type(&self) -> &str {
        &self.inner.signal_type
    }
    /// The day it was observed.
    ///
    /// Returns
    /// -------
    /// datetime.date
    #[getter]
    fn date(&self) -> NaiveDate {
        self.inner.date
    }
    /// Reliability in [0, 1].
    ///
    /// Returns
    /// -------
    /// float
    #[getter]
    fn reliability(&self) -> f64 {
        self.inner.reliability
    }
    /// Weight > 0.
    ///
    /// Returns
    /// -------
    /// float
    #[getter]
    fn weight(&self) -> f64 {
        self.inner.weight
    }
    /// Who reported it.
    ///
    /// Returns
    /// -------
    /// str or None
    #[getter]
    fn source(&self) -> Option<&str> {
        self.inner.source.as_deref()
    }
    /// Free text.
    ///
    /// Returns
    /// -------
    /// str or None
    #[getter]
    fn note(&self) -> Option<&str> {
        self.inner.note.as_deref()
    }
    /// Unique id within a case.
    ///
    /// Returns
    /// -------
    /// str or None
    #[getter]
    fn id(&self) -> Option<&str> {
        self.inner.id.as_deref()
    }
    /// Number of raw event reports merged into this signal (event data).
    ///
    /// Returns
    /// -------
    /// int or None
    #[getter]
    fn reports(&self) -> Option<u32> {
        self.inner.reports
    }
    /// Ids of the raw events merged into this signal.
    ///
    /// Returns
    /// -------
    /// list[str]
    #[getter]
    fn event_ids(&self) -> Vec<String> {
        self.inner.event_ids.to_vec()
    }

    fn __hash__(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.inner.to_json().to_string().hash(&mut h);
        h.finish()
    }

    fn __repr__(&self) -> String {
        let s = &self.inner;
        let mut out = format!("Signal({:?}, '{}'", s.signal_type, s.date);
        if s.reliability != 1.0 {
            out.push_str(&format!(", reliability={}", s.reliability));
        }
        if s.weight != 1.0 {
            out.push_str(&format!(", weight={}", s.weight));
        }
        if let Some(src) = &s.source {
            out.push_str(&format!(", source={src:?}"));
        }
        if let Some(id) = &s.id {
            out.push_str(&format!(", id={id:?}"));
        }
        out.push(')');
        out
    }

    /// The signal as an HTML table row, for notebooks.
    ///
    /// Returns
    /// -------
    /// str
    ///     HTML.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> "summit_held" in pf.Signal("summit_held", "2018-06-12")._repr_html_()
    /// True
    #[gen_stub(override_return_type(type_repr = "builtins.str", imports = ("builtins")))]
    fn _repr_html_<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        helper(slf.py(), "_frames", "signals_html", ([slf],), None)
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        crate::pickle::reduce(slf)
    }
}

crate::pickle::pickle_inner!(PySignal, pf_core::Signal, "Signal");
