//! What a job is: an [`Experiment`], variants × seeds over a base configuration, and the figure
//! drawn from them; each (variant, seed) pair resolves to a [`RunSpec`], one run. Every job is
//! one: the built-in ones (reach, mnist, captions) are experiment files compiled into the
//! binary ([`file::builtin`]), a horizon sweep is generated ([`sweep`]), and `ccdni train` is an
//! experiment of one run. A job folder stores its experiment (`config.toml` and
//! `experiment.toml`, [`mod@file`]), and going on with a job runs the experiment stored there.

pub mod file;

use crate::config::{Config, ModelKind, differences};
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

/// The feedback horizon of a variant: a number of steps K, or `"full"`, the whole sequence
/// (full BPTT, K = L, whatever the task's length).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Horizon {
    Steps(usize),
    Full,
}

impl Serialize for Horizon {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Horizon::Steps(k) => s.serialize_u64(*k as u64),
            Horizon::Full => s.serialize_str("full"),
        }
    }
}

impl<'de> Deserialize<'de> for Horizon {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            Steps(usize),
            Word(String),
        }
        match Written::deserialize(d)? {
            Written::Steps(k) => Ok(Horizon::Steps(k)),
            Written::Word(w) if w == "full" => Ok(Horizon::Full),
            Written::Word(w) => Err(serde::de::Error::custom(format!(
                "horizon {w:?}: expected a number of steps or \"full\""
            ))),
        }
    }
}

/// One model variant of an experiment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    pub label: String,
    pub model: ModelKind,
    /// Feedback horizon of this variant (absent: the base configuration's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub horizon: Option<Horizon>,
    /// Settings laid over the base configuration for this variant: any subset of the keys of a
    /// config file (`ccdni config`), e.g. `{ lesion = { olive_at = 10 } }`.
    #[serde(default, skip_serializing_if = "toml::Table::is_empty")]
    pub settings: toml::Table,
    /// The label of the variant this one is compared with (default: the experiment's `cRNN`;
    /// see [`Experiment::reference_of`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compare_to: Option<String>,
    /// A second variant this one is compared with in the comparisons figure (e.g. a control
    /// against the ccRNN as well as the cRNN), drawn in the group `vs <label>` at the same `x`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub also_compare_to: Option<String>,
    /// Where this variant's comparison is drawn in a figure: its curve (`group`) and abscissa
    /// (`x`), e.g. the horizon or the cortical scaling b.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<f64>,
}

impl Variant {
    /// A variant at the base configuration's horizon.
    pub fn new(label: &str, model: ModelKind) -> Self {
        Variant {
            label: label.to_string(),
            model,
            horizon: None,
            settings: toml::Table::new(),
            compare_to: None,
            also_compare_to: None,
            group: None,
            x: None,
        }
    }
}

/// The figure an experiment draws beyond what every experiment writes (docs in
/// [`crate::job::report`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Figure {
    /// Normalised performance per group of variants against their `x`.
    Comparisons {
        /// The abscissa's name, e.g. `feedback horizon K`.
        x_label: String,
    },
    /// Error and dysmetria just before and after each lesion.
    Lesions,
    /// Two cortical areas (`[areas]`): each group's final test MSE against `x` (the delay),
    /// the forward cerebellum's prediction error over learning, each variant compared with its
    /// `compare_to`, and a forward cerebellar lesion's effect ([`crate::job::report::areas`]);
    /// and the task's own `measures` (e.g. the eyeblink's `cr_rate`), if named, drawn as the
    /// measures figure draws them.
    Areas {
        x_label: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        measures: Vec<String>,
    },
    /// The caption task: test captions generated, scored and compared by caption length.
    Captions,
    /// A horizon sweep: each compared variant's normalised performance against its horizon
    /// (`sweep.json`, `normalised_performance.png`).
    Sweep,
    /// A task's own final test measures (`measures`, e.g. the copy task's `length`) per
    /// variant, drawn per `group` against `x`, each variant compared with its `compare_to`.
    Measures {
        x_label: String,
        measures: Vec<String>,
    },
}

/// Variants × seeds over a base configuration, and the figure drawn from them.
#[derive(Clone, Debug, PartialEq)]
pub struct Experiment {
    pub name: String,
    pub seeds: Vec<u64>,
    pub variants: Vec<Variant>,
    pub base: Config,
    pub figure: Option<Figure>,
}

/// One run of an experiment: a variant's label and its resolved configuration (seed included).
#[derive(Clone, Debug, PartialEq)]
pub struct RunSpec {
    pub label: String,
    pub config: Config,
}

impl RunSpec {
    /// The run's name, which names its folder: `<label>-seed<k>`, the label's spaces as `-` and
    /// anything unusual as `_` (`ccRNN K=1` → `ccRNN-K=1-seed0`).
    pub fn name(&self) -> String {
        run_name(&self.label, self.config.seed)
    }

    pub fn seed(&self) -> u64 {
        self.config.seed
    }
}

