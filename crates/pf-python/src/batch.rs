//! `forecast_many`: many cases forecast in parallel with the GIL released.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3_stub_gen::derive::*;
use rayon::prelude::*;

use crate::case::{PyCase, forecast_one_drawn, levels_of};
use crate::convert::{self, opt_arg_date};
use crate::errors::argument_error;
use crate::model::PyModel;
use crate::progress::{run_long, want_bar};
use crate::results::PyForecast;

/// Forecast many cases at once, in parallel with the GIL released.
///
/// Parameters
/// ----------
/// cases : iterable of Case
///     The cases.
/// as_of : date, str, list of them, or None
///     One date for all cases, one per case, or None (today, UTC).
/// model : Model, optional
///     Overrides each case's own model.
/// draws : int, default 0
///     Parameter draws for credible intervals (0: none).
/// seed : int, default 0
///     Seed of the draws.
/// levels : float or sequence of float, optional
///     Levels of the credible intervals (default 0.9).
/// progress : bool, optional
///     Show a progress bar (default: for large work only).
///
/// Returns
/// -------
/// list of Forecast
///     One forecast per case, in order.
///
/// Examples
/// --------
/// >>> import pressure_forecast as pf
/// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
/// >>> case.observe("summit_held", "2018-06-12")
/// AppendReport(added=1, unchanged=0)
/// >>> a, b = pf.forecast_many([case, case], as_of="2018-07-01")
/// >>> a == b == case.forecast(as_of="2018-07-01")
/// True
#[gen_stub_pyfunction]
#[pyfunction]
#[pyo3(signature = (cases, as_of = None, model = None, *, draws = 0, seed = 0, levels = None, progress = None))]
pub fn forecast_many(
    py: Python<'_>,
    cases: &Bound<'_, PyAny>,
    #[gen_stub(override_type(
        type_repr = "datetime.date | builtins.str | numpy.datetime64 | collections.abc.Sequence[datetime.date | builtins.str | numpy.datetime64] | None",
        imports = ("datetime", "builtins", "numpy", "collections.abc")
    ))]
    as_of: Option<&Bound<'_, PyAny>>,
    model: Option<&Bound<'_, PyModel>>,
    draws: usize,
    seed: u64,
    levels: Option<&Bound<'_, PyAny>>,
    progress: Option<bool>,
) -> PyResult<Vec<PyForecast>> {
    let items: Vec<(Arc<pf_core::Case>, Arc<pf_core::Model>)> = cases
        .try_iter()?
        .enumerate()
        .map(|(i, c)| {
            let c = c?;
            let c = c.cast::<PyCase>().map_err(|_| {
                argument_error(
                    py,
                    &format!("cases[{i}]"),
                    "a Case",
                    c.repr().map(|r| r.to_string()).unwrap_or_default(),
                )
            })?;
            let c = c.borrow();
            let m = model.map_or_else(|| c.model.clone(), |m| m.get().inner.clone());
            Ok((c.inner.clone(), m))
        })
        .collect::<PyResult<_>>()?;
    let today = crate::today();
    let dates: Vec<chrono::NaiveDate> = match as_of {
        Some(a)
            if !a.is_none()
                && !a.is_instance_of::<pyo3::types::PyString>()
                && a.hasattr("__len__")?
                && !a.hasattr("isoformat")? =>
        {
            let list: Vec<Bound<'_, PyAny>> = a.try_iter()?.collect::<PyResult<_>>()?;
            if list.len() != items.len() {
                return Err(argument_error(
                    py,
                    "as_of",
                    &format!("one date for all cases or a list of {} dates", items.len()),
                    format!("{} dates", list.len()),
                ));
            }
            list.iter()
                .enumerate()
                .map(|(i, d)| convert::arg_date(d, &format!("as_of[{i}]")))
                .collect::<PyResult<_>>()?
        }
        other => {
            let d = opt_arg_date(other, "as_of")?;
            items.iter().map(|_| d.unwrap_or(today)).collect()
        }
    };
    let levels = levels.map(levels_of).transpose()?.unwrap_or_else(|| vec![0.9]);
    if items.len() == 1 {
        let (c, m) = &items[0];
        return forecast_one_drawn(py, m, c, dates[0], draws, seed, levels, progress).map(|f| vec![f]);
    }
    let opts = pf_core::DrawOptions { draws, seed, levels };
    let show = want_bar(progress, items.len() * draws.max(1) >= 20_000);
    let out = run_long(py, show, |p| {
        p.start(items.len() as u64, "cases");
        let r = items
            .par_iter()
            .zip(dates.par_iter())
            .map(|((c, m), d)| {
                if p.cancelled() {
                    return Err(pf_core::Error::Interrupted);
                }
                let f = if draws == 0 {
                    m.forecast(c, *d).map(PyForecast::from)
                } else {
                    crate::results::forecast_drawn(m, c, *d, &opts, &pf_core::Silent)
                };
                p.advance(1);
                f
            })
            .collect::<pf_core::Result<Vec<_>>>();
        p.finish();
        r
    })?;
    Ok(out)
}
