//! The configuration of a run: every setting of the task, the networks and the training step,
//! with the papers' defaults per task. A TOML file and command-line flags are overlaid on those
//! defaults (unknown keys are an error), the result is validated before any training, and the
//! resolved configuration is written next to the results so a run can be repeated exactly.

use crate::cortex::CellKind;
use crate::layers::cerebellum::CerebellumInput;
use crate::model::{CerebellumSpec, ModelSpec};
use crate::tasks::captions::CaptionsConfig;
use crate::tasks::copy::CopyConfig;
use crate::tasks::eyeblink::EyeblinkConfig;
use crate::tasks::file::FileConfig;
use crate::tasks::interval::IntervalConfig;
use crate::tasks::mnist::MnistConfig;
use crate::tasks::reach::ReachConfig;
use crate::trainer::{CerebellumMode, TrainOptions};
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The tasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TaskKind {
    /// Target reaching (simple line drawing).
    Reach,
    /// Sequential MNIST: classification, line drawing or digit drawing (`mnist.variant`).
    Mnist,
    /// Caption generation from image features (`[captions]`).
    Captions,
    /// Any sequence task given as arrays in files (`[file]`).
    File,
    /// Copy and repeat copy, with a curriculum on the length (`[copy]`).
    Copy,
    /// Eyeblink conditioning, delay or trace (`[eyeblink]`).
    Eyeblink,
    /// Interval reproduction, ready-set-go (`[interval]`).
    Interval,
    /// A task defined in Rust outside the crate, registered by the program that runs it
    /// (`[custom]`, [`register_task`]).
    Custom,
}

impl TaskKind {
    /// The task named `name` (`reach` or `mnist`), or an error naming the choices.
    pub fn parse(name: &str) -> Result<TaskKind> {
        let kind: Result<TaskKind, _> = toml::Value::String(name.to_string()).try_into();
        kind.map_err(|_| {
            anyhow::anyhow!(
                "unknown task `{name}` (expected: reach, mnist, captions, file, copy, eyeblink or interval; or custom, a task a Rust program registers)"
            )
        })
    }
}

/// The task's name as the command line spells it.
pub fn task_word(task: TaskKind) -> &'static str {
    match task {
        TaskKind::Reach => "reach",
        TaskKind::Mnist => "mnist",
        TaskKind::Captions => "captions",
        TaskKind::File => "file",
        TaskKind::Copy => "copy",
        TaskKind::Eyeblink => "eyeblink",
        TaskKind::Interval => "interval",
        TaskKind::Custom => "custom",
    }
}

/// cRNN (cortex alone, truncated BPTT) or ccRNN (cortex + cerebellum).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ModelKind {
    #[serde(rename = "crnn")]
    CRnn,
    #[serde(rename = "ccrnn")]
    CcRnn,
}

impl ModelKind {
    pub fn label(self) -> &'static str {
        match self {
            ModelKind::CRnn => "cRNN",
            ModelKind::CcRnn => "ccRNN",
        }
    }
}

/// The cortical network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CortexConfig {
    pub cell: CellKind,
    pub hidden: usize,
    /// Factor b on the cortex's input and recurrent weights and biases at initialisation
    /// (1: PyTorch's U(±1/√H) unchanged); larger b, more correlated cortical activity
    /// (docs/model.md §1.1).
    #[serde(default = "one")]
    pub init_scale: f64,
}

fn one() -> f64 {
    1.0
}

/// Whether a setting holds its default (left out of the resolved settings, so that they read
/// as before the setting existed).
fn is_default<V: Default + PartialEq>(v: &V) -> bool {
    *v == V::default()
}

/// The cerebellar network (used by a ccRNN).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CerebellumConfig {
    /// Granule cells per granule layer.
    pub granule: usize,
    /// Granule layers.
    pub layers: usize,
    /// Inputs kept per granule cell (sparse mossy fibres); absent: dense.
    pub sparse_k: Option<usize>,
    /// Feed the one-hot cue/label as context (cDNI).
    pub context: bool,
    /// `silent`: the cerebellum learns but its prediction is not applied (control).
    pub silent: bool,
    /// What the cerebellum reads: `state` (the authors'), `none` (a constant cerebellum: its
    /// output bias alone) or `shuffled` (another sample's state) (docs/model.md §1.2).
    #[serde(default, skip_serializing_if = "is_default")]
    pub input: CerebellumInput,
    /// The output layer's weights at initialisation: 0, the authors' zero; s > 0,
    /// U(±s/√granule) (a remedy for silent granule layers).
    #[serde(default, skip_serializing_if = "is_default")]
    pub output_init: f64,
    /// The granule nonlinearity's slope below zero: 0, ReLU (the authors'); > 0, leaky ReLU.
    #[serde(default, skip_serializing_if = "is_default")]
    pub granule_leak: f64,
    /// The cerebellum's own learning rate; absent: `train.lr`, as the authors'.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lr: Option<f64>,
}

