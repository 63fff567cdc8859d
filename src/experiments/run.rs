//! A single training run: one configuration and seed from start to finish ([`train`]), with its
//! per-epoch figures and evaluation on the validation and test sets.

use super::checkpoint::{self, Progress};
use super::learning::LearningRecord;
use super::recorder::Recorder;
use super::stop::{self, Aborted, Interrupted};
use crate::config::Config;
use crate::loss::{EvalMetrics, EvalSums};
use crate::model::{Model, ModelSpec};
use crate::tasks::Task;
use crate::trainer::{Batch, Trainer};
use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// The figures of one epoch of one run (a row of metrics.csv).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    pub model: String,
    pub seed: u64,
    /// 1-based.
    pub epoch: usize,
    /// Mean over the epoch's batches of the summed window task losses.
    pub train_loss: f64,
    /// Drawing tasks: squared error at the feedback steps (summed over outputs, mean over rows).
    pub train_mse: Option<f64>,
    /// Mean over batches of the cerebellum's summed squared error (when it learns).
    pub cerebellum_loss: Option<f64>,
    /// Mean cosine between cerebellar prediction and teaching signal at window boundaries.
    pub cosine: Option<f64>,
    /// Mean global gradient norm before clipping.
    pub grad_norm: f64,
    pub validation: EvalMetrics,
    pub test: EvalMetrics,
    /// Wall-clock seconds of the epoch's training steps (evaluation excluded; a resumed epoch
    /// counts the seconds before and after the stop).
    pub train_seconds: f64,
}

/// A finished run.
pub struct RunResult {
    pub label: String,
    pub seed: u64,
    pub records: Vec<EpochRecord>,
    /// The measures over learning after each epoch (empty unless `record.probe` > 0).
    pub learning: Vec<LearningRecord>,
    pub model: Model<f32>,
}

/// Measures a model on a set of batches (whole sequences from a zero state, no cerebellum).
pub fn evaluate(model: &Model<f32>, batches: &[Batch<f32>]) -> EvalMetrics {
    let mut sums = EvalSums::default();
    let (mut trace, mut x, mut y) = (None, Vec::new(), Vec::new());
    for b in batches {
        let inputs = model.inputs(b, &mut x);
        model.predict_into(inputs, b.steps, b.batch, &mut trace, &mut y);
        sums.add(&b.target, &y, b.steps, b.batch);
    }
    sums.finish()
}

/// What a run reports to, and how it is stopped and checkpointed.
pub struct Hooks<'a> {
    /// Raised when another run of the experiment failed: stop at the next batch boundary.
    pub abort: &'a AtomicBool,
    /// Called after every training batch (progress).
    pub on_batch: &'a (dyn Fn() + Sync),
    /// Called with every finished epoch's record (metrics.csv).
    pub on_epoch: &'a mut dyn FnMut(&EpochRecord) -> Result<()>,
    /// The folder of this run's recordings, taken before the batches `config.record` selects
    /// (none: no recordings).
    pub recordings: Option<PathBuf>,
    /// This run's checkpoint file, written every `config.checkpoint_every` epochs, after the
    /// last one, and when the run is stopped early (none: no checkpoints).
    pub checkpoint: Option<&'a Path>,
}

