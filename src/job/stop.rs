//! Stopping runs early: because the user or the batch system asked (SIGINT, SIGTERM: the
//! process's interrupt flag, raised by [`interrupt`]) or because another run of the job failed.
//! Either way every run stops at its next batch boundary and writes its checkpoint, and runs
//! that have not started are not started. Installing a signal handler that calls [`interrupt`]
//! is the command line's business (the library never touches signals).

use std::sync::atomic::{AtomicBool, Ordering};

/// Raised by the first SIGINT or SIGTERM; every run polls it between batches.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Asks every run of this process to stop at its next batch boundary; returns whether it had
/// been asked before.
pub fn interrupt() -> bool {
    INTERRUPTED.swap(true, Ordering::Relaxed)
}

/// Whether the process has been asked to stop.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
}

/// Why a run stopped before its last epoch (its checkpoint written), or never started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The process was interrupted.
    Interrupted,
    /// Another run of the job failed.
    Aborted,
}

/// Whether runs should stop now, and why: the interrupt first, then `abort` (raised by the
/// first run of the job that fails).
pub fn requested(abort: &AtomicBool) -> Option<Stop> {
    if interrupted() {
        Some(Stop::Interrupted)
    } else if abort.load(Ordering::Relaxed) {
        Some(Stop::Aborted)
    } else {
        None
    }
}
