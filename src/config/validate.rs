//! The checks of a resolved configuration: every impossible setting refused before any training,
//! naming the key and, where there is one, the remedy.

use super::{Config, MAX_EPOCHS, ModelKind, TaskKind};
use crate::cortex::CellKind;
use crate::layers::cerebellum::CerebellumInput;
use anyhow::{Result, bail};

impl Config {
    /// Rejects impossible settings, naming the setting.
    pub fn validate(&self) -> Result<()> {
        // The tasks whose length is read from their data or asked of them, first: their length
        // is checked against the horizon below.
        self.file.validate()?;
        if self.task == TaskKind::File {
            self.validate_file()?;
        }
        if self.task == TaskKind::Custom {
            super::custom::build(self)?;
        }
        self.validate_tasks()?;
        self.validate_context()?;
        self.validate_counts()?;
        self.validate_numbers()?;
        self.validate_optimizer()?;
        self.validate_networks()?;
        self.validate_areas()?;
        // Every section is checked whatever the task, as reach's and mnist's are.
        self.captions.validate()?;
        if self.task == TaskKind::Captions {
            self.validate_captions()?;
        }
        if self.mnist.data_dir.is_none()
            && !crate::data::fetch::DATASETS.contains(&self.mnist.dataset.as_str())
        {
            bail!(
                "`mnist.dataset` = {:?} is not a known data set (known: {}); for another IDX data set give its folder as `mnist.data_dir` (--data-dir)",
                self.mnist.dataset,
                crate::data::fetch::DATASETS.join(", ")
            );
        }
        Ok(())
    }

    /// The file task's arrays, read and checked (once per process).
    fn validate_file(&self) -> Result<()> {
        crate::tasks::file::shared(&self.file)?;
        Ok(())
    }

    /// A context for the cerebellum, only from a task that gives one (reach's cue, MNIST's
    /// label; the caption task says so itself).
    fn validate_context(&self) -> Result<()> {
        let gives = matches!(
            self.task,
            TaskKind::Reach | TaskKind::Mnist | TaskKind::Custom | TaskKind::Captions
        );
        if self.cerebellum.context && !gives {
            bail!(
                "`cerebellum.context` needs a cue or label per sequence, which the {} task does not have",
                self.task_name()
            );
        }
        Ok(())
    }

    /// The tasks' own settings, whatever the task (as reach's and MNIST's are).
    fn validate_tasks(&self) -> Result<()> {
        self.eyeblink.check()?;
        self.interval.check()?;
        let samples = [
            ("eyeblink.train_samples", self.eyeblink.train_samples),
            (
                "eyeblink.validation_samples",
                self.eyeblink.validation_samples,
            ),
            ("eyeblink.test_samples", self.eyeblink.test_samples),
            ("interval.train_samples", self.interval.train_samples),
            (
                "interval.validation_samples",
                self.interval.validation_samples,
            ),
            ("interval.test_samples", self.interval.test_samples),
        ];
        for (name, v) in samples {
            if v == 0 {
                bail!("`{name}` must be at least 1 (got 0)");
            }
        }
        let c = &self.copy;
        for (name, v) in [
            ("copy.bits", c.bits),
            ("copy.repeats", c.repeats),
            ("copy.min_length", c.min_length),
            ("copy.train_samples", c.train_samples),
            ("copy.validation_samples", c.validation_samples),
            ("copy.test_samples", c.test_samples),
        ] {
            if v == 0 {
                bail!("`{name}` must be at least 1 (got 0)");
            }
        }
        if c.max_length < c.min_length {
            bail!(
                "`copy.max_length` = {} is shorter than `copy.min_length` = {}",
                c.max_length,
                c.min_length
            );
        }
        if !(c.threshold.is_finite() && c.threshold > 0.0) {
            bail!(
                "`copy.threshold` must be a positive number of bits per sequence (got {})",
                c.threshold
            );
        }
        Ok(())
    }

    /// Counts that must be at least 1, epochs within reason, a horizon within the sequence.
    fn validate_counts(&self) -> Result<()> {
        let positive = [
            ("epochs", self.epochs),
            ("batch_size", self.batch_size),
            ("eval_batch", self.eval_batch),
            ("test_every", self.test_every),
            ("cortex.hidden", self.cortex.hidden),
            ("train.horizon", self.train.horizon),
            ("cerebellum.granule", self.cerebellum.granule),
            ("cerebellum.layers", self.cerebellum.layers),
            ("reach.steps", self.reach.steps),
            ("reach.train_samples", self.reach.train_samples),
            ("reach.validation_samples", self.reach.validation_samples),
            ("reach.test_samples", self.reach.test_samples),
            ("reach.feedback_interval", self.reach.feedback_interval),
            ("mnist.feedback_interval", self.mnist.feedback_interval),
            ("mnist.validation_samples", self.mnist.validation_samples),
        ];
        for (name, v) in positive {
            if v == 0 {
                bail!("`{name}` must be at least 1 (got 0)");
            }
        }
        if self.epochs > MAX_EPOCHS {
            bail!(
                "`epochs` = {} is more than a run may train (at most {MAX_EPOCHS})",
                self.epochs
            );
        }
        let steps = self.steps();
        if self.train.horizon > steps {
            bail!(
                "`train.horizon` = {} is longer than the sequence ({steps} steps); use `train.horizon = {steps}` for full BPTT",
                self.train.horizon
            );
        }
        Ok(())
    }

