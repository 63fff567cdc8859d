//! The measures figure ([`Figure::Measures`](crate::job::spec::Figure)): a task's own final test
//! measures (the copy task's `length`, the eyeblink task's `cr_rate`, ...) per variant, drawn per
//! `group` against the variant's `x` (the horizon K, the interstimulus interval, ...), mean ±
//! SEM over seeds; a group without `x` (full BPTT) is drawn as a level line across the others.
//! Each variant that names its reference (`compare_to`) is compared with it seed by seed, with
//! a paired t-test. Written: `figure.json` (every number; `figure_measures.json` when drawn
//! beside the two-area figure, [`super::areas`]), `figure_<measure>.{png,svg}`, and
//! `figure_table.md`, the groups as rows and the x as columns (as the synthetic-gradient
//! paper's tables are laid out).

use crate::job::layout::JobDir;
use crate::job::records::FinishedRun;
use crate::job::spec::{Experiment, Variant};
use crate::plot::{self, Series};
use crate::stats::{PairedT, mean, paired_t_test, sem};
use anyhow::Result;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;

/// One variant's final test measures over seeds.
#[derive(Clone, Debug, Serialize)]
pub struct MeasurePoint {
    pub variant: String,
    pub group: String,
    /// Absent for a reference level (a group without x).
    pub x: Option<f64>,
    pub seeds: Vec<u64>,
    pub measures: BTreeMap<String, Values>,
    /// Per measure, the paired comparison with the variant's `compare_to`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub compared: BTreeMap<String, Compared>,
}

/// A measure's value per seed (NaN where a run has none, e.g. no conditioned response to time),
/// and its mean and SEM over the seeds that have one.
#[derive(Clone, Debug, Serialize)]
pub struct Values {
    pub values: Vec<f64>,
    pub mean: f64,
    pub sem: f64,
    /// The seeds with a value.
    pub n: usize,
}

impl Values {
    fn of(values: Vec<f64>) -> Values {
        let present: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        Values {
            mean: mean(&present),
            sem: sem(&present),
            n: present.len(),
            values,
        }
    }
}

/// A variant against its reference on one measure: the reference's values (same seeds) and the
/// paired t-test of variant − reference, over the seeds where both have a value.
#[derive(Clone, Debug, Serialize)]
pub struct Compared {
    pub reference: String,
    pub reference_values: Vec<f64>,
    pub t_test: Option<PairedT>,
}

/// The final test value of `measure` for each seed of `label`, in seed order.
fn finals(runs: &[FinishedRun], label: &str, measure: &str) -> Vec<(u64, f64)> {
    let mut v: Vec<(u64, f64)> = runs
        .iter()
        .filter(|r| r.label == label)
        .map(|r| {
            let last = r
                .records
                .last()
                .and_then(|e| e.test.measures.get(measure).copied());
            (r.seed, last.unwrap_or(f64::NAN))
        })
        .collect();
    v.sort_by_key(|x| x.0);
    v
}

fn point(runs: &[FinishedRun], v: &Variant, measures: &[String]) -> MeasurePoint {
    let mut point = MeasurePoint {
        variant: v.label.clone(),
        group: v.group.clone().unwrap_or_else(|| v.label.clone()),
        x: v.x,
        seeds: finals(runs, &v.label, "").iter().map(|p| p.0).collect(),
        measures: BTreeMap::new(),
        compared: BTreeMap::new(),
    };
    for m in measures {
        let values: Vec<f64> = finals(runs, &v.label, m).iter().map(|p| p.1).collect();
        if let Some(r) = &v.compare_to {
            let reference: Vec<f64> = finals(runs, r, m).iter().map(|p| p.1).collect();
            let (a, b): (Vec<f64>, Vec<f64>) = values
                .iter()
                .zip(&reference)
                .filter(|(a, b)| a.is_finite() && b.is_finite())
                .unzip();
            let compared = Compared {
                reference: r.clone(),
                t_test: paired_t_test(&a, &b),
                reference_values: reference,
            };
            point.compared.insert(m.clone(), compared);
        }
        point.measures.insert(m.clone(), Values::of(values));
    }
    point
}

