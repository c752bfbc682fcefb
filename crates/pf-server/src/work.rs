//! What every RPC shares: running heavy work on a blocking thread with cancellation, and "today".

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::NaiveDate;
use pf_core::CancelFlag;
use pf_proto::convert::optional_date;
use pf_proto::google::r#type::Date;

use crate::error::{Result, ServerError};

/// Today's date in UTC, the default as-of date of every RPC: the engine's one notion of today.
pub use pf_core::dates::today;

/// The as-of date of a request: the date given, or today (UTC).
///
/// # Errors
/// [`ServerError::Invalid`] naming `field` for a date that is set and not a day.
pub fn as_of(field: &str, date: Option<&Date>) -> Result<NaiveDate> {
    Ok(optional_date(field, date)?.unwrap_or_else(today))
}

/// Sets the flag when dropped: a call's future is dropped when the caller goes away or its deadline passes.
struct CancelOnDrop(Arc<CancelFlag>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// Units of blocking work running in this process (started by [`blocking`] and not yet returned, whether or not
/// their call is still waiting for them).
static RUNNING: AtomicU64 = AtomicU64::new(0);

/// The number of [`blocking`] work units running in this process: a call that was cancelled or whose deadline
/// passed still counts until its work has seen the cancel flag and returned (exported as `pf_work_running`).
pub fn running() -> u64 {
    RUNNING.load(Ordering::SeqCst)
}

/// Counts one running work unit while alive (also when the work panics).
struct Running;

impl Running {
    fn start() -> Running {
        RUNNING.fetch_add(1, Ordering::SeqCst);
        Running
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        RUNNING.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Run CPU-heavy or blocking work on tokio's blocking threads, cancelled when the call is dropped: the flag is
/// handed to `f`, which passes it to pf-core's long loops (draws, trajectories, attribution, value of
/// information, fit), and they stop with `Interrupted` once it is set.
///
/// # Errors
/// What `f` returns, or [`ServerError::Internal`] when the worker panicked.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce(&CancelFlag) -> Result<T> + Send + 'static,
) -> Result<T> {
    let flag = Arc::new(CancelFlag::new());
    let _guard = CancelOnDrop(flag.clone());
    let running = Running::start();
    tokio::task::spawn_blocking(move || {
        let _running = running;
        f(&flag)
    })
    .await
    .map_err(|e| ServerError::Internal(format!("a worker task failed: {e}")))?
}
