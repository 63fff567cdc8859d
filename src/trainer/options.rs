//! The choices of the training step (docs/model.md §3): what the cerebellum does, how its loss
//! is scaled, when the optimizer steps, what an inferior-olive lesion does, and the options
//! that gather them with the papers' defaults.

use crate::optim::OptimizerKind;
use serde::{Deserialize, Serialize};

/// What the cerebellum does during training.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CerebellumMode {
    /// Neither used nor trained (a cRNN, or a ccRNN after cerebellar ablation).
    Off,
    /// Predicts the feedback and learns from the teaching signal (ccRNN).
    Active,
    /// Predicts but no longer learns (inferior-olive ablation).
    Frozen,
    /// Learns from the teaching signal, but its prediction is not applied (control).
    Silent,
}

impl CerebellumMode {
    pub(super) fn predicts(self) -> bool {
        matches!(self, CerebellumMode::Active | CerebellumMode::Frozen)
    }
    pub fn learns(self) -> bool {
        matches!(self, CerebellumMode::Active | CerebellumMode::Silent)
    }
}

/// How the cerebellum's squared error is scaled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CerebellumLoss {
    /// Summed over the batch (the authors' code: gradient 2 (C(s) - g) per sample).
    Sum,
    /// Mean over the batch (what dni-pytorch meant: gradient 2 (C(s) - g) / B).
    Mean,
}

/// When the optimizer steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UpdateEvery {
    /// Gradients summed over the windows, one step per batch.
    Batch,
    /// One step after every window (the authors' captioning code).
    Window,
}

/// What an inferior-olive lesion does to the cerebellum's gradients (docs/model.md §3.7).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OliveLesion {
    /// The frozen cerebellum's gradients are not computed and do not count in the clipping norm.
    #[default]
    Clean,
    /// The authors' code, for exact replication: the cerebellum's gradients are still computed
    /// and counted in the clipping norm (which scales them in place), never applied, and never
    /// zeroed, so they accumulate from batch to batch.
    Authors,
}

/// The choices of the training step (docs/model.md §3), defaulted as the papers' code makes them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainOptions {
    /// Feedback horizon K: steps per window of truncated BPTT.
    pub horizon: usize,
    /// Scale lambda of the cerebellar prediction injected at a window's end.
    pub lambda: f64,
    pub cerebellum_loss: CerebellumLoss,
    /// Inject lambda C(s_end) at the end of the last window too (the authors' code does).
    pub inject_at_last_window: bool,
    pub update: UpdateEvery,
    /// Global-norm clipping threshold (0: no clipping).
    pub clip: f64,
    pub optimizer: OptimizerKind,
    pub lr: f64,
    /// What an inferior-olive lesion does to the cerebellum's gradients.
    #[serde(default)]
    pub olive_lesion: OliveLesion,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            horizon: 1,
            lambda: 0.1,
            cerebellum_loss: CerebellumLoss::Sum,
            inject_at_last_window: true,
            update: UpdateEvery::Batch,
            clip: 1.0,
            optimizer: OptimizerKind::default(),
            lr: 1e-3,
            olive_lesion: OliveLesion::Clean,
        }
    }
}
