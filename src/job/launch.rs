//! Launching a job's runs into their folders: on this machine, several at once, one per thread
//! ([`launch`]), all of them or one slice ([`Shard`]: a job spread over many processes, a
//! Slurm job array, each running its slice into the same job folder). We parallelise across
//! runs, never inside the small matrix products of one run.

use super::layout::JobDir;
use super::observe::Observer;
use super::records::FinishedRun;
use super::run::{Drive, RunEnd, run_in_folder};
use super::spec::RunSpec;
use super::stop::{Ending, Stop};
use crate::tasks::Task;
use anyhow::{Context, Result, bail};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// One slice of a job's runs: the runs `j` (variant-major, seed-minor order) with
/// `j mod count == index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// `I/N` (0 <= I < N), or `slurm`: the array task's `SLURM_ARRAY_TASK_ID` (less
    /// `SLURM_ARRAY_TASK_MIN`) of `SLURM_ARRAY_TASK_COUNT`.
    pub fn parse(spec: &str) -> Result<Shard> {
        let (index, count) = if spec == "slurm" {
            let var = |name: &str| -> Result<usize> {
                let v = std::env::var(name).with_context(|| {
                    format!("--shard slurm: ${name} is not set (is this a Slurm array task?)")
                })?;
                v.trim()
                    .parse()
                    .with_context(|| format!("--shard slurm: ${name} = {v:?} is not a count"))
            };
            let min = std::env::var("SLURM_ARRAY_TASK_MIN")
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            let id = var("SLURM_ARRAY_TASK_ID")?;
            (id.saturating_sub(min), var("SLURM_ARRAY_TASK_COUNT")?)
        } else {
            let parsed = spec
                .split_once('/')
                .and_then(|(i, n)| Some((i.trim().parse().ok()?, n.trim().parse().ok()?)));
            parsed.with_context(|| {
                format!("--shard {spec}: expected I/N (shard I of N, 0 <= I < N) or `slurm`")
            })?
        };
        if count == 0 || index >= count {
            bail!("--shard {spec}: shard {index} of {count} does not exist (0 <= I < N, N >= 1)");
        }
        Ok(Shard { index, count })
    }

    /// Whether run `j` is this shard's.
    pub fn takes(&self, j: usize) -> bool {
        j % self.count == self.index
    }
}

/// Runs `runs` into their folders of `job`, at most `threads` at once, each to its end (see
/// [`run_in_folder`]), and returns the finished runs in the order given. The first failure
/// stops the other runs at their next batch boundary, checkpoint written; an interruption does
/// the same, and no further run starts. Returns the failure of the run that failed (not of
/// those it stopped).
pub fn launch(
    runs: &[RunSpec],
    job: &JobDir,
    threads: usize,
    force: bool,
    observer: &dyn Observer,
) -> Result<Ending<Vec<FinishedRun>>> {
    let abort = AtomicBool::new(false);
    let drive = Drive {
        abort: &abort,
        observer,
        force,
    };
    let share = Parallelism::new(threads, runs.len());
    let ends = in_parallel(runs, share.runs, &abort, |r| {
        let pool = crate::pool::Pool::new(share.per_run);
        crate::pool::install(pool, || run_in_folder(r, &job.run(&r.name()), &drive))
    });
    observer.end();
    let (mut finished, mut errors, mut interrupted) = (Vec::new(), Vec::new(), false);
    for end in ends {
        match end {
            Ok(RunEnd::Finished(f)) => finished.push(*f),
            Ok(RunEnd::Stopped(why)) => interrupted |= why == Stop::Interrupted,
            Err(e) => errors.push(e),
        }
    }
    if let Some(first) = errors.into_iter().next() {
        bail!(
            "{first:#}\n(the epochs that finished are in the run folders of {}{}; each run's checkpoint lets it go on)",
            job.root().display(),
            if interrupted {
                ", and the job was interrupted"
            } else {
                ""
            }
        );
    }
    if interrupted {
        return Ok(Ending::Interrupted);
    }
    Ok(Ending::Done(finished))
}

