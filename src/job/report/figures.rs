//! Two figures' own plots, drawn from a finished job (beyond the learning curves, summary and
//! measures over learning every job writes), each with `figure.json` holding every number it
//! plots:
//!
//! - [`comparisons`] ([`Figure::Comparisons`](crate::job::spec::Figure)): the normalised
//!   performance `(E_ref − E_var) / E_ref` of each variant against the one it is compared with
//!   (`compare_to`, else `cRNN`), drawn per `group` against the variant's `x` (the horizon K,
//!   the cortical scaling b, ...), mean ± SEM over seeds, over all epochs and over the late
//!   phase (docs/model.md §5); a variant with `also_compare_to` is compared with that one too,
//!   drawn in the group `vs <its label>`;
//! - [`lesions`] (`Figure::Lesions`): for each variant with a lesion at epoch E, the validation
//!   error and dysmetria after epoch E − 1 (just before the lesion) and after epoch E (its first
//!   epoch without a working cerebellum or olive), their change with a paired t-test, and the
//!   same change of the intact variant it is compared with; per lesion epoch, the two lesion
//!   types' changes compared by a paired t-test.

use super::compare::{Comparison, NormalisedPerformance, compare};
use crate::job::layout::JobDir;
use crate::job::records::{EpochRecord, FinishedRun};
use crate::job::spec::Experiment;
use crate::plot::{self, Series};
use crate::stats::{PairedT, mean, paired_t_test, sem};
use anyhow::Result;
use serde::Serialize;
use std::fmt::Write;

/// One point of the comparisons figure.
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

impl BeforeAfter {
    fn changes(&self) -> Vec<f64> {
        self.after
            .iter()
            .zip(&self.before)
            .map(|(a, b)| a - b)
            .collect()
    }
}

/// One lesioned variant of the lesions figure.
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

/// The comparisons figure of `exp` into `job`; returns its lines for the terminal.
pub fn comparisons(
    exp: &Experiment,
    runs: &[FinishedRun],
    x_label: &str,
    job: &JobDir,
) -> Result<String> {
    let points = comparison_points(exp, runs);
    super::write_json(&job.report("figure.json"), &points)?;
    let groups = in_order(points.iter().map(|p| p.group.as_str()));
    let late = exp.base.late_phase_epochs();
    type Pick = fn(&Comparison) -> &NormalisedPerformance;
    let phases: [(&str, String, Pick); 2] = [
        (
            "figure_normalised_performance",
            "all epochs".to_string(),
            |c| &c.normalised_performance_all_epochs,
        ),
        (
            "figure_normalised_performance_late",
            format!("epochs {}-{}", late.start(), late.end()),
            |c| &c.normalised_performance_late_phase,
        ),
    ];
    for (stem, phase, pick) in phases {
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
            &job.report(stem),
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
    Ok(comparisons_table(&points, late))
}

/// The points of the comparisons figure, in increasing `x`: each variant with a `group` and an
/// `x` against its reference, and against its `also_compare_to` (group `vs <label>`).
fn comparison_points(exp: &Experiment, runs: &[FinishedRun]) -> Vec<ComparisonPoint> {
    let mut points: Vec<ComparisonPoint> = exp
        .variants
        .iter()
        .filter_map(|v| {
            let (group, x, r) = (v.group.as_ref()?, v.x?, exp.reference_of(v)?);
            let also = v.also_compare_to.as_ref().map(|r| (format!("vs {r}"), r));
            let point = |(group, r): (String, &str)| ComparisonPoint {
                group,
                x,
                comparison: compare(runs, &v.label, r, exp.base.late_phase),
            };
            Some(
                [Some((group.clone(), r)), also.map(|(g, r)| (g, r.as_str()))]
                    .map(|p| p.map(point)),
            )
        })
        .flatten()
        .flatten()
        .collect();
    points.sort_by(|a, b| a.x.total_cmp(&b.x));
    points
}

fn comparisons_table(points: &[ComparisonPoint], late: std::ops::RangeInclusive<usize>) -> String {
    let mut text = format!(
        "{:<28} {:<28} {:>8}  {:>20}  {:>20}\n",
        "variant",
        "group",
        "x",
        "NP all epochs",
        format!("NP epochs {}-{}", late.start(), late.end())
    );
    let f = |np: &NormalisedPerformance| {
        format!(
            "{:+.3} ± {:.3} (p {:.3})",
            np.mean,
            np.sem,
            np.t_test.as_ref().map_or(f64::NAN, |t| t.p)
        )
    };
    for p in points {
        let _ = writeln!(
            text,
            "{:<28} {:<28} {:>8}  {:>20}  {:>20}",
            p.comparison.variant,
            p.group,
            p.x,
            f(&p.comparison.normalised_performance_all_epochs),
            f(&p.comparison.normalised_performance_late_phase)
        );
    }
    text
}

/// The distinct names of `names`, in the order they first come.
pub(super) fn in_order<'a>(names: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen: Vec<&str> = Vec::new();
    for n in names {
        if !seen.contains(&n) {
            seen.push(n);
        }
    }
    seen
}

