//! Experiments as data: a TOML file (see `experiments/` at the repository's root) holding an
//! experiment's name, seeds, base settings, variants and figure, read into an [`Experiment`] by
//! [`load`] and refused, naming the file and the key or line, before anything runs. A run folder
//! holds the same experiment as `config.toml` (the resolved base) and `experiment.toml` (the
//! rest, a [`Plan`]); [`from_run_folder`] rebuilds it from those two files alone.
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
//! horizon = 1                 # optional; as are compare_to, group, x
//! settings = { cerebellum = { sparse_k = 4 } }
//! [figure]                    # optional: the figure's own plots
//! kind = "comparisons"        # or "lesions"
//! x_label = "feedback horizon K"
//! ```

use super::figures::Figure;
use super::variants::{Experiment, Invocation, Variant};
use crate::config::{Config, TaskKind};
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// What `experiment.toml` in a run folder holds: the experiment less its base configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub name: String,
    pub seeds: Vec<u64>,
    pub variants: Vec<Variant>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub figure: Option<Figure>,
    /// The command that launched the job, and from where (`ccdni resume` launches it again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invocation: Option<Invocation>,
}

impl Plan {
    pub fn of(exp: &Experiment, invocation: Option<&Invocation>) -> Self {
        Plan {
            name: exp.name.clone(),
            seeds: exp.seeds.clone(),
            variants: exp.variants.clone(),
            figure: exp.figure.clone(),
            invocation: invocation.cloned(),
        }
    }
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

/// Reads and checks an experiment file: TOML syntax, unknown keys, missing fields (a variant
/// without a model), an empty seed list or variant list. The settings are resolved later, by
/// [`ExperimentFile::experiment`].
pub fn read(path: &Path) -> Result<ExperimentFile> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read experiment file {}", path.display()))?;
    parse(&text, path)
}

/// [`read`] of an experiment file's `text` (`path` names it in the errors).
pub fn parse(text: &str, path: &Path) -> Result<ExperimentFile> {
    let file: ExperimentFile = toml::from_str(text)
        .map_err(|e| anyhow::anyhow!("experiment file {}: {e}", path.display()))?;
    if file.seeds.is_empty() {
        bail!(
            "experiment file {}: `seeds` is empty; list at least one seed, e.g. `seeds = [0, 1, 2, 3]`",
            path.display()
        );
    }
    if file.variants.is_empty() {
        bail!(
            "experiment file {}: no `[[variants]]`; give at least one (label and model)",
            path.display()
        );
    }
    Ok(file)
}

impl ExperimentFile {
    /// The experiment, its base settings resolved by `resolve` (which lays the command line's
    /// flags over the table it is given) and checked with every variant: an impossible setting
    /// (a lesion epoch beyond the epochs) fails here, naming the file, the variant and the key.
    /// `papers` lays the `[papers]` size over the file; `seeds` (a count) replaces its seeds by
    /// that many from its first.
    pub fn experiment(
        &self,
        path: &Path,
        papers: bool,
        seeds: Option<u64>,
        resolve: impl Fn(&toml::Table) -> Result<Config>,
    ) -> Result<Experiment> {
        let in_file = || format!("experiment file {}", path.display());
        let mut settings = self.settings.clone();
        let mut count = seeds;
        if papers {
            let Some(p) = &self.papers else {
                bail!("{}: no `[papers]` size to run with --papers", in_file());
            };
            crate::config::merge(&mut settings, &p.settings);
            count = count.or(p.seeds);
        }
        let base = resolve(&settings).with_context(|| format!("{}: `settings`", in_file()))?;
        let seeds = match count {
            Some(0) => bail!("--seeds must be at least 1 (got 0)"),
            Some(n) => (0..n).map(|i| self.seeds[0].saturating_add(i)).collect(),
            None => self.seeds.clone(),
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

/// Loads an experiment file as written (no papers' size, no flags).
pub fn load(path: &Path) -> Result<Experiment> {
    read(path)?.experiment(path, false, None, |t| {
        let c = Config::resolve(TaskKind::Reach, t)?;
        c.validate()?;
        Ok(c)
    })
}

/// Rebuilds the experiment a run folder holds from its `config.toml` and `experiment.toml`,
/// with the command that launched it (absent when it was started from the library).
pub fn from_run_folder(dir: &Path) -> Result<(Experiment, Option<Invocation>)> {
    fn read<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        toml::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "{} is not a file this ccdni wrote for a run folder: {}",
                path.display(),
                e.message()
            )
        })
    }
    let config_path = dir.join("config.toml");
    let base = Config::resolve(TaskKind::Reach, &read(&config_path)?)
        .with_context(|| format!("{} does not hold valid settings", config_path.display()))?;
    let plan: Plan = read(&dir.join("experiment.toml"))?;
    let exp = Experiment {
        name: plan.name,
        seeds: plan.seeds,
        variants: plan.variants,
        base,
        figure: plan.figure,
    };
    exp.check()?;
    Ok((exp, plan.invocation))
}

#[cfg(test)]
mod tests;
