//! An experiment: several model variants (cRNN, ccRNN, full BPTT, ...) trained over several
//! seeds in parallel into one run folder. [`run`] trains every (variant, seed) pair and hands the
//! finished runs to [`super::report`], which writes the summary, the table and the plots.

use super::compare::headline;
use super::learning::{LearningCsv, LearningRecord};
use super::parallel::{Aborted, default_threads, run_parallel};
use super::recorder::Recorder;
use super::report::{self, CsvWriter, Summary};
use super::run::{RunResult, train};
use crate::config::{Config, ModelKind};
use crate::tasks::Task;
use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;

/// One model variant of an experiment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    pub label: String,
    pub model: ModelKind,
    /// Feedback horizon of this variant (absent: the base configuration's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub horizon: Option<usize>,
    /// Settings laid over the base configuration for this variant: any subset of the keys of a
    /// config file (`ccdni config`), e.g. `{ lesion = { olive_at = 10 } }`.
    #[serde(default, skip_serializing_if = "toml::Table::is_empty")]
    pub settings: toml::Table,
    /// The label of the variant this one is compared with in summary.json (a ccRNN's default:
    /// `cRNN`, when the experiment has one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compare_to: Option<String>,
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
            group: None,
            x: None,
        }
    }

    /// The comparison every experiment makes: cRNN and ccRNN at the base horizon.
    pub fn crnn_and_ccrnn() -> Vec<Variant> {
        vec![
            Variant::new("cRNN", ModelKind::CRnn),
            Variant::new("ccRNN", ModelKind::CcRnn),
        ]
    }
}

/// Variants × seeds over a base configuration, and the figure drawn from them.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Experiment {
    pub name: String,
    pub seeds: Vec<u64>,
    pub variants: Vec<Variant>,
    pub base: Config,
    /// The figure's own plots, beyond those every experiment writes (none: only those).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub figure: Option<super::figures::Figure>,
}

