//! Checkpoints: everything a run needs to go on exactly where it stopped, in one safetensors
//! file per run (`checkpoints/<label>-seed<k>.safetensors` in the run folder), written
//! atomically (a temporary file in the same folder, fsynced, then renamed), so a crash at any
//! instant leaves the previous checkpoint or the new one, never a torn one.
//!
//! What it holds:
//! - the model's tensors under the names of a saved model (`cortex.weight_ih`, ...), the sparse
//!   mask included;
//! - the optimizer's moments (`optimizer.m`, `optimizer.v`) and its step count;
//! - the gradient buffer (`trainer.grads`: the authors' inferior-olive lesion accumulates the
//!   cerebellum's gradients across batches in it);
//! - the cerebellum's mode, and where the run stands ([`Progress`]: the epoch in progress, the
//!   batches of it already trained, that epoch's partial sums and the records of the epochs
//!   before);
//! - the run's resolved configuration, its label and seed.
//!
//! There are no random-number generator states to keep: every random draw of a run comes from a
//! stream named by (seed, purpose), e.g. the training batch `i` of epoch `e` from
//! `train/<e>/<i>` (docs/model.md §6), so the position in the run determines them all.

use super::learning::LearningRecord;
use super::run::EpochRecord;
use crate::config::Config;
use crate::data::safetensors::{Dtype, StoredTensor};
use crate::trainer::{BatchStats, CerebellumMode, Trainer};
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The file format's name and version, in every checkpoint's metadata.
pub const FORMAT: &str = "ccdni checkpoint";
pub const VERSION: &str = "1";

/// The sums of the epoch in progress over its batches so far (an epoch record is made of them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EpochSums {
    /// Summed task loss, squared error at the feedback steps and its rows.
    pub loss: f64,
    pub sq: f64,
    pub rows: usize,
    /// Summed cerebellum loss; summed cosine and the batches it was measured on.
    pub cerebellum: f64,
    pub cosine: f64,
    pub cosines: usize,
    /// Summed gradient norm before clipping.
    pub norm: f64,
    /// Wall-clock seconds of the training steps.
    pub seconds: f64,
}

impl EpochSums {
    pub fn add(&mut self, stats: &BatchStats, seconds: f64) {
        self.loss += stats.task_loss;
        self.sq += stats.feedback_sq_err;
        self.rows += stats.feedback_rows;
        self.cerebellum += stats.cerebellum_loss;
        self.norm += stats.grad_norm;
        if let Some(c) = stats.cosine {
            self.cosine += c;
            self.cosines += 1;
        }
        self.seconds += seconds;
    }
}

/// Where a run stands: the epoch in progress (1-based; past the last epoch when the run is
/// done), the batches of it already trained, their sums, and the records of the epochs before.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub epoch: usize,
    pub batch: usize,
    pub sums: EpochSums,
    pub records: Vec<EpochRecord>,
    /// The measures over learning after each finished epoch (when the run measures them).
    #[serde(default)]
    pub learning: Vec<LearningRecord>,
    /// With `keep_best`: the finished epoch of lowest validation error so far, and its
    /// parameters (in the checkpoint as the tensor `best.params`).
    #[serde(default)]
    pub best: Option<BestEpoch>,
    #[serde(skip)]
    pub best_params: Option<Vec<f32>>,
}

/// The epoch of lowest validation error so far ([`crate::experiments::compare::error_of`]).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BestEpoch {
    pub epoch: usize,
    pub error: f64,
}

impl Progress {
    /// The start of a run.
    pub fn start() -> Self {
        Progress {
            epoch: 1,
            batch: 0,
            sums: EpochSums::default(),
            records: Vec::new(),
            learning: Vec::new(),
            best: None,
            best_params: None,
        }
    }

    /// Keeps the parameters of the epoch just finished if its validation `error` is the lowest
    /// so far (a NaN error never is).
    pub fn keep_if_best(&mut self, epoch: usize, error: f64, params: &[f32]) {
        if self.best.is_none_or(|b| error < b.error) && !error.is_nan() {
            self.best = Some(BestEpoch { epoch, error });
            self.best_params = Some(params.to_vec());
        }
    }

    /// Closes the epoch in progress with its record and moves to the next.
    pub fn next_epoch(&mut self, record: EpochRecord) {
        self.records.push(record);
        self.epoch += 1;
        self.batch = 0;
        self.sums = EpochSums::default();
    }
}

/// The tensor of the best epoch's parameters (with `keep_best`).
const BEST: &str = "best.params";

/// Writes the checkpoint of `trainer` at `at` to `path` (atomically; the folder is created).
pub fn save(
    path: &Path,
    trainer: &Trainer<f32>,
    config: &Config,
    label: &str,
    at: &Progress,
) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let metadata = BTreeMap::from([
        ("format".to_string(), FORMAT.to_string()),
        ("checkpoint_version".to_string(), VERSION.to_string()),
        (
            "ccdni_version".to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        ),
        ("label".to_string(), label.to_string()),
        ("seed".to_string(), config.seed.to_string()),
        ("config".to_string(), config.to_toml()),
        ("mode".to_string(), serde_json::to_string(&trainer.mode)?),
        (
            "optimizer_step".to_string(),
            trainer.optimizer.step.to_string(),
        ),
        ("progress".to_string(), serde_json::to_string(at)?),
    ]);
    let n = [trainer.model.params.len()];
    let o = &trainer.optimizer;
    let mut extra: Vec<(&str, &[usize], &[f32])> = vec![
        ("optimizer.m", &n, &o.m),
        ("optimizer.v", &n, &o.v),
        ("trainer.grads", &n, &trainer.grads),
    ];
    if let Some(b) = &at.best_params {
        extra.push((BEST, &n, b));
    }
    trainer
        .model
        .save_with(path, &metadata, &extra)
        .with_context(|| format!("cannot write checkpoint {}", path.display()))
}

