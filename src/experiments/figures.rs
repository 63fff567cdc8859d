//! The figures' own plots, drawn from a finished experiment (beyond the learning curves,
//! summary and measures over learning every experiment writes):
//!
//! - [`Figure::Comparisons`]: the normalised performance `(E_ref − E_var) / E_ref` of each
//!   variant against the one it is compared with (`compare_to`, else `cRNN`), drawn per `group`
//!   against the variant's `x` (the horizon K, the cortical scaling b, ...), mean ± SEM over
//!   seeds, over all epochs and over the late phase (docs/model.md §5);
//! - [`Figure::Lesions`]: for each variant with a lesion at epoch E, the validation error and
//!   dysmetria after epoch E − 1 (just before the lesion) and after epoch E (its first epoch
//!   without a working cerebellum or olive), their change with a paired t-test, and the same
//!   change of the intact variant it is compared with; per lesion epoch, the two lesion types'
//!   changes compared by a paired t-test.
//!
//! Both write `figure.json` with every number they plot.

use super::compare::{Comparison, compare, error_of};
use super::run::RunResult;
use super::variants::{Experiment, Outcome};
use crate::plot::{self, Series};
use crate::stats::{PairedT, mean, paired_t_test, sem};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A figure's own plots.
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
    /// The caption task: test captions generated, scored and compared by caption length
    /// ([`super::captioning`]).
    Captions,
}

/// One point of a [`Figure::Comparisons`].
#[derive(Clone, Debug, Serialize)]
pub struct ComparisonPoint {
    pub group: String,
    pub x: f64,
    #[serde(flatten)]
    pub comparison: Comparison,
}

/// A measure just before and just after a lesion, per seed, with the paired t-test of
/// `after − before`.
#[derive(Clone, Debug, Serialize)]
pub struct BeforeAfter {
    pub before: Vec<f64>,
    pub after: Vec<f64>,
    pub change_mean: f64,
    pub change_sem: f64,
    pub t_test: Option<PairedT>,
}

/// One lesioned variant of a [`Figure::Lesions`].
#[derive(Clone, Debug, Serialize)]
pub struct LesionPoint {
    pub variant: String,
    /// The lesion type (the variant's `group`, e.g. `cerebellar ablation`).
    pub group: String,
    /// The lesion epoch E: the lesion applies from its start.
    pub epoch: usize,
    pub seeds: Vec<u64>,
    pub validation_error: BeforeAfter,
    pub validation_dysmetria: Option<BeforeAfter>,
    /// The same epochs of the intact variant it is compared with.
    pub intact: Option<(String, BeforeAfter)>,
}

/// Per lesion epoch, the two lesion types' error changes compared over seeds.
#[derive(Clone, Debug, Serialize)]
pub struct LesionTypes {
    pub epoch: usize,
    pub first: String,
    pub second: String,
    /// Paired t-test of the first type's `after − before` against the second's.
    pub t_test: Option<PairedT>,
}

impl Figure {
    /// Draws the figure of `exp`'s finished `outcome` into `out`; returns lines for the terminal.
    pub fn draw(&self, exp: &Experiment, outcome: &Outcome, out: &Path) -> Result<String> {
        match self {
            Figure::Comparisons { x_label } => comparisons(exp, &outcome.runs, x_label, out),
            Figure::Lesions => lesions(exp, &outcome.runs, out),
            Figure::Captions => super::captioning::report(exp, &outcome.runs, out),
        }
    }
}