/// Lesions at the start of a given epoch (1-based; absent: none).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lesions {
    /// Cerebellar ablation: from this epoch on the cerebellum is neither used nor trained.
    pub cerebellum_at: Option<usize>,
    /// Inferior-olive ablation: from this epoch on the cerebellum is frozen but still predicts.
    pub olive_at: Option<usize>,
}

/// A whole run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub task: TaskKind,
    pub model: ModelKind,
    pub seed: u64,
    pub epochs: usize,
    pub batch_size: usize,
    /// Samples per batch when evaluating (does not change any result).
    pub eval_batch: usize,
    /// Evaluate the test set every this many epochs, and always after the last one (validation
    /// is evaluated every epoch).
    pub test_every: usize,
    /// The late phase of training over which the normalised performance is also reported, as a
    /// fraction of the epochs in (0, 1]: the last ⌈late_phase · epochs⌉ epochs (0.5: the last
    /// half). The all-epoch figure, the papers', is always reported too (docs/model.md §5).
    pub late_phase: f64,
    pub cortex: CortexConfig,
    pub cerebellum: CerebellumConfig,
    pub train: TrainOptions,
    pub lesion: Lesions,
    /// Write each run's checkpoint every this many epochs (and after the last one, and when a
    /// run is stopped early); 0: only then.
    #[serde(default = "every_epoch")]
    pub checkpoint_every: usize,
    /// Early stopping as the authors' captioning does it: a run ends with (saves, and captions
    /// with) its parameters after the epoch of lowest validation error, not after its last
    /// epoch; metrics.csv still records every epoch. Default: on for captions, off otherwise.
    #[serde(default)]
    pub keep_best: bool,
    /// Recordings over learning (off by default).
    #[serde(default)]
    pub record: crate::trainer::RecordOptions,
    pub reach: ReachConfig,
    pub mnist: MnistConfig,
    #[serde(default)]
    pub captions: CaptionsConfig,
    #[serde(default)]
    pub file: FileConfig,
    #[serde(default)]
    pub copy: CopyConfig,
    #[serde(default)]
    pub eyeblink: EyeblinkConfig,
    #[serde(default)]
    pub interval: IntervalConfig,
    #[serde(default, skip_serializing_if = "CustomConfig::is_empty")]
    pub custom: CustomConfig,
    /// A cortex of two areas in a chain (docs/model.md §7); absent: one area.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub areas: Option<AreasConfig>,
}

impl Config {
    /// The defaults of the task named in `overlay` (or `task`), with `overlay` (a TOML table of
    /// any subset of the settings) laid over them.
    pub fn resolve(task: TaskKind, overlay: &toml::Table) -> Result<Self> {
        let task = match overlay.get("task") {
            Some(v) => v.clone().try_into().context("setting `task`")?,
            None => task,
        };
        let mut base =
            toml::Table::try_from(Config::defaults(task)).context("serialising the defaults")?;
        merge(&mut base, overlay);
        let config: Config = toml::Value::Table(base)
            .try_into()
            .map_err(|e: toml::de::Error| anyhow::anyhow!("{}", keyed_message(&e)))?;
        Ok(config)
    }

    /// Reads a TOML file of settings (any subset) and resolves it over the task's defaults.
    pub fn load_overlay(path: &Path) -> Result<toml::Table> {
        let text = crate::data::read_text_capped(path, crate::data::SETTINGS_CAP)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        text.parse::<toml::Table>()
            .with_context(|| format!("config file {} is not valid TOML", path.display()))
    }

