//! What a run trains: a one-area network with its [`Trainer`] (the papers' model), or a cortex
//! of two areas in a chain with its [`ChainTrainer`] (the `[areas]` section, docs/model.md §7).
//! The run's loop ([`super::run`]) and its checkpoints ([`super::checkpoint`]) drive either
//! through this one type.

use super::records::{AreaSums, TrainedNetwork};
use crate::areas::{Chain, ChainAt, ChainTrainer};
use crate::batch::Batch;
use crate::config::Config;
use crate::data::safetensors::{Dtype, StoredTensor};
use crate::loss::EvalMetrics;
use crate::model::{Model, ModelSpec};
use crate::optim::Optimizer;
use crate::tasks::Task;
use crate::trainer::{BatchStats, CerebellumMode, Trainer};
use anyhow::{Result, bail};
use std::collections::BTreeMap;
use std::path::Path;

/// A run's network and its training step.
pub enum Learner {
    One(Box<Trainer<f32>>),
    Two(Box<ChainTrainer<f32>>),
}

impl Learner {
    /// The network `config` describes for `task`, initialised from the run's seed, with its
    /// trainer.
    pub fn build(config: &Config, task: &dyn Task) -> Result<Self> {
        let sizes = (task.input_size(), task.output_size(), task.context_size());
        if let Some(spec) = config.chain_spec(sizes.0, sizes.1, sizes.2) {
            if task.words().is_some() {
                bail!(
                    "`areas` (two cortical areas): the {} task's input stage (image features and words) belongs to a one-area network",
                    config.task_name()
                );
            }
            let chain = Chain::<f32>::new(&spec, config.seed);
            return Ok(Learner::Two(Box::new(ChainTrainer::new(
                chain,
                config.train.clone(),
            ))));
        }
        let spec = ModelSpec {
            words: task.words(),
            ..config.model_spec(sizes.0, sizes.1, sizes.2)
        };
        let mut model = Model::<f32>::new(&spec, config.seed);
        model.scale_cortex(config.cortex.init_scale);
        config.configure_cerebellum(&mut model);
        let mut trainer = Trainer::new(model, config.train.clone());
        if let Some(lr) = config.cerebellum.lr {
            let range = trainer.model.cerebellar_range();
            trainer.optimizer.range_lr.push((range, lr));
        }
        // A pretrained image map replaces the random one and stays as it is.
        if let (Some(map), Some(range)) = (task.frozen_image_map(), trainer.model.image_map_range())
        {
            trainer.model.params[range.clone()].copy_from_slice(&map.values);
            trainer.freeze(range);
        }
        Ok(Learner::One(Box::new(trainer)))
    }

    /// The one-area trainer (`None` for two areas).
    pub fn one_area(&mut self) -> Option<&mut Trainer<f32>> {
        match self {
            Learner::One(t) => Some(t),
            Learner::Two(_) => None,
        }
    }

    pub fn params(&self) -> &[f32] {
        match self {
            Learner::One(t) => &t.model.params,
            Learner::Two(t) => &t.model.params,
        }
    }

    /// The parameters, the optimizer and the gradient buffer (what a checkpoint holds).
    pub fn state_mut(&mut self) -> (&mut Vec<f32>, &mut Optimizer<f32>, &mut Vec<f32>) {
        match self {
            Learner::One(t) => (&mut t.model.params, &mut t.optimizer, &mut t.grads),
            Learner::Two(t) => (&mut t.model.params, &mut t.optimizer, &mut t.grads),
        }
    }

    pub fn optimizer(&self) -> &Optimizer<f32> {
        match self {
            Learner::One(t) => &t.optimizer,
            Learner::Two(t) => &t.optimizer,
        }
    }

    pub fn grads(&self) -> &[f32] {
        match self {
            Learner::One(t) => &t.grads,
            Learner::Two(t) => &t.grads,
        }
    }

    /// Which areas of a two-area run have a backward cerebellum (A, B; none for one area).
    pub fn backward_areas(&self) -> [bool; 2] {
        match self {
            Learner::One(_) => [false, false],
            Learner::Two(t) => t.model.backward.each_ref().map(Option::is_some),
        }
    }

    /// The backward cerebellum's mode (a two-area run's: active or off).
    pub fn mode(&self) -> CerebellumMode {
        match self {
            Learner::One(t) => t.mode,
            Learner::Two(t) if t.backward_on => CerebellumMode::Active,
            Learner::Two(_) => CerebellumMode::Off,
        }
    }

