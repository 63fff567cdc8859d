//! Experiments as data. An experiment file (see `experiments/` at the repository's root) holds
//! an experiment's name, seeds, base settings, variants and figure; [`read`] parses it and
//! [`ExperimentFile::experiment`] resolves it, refusing, naming the file and the key or line,
//! anything wrong before anything runs. The files of `experiments/` are also compiled into the
//! binary ([`builtin`]): `ccdni reach`, `mnist` and `captions` run them, and `ccdni run NAME`
//! finds them by name.
//!
//! A job folder stores its experiment in two files: `config.toml`, the resolved base
//! configuration (`ccdni train --config` repeats a run from it), and `experiment.toml`, the
//! rest ([`Stored`]); [`load_stored`] rebuilds the experiment from them alone.
//!
//! ```toml
//! name = "reach"
//! seeds = [0, 1, 2, 3]
//! [settings]                  # the base: any subset of the keys of `ccdni config`
//! task = "reach"
//! test_every = 10
//! [papers]                    # the papers' size (`ccdni run --papers`)
//! seeds = 10
//! settings = { test_every = 1 }
//! [[variants]]
//! label = "ccRNN"
//! model = "ccrnn"             # crnn or ccrnn (required)
//! horizon = 1                 # optional: steps, or "full" (the whole sequence)
//! settings = { cerebellum = { sparse_k = 4 } }   # optional; as are compare_to, group, x
//! [figure]                    # optional: the figure's own plots
//! kind = "comparisons"        # or "lesions", "captions", "sweep"
//! x_label = "feedback horizon K"
//! ```

use super::{Experiment, Figure, Variant, seed_range};
#[cfg(doc)]
use crate::config::Overrides;
use crate::config::{Config, TaskKind};
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The experiment files compiled into the binary, by name (the file's stem).
const BUILTIN: [(&str, &str); 22] = [
    ("reach", include_str!("../../../experiments/reach.toml")),
    ("mnist", include_str!("../../../experiments/mnist.toml")),
    (
        "captions",
        include_str!("../../../experiments/captions.toml"),
    ),
    (
        "captions-horizons",
        include_str!("../../../experiments/captions-horizons.toml"),
    ),
    ("lesions", include_str!("../../../experiments/lesions.toml")),
    (
        "lesions-line",
        include_str!("../../../experiments/lesions-line.toml"),
    ),
    ("sparse", include_str!("../../../experiments/sparse.toml")),
    (
        "sparse-k",
        include_str!("../../../experiments/sparse-k.toml"),
    ),
    (
        "alignment",
        include_str!("../../../experiments/alignment.toml"),
    ),
    (
        "alignment-line",
        include_str!("../../../experiments/alignment-line.toml"),
    ),
    (
        "representations",
        include_str!("../../../experiments/representations.toml"),
    ),
    (
        "horizon-sweep",
        include_str!("../../../experiments/horizon-sweep.toml"),
    ),
    (
        "horizon-controls",
        include_str!("../../../experiments/horizon-controls.toml"),
    ),
    ("copy", include_str!("../../../experiments/copy.toml")),
    (
        "eyeblink",
        include_str!("../../../experiments/eyeblink.toml"),
    ),
    (
        "what-the-cerebellum-learns",
        include_str!("../../../experiments/what-the-cerebellum-learns.toml"),
    ),
    (
        "forward-models",
        include_str!("../../../experiments/forward-models.toml"),
    ),
    (
        "forward-models-eyeblink",
        include_str!("../../../experiments/forward-models-eyeblink.toml"),
    ),
    (
        "forward-models-line",
        include_str!("../../../experiments/forward-models-line.toml"),
    ),
    (
        "what-the-cerebellum-learns-mnist",
        include_str!("../../../experiments/what-the-cerebellum-learns-mnist.toml"),
    ),
    (
        "what-the-cerebellum-learns-line",
        include_str!("../../../experiments/what-the-cerebellum-learns-line.toml"),
    ),
    (
        "what-the-cerebellum-learns-captions",
        include_str!("../../../experiments/what-the-cerebellum-learns-captions.toml"),
    ),
];

/// The text of the built-in experiment `name` (`reach`, `lesions`, ...).
pub fn builtin(name: &str) -> Option<&'static str> {
    BUILTIN.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// The names of the built-in experiments.
pub fn builtin_names() -> impl Iterator<Item = &'static str> {
    BUILTIN.iter().map(|(n, _)| *n)
}