/// The measures figure of `exp` into `job`, its numbers in `json` (`figure.json` for this
/// figure, `figure_measures.json` beside the two-area figure's own); returns its lines for the
/// terminal.
pub fn draw(
    exp: &Experiment,
    runs: &[FinishedRun],
    (x_label, measures): (&str, &[String]),
    job: &JobDir,
    json: &str,
) -> Result<String> {
    let points: Vec<MeasurePoint> = exp
        .variants
        .iter()
        .map(|v| point(runs, v, measures))
        .collect();
    super::write_json(&job.report(json), &points)?;
    let groups = groups(&points);
    let xs: Vec<f64> = points.iter().filter_map(|p| p.x).collect();
    let (lo, hi) = xs
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    for m in measures {
        let series: Vec<Series> = groups
            .iter()
            .map(|g| {
                let mut ps: Vec<&MeasurePoint> = points.iter().filter(|p| &p.group == g).collect();
                ps.sort_by(|a, b| a.x.unwrap_or(0.0).total_cmp(&b.x.unwrap_or(0.0)));
                let level = ps.iter().all(|p| p.x.is_none()) && lo <= hi;
                let (x, stat): (Vec<f64>, Vec<&Values>) = if level {
                    (vec![lo, hi], vec![&ps[0].measures[m]; 2])
                } else {
                    ps.iter()
                        .filter_map(|p| Some((p.x?, &p.measures[m])))
                        .unzip()
                };
                Series {
                    mark: None,
                    label: g.clone(),
                    x,
                    mean: stat.iter().map(|s| s.mean).collect(),
                    sem: stat.iter().map(|s| s.sem).collect(),
                }
            })
            .collect();
        let title = format!("{}: final test {m}, {} seeds", exp.name, exp.seeds.len());
        plot::curves(
            &job.report(&format!("figure_{m}")),
            &title,
            x_label,
            m,
            &series,
            false,
        )?;
    }
    let table = markdown(&points, &groups, measures, x_label);
    crate::data::write_atomically(&job.report("figure_table.md"), table.as_bytes())?;
    Ok(lines(&points, measures))
}

/// The groups, in the order their first variant comes.
fn groups(points: &[MeasurePoint]) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for p in points {
        if !seen.contains(&p.group) {
            seen.push(p.group.clone());
        }
    }
    seen
}

/// Per measure, a table of groups (rows) by x (columns), mean ± SEM.
fn markdown(
    points: &[MeasurePoint],
    groups: &[String],
    measures: &[String],
    x_label: &str,
) -> String {
    let mut xs: Vec<f64> = points.iter().filter_map(|p| p.x).collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    let mut text = String::new();
    for m in measures {
        let _ = writeln!(
            text,
            "final test {m}, mean ± SEM over seeds; columns: {x_label}\n"
        );
        let head: Vec<String> = xs.iter().map(|x| format!("{x}")).collect();
        let _ = writeln!(
            text,
            "| | {} |",
            if xs.is_empty() {
                "all".to_string()
            } else {
                head.join(" | ")
            }
        );
        let _ = writeln!(text, "|---|{}", "---|".repeat(xs.len().max(1)));
        for g in groups {
            let cell = |p: Option<&MeasurePoint>| {
                p.map_or(String::new(), |p| match &p.measures[m] {
                    v if v.n == 0 => "no value".to_string(),
                    v => format!("{:.2} ± {:.2}", v.mean, v.sem),
                })
            };
            let ps: Vec<&MeasurePoint> = points.iter().filter(|p| &p.group == g).collect();
            let cells: Vec<String> = if ps.iter().all(|p| p.x.is_none()) {
                vec![cell(ps.first().copied()); xs.len().max(1)]
            } else {
                xs.iter()
                    .map(|&x| cell(ps.iter().copied().find(|p| p.x == Some(x))))
                    .collect()
            };
            let _ = writeln!(text, "| {g} | {} |", cells.join(" | "));
        }
        text.push('\n');
    }
    text
}

/// Each variant's measures, and each comparison with its paired t-test, for the terminal.
fn lines(points: &[MeasurePoint], measures: &[String]) -> String {
    let w = points
        .iter()
        .map(|p| p.variant.chars().count())
        .fold(8, usize::max);
    let mut text = String::new();
    for m in measures {
        let _ = writeln!(text, "final test {m}, mean ± SEM over seeds:");
        for p in points {
            let v = &p.measures[m];
            let mut line = if v.n == 0 {
                format!("  {:<w$} {:>19}", p.variant, "no value")
            } else {
                format!("  {:<w$} {:>9.3} ± {:<7.3}", p.variant, v.mean, v.sem)
            };
            if let Some(c) = p.compared.get(m) {
                let test = c.t_test.as_ref().map_or(
                    "no t-test (fewer than two seeds with both values)".to_string(),
                    |t| {
                        format!(
                            "{:+.3} ± {:.3}, paired t = {:.2}, p = {:.3}",
                            t.mean_diff, t.sem_diff, t.t, t.p
                        )
                    },
                );
                let _ = write!(line, "  vs {}: {test}", c.reference);
            }
            let _ = writeln!(text, "{line}");
        }
    }
    text
}
