//! Stopping runs early: because another run of the experiment failed ([`Aborted`]), or because
//! the user or the batch system asked (SIGINT, SIGTERM: [`Interrupted`]). Either way every run
//! stops at its next batch boundary and writes its checkpoint, so `ccdni resume` can go on.

use anyhow::Result;
use std::sync::atomic::{AtomicBool, Ordering};

/// Raised by the first SIGINT or SIGTERM; every run polls it between batches.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Whether SIGINT or SIGTERM has arrived.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
}

/// Raises the interrupt as a signal would (for tests and embedding programs).
pub fn interrupt() {
    INTERRUPTED.store(true, Ordering::Relaxed);
}

/// Installs the SIGINT/SIGTERM handler of the command-line tool: the first signal asks every
/// run to stop at its next batch boundary and write its checkpoint; a second one exits at once
/// (status 130; the checkpoints on disk are whole, as each is written atomically).
pub fn install_signal_handler() -> Result<()> {
    ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::Relaxed) {
            eprintln!("\nsecond interrupt: exiting at once");
            std::process::exit(130);
        }
        eprintln!(
            "\ninterrupted: stopping at the next batch boundary and writing checkpoints \
             (interrupt again to exit at once)"
        );
    })
    .map_err(|e| anyhow::anyhow!("cannot install the interrupt handler: {e}"))
}

/// The error of a run stopped early because another run of the experiment failed.
#[derive(Debug)]
pub struct Aborted;

impl std::fmt::Display for Aborted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stopped because another run failed")
    }
}

impl std::error::Error for Aborted {}

/// The error of a run stopped by SIGINT or SIGTERM after writing its checkpoint.
#[derive(Debug)]
pub struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted")
    }
}

impl std::error::Error for Interrupted {}