/// The papers' size of an experiment file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Papers {
    /// Number of seeds, from the file's first.
    pub seeds: Option<u64>,
    /// Settings laid over the file's base settings.
    #[serde(default)]
    pub settings: toml::Table,
}

/// An experiment file as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentFile {
    /// Where it comes from (a path, or `built-in NAME`), for messages.
    #[serde(skip)]
    pub source: String,
    pub name: String,
    /// One line on what the experiment shows (printed when it starts).
    #[serde(default)]
    pub about: Option<String>,
    pub seeds: Vec<u64>,
    /// The base settings over the task's defaults (`task` included).
    #[serde(default)]
    pub settings: toml::Table,
    #[serde(default)]
    pub papers: Option<Papers>,
    pub variants: Vec<Variant>,
    #[serde(default)]
    pub figure: Option<Figure>,
}

/// Reads and checks the experiment file at `path`, or, when `path` is a bare name (`lesions`,
/// `lesions.toml`) and there is no such file, the built-in experiment of that name (its
/// `source` then says `built-in NAME`): TOML syntax, unknown keys, missing fields (a variant
/// without a model), an empty seed list or variant list. The settings are resolved later, by
/// [`ExperimentFile::experiment`].
pub fn read(path: &Path) -> Result<ExperimentFile> {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
    let builtin_text = stem.as_deref().and_then(builtin);
    let bare = path.parent().is_none_or(|p| p.as_os_str().is_empty());
    if !path.is_file() {
        if let (true, Some(text)) = (bare, builtin_text) {
            return parse(text, &format!("built-in {}", stem.unwrap_or_default()));
        }
        let hint = match (builtin_text, &stem) {
            (Some(_), Some(name)) => {
                format!("; `ccdni run {name}` runs the built-in one of that name")
            }
            _ => format!(
                "; the built-in experiments are {}",
                builtin_names().collect::<Vec<_>>().join(", ")
            ),
        };
        let what = if path.exists() {
            "is not a file"
        } else {
            "does not exist"
        };
        bail!(
            "cannot read experiment file {}: it {what}{hint}",
            path.display()
        );
    }
    let text = crate::data::read_text_capped(path, crate::data::SETTINGS_CAP)
        .with_context(|| format!("cannot read experiment file {}", path.display()))?;
    parse(&text, &path.display().to_string())
}

/// [`read`] of an experiment file's `text`; `source` names it in the errors.
pub fn parse(text: &str, source: &str) -> Result<ExperimentFile> {
    let mut file: ExperimentFile =
        toml::from_str(text).map_err(|e| anyhow::anyhow!("experiment file {source}: {e}"))?;
    file.source = source.to_string();
    if file.seeds.is_empty() {
        bail!(
            "experiment file {source}: `seeds` is empty; list at least one seed, e.g. `seeds = [0, 1, 2, 3]`"
        );
    }
    if file.variants.is_empty() {
        bail!("experiment file {source}: no `[[variants]]`; give at least one (label and model)");
    }
    Ok(file)
}

/// How a command sizes an experiment file: the papers' size, the first seed and the number of
/// seeds.
#[derive(Clone, Copy, Debug, Default)]
pub struct Size {
    /// Lay the `[papers]` table over the file.
    pub papers: bool,
    /// The first seed (default: the file's first).
    pub first_seed: Option<u64>,
    /// The number of seeds, consecutive from the first (default: the file's seeds, or the
    /// papers' count).
    pub seeds: Option<u64>,
}