impl Experiment {
    /// Refuses an experiment without variants or seeds, or with a variant label or a seed given
    /// twice (their runs would be pooled: a comparison pairs one run per label and seed).
    pub fn check(&self) -> Result<()> {
        if self.variants.is_empty() || self.seeds.is_empty() {
            bail!(
                "experiment `{}` needs at least one variant and one seed",
                self.name
            );
        }
        for (i, v) in self.variants.iter().enumerate() {
            if self.variants[..i].iter().any(|w| w.label == v.label) {
                bail!(
                    "variant `{}` is given twice in experiment `{}`; give each variant once",
                    v.label,
                    self.name
                );
            }
        }
        for v in &self.variants {
            self.variant_config(v, self.seeds[0])?;
            if let Some(r) = &v.compare_to
                && !self.variants.iter().any(|w| &w.label == r)
            {
                bail!(
                    "variant `{}` is compared with `{r}`, which is not a variant of experiment `{}`",
                    v.label,
                    self.name
                );
            }
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

    /// The configuration of one variant and seed (the variant's settings over the base, then its
    /// horizon, model and seed), validated. Fails naming the variant and the setting.
    pub fn variant_config(&self, v: &Variant, seed: u64) -> Result<Config> {
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
        if let Some(k) = v.horizon {
            c.train.horizon = k;
        }
        c.validate()
            .with_context(|| format!("variant `{}`", v.label))?;
        Ok(c)
    }

    /// The configuration of one variant and seed of a checked experiment ([`Self::check`]
    /// resolves every variant's).
    pub fn config(&self, v: &Variant, seed: u64) -> Config {
        self.variant_config(v, seed)
            .expect("Experiment::check resolves every variant")
    }
}

/// A finished experiment: its summary, every run (models included) and the measures over
/// learning (empty unless `record.probe` > 0).
pub struct Outcome {
    pub summary: Summary,
    pub runs: Vec<RunResult>,
    pub learning: Vec<LearningRecord>,
}

/// Runs the experiment into `out` (created; it must not hold results already).
/// `make_task` builds the task of a configuration (its seed included). The experiment and every
/// configuration are checked before anything is written.
pub fn run(
    exp: &Experiment,
    out: &Path,
    threads: usize,
    make_task: &(dyn Fn(&Config) -> Result<Box<dyn Task>> + Sync),
) -> Result<Outcome> {
    exp.check()?;
    let jobs: Vec<(Variant, Config)> = exp
        .variants
        .iter()
        .flat_map(|v| {
            exp.seeds
                .iter()
                .map(move |&s| (v.clone(), exp.config(v, s)))
        })
        .collect();
    let threads = if threads == 0 {
        default_threads()
    } else {
        threads
    };
    let probe = make_task(&jobs[0].1)?;
    let per_run = (exp.base.epochs as u64)
        .saturating_mul(probe.batches_per_epoch(exp.base.batch_size) as u64);
    check_memory(&jobs, threads, probe.as_ref())?;
    drop(probe);
    let _claim = claim_folder(out)?;
    write_config(exp, out)?;
    let csv = Mutex::new(CsvWriter::create(&out.join("metrics.csv"))?);
    let learning_csv = match jobs.iter().any(|(_, c)| c.record.probe > 0) {
        true => Some(LearningCsv::create(&out.join("learning.csv"))?),
        false => None,
    };
    let learning = Mutex::new((learning_csv, Vec::new()));

    let bar = progress_bar(per_run.saturating_mul(jobs.len() as u64));
    let abort = AtomicBool::new(false);
    let results = run_parallel(&jobs, threads, &abort, |(v, c)| {
        let task = make_task(c)?;
        let mut recorder = (c.record.every > 0)
            .then(|| Recorder::new(out.join("recordings").join(run_name(&v.label, c.seed))));
        let result = train(
            c,
            &v.label,
            task.as_ref(),
            &abort,
            &|| bar.inc(1),
            &mut |r| csv.lock().expect("csv lock").row(r),
            &mut |r| {
                let mut l = learning.lock().expect("learning lock");
                l.1.push(r.clone());
                l.0.as_mut().map_or(Ok(()), |w| w.rows(r))
            },
            recorder.as_mut(),
        )?;
        save_model(&result, c, out)?;
        let last = &result.records.last().expect("epochs >= 1").test;
        let line = format!(
            "  {} seed {} done: test {} {:.4}",
            v.label,
            c.seed,
            headline(last).0,
            headline(last).1
        );
        if bar.is_hidden() {
            eprintln!("{line}");
        } else {
            bar.println(line);
        }
        Ok(result)
    });
    bar.finish_and_clear();
    let (mut runs, mut errors) = (Vec::new(), Vec::new());
    for r in results {
        match r {
            Ok(run) => runs.push(run),
            Err(e) => errors.push(e),
        }
    }
    // Report the run that failed, not the ones it stopped.
    if let Some(first) = errors
        .iter()
        .find(|e| e.downcast_ref::<Aborted>().is_none())
        .or(errors.first())
    {
        let first = format!("{first:#}");
        bail!(
            "{first}\n(metrics of the epochs that finished are in {}{})",
            out.join("metrics.csv").display(),
            if learning.lock().expect("learning lock").0.is_some() {
                " and learning.csv"
            } else {
                ""
            }
        );
    }
    csv.into_inner().expect("csv lock").finish(&runs)?;
    let (learning_csv, mut learning) = learning.into_inner().expect("learning lock");
    if let Some(w) = learning_csv {
        let order: Vec<String> = exp.variants.iter().map(|v| v.label.clone()).collect();
        w.finish(&mut learning, &order)?;
        super::learning::plot(exp, &learning, out)?;
    }
    // The drawings need the task once more (data sets are cached; tasks are not kept per run).
    let task = make_task(&exp.config(&exp.variants[0], exp.seeds[0]))?;
    let summary = report::write(exp, &runs, task.as_ref(), out)?;
    Ok(Outcome {
        summary,
        runs,
        learning,
    })
}

/// Writes `config.toml` (the resolved base configuration: `ccdni train --config` repeats a run
/// from it) and `experiment.toml` (the rest of the experiment: name, seeds, variants and figure;
/// [`super::file::from_run_folder`] rebuilds the experiment from the two).
pub(crate) fn write_config(exp: &Experiment, out: &Path) -> Result<()> {
    let plan = super::file::Plan::of(exp);
    let files = [
        (
            "config.toml",
            format!(
                "# Resolved settings of {} (each variant and seed in experiment.toml).\n{}",
                exp.name,
                exp.base.to_toml()
            ),
        ),
        ("experiment.toml", toml::to_string_pretty(&plan)?),
    ];
    for (name, text) in files {
        let path = out.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// A run's name in file names: `<label>-seed<k>`, the label's spaces as `-` and anything
/// unusual as `_` (`ccRNN K=1` → `ccRNN-K=1-seed0`).
fn run_name(label: &str, seed: u64) -> String {
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

/// Writes a finished run's model to `models/<label>-seed<seed>.safetensors`, with the run's
/// resolved configuration in its metadata (`ccdni train --config` repeats it).
fn save_model(run: &RunResult, config: &Config, out: &Path) -> Result<()> {
    let path = out
        .join("models")
        .join(format!("{}.safetensors", run_name(&run.label, run.seed)));
    let metadata = std::collections::BTreeMap::from([
        ("format".to_string(), "ccdni model".to_string()),
        (
            "ccdni_version".to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        ),
        ("label".to_string(), run.label.clone()),
        ("seed".to_string(), run.seed.to_string()),
        ("config".to_string(), config.to_toml()),
    ]);
    run.model.save(&path, &metadata)
}

/// The output folder is already taken: it holds files, or another run has claimed it. Nothing
/// has been written when this is returned (a caller choosing a default name may try another).
#[derive(Debug)]
pub struct FolderTaken {
    pub folder: std::path::PathBuf,
    pub reason: String,
}

impl std::fmt::Display for FolderTaken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "output folder {} {}; choose another with --out",
            self.folder.display(),
            self.reason
        )
    }
}

impl std::error::Error for FolderTaken {}

/// The lock file that marks a run folder as claimed by a live run.
pub const LOCK_FILE: &str = ".ccdni.lock";

/// A claimed run folder: its lock file, removed when the run ends (whether it succeeds or fails;
/// a finished or failed run's files then keep the folder from being reused).
pub struct FolderClaim {
    lock: std::path::PathBuf,
}

impl Drop for FolderClaim {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.lock);
    }
}

