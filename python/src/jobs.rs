//! Training from Python: one run (`train`), going on with a job (`resume`), an experiment file
//! (`run_experiment`), each a job in its folder as the command line writes it (`ccdni train`,
//! `ccdni resume`, `ccdni run`), run by [`drive`]. Each returns the job folder and its report's
//! text; `job_runs` lists a job folder's runs and their files.

use crate::arrays::{Arrays, Given, names_files};
use crate::drive::{Show, drive};
use crate::settings::overrides;
use crate::to_py;
use anyhow::{Result, bail};
use ccdni::config::{Config, Overrides, TaskKind};
use ccdni::job::layout::{JobDir, claim_output};
use ccdni::job::report::Report;
use ccdni::job::{Ending, Job, spec};
use pyo3::exceptions::{PyFileNotFoundError, PyKeyboardInterrupt, PyValueError};
use pyo3::prelude::*;
use std::path::{Path, PathBuf};
use toml::{Table, Value};

type Settings<'py> = Vec<(String, Bound<'py, PyAny>)>;

/// The job folder and the report's text; `KeyboardInterrupt` when Ctrl-C stopped it (the
/// checkpoints written), saying how to go on.
fn finished(
    (ended, interrupted): (Result<(Ending<Report>, PathBuf)>, bool),
) -> PyResult<(PathBuf, String)> {
    match ended.map_err(to_py)? {
        (Ending::Done(report), dir) if !interrupted => Ok((dir, report.text)),
        (_, dir) => Err(PyKeyboardInterrupt::new_err(format!(
            "interrupted: every unfinished run wrote its checkpoint; go on with ccdni.resume({:?})",
            dir.display().to_string()
        ))),
    }
}

/// One run of the settings (`ccdni train`), in the new or empty folder `out` (default
/// `runs/train-<task>-<model>-seed<k>-<time>`); with `arrays`, a run of the file task on them.
#[pyfunction]
#[pyo3(signature = (settings, file=None, out=None, arrays=None, progress=None, say=None))]
fn train(
    py: Python<'_>,
    settings: Settings<'_>,
    file: Option<PathBuf>,
    out: Option<PathBuf>,
    arrays: Option<Vec<crate::arrays::FromPython<'_>>>,
    progress: Option<Py<PyAny>>,
    say: Option<Py<PyAny>>,
) -> PyResult<(PathBuf, String)> {
    let mut o = overrides(&settings, file)?;
    let (config, arrays) = match arrays {
        None => (
            o.resolve(TaskKind::Reach, &Table::new()).map_err(to_py)?,
            None,
        ),
        Some(given) => {
            if !settings.iter().any(|(k, _)| k == "task") {
                o.settings
                    .insert(0, ("task".into(), Value::String("file".into())));
            }
            // Resolved without the checks that read the arrays: they are not written yet.
            let overlay = o.overlay(&Table::new()).map_err(to_py)?;
            let config = Config::resolve(TaskKind::Reach, &overlay).map_err(to_py)?;
            let arrays = checked_arrays(&config, crate::arrays::given(given))?;
            (config, Some(arrays))
        }
    };
    let name = format!(
        "train-{}-{}-seed{}",
        config.task_name(),
        config.model.label().to_lowercase(),
        config.seed
    );
    let show = Show { progress, say };
    let ended = drive(py, &show, |watch| -> Result<_> {
        let mut job = match &arrays {
            None => Job::create(spec::single_run(config), out.as_deref(), &name, 1)?,
            Some(arrays) => created_with(arrays, o, out.as_deref(), &name)?,
        };
        Ok((job.run(1, false, watch)?, job.dir().root().to_path_buf()))
    })?;
    finished(ended)
}

/// The job of one run on `arrays`: the folder claimed, the arrays written into it and named by
/// the settings, which are then resolved and checked. What was written is removed when they
/// are refused.
fn created_with(arrays: &Arrays, mut o: Overrides, out: Option<&Path>, name: &str) -> Result<Job> {
    let (root, claim) = claim_output(out, name)?;
    let data = JobDir::new(&root).data();
    let job = arrays.write(&data).and_then(|named| {
        o.settings.extend(named);
        let config = o.resolve(TaskKind::Reach, &Table::new())?;
        Job::create_claimed(spec::single_run(config), &root, claim, 1)
    });
    if job.is_err() {
        let _ = std::fs::remove_dir_all(&data);
        let _ = std::fs::remove_dir(&root);
    }
    job
}