    /// Real-valued settings: finite, and within their ranges.
    fn validate_numbers(&self) -> Result<()> {
        let t = &self.train;
        let finite = [
            ("train.lr", t.lr),
            ("train.lambda", t.lambda),
            ("reach.input_noise", self.reach.input_noise),
            ("cortex.init_scale", self.cortex.init_scale),
        ];
        for (name, v) in finite {
            if !v.is_finite() {
                bail!("`{name}` must be a finite number (got {v})");
            }
        }
        if !(self.late_phase > 0.0 && self.late_phase <= 1.0) {
            bail!(
                "`late_phase` must be a fraction of the epochs in (0, 1], e.g. 0.5 for the last half (got {})",
                self.late_phase
            );
        }
        if self.cortex.init_scale <= 0.0 {
            bail!(
                "`cortex.init_scale` must be positive (got {}; 1 leaves the initialisation unchanged)",
                self.cortex.init_scale
            );
        }
        if t.lr <= 0.0 {
            bail!("`train.lr` must be positive (got {})", t.lr);
        }
        if !(t.clip.is_finite() && t.clip >= 0.0) {
            bail!(
                "`train.clip` must be a finite number >= 0 (got {}; 0 turns clipping off)",
                t.clip
            );
        }
        if self.reach.input_noise < 0.0 {
            bail!(
                "`reach.input_noise` must not be negative (got {})",
                self.reach.input_noise
            );
        }
        Ok(())
    }

    /// The cerebellum's sparse connections and the lesions.
    fn validate_networks(&self) -> Result<()> {
        let state = match self.cortex.cell {
            CellKind::Lstm => 2 * self.cortex.hidden,
            CellKind::Tanh => self.cortex.hidden,
        };
        if let Some(k) = self.cerebellum.sparse_k
            && (k == 0 || k > state)
        {
            bail!(
                "`cerebellum.sparse_k` = {k} must be between 1 and the cerebellum's input size {state} (the cortical state)"
            );
        }
        self.validate_cerebellar_options()?;
        for (name, at) in [
            ("lesion.cerebellum_at", self.lesion.cerebellum_at),
            ("lesion.olive_at", self.lesion.olive_at),
        ] {
            if let Some(e) = at {
                if self.model == ModelKind::CRnn {
                    bail!("`{name}` needs a cerebellum, but `model` is crnn");
                }
                if e == 0 || e > self.epochs {
                    bail!(
                        "`{name}` = {e} must be an epoch between 1 and `epochs` = {}",
                        self.epochs
                    );
                }
            }
        }
        Ok(())
    }

    /// The cerebellum's controls and remedies (docs/model.md §1.2).
    fn validate_cerebellar_options(&self) -> Result<()> {
        let c = &self.cerebellum;
        if !(c.output_init.is_finite() && c.output_init >= 0.0) {
            bail!(
                "`cerebellum.output_init` = {} must be 0 (a zero output layer, the authors') or a positive scale",
                c.output_init
            );
        }
        if !(c.granule_leak.is_finite() && (0.0..1.0).contains(&c.granule_leak)) {
            bail!(
                "`cerebellum.granule_leak` = {} must be in [0, 1) (0: ReLU; the slope below zero of a leaky ReLU)",
                c.granule_leak
            );
        }
        if let Some(lr) = c.lr
            && !(lr.is_finite() && lr > 0.0)
        {
            bail!("`cerebellum.lr` = {lr} must be a positive learning rate");
        }
        if c.input == CerebellumInput::None && (c.context || c.sparse_k.is_some()) {
            bail!(
                "`cerebellum.input` = \"none\" has no granule layers, so `cerebellum.context` and `cerebellum.sparse_k` cannot be set with it"
            );
        }
        Ok(())
    }

    /// What the caption task cannot have.
    fn validate_captions(&self) -> Result<()> {
        if self.cerebellum.context {
            bail!(
                "`cerebellum.context` needs a cue or label, which the caption task does not have"
            );
        }
        Ok(())
    }

    fn validate_optimizer(&self) -> Result<()> {
        use crate::optim::OptimizerKind::*;
        let checks: Vec<(&str, f64, bool)> = match self.train.optimizer {
            Adam { beta1, beta2, eps } => vec![
                ("train.optimizer.beta1", beta1, (0.0..1.0).contains(&beta1)),
                ("train.optimizer.beta2", beta2, (0.0..1.0).contains(&beta2)),
                ("train.optimizer.eps", eps, eps > 0.0),
            ],
            Sgd { momentum } => vec![(
                "train.optimizer.momentum",
                momentum,
                (0.0..1.0).contains(&momentum),
            )],
            Rmsprop { alpha, eps } => vec![
                ("train.optimizer.alpha", alpha, (0.0..1.0).contains(&alpha)),
                ("train.optimizer.eps", eps, eps > 0.0),
            ],
        };
        for (name, v, ok) in checks {
            if !ok || !v.is_finite() {
                bail!("`{name}` = {v} is out of range");
            }
        }
        Ok(())
    }
}
