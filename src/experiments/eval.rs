//! Evaluating a saved model (`ccdni eval`): its measures on a task's test set, as a run measures
//! them after its last epoch (whole sequences, no truncation, no cerebellum), and the
//! trajectories it draws. By default the task is the model's own, built from the config stored
//! in the file with the run's seed, so the test set is the run's and the measures are those of
//! its last epoch in metrics.csv. Settings of the task and its test set may be changed; those of
//! the model and its training may not (the file fixes them).

use super::folder::claim_empty;
use super::report::draw_trajectories;
use super::run::evaluate;
use crate::config::{Config, set_path};
use crate::loss::EvalMetrics;
use crate::model_file::SavedModel;
use crate::tasks::Task;
use anyhow::{Context, Result, bail};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// What an evaluation measured (written to `metrics.json`).
#[derive(Clone, Debug, Serialize)]
pub struct Evaluation {
    /// The model file.
    pub model: String,
    pub label: String,
    /// The seed of the run that trained the model.
    pub trained_seed: u64,
    /// The task evaluated on (`reach`, `mnist-class`, ...) and the seed its sets were drawn from.
    pub task: String,
    pub task_seed: u64,
    pub test_samples: usize,
    /// The test measures, named as the `test_*` columns of metrics.csv.
    pub test: EvalMetrics,
}

/// Whether `ccdni eval` may set `key`: the task (`task`, `reach.*`, `mnist.*`), the seed its sets
/// are drawn from, and the evaluation batch size.
fn settable(key: &str) -> bool {
    let section = key.split('.').next().unwrap_or(key);
    matches!(section, "task" | "seed" | "eval_batch" | "reach" | "mnist")
}

/// The configuration to evaluate `saved` with: its own, with `settings` (key, value) laid over
/// it. Refuses a setting of the model or its training, and a task whose input and output sizes
/// differ from the model's, naming the file (`path`).
pub fn config_for(
    saved: &SavedModel,
    path: &Path,
    settings: &[(String, toml::Value)],
) -> Result<Config> {
    let mut table = toml::Table::try_from(&saved.config).context("serialising the config")?;
    for (key, value) in settings {
        if !settable(key) {
            bail!(
                "`{key}` cannot be set when evaluating: the model file fixes the model and its training; \
                 eval sets only the task and its test set (task, seed, eval_batch, reach.*, mnist.*)"
            );
        }
        set_path(&mut table, key, value.clone())?;
    }
    let config = Config::resolve(saved.config.task, &table).context("invalid setting")?;
    if config.task == crate::config::TaskKind::Captions {
        bail!(
            "{} is a caption model: its vocabulary belongs to the split of its run, so it is evaluated where it was              trained (`ccdni captions` writes its test bits per word to metrics.csv, its captions to results/ and              their scores to captions.json)",
            path.display()
        );
    }
    let (model, task) = (&saved.model, crate::tasks::sizes(&config));
    let (input, output) = (model.cortex.weights().input, model.readout.outputs);
    if (task.input, task.output) != (input, output) {
        bail!(
            "{} holds a model of input size {input} and output size {output} (trained on {}), but the task {} \
             has input size {} and output size {}: a model evaluates only on a task of its own sizes",
            path.display(),
            saved.config.task_name(),
            config.task_name(),
            task.input,
            task.output
        );
    }
    config.validate()?;
    Ok(config)
}

/// Evaluates `saved` (read from `path`) on the test set of `task`, built from `config`, into the
/// folder `out` (claimed as a run folder: new or empty): `metrics.json`, the `config.toml` of the
/// task evaluated on, and for a drawing task `trajectories.{png,svg}`.
pub fn run(
    saved: &SavedModel,
    path: &Path,
    config: &Config,
    task: &dyn Task,
    out: &Path,
) -> Result<Evaluation> {
    let _claim = claim_empty(out)?;
    let evaluation = Evaluation {
        model: path.display().to_string(),
        label: saved.label.clone(),
        trained_seed: saved.config.seed,
        task: config.task_name(),
        task_seed: config.seed,
        test_samples: task.test().iter().map(|b| b.batch).sum(),
        test: evaluate(&saved.model, task.test()),
    };
    let files = [
        (
            "metrics.json",
            serde_json::to_string_pretty(&evaluation)? + "\n",
        ),
        (
            "config.toml",
            format!(
                "# The settings {} was evaluated with.\n{}",
                path.display(),
                config.to_toml()
            ),
        ),
    ];
    for (name, text) in files {
        let file = out.join(name);
        std::fs::write(&file, text).with_context(|| format!("cannot write {}", file.display()))?;
    }
    draw_trajectories(
        &[(saved.label.as_str(), &saved.model)],
        task,
        &format!(
            "{} seed {} on {}: drawn trajectories vs targets",
            saved.label, saved.config.seed, evaluation.task
        ),
        &out.join("trajectories"),
    )?;
    Ok(evaluation)
}