/// Claims `out` for this run: creates it (with its parents), or accepts an existing empty
/// folder, then creates its lock file exclusively (`create_new`), so of two runs given the same
/// folder exactly one gets it. Fails with [`FolderTaken`] when the folder holds anything but
/// this run's lock, or another run's lock exists.
pub fn claim_folder(out: &Path) -> Result<FolderClaim> {
    let cannot_create = || format!("cannot create output folder {}", out.display());
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(cannot_create)?;
    }
    match std::fs::create_dir(out) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && out.is_dir() => {}
        Err(e) => return Err(e).with_context(cannot_create),
    }
    let lock = out.join(LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&lock);
    let mut file = match file {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let owner = std::fs::read_to_string(&lock).unwrap_or_default();
            return Err(FolderTaken {
                folder: out.to_path_buf(),
                reason: format!(
                    "is claimed by another run ({}{}; delete it if that run is dead)",
                    lock.display(),
                    owner
                        .trim()
                        .parse::<u32>()
                        .map_or(String::new(), |pid| format!(", process {pid}"))
                ),
            }
            .into());
        }
        Err(e) => {
            return Err(e)
                .with_context(|| format!("output folder {} is not writable", out.display()));
        }
    };
    let claim = FolderClaim { lock: lock.clone() };
    use std::io::Write;
    writeln!(file, "{}", std::process::id())
        .with_context(|| format!("output folder {} is not writable", out.display()))?;
    let mut held: Vec<String> = std::fs::read_dir(out)
        .with_context(|| format!("cannot read output folder {}", out.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name != LOCK_FILE)
        .collect();
    if !held.is_empty() {
        held.sort();
        let shown = held.iter().take(3).cloned().collect::<Vec<_>>().join(", ");
        return Err(FolderTaken {
            folder: out.to_path_buf(),
            reason: format!(
                "already holds results ({shown}{}); a run writes only into a new or empty folder",
                if held.len() > 3 { ", ..." } else { "" }
            ),
        }
        .into());
    }
    std::fs::create_dir(out.join("models")).with_context(cannot_create)?;
    Ok(claim)
}