/// `f` of each run of `label` after `epoch` (1-based), in seed order.
fn at_epoch(
    runs: &[FinishedRun],
    label: &str,
    epoch: usize,
    f: impl Fn(&EpochRecord) -> Option<f64>,
) -> Vec<(u64, Option<f64>)> {
    let mut v: Vec<(u64, Option<f64>)> = runs
        .iter()
        .filter(|r| r.label == label)
        .map(|r| (r.seed, r.records.get(epoch - 1).and_then(&f)))
        .collect();
    v.sort_by_key(|x| x.0);
    v
}

/// `f` after epoch `epoch − 1` and after `epoch` over the seeds of `label`, when every seed
/// has both.
pub(super) fn before_after(
    runs: &[FinishedRun],
    label: &str,
    epoch: usize,
    f: impl Fn(&EpochRecord) -> Option<f64> + Copy,
) -> Option<BeforeAfter> {
    let values = |e: usize| -> Option<Vec<f64>> {
        at_epoch(runs, label, e, f)
            .into_iter()
            .map(|x| x.1)
            .collect()
    };
    let (before, after) = (values(epoch - 1)?, values(epoch)?);
    let change: Vec<f64> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
    Some(BeforeAfter {
        change_mean: mean(&change),
        change_sem: sem(&change),
        t_test: paired_t_test(&after, &before),
        before,
        after,
    })
}

/// The validation error after an epoch (for [`before_after`]).
pub(super) fn validation_error(r: &EpochRecord) -> Option<f64> {
    Some(r.validation.error())
}

/// The lesions figure of `exp` into `job`; returns its lines for the terminal.
pub fn lesions(exp: &Experiment, runs: &[FinishedRun], job: &JobDir) -> Result<String> {
    let points = lesion_points(exp, runs);
    let groups: Vec<String> = in_order(points.iter().map(|p| p.group.as_str()))
        .into_iter()
        .map(String::from)
        .collect();
    let types = lesion_types(&points, &groups);
    #[derive(Serialize)]
    struct LesionFigure<'a> {
        lesions: &'a [LesionPoint],
        lesion_types: &'a [LesionTypes],
    }
    let figure = LesionFigure {
        lesions: &points,
        lesion_types: &types,
    };
    super::write_json(&job.report("figure.json"), &figure)?;
    plot::curves(
        &job.report("figure_lesion_effect"),
        &format!(
            "{}: after epoch E minus after E-1, {} seeds",
            exp.name,
            exp.seeds.len()
        ),
        "lesion epoch E",
        "change (positive: worse after the lesion)",
        &lesion_series(&points, &groups),
        false,
    )?;
    Ok(lesions_table(&points, &types))
}

/// Each variant with a lesion at an epoch E ≥ 2 and the change over it.
fn lesion_points(exp: &Experiment, runs: &[FinishedRun]) -> Vec<LesionPoint> {
    let dysmetria = |r: &EpochRecord| r.validation.dysmetria;
    let mut points = Vec::new();
    for v in &exp.variants {
        let Ok(c) = exp.run_config(v, exp.seeds[0]) else {
            continue;
        };
        // A lesion at epoch 1 has no epoch before it.
        let Some(epoch) = c
            .lesion
            .cerebellum_at
            .or(c.lesion.olive_at)
            .filter(|&e| e >= 2)
        else {
            continue;
        };
        let Some(error) = before_after(runs, &v.label, epoch, validation_error) else {
            continue;
        };
        let intact = exp.reference_of(v).and_then(|r| {
            before_after(runs, r, epoch, validation_error).map(|b| (r.to_string(), b))
        });
        points.push(LesionPoint {
            variant: v.label.clone(),
            group: v.group.clone().unwrap_or_else(|| v.label.clone()),
            epoch,
            seeds: at_epoch(runs, &v.label, epoch, validation_error)
                .iter()
                .map(|x| x.0)
                .collect(),
            validation_error: error,
            validation_dysmetria: before_after(runs, &v.label, epoch, dysmetria),
            intact,
        });
    }
    points
}

