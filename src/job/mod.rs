//! The job layer: everything above the training step that turns runs into results. A job is
//! an experiment ([`spec`]) stored in its folder; each of its runs trains in its own run folder
//! ([`layout`]), and the job is reported once all have finished. The stages are separate:
//! launching trains runs and never reports, reporting reads finished runs and never launches,
//! and going on with a job runs the experiment stored in its folder.
//!
//! | module | what |
//! |---|---|
//! | [`spec`] | the experiment: variants × seeds over a base configuration; experiment files, built-in jobs, sweeps |
//! | [`layout`] | every path of a job folder and a run folder; claiming folders with a lock |
//! | [`run`] | one run in its folder: finished → loaded, checkpoint → goes on, else starts; its epochs |
//! | [`learner`] | what a run trains: one cortical area, or two in a chain (`[areas]`) |
//! | [`checkpoint`] | a run's checkpoint: save, load and the one settings check |
//! | [`records`] | what a run produces: epoch records, measures over learning, where it stands |
//! | [`probe`], [`recorder`] | the measures over learning on a probe set; recordings as `.npy` arrays |
//! | [`mod@launch`] | runs on threads, all of them or one shard; the memory check |
//! | [`stop`], [`observe`] | stopping early (interrupts, failures); what a job tells whoever runs it |
//! | [`report`] | metrics, summary, comparisons, plots and figures of a finished job |
//! | [`slurm`] | Slurm job-array scripts |
//! | [`eval`] | a saved model's test measures and drawings |
//!
//! [`Job`] drives the stages: [`Job::create`] (a new job), [`Job::open`] (a job in its folder:
//! go on, or report), [`Job::share`] and [`Job::open_shared`] (a job spread over processes,
//! each running a shard of its runs).

pub mod checkpoint;
pub mod eval;
pub mod launch;
pub mod layout;
pub mod learner;
pub mod observe;
pub mod probe;
pub mod recorder;
pub mod records;
pub mod report;
pub mod run;
pub mod slurm;
pub mod spec;
pub mod stop;

use crate::config::Overrides;
use anyhow::{Context, Result, bail};
use launch::{Shard, check_memory, launch, threads_or_all};
use layout::{Claim, JobDir, claim_output, create_dir, held, lock};
use observe::Observer;
use records::FinishedRun;
use report::Report;
use spec::{Experiment, RunSpec};
use std::path::Path;
pub use stop::Ending;

/// A job in its folder, ready to train or report.
pub struct Job {
    spec: Experiment,
    runs: Vec<RunSpec>,
    dir: JobDir,
    /// The folder's lock, while this process holds the whole job.
    claim: Option<Claim>,
}

impl Job {
    /// A new job of `spec` in a new folder, `out` or `runs/<name>-<time>`, checked (settings,
    /// data, memory for `threads` runs at once) before anything is written; its experiment is
    /// stored in the folder.
    pub fn create(spec: Experiment, out: Option<&Path>, name: &str, threads: usize) -> Result<Job> {
        let (spec, runs) = checked(spec, threads)?;
        let (root, claim) = claim_output(out, name)?;
        Job::created(spec, runs, JobDir::new(root), claim)
    }

    /// As [`Job::create`], in the folder `root` this process has claimed already
    /// ([`layout::claim_output`]) and written the job's arrays to ([`JobDir::data`]): the
    /// Python package's job of arrays handed in memory.
    pub fn create_claimed(
        spec: Experiment,
        root: &Path,
        claim: Claim,
        threads: usize,
    ) -> Result<Job> {
        let (spec, runs) = checked(spec, threads)?;
        Job::created(spec, runs, JobDir::new(root), claim)
    }

    /// The new job in `dir`, its experiment stored there.
    fn created(spec: Experiment, runs: Vec<RunSpec>, dir: JobDir, claim: Claim) -> Result<Job> {
        spec::file::store(&spec, &dir.config(), &dir.experiment())?;
        Ok(Job {
            spec,
            runs,
            dir,
            claim: Some(claim),
        })
    }

