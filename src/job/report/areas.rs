//! The figures of a two-area experiment (`[figure] kind = "areas"`, e.g.
//! experiments/forward-models.toml; docs/model.md §7):
//!
//! - `figure_test_mse`: the final test MSE (mean ± SEM over seeds) of each `group` of variants
//!   against their `x` (the delay d);
//! - `figure_forward_error`: the forward cerebellum's validation prediction error (the
//!   `forward_error` measure) over learning, per variant that has one;
//! - `figure.json`: per variant its final test MSE per seed, its paired comparison with its
//!   `compare_to` (docs/model.md §5: final test and normalised performance, each with its
//!   paired t-test), and for a variant whose forward or backward cerebellums are lesioned
//!   (`areas.forward_lesion_at` or `lesion.cerebellum_at` = E) the validation error after
//!   epoch E − 1 and after E, for it and for its `compare_to` over the same epochs, with
//!   paired t-tests;
//! - with `measures` named (the task's own, e.g. the eyeblink's `cr_rate`): the measures
//!   figure of [`super::measures`] besides, its numbers in `figure_measures.json`.

use super::compare::{Comparison, compare};
use super::figures::{BeforeAfter, before_after, in_order, validation_error};
use crate::areas::FORWARD_ERROR;
use crate::job::layout::JobDir;
use crate::job::records::FinishedRun;
use crate::job::spec::{Experiment, Variant};
use crate::plot::{Series, curves};
use crate::stats::{mean, sem};
use anyhow::Result;
use serde::Serialize;
use std::fmt::Write as _;

/// One variant's final test MSE, and its comparison with its reference.
#[derive(Clone, Debug, Serialize)]
pub struct VariantPoint {
    pub variant: String,
    pub group: Option<String>,
    pub x: Option<f64>,
    pub seeds: Vec<u64>,
    pub test_mse: Vec<f64>,
    pub mean: f64,
    pub sem: f64,
    /// Positive: the variant does better than its `compare_to`.
    pub comparison: Option<Comparison>,
    pub lesion: Option<LesionEffect>,
}

/// The validation error just before and after a cerebellar lesion at `epoch`, in
/// the lesioned variant and in its reference (intact) over the same epochs.
#[derive(Clone, Debug, Serialize)]
pub struct LesionEffect {
    pub epoch: usize,
    pub lesioned: Option<BeforeAfter>,
    pub intact: Option<BeforeAfter>,
}

/// The final test measure of each run of `label`, in seed order.
fn final_tests(runs: &[FinishedRun], label: &str) -> (Vec<u64>, Vec<f64>) {
    let mut v: Vec<(u64, f64)> = (runs.iter().filter(|r| r.label == label))
        .filter_map(|r| Some((r.seed, r.records.last()?.test.headline().1)))
        .collect();
    v.sort_by_key(|x| x.0);
    v.into_iter().unzip()
}

fn point(exp: &Experiment, runs: &[FinishedRun], v: &Variant) -> Result<VariantPoint> {
    let (seeds, test_mse) = final_tests(runs, &v.label);
    let reference = v.compare_to.as_deref();
    let late = exp.base.late_phase;
    let config = exp.run_config(v, exp.seeds[0])?;
    let forward_lesion = config.areas.and_then(|a| a.forward_lesion_at);
    let lesion = (forward_lesion.or(config.lesion.cerebellum_at)).filter(|&e| e >= 2);
    Ok(VariantPoint {
        variant: v.label.clone(),
        group: v.group.clone(),
        x: v.x,
        mean: mean(&test_mse),
        sem: sem(&test_mse),
        seeds,
        test_mse,
        comparison: reference.map(|r| compare(runs, &v.label, r, late)),
        lesion: lesion.map(|epoch| LesionEffect {
            epoch,
            lesioned: before_after(runs, &v.label, epoch, validation_error),
            intact: reference.and_then(|r| before_after(runs, r, epoch, validation_error)),
        }),
    })
}

/// Writes the figures and figure.json of `exp`'s finished `runs` into `job`; returns the table
/// for the terminal.
pub fn draw(
    exp: &Experiment,
    runs: &[FinishedRun],
    (x_label, measures): (&str, &[String]),
    job: &JobDir,
) -> Result<String> {
    let points: Vec<VariantPoint> = (exp.variants.iter())
        .map(|v| point(exp, runs, v))
        .collect::<Result<_>>()?;
    super::write_json(&job.report("figure.json"), &points)?;
    let groups = in_order(points.iter().filter_map(|p| p.group.as_deref()));
    let series: Vec<Series> = (groups.iter())
        .map(|g| {
            let ps: Vec<&VariantPoint> = (points.iter())
                .filter(|p| p.group.as_deref() == Some(*g) && p.x.is_some())
                .collect();
            Series {
                label: g.to_string(),
                x: ps.iter().filter_map(|p| p.x).collect(),
                mean: ps.iter().map(|p| p.mean).collect(),
                sem: ps.iter().map(|p| p.sem).collect(),
                mark: None,
            }
        })
        .collect();
    let seeds = exp.seeds.len();
    let title = format!("{}: final test error ({seeds} seeds)", exp.name);
    let stem = job.report("figure_test_mse");
    curves(&stem, &title, x_label, "test MSE", &series, false)?;
    let errors: Vec<Series> = (exp.variants.iter())
        .filter_map(|v| forward_error_series(runs, &v.label))
        .collect();
    if !errors.is_empty() {
        let title = format!(
            "{}: forward cerebellum's validation prediction error",
            exp.name
        );
        let y = "MSE per value of B's input against h^A_t";
        curves(
            &job.report("figure_forward_error"),
            &title,
            "epoch",
            y,
            &errors,
            true,
        )?;
    }
    let mut text = table(&points);
    if !measures.is_empty() {
        text +=
            &super::measures::draw(exp, runs, (x_label, measures), job, "figure_measures.json")?;
    }
    Ok(text)
}

/// The forward cerebellum's validation error of `label`'s runs over the epochs in which its
/// seeds have it (`None` when there are none).
fn forward_error_series(runs: &[FinishedRun], label: &str) -> Option<Series> {
    let (x, m, s) = super::curves::per_epoch(runs, label, |r| {
        r.validation.measures.get(FORWARD_ERROR).copied()
    });
    (!x.is_empty()).then(|| Series {
        label: label.to_string(),
        x,
        mean: m,
        sem: s,
        mark: None,
    })
}

/// One line per variant: its final test MSE, its comparison, its lesion's effect.
fn table(points: &[VariantPoint]) -> String {
    let mut text = String::from("variant: final test MSE (mean ± SEM) | vs reference\n");
    for p in points {
        let _ = write!(text, "{}: {:.4} ± {:.4}", p.variant, p.mean, p.sem);
        if let Some(c) = &p.comparison
            && let Some(t) = &c.final_test.t_test
        {
            let _ = write!(
                text,
                " | {}: {:+.4} ± {:.4}, t = {:.2}, p = {:.3}",
                c.final_test.improvement, t.mean_diff, t.sem_diff, t.t, t.p
            );
        }
        if let Some(l) = &p.lesion {
            for (name, ba) in [("lesioned", &l.lesioned), ("intact", &l.intact)] {
                if let Some(b) = ba
                    && let Some(t) = &b.t_test
                {
                    let _ = write!(
                        text,
                        " | {name}, validation error epoch {} -> {}: {:+.4} ± {:.4}, p = {:.3}",
                        l.epoch - 1,
                        l.epoch,
                        b.change_mean,
                        b.change_sem,
                        t.p
                    );
                }
            }
        }
        text.push('\n');
    }
    text
}
