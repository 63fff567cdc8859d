//! Stopping runs early: because whoever runs the job asks ([`Observer::interrupted`]: the
//! command line on SIGINT or SIGTERM, the Python package on Ctrl-C) or because another run of
//! the job failed. Either way every run stops at its next batch boundary and writes its
//! checkpoint, and runs that have not started are not started. The library never touches
//! signals.

use super::observe::Observer;
use std::sync::atomic::{AtomicBool, Ordering};

/// Why a run stopped before its last epoch (its checkpoint written), or never started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// Whoever runs the job asked it to stop.
    Interrupted,
    /// Another run of the job failed.
    Aborted,
}

/// Whether runs should stop now, and why: an interruption first, then `abort` (raised by the
/// first run of the job that fails).
pub fn requested(abort: &AtomicBool, observer: &dyn Observer) -> Option<Stop> {
    if observer.interrupted() {
        Some(Stop::Interrupted)
    } else if abort.load(Ordering::Relaxed) {
        Some(Stop::Aborted)
    } else {
        None
    }
}

/// How a launch ended: done, with what it gives (the report of a whole job, the finished runs
/// of a launch), or interrupted, every run that had started having written its checkpoint.
#[derive(Debug)]
pub enum Ending<T> {
    Done(T),
    Interrupted,
}
