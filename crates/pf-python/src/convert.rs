//! Conversions at the edge: dates, JSON values, numpy arrays and pickled state.

use chrono::NaiveDate;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::errors::{Details, Kind, argument_error, make_error};

/// The date of an ISO 8601 text: `YYYY-MM-DD`, optionally followed by a time (what `datetime.isoformat()` and
/// pandas write), read by the engine's one parser (`pf_core::dates::parse_date`).
fn parse_iso(text: &str) -> Option<NaiveDate> {
    let t = text.trim();
    let d = match t.char_indices().nth(10) {
        Some((i, c)) if c == 'T' || c == ' ' => &t[..i],
        _ => t,
    };
    pf_core::dates::parse_date("date", d).ok()
}

/// A date from `datetime.date`, `datetime.datetime`, an ISO string, a pandas `Timestamp` or a numpy
/// `datetime64` (anything with `.date()`, `.item()` or `.isoformat()`); `Err` carries the repr of what was found.
pub fn date_like(obj: &Bound<'_, PyAny>) -> Result<NaiveDate, String> {
    let found = || {
        obj.repr()
            .map(|r| r.to_string())
            .unwrap_or_else(|_| "an unprintable object".into())
    };
    if let Ok(s) = obj.cast::<PyString>() {
        return parse_iso(&s.to_string_lossy()).ok_or_else(found);
    }
    // datetime.date, datetime.datetime and pandas.Timestamp (pyo3's chrono conversion takes the calendar date).
    // pandas.NaT is a datetime too, with no date: not a date here.
    let nat = obj.get_type().name().is_ok_and(|n| n == "NaTType");
    if let (false, Ok(d)) = (nat, obj.extract::<NaiveDate>()) {
        return Ok(d);
    }
    let mut o = obj.clone();
    // numpy scalars: datetime64[D].item() is a datetime.date.
    if !o.hasattr("isoformat").unwrap_or(false)
        && o.hasattr("item").unwrap_or(false)
        && let Ok(v) = o.call_method0("item")
    {
        o = v;
    }
    // datetime.datetime and pandas.Timestamp: take the calendar date.
    if o.hasattr("date").unwrap_or(false) && o.getattr("date").is_ok_and(|a| a.is_callable()) {
        match o.call_method0("date") {
            Ok(v) => o = v,
            Err(_) => return Err(found()),
        }
    }
    if o.hasattr("isoformat").unwrap_or(false)
        && let Ok(s) = o.call_method0("isoformat").and_then(|s| s.extract::<String>())
    {
        return parse_iso(&s).ok_or_else(found);
    }
    Err(found())
}

const DATE_FORM: &str = "a date (datetime.date, an ISO 8601 string YYYY-MM-DD or a pandas Timestamp)";

/// A date argument of a computation; [`crate::errors::Kind::Argument`] when it is not a date.
pub fn arg_date(obj: &Bound<'_, PyAny>, field: &str) -> PyResult<NaiveDate> {
    date_like(obj).map_err(|found| argument_error(obj.py(), field, DATE_FORM, found))
}

/// An optional date argument.
pub fn opt_arg_date(obj: Option<&Bound<'_, PyAny>>, field: &str) -> PyResult<Option<NaiveDate>> {
    match obj {
        None => Ok(None),
        Some(o) if o.is_none() => Ok(None),
        Some(o) => arg_date(o, field).map(Some),
    }
}

/// A date of a case header; [`crate::errors::Kind::Case`] when it is not a date.
pub fn case_date(obj: &Bound<'_, PyAny>, field: &str) -> PyResult<NaiveDate> {
    date_like(obj).map_err(|found| {
        make_error(
            obj.py(),
            Kind::Case,
            format!("invalid case: field `{field}`: expected {DATE_FORM}, found {found}"),
            Details {
                field: Some(field.into()),
                expected: Some(DATE_FORM.into()),
                found: Some(found),
                ..Details::default()
            },
        )
    })
}

/// A date of a signal record; [`crate::errors::Kind::Signal`] when it is not a date.
pub fn signal_date(obj: &Bound<'_, PyAny>, field: &str) -> PyResult<NaiveDate> {
    date_like(obj).map_err(|found| crate::errors::signal_error(obj.py(), field, DATE_FORM, found))
}

/// A list of `datetime.date`.
pub fn py_dates<'py>(
    py: Python<'py>,
    ds: impl IntoIterator<Item = NaiveDate>,
) -> PyResult<Bound<'py, PyList>> {
    PyList::new(py, ds)
}

/// A JSON value as Python objects (dicts, lists, str, int, float, bool, None).
pub fn json_to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(a) => PyList::new(
            py,
            a.iter()
                .map(|x| json_to_py(py, x))
                .collect::<PyResult<Vec<_>>>()?,
        )?
        .into_any(),
        Value::Object(m) => {
            let d = PyDict::new(py);
            for (k, x) in m {
                d.set_item(k, json_to_py(py, x)?)?;
            }
            d.into_any()
        }
    })
}