    /// The job stored in the folder `dir`, to go on with or to report. Takes the folder's lock,
    /// removes the writes a crash tore, and moves the files of a folder of the first layout into
    /// their run folders (`observer` hears of it).
    pub fn open(dir: &Path, observer: &dyn Observer) -> Result<Job> {
        let dir = holding_a_job(dir)?;
        let claim = lock(dir.root())?.or_fail(dir.root())?;
        if let Some(note) = &claim.note {
            observer.note(note);
        }
        layout::remove_torn_writes(dir.root());
        let mut job = Job::stored(dir)?;
        job.claim = Some(claim);
        let names: Vec<String> = job.runs.iter().map(RunSpec::name).collect();
        let moved = job.dir.move_first_layout(&names)?;
        if moved > 0 {
            observer.note(&format!(
                "moved {moved} files of this folder's first layout into its run folders (runs/<run>/)"
            ));
        }
        Ok(job)
    }

    /// The job `spec` in the folder `dir` it shares with other processes, each running a shard
    /// of its runs: the first to come stores the experiment there, the others check that the
    /// folder holds the same. Another is refused, naming the settings, unless `force`, which
    /// stores it and records the change in `resume.log`. No lock is taken on the folder (each
    /// run locks its own), but a folder whose whole job a live process holds is refused.
    pub fn share(spec: Experiment, dir: &Path, force: bool, threads: usize) -> Result<Job> {
        let (spec, runs) = checked(spec, threads)?;
        let dir = JobDir::new(dir);
        create_dir(dir.root()).context("cannot create the job folder")?;
        not_held(&dir)?;
        if !store_first(&spec, &dir)? {
            let stored = spec::file::load_stored(&dir.config(), &dir.experiment())?;
            let changes = spec.changes_from(&stored);
            if !changes.is_empty() {
                let list = changes.join("\n  ");
                if !force {
                    bail!(
                        "{} holds another job:\n  {list}\nchoose another folder, or, for a shard, pass --force to go on with the new settings",
                        dir.root().display()
                    );
                }
                record_change(&dir.resume_log(), &list)?;
                spec::file::store(&spec, &dir.config(), &dir.experiment())?;
            }
        }
        Ok(Job {
            spec,
            runs,
            dir,
            claim: None,
        })
    }

    /// The job stored in the folder `dir`, to run a shard of (`resume --shard`), as
    /// [`Job::share`] with the folder's own experiment.
    pub fn open_shared(dir: &Path) -> Result<Job> {
        let dir = holding_a_job(dir)?;
        not_held(&dir)?;
        if dir.has_first_layout() {
            bail!(
                "{} has the layout of an older ccdni: go on with it once with `ccdni resume {}` (without --shard), which moves its files into run folders",
                dir.root().display(),
                dir.root().display()
            );
        }
        Job::stored(dir)
    }

    /// The job stored in `dir`, without a claim.
    fn stored(dir: JobDir) -> Result<Job> {
        let spec = spec::file::load_stored(&dir.config(), &dir.experiment())?;
        let runs = spec.runs()?;
        Ok(Job {
            spec,
            runs,
            dir,
            claim: None,
        })
    }

    pub fn spec(&self) -> &Experiment {
        &self.spec
    }

    pub fn dir(&self) -> &JobDir {
        &self.dir
    }

    pub fn runs(&self) -> &[RunSpec] {
        &self.runs
    }

    /// Lays `overrides` over the stored experiment's base settings (`resume --set`). A change
    /// is refused, naming each setting, unless `force`, which records it in `resume.log` and
    /// stores the changed experiment.
    pub fn change_settings(&mut self, overrides: &Overrides, force: bool) -> Result<()> {
        let base = toml::Table::try_from(&self.spec.base).context("serialising the settings")?;
        let changed = Experiment {
            base: overrides.resolve(self.spec.base.task, &base)?,
            ..self.spec.clone()
        };
        let changes = changed.changes_from(&self.spec);
        if changes.is_empty() {
            return Ok(());
        }
        let list = changes.join("\n  ");
        if !force {
            bail!(
                "the settings differ from those of the job in {}:\n  {list}\n\
                 resume with the job's own settings, or pass --force to go on with the new ones \
                 (the change is then recorded in resume.log)",
                self.dir.root().display()
            );
        }
        self.runs = changed.runs()?;
        record_change(&self.dir.resume_log(), &list)?;
        spec::file::store(&changed, &self.dir.config(), &self.dir.experiment())?;
        self.spec = changed;
        Ok(())
    }