impl ExperimentFile {
    /// The experiment, its base settings resolved by `resolve` (which lays the caller's
    /// settings over the table it is given: [`Overrides::resolve`] does) and checked with every
    /// variant: an impossible setting (a lesion epoch beyond the epochs) fails here, naming the
    /// file, the variant and the key.
    pub fn experiment(
        &self,
        size: Size,
        resolve: impl Fn(&toml::Table) -> Result<Config>,
    ) -> Result<Experiment> {
        let in_file = || format!("experiment file {}", self.source);
        let mut settings = self.settings.clone();
        let mut count = size.seeds;
        if size.papers {
            let Some(p) = &self.papers else {
                bail!("{}: no `[papers]` size to run with --papers", in_file());
            };
            crate::config::merge(&mut settings, &p.settings);
            count = count.or(p.seeds);
        }
        let base = resolve(&settings).with_context(|| format!("{}: `settings`", in_file()))?;
        let seeds = match (size.first_seed, count) {
            (None, None) => self.seeds.clone(),
            (first, n) => seed_range(
                first.unwrap_or(self.seeds[0]),
                n.unwrap_or(self.seeds.len() as u64),
            )?,
        };
        let exp = Experiment {
            name: self.name.clone(),
            seeds,
            variants: self.variants.clone(),
            base,
            figure: self.figure.clone(),
        };
        exp.check().with_context(in_file)?;
        Ok(exp)
    }
}

/// What `experiment.toml` in a job folder holds: the experiment less its base configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stored {
    pub name: String,
    pub seeds: Vec<u64>,
    pub variants: Vec<Variant>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub figure: Option<Figure>,
    /// Written by ccdni 0.1 before job folders stored their whole experiment: the command that
    /// launched the job. Read only to tell an old sweep, whose figure it does not name.
    #[serde(default, skip_serializing)]
    invocation: Option<OldInvocation>,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
struct OldInvocation {
    args: Vec<String>,
}

/// Writes `exp` as a job folder stores it, to `config` and `experiment` (each atomically).
pub fn store(exp: &Experiment, config: &Path, experiment: &Path) -> Result<()> {
    let stored = Stored {
        name: exp.name.clone(),
        seeds: exp.seeds.clone(),
        variants: exp.variants.clone(),
        figure: exp.figure.clone(),
        invocation: None,
    };
    let base = format!(
        "# Resolved settings of {} (each variant and seed in experiment.toml).\n{}",
        exp.name,
        exp.base.to_toml()
    );
    crate::data::write_atomically(config, base.as_bytes())?;
    crate::data::write_atomically(experiment, toml::to_string_pretty(&stored)?.as_bytes())
}

/// The experiment a job folder stores in `config` and `experiment`, checked.
pub fn load_stored(config: &Path, experiment: &Path) -> Result<Experiment> {
    fn read<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
        let text = crate::data::read_text_capped(path, crate::data::SETTINGS_CAP)
            .with_context(|| format!("cannot read {}", path.display()))?;
        toml::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "{} is not a file this ccdni wrote for a job folder: {}",
                path.display(),
                e.message()
            )
        })
    }
    let base = Config::resolve(TaskKind::Reach, &read(config)?)
        .with_context(|| format!("{} does not hold valid settings", config.display()))?;
    let stored: Stored = read(experiment)?;
    let old_sweep = stored
        .invocation
        .as_ref()
        .is_some_and(|i| i.args.first().is_some_and(|a| a == "sweep"));
    let exp = Experiment {
        name: stored.name,
        seeds: stored.seeds,
        variants: stored.variants,
        base,
        figure: stored.figure.or(old_sweep.then_some(Figure::Sweep)),
    };
    exp.check()
        .with_context(|| format!("the experiment stored in {}", experiment.display()))?;
    Ok(exp)
}