fn write_json(out: &Path, value: &impl Serialize) -> Result<()> {
    let path = out.join("figure.json");
    std::fs::write(&path, serde_json::to_string_pretty(value)?)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// The variant a variant is compared with: its `compare_to`, else the experiment's `cRNN`.
fn reference_of<'a>(exp: &'a Experiment, v: &'a super::variants::Variant) -> Option<&'a str> {
    v.compare_to.as_deref().or_else(|| {
        exp.variants
            .iter()
            .find(|w| w.label == "cRNN" && w.label != v.label)
            .map(|w| w.label.as_str())
    })
}

fn comparisons(exp: &Experiment, runs: &[RunResult], x_label: &str, out: &Path) -> Result<String> {
    let mut points: Vec<ComparisonPoint> = exp
        .variants
        .iter()
        .filter_map(|v| {
            let (group, x, r) = (v.group.as_ref()?, v.x?, reference_of(exp, v)?);
            Some(ComparisonPoint {
                group: group.clone(),
                x,
                comparison: compare(runs, &v.label, r, exp.base.late_phase),
            })
        })
        .collect();
    points.sort_by(|a, b| a.x.total_cmp(&b.x));
    write_json(out, &points)?;
    let mut groups: Vec<&str> = Vec::new();
    for p in &points {
        if !groups.contains(&p.group.as_str()) {
            groups.push(&p.group);
        }
    }
    let late = exp.base.late_phase_epochs();
    let mut text = format!(
        "{:<28} {:>8}  {:>20}  {:>20}\n",
        "group",
        "x",
        "NP all epochs",
        format!("NP epochs {}-{}", late.start(), late.end())
    );
    for (stem, phase, pick) in [
        (
            "figure_normalised_performance",
            "all epochs".to_string(),
            (|c: &Comparison| &c.normalised_performance_all_epochs)
                as fn(&Comparison) -> &super::compare::NormalisedPerformance,
        ),
        (
            "figure_normalised_performance_late",
            format!("epochs {}-{}", late.start(), late.end()),
            |c: &Comparison| &c.normalised_performance_late_phase,
        ),
    ] {
        let series: Vec<Series> = groups
            .iter()
            .map(|g| {
                let ps: Vec<&ComparisonPoint> = points.iter().filter(|p| p.group == *g).collect();
                Series {
                    mark: None,
                    label: g.to_string(),
                    x: ps.iter().map(|p| p.x).collect(),
                    mean: ps.iter().map(|p| pick(&p.comparison).mean).collect(),
                    sem: ps.iter().map(|p| pick(&p.comparison).sem).collect(),
                }
            })
            .collect();
        plot::curves(
            &out.join(stem),
            &format!(
                "{}: normalised performance, {phase}, {} seeds",
                exp.name,
                exp.seeds.len()
            ),
            x_label,
            "(E_ref - E) / E_ref (positive: better than reference)",
            &series,
            false,
        )?;
    }
    for p in &points {
        let f = |np: &super::compare::NormalisedPerformance| {
            format!(
                "{:+.3} ± {:.3} (p {:.3})",
                np.mean,
                np.sem,
                np.t_test.as_ref().map_or(f64::NAN, |t| t.p)
            )
        };
        text.push_str(&format!(
            "{:<28} {:>8}  {:>20}  {:>20}\n",
            p.group,
            p.x,
            f(&p.comparison.normalised_performance_all_epochs),
            f(&p.comparison.normalised_performance_late_phase)
        ));
    }
    Ok(text)
}

/// `f` of a run's record after `epoch` (1-based), per seed of `label`, in seed order.
fn at_epoch(
    runs: &[RunResult],
    label: &str,
    epoch: usize,
    f: impl Fn(&super::run::EpochRecord) -> Option<f64>,
) -> Vec<(u64, Option<f64>)> {
    let mut v: Vec<(u64, Option<f64>)> = runs
        .iter()
        .filter(|r| r.label == label)
        .map(|r| (r.seed, r.records.get(epoch - 1).and_then(&f)))
        .collect();
    v.sort_by_key(|x| x.0);
    v
}

fn before_after(
    runs: &[RunResult],
    label: &str,
    epoch: usize,
    f: impl Fn(&super::run::EpochRecord) -> Option<f64> + Copy,
) -> Option<BeforeAfter> {
    let before: Option<Vec<f64>> = at_epoch(runs, label, epoch - 1, f)
        .into_iter()
        .map(|x| x.1)
        .collect();
    let after: Option<Vec<f64>> = at_epoch(runs, label, epoch, f)
        .into_iter()
        .map(|x| x.1)
        .collect();
    let (before, after) = (before?, after?);
    let change: Vec<f64> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
    Some(BeforeAfter {
        change_mean: mean(&change),
        change_sem: sem(&change),
        t_test: paired_t_test(&after, &before),
        before,
        after,
    })
}

fn lesions(exp: &Experiment, runs: &[RunResult], out: &Path) -> Result<String> {
    let error = |r: &super::run::EpochRecord| Some(error_of(&r.validation));
    let dysmetria = |r: &super::run::EpochRecord| r.validation.dysmetria;
    let mut points = Vec::new();
    for v in &exp.variants {
        let c = exp.config(v, exp.seeds[0]);
        let Some(epoch) = c.lesion.cerebellum_at.or(c.lesion.olive_at) else {
            continue;
        };
        if epoch < 2 {
            continue; // no epoch before the lesion
        }
        let Some(validation_error) = before_after(runs, &v.label, epoch, error) else {
            continue;
        };
        let intact = reference_of(exp, v)
            .and_then(|r| before_after(runs, r, epoch, error).map(|b| (r.to_string(), b)));
        points.push(LesionPoint {
            variant: v.label.clone(),
            group: v.group.clone().unwrap_or_else(|| v.label.clone()),
            epoch,
            seeds: at_epoch(runs, &v.label, epoch, error)
                .iter()
                .map(|x| x.0)
                .collect(),
            validation_error,
            validation_dysmetria: before_after(runs, &v.label, epoch, dysmetria),
            intact,
        });
    }
    let mut groups: Vec<String> = Vec::new();
    for p in &points {
        if !groups.contains(&p.group) {
            groups.push(p.group.clone());
        }
    }
    let mut types = Vec::new();
    if let [first, second] = &groups[..] {
        for p in points.iter().filter(|p| &p.group == first) {
            if let Some(q) = points
                .iter()
                .find(|q| &q.group == second && q.epoch == p.epoch)
            {
                let change = |b: &BeforeAfter| -> Vec<f64> {
                    b.after.iter().zip(&b.before).map(|(a, b)| a - b).collect()
                };
                types.push(LesionTypes {
                    epoch: p.epoch,
                    first: first.clone(),
                    second: second.clone(),
                    t_test: paired_t_test(
                        &change(&p.validation_error),
                        &change(&q.validation_error),
                    ),
                });
            }
        }
    }
    #[derive(Serialize)]
    struct LesionFigure<'a> {
        lesions: &'a [LesionPoint],
        lesion_types: &'a [LesionTypes],
    }
    write_json(
        out,
        &LesionFigure {
            lesions: &points,
            lesion_types: &types,
        },
    )?;
    let mut series = Vec::new();
    for g in &groups {
        let ps: Vec<&LesionPoint> = points.iter().filter(|p| &p.group == g).collect();
        series.push(Series {
            mark: None,
            label: format!("{g}: validation error"),
            x: ps.iter().map(|p| p.epoch as f64).collect(),
            mean: ps.iter().map(|p| p.validation_error.change_mean).collect(),
            sem: ps.iter().map(|p| p.validation_error.change_sem).collect(),
        });
        series.push(Series {
            mark: None,
            label: format!("{g}: validation dysmetria"),
            x: ps.iter().map(|p| p.epoch as f64).collect(),
            mean: ps
                .iter()
                .map(|p| {
                    p.validation_dysmetria
                        .as_ref()
                        .map_or(f64::NAN, |d| d.change_mean)
                })
                .collect(),
            sem: ps
                .iter()
                .map(|p| {
                    p.validation_dysmetria
                        .as_ref()
                        .map_or(f64::NAN, |d| d.change_sem)
                })
                .collect(),
        });
    }
    let intact: Vec<&LesionPoint> = points.iter().filter(|p| p.intact.is_some()).collect();
    if let Some(first) = groups.first() {
        let ps: Vec<&&LesionPoint> = intact.iter().filter(|p| &p.group == first).collect();
        series.push(Series {
            mark: None,
            label: "intact: validation error".into(),
            x: ps.iter().map(|p| p.epoch as f64).collect(),
            mean: ps
                .iter()
                .map(|p| p.intact.as_ref().unwrap().1.change_mean)
                .collect(),
            sem: ps
                .iter()
                .map(|p| p.intact.as_ref().unwrap().1.change_sem)
                .collect(),
        });
    }
    plot::curves(
        &out.join("figure_lesion_effect"),
        &format!(
            "{}: after epoch E minus after E-1, {} seeds",
            exp.name,
            exp.seeds.len()
        ),
        "lesion epoch E",
        "change (positive: worse after the lesion)",
        &series,
        false,
    )?;
    let mut text = format!(
        "{:<36} {:>5} {:>24} {:>24} {:>24}\n",
        "lesion", "E", "error before -> after", "change (p)", "intact change"
    );
    for p in &points {
        let b = &p.validation_error;
        text.push_str(&format!(
            "{:<36} {:>5} {:>24} {:>24} {:>24}\n",
            p.variant,
            p.epoch,
            format!("{:.4} -> {:.4}", mean(&b.before), mean(&b.after)),
            format!(
                "{:+.4} ± {:.4} ({:.3})",
                b.change_mean,
                b.change_sem,
                b.t_test.map_or(f64::NAN, |t| t.p)
            ),
            p.intact.as_ref().map_or(String::new(), |(_, i)| format!(
                "{:+.4} ± {:.4}",
                i.change_mean, i.change_sem
            )),
        ));
    }
    for t in &types {
        text.push_str(&format!(
            "E = {}: {} vs {} error change, paired t = {:.2}, p = {:.3}\n",
            t.epoch,
            t.first,
            t.second,
            t.t_test.map_or(f64::NAN, |t| t.t),
            t.t_test.map_or(f64::NAN, |t| t.p)
        ));
    }
    Ok(text)
}