    /// The resolved configuration as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("a config always serialises")
    }

    /// The same settings with every file and folder they name made absolute (relative paths
    /// are taken from the current folder), so that a job folder's settings mean the same from
    /// wherever it is resumed.
    pub fn with_absolute_paths(mut self) -> Result<Self> {
        let c = &mut self.captions;
        let mut paths = vec![
            ("mnist.data_dir".to_string(), &mut self.mnist.data_dir),
            ("captions.data".to_string(), &mut c.data),
            ("captions.features".to_string(), &mut c.features),
            ("captions.image_ids".to_string(), &mut c.image_ids),
            ("captions.image_map_from".to_string(), &mut c.image_map_from),
        ];
        paths.extend(self.file.paths_mut());
        for (key, path) in paths {
            if let Some(p) = path.as_mut() {
                *p = std::path::absolute(&*p)
                    .with_context(|| format!("`{key}` = {}", p.display()))?;
            }
        }
        Ok(self)
    }

    /// The task's name in folder names and reports: `reach`, or `mnist-<variant>`.
    pub fn task_name(&self) -> String {
        match self.task {
            TaskKind::Reach => "reach".to_string(),
            TaskKind::Captions => "captions".to_string(),
            TaskKind::File => "file".to_string(),
            TaskKind::Copy if self.copy.repeats > 1 => "repeat-copy".to_string(),
            TaskKind::Copy => "copy".to_string(),
            TaskKind::Eyeblink => match self.eyeblink.conditioning {
                crate::tasks::eyeblink::Conditioning::Delay => "eyeblink-delay".to_string(),
                crate::tasks::eyeblink::Conditioning::Trace => "eyeblink-trace".to_string(),
            },
            TaskKind::Interval => "interval".to_string(),
            TaskKind::Custom => self.custom.name.clone(),
            TaskKind::Mnist => {
                let variant = toml::Value::try_from(self.mnist.variant)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                format!("mnist-{variant}")
            }
        }
    }

    /// Sequence length of the task (captions: the longest training caption's steps, its words
    /// and `<start>`, `<end>`).
    pub fn steps(&self) -> usize {
        match self.task {
            TaskKind::Reach => self.reach.steps,
            TaskKind::Mnist => crate::tasks::mnist::WIDTH,
            TaskKind::Captions => self.captions.max_words + 2,
            // Read from the arrays (0 when they cannot be read: validation says why).
            TaskKind::File => crate::tasks::file::shared(&self.file).map_or(0, |d| d.steps),
            // The longest trial the curriculum may reach.
            TaskKind::Copy => self.copy.max_steps(),
            TaskKind::Eyeblink => self.eyeblink.steps,
            TaskKind::Interval => self.interval.steps,
            // Asked of the task itself (0 when it cannot be built: validation says why).
            TaskKind::Custom => custom::build(self).map_or(0, |t| t.steps()),
        }
    }

    /// The network shapes for a task with `input` inputs and `output` outputs.
    pub fn model_spec(&self, input: usize, output: usize, context: usize) -> ModelSpec {
        ModelSpec {
            cell: self.cortex.cell,
            input,
            hidden: self.cortex.hidden,
            output,
            cerebellum: (self.model == ModelKind::CcRnn).then_some(CerebellumSpec {
                granule: self.cerebellum.granule,
                layers: self.cerebellum.layers,
                sparse_k: self.cerebellum.sparse_k,
                context: if self.cerebellum.context { context } else { 0 },
            }),
            words: None,
        }
    }

    /// Sets the cerebellar options that are not part of the model's shape on a freshly built
    /// `model` (none without a cerebellum): what it reads, its granule nonlinearity, and a
    /// random output layer (from the run's "cerebellum-output" stream, so that no other draw
    /// moves) when `cerebellum.output_init` > 0.
    pub fn configure_cerebellum<T: crate::real::Real>(&self, model: &mut crate::model::Model<T>) {
        let Some(cb) = &mut model.cerebellum else {
            return;
        };
        let c = &self.cerebellum;
        (cb.input, cb.leak, cb.shuffle_seed) = (c.input, c.granule_leak, self.seed);
        if c.output_init > 0.0 {
            let mut rng = crate::rng::Rng::stream(self.seed, "cerebellum-output");
            cb.init_output(&mut model.params, c.output_init, &mut rng);
        }
    }

    /// The epochs of the late phase (1-based, inclusive): the last ⌈late_phase · epochs⌉.
    pub fn late_phase_epochs(&self) -> std::ops::RangeInclusive<usize> {
        late_phase_epochs(self.epochs, self.late_phase)
    }

    /// What the cerebellum does during `epoch` (1-based), lesions applied.
    pub fn cerebellum_mode(&self, epoch: usize) -> CerebellumMode {
        let after = |at: Option<usize>| at.is_some_and(|e| epoch >= e);
        if self.model == ModelKind::CRnn || after(self.lesion.cerebellum_at) {
            CerebellumMode::Off
        } else if after(self.lesion.olive_at) {
            CerebellumMode::Frozen
        } else if self.cerebellum.silent {
            CerebellumMode::Silent
        } else {
            CerebellumMode::Active
        }
    }
}