/// The resolved configuration a checkpoint was written with, and the records of the epochs
/// its run had finished.
pub fn peek(path: &Path) -> Result<(Config, Vec<EpochRecord>)> {
    let (_, metadata) = read(path)?;
    let inner = || -> Result<(Config, Vec<EpochRecord>)> {
        let at: Progress =
            serde_json::from_str(field(&metadata, "progress")?).context("its `progress`")?;
        Ok((config_of(&metadata)?, at.records))
    };
    inner().with_context(|| format!("checkpoint {} is damaged", path.display()))
}

/// Restores `trainer` (built from `config`) from the checkpoint at `path`, checking it belongs
/// to this run (label, seed, shapes, sparse mask); returns where the run stands.
pub fn load(
    path: &Path,
    trainer: &mut Trainer<f32>,
    config: &Config,
    label: &str,
) -> Result<Progress> {
    let (tensors, metadata) = read(path)?;
    restore(path, trainer, &tensors, &metadata, config, label)
        .with_context(|| format!("cannot resume from checkpoint {}", path.display()))
}

/// Reads a checkpoint file, refusing anything that is not one of this version's.
fn read(path: &Path) -> Result<(Vec<StoredTensor>, Meta)> {
    let (tensors, metadata) = crate::data::safetensors::read(path)?;
    let field = |k: &str| metadata.get(k).map(String::as_str);
    if field("format") != Some(FORMAT) {
        bail!(
            "{} is not a ccdni checkpoint (its metadata has no `format = {FORMAT}`)",
            path.display()
        );
    }
    if field("checkpoint_version") != Some(VERSION) {
        bail!(
            "checkpoint {} has format version {} (written by ccdni {}); this ccdni {} reads version {VERSION}",
            path.display(),
            field("checkpoint_version").unwrap_or("?"),
            field("ccdni_version").unwrap_or("?"),
            env!("CARGO_PKG_VERSION")
        );
    }
    Ok((tensors, metadata))
}

type Meta = BTreeMap<String, String>;

fn field<'a>(metadata: &'a Meta, key: &str) -> Result<&'a str> {
    metadata
        .get(key)
        .map(String::as_str)
        .with_context(|| format!("the metadata has no `{key}`"))
}

fn config_of(metadata: &Meta) -> Result<Config> {
    let text = field(metadata, "config")?;
    let table: toml::Table = text.parse().context("its `config` is not TOML")?;
    Config::resolve(crate::config::TaskKind::Reach, &table).context("its `config`")
}

fn restore(
    path: &Path,
    trainer: &mut Trainer<f32>,
    tensors: &[StoredTensor],
    metadata: &Meta,
    config: &Config,
    label: &str,
) -> Result<Progress> {
    let (saved_label, seed) = (field(metadata, "label")?, field(metadata, "seed")?);
    if saved_label != label || seed != config.seed.to_string() {
        bail!(
            "it belongs to run {saved_label} seed {seed}, not {label} seed {}",
            config.seed
        );
    }
    let mode: CerebellumMode =
        serde_json::from_str(field(metadata, "mode")?).context("its `mode`")?;
    let step: u64 = field(metadata, "optimizer_step")?
        .parse()
        .context("its `optimizer_step`")?;
    let at: Progress =
        serde_json::from_str(field(metadata, "progress")?).context("its `progress`")?;
    if at.epoch > config.epochs + 1 || at.records.len() + 1 != at.epoch {
        bail!(
            "it stands at epoch {} with {} epoch records, which a run of {} epochs cannot reach",
            at.epoch,
            at.records.len(),
            config.epochs
        );
    }
    // The model's tensors, checked as a saved model's are; then the training state's.
    let state = ["optimizer.m", "optimizer.v", "trainer.grads", BEST];
    let (states, model): (Vec<StoredTensor>, Vec<StoredTensor>) = tensors
        .iter()
        .cloned()
        .partition(|t| state.contains(&t.name.as_str()));
    trainer.model.set_params_from(&model, path)?;
    let n = trainer.model.params.len();
    let mut at = at;
    let mut best = at.best.map(|_| vec![0.0; n]);
    let targets = [
        Some(&mut trainer.optimizer.m),
        Some(&mut trainer.optimizer.v),
        Some(&mut trainer.grads),
        best.as_mut(),
    ];
    for (name, to) in state.into_iter().zip(targets) {
        let Some(to) = to else { continue };
        let Some(t) = states.iter().find(|t| t.name == name) else {
            bail!("it has no tensor `{name}`");
        };
        if t.shape != [n] || t.dtype != Dtype::F32 {
            bail!(
                "its tensor `{name}` is {:?} of shape {:?} where this model's is F32 of shape [{n}] (was it written with other settings?)",
                t.dtype,
                t.shape
            );
        }
        to.copy_from_slice(&t.data);
    }
    trainer.optimizer.step = step;
    trainer.mode = mode;
    at.best_params = best;
    Ok(at)
}

#[cfg(test)]
mod tests;