/// The name of the run of `label` and `seed` ([`RunSpec::name`]).
pub fn run_name(label: &str, seed: u64) -> String {
    let label: String = label
        .chars()
        .map(|ch| match ch {
            ' ' => '-',
            c if c.is_ascii_alphanumeric() || "=._-".contains(c) => c,
            _ => '_',
        })
        .collect();
    format!("{label}-seed{seed}")
}

impl Experiment {
    /// Refuses an experiment without variants or seeds, with a variant label or a seed given
    /// twice (their runs would be pooled: a comparison pairs one run per label and seed), a
    /// comparison with a variant it does not have, or a variant whose settings are impossible.
    pub fn check(&self) -> Result<()> {
        if self.variants.is_empty() || self.seeds.is_empty() {
            bail!(
                "experiment `{}` needs at least one variant and one seed",
                self.name
            );
        }
        for (i, v) in self.variants.iter().enumerate() {
            // metrics.csv and learning.csv name the variant in an unquoted column.
            if v.label.contains([',', '"', '\n']) {
                bail!(
                    "variant label `{}` of experiment `{}` has a comma, a quote or a line break, which the CSV files cannot hold; name it without",
                    v.label,
                    self.name
                );
            }
            if self.variants[..i].iter().any(|w| w.label == v.label) {
                bail!(
                    "variant `{}` is given twice in experiment `{}`; give each variant once",
                    v.label,
                    self.name
                );
            }
            // Labels name run folders: two that map to one folder would share it.
            if let Some(w) =
                (self.variants[..i].iter()).find(|w| run_name(&w.label, 0) == run_name(&v.label, 0))
            {
                bail!(
                    "variants `{}` and `{}` of experiment `{}` name the same run folders ({}); give them labels that differ in letters, digits or `=._-`",
                    w.label,
                    v.label,
                    self.name,
                    run_name(&v.label, 0)
                );
            }
        }
        for v in &self.variants {
            self.run_config(v, self.seeds[0])?;
            if let Some(r) = (v.compare_to.iter().chain(&v.also_compare_to))
                .find(|r| !self.variants.iter().any(|w| &w.label == *r))
            {
                bail!(
                    "variant `{}` is compared with `{r}`, which is not a variant of experiment `{}`",
                    v.label,
                    self.name
                );
            }
        }
        self.check_compared_epochs()?;
        if let Some(Figure::Measures { measures, .. }) = &self.figure
            && measures.is_empty()
        {
            bail!(
                "the measures figure of experiment `{}` names no measure (`measures = [\"length\"]`, ...)",
                self.name
            );
        }
        for (i, s) in self.seeds.iter().enumerate() {
            if self.seeds[..i].contains(s) {
                bail!(
                    "seed {s} is given twice in experiment `{}`; give each seed once",
                    self.name
                );
            }
        }
        Ok(())
    }

    /// Refuses a comparison of two variants that train for different numbers of epochs: their
    /// runs are paired epoch by epoch.
    fn check_compared_epochs(&self) -> Result<()> {
        let seed = self.seeds[0];
        for v in &self.variants {
            let partners = self
                .reference_of(v)
                .into_iter()
                .chain(v.also_compare_to.as_deref());
            for r in partners {
                let Some(w) = self.variants.iter().find(|w| w.label == r) else {
                    continue;
                };
                let (a, b) = (
                    self.run_config(v, seed)?.epochs,
                    self.run_config(w, seed)?.epochs,
                );
                if a != b {
                    bail!(
                        "variant `{}` ({a} epochs) is compared with `{r}` ({b} epochs) in experiment `{}`: compared runs are paired epoch by epoch, so give both the same `epochs`",
                        v.label,
                        self.name
                    );
                }
            }
        }
        Ok(())
    }