/// The arrays, checked for a run of `config`: its task must be the file task, naming no files.
fn checked_arrays(config: &Config, given: Vec<Given>) -> PyResult<Arrays> {
    if config.task != TaskKind::File {
        return Err(PyValueError::new_err(format!(
            "arrays were given, but the task is {}: arrays are the file task's (leave `task` unset, or set it to \"file\")",
            config.task_name()
        )));
    }
    if names_files(&config.file) {
        return Err(PyValueError::new_err(
            "arrays were given, and the settings name the file task's files too (`file.*`): give one or the other",
        ));
    }
    let (arrays, _) = Arrays::check(given, config.file.classes).map_err(to_py)?;
    Ok(arrays)
}

/// Goes on with the job stored in `dir` (`ccdni resume`): every run that has not finished goes
/// on from its checkpoint, with `settings` laid over the job's (a change refused unless
/// `force`).
#[pyfunction]
#[pyo3(signature = (dir, settings, force=false, threads=0, progress=None, say=None))]
fn resume(
    py: Python<'_>,
    dir: PathBuf,
    settings: Settings<'_>,
    force: bool,
    threads: usize,
    progress: Option<Py<PyAny>>,
    say: Option<Py<PyAny>>,
) -> PyResult<(PathBuf, String)> {
    let changes = overrides(&settings, None)?;
    missing(&dir, "job folder")?;
    let show = Show { progress, say };
    let ended = drive(py, &show, |watch| -> Result<_> {
        let mut job = Job::open(&dir, watch)?;
        job.change_settings(&changes, force)?;
        Ok((job.run(threads, force, watch)?, dir.clone()))
    })?;
    finished(ended)
}

/// Runs the experiment file `path` (or a built-in experiment by its bare name, as `ccdni run`
/// does), with `settings` over its base settings.
#[pyfunction]
#[pyo3(signature = (path, settings, seeds=None, first_seed=None, papers=false, out=None, threads=0, progress=None, say=None))]
#[allow(clippy::too_many_arguments)]
fn run_experiment(
    py: Python<'_>,
    path: PathBuf,
    settings: Settings<'_>,
    seeds: Option<u64>,
    first_seed: Option<u64>,
    papers: bool,
    out: Option<PathBuf>,
    threads: usize,
    progress: Option<Py<PyAny>>,
    say: Option<Py<PyAny>>,
) -> PyResult<(PathBuf, String)> {
    let o = overrides(&settings, None)?;
    // A path that does not exist is not an error of the file read (a built-in by its bare
    // name reads): name it as Python names a missing file.
    let file = spec::file::read(&path).map_err(|e| match path.exists() {
        true => to_py(e),
        false => PyFileNotFoundError::new_err(format!("{e:#}")),
    })?;
    let size = spec::file::Size {
        papers,
        first_seed,
        seeds,
    };
    let experiment = file
        .experiment(size, |t| o.resolve(TaskKind::Reach, t))
        .map_err(to_py)?;
    let name = path
        .file_stem()
        .map_or("experiment".into(), |s| s.to_string_lossy().into_owned());
    let show = Show { progress, say };
    let ended = drive(py, &show, |watch| -> Result<_> {
        let mut job = Job::create(experiment, out.as_deref(), &name, threads)?;
        Ok((
            job.run(threads, false, watch)?,
            job.dir().root().to_path_buf(),
        ))
    })?;
    finished(ended)
}

/// A run of a job folder, as Python sees it.
type RunRow = (String, String, u64, PathBuf, PathBuf, PathBuf);

/// The runs of the job stored in `dir`, in its order: name, label, seed, run folder,
/// metrics.csv and model file.
#[pyfunction]
fn job_runs(dir: PathBuf) -> PyResult<Vec<RunRow>> {
    missing(&dir, "job folder")?;
    runs_of(&dir).map_err(to_py)
}

fn runs_of(dir: &Path) -> Result<Vec<RunRow>> {
    let job = JobDir::new(dir);
    if !job.holds_job() {
        bail!(
            "{} is not a ccdni job folder (it has no experiment.toml)",
            dir.display()
        );
    }
    let spec = spec::file::load_stored(&job.config(), &job.experiment())?;
    Ok(spec
        .runs()?
        .iter()
        .map(|r| {
            let d = job.run(&r.name());
            let root = d.root().to_path_buf();
            (
                r.name(),
                r.label.clone(),
                r.seed(),
                root,
                d.metrics(),
                d.model(),
            )
        })
        .collect())
}

/// `FileNotFoundError` for a path that does not exist.
pub fn missing(path: &Path, what: &str) -> PyResult<()> {
    match path.exists() {
        true => Ok(()),
        false => Err(PyFileNotFoundError::new_err(format!(
            "no {what} {}",
            path.display()
        ))),
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(train, m)?)?;
    m.add_function(wrap_pyfunction!(resume, m)?)?;
    m.add_function(wrap_pyfunction!(run_experiment, m)?)?;
    m.add_function(wrap_pyfunction!(job_runs, m)?)?;
    Ok(())
}