/// Python objects as a JSON value, for records parsed by the engine (signals, cases, episodes). Dates become ISO
/// strings; a float that JSON cannot hold (NaN, inf) becomes its text, so that the engine's checks name it;
/// pandas' missing values (None, NaN, NaT, NA) in place of a text become null.
pub fn py_to_json(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.to_string_lossy().into_owned()));
    }
    if obj.cast::<PyInt>().is_ok() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::from(i));
        }
        return Ok(Value::String(obj.str()?.to_string()));
    }
    if obj.cast::<PyFloat>().is_ok() {
        return Ok(float_value(obj.extract::<f64>()?));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut m = serde_json::Map::new();
        for (k, v) in d.iter() {
            let v = py_to_json(&v)?;
            if !v.is_null() {
                m.insert(k.str()?.to_string(), v);
            }
        }
        return Ok(Value::Object(m));
    }
    if obj.cast::<PyList>().is_ok() || obj.cast::<PyTuple>().is_ok() {
        return Ok(Value::Array(
            obj.try_iter()?
                .map(|x| py_to_json(&x?))
                .collect::<PyResult<_>>()?,
        ));
    }
    // pandas.NA and NaT.
    let tname = obj.get_type().name()?.to_string();
    if tname == "NAType" || tname == "NaTType" {
        return Ok(Value::Null);
    }
    if let Ok(d) = date_like(obj) {
        return Ok(Value::String(d.to_string()));
    }
    // numpy scalars.
    if obj.hasattr("__index__")?
        && let Ok(i) = obj.extract::<i64>()
    {
        return Ok(Value::from(i));
    }
    if obj.hasattr("__float__")? {
        return Ok(float_value(obj.call_method0("__float__")?.extract::<f64>()?));
    }
    Ok(Value::String(obj.str()?.to_string()))
}

fn float_value(x: f64) -> Value {
    if x.is_nan() {
        // A missing cell of a DataFrame; a number field that is NaN is reported by the engine's checks.
        Value::String("NaN".into())
    } else {
        serde_json::Number::from_f64(x).map_or_else(|| Value::String(x.to_string()), Value::Number)
    }
}

/// Parse a Python object (a dict in the JSON shape, or a JSON string/bytes) into a serde type, through Python's
/// `json.dumps` so that the order of dict keys is kept.
pub fn from_py_json<T: DeserializeOwned>(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<T> {
    let py = obj.py();
    let text: String = if let Ok(s) = obj.cast::<PyString>() {
        s.to_string_lossy().into_owned()
    } else if let Ok(b) = obj.cast::<PyBytes>() {
        String::from_utf8_lossy(b.as_bytes()).into_owned()
    } else {
        let kwargs = PyDict::new(py);
        kwargs.set_item("default", py.import("builtins")?.getattr("str")?)?;
        py.import("json")?
            .call_method("dumps", (obj,), Some(&kwargs))?
            .extract()?
    };
    // Non-finite numbers were written as null: read them back as NaN when the plain reading fails.
    serde_json::from_str(&text).map_err(|e| {
        make_error(
            py,
            Kind::Parse,
            format!("cannot parse {what}: {e}"),
            Details {
                expected: Some(format!("the JSON form of {what}")),
                found: Some(e.to_string()),
                line: Some(e.line()),
                ..Details::default()
            },
        )
    })
}

/// A numpy array from a vector.
pub fn np_array1<'py>(py: Python<'py>, v: &[f64]) -> PyResult<Bound<'py, PyAny>> {
    py.import("numpy")?
        .call_method1("asarray", (PyList::new(py, v)?,))
}

/// A `rows x cols` numpy array from a row-major vector.
pub fn np_array2<'py>(py: Python<'py>, v: &[f64], cols: usize) -> PyResult<Bound<'py, PyAny>> {
    let rows: Vec<Vec<f64>> = if cols == 0 {
        Vec::new()
    } else {
        v.chunks(cols).map(<[f64]>::to_vec).collect()
    };
    let a = py.import("numpy")?.call_method1("asarray", (rows,))?;
    if v.is_empty() {
        return a.call_method1("reshape", ((0usize, cols),));
    }
    Ok(a)
}

/// Zip names and values into a dict (keeps the order of the names).
pub fn named<'py>(py: Python<'py>, names: &[String], values: &[f64]) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (n, v) in names.iter().zip(values) {
        d.set_item(n, v)?;
    }
    Ok(d)
}

/// Call a helper of the pure-Python part of the package (`pressure_forecast.<module>.<name>`).
pub fn helper<'py>(
    py: Python<'py>,
    module: &str,
    name: &str,
    args: impl pyo3::call::PyCallArgs<'py>,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    py.import(format!("pressure_forecast.{module}"))?
        .getattr(name)?
        .call(args, kwargs)
}
