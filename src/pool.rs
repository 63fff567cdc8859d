//! The threads inside one run: a small persistent pool that the large matrix products
//! ([`crate::gemm`]), the optimizer's update of large parameter tensors ([`crate::optim`]), the
//! caption model's softmax ([`crate::loss`]) and the large elementwise and row-wise loops (the
//! cortex's gates, the cerebellum's ReLU, the bias sums; cut by [`piece`]) split their work over.
//!
//! A run owns its pool and installs it on the thread that trains it ([`install`]) for as long
//! as the run lasts; the engine's loops ask for it with [`each`] and [`threads`]. Nothing is
//! process-wide: another run on another thread has its own pool, or none (one thread). The
//! workers are started once per pool and wait on a condition variable between jobs, so a split
//! costs a wake-up (microseconds), not a thread start; work too small to pay for that stays on
//! the run's thread (each caller has its own size threshold).
//!
//! Every split gives each output element to one thread, computed in the same order as without a
//! split, so a run's numbers do not depend on its thread count (tests in `gemm`, `optim`, `loss`
//! and here).

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::rc::Rc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

/// A pool of `threads - 1` workers plus the thread that calls [`Pool::run`]. Used from one
/// thread at a time (it is not `Sync`).
pub struct Pool {
    threads: usize,
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
    /// A job is in progress: a job started from inside one runs on the caller alone.
    busy: Cell<bool>,
}

/// What the workers and the caller share.
struct Shared {
    state: Mutex<State>,
    /// A job was posted, or the pool is stopping.
    wake: Condvar,
    /// The last task of a job finished.
    done: Condvar,
}

/// The job in progress: its tasks `0..tasks` are handed out in order, `next` being the first
/// not yet taken.
struct State {
    job: Option<Job>,
    next: usize,
    tasks: usize,
    finished: usize,
    panic: Option<Box<dyn Any + Send>>,
    stop: bool,
}

/// A borrowed task function with its lifetime erased; see the SAFETY note in [`Pool::run`].
#[derive(Clone, Copy)]
struct Job(*const (dyn Fn(usize) + Sync + 'static));

// SAFETY: the pointee is `Sync`, so calling it from another thread is sound; the pointer is only
// dereferenced while [`Pool::run`], which keeps the pointee alive, has not returned.
unsafe impl Send for Job {}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // Tasks run outside the lock and their panics are caught, so the lock is never poisoned by
    // a task; take it either way.
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Pool {
    /// A pool for `threads` threads in all (the caller and `threads - 1` workers); 0 counts as 1.
    pub fn new(threads: usize) -> Pool {
        let threads = threads.max(1);
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                job: None,
                next: 0,
                tasks: 0,
                finished: 0,
                panic: None,
                stop: false,
            }),
            wake: Condvar::new(),
            done: Condvar::new(),
        });
        let workers = (1..threads)
            .map(|i| {
                let shared = Arc::clone(&shared);
                std::thread::Builder::new()
                    .name(format!("ccdni-pool-{i}"))
                    .spawn(move || work(&shared))
                    .expect("the operating system refused to start a worker thread")
            })
            .collect();
        Pool {
            threads,
            shared,
            workers,
            busy: Cell::new(false),
        }
    }

    /// The threads of this pool, the caller's included.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Runs `task(i)` for every `i` in `0..tasks`, spread over the pool's threads (the caller's
    /// among them), and returns when all have finished. A panic in a task is raised here, after
    /// the others have finished.
    pub fn run(&self, tasks: usize, task: &(dyn Fn(usize) + Sync)) {
        if self.workers.is_empty() || tasks <= 1 || self.busy.get() {
            (0..tasks).for_each(task);
            return;
        }
        self.busy.set(true);
        // SAFETY: only the lifetime is erased. Workers dereference the pointer only for a task
        // they took from this job; this function does not return before every task of the job
        // has finished (`finished == tasks`, counted after the call), and clears the job before
        // returning, so `task` outlives every use.
        let job = Job(unsafe {
            std::mem::transmute::<
                *const (dyn Fn(usize) + Sync + '_),
                *const (dyn Fn(usize) + Sync + 'static),
            >(task)
        });
        {
            let mut s = lock(&self.shared.state);
            (s.job, s.next, s.tasks, s.finished) = (Some(job), 0, tasks, 0);
        }
        self.shared.wake.notify_all();
        let mut s = lock(&self.shared.state);
        while s.next < s.tasks {
            let i = s.next;
            s.next += 1;
            drop(s);
            let result = catch_unwind(AssertUnwindSafe(|| task(i)));
            s = lock(&self.shared.state);
            s.finish(result, &self.shared.done);
        }
        while s.finished < s.tasks {
            s = self
                .shared
                .done
                .wait(s)
                .unwrap_or_else(PoisonError::into_inner);
        }
        s.job = None;
        let panic = s.panic.take();
        drop(s);
        self.busy.set(false);
        if let Some(p) = panic {
            resume_unwind(p);
        }
    }
}

impl State {
    /// Counts a finished task, keeping the first panic, and wakes the caller after the last.
    fn finish(&mut self, result: std::thread::Result<()>, done: &Condvar) {
        if let Err(p) = result {
            self.panic.get_or_insert(p);
        }
        self.finished += 1;
        if self.finished == self.tasks {
            done.notify_all();
        }
    }
}

/// A worker: takes the tasks of posted jobs until the pool stops.
fn work(shared: &Shared) {
    let mut s = lock(&shared.state);
    loop {
        if s.stop {
            return;
        }
        match s.job {
            Some(job) if s.next < s.tasks => {
                let i = s.next;
                s.next += 1;
                drop(s);
                // SAFETY: task `i` of the job in progress; see `Pool::run`.
                let result = catch_unwind(AssertUnwindSafe(|| unsafe { (*job.0)(i) }));
                s = lock(&shared.state);
                s.finish(result, &shared.done);
            }
            _ => s = shared.wake.wait(s).unwrap_or_else(PoisonError::into_inner),
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        lock(&self.shared.state).stop = true;
        self.shared.wake.notify_all();
        for w in self.workers.drain(..) {
            // A worker never panics outside a task (tasks' panics are caught).
            let _ = w.join();
        }
    }
}

thread_local! {
    /// The pool installed on this thread by [`install`].
    static INSTALLED: RefCell<Option<Rc<Pool>>> = const { RefCell::new(None) };
}

/// Runs `f` with `pool` installed on this thread: the engine's large products and loops that
/// `f` runs split over it. The previous installation (usually none) is restored afterwards,
/// also when `f` panics.
pub fn install<R>(pool: Pool, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Rc<Pool>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            INSTALLED.with(|p| *p.borrow_mut() = self.0.take());
        }
    }
    let _restore = Restore(INSTALLED.with(|p| p.borrow_mut().replace(Rc::new(pool))));
    f()
}

