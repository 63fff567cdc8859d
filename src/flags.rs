//! The setting flags every training command shares, and the settings they give: a config
//! file, one flag per common setting, and `--set KEY=VALUE` for any other, laid over the task's
//! defaults in that order.

use anyhow::{Result, bail};
use ccdni::config::{Config, Overrides, TaskKind, task_word};
use clap::Args;
use std::path::PathBuf;
use toml::Value;

/// Settings of a run. Every flag overrides the config file, which overrides the task's defaults.
#[derive(Args, Debug, Default, Clone)]
pub struct Settings {
    /// TOML file of settings (any subset; see `ccdni config` for every key).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Run seed (initialisation, data, sparse mask, split); for a multi-run job, the first seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Training epochs.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Late phase of training for the second normalised performance: the last fraction of the
    /// epochs, in (0, 1] (default 0.5, the last half; the all-epoch figure is always reported).
    #[arg(long, value_name = "FRACTION")]
    pub late_phase: Option<f64>,
    /// Write each run's checkpoint every N epochs (and after the last, and when stopped; 0:
    /// only then).
    #[arg(long, value_name = "N")]
    pub checkpoint_every: Option<usize>,
    /// Sequences per training batch.
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Record the network at every window boundary every N training batches (0: never; the
    /// arrays go to each run's recordings/).
    #[arg(long, value_name = "N")]
    pub record_every: Option<usize>,
    /// Measure the network after every epoch on the first N validation sequences (0: never;
    /// alignment, population and weight statistics into learning.csv and learning/).
    #[arg(long, value_name = "N")]
    pub probe: Option<usize>,
    /// Cortical cell: lstm or tanh.
    #[arg(long, value_name = "lstm|tanh")]
    pub cell: Option<String>,
    /// Cortical hidden units H.
    #[arg(long)]
    pub hidden: Option<usize>,
    /// Granule cells per granule layer.
    #[arg(long)]
    pub granule: Option<usize>,
    /// Number of granule layers.
    #[arg(long)]
    pub granule_layers: Option<usize>,
    /// Sparse mossy fibres: inputs kept per granule cell.
    #[arg(long)]
    pub sparse_k: Option<usize>,
    /// Feed the one-hot cue/label to the cerebellum as context (cDNI).
    #[arg(long)]
    pub context: bool,
    /// The cerebellum learns but its prediction is not applied (control).
    #[arg(long)]
    pub silent_cerebellum: bool,
    /// Feedback horizon K (steps per truncated-BPTT window).
    #[arg(long, short = 'k')]
    pub horizon: Option<usize>,
    /// Scale of the injected cerebellar prediction.
    #[arg(long)]
    pub lambda: Option<f64>,
    /// Learning rate.
    #[arg(long)]
    pub lr: Option<f64>,
    /// Cerebellum loss over the batch: sum (authors' code) or mean.
    #[arg(long, value_name = "sum|mean")]
    pub cerebellum_loss: Option<String>,
    /// Do not inject the cerebellar prediction at the end of the last window.
    #[arg(long)]
    pub no_inject_last: bool,
    /// Optimizer step per batch or per window.
    #[arg(long, value_name = "batch|window")]
    pub update: Option<String>,
    /// Global gradient-norm clipping threshold (0: off).
    #[arg(long)]
    pub clip: Option<f64>,
    /// Optimizer: adam, sgd (with --momentum) or rmsprop.
    #[arg(long, value_name = "adam|sgd|rmsprop")]
    pub optimizer: Option<String>,
    /// SGD momentum.
    #[arg(long)]
    pub momentum: Option<f64>,
    /// Cerebellar ablation from this epoch on (1-based).
    #[arg(long, value_name = "EPOCH")]
    pub cerebellum_lesion_at: Option<usize>,
    /// Inferior-olive ablation from this epoch on (1-based).
    #[arg(long, value_name = "EPOCH")]
    pub olive_lesion_at: Option<usize>,
    /// Task feedback on every N-th step (drawing tasks).
    #[arg(long, value_name = "N")]
    pub feedback_interval: Option<usize>,
    /// Sequential-MNIST variant: class, line (LD) or digit (DD).
    #[arg(long, value_name = "class|line|digit")]
    pub variant: Option<String>,
    /// Folder with the IDX files of MNIST (or Fashion-MNIST); wins over $CCDNI_DATA_DIR and the cache.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Captions: COCO-format caption annotations (captions_train2014.json); with --features.
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// Captions: the images' features, .npy (float32, a row per image; with --image-ids) or
    /// .safetensors (`features` and `image_ids`).
    #[arg(long, value_name = "FILE")]
    pub features: Option<PathBuf>,
    /// Captions: the image id of each row of a .npy --features file (.npy or .json list).
    #[arg(long, value_name = "FILE")]
    pub image_ids: Option<PathBuf>,
    /// File task: the training inputs, N × L × I floats (.npy, or .npz / .safetensors of one array).
    #[arg(long, value_name = "FILE")]
    pub inputs: Option<PathBuf>,
    /// File task: the training targets, N × L × O floats or N × L integer labels (-1: none).
    #[arg(long, value_name = "FILE")]
    pub targets: Option<PathBuf>,
    /// File task: where the targets are scored, N × L or N × L × O zeros and ones.
    #[arg(long, value_name = "FILE")]
    pub mask: Option<PathBuf>,
    /// Any setting as KEY=VALUE (TOML value), e.g. --set reach.input_noise=0.05.
    #[arg(long, value_name = "KEY=VALUE", allow_hyphen_values = true)]
    pub set: Vec<String>,
}

/// An integer flag as a TOML integer, refusing one beyond TOML's range (it would wrap).
pub fn int(flag: &str, v: impl Into<u128>) -> Result<Value> {
    let v = v.into();
    i64::try_from(v)
        .map(Value::Integer)
        .map_err(|_| anyhow::anyhow!("{flag} {v} is out of range (at most {})", i64::MAX))
}

impl Settings {
    /// The settings these flags give, in the order they lie over each other: the config file,
    /// then each flag, then each `--set`.
    pub fn overrides(&self) -> Result<Overrides> {
        let mut o = Overrides {
            file: self.config.clone(),
            settings: Vec::new(),
        };
        let u = |v: Option<usize>| v.map(|v| v as u128);
        let ints = [
            ("seed", "--seed", self.seed.map(u128::from)),
            ("epochs", "--epochs", u(self.epochs)),
            (
                "checkpoint_every",
                "--checkpoint-every",
                u(self.checkpoint_every),
            ),
            ("batch_size", "--batch-size", u(self.batch_size)),
            ("cortex.hidden", "--hidden", u(self.hidden)),
            ("cerebellum.granule", "--granule", u(self.granule)),
            (
                "cerebellum.layers",
                "--granule-layers",
                u(self.granule_layers),
            ),
            ("cerebellum.sparse_k", "--sparse-k", u(self.sparse_k)),
            ("train.horizon", "--horizon", u(self.horizon)),
            (
                "lesion.cerebellum_at",
                "--cerebellum-lesion-at",
                u(self.cerebellum_lesion_at),
            ),
            (
                "lesion.olive_at",
                "--olive-lesion-at",
                u(self.olive_lesion_at),
            ),
            ("record.every", "--record-every", u(self.record_every)),
            ("record.probe", "--probe", u(self.probe)),
        ];
        for (key, flag, v) in ints {
            if let Some(v) = v {
                o.set(key, int(flag, v)?);
            }
        }
        let text = |v: &Option<String>| v.clone().map(Value::String);
        let path = |v: &Option<PathBuf>| v.as_ref().map(|p| Value::String(p.display().to_string()));
        let float = |v: Option<f64>| v.map(Value::Float);
        let on = |given: bool, v: bool| given.then_some(Value::Boolean(v));
        let values = [
            ("cortex.cell", text(&self.cell)),
            ("train.cerebellum_loss", text(&self.cerebellum_loss)),
            ("train.update", text(&self.update)),
            ("mnist.variant", text(&self.variant)),
            ("late_phase", float(self.late_phase)),
            ("train.lambda", float(self.lambda)),
            ("train.lr", float(self.lr)),
            ("train.clip", float(self.clip)),
            ("cerebellum.context", on(self.context, true)),
            ("cerebellum.silent", on(self.silent_cerebellum, true)),
            (
                "train.inject_at_last_window",
                on(self.no_inject_last, false),
            ),
            ("mnist.data_dir", path(&self.data_dir)),
            ("captions.data", path(&self.data)),
            ("captions.features", path(&self.features)),
            ("captions.image_ids", path(&self.image_ids)),
            ("file.inputs", path(&self.inputs)),
            ("file.targets", path(&self.targets)),
            ("file.mask", path(&self.mask)),
            ("train.optimizer", self.optimizer_table()?),
        ];
        for (key, v) in values {
            if let Some(v) = v {
                o.set(key, v);
            }
        }
        for kv in &self.set {
            o.set_text(kv)?;
        }
        Ok(o)
    }

