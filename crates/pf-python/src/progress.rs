//! Long work off the GIL: progress bars (tqdm) and Ctrl-C.
//!
//! [`run_long`] runs the computation on a scoped worker thread with the GIL released. The calling thread wakes
//! every 50 ms, takes the GIL briefly to run Python's signal handlers (`check_signals`) and to move the tqdm
//! bar; a pending `KeyboardInterrupt` sets the flag that [`pf_core::Progress::cancelled`] reports, the engine
//! stops with `Interrupted`, and the `KeyboardInterrupt` is raised.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::to_py;

/// How often the calling thread checks for Ctrl-C and moves the bar.
const POLL: Duration = Duration::from_millis(50);

/// Progress shared between the engine's worker threads and the polling thread.
#[derive(Debug, Default)]
pub struct Shared {
    cancel: AtomicBool,
    total: AtomicU64,
    done: AtomicU64,
    generation: AtomicU64,
    what: Mutex<String>,
}

impl pf_core::Progress for Shared {
    fn start(&self, total: u64, what: &str) {
        if let Ok(mut w) = self.what.lock() {
            *w = what.to_owned();
        }
        self.total.store(total, Ordering::Relaxed);
        self.done.store(0, Ordering::Relaxed);
        self.generation.fetch_add(1, Ordering::Release);
    }
    fn advance(&self, n: u64) {
        self.done.fetch_add(n, Ordering::Relaxed);
    }
    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
    /// The work is done: the total becomes the count reached, so that a bar started with an upper bound (an
    /// iteration limit that convergence cut short) ends at its true total.
    fn finish(&self) {
        self.total
            .store(self.done.load(Ordering::Relaxed), Ordering::Relaxed);
    }
}

/// A tqdm bar driven from the polling thread.
struct Bar {
    enabled: bool,
    bar: Option<Py<PyAny>>,
    generation: u64,
    shown: u64,
}

impl Bar {
    fn sync(&mut self, py: Python<'_>, shared: &Shared) {
        if !self.enabled {
            return;
        }
        let generation = shared.generation.load(Ordering::Acquire);
        if generation != self.generation {
            self.close(py);
            self.generation = generation;
            let what = shared.what.lock().map(|w| w.clone()).unwrap_or_default();
            let total = shared.total.load(Ordering::Relaxed);
            let make = || -> PyResult<Py<PyAny>> {
                let kwargs = PyDict::new(py);
                kwargs.set_item("total", total)?;
                kwargs.set_item("desc", what)?;
                kwargs.set_item("leave", false)?;
                Ok(py
                    .import("tqdm.auto")?
                    .getattr("tqdm")?
                    .call((), Some(&kwargs))?
                    .unbind())
            };
            // Without tqdm the work goes on without a bar.
            self.bar = make().ok();
            self.shown = 0;
        }
        let done = shared.done.load(Ordering::Relaxed);
        let total = shared.total.load(Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            let bar = bar.bind(py);
            // `finish` lowered the total to the count reached (an iteration limit cut short by convergence).
            if bar.getattr("total").and_then(|t| t.extract::<u64>()).ok() != Some(total) {
                let _ = bar.setattr("total", total);
                let _ = bar.call_method0("refresh");
            }
            if done > self.shown {
                let _ = bar.call_method1("update", (done - self.shown,));
                self.shown = done;
            }
        }
    }

    fn close(&mut self, py: Python<'_>) {
        if let Some(bar) = self.bar.take() {
            let _ = bar.bind(py).call_method0("close");
        }
    }
}

/// Run long engine work with the GIL released, a tqdm bar when `show_bar`, and Ctrl-C turned into
/// `KeyboardInterrupt`.
pub fn run_long<T, F>(py: Python<'_>, show_bar: bool, work: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce(&dyn pf_core::Progress) -> pf_core::Result<T> + Send,
{
    let shared = Shared::default();
    let mut bar = Bar {
        enabled: show_bar,
        bar: None,
        generation: 0,
        shown: 0,
    };
    let mut interrupt: Option<PyErr> = None;
    let result = py.detach(|| {
        std::thread::scope(|s| {
            let (tx, rx) = mpsc::channel::<()>();
            let shared_ref = &shared;
            let handle = s.spawn(move || {
                let r = work(shared_ref);
                let _ = tx.send(());
                r
            });
            loop {
                match rx.recv_timeout(POLL) {
                    Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
                    Err(mpsc::RecvTimeoutError::Timeout) => Python::attach(|py| {
                        if interrupt.is_none()
                            && let Err(e) = py.check_signals()
                        {
                            interrupt = Some(e);
                            shared.cancel.store(true, Ordering::Relaxed);
                        }
                        bar.sync(py, &shared);
                    }),
                }
            }
            match handle.join() {
                Ok(r) => r,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    });
    bar.sync(py, &shared);
    bar.close(py);
    if let Some(e) = interrupt {
        return Err(e);
    }
    result.map_err(|e| to_py(py, e))
}

/// Whether to show a bar: `progress` if given, else `auto` when the session is interactive ([`interactive`]).
pub fn want_bar(progress: Option<bool>, auto: bool) -> bool {
    progress.unwrap_or(auto)
}

/// Whether someone is watching: a running Jupyter/IPython kernel (where `tqdm.auto` draws a widget), or standard
/// error on a terminal. Scripts, pipes, CI logs and pytest are not interactive, so bars are off there unless asked
/// for with `progress=True`.
pub fn interactive(py: Python<'_>) -> bool {
    let check = || -> PyResult<bool> {
        let sys = py.import("sys")?;
        // A running IPython kernel (Jupyter): its shell has a `kernel`; a terminal IPython shell has none but
        // then standard error is a terminal. Importing ipykernel alone does not count.
        if let Some(ipython) = sys.getattr("modules")?.get_item("IPython").ok()
            && let Ok(shell) = ipython.getattr("get_ipython")?.call0()
            && !shell.is_none()
            && shell.hasattr("kernel")?
        {
            return Ok(true);
        }
        let err = sys.getattr("stderr")?;
        if err.is_none() {
            return Ok(false);
        }
        err.call_method0("isatty")?.extract()
    };
    check().unwrap_or(false)
}

/// A `tqdm.auto` bar moved by the calling thread itself (for work that waits on Python futures, such as the
/// refits of a backtest on an executor, where [`run_long`]'s worker thread does not apply); None when not
/// shown or without tqdm. The caller calls `update(1)` per task done and `close()` at the end.
pub fn calling_thread_bar<'py>(
    py: Python<'py>,
    show: bool,
    total: u64,
    what: &str,
) -> Option<Bound<'py, PyAny>> {
    if !show {
        return None;
    }
    let make = || -> PyResult<Bound<'py, PyAny>> {
        let kw = PyDict::new(py);
        kw.set_item("total", total)?;
        kw.set_item("desc", what)?;
        kw.set_item("leave", false)?;
        py.import("tqdm.auto")?.getattr("tqdm")?.call((), Some(&kw))
    };
    make().ok()
}
