//! What a job writes into its folder once all its runs have finished, from the finished runs
//! alone (the same whether they trained here, on many machines, or were loaded from their
//! folders):
//!
//! | file | module |
//! |---|---|
//! | `metrics.csv` (every run's epochs), `summary.json` | [`summary`], [`compare`] |
//! | `learning_curves`, `training_loss`, `cerebellar_cosine`, `trajectories` (`.png`, `.svg`) | [`curves`] |
//! | `learning.csv`, `learning/` (with `record.probe`) | [`learning_csv`] |
//! | `figure.json`, `figure_*` (comparisons, lesions) | [`figures`] |
//! | `figure.json`, `figure_<measure>`, `figure_table.md` (a task's own measures) | [`measures`] |
//! | `glance.json`, `glance`, `glance_late` (over several jobs, `ccdni report`) | [`decomposition`] |
//! | `sweep.json`, `normalised_performance` (a horizon sweep) | [`sweep`] |
//! | `figure.json`, `figure_test_mse`, `figure_forward_error` (two cortical areas) | [`areas`] |
//! | `results/`, `captions.json`, `captions_by_length`, `captions_examples.md` | [`captions`] |

pub mod areas;
pub mod captions;
pub mod compare;
pub mod curves;
pub mod decomposition;
pub mod figures;
pub mod learning_csv;
pub mod measures;
pub mod summary;
pub mod sweep;

use super::layout::JobDir;
use super::records::{FinishedRun, LearningRecord, measures_of, metrics_csv};
use super::spec::{Experiment, Figure};
use anyhow::Result;
use serde::Serialize;
use std::path::Path;
use summary::Summary;

/// A finished job's report: its summary, and the lines printed at the end (the table, then the
/// figure's own lines).
pub struct Report {
    pub summary: Summary,
    pub text: String,
}

/// Writes the report of `exp`'s finished `runs` (in the experiment's run order) into `job`.
pub fn write(exp: &Experiment, runs: &[FinishedRun], job: &JobDir) -> Result<Report> {
    let records = || runs.iter().flat_map(|r| &r.records);
    let areas = records().any(|r| r.areas.is_some());
    let metrics = metrics_csv(records(), &measures_of(records()), areas);
    crate::data::write_atomically(&job.report("metrics.csv"), metrics.as_bytes())?;
    let summary = summary::summarise(exp, runs);
    write_json(&job.report("summary.json"), &summary)?;
    curves::plot_curves(exp, runs, job)?;
    // The drawings need a task (data sets are cached; tasks are not kept per run).
    let task = exp
        .run_config(&exp.variants[0], exp.seeds[0])?
        .build_task()?;
    curves::plot_drawings(exp, runs, task.as_ref(), job)?;
    let mut learning: Vec<LearningRecord> = runs.iter().flat_map(|r| r.learning.clone()).collect();
    if !learning.is_empty() {
        let order: Vec<String> = exp.variants.iter().map(|v| v.label.clone()).collect();
        learning_csv::write_csv(&job.report("learning.csv"), &mut learning, &order)?;
        learning_csv::plot(exp, &learning, job)?;
    }
    let figure = match &exp.figure {
        None => String::new(),
        Some(Figure::Comparisons { x_label }) => figures::comparisons(exp, runs, x_label, job)?,
        Some(Figure::Lesions) => figures::lesions(exp, runs, job)?,
        Some(Figure::Areas { x_label, measures }) => {
            areas::draw(exp, runs, (x_label, measures), job)?
        }
        Some(Figure::Captions) => captions::report(exp, runs, job)?,
        Some(Figure::Sweep) => sweep::draw(exp, runs, job)?,
        Some(Figure::Measures { x_label, measures }) => {
            measures::draw(exp, runs, (x_label, measures), job, "figure.json")?
        }
    };
    let text = format!("{}\n{figure}", summary::table(&summary));
    Ok(Report { summary, text })
}

/// Writes `value` as pretty JSON to `path`, atomically.
fn write_json(path: &Path, value: &impl Serialize) -> Result<()> {
    crate::data::write_atomically(path, serde_json::to_string_pretty(value)?.as_bytes())
}