/// With exactly two lesion types, per epoch both have, their error changes compared.
fn lesion_types(points: &[LesionPoint], groups: &[String]) -> Vec<LesionTypes> {
    let [first, second] = groups else {
        return Vec::new();
    };
    points
        .iter()
        .filter(|p| &p.group == first)
        .filter_map(|p| {
            let q = points
                .iter()
                .find(|q| &q.group == second && q.epoch == p.epoch)?;
            Some(LesionTypes {
                epoch: p.epoch,
                first: first.clone(),
                second: second.clone(),
                t_test: paired_t_test(&p.validation_error.changes(), &q.validation_error.changes()),
            })
        })
        .collect()
}

/// Per lesion type its error and dysmetria changes against E, and the intact variant's.
fn lesion_series(points: &[LesionPoint], groups: &[String]) -> Vec<Series> {
    let series =
        |label: String, ps: &[&LesionPoint], pick: &dyn Fn(&LesionPoint) -> (f64, f64)| Series {
            mark: None,
            label,
            x: ps.iter().map(|p| p.epoch as f64).collect(),
            mean: ps.iter().map(|p| pick(p).0).collect(),
            sem: ps.iter().map(|p| pick(p).1).collect(),
        };
    let change = |b: &BeforeAfter| (b.change_mean, b.change_sem);
    let mut out = Vec::new();
    for g in groups {
        let ps: Vec<&LesionPoint> = points.iter().filter(|p| &p.group == g).collect();
        out.push(series(format!("{g}: validation error"), &ps, &|p| {
            change(&p.validation_error)
        }));
        out.push(series(format!("{g}: validation dysmetria"), &ps, &|p| {
            p.validation_dysmetria
                .as_ref()
                .map_or((f64::NAN, f64::NAN), change)
        }));
    }
    if let Some(first) = groups.first() {
        let ps: Vec<&LesionPoint> = points
            .iter()
            .filter(|p| &p.group == first && p.intact.is_some())
            .collect();
        out.push(series("intact: validation error".into(), &ps, &|p| {
            p.intact
                .as_ref()
                .map_or((f64::NAN, f64::NAN), |(_, b)| change(b))
        }));
    }
    out
}

fn lesions_table(points: &[LesionPoint], types: &[LesionTypes]) -> String {
    let mut text = format!(
        "{:<36} {:>5} {:>24} {:>24} {:>24}\n",
        "lesion", "E", "error before -> after", "change (p)", "intact change"
    );
    for p in points {
        let b = &p.validation_error;
        let _ = writeln!(
            text,
            "{:<36} {:>5} {:>24} {:>24} {:>24}",
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
        );
    }
    for t in types {
        let _ = writeln!(
            text,
            "E = {}: {} vs {} error change, paired t = {:.2}, p = {:.3}",
            t.epoch,
            t.first,
            t.second,
            t.t_test.map_or(f64::NAN, |t| t.t),
            t.t_test.map_or(f64::NAN, |t| t.p)
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::report::compare::tests::run;

    #[test]
    fn a_variant_is_compared_with_its_reference_and_its_second_one() {
        let text = r#"
name = "two-references"
seeds = [0, 1]
[settings]
task = "reach"
[[variants]]
label = "cRNN"
model = "crnn"
[[variants]]
label = "ccRNN"
model = "ccrnn"
group = "vs cRNN"
x = 1
[[variants]]
label = "constant"
model = "ccrnn"
also_compare_to = "ccRNN"
group = "vs cRNN"
x = 2
"#;
        let exp = crate::job::spec::file::parse(text, "two-references.toml")
            .unwrap()
            .experiment(Default::default(), |t| {
                crate::config::Overrides::default().resolve(crate::config::TaskKind::Reach, t)
            })
            .unwrap();
        // Validation errors per seed: cRNN 4 and 8, ccRNN 2 and 4, constant 3 and 6.
        let runs: Vec<FinishedRun> = [("cRNN", 4.0), ("ccRNN", 2.0), ("constant", 3.0)]
            .into_iter()
            .flat_map(|(l, e)| [run(l, 0, &[e], e, false), run(l, 1, &[2.0 * e], e, false)])
            .collect();
        let points = comparison_points(&exp, &runs);
        let got: Vec<(&str, &str, &str, f64, f64)> = points
            .iter()
            .map(|p| {
                let c = &p.comparison;
                let np = &c.normalised_performance_all_epochs;
                (
                    p.group.as_str(),
                    c.variant.as_str(),
                    c.reference.as_str(),
                    p.x,
                    np.mean,
                )
            })
            .collect();
        // (E_ref − E) / E_ref: ccRNN vs cRNN 1/2, constant vs cRNN 1/4, vs ccRNN −1/2.
        assert_eq!(
            got,
            [
                ("vs cRNN", "ccRNN", "cRNN", 1.0, 0.5),
                ("vs cRNN", "constant", "cRNN", 2.0, 0.25),
                ("vs ccRNN", "constant", "ccRNN", 2.0, -0.5),
            ]
        );
    }
}
