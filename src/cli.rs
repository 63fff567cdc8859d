//! Command-line settings shared by the subcommands: a config file and one flag per setting, laid
//! over the task's defaults in that order.

use crate::config::{Config, TaskKind, set_path};
use anyhow::{Context, Result, bail};
use clap::Args;
use std::path::PathBuf;
use toml::Value;

/// An integer flag as a TOML integer, refusing one beyond TOML's range (it would wrap to a
/// negative number).
fn int(flag: &str, v: impl Into<u128>) -> Result<Value> {
    let v = v.into();
    i64::try_from(v)
        .map(Value::Integer)
        .map_err(|_| anyhow::anyhow!("{flag} {v} is out of range (at most {})", i64::MAX))
}

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
    /// Write each run's checkpoint every N epochs (and after the last, and when stopped; 0:
    /// only then).
    #[arg(long, value_name = "N")]
    pub checkpoint_every: Option<usize>,
    /// Sequences per training batch.
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Record the network at every window boundary every N training batches (0: never; the
    /// arrays go to recordings/ in the run folder).
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
    /// Any setting as KEY=VALUE (TOML value), e.g. --set reach.input_noise=0.05.
    #[arg(long, value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

impl Settings {
    /// The configuration for `task` (unless the file or `--set task=` names another), overlaid
    /// with the file and the flags, and validated.
    pub fn resolve(&self, task: TaskKind) -> Result<Config> {
        self.resolve_over(task, &toml::Table::new())
    }

    /// As [`Self::resolve`], with `settings` (e.g. an experiment file's) under the config file
    /// and the flags.
    pub fn resolve_over(&self, task: TaskKind, settings: &toml::Table) -> Result<Config> {
        let mut overlay = settings.clone();
        if let Some(path) = &self.config {
            crate::config::merge(&mut overlay, &Config::load_overlay(path)?);
        }
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
                int("--feedback-interval", n as u128)?,
            )?;
        }
        let config = Config::resolve(task, &overlay).map_err(|e| match &self.config {
            Some(path) => e.context(format!("in config file {} or flags", path.display())),
            None => e.context("invalid setting"),
        })?;
        config.validate()?;
        let only = |task: TaskKind, flags: &[(&str, bool)]| -> Result<()> {
            if config.task == task {
                return Ok(());
            }
            match flags.iter().find(|(_, given)| *given) {
                Some((flag, _)) => bail!(
                    "{flag} applies only to the {} task, but the task is {}",
                    crate::config::task_word(task),
                    crate::config::task_word(config.task)
                ),
                None => Ok(()),
            }
        };
        only(
            TaskKind::Mnist,
            &[
                ("--variant", self.variant.is_some()),
                ("--data-dir", self.data_dir.is_some()),
            ],
        )?;
        only(
            TaskKind::Captions,
            &[
                ("--data", self.data.is_some()),
                ("--features", self.features.is_some()),
                ("--image-ids", self.image_ids.is_some()),
            ],
        )?;
        Ok(config)
    }

    fn apply_flags(&self, t: &mut toml::Table) -> Result<()> {
        let mut values: Vec<(&str, Value)> = Vec::new();
        let ints = [
            ("seed", "--seed", self.seed.map(|v| v as u128)),
            ("epochs", "--epochs", self.epochs.map(|v| v as u128)),
            (
                "checkpoint_every",
                "--checkpoint-every",
                self.checkpoint_every.map(|v| v as u128),
            ),
            (
                "batch_size",
                "--batch-size",
                self.batch_size.map(|v| v as u128),
            ),
            ("cortex.hidden", "--hidden", self.hidden.map(|v| v as u128)),
            (
                "cerebellum.granule",
                "--granule",
                self.granule.map(|v| v as u128),
            ),
            (
                "cerebellum.layers",
                "--granule-layers",
                self.granule_layers.map(|v| v as u128),
            ),
            (
                "cerebellum.sparse_k",
                "--sparse-k",
                self.sparse_k.map(|v| v as u128),
            ),
            (
                "train.horizon",
                "--horizon",
                self.horizon.map(|v| v as u128),
            ),
            (
                "lesion.cerebellum_at",
                "--cerebellum-lesion-at",
                self.cerebellum_lesion_at.map(|v| v as u128),
            ),
            (
                "lesion.olive_at",
                "--olive-lesion-at",
                self.olive_lesion_at.map(|v| v as u128),
            ),
            (
                "record.every",
                "--record-every",
                self.record_every.map(|v| v as u128),
            ),
            ("record.probe", "--probe", self.probe.map(|v| v as u128)),
        ];
        for (key, flag, v) in ints {
            if let Some(v) = v {
                values.push((key, int(flag, v)?));
            }
        }
        let strings = [
            ("cortex.cell", &self.cell),
            ("train.cerebellum_loss", &self.cerebellum_loss),
            ("train.update", &self.update),
            ("mnist.variant", &self.variant),
        ];
        for (key, v) in strings {
            if let Some(v) = v {
                values.push((key, Value::String(v.clone())));
            }
        }
        let floats = [
            ("late_phase", self.late_phase),
            ("train.lambda", self.lambda),
            ("train.lr", self.lr),
            ("train.clip", self.clip),
        ];
        for (key, v) in floats {
            if let Some(v) = v {
                values.push((key, Value::Float(v)));
            }
        }
        let flags = [
            ("cerebellum.context", self.context, true),
            ("cerebellum.silent", self.silent_cerebellum, true),
            ("train.inject_at_last_window", self.no_inject_last, false),
        ];
        for (key, given, v) in flags {
            if given {
                values.push((key, Value::Boolean(v)));
            }
        }
        let paths = [
            ("mnist.data_dir", &self.data_dir),
            ("captions.data", &self.data),
            ("captions.features", &self.features),
            ("captions.image_ids", &self.image_ids),
        ];
        for (key, path) in paths {
            if let Some(d) = path {
                values.push((key, Value::String(d.display().to_string())));
            }
        }
        let optimizer = match (self.optimizer.as_deref(), self.momentum) {
            (None, None) => None,
            (Some("adam"), None) => Some(vec![
                ("name", Value::String("adam".into())),
                ("beta1", Value::Float(0.9)),
                ("beta2", Value::Float(0.98)),
                ("eps", Value::Float(1e-9)),
            ]),
            (Some("rmsprop"), None) => Some(vec![
                ("name", Value::String("rmsprop".into())),
                ("alpha", Value::Float(0.99)),
                ("eps", Value::Float(1e-8)),
            ]),
            (Some("sgd") | None, m) => Some(vec![
                ("name", Value::String("sgd".into())),
                ("momentum", Value::Float(m.unwrap_or(0.9))),
            ]),
            (Some(name @ ("adam" | "rmsprop")), Some(_)) => {
                bail!("--momentum applies only to --optimizer sgd, not {name}")
            }
            (Some(other), _) => bail!("--optimizer {other}: expected adam, sgd or rmsprop"),
        };
        if let Some(fields) = optimizer {
            let table = fields
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
            values.push(("train.optimizer", Value::Table(table)));
        }
        for (key, v) in values {
            set_path(t, key, v)?;
        }
        for kv in &self.set {
            let (k, v) = parse_set(kv)?;
            set_path(t, &k, v).with_context(|| format!("--set {kv}"))?;
        }
        Ok(())
    }
}

/// A `--set KEY=VALUE` argument as its key and TOML value (a bare word is a string).
pub fn parse_set(kv: &str) -> Result<(String, Value)> {
    let (k, v) = kv
        .split_once('=')
        .with_context(|| format!("--set {kv}: expected KEY=VALUE"))?;
    let digits = v.trim().trim_start_matches(['-', '+']);
    let parsed = format!("v = {v}").parse::<toml::Table>();
    if parsed.is_err() && !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
        bail!(
            "--set {kv}: the integer is out of range (a setting holds at most {})",
            i64::MAX
        );
    }
    let doc: toml::Table = parsed
        .or_else(|_| format!("v = {:?}", v.trim()).parse())
        .with_context(|| format!("--set {kv}: the value is not a TOML value"))?;
    let value = doc
        .get("v")
        .with_context(|| format!("--set {kv}: the value is not a TOML value"))?;
    Ok((k.trim().to_string(), value.clone()))
}
