//! Command-line settings shared by the subcommands: a config file and one flag per setting, laid
//! over the task's defaults in that order.

use crate::config::{Config, TaskKind, set_path};
use anyhow::{Context, Result, bail};
use clap::Args;
use std::path::PathBuf;
use toml::Value;

/// Settings of a run. Every flag overrides the config file, which overrides the task's defaults.
#[derive(Args, Debug, Default, Clone)]
pub struct Settings {
    /// TOML file of settings (any subset; see `ccdni config` for every key).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Run seed (initialisation, data, sparse mask, split).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Training epochs.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Late phase of training for the second normalised performance: the last fraction of the
    /// epochs, in (0, 1] (default 0.5, the last half; the all-epoch figure is always reported).
    #[arg(long, value_name = "FRACTION")]
    pub late_phase: Option<f64>,
    /// Sequences per training batch.
    #[arg(long)]
    pub batch_size: Option<usize>,
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
    /// Any setting as KEY=VALUE (TOML value), e.g. --set reach.input_noise=0.05.
    #[arg(long, value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

impl Settings {
    /// The configuration for `task` (unless the file or `--set task=` names another), overlaid
    /// with the file and the flags, and validated.
    pub fn resolve(&self, task: TaskKind) -> Result<Config> {
        let mut overlay = match &self.config {
            Some(path) => Config::load_overlay(path)?,
            None => toml::Table::new(),
        };
        self.apply_flags(&mut overlay)?;
        if let Some(n) = self.feedback_interval {
            // The task's own feedback interval (the file or --set may name another task).
            let task = Config::resolve(task, &overlay).map_or(task, |c| c.task);
            let section = if task == TaskKind::Mnist {
                "mnist"
            } else {
                "reach"
            };
            set_path(
                &mut overlay,
                &format!("{section}.feedback_interval"),
                Value::Integer(n as i64),
            );
        }
        let config = Config::resolve(task, &overlay).map_err(|e| match &self.config {
            Some(path) => e.context(format!("in config file {} or flags", path.display())),
            None => e.context("invalid setting"),
        })?;
        config.validate()?;
        Ok(config)
    }

    fn apply_flags(&self, t: &mut toml::Table) -> Result<()> {
        let int = |v: usize| Value::Integer(v as i64);
        let mut set = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                set_path(t, k, v);
            }
        };
        set("seed", self.seed.map(|v| Value::Integer(v as i64)));
        set("epochs", self.epochs.map(int));
        set("late_phase", self.late_phase.map(Value::Float));
        set("batch_size", self.batch_size.map(int));
        set("cortex.cell", self.cell.clone().map(Value::String));
        set("cortex.hidden", self.hidden.map(int));
        set("cerebellum.granule", self.granule.map(int));
        set("cerebellum.layers", self.granule_layers.map(int));
        set("cerebellum.sparse_k", self.sparse_k.map(int));
        set(
            "cerebellum.context",
            self.context.then_some(Value::Boolean(true)),
        );
        set(
            "cerebellum.silent",
            self.silent_cerebellum.then_some(Value::Boolean(true)),
        );
        set("train.horizon", self.horizon.map(int));
        set("train.lambda", self.lambda.map(Value::Float));
        set("train.lr", self.lr.map(Value::Float));
        set(
            "train.cerebellum_loss",
            self.cerebellum_loss.clone().map(Value::String),
        );
        set(
            "train.inject_at_last_window",
            self.no_inject_last.then_some(Value::Boolean(false)),
        );
        set("train.update", self.update.clone().map(Value::String));
        set("train.clip", self.clip.map(Value::Float));
        set("lesion.cerebellum_at", self.cerebellum_lesion_at.map(int));
        set("lesion.olive_at", self.olive_lesion_at.map(int));
        set("mnist.variant", self.variant.clone().map(Value::String));
        set(
            "mnist.data_dir",
            self.data_dir
                .as_ref()
                .map(|d| Value::String(d.display().to_string())),
        );
        if let Some(name) = &self.optimizer {
            let table = match name.as_str() {
                "adam" => "name = 'adam'\nbeta1 = 0.9\nbeta2 = 0.98\neps = 1e-9",
                "sgd" => &format!(
                    "name = 'sgd'\nmomentum = {:?}",
                    self.momentum.unwrap_or(0.9)
                ),
                "rmsprop" => "name = 'rmsprop'\nalpha = 0.99\neps = 1e-8",
                other => bail!("--optimizer {other}: expected adam, sgd or rmsprop"),
            };
            set(
                "train.optimizer",
                Some(Value::Table(table.parse().expect("valid TOML"))),
            );
        } else if let Some(m) = self.momentum {
            set(
                "train.optimizer",
                Some(Value::Table(
                    format!("name = 'sgd'\nmomentum = {m:?}")
                        .parse()
                        .expect("valid TOML"),
                )),
            );
        }
        for kv in &self.set {
            let (k, v) = kv
                .split_once('=')
                .with_context(|| format!("--set {kv}: expected KEY=VALUE"))?;
            let doc: toml::Table = format!("v = {v}")
                .parse()
                .or_else(|_| format!("v = {:?}", v.trim()).parse())
                .with_context(|| format!("--set {kv}: the value is not a TOML value"))?;
            set_path(t, k.trim(), doc["v"].clone());
        }
        Ok(())
    }
}