/// How a job's cores are shared out: `runs` train at once, each on `per_run` threads (its
/// thread and `per_run - 1` workers that share its large products, see [`crate::pool`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parallelism {
    pub runs: usize,
    pub per_run: usize,
}

impl Parallelism {
    /// `threads` cores in all for a job of `runs` runs: runs first, as many at once as there are
    /// cores (runs share nothing, so they scale best), and the cores left over shared evenly
    /// inside them (one caption model on 32 cores trains on all 32). A remainder that does
    /// not divide evenly stays idle.
    pub fn new(threads: usize, runs: usize) -> Parallelism {
        let runs = threads.clamp(1, runs.max(1));
        Parallelism {
            runs,
            per_run: (threads / runs).max(1),
        }
    }
}

/// Runs `work` on each item on `threads` worker threads (each item on one thread, start to
/// finish) and returns the results in item order. The first failure raises `abort`.
fn in_parallel<J: Sync, R: Send>(
    items: &[J],
    threads: usize,
    abort: &AtomicBool,
    work: impl Fn(&J) -> Result<R> + Sync,
) -> Vec<Result<R>> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<R>>>> =
        Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, items.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= items.len() {
                        break;
                    }
                    let r = work(&items[i]);
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
        .map(|r| r.expect("every item ran"))
        .collect()
}

/// The threads a job uses by default: the available cores.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `threads`, or all cores for 0.
pub fn threads_or_all(threads: usize) -> usize {
    if threads == 0 {
        default_threads()
    } else {
        threads
    }
}

/// Refuses, before anything is written, runs that would not fit in memory when `threads` of
/// them train at once (see [`crate::config::check_memory`]; `task` is the first run's, for its
/// sizes).
pub fn check_memory(runs: &[RunSpec], threads: usize, task: &dyn Task) -> Result<()> {
    let sizes = crate::tasks::Sizes {
        input: task.input_size(),
        output: task.output_size(),
        context: task.context_size(),
    };
    let at_once = threads.clamp(1, runs.len().max(1));
    crate::config::check_memory(runs.iter().map(|r| &r.config), at_once, sizes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_specs_are_checked() {
        assert_eq!(Shard::parse("1/3").unwrap(), Shard { index: 1, count: 3 });
        for (spec, needle) in [
            ("3/2", "shard 3 of 2 does not exist"),
            ("0/0", "shard 0 of 0 does not exist"),
            ("2/2", "shard 2 of 2"),
            ("a/2", "expected I/N"),
            ("2", "expected I/N"),
            ("-1/2", "expected I/N"),
        ] {
            let msg = format!("{:#}", Shard::parse(spec).unwrap_err());
            assert!(msg.contains(needle), "{spec}: {msg}");
        }
        let s = Shard { index: 1, count: 3 };
        let taken: Vec<usize> = (0..8).filter(|&j| s.takes(j)).collect();
        assert_eq!(taken, [1, 4, 7]);
    }

    #[test]
    fn cores_go_to_runs_first_and_the_rest_inside_them() {
        let p = |threads, runs| {
            let p = Parallelism::new(threads, runs);
            (p.runs, p.per_run)
        };
        assert_eq!(p(1, 10), (1, 1));
        assert_eq!(p(8, 20), (8, 1), "many seeds: one run per core");
        assert_eq!(p(32, 1), (1, 32), "one caption model: every core inside it");
        assert_eq!(p(8, 3), (3, 2), "the remainder stays idle");
        assert_eq!(p(2, 0), (1, 2));
    }

    #[test]
    fn the_first_failure_is_returned_in_order_and_raises_the_abort() {
        let abort = AtomicBool::new(false);
        let items: Vec<usize> = (0..6).collect();
        let out = in_parallel(&items, 3, &abort, |&i| {
            if i == 4 {
                bail!("item {i} failed")
            } else {
                Ok(i * 10)
            }
        });
        let got: Vec<String> = out
            .iter()
            .map(|r| match r {
                Ok(v) => v.to_string(),
                Err(e) => e.to_string(),
            })
            .collect();
        assert_eq!(got, ["0", "10", "20", "30", "item 4 failed", "50"]);
        assert!(abort.load(Ordering::Relaxed));
    }
}
