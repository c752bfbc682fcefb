//! Progress reporting and cancellation for long computations (draws, fit, backtest, trajectories,
//! attribution, value of information).
//!
//! Every long loop asks [`Progress::cancelled`] at least every [`CHECK_EVERY`] iterations (a relaxed atomic
//! load for [`CancelFlag`]) and stops with [`crate::Error::Interrupted`] when it says yes.

use std::sync::atomic::{AtomicBool, Ordering};

/// Receives progress from long computations and may ask them to stop.
///
/// Implementations must be cheap: `advance` is called from worker threads.
pub trait Progress: Sync {
    /// The total amount of work is now known.
    fn start(&self, _total: u64, _what: &str) {}
    /// `n` more units of work are done.
    fn advance(&self, _n: u64) {}
    /// Whether the caller asked to stop; the computation then returns [`crate::Error::Interrupted`].
    fn cancelled(&self) -> bool {
        false
    }
    /// The computation has finished (successfully or not).
    fn finish(&self) {}
}

/// Long loops without a natural unit of progress (days of a trajectory) ask [`Progress::cancelled`] once every
/// this many iterations.
pub const CHECK_EVERY: u64 = 64;

/// [`crate::Error::Interrupted`] when `progress` asks to stop.
///
/// # Errors
/// [`crate::Error::Interrupted`] when [`Progress::cancelled`] is true.
#[inline]
pub(crate) fn check(progress: &dyn Progress) -> crate::Result<()> {
    if progress.cancelled() {
        Err(crate::Error::Interrupted)
    } else {
        Ok(())
    }
}

/// Progress that reports nothing and never cancels.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Progress for Silent {}

/// A cancellation flag that can be set from another thread (a signal handler, a request deadline).
#[derive(Debug, Default)]
pub struct CancelFlag(AtomicBool);

impl CancelFlag {
    /// A flag that is not set.
    pub fn new() -> CancelFlag {
        CancelFlag(AtomicBool::new(false))
    }
    /// Ask the computation to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
    /// Whether [`CancelFlag::cancel`] was called.
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

impl Progress for CancelFlag {
    fn cancelled(&self) -> bool {
        self.is_set()
    }
}
