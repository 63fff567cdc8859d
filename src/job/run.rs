//! One run in its folder (`runs/<run>/`, [`super::layout::RunDir`]): a run that has finished
//! is loaded, one with a checkpoint goes on from it, any other starts; then it trains epoch by
//! epoch, evaluating the validation set after each (and the test set every `test_every`
//! epochs and after the last), measuring the network on the probe set when asked, writing
//! metrics.csv rows and checkpoints as it goes, and its model when it is done. A run that goes
//! on from its checkpoint ends with the numbers of a run never stopped.

use super::checkpoint;
use super::layout::{Lock, RunDir, create_dir, lock, remove_torn_writes};
use super::learner::{Learner, save_chain};
use super::observe::Observer;
use super::probe;
use super::recorder::Recorder;
use super::records::{EpochRecord, FinishedRun, MetricsCsv, Progress};
use super::spec::RunSpec;
use super::stop::{self, Stop};
use crate::areas::FORWARD_ERROR;
use crate::batch::Batch;
use crate::loss::EvalMetrics;
use crate::tasks::Task;
use crate::trainer::{BatchStats, CerebellumMode};
use anyhow::{Result, bail};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

/// How a job drives its runs.
pub struct Drive<'a> {
    /// Raised when a run of the job fails: the others stop at their next batch boundary.
    pub abort: &'a AtomicBool,
    pub observer: &'a dyn Observer,
    /// Go on from checkpoints written with other settings (`--force`).
    pub force: bool,
}

/// How a run ended.
pub enum RunEnd {
    Finished(Box<FinishedRun>),
    /// Stopped early with its checkpoint written, or never started.
    Stopped(Stop),
}

/// Runs `run` in its folder `dir` to its end: loads it if it has finished, goes on from its
/// checkpoint if it has one, else starts it. A run asked to stop before it starts writes
/// nothing. Fails naming the run when its folder is held by another process, its checkpoint
/// is not its own, or its training diverges.
pub fn run_in_folder(run: &RunSpec, dir: &RunDir, drive: &Drive) -> Result<RunEnd> {
    if let Some(why) = stop::requested(drive.abort, drive.observer) {
        return Ok(RunEnd::Stopped(why));
    }
    create_dir(dir.root())?;
    let _claim = match lock(dir.root())? {
        Lock::Held(claim) => {
            if let Some(note) = &claim.note {
                drive.observer.note(note);
            }
            claim
        }
        Lock::Taken(why) => bail!("run folder {} {why}", dir.root().display()),
    };
    remove_torn_writes(dir.root());
    let mut opened = Opened::new(run, dir, drive.force)?;
    crate::data::write_atomically(&dir.config(), run.config.to_toml().as_bytes())?;
    let (measures, areas) = opened.columns();
    let mut csv = MetricsCsv::rebuild(&dir.metrics(), &opened.at.records, &measures, areas)?;
    if !(opened.at.finished(run.config.epochs) && dir.model().exists()) {
        if let Some(why) = opened.train(dir, &mut csv, drive)? {
            return Ok(RunEnd::Stopped(why));
        }
        let metadata = crate::model_file::metadata(&run.label, run.seed(), &run.config);
        opened.finished_model();
        match &opened.learner {
            Learner::One(t) => t.model.save(&dir.model(), &metadata)?,
            Learner::Two(t) => save_chain(&t.model, &dir.model(), &metadata, &[])?,
        }
        if let Some(vocab) = opened.task.vocabulary() {
            vocab.save(&dir.vocab())?;
        }
    }
    let finished = opened.into_finished();
    let (measure, value) = last_test(&finished).headline();
    drive.observer.run_finished(run, measure, value);
    Ok(RunEnd::Finished(Box::new(finished)))
}

/// A finished run as its folder holds it (for a report of runs trained elsewhere). Fails
/// naming the run when it has not finished.
pub fn load_finished(run: &RunSpec, dir: &RunDir) -> Result<FinishedRun> {
    let opened = Opened::new(run, dir, false)?;
    if !opened.at.finished(run.config.epochs) {
        bail!(
            "run {} has not finished: its checkpoint stands at epoch {} of {}",
            run.name(),
            opened.at.epoch,
            run.config.epochs
        );
    }
    Ok(opened.into_finished())
}