    /// Sets the mode a checkpoint holds, as it was (no gradient is reset).
    pub fn restore_mode(&mut self, mode: CerebellumMode) {
        match self {
            Learner::One(t) => t.mode = mode,
            Learner::Two(t) => {
                t.backward_on = t.model.has_backward() && mode == CerebellumMode::Active
            }
        }
    }

    /// What the cerebellums do during `epoch` (1-based): the backward cerebellum(s) in `mode`
    /// (`config.cerebellum_mode`), and a two-area run's forward cerebellum unless lesioned.
    pub fn set_epoch(&mut self, config: &Config, epoch: usize, mode: CerebellumMode) {
        match self {
            Learner::One(t) => t.set_mode(mode),
            Learner::Two(t) => {
                t.backward_on = t.model.has_backward() && mode == CerebellumMode::Active;
                t.forward_on =
                    t.model.forward_spec.is_some() && config.forward_cerebellum_on(epoch);
            }
        }
    }

    /// Trains on one batch; a two-area run's cerebellar losses are added to `areas`.
    pub fn train_batch(&mut self, batch: &Batch<f32>, areas: &mut Option<AreaSums>) -> BatchStats {
        match self {
            Learner::One(t) => t.train_batch(batch),
            Learner::Two(t) => {
                let s = t.train_batch(batch);
                areas.get_or_insert_default().add(&s, t.backward_on);
                let mut stats = BatchStats::default();
                stats.task_loss = s.task_loss;
                stats.cerebellum_loss = s.cerebellum_loss;
                stats.grad_norm = s.grad_norm;
                stats
            }
        }
    }

    /// The task's measures on `set`, of the one area or of the chain (with its forward
    /// cerebellum while it is on, whose prediction error is then among the measures:
    /// [`crate::areas::FORWARD_ERROR`]).
    pub fn evaluate(&self, task: &dyn Task, set: &[Batch<f32>]) -> EvalMetrics {
        match self {
            Learner::One(t) => task.evaluate(&t.model, set),
            Learner::Two(t) => task.evaluate(
                &ChainAt {
                    chain: &t.model,
                    forward_on: t.forward_on,
                },
                set,
            ),
        }
    }

    /// The network, without its trainer.
    pub fn into_network(self) -> TrainedNetwork {
        match self {
            Learner::One(t) => TrainedNetwork::One(Box::new(t.model)),
            Learner::Two(t) => TrainedNetwork::Two {
                forward_on: t.forward_on,
                chain: Box::new(t.model),
            },
        }
    }
}

/// Writes a chain's tensors (under its layout's names) and `extra` to `path` as safetensors.
pub fn save_chain(
    chain: &Chain<f32>,
    path: &Path,
    metadata: &BTreeMap<String, String>,
    extra: &[(&str, &[usize], &[f32])],
) -> Result<()> {
    let mut tensors: Vec<(&str, &[usize], &[f32])> = (chain.layout.tensors.iter())
        .map(|t| {
            (
                t.name.as_str(),
                &t.shape[..],
                &chain.params[t.range.clone()],
            )
        })
        .collect();
    tensors.extend_from_slice(extra);
    crate::data::safetensors::write(path, &tensors, metadata)
}

/// Sets a chain's parameters from `tensors` (those of [`save_chain`] but the extra ones): every
/// tensor of its layout must be there, F32 of its shape, and no other. Checked before anything
/// changes.
pub fn set_chain_params(
    chain: &mut Chain<f32>,
    tensors: &[StoredTensor],
    path: &Path,
) -> Result<()> {
    let p = path.display();
    for t in &chain.layout.tensors {
        let Some(s) = tensors.iter().find(|s| s.name == t.name) else {
            bail!(
                "{p} has no tensor `{}` (was it written with other settings?)",
                t.name
            );
        };
        if s.shape != t.shape || s.dtype != Dtype::F32 {
            bail!(
                "{p}: tensor `{}` is {:?} of shape {:?} where this network's is F32 of shape {:?}",
                t.name,
                s.dtype,
                s.shape,
                t.shape
            );
        }
    }
    if let Some(s) =
        (tensors.iter()).find(|s| !chain.layout.tensors.iter().any(|t| t.name == s.name))
    {
        bail!("{p} has a tensor `{}` this network does not have", s.name);
    }
    for t in &chain.layout.tensors {
        let s = tensors.iter().find(|s| s.name == t.name).expect("checked");
        chain.params[t.range.clone()].copy_from_slice(&s.data);
    }
    Ok(())
}
