//! Checkpoints: everything a run needs to go on exactly where it stopped, in one safetensors
//! file per run (`runs/<run>/checkpoint.safetensors` in the job folder), written atomically (a
//! temporary file in the same folder, fsynced, then renamed), so a crash at any instant leaves
//! the previous checkpoint or the new one, never a torn one.
//!
//! What it holds:
//! - the model's tensors under the names of a saved model (`cortex.weight_ih`, ...), the sparse
//!   mask included; a two-area run's, its chain's (`area_a.*`, `area_b.*`, ...: its sparse
//!   masks are drawn again from the run's seed);
//! - the optimizer's moments (`optimizer.m`, `optimizer.v`) and its step count;
//! - the gradient buffer (`trainer.grads`: the authors' inferior-olive lesion accumulates the
//!   cerebellum's gradients across batches in it);
//! - the cerebellum's mode, and where the run stands ([`Progress`]: the epoch in progress, the
//!   batches of it already trained, that epoch's partial sums and the records of the epochs
//!   before);
//! - the run's resolved configuration, its label and seed.
//!
//! [`load`] is the one place where a checkpoint is checked against the run about to go on from
//! it: the run it belongs to, its settings, and where it stands.
//!
//! There are no random-number generator states to keep: every random draw of a run comes from a
//! stream named by (seed, purpose), e.g. the training batch `i` of epoch `e` from
//! `train/<e>/<i>` (docs/model.md §6), so the position in the run determines them all.

use super::learner::{Learner, save_chain, set_chain_params};
use super::records::Progress;
use super::spec::RunSpec;
use crate::config::{Config, differences};
use crate::data::safetensors::{Dtype, StoredTensor};
use crate::trainer::CerebellumMode;
use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::path::Path;

/// The file format's name and version, in every checkpoint's metadata.
pub const FORMAT: &str = "ccdni checkpoint";
pub const VERSION: &str = "1";

/// The tensor of the best epoch's parameters (with `keep_best`).
const BEST: &str = "best.params";

/// Writes the checkpoint of `learner` at `at` for `run` to `path` (atomically; the folder is
/// created). A two-area run's tensors are its chain's (`area_a.*`, `area_b.*`, ...).
pub fn save(path: &Path, learner: &Learner, run: &RunSpec, at: &Progress) -> Result<()> {
    if let Some(dir) = path.parent() {
        super::layout::create_dir(dir)?;
    }
    let metadata = BTreeMap::from([
        ("format".to_string(), FORMAT.to_string()),
        ("checkpoint_version".to_string(), VERSION.to_string()),
        (
            "ccdni_version".to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        ),
        ("label".to_string(), run.label.clone()),
        ("seed".to_string(), run.seed().to_string()),
        ("config".to_string(), run.config.to_toml()),
        ("mode".to_string(), serde_json::to_string(&learner.mode())?),
        (
            "optimizer_step".to_string(),
            learner.optimizer().step.to_string(),
        ),
        ("progress".to_string(), serde_json::to_string(at)?),
    ]);
    let n = [learner.params().len()];
    let o = learner.optimizer();
    let mut extra: Vec<(&str, &[usize], &[f32])> = vec![
        ("optimizer.m", &n, &o.m),
        ("optimizer.v", &n, &o.v),
        ("trainer.grads", &n, learner.grads()),
    ];
    if let Some(b) = &at.best_params {
        extra.push((BEST, &n, b));
    }
    match learner {
        Learner::One(t) => t.model.save_with(path, &metadata, &extra),
        Learner::Two(t) => save_chain(&t.model, path, &metadata, &extra),
    }
    .with_context(|| format!("cannot write checkpoint {}", path.display()))
}

/// What a checkpoint says of its run without loading its tensors.
pub struct Peek {
    pub label: String,
    pub seed: u64,
    pub config: Config,
    /// The epoch in progress (past the last when the run is done) and the batches of it done.
    pub epoch: usize,
    pub batch: usize,
}

impl Peek {
    /// Whether the run has trained all its epochs.
    pub fn finished(&self) -> bool {
        self.epoch > self.config.epochs
    }

