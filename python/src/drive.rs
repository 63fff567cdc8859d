//! Long work off the Python thread. The job runs on a thread of its own with the GIL released;
//! the calling thread waits for it, and every [`TICK`] takes the GIL back for a moment to run
//! Python's signal handlers ([`Python::check_signals`]: Ctrl-C raises `KeyboardInterrupt`
//! there, on the main thread) and to show the progress. A `KeyboardInterrupt` (or any error
//! the progress callback raises) asks the job to stop through [`Observer::interrupted`]: every
//! run stops at its next batch boundary and writes its checkpoint, and the exception is raised
//! once they have, so that `ccdni.resume` goes on from there.

use ccdni::job::observe::Observer;
use ccdni::job::spec::RunSpec;
use pyo3::exceptions::PyKeyboardInterrupt;
use pyo3::prelude::*;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// How often the waiting thread looks at Python (signals, progress).
const TICK: Duration = Duration::from_millis(20);

/// What the job tells, kept for the waiting thread: counts in atomics, lines in a queue.
#[derive(Default)]
pub struct Watch {
    total: AtomicU64,
    done: AtomicU64,
    stop: AtomicBool,
    /// `(kind, text)`: `note` (always shown) or `run` (a run's final measure).
    lines: Mutex<Vec<(&'static str, String)>>,
}

impl Watch {
    fn say(&self, kind: &'static str, text: String) {
        self.lines
            .lock()
            .expect("no panic holds it")
            .push((kind, text));
    }
}

impl Observer for Watch {
    fn start(&self, total: u64, done: u64) {
        self.total.store(total, Ordering::Relaxed);
        self.done.store(done, Ordering::Relaxed);
    }
    fn batch(&self) {
        self.done.fetch_add(1, Ordering::Relaxed);
    }
    fn run_finished(&self, run: &RunSpec, measure: &str, value: f64) {
        self.say(
            "run",
            format!(
                "{} seed {}: test {measure} {value:.6}",
                run.label,
                run.seed()
            ),
        );
    }
    fn note(&self, text: &str) {
        self.say("note", text.to_string());
    }
    fn interrupted(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// What the waiting thread calls in Python: `progress(done, total)` every tick (when given)
/// and `say(kind, text)` for each line.
pub struct Show {
    pub progress: Option<Py<PyAny>>,
    pub say: Option<Py<PyAny>>,
}

impl Show {
    /// Shows what `watch` holds now; an error of a callback is returned (the job then stops).
    fn tick(&self, py: Python<'_>, watch: &Watch) -> PyResult<()> {
        let lines = std::mem::take(&mut *watch.lines.lock().expect("no panic holds it"));
        if let Some(say) = &self.say {
            for (kind, text) in lines {
                say.call1(py, (kind, text))?;
            }
        }
        if let Some(p) = &self.progress {
            let total = watch.total.load(Ordering::Relaxed);
            p.call1(py, (watch.done.load(Ordering::Relaxed), total))?;
        }
        Ok(())
    }
}

/// Runs `work` on its own thread with the GIL released, showing its progress and stopping it
/// on Ctrl-C as the module doc says. Returns what `work` returned and whether Ctrl-C stopped
/// it, or the exception a callback raised (after `work` has ended, its checkpoints written).
pub fn drive<T: Send>(
    py: Python<'_>,
    show: &Show,
    work: impl FnOnce(&Watch) -> T + Send,
) -> PyResult<(T, bool)> {
    let watch = Watch::default();
    let mut raised: Option<PyErr> = None;
    let out = py.detach(|| {
        std::thread::scope(|s| {
            let job = s.spawn(|| work(&watch));
            loop {
                let finished = job.is_finished();
                Python::attach(|py| {
                    let checked = py.check_signals().and_then(|()| show.tick(py, &watch));
                    if let Err(e) = checked
                        && raised.is_none()
                    {
                        watch.stop.store(true, Ordering::Relaxed);
                        raised = Some(e);
                    }
                });
                if finished {
                    break;
                }
                std::thread::sleep(TICK);
            }
            job.join()
        })
    });
    let out = match out {
        Ok(out) => out,
        Err(panic) => std::panic::resume_unwind(panic),
    };
    match raised {
        Some(e) if e.is_instance_of::<PyKeyboardInterrupt>(py) => Ok((out, true)),
        Some(e) => Err(e),
        None => Ok((out, false)),
    }
}