fn last_test(run: &FinishedRun) -> &EvalMetrics {
    &run.records.last().expect("a finished run has epochs").test
}

/// A run ready to train: its task, its network with its trainer, and where it stands.
struct Opened<'a> {
    run: &'a RunSpec,
    task: Box<dyn Task>,
    learner: Learner,
    at: Progress,
    /// The run's checkpoint file.
    checkpoint: std::path::PathBuf,
}

impl<'a> Opened<'a> {
    /// Builds the run's task and network, restored from its checkpoint when it has one.
    fn new(run: &'a RunSpec, dir: &RunDir, force: bool) -> Result<Self> {
        let config = &run.config;
        let mut task = config.build_task()?;
        let mut learner = Learner::build(config, task.as_ref())?;
        let checkpoint = dir.checkpoint();
        let at = if checkpoint.exists() {
            let n = task.batches_per_epoch(config.batch_size);
            checkpoint::load(&checkpoint, &mut learner, run, n, force)?
        } else {
            Progress::start()
        };
        // The task stands where it stood after the epochs before (a curriculum's length).
        for r in &at.records {
            task.end_epoch(&r.validation);
        }
        Ok(Opened {
            run,
            task,
            learner,
            at,
            checkpoint,
        })
    }

    /// The task's own measures in metrics.csv, with a two-area run's prediction error of its
    /// forward cerebellum; and whether the run has two areas (their own columns).
    fn columns(&self) -> (Vec<String>, bool) {
        let mut measures = self.task.measure_names();
        let areas = match &self.learner {
            Learner::One(_) => false,
            Learner::Two(t) => {
                if t.model.forward.is_some() {
                    measures.push(FORWARD_ERROR.to_string());
                }
                true
            }
        };
        (measures, areas)
    }

    /// Trains the remaining epochs; returns why it stopped early, if it did.
    fn train(&mut self, dir: &RunDir, csv: &mut MetricsCsv, drive: &Drive) -> Result<Option<Stop>> {
        let config = &self.run.config;
        let mut recorder = match config.record.every {
            0 => None,
            _ => Some(Recorder::open(
                dir.recordings(),
                self.at.epoch,
                self.at.batch,
            )?),
        };
        let probe = probe::probe(self.task.as_ref(), config.record.probe);
        while self.at.epoch <= config.epochs {
            let mode = config.cerebellum_mode(self.at.epoch);
            self.learner.set_epoch(config, self.at.epoch, mode);
            if let Some(why) = self.train_epoch(recorder.as_mut(), drive)? {
                return Ok(Some(why));
            }
            let record = self.epoch_record(mode);
            csv.row(&record)?;
            drive.observer.epoch_finished(self.run, &record);
            self.end_epoch(record, probe.as_ref())?;
        }
        Ok(None)
    }

    /// Trains the rest of the epoch in progress, batch by batch, recording before the batches
    /// `record.every` selects; stops, checkpoint written, when asked to.
    fn train_epoch(
        &mut self,
        mut recorder: Option<&mut Recorder>,
        drive: &Drive,
    ) -> Result<Option<Stop>> {
        let config = &self.run.config;
        let n = self.task.batches_per_epoch(config.batch_size);
        let epoch = self.at.epoch;
        for i in self.at.batch..n {
            if let Some(why) = stop::requested(drive.abort, drive.observer) {
                if !self.at.at_start() {
                    checkpoint::save(&self.checkpoint, &self.learner, self.run, &self.at)?;
                }
                return Ok(Some(why));
            }
            let start = Instant::now();
            let batch = self.task.train_batch(epoch - 1, i, config.batch_size);
            if let Some(r) = recorder.as_deref_mut()
                && config.record.records((epoch - 1) * n + i)
                && let Some(t) = self.learner.one_area()
            {
                r.write(epoch, i, &t.record_batch(&batch))?;
            }
            let stats = self.learner.train_batch(&batch, &mut self.at.sums.areas);
            self.check_finite(&stats, i)?;
            self.at.sums.add(&stats, start.elapsed().as_secs_f64());
            self.at.batch = i + 1;
            drive.observer.batch();
        }
        Ok(None)
    }