    /// The settings check ([`load`]'s): refuses the checkpoint of another run, and returns the
    /// settings in which it differs from `run`'s.
    pub fn changes(&self, run: &RunSpec) -> Result<Vec<String>> {
        changes(&self.label, &self.seed.to_string(), &self.config, run)
    }
}

/// Reads what a checkpoint says of its run (its header only: the tensors are checked to fill
/// the file, not read).
pub fn peek(path: &Path) -> Result<Peek> {
    let metadata = read_metadata(path)?;
    let inner = || -> Result<Peek> {
        let at: Progress =
            serde_json::from_str(field(&metadata, "progress")?).context("its `progress`")?;
        Ok(Peek {
            label: field(&metadata, "label")?.to_string(),
            seed: field(&metadata, "seed")?.parse().context("its `seed`")?,
            config: config_of(&metadata)?,
            epoch: at.epoch,
            batch: at.batch,
        })
    };
    inner().with_context(|| format!("checkpoint {} is damaged", path.display()))
}

/// Checks, from its header alone, that the checkpoint at `path` is one `run` can go on from
/// (the checks of [`load`] but its tensors' and its batch's, which need the run's task), so
/// that a job refuses a bad checkpoint before any of its runs trains.
pub fn check(path: &Path, run: &RunSpec, force: bool) -> Result<()> {
    let metadata = read_metadata(path)?;
    check_run(&metadata, run, force)
        .and_then(|()| progress(&metadata, &run.config, None).map(drop))
        .with_context(|| format!("cannot go on from checkpoint {}", path.display()))
}

/// Restores `learner` (built from `run.config`) from the checkpoint at `path` and returns where
/// the run stands. Refuses a checkpoint of another run (label, seed), of other settings unless
/// `force`, of other shapes, or one that stands where a run of these settings, with
/// `batches_per_epoch` batches an epoch, cannot (a damaged or edited file): each naming the file.
pub fn load(
    path: &Path,
    learner: &mut Learner,
    run: &RunSpec,
    batches_per_epoch: usize,
    force: bool,
) -> Result<Progress> {
    let (tensors, metadata) = read(path)?;
    let mut restored = || -> Result<Progress> {
        check_run(&metadata, run, force)?;
        let at = progress(&metadata, &run.config, Some(batches_per_epoch))?;
        if !force {
            check_steps(&metadata, &run.config, &at, batches_per_epoch)?;
        }
        restore(learner, &tensors, &metadata, at, path)
    };
    restored().with_context(|| format!("cannot go on from checkpoint {}", path.display()))
}

/// Reads a checkpoint file, refusing anything that is not one of this version's.
fn read(path: &Path) -> Result<(Vec<StoredTensor>, Meta)> {
    let (tensors, metadata) = crate::data::safetensors::read(path)?;
    check_format(path, &metadata)?;
    Ok((tensors, metadata))
}

/// [`read`] of the metadata alone.
fn read_metadata(path: &Path) -> Result<Meta> {
    let metadata = crate::data::safetensors::read_metadata(path)?;
    check_format(path, &metadata)?;
    Ok(metadata)
}