/// The measures as lines `  test <name>  <value>`, in the order of metrics.csv, those the task
/// has.
pub fn lines(test: &EvalMetrics) -> String {
    let named = [
        ("mse", test.mse),
        ("mse_feedback", test.mse_feedback),
        ("accuracy", test.accuracy),
        ("nll", test.nll),
        ("certainty", test.certainty),
        ("dysmetria", test.dysmetria),
    ];
    named
        .iter()
        .filter_map(|(name, v)| v.map(|v| format!("  test {name:<14} {v}\n")))
        .collect()
}

/// The settings of `ccdni eval`.
#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    /// The model file: a run's models/<label>-seed<k>.safetensors.
    pub model: PathBuf,
    /// Task: reach or mnist (default: the model's own); its sizes must be the model's.
    #[arg(long)]
    pub task: Option<String>,
    /// Sequential-MNIST variant: class, line or digit (default: the model's own).
    #[arg(long, value_name = "class|line|digit")]
    pub variant: Option<String>,
    /// Folder with the IDX files of MNIST; wins over the model's config, $CCDNI_DATA_DIR and the cache.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Seed the task's sets are drawn from (default: the model's run seed, so the test set is
    /// the run's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// A setting of the task as KEY=VALUE (task, seed, eval_batch, reach.*, mnist.*), e.g.
    /// --set reach.test_samples=1000.
    #[arg(long, value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Output folder (default: runs/eval-<model file name>-<time>).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `ccdni eval MODEL`: loads the model, evaluates it on its task (or the one asked for) into a
/// new folder, and prints its test measures.
pub fn command(a: EvalArgs) -> Result<()> {
    let saved = crate::model_file::load(&a.model)?;
    let mut settings = Vec::new();
    if let Some(task) = &a.task {
        crate::config::TaskKind::parse(task)?;
        settings.push(("task".to_string(), toml::Value::String(task.clone())));
    }
    if let Some(v) = &a.variant {
        settings.push(("mnist.variant".to_string(), toml::Value::String(v.clone())));
    }
    if let Some(d) = &a.data_dir {
        let d = toml::Value::String(d.display().to_string());
        settings.push(("mnist.data_dir".to_string(), d));
    }
    if let Some(seed) = a.seed {
        let seed = i64::try_from(seed)
            .map_err(|_| anyhow::anyhow!("--seed {seed} is out of range (at most {})", i64::MAX))?;
        settings.push(("seed".to_string(), toml::Value::Integer(seed)));
    }
    for kv in &a.set {
        settings.push(crate::cli::parse_set(kv)?);
    }
    let config = config_for(&saved, &a.model, &settings)?;
    let task = crate::tasks::build(&config)?;
    let stem = a
        .model
        .file_stem()
        .map_or("model".into(), |s| s.to_string_lossy().into_owned());
    let (evaluation, out) = super::folder::in_folder(
        a.out,
        &format!("eval-{stem}"),
        |out| {
            eprintln!(
                "eval: {} on {} -> {}",
                a.model.display(),
                config.task_name(),
                out.display()
            )
        },
        |out| run(&saved, &a.model, &config, task.as_ref(), out),
    )?;
    println!(
        "{} seed {} ({}) on {}, {} test sequences (seed {}):",
        evaluation.label,
        evaluation.trained_seed,
        evaluation.model,
        evaluation.task,
        evaluation.test_samples,
        evaluation.task_seed
    );
    print!("{}", lines(&evaluation.test));
    println!("results in {}", out.display());
    Ok(())
}