/// The threads of the pool installed on this thread, 1 without one.
pub fn threads() -> usize {
    INSTALLED.with(|p| p.borrow().as_ref().map_or(1, |p| p.threads()))
}

/// Runs `f` on every item, on the installed pool's threads (each item on one thread), or here
/// one after the other without a pool. Returns when every item is done.
pub fn each<I: Send>(items: Vec<I>, f: impl Fn(I) + Sync) {
    if items.len() <= 1 {
        // One piece (a loop below its threshold): no need to look for the pool.
        return items.into_iter().for_each(f);
    }
    let pool = INSTALLED.with(|p| p.borrow().clone());
    match pool {
        Some(pool) => {
            let slots: Vec<Mutex<Option<I>>> =
                items.into_iter().map(|i| Mutex::new(Some(i))).collect();
            pool.run(slots.len(), &|i| {
                let item = slots[i]
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .take();
                f(item.expect("each item is taken once"));
            });
        }
        _ => items.into_iter().for_each(f),
    }
}

/// Elementwise and row-wise loops over at least this many values are split over the run's
/// pool ([`piece`]): half a megabyte of `f32`, tens of microseconds of memory traffic on one
/// core, against a few microseconds to wake a worker. The caption model's readout bias
/// (400 × 9956) and cerebellum (200 boundary rows × 1024 per window) are above it, and so is
/// the reach ccRNN's cerebellum (550 × 400); every loop of the MNIST-sized model is below it.
pub const LOOP_MIN: usize = 1 << 17;

/// The length of the pieces a loop over `items` items (rows, columns or single values;
/// `values` values in all) is cut into for [`each`]: one piece per thread of the installed pool,
/// a multiple of `align` items, when `values >= min`; else `items`, one piece on the run's
/// thread. A loop that computes each item within its piece as one pass would (elementwise or
/// row by row) gives the same numbers on every thread count.
pub fn piece(items: usize, values: usize, min: usize, align: usize) -> usize {
    let parts = if values >= min { threads() } else { 1 };
    items.div_ceil(parts).next_multiple_of(align.max(1)).max(1)
}