    /// Refuses a batch whose loss or gradient is not finite, naming the run, epoch and batch.
    fn check_finite(&self, stats: &BatchStats, i: usize) -> Result<()> {
        if stats.task_loss.is_finite()
            && stats.cerebellum_loss.is_finite()
            && stats.grad_norm.is_finite()
        {
            return Ok(());
        }
        bail!(
            "{} seed {}: training diverged at epoch {}, batch {}: task loss {}, cerebellum loss {}, gradient norm {} \
             (try a smaller `train.lr`, or keep `train.clip` > 0)",
            self.run.label,
            self.run.seed(),
            self.at.epoch,
            i + 1,
            stats.task_loss,
            stats.cerebellum_loss,
            stats.grad_norm
        )
    }

    /// The record of the epoch just trained: its training sums, and the network evaluated.
    fn epoch_record(&self, mode: CerebellumMode) -> EpochRecord {
        let config = &self.run.config;
        let (s, epoch) = (self.at.sums, self.at.epoch);
        let n = self.task.batches_per_epoch(config.batch_size) as f64;
        let learns = matches!(mode, CerebellumMode::Active | CerebellumMode::Silent);
        let (task, learner) = (self.task.as_ref(), &self.learner);
        let tested = epoch.is_multiple_of(config.test_every) || epoch == config.epochs;
        EpochRecord {
            model: self.run.label.clone(),
            seed: config.seed,
            epoch,
            train_loss: s.loss / n,
            train_mse: (s.rows > 0).then(|| s.sq / s.rows as f64),
            cerebellum_loss: learns.then(|| s.cerebellum / n),
            cosine: (s.cosines > 0).then(|| s.cosine / s.cosines as f64),
            grad_norm: s.norm / n,
            validation: learner.evaluate(task, task.validation()),
            test: if tested {
                learner.evaluate(task, task.test())
            } else {
                EvalMetrics::default()
            },
            train_seconds: s.seconds,
            areas: s.areas.map(|a| a.losses(learner.backward_areas())),
        }
    }

    /// Closes the epoch: keeps the best parameters, measures on the probe set, and writes the
    /// checkpoint when it is due.
    fn end_epoch(&mut self, record: EpochRecord, probe: Option<&Batch<f32>>) -> Result<()> {
        let config = &self.run.config;
        let epoch = self.at.epoch;
        if config.keep_best {
            let error = record.validation.error();
            self.at.keep_if_best(epoch, error, self.learner.params());
        }
        if let Some(p) = probe
            && let Some(trainer) = self.learner.one_area()
        {
            let (label, seed) = (&self.run.label, config.seed);
            let measured = probe::measure(trainer, p, label, seed, epoch)?;
            self.at.learning.push(measured);
        }
        self.task.end_epoch(&record.validation);
        self.at.next_epoch(record);
        let every = config.checkpoint_every;
        if epoch == config.epochs || (every > 0 && epoch.is_multiple_of(every)) {
            checkpoint::save(&self.checkpoint, &self.learner, self.run, &self.at)?;
        }
        Ok(())
    }

    /// Sets the parameters the run ends with: with `keep_best`, those of its best epoch.
    fn finished_model(&mut self) {
        if let Some(best) = self.at.best_params.take() {
            *self.learner.state_mut().0 = best;
        }
    }

    fn into_finished(mut self) -> FinishedRun {
        self.finished_model();
        FinishedRun {
            label: self.run.label.clone(),
            seed: self.run.seed(),
            records: self.at.records,
            learning: self.at.learning,
            model: self.learner.into_network(),
        }
    }
}

#[cfg(test)]
mod areas_tests;
#[cfg(test)]
pub(crate) mod tests;
