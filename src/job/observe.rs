//! What a job tells whoever runs it, as it goes: the command line draws a progress bar and
//! prints lines from it, the Python package a notebook's bar, a test nothing. The library
//! itself never prints.

use super::spec::RunSpec;

/// Receives a job's progress. Every method defaults to doing nothing.
pub trait Observer: Sync {
    /// The runs start: `total` training batches in all, `done` of them before this launch.
    fn start(&self, _total: u64, _done: u64) {}
    /// One training batch has finished.
    fn batch(&self) {}
    /// A run has trained its last epoch: its final test measure, named.
    fn run_finished(&self, _run: &RunSpec, _measure: &str, _value: f64) {}
    /// Something the user should know: a stale lock taken over, files moved, a shard's share.
    fn note(&self, _text: &str) {}
    /// The runs have ended (finished, failed or stopped).
    fn end(&self) {}
}

/// An observer that shows nothing.
pub struct Quiet;

impl Observer for Quiet {}