/// Boundaries that cut `0..len` into at most `parts` pieces of equal size rounded up to a
/// multiple of `align` (the last piece takes the rest): `[0, b1, …, len]`. Depends on `len`,
/// `parts` and `align` only.
pub fn bounds(len: usize, parts: usize, align: usize) -> Vec<usize> {
    let piece = len
        .div_ceil(parts.max(1))
        .next_multiple_of(align.max(1))
        .max(1);
    let mut b: Vec<usize> = (0..len).step_by(piece).collect();
    b.push(len);
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn every_task_runs_once_on_every_pool_size() {
        for threads in 1..=4 {
            let pool = Pool::new(threads);
            for tasks in [0, 1, 2, 3, 17] {
                let counts: Vec<AtomicUsize> = (0..tasks).map(|_| AtomicUsize::new(0)).collect();
                pool.run(tasks, &|i| {
                    counts[i].fetch_add(1, Ordering::Relaxed);
                });
                assert!(counts.iter().all(|c| c.load(Ordering::Relaxed) == 1));
            }
        }
    }

    #[test]
    fn the_work_is_spread_over_the_threads() {
        let pool = Pool::new(3);
        let names = Mutex::new(std::collections::BTreeSet::new());
        // Each task waits until three tasks have started, so all three threads must take one.
        let started = AtomicUsize::new(0);
        pool.run(3, &|_| {
            started.fetch_add(1, Ordering::SeqCst);
            while started.load(Ordering::SeqCst) < 3 {
                std::thread::yield_now();
            }
            let name = std::thread::current().name().map(str::to_owned);
            names.lock().unwrap().insert(name);
        });
        assert_eq!(names.into_inner().unwrap().len(), 3);
    }

    #[test]
    fn a_panicking_task_is_raised_after_the_others_and_the_pool_goes_on() {
        let pool = Pool::new(2);
        let ran = AtomicUsize::new(0);
        let r = catch_unwind(AssertUnwindSafe(|| {
            pool.run(4, &|i| {
                ran.fetch_add(1, Ordering::SeqCst);
                assert!(i != 2, "task two fails");
            })
        }));
        assert!(r.is_err());
        assert_eq!(ran.load(Ordering::SeqCst), 4);
        let after = AtomicUsize::new(0);
        pool.run(5, &|_| {
            after.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(after.load(Ordering::SeqCst), 5);
    }

    #[test]
    fn each_uses_the_installed_pool_and_nested_work_runs_in_place() {
        assert_eq!(threads(), 1);
        let sums = install(Pool::new(2), || {
            assert_eq!(threads(), 2);
            let sums: Vec<Mutex<usize>> = (0..4).map(|_| Mutex::new(0)).collect();
            each((0..4).collect(), |i: usize| {
                // A split inside a split runs on this task's thread.
                each((0..10).collect(), |j: usize| *sums[i].lock().unwrap() += j);
            });
            sums.into_iter()
                .map(|s| s.into_inner().unwrap())
                .collect::<Vec<_>>()
        });
        assert_eq!(sums, vec![45; 4]);
        assert_eq!(threads(), 1, "the installation ends with the closure");
    }

    #[test]
    fn pieces_are_one_per_thread_above_the_threshold_only() {
        assert_eq!(
            piece(400, 400 * 9956, LOOP_MIN, 1),
            400,
            "no pool: one piece"
        );
        install(Pool::new(3), || {
            assert_eq!(piece(400, 400 * 9956, LOOP_MIN, 1), 134);
            assert_eq!(piece(400, 400 * 9956, LOOP_MIN, 16), 144);
            assert_eq!(
                piece(500, 500 * 50, LOOP_MIN, 1),
                500,
                "below the threshold"
            );
            assert_eq!(piece(0, 0, 0, 1), 1, "never zero, for chunks");
        });
    }

    #[test]
    fn bounds_cover_the_range_in_aligned_pieces() {
        assert_eq!(bounds(100, 2, 16), vec![0, 64, 100]);
        assert_eq!(bounds(9956, 2, 16), vec![0, 4992, 9956]);
        assert_eq!(bounds(10, 4, 1), vec![0, 3, 6, 9, 10]);
        assert_eq!(bounds(5, 1, 16), vec![0, 5]);
        assert_eq!(bounds(0, 3, 16), vec![0]);
    }
}
