//! Evaluating a saved model (`ccdni eval`): its measures on a task's test set, as a run measures
//! them after its last epoch (whole sequences, no truncation, no cerebellum), and the
//! trajectories it draws. By default the task is the model's own, built from the config stored
//! in the file with the run's seed, so the test set is the run's and the measures are those of
//! its last epoch in metrics.csv. Settings of the task and its test set may be changed; those of
//! the model and its training may not (the file fixes them).

use super::layout::claim_output;
use super::report::curves::draw_trajectories;
use crate::config::{Config, set_path};
use crate::loss::EvalMetrics;
use crate::model_file::SavedModel;
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

/// Whether `ccdni eval` may set `key`: the task (`task` and its section: `reach.*`, `mnist.*`,
/// `file.*`, ...), the seed its sets are drawn from, and the evaluation batch size.
fn settable(key: &str) -> bool {
    let section = key.split('.').next().unwrap_or(key);
    matches!(
        section,
        "task" | "seed" | "eval_batch" | "reach" | "mnist" | "file"
    )
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
                 eval sets only the task and its test set (task, seed, eval_batch, reach.*, mnist.*, file.*)"
            );
        }
        set_path(&mut table, key, value.clone())?;
    }
    let config = Config::resolve(saved.config.task, &table).context("invalid setting")?;
    if config.task == crate::config::TaskKind::Captions {
        bail!(
            "{} is a caption model: its vocabulary belongs to the split of its run, so it is evaluated where it was \
             trained (`ccdni captions` writes its test bits per word to metrics.csv, its captions to results/ and \
             their scores to captions.json)",
            path.display()
        );
    }
    let (model, task) = (&saved.model, config.task_sizes());
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

/// Evaluates `saved` (read from `path`) on the test set of its task under `config`, into the
/// folder `out` (new or empty; default `runs/eval-<model>-seed<k>-<time>`): `metrics.json`, the
/// `config.toml` of the task evaluated on, and for a drawing task `trajectories.{png,svg}`.
/// Returns the evaluation and the folder.
pub fn evaluate(
    saved: &SavedModel,
    path: &Path,
    config: &Config,
    out: Option<&Path>,
) -> Result<(Evaluation, PathBuf)> {
    crate::config::check_memory([config], 1, config.task_sizes())?;
    let task = config.build_task()?;
    let name = format!(
        "eval-{}",
        crate::job::spec::run_name(&saved.label, saved.config.seed)
    );
    let (out, _claim) = claim_output(out, &name)?;
    let evaluation = Evaluation {
        model: path.display().to_string(),
        label: saved.label.clone(),
        trained_seed: saved.config.seed,
        task: config.task_name(),
        task_seed: config.seed,
        test_samples: task.test().iter().map(|b| b.batch).sum(),
        test: task.evaluate(&saved.model, task.test()),
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
        crate::data::write_atomically(&out.join(name), text.as_bytes())?;
    }
    draw_trajectories(
        &[(saved.label.as_str(), &saved.model)],
        task.as_ref(),
        &format!(
            "{} seed {} on {}: drawn trajectories vs targets",
            saved.label, saved.config.seed, evaluation.task
        ),
        &out.join("trajectories"),
    )?;
    Ok((evaluation, out))
}
