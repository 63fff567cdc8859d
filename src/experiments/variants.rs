//! An experiment: several model variants (cRNN, ccRNN, full BPTT, ...) trained over several
//! seeds in parallel into one run folder. [`run`] trains every (variant, seed) pair and hands the
//! finished runs to [`super::report`], which writes the summary, the table and the plots.

use super::cluster::{self, Shard};
use super::compare::headline;
use super::folder;
use super::learning::LearningRecord;
use super::parallel::{default_threads, run_parallel};
use super::report::{self, CsvWriter, Summary};
use super::resume;
use super::run::{Hooks, RunResult, train};
use super::stop::{Aborted, Interrupted};
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

/// How an experiment starts in its run folder.
#[derive(Clone, Debug)]
pub enum Start {
    /// In a new (or empty) folder. `invocation` is the command that launched the job, kept in
    /// experiment.toml so that `ccdni resume` can launch it again.
    New { invocation: Option<Invocation> },
    /// Going on in the folder of an earlier, stopped run of the same experiment, from each
    /// run's checkpoint. Settings that differ from the earlier run's are refused unless `force`
    /// (the change is then recorded in `resume.log`).
    Resume { force: bool },
    /// One slice of the runs of an experiment spread over many processes, into the runs' own
    /// sub-folders of a shared folder (see [`cluster`]): new runs start, stopped ones go on from
    /// their checkpoints; no report. Settings that differ from the folder's are refused unless
    /// `force`.
    Shard {
        shard: Shard,
        invocation: Option<Invocation>,
        force: bool,
    },
    /// No training: the report of an experiment whose shards have all finished.
    Aggregate,
}

/// The command line that launched a job, and the folder it was launched from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Invocation {
    pub args: Vec<String>,
    pub cwd: std::path::PathBuf,
}

