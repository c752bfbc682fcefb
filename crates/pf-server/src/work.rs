//! What every RPC shares: running heavy work on a blocking thread with cancellation, and "today".

use std::sync::Arc;

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

/// Run CPU-heavy or blocking work on tokio's blocking threads, cancelled when the call is dropped.
///
/// # Errors
/// What `f` returns, or [`ServerError::Internal`] when the worker panicked.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce(&CancelFlag) -> Result<T> + Send + 'static,
) -> Result<T> {
    let flag = Arc::new(CancelFlag::new());
    let _guard = CancelOnDrop(flag.clone());
    tokio::task::spawn_blocking(move || f(&flag))
        .await
        .map_err(|e| ServerError::Internal(format!("a worker task failed: {e}")))?
}
