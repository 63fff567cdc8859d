//! Many runs at once: one run per thread, start to finish. We parallelise across seeds and
//! variants, never inside the small matrix products of one run.

use anyhow::Result;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Runs `jobs` on `threads` worker threads (each job on one thread, start to finish) and returns
/// the results in job order. The first failure raises `abort` so the other jobs stop early.
pub fn run_parallel<J: Sync, R: Send>(
    jobs: &[J],
    threads: usize,
    abort: &AtomicBool,
    work: impl Fn(&J) -> Result<R> + Sync,
) -> Vec<Result<R>> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<R>>>> =
        Mutex::new((0..jobs.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, jobs.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= jobs.len() {
                        break;
                    }
                    let r = work(&jobs[i]);
                    if r.is_err() {
                        abort.store(true, Ordering::Relaxed);
                    }
                    results.lock().expect("results lock")[i] = Some(r);
                }
            });
        }
    });
    results
        .into_inner()
        .expect("results lock")
        .into_iter()
        .map(|r| r.expect("every job ran"))
        .collect()
}

/// Number of worker threads: the available cores.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