/// Runs the experiment into `out`: a new folder, or the folder of a stopped run to go on with,
/// or one shard of it, or its aggregation (see [`Start`]); a shard returns no outcome. `make_task` builds the task of a configuration (its seed included). The
/// experiment and every configuration are checked before anything is written. Every run
/// writes its checkpoint to `checkpoints/` as it goes, and stops at the next batch boundary,
/// checkpoint written, when another run fails or SIGINT/SIGTERM arrives.
pub fn run(
    exp: &Experiment,
    out: &Path,
    threads: usize,
    start: &Start,
    make_task: &(dyn Fn(&Config) -> Result<Box<dyn Task>> + Sync),
) -> Result<Option<Outcome>> {
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
    let n = probe.batches_per_epoch(exp.base.batch_size) as u64;
    check_memory(&jobs, threads, probe.as_ref())?;
    drop(probe);
    if let Start::Shard {
        shard,
        invocation,
        force,
    } = start
    {
        let run = cluster::run_shard(
            exp,
            &jobs,
            out,
            threads,
            *shard,
            invocation.as_ref(),
            *force,
            make_task,
        );
        return run.map(|()| None);
    }
    let aggregate = matches!(start, Start::Aggregate);
    let checkpoint = |v: &Variant, c: &Config| {
        if aggregate {
            cluster::checkpoint_path(out, v, c)
        } else {
            out.join("checkpoints")
                .join(format!("{}.safetensors", run_name(&v.label, c.seed)))
        }
    };
    let (_claim, csv, done) = match start {
        Start::New { invocation } => {
            let claim = folder::claim_new(out)?;
            write_config(exp, invocation.as_ref(), out)?;
            (claim, CsvWriter::create(&out.join("metrics.csv"))?, 0)
        }
        Start::Resume { force } => {
            let claim = folder::claim_existing(out)?;
            let paths: Vec<_> = jobs.iter().map(|(v, c)| checkpoint(v, c)).collect();
            let records = resume::prepare(exp, &jobs, &paths, out, *force)?;
            let done = records.iter().map(|r| r.len() as u64 * n).sum();
            let all: Vec<_> = records.into_iter().flatten().collect();
            (
                claim,
                CsvWriter::rebuild(&out.join("metrics.csv"), &all)?,
                done,
            )
        }
        Start::Aggregate => {
            let claim = folder::claim_existing(out)?;
            cluster::check_complete(exp, &jobs, out)?;
            let models = out.join("models");
            std::fs::create_dir_all(&models)
                .with_context(|| format!("cannot create {}", models.display()))?;
            // Every run is complete: its records come from its checkpoint, no row is appended.
            let all = exp.base.epochs as u64 * n * jobs.len() as u64;
            (
                claim,
                CsvWriter::rebuild(&out.join("metrics.csv"), &[])?,
                all,
            )
        }
        Start::Shard { .. } => unreachable!("a shard has returned above"),
    };
    let csv = Mutex::new(csv);
    let resuming = !matches!(start, Start::New { .. });

    let bar = progress_bar((exp.base.epochs as u64).saturating_mul(n * jobs.len() as u64));
    bar.set_position(done);
    let abort = AtomicBool::new(false);
    let results = run_parallel(&jobs, threads, &abort, |(v, c)| {
        let task = make_task(c)?;
        let hooks = Hooks {
            abort: &abort,
            on_batch: &|| bar.inc(1),
            on_epoch: &mut |r| csv.lock().expect("csv lock").row(r),
            recordings: (c.record.every > 0)
                .then(|| out.join("recordings").join(run_name(&v.label, c.seed))),
            checkpoint: Some(&checkpoint(v, c)),
        };
        let result = train(c, &v.label, task.as_ref(), hooks, resuming)?;
        let name = run_name(&result.label, result.seed);
        save_model_to(
            &result,
            c,
            &out.join("models").join(format!("{name}.safetensors")),
        )?;
        if let Some(vocab) = task.vocabulary() {
            save_vocabulary(vocab, &out.join("vocab").join(format!("{name}.json")))?;
        }
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
    let go_on = format!("go on with `ccdni resume {}`", out.display());
    let runs = first_error(results, out, &go_on)?;
    csv.into_inner().expect("csv lock").finish(&runs)?;
    let mut learning: Vec<LearningRecord> = runs.iter().flat_map(|r| r.learning.clone()).collect();
    if jobs.iter().any(|(_, c)| c.record.probe > 0) {
        let order: Vec<String> = exp.variants.iter().map(|v| v.label.clone()).collect();
        super::learning::write_csv(&out.join("learning.csv"), &mut learning, &order)?;
        super::learning::plot(exp, &learning, out)?;
    }
    // The drawings need the task once more (data sets are cached; tasks are not kept per run).
    let task = make_task(&exp.config(&exp.variants[0], exp.seeds[0]))?;
    let summary = report::write(exp, &runs, task.as_ref(), out)?;
    Ok(Some(Outcome {
        summary,
        runs,
        learning,
    }))
}

/// The runs' results, or the error to report: an interruption (every unfinished run wrote its
/// checkpoint; `go_on` says how to go on), else the run that failed rather than the ones it
/// stopped.
pub fn first_error<R>(results: Vec<Result<R>>, out: &Path, go_on: &str) -> Result<Vec<R>> {
    let (mut runs, mut errors) = (Vec::new(), Vec::new());
    for r in results {
        match r {
            Ok(run) => runs.push(run),
            Err(e) => errors.push(e),
        }
    }
    if errors
        .iter()
        .any(|e| e.downcast_ref::<Interrupted>().is_some())
    {
        return Err(anyhow::Error::new(Interrupted).context(format!(
            "interrupted: every unfinished run wrote its checkpoint; {go_on}"
        )));
    }
    if let Some(first) = errors
        .iter()
        .find(|e| e.downcast_ref::<Aborted>().is_none())
        .or(errors.first())
    {
        let first = format!("{first:#}");
        bail!(
            "{first}\n(the epochs that finished are in {}; each run's checkpoint lets it go on)",
            out.display()
        );
    }
    Ok(runs)
}

/// Writes `config.toml` (the resolved base configuration: `ccdni train --config` repeats a run
/// from it) and `experiment.toml` (the variants and seeds laid over it, and the command that
/// launched the job), each atomically.
pub fn write_config(exp: &Experiment, invocation: Option<&Invocation>, out: &Path) -> Result<()> {
    let files = [
        (
            "config.toml",
            format!(
                "# Resolved settings of {} (each variant and seed in experiment.toml).\n{}",
                exp.name,
                exp.base.to_toml()
            ),
        ),
        (
            "experiment.toml",
            toml::to_string_pretty(&super::file::Plan::of(exp, invocation))?,
        ),
    ];
    for (name, text) in files {
        crate::data::write_atomically(&out.join(name), text.as_bytes())?;
    }
    Ok(())
}

/// A run's name in file names: `<label>-seed<k>`, the label's spaces as `-` and anything
/// unusual as `_` (`ccRNN K=1` → `ccRNN-K=1-seed0`).
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

/// Writes a finished run's model to `path` (safetensors), with the run's resolved
/// configuration in its metadata (`ccdni train --config` repeats it).
pub fn save_model_to(run: &RunResult, config: &Config, path: &Path) -> Result<()> {
    let metadata = crate::model_file::metadata(&run.label, run.seed, config);
    run.model.save(path, &metadata)
}

/// Writes a caption run's vocabulary (what its model's word ids mean) to `path`, creating the
/// folder.
pub fn save_vocabulary(vocab: &crate::captions::vocab::Vocab, path: &Path) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    vocab.save(path)
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
            let msg = format!(
                "{:#}",
                run(&exp, &out, 1, &Start::New { invocation: None }, &never)
                    .err()
                    .unwrap()
            );
            assert!(msg.contains(needle), "{msg}");
            assert!(!out.exists(), "nothing is written");
        }
    }
}