/// The memory this process may use: the kernel's estimate of available memory, else a generous
/// fixed cap.
fn memory_cap() -> f64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("MemAvailable:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(64.0 * GIB, |kib| kib * 1024.0)
}

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// Refuses, before anything is written, an experiment whose concurrent runs would not fit in
/// memory ([`Config::memory_estimate`] per run, `threads` runs at once).
fn check_memory(jobs: &[(Variant, Config)], threads: usize, task: &dyn Task) -> Result<()> {
    let per_run = jobs
        .iter()
        .map(|(_, c)| c.memory_estimate(task.input_size(), task.output_size(), task.context_size()))
        .fold(0.0, f64::max);
    let need = per_run * threads.clamp(1, jobs.len()) as f64;
    let cap = memory_cap();
    if need > cap {
        let c = &jobs[0].1;
        bail!(
            "this run needs about {:.3} GiB of memory ({:.3} GiB per model, {} at once), more than the {:.1} GiB available; \
             make the networks smaller (`cortex.hidden` = {}, `cerebellum.granule` = {}, `cerebellum.layers` = {}), or `batch_size` = {} / `eval_batch` = {}",
            need / GIB,
            per_run / GIB,
            threads.clamp(1, jobs.len()),
            cap / GIB,
            c.cortex.hidden,
            c.cerebellum.granule,
            c.cerebellum.layers,
            c.batch_size,
            c.eval_batch
        );
    }
    Ok(())
}

fn progress_bar(total: u64) -> ProgressBar {
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {percent:>3}% eta {eta}",
        )
        .expect("valid template"),
    );
    bar
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TaskKind;

    fn experiment(variants: Vec<Variant>, seeds: Vec<u64>) -> Experiment {
        Experiment {
            name: "dup".into(),
            seeds,
            variants,
            base: Config::defaults(TaskKind::Reach),
            figure: None,
        }
    }

    #[test]
    fn duplicate_labels_and_seeds_are_refused_before_anything_is_written() {
        experiment(Variant::crnn_and_ccrnn(), vec![0, 1])
            .check()
            .expect("distinct labels and seeds");
        let twice = [
            Variant::crnn_and_ccrnn(),
            vec![Variant {
                horizon: Some(10),
                ..Variant::new("cRNN", ModelKind::CRnn)
            }],
        ]
        .concat();
        let out = std::env::temp_dir().join(format!("ccdni-variants-dup-{}", std::process::id()));
        let never = |_: &Config| -> Result<Box<dyn Task>> { panic!("no task is built") };
        for (exp, needle) in [
            (
                experiment(twice, vec![0, 1]),
                "variant `cRNN` is given twice",
            ),
            (
                experiment(Variant::crnn_and_ccrnn(), vec![4, 5, 4]),
                "seed 4 is given twice",
            ),
            (
                experiment(Variant::crnn_and_ccrnn(), vec![]),
                "at least one variant and one seed",
            ),
        ] {
            let msg = format!("{:#}", exp.check().unwrap_err());
            assert!(msg.contains(needle), "{msg}");
            let msg = format!("{:#}", run(&exp, &out, 1, &never).err().unwrap());
            assert!(msg.contains(needle), "{msg}");
            assert!(!out.exists(), "nothing is written");
        }
    }
}
