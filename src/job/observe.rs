//! What a job tells whoever runs it, as it goes, and how it is asked to stop: the command line
//! draws a progress bar and prints lines from it and stops on SIGINT or SIGTERM, the Python
//! package a notebook's bar and Ctrl-C, a test nothing. The library itself never prints.

use super::records::EpochRecord;
use super::spec::RunSpec;

/// Receives a job's progress, and says when to stop. Every method defaults to doing nothing.
pub trait Observer: Sync {
    /// The runs start: `total` training batches in all, `done` of them before this launch.
    fn start(&self, _total: u64, _done: u64) {}
    /// One training batch has finished.
    fn batch(&self) {}
    /// A run has finished an epoch (its row of metrics.csv).
    fn epoch_finished(&self, _run: &RunSpec, _record: &EpochRecord) {}
    /// A run has trained its last epoch: its final test measure, named.
    fn run_finished(&self, _run: &RunSpec, _measure: &str, _value: f64) {}
    /// Something the user should know: a stale lock taken over, files moved, a shard's share.
    fn note(&self, _text: &str) {}
    /// The runs have ended (finished, failed or stopped).
    fn end(&self) {}
    /// Whether the job should stop: polled before every training batch (keep it cheap). Every
    /// run then stops at its batch boundary and writes its checkpoint.
    fn interrupted(&self) -> bool {
        false
    }
}

/// An observer that shows nothing and never stops a job.
pub struct Quiet;

impl Observer for Quiet {}