    /// Trains every run that has not finished, at most `threads` at once (0: all cores), then
    /// reports the job. `force` goes on from checkpoints of other settings.
    pub fn run(
        &mut self,
        threads: usize,
        force: bool,
        observer: &dyn Observer,
    ) -> Result<Ending<Report>> {
        self.hold()?;
        match self.launch(&self.runs, threads, force, observer)? {
            Ending::Interrupted => Ok(Ending::Interrupted),
            Ending::Done(finished) => {
                report::write(&self.spec, &finished, &self.dir).map(Ending::Done)
            }
        }
    }

    /// Trains this shard's runs that have not finished, at most `threads` at once. No report:
    /// [`Job::report`] it once every shard has finished.
    pub fn run_shard(
        &self,
        shard: Shard,
        threads: usize,
        force: bool,
        observer: &dyn Observer,
    ) -> Result<Ending<()>> {
        let mine: Vec<RunSpec> = (self.runs.iter().enumerate())
            .filter(|(j, _)| shard.takes(*j))
            .map(|(_, r)| r.clone())
            .collect();
        observer.note(&format!(
            "shard {} of {}: {} of the {} runs",
            shard.index,
            shard.count,
            mine.len(),
            self.runs.len()
        ));
        Ok(match self.launch(&mine, threads, force, observer)? {
            Ending::Done(_) => Ending::Done(()),
            Ending::Interrupted => Ending::Interrupted,
        })
    }

    /// Launches `runs`, after checking, before any of them trains, the memory of `threads` of
    /// them at once, that no other process trains one of them, and every checkpoint they would
    /// go on from.
    fn launch(
        &self,
        runs: &[RunSpec],
        threads: usize,
        force: bool,
        observer: &dyn Observer,
    ) -> Result<Ending<Vec<FinishedRun>>> {
        let threads = threads_or_all(threads);
        let task = first_task(runs, threads)?;
        self.check_runs(runs, force)?;
        let n = |r: &RunSpec| task.batches_per_epoch(r.config.batch_size) as u64;
        let total = runs.iter().map(|r| r.config.epochs as u64 * n(r)).sum();
        let done = runs.iter().map(|r| self.epochs_done(r) * n(r)).sum();
        // Each run builds its own task: this one's data goes before they do.
        drop(task);
        observer.start(total, done);
        launch(runs, &self.dir, threads, force, observer)
    }

    /// Reports the job from its finished runs, loaded from their folders. Refuses, writing
    /// nothing, while runs have not finished, naming them, and runs of other settings than the
    /// job's, naming the settings.
    pub fn report(&mut self) -> Result<Report> {
        let finished = self.finished_runs(None)?;
        report::write(&self.spec, &finished, &self.dir)
    }

    /// The job's finished runs (those of the variants `labels` only, when given), loaded from
    /// their folders in the experiment's run order. Refuses while any of them has not
    /// finished, naming them, and runs of other settings than the job's, naming the settings.
    pub fn finished_runs(&mut self, labels: Option<&[&str]>) -> Result<Vec<FinishedRun>> {
        self.hold()?;
        let runs: Vec<&RunSpec> = (self.runs.iter())
            .filter(|r| labels.is_none_or(|l| l.contains(&r.label.as_str())))
            .collect();
        let (mut missing, mut differing) = (Vec::new(), Vec::new());
        for r in &runs {
            let path = self.dir.run(&r.name()).checkpoint();
            if !path.exists() {
                missing.push(format!("{} (not started)", r.name()));
                continue;
            }
            let p = checkpoint::peek(&path)?;
            let changed = p
                .changes(r)
                .with_context(|| format!("checkpoint {}", path.display()))?;
            if !changed.is_empty() {
                differing.push(format!("{}: {}", path.display(), changed.join(", ")));
            } else if !p.finished() {
                missing.push(format!(
                    "{} (at epoch {} of {})",
                    r.name(),
                    p.epoch,
                    p.config.epochs
                ));
            }
        }
        if !differing.is_empty() {
            bail!(
                "runs in {} were trained with other settings than the job's:\n  {}",
                self.dir.root().display(),
                differing.join("\n  ")
            );
        }
        if !missing.is_empty() {
            bail!(
                "{} of the {} runs in {} have not finished: {}\n(go on with them with `ccdni resume {}`, or start their shards again: each goes on from its checkpoints)",
                missing.len(),
                runs.len(),
                self.dir.root().display(),
                missing.join(", "),
                self.dir.root().display()
            );
        }
        (runs.iter())
            .map(|r| run::load_finished(r, &self.dir.run(&r.name())))
            .collect()
    }