/// The last ⌈`fraction` · `epochs`⌉ of `epochs` epochs (1-based, inclusive; at least one when
/// `epochs` ≥ 1). A product a hair above a whole number, such as 0.3 · 10, counts as that number.
pub fn late_phase_epochs(epochs: usize, fraction: f64) -> std::ops::RangeInclusive<usize> {
    let n = ((fraction * epochs as f64 - 1e-9).ceil().max(1.0) as usize).min(epochs);
    (epochs - n + 1)..=epochs
}

/// Lays `overlay` over `base`, table by table.
pub fn merge(base: &mut toml::Table, overlay: &toml::Table) {
    for (k, v) in overlay {
        match (base.get_mut(k), v) {
            // A table naming another variant (`optimizer.name`) replaces the default one whole.
            (Some(toml::Value::Table(b)), toml::Value::Table(o))
                if o.get("name").is_none_or(|n| b.get("name") == Some(n)) =>
            {
                merge(b, o)
            }
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

/// The most settings a run may train for: nothing is allocated per epoch up front, but a run
/// this long would never finish, and a count beyond it is a typo.
pub const MAX_EPOCHS: usize = 1_000_000_000;

fn every_epoch() -> usize {
    1
}

/// The settings in which two configurations differ, as `key: old -> new` lines (dotted keys,
/// sorted).
pub fn differences(old: &Config, new: &Config) -> Vec<String> {
    fn flatten(prefix: &str, v: &toml::Value, out: &mut BTreeMap<String, String>) {
        match v {
            toml::Value::Table(t) => {
                for (k, v) in t {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    flatten(&key, v, out);
                }
            }
            v => {
                out.insert(prefix.to_string(), v.to_string());
            }
        }
    }
    let flat = |c: &Config| {
        let mut out = BTreeMap::new();
        if let Ok(v) = toml::Value::try_from(c) {
            flatten("", &v, &mut out);
        }
        out
    };
    let (a, b) = (flat(old), flat(new));
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let shown = |v: Option<&String>| v.map_or("(unset)".to_string(), Clone::clone);
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| format!("{k}: {} -> {}", shown(a.get(k)), shown(b.get(k))))
        .collect()
}

/// A deserialisation error as `` `a.b`: message `` when serde knows the key.
pub fn keyed_message(e: &toml::de::Error) -> String {
    // Without a source text, the error's Display is the message, then "in `a.b`" when the key
    // path is known (the toml crate does not expose the keys otherwise).
    let text = e.to_string();
    match text.trim_end().rsplit_once("\nin `") {
        Some((message, key)) => format!("`{}`: {message}", key.trim_end_matches('`')),
        None => e.message().to_string(),
    }
}

/// Sets `path` (dotted, e.g. `train.horizon`) to `value` in a TOML table, creating tables on the
/// way. Fails, naming both, when a key on the path already holds a value that is not a table
/// (`reach = 1` and then `reach.feedback_interval`).
pub fn set_path(table: &mut toml::Table, path: &str, value: toml::Value) -> Result<()> {
    let mut t = table;
    let mut parts: Vec<&str> = path.split('.').collect();
    let last = parts.pop().unwrap_or_default();
    if last.is_empty() || parts.iter().any(|p| p.is_empty()) {
        bail!("`{path}` is not a setting name (keys are separated by single dots)");
    }
    let mut prefix = String::new();
    for p in parts {
        if !prefix.is_empty() {
            prefix.push('.');
        }
        prefix.push_str(p);
        let entry = t
            .entry(p.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            bail!(
                "cannot set `{path}`: `{prefix}` holds the {} {entry}, not a table of settings",
                entry.type_str()
            );
        }
        t = entry.as_table_mut().expect("checked to be a table");
    }
    t.insert(last.to_string(), value);
    Ok(())
}

mod areas;
mod custom;
mod defaults;
mod memory;
mod overrides;
mod task;
mod validate;

pub use areas::{AreasConfig, ForwardChoice};
pub use custom::{CustomConfig, TaskFactory, register_task};
pub use memory::check_memory;
pub use overrides::{Overrides, parse_setting};
#[cfg(test)]
mod tests;