    /// The configuration of one variant and seed (the variant's settings over the base, then its
    /// horizon, model and seed), validated. Fails naming the variant and the setting.
    pub fn run_config(&self, v: &Variant, seed: u64) -> Result<Config> {
        let mut c = if v.settings.is_empty() {
            self.base.clone()
        } else {
            let mut table = toml::Table::try_from(&self.base).context("serialising the base")?;
            crate::config::merge(&mut table, &v.settings);
            toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| {
                    anyhow::anyhow!("{}", crate::config::keyed_message(&e))
                })
                .with_context(|| format!("settings of variant `{}`", v.label))?
        };
        c.model = v.model;
        c.seed = seed;
        match v.horizon {
            Some(Horizon::Steps(k)) => c.train.horizon = k,
            Some(Horizon::Full) => c.train.horizon = c.steps(),
            None => {}
        }
        c.validate()
            .with_context(|| format!("variant `{}`", v.label))?;
        Ok(c)
    }

    /// Every run, variant-major and seed-minor (the order of shards and reports).
    pub fn runs(&self) -> Result<Vec<RunSpec>> {
        let mut runs = Vec::with_capacity(self.variants.len() * self.seeds.len());
        for v in &self.variants {
            for &seed in &self.seeds {
                runs.push(RunSpec {
                    label: v.label.clone(),
                    config: self.run_config(v, seed)?,
                });
            }
        }
        Ok(runs)
    }

    /// The variant `v` is compared with: its `compare_to`, else the experiment's variant
    /// labelled `cRNN` (when `v` is not that one).
    pub fn reference_of<'a>(&'a self, v: &'a Variant) -> Option<&'a str> {
        if let Some(r) = &v.compare_to {
            return Some(r);
        }
        let crnn = self.variants.iter().find(|w| w.label == "cRNN")?;
        (crnn.label != v.label).then_some(crnn.label.as_str())
    }

    /// How `self` differs from `was`, as `key: old -> new` lines: the name, the seeds, the
    /// figure, the variants' labels, the base settings, and for each variant the settings of its
    /// runs beyond the base's and its place in the comparisons. Variants written differently
    /// that give the same runs (`horizon = "full"` and `horizon = 10` on reach) do not differ.
    pub fn changes_from(&self, was: &Experiment) -> Vec<String> {
        let mut changes = Vec::new();
        if was.name != self.name {
            changes.push(format!("experiment: {} -> {}", was.name, self.name));
        }
        if was.seeds != self.seeds {
            changes.push(format!("seeds: {:?} -> {:?}", was.seeds, self.seeds));
        }
        if was.figure != self.figure {
            changes.push("figure: the experiment's [figure] changed".to_string());
        }
        let labels = |e: &Experiment| {
            e.variants
                .iter()
                .map(|v| v.label.clone())
                .collect::<Vec<_>>()
        };
        if labels(was) != labels(self) {
            changes.push(format!("variants: {:?} -> {:?}", labels(was), labels(self)));
            return changes;
        }
        let base = differences(&was.base, &self.base);
        for (old, new) in was.variants.iter().zip(&self.variants) {
            let seed = self.seeds[0];
            let runs = (was.run_config(old, seed), self.run_config(new, seed));
            if let (Ok(a), Ok(b)) = runs {
                changes.extend(
                    differences(&a, &b)
                        .into_iter()
                        .filter(|d| !base.contains(d))
                        .map(|d| format!("variant `{}`: {d}", new.label)),
                );
            }
            let place = |v: &Variant| {
                let to = (v.compare_to.clone(), v.also_compare_to.clone());
                (to, v.group.clone(), v.x.map(f64::to_bits))
            };
            if place(old) != place(new) {
                changes.push(format!(
                    "variant `{}`: its comparison or its place in the figure",
                    new.label
                ));
            }
        }
        changes.extend(base);
        changes
    }
}

/// The most seeds one experiment may run.
const MAX_SEEDS: u64 = 100_000;

/// `n` consecutive seeds from `first`, refusing none, absurdly many, or seeds past the largest a
/// config file can hold (`i64::MAX`).
pub fn seed_range(first: u64, n: u64) -> Result<Vec<u64>> {
    if n == 0 {
        bail!("--seeds must be at least 1 (got 0)");
    }
    if n > MAX_SEEDS {
        bail!("--seeds {n} is too many: at most {MAX_SEEDS} seeds per experiment");
    }
    match first.checked_add(n - 1) {
        Some(last) if last <= i64::MAX as u64 => Ok((first..=last).collect()),
        _ => bail!(
            "--seed {first} with --seeds {n} goes past the largest seed, {}",
            i64::MAX
        ),
    }
}

/// A horizon sweep: at each horizon K a cRNN (`cRNN K=k`) and a ccRNN (`ccRNN K=k`) compared
/// with it, drawn as the sweep's figure. Refuses an empty list and a horizon given twice (its
/// runs would be pooled with their duplicates).
pub fn sweep(name: &str, base: Config, seeds: Vec<u64>, horizons: &[usize]) -> Result<Experiment> {
    if horizons.is_empty() {
        bail!("a sweep needs at least one horizon (--horizons)");
    }
    for (i, k) in horizons.iter().enumerate() {
        if horizons[..i].contains(k) {
            bail!("horizon K = {k} is given twice in --horizons; give each horizon once");
        }
    }
    let variants = horizons
        .iter()
        .flat_map(|&k| {
            [ModelKind::CRnn, ModelKind::CcRnn].map(|m| Variant {
                horizon: Some(Horizon::Steps(k)),
                compare_to: (m == ModelKind::CcRnn).then(|| format!("cRNN K={k}")),
                ..Variant::new(&format!("{} K={k}", m.label()), m)
            })
        })
        .collect();
    let exp = Experiment {
        name: name.to_string(),
        seeds,
        variants,
        base,
        figure: Some(Figure::Sweep),
    };
    exp.check()?;
    Ok(exp)
}

/// One run of one model: `ccdni train`.
pub fn single_run(base: Config) -> Experiment {
    let label = base.model.label();
    Experiment {
        name: format!("{} {label}", base.task_name()),
        seeds: vec![base.seed],
        variants: vec![Variant::new(label, base.model)],
        base,
        figure: None,
    }
}

#[cfg(test)]
mod tests;