    /// Takes the folder's lock, unless this process holds it already.
    fn hold(&mut self) -> Result<()> {
        if self.claim.is_none() {
            self.claim = Some(lock(self.dir.root())?.or_fail(self.dir.root())?);
        }
        Ok(())
    }

    /// Refuses, before any run trains, a run another live process trains (another shard or
    /// job), and a checkpoint of `runs` that its run cannot go on from (damaged, another run's,
    /// other settings unless `force`).
    fn check_runs(&self, runs: &[RunSpec], force: bool) -> Result<()> {
        for r in runs {
            let dir = self.dir.run(&r.name());
            if let Some(holder) = held(dir.root()) {
                bail!(
                    "run {} is being trained by {holder} (another shard or job): wait for it to end, or stop it",
                    dir.root().display()
                );
            }
            let path = dir.checkpoint();
            if path.exists() {
                checkpoint::check(&path, r, force)?;
            }
        }
        Ok(())
    }

    /// The epochs a run has finished (its metrics.csv rows), for the progress.
    fn epochs_done(&self, r: &RunSpec) -> u64 {
        std::fs::read_to_string(self.dir.run(&r.name()).metrics())
            .map_or(0, |t| t.lines().count().saturating_sub(1) as u64)
    }
}

/// The folder `dir`, which must hold a job.
fn holding_a_job(dir: &Path) -> Result<JobDir> {
    let dir = JobDir::new(dir);
    let root = dir.root();
    if !dir.holds_job() {
        let why = if root.is_dir() {
            "it has no experiment.toml"
        } else if root.exists() {
            "it is a file, not a folder"
        } else {
            "no such folder"
        };
        bail!("{} is not a ccdni job folder ({why})", root.display());
    }
    Ok(dir)
}

/// Refuses a folder whose whole job a live process holds (a shard cannot run beside it).
fn not_held(dir: &JobDir) -> Result<()> {
    match held(dir.root()) {
        Some(holder) => bail!(
            "the job in {} is held by {holder}, which runs or reports it: a shard cannot run beside it; wait for it to end",
            dir.root().display()
        ),
        None => Ok(()),
    }
}

/// The experiment with its base settings' paths made absolute, checked, and its runs, after
/// checking what launching `threads` of them at once needs ([`first_task`]).
fn checked(mut spec: Experiment, threads: usize) -> Result<(Experiment, Vec<RunSpec>)> {
    spec.base = spec.base.with_absolute_paths()?;
    spec.check()?;
    let runs = spec.runs()?;
    first_task(&runs, threads_or_all(threads))?;
    Ok((spec, runs))
}

/// The first run's task (the sizes every run shares; data sets are cached), built once the
/// memory `threads` of `runs` need at once is known to fit, from their settings alone (building
/// the task may be what does not fit), then checked again with the task's sizes.
fn first_task(runs: &[RunSpec], threads: usize) -> Result<Box<dyn crate::tasks::Task>> {
    let Some(first) = runs.first() else {
        bail!("the job has no runs");
    };
    let at_once = threads.clamp(1, runs.len());
    let sizes = first.config.task_sizes();
    crate::config::check_memory(runs.iter().map(|r| &r.config), at_once, sizes)?;
    let task = first.config.build_task()?;
    check_memory(runs, threads, task.as_ref())?;
    Ok(task)
}

/// Stores `spec` in `dir` unless a job is stored there; returns whether it did. Of two processes
/// storing at once, one does and the other finds the stored job: the pair is written to a
/// private folder and linked in.
fn store_first(spec: &Experiment, dir: &JobDir) -> Result<bool> {
    if dir.holds_job() {
        return Ok(false);
    }
    let tmp = JobDir::new(dir.root().join(format!(".job-{}", std::process::id())));
    create_dir(tmp.root())?;
    spec::file::store(spec, &tmp.config(), &tmp.experiment())?;
    let linked = std::fs::hard_link(tmp.config(), dir.config())
        .and_then(|()| std::fs::hard_link(tmp.experiment(), dir.experiment()));
    let _ = std::fs::remove_dir_all(tmp.root());
    Ok(linked.is_ok())
}

/// Appends a forced change of settings to `resume.log`.
fn record_change(path: &Path, list: &str) -> Result<()> {
    use std::io::Write;
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    write!(
        f,
        "resumed at unix time {secs} with changed settings (--force):\n  {list}\n"
    )
    .and_then(|()| f.sync_all())
    .with_context(|| format!("cannot write {}", path.display()))
}
