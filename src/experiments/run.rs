//! A single training run: one configuration and seed from start to finish ([`train`]), with its
//! per-epoch figures and evaluation on the validation and test sets.

use super::learning::LearningRecord;
use super::parallel::Aborted;
use super::recorder::Recorder;
use crate::config::Config;
use crate::loss::{EvalMetrics, EvalSums};
use crate::model::Model;
use crate::tasks::Task;
use crate::trainer::{Batch, Trainer};
use anyhow::{Result, bail};
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// The figures of one epoch of one run (a row of metrics.csv).
#[derive(Clone, Debug, Serialize)]
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
    /// Wall-clock seconds of the epoch's training steps (evaluation excluded).
    pub train_seconds: f64,
}

/// A finished run.
pub struct RunResult {
    pub label: String,
    pub seed: u64,
    pub records: Vec<EpochRecord>,
    pub model: Model<f32>,
}

/// Measures a model on a set of batches (whole sequences from a zero state, no cerebellum).
pub fn evaluate(model: &Model<f32>, batches: &[Batch<f32>]) -> EvalMetrics {
    let mut sums = EvalSums::default();
    let (mut trace, mut y) = (None, Vec::new());
    for b in batches {
        model.predict_into(&b.inputs, b.steps, b.batch, &mut trace, &mut y);
        sums.add(&b.target, &y, b.steps, b.batch);
    }
    sums.finish()
}

/// Trains `config` on `task` (built for `config.seed`), calling `on_batch` after every training
/// batch and `on_epoch` after every epoch, then `on_learning` with the epoch's measures over
/// learning when `config.record.probe` > 0 ([`super::learning`]), and recording into `recorder` (if given) before the
/// batches `config.record` selects. Stops with an error naming the run, the epoch and the
/// batch if the loss stops being finite, or when `abort` is raised (another run failed).
// The callbacks are the run's outputs, each passed on as it is produced.
#[allow(clippy::too_many_arguments)]
pub fn train(
    config: &Config,
    label: &str,
    task: &dyn Task,
    abort: &AtomicBool,
    on_batch: &(dyn Fn() + Sync),
    on_epoch: &mut dyn FnMut(&EpochRecord) -> Result<()>,
    on_learning: &mut dyn FnMut(&LearningRecord) -> Result<()>,
    mut recorder: Option<&mut Recorder>,
) -> Result<RunResult> {
    let spec = config.model_spec(task.input_size(), task.output_size(), task.context_size());
    let mut model = Model::<f32>::new(&spec, config.seed);
    model.scale_cortex(config.cortex.init_scale);
    let mut trainer = Trainer::new(model, config.train.clone());
    let probe = super::learning::probe(task, config.record.probe);
    // Grows as epochs finish: nothing is allocated for the whole run up front.
    let mut records = Vec::new();
    for epoch in 1..=config.epochs {
        trainer.set_mode(config.cerebellum_mode(epoch));
        let n = task.batches_per_epoch(config.batch_size);
        let (mut loss, mut sq, mut rows, mut cb, mut cos, mut norm) =
            (0.0, 0.0, 0usize, 0.0, (0.0, 0usize), 0.0);
        let start = Instant::now();
        for i in 0..n {
            if abort.load(Ordering::Relaxed) {
                return Err(Aborted.into());
            }
            let batch = task.train_batch(epoch - 1, i, config.batch_size);
            if let Some(r) = recorder.as_deref_mut()
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
            loss += stats.task_loss;
            sq += stats.feedback_sq_err;
            rows += stats.feedback_rows;
            cb += stats.cerebellum_loss;
            norm += stats.grad_norm;
            if let Some(c) = stats.cosine {
                cos = (cos.0 + c, cos.1 + 1);
            }
            on_batch();
        }
        let train_seconds = start.elapsed().as_secs_f64();
        let learns = matches!(
            trainer.mode,
            crate::trainer::CerebellumMode::Active | crate::trainer::CerebellumMode::Silent
        );
        let record = EpochRecord {
            model: label.to_string(),
            seed: config.seed,
            epoch,
            train_loss: loss / n as f64,
            train_mse: (rows > 0).then(|| sq / rows as f64),
            cerebellum_loss: learns.then(|| cb / n as f64),
            cosine: (cos.1 > 0).then(|| cos.0 / cos.1 as f64),
            grad_norm: norm / n as f64,
            validation: evaluate(&trainer.model, task.validation()),
            test: if epoch % config.test_every == 0 || epoch == config.epochs {
                evaluate(&trainer.model, task.test())
            } else {
                EvalMetrics::default()
            },
            train_seconds,
        };
        on_epoch(&record)?;
        if let Some(p) = &probe {
            on_learning(&super::learning::measure(
                &mut trainer,
                p,
                label,
                config.seed,
                epoch,
            )?)?;
        }
        records.push(record);
    }
    Ok(RunResult {
        label: label.to_string(),
        seed: config.seed,
        records,
        model: trainer.model,
    })
}