fn check_format(path: &Path, metadata: &Meta) -> Result<()> {
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
    Ok(())
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

/// The settings check: refuses a checkpoint of another run (`label`, `seed`), and returns the
/// settings, as `key: old -> new` lines, in which its configuration `saved` differs from `run`'s.
fn changes(label: &str, seed: &str, saved: &Config, run: &RunSpec) -> Result<Vec<String>> {
    if label != run.label || seed != run.seed().to_string() {
        bail!(
            "it belongs to another run, {label} seed {seed}, not {} seed {} (was it copied from another folder?)",
            run.label,
            run.seed()
        );
    }
    Ok(differences(saved, &run.config))
}

/// [`changes`], refused when there are any unless `force` accepts them.
fn check_run(metadata: &Meta, run: &RunSpec, force: bool) -> Result<()> {
    let (label, seed) = (field(metadata, "label")?, field(metadata, "seed")?);
    let changed = changes(label, seed, &config_of(metadata)?, run)?;
    if !changed.is_empty() && !force {
        bail!(
            "it was written with other settings:\n  {}\ngo on with the run's own settings, or pass --force to go on with the new ones",
            changed.join("\n  ")
        );
    }
    Ok(())
}

/// Where the checkpoint's run stands, refused when no run of `config` (with
/// `batches_per_epoch` batches an epoch, when known) can stand there.
fn progress(
    metadata: &Meta,
    config: &Config,
    batches_per_epoch: Option<usize>,
) -> Result<Progress> {
    let at: Progress =
        serde_json::from_str(field(metadata, "progress")?).context("its `progress`")?;
    let whole_epochs = at.records.len() + 1 == at.epoch
        && at.records.iter().enumerate().all(|(i, r)| r.epoch == i + 1);
    if at.epoch == 0 || at.epoch > config.epochs + 1 || !whole_epochs {
        bail!(
            "it stands at epoch {} with {} epoch records, which a run of {} epochs cannot reach",
            at.epoch,
            at.records.len(),
            config.epochs
        );
    }
    let done = at.epoch > config.epochs;
    if done && at.batch > 0 {
        bail!(
            "it has finished its epochs but stands at batch {} of another",
            at.batch
        );
    }
    if let Some(n) = batches_per_epoch
        && at.batch >= n.max(1)
    {
        bail!(
            "it stands at batch {} of epoch {}, but an epoch of this run has {n} batches",
            at.batch,
            at.epoch
        );
    }
    let measured = at.learning.len();
    if measured != 0 && measured != at.records.len() {
        bail!(
            "it holds measures over learning of {measured} epochs, but records of {}",
            at.records.len()
        );
    }
    if at
        .best
        .is_some_and(|b| b.epoch == 0 || b.epoch > at.records.len())
    {
        bail!("its best epoch is not one of the epochs it has finished");
    }
    Ok(at)
}

/// With one optimizer step per batch, the steps taken are the batches trained: refuses a
/// checkpoint whose count says otherwise (with a step per window their number depends on the
/// batches' lengths; with `--force`, changed settings may change the batches).
fn check_steps(
    metadata: &Meta,
    config: &Config,
    at: &Progress,
    batches_per_epoch: usize,
) -> Result<()> {
    let step: u64 = field(metadata, "optimizer_step")?
        .parse()
        .context("its `optimizer_step`")?;
    if config.train.update != crate::trainer::UpdateEvery::Batch {
        return Ok(());
    }
    let trained = (at.epoch as u64 - 1) * batches_per_epoch as u64 + at.batch as u64;
    if step != trained {
        bail!(
            "its optimizer has taken {step} steps, but a run at batch {} of epoch {} has taken {trained}",
            at.batch,
            at.epoch
        );
    }
    Ok(())
}

/// Sets the learner's parameters, optimizer state, gradients and mode from the checkpoint.
fn restore(
    learner: &mut Learner,
    tensors: &[StoredTensor],
    metadata: &Meta,
    mut at: Progress,
    path: &Path,
) -> Result<Progress> {
    let mode: CerebellumMode =
        serde_json::from_str(field(metadata, "mode")?).context("its `mode`")?;
    let step: u64 = field(metadata, "optimizer_step")?
        .parse()
        .context("its `optimizer_step`")?;
    // The model's tensors, checked as a saved model's are; then the training state's.
    let state = ["optimizer.m", "optimizer.v", "trainer.grads", BEST];
    let (states, model): (Vec<StoredTensor>, Vec<StoredTensor>) = tensors
        .iter()
        .cloned()
        .partition(|t| state.contains(&t.name.as_str()));
    match learner {
        Learner::One(t) => t.model.set_params_from(&model, path)?,
        Learner::Two(t) => set_chain_params(&mut t.model, &model, path)?,
    }
    let n = learner.params().len();
    let mut best = at.best.map(|_| vec![0.0; n]);
    let (_, optimizer, grads) = learner.state_mut();
    let targets = [
        Some(&mut optimizer.m),
        Some(&mut optimizer.v),
        Some(grads),
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
    learner.state_mut().1.step = step;
    learner.restore_mode(mode);
    at.best_params = best;
    Ok(at)
}

#[cfg(test)]
mod tests;