    /// The optimizer `--optimizer` and `--momentum` name, with its defaults.
    fn optimizer_table(&self) -> Result<Option<Value>> {
        let fields: Vec<(&str, Value)> = match (self.optimizer.as_deref(), self.momentum) {
            (None, None) => return Ok(None),
            (Some("adam"), None) => vec![
                ("name", Value::String("adam".into())),
                ("beta1", Value::Float(0.9)),
                ("beta2", Value::Float(0.98)),
                ("eps", Value::Float(1e-9)),
            ],
            (Some("rmsprop"), None) => vec![
                ("name", Value::String("rmsprop".into())),
                ("alpha", Value::Float(0.99)),
                ("eps", Value::Float(1e-8)),
            ],
            (Some("sgd") | None, m) => vec![
                ("name", Value::String("sgd".into())),
                ("momentum", Value::Float(m.unwrap_or(0.9))),
            ],
            (Some(name @ ("adam" | "rmsprop")), Some(_)) => {
                bail!("--momentum applies only to --optimizer sgd, not {name}")
            }
            (Some(other), _) => bail!("--optimizer {other}: expected adam, sgd or rmsprop"),
        };
        let table = fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        Ok(Some(Value::Table(table)))
    }

    /// The configuration for `task` (unless the file or a setting names another), with the
    /// table `under` (an experiment file's settings), the file and the flags laid over its
    /// defaults in that order, validated.
    pub fn resolve(&self, task: TaskKind, under: &toml::Table) -> Result<Config> {
        let mut overrides = self.overrides()?;
        if let Some(n) = self.feedback_interval {
            // The task's own feedback interval (the file or --set may name another task).
            let task = overrides.resolve(task, under).map_or(task, |c| c.task);
            let section = if task == TaskKind::Mnist {
                "mnist"
            } else {
                "reach"
            };
            let key = format!("{section}.feedback_interval");
            overrides.set(&key, int("--feedback-interval", n as u128)?);
        }
        let config = overrides.resolve(task, under)?;
        self.only_for(&config)?;
        Ok(config)
    }

    /// Refuses flags of another task than the configuration's.
    pub fn only_for(&self, config: &Config) -> Result<()> {
        let per_task = [
            (TaskKind::Mnist, "--variant", self.variant.is_some()),
            (TaskKind::Mnist, "--data-dir", self.data_dir.is_some()),
            (TaskKind::Captions, "--data", self.data.is_some()),
            (TaskKind::Captions, "--features", self.features.is_some()),
            (TaskKind::Captions, "--image-ids", self.image_ids.is_some()),
            (TaskKind::File, "--inputs", self.inputs.is_some()),
            (TaskKind::File, "--targets", self.targets.is_some()),
            (TaskKind::File, "--mask", self.mask.is_some()),
        ];
        for (task, flag, given) in per_task {
            if given && config.task != task {
                bail!(
                    "{flag} applies only to the {} task, but the task is {}",
                    task_word(task),
                    task_word(config.task)
                );
            }
        }
        Ok(())
    }
}
