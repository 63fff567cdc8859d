//! The papers' settings of each task: the defaults every configuration starts from.

use super::{CerebellumConfig, Config, CortexConfig, Lesions, ModelKind, TaskKind};
use crate::cortex::CellKind;
use crate::layers::cerebellum::CerebellumInput;
use crate::tasks::captions::CaptionsConfig;
use crate::tasks::mnist::MnistConfig;
use crate::tasks::reach::ReachConfig;
use crate::trainer::TrainOptions;

impl Config {
    /// The papers' settings for `task` (docs/model.md §4).
    pub fn defaults(task: TaskKind) -> Self {
        let reach = Config {
            task,
            model: ModelKind::CcRnn,
            seed: 0,
            epochs: 100,
            batch_size: 50,
            eval_batch: 1000,
            test_every: 1,
            late_phase: 0.5,
            checkpoint_every: 1,
            keep_best: false,
            cortex: CortexConfig {
                cell: CellKind::Lstm,
                hidden: 50,
                init_scale: 1.0,
            },
            cerebellum: CerebellumConfig {
                granule: 400,
                layers: 2,
                sparse_k: None,
                context: false,
                silent: false,
                input: CerebellumInput::State,
                output_init: 0.0,
                granule_leak: 0.0,
                lr: None,
            },
            train: TrainOptions {
                horizon: 1,
                lr: 1e-3,
                ..TrainOptions::default()
            },
            lesion: Lesions::default(),
            record: crate::trainer::RecordOptions::default(),
            reach: ReachConfig::default(),
            mnist: MnistConfig::default(),
            captions: CaptionsConfig::default(),
            file: crate::tasks::file::FileConfig::default(),
            copy: crate::tasks::copy::CopyConfig::default(),
            eyeblink: crate::tasks::eyeblink::EyeblinkConfig::default(),
            interval: crate::tasks::interval::IntervalConfig::default(),
            custom: super::CustomConfig::default(),
            areas: None,
        };
        match task {
            // A task from files or from a program starts from reach's networks and training step.
            TaskKind::Reach | TaskKind::File | TaskKind::Custom => reach,
            TaskKind::Eyeblink | TaskKind::Interval => timing(reach),
            TaskKind::Copy => copy(reach),
            TaskKind::Mnist => Config {
                epochs: 40,
                cortex: CortexConfig {
                    cell: CellKind::Lstm,
                    hidden: 30,
                    init_scale: 1.0,
                },
                cerebellum: CerebellumConfig {
                    granule: 300,
                    layers: 1,
                    ..reach.cerebellum
                },
                train: TrainOptions {
                    horizon: 3,
                    lr: 1e-4,
                    ..TrainOptions::default()
                },
                ..reach
            },
            // The authors' captioning: Adam with PyTorch's defaults, no clipping, a step per
            // window, batches of 100 captions of one length.
            TaskKind::Captions => Config {
                epochs: 10,
                keep_best: true,
                batch_size: 100,
                eval_batch: 500,
                cortex: CortexConfig {
                    cell: CellKind::Lstm,
                    hidden: 256,
                    init_scale: 1.0,
                },
                cerebellum: CerebellumConfig {
                    granule: 1024,
                    layers: 2,
                    ..reach.cerebellum
                },
                train: TrainOptions {
                    horizon: 4,
                    lr: 1e-3,
                    clip: 0.0,
                    update: crate::trainer::UpdateEvery::Window,
                    optimizer: crate::optim::OptimizerKind::Adam {
                        beta1: 0.9,
                        beta2: 0.999,
                        eps: 1e-8,
                    },
                    ..TrainOptions::default()
                },
                ..reach
            },
        }
    }
}

/// The timing tasks (ccdni's choice; the papers have none): an LSTM of 32 units, a cerebellum of
/// one layer of 128 granule cells, feedback horizon 3, Adam at 3e-3; no prediction injected at
/// the end of a trial's last window (nothing of the trial lies after it).
fn timing(reach: Config) -> Config {
    Config {
        epochs: 60,
        test_every: 10,
        cortex: CortexConfig {
            cell: CellKind::Lstm,
            hidden: 32,
            init_scale: 1.0,
        },
        cerebellum: CerebellumConfig {
            granule: 128,
            layers: 1,
            ..reach.cerebellum
        },
        train: TrainOptions {
            horizon: 3,
            lr: 3e-3,
            inject_at_last_window: false,
            ..TrainOptions::default()
        },
        ..reach
    }
}

/// The copy tasks (ccdni's choice, small enough for minutes on two cores): an LSTM of 64 units,
/// a cerebellum of one layer of 256 granule cells, feedback horizon 4, Adam at 3e-3; no
/// prediction injected at the end of a trial's last window.
fn copy(reach: Config) -> Config {
    Config {
        epochs: 150,
        test_every: 10,
        cortex: CortexConfig {
            cell: CellKind::Lstm,
            hidden: 64,
            init_scale: 1.0,
        },
        cerebellum: CerebellumConfig {
            granule: 256,
            layers: 1,
            ..reach.cerebellum
        },
        train: TrainOptions {
            horizon: 4,
            lr: 3e-3,
            inject_at_last_window: false,
            ..TrainOptions::default()
        },
        ..reach
    }
}