/// Trains `config` on `task` (built for `config.seed`), measuring the network on a probe set
/// after every epoch when `config.record.probe` > 0 ([`super::learning`]): from the start, or with `resume` from
/// the checkpoint in `hooks.checkpoint` where there is one, giving the same numbers as a run
/// that was never stopped. Stops with an error naming the run, the epoch and the batch if the
/// loss stops being finite, and at the next batch boundary, after writing the checkpoint, when
/// another run failed ([`Aborted`]) or SIGINT/SIGTERM arrived ([`Interrupted`]).
pub fn train(
    config: &Config,
    label: &str,
    task: &dyn Task,
    hooks: Hooks,
    resume: bool,
) -> Result<RunResult> {
    let spec = ModelSpec {
        words: task.words(),
        ..config.model_spec(task.input_size(), task.output_size(), task.context_size())
    };
    let mut model = Model::<f32>::new(&spec, config.seed);
    model.scale_cortex(config.cortex.init_scale);
    let mut trainer = Trainer::new(model, config.train.clone());
    // A pretrained image map replaces the random one and stays as it is.
    if let (Some(map), Some(range)) = (task.frozen_image_map(), trainer.model.image_map_range()) {
        trainer.model.params[range.clone()].copy_from_slice(&map.values);
        trainer.freeze(range);
    }
    let probe = super::learning::probe(task, config.record.probe);
    let mut at = match hooks.checkpoint.filter(|p| resume && p.exists()) {
        Some(path) => checkpoint::load(path, &mut trainer, config, label)?,
        None => Progress::start(),
    };
    let Hooks {
        abort,
        on_batch,
        on_epoch,
        recordings,
        checkpoint: checkpoint_path,
    } = hooks;
    let mut recorder = match recordings {
        Some(dir) => Some(Recorder::open(dir, at.epoch, at.batch)?),
        None => None,
    };
    let save = |trainer: &Trainer<f32>, at: &Progress| match checkpoint_path {
        Some(path) => checkpoint::save(path, trainer, config, label, at),
        None => Ok(()),
    };
    let n = task.batches_per_epoch(config.batch_size);
    while at.epoch <= config.epochs {
        let epoch = at.epoch;
        trainer.set_mode(config.cerebellum_mode(epoch));
        for i in at.batch..n {
            if abort.load(Ordering::Relaxed) || stop::interrupted() {
                save(&trainer, &at)?;
                return Err(if stop::interrupted() {
                    Interrupted.into()
                } else {
                    Aborted.into()
                });
            }
            let start = Instant::now();
            let batch = task.train_batch(epoch - 1, i, config.batch_size);
            if let Some(r) = recorder.as_mut()
                && config.record.records((epoch - 1) * n + i)
            {
                r.write(epoch, i, &trainer.record_batch(&batch))?;
            }
            let stats = trainer.train_batch(&batch);
            if !stats.task_loss.is_finite()
                || !stats.cerebellum_loss.is_finite()
                || !stats.grad_norm.is_finite()
            {
                bail!(
                    "{label} seed {}: training diverged at epoch {epoch}, batch {}: task loss {}, cerebellum loss {}, gradient norm {} \
                     (try a smaller `train.lr`, or keep `train.clip` > 0)",
                    config.seed,
                    i + 1,
                    stats.task_loss,
                    stats.cerebellum_loss,
                    stats.grad_norm
                );
            }
            at.sums.add(&stats, start.elapsed().as_secs_f64());
            at.batch = i + 1;
            on_batch();
        }
        let s = at.sums;
        let learns = matches!(
            trainer.mode,
            crate::trainer::CerebellumMode::Active | crate::trainer::CerebellumMode::Silent
        );
        let record = EpochRecord {
            model: label.to_string(),
            seed: config.seed,
            epoch,
            train_loss: s.loss / n as f64,
            train_mse: (s.rows > 0).then(|| s.sq / s.rows as f64),
            cerebellum_loss: learns.then(|| s.cerebellum / n as f64),
            cosine: (s.cosines > 0).then(|| s.cosine / s.cosines as f64),
            grad_norm: s.norm / n as f64,
            validation: evaluate(&trainer.model, task.validation()),
            test: if epoch % config.test_every == 0 || epoch == config.epochs {
                evaluate(&trainer.model, task.test())
            } else {
                EvalMetrics::default()
            },
            train_seconds: s.seconds,
        };
        on_epoch(&record)?;
        if config.keep_best {
            let error = super::compare::error_of(&record.validation);
            at.keep_if_best(epoch, error, &trainer.model.params);
        }
        if let Some(p) = &probe {
            let measured = super::learning::measure(&mut trainer, p, label, config.seed, epoch)?;
            at.learning.push(measured);
        }
        at.next_epoch(record);
        let every = config.checkpoint_every;
        if epoch == config.epochs || (every > 0 && epoch.is_multiple_of(every)) {
            save(&trainer, &at)?;
        }
    }
    if let Some(best) = at.best_params.take() {
        trainer.model.params = best;
    }
    Ok(RunResult {
        label: label.to_string(),
        seed: config.seed,
        records: at.records,
        learning: at.learning,
        model: trainer.model,
    })
}
