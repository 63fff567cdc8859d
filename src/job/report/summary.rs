//! The summary of a finished job: each variant's final test measure over seeds, and the paired
//! comparisons of each variant with the one it is compared with (summary.json), and the closing
//! table printed at the end of a job.

use super::compare::{Comparison, compare};
use crate::config::ModelKind;
use crate::job::records::FinishedRun;
use crate::job::spec::Experiment;
use crate::stats::{mean, sem};
use serde::Serialize;
use std::collections::BTreeMap;

/// Mean ± SEM of a variant's final test measure over seeds.
#[derive(Clone, Debug, Serialize)]
pub struct VariantSummary {
    pub label: String,
    pub measure: String,
    pub mean: f64,
    pub sem: f64,
    pub seeds: Vec<u64>,
    pub values: Vec<f64>,
    /// Final test dysmetria, mean ± SEM over seeds.
    pub dysmetria_mean: f64,
    pub dysmetria_sem: f64,
    pub train_seconds: f64,
    /// The task's own final test measures (the copy task's length, the eyeblink task's CR
    /// rate, ...), each mean ± SEM over seeds; absent for a task without any.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub measures: BTreeMap<String, MeasureSummary>,
}

/// Mean ± SEM of one final test measure over the seeds that have it, and its value per seed (in
/// the order of the variant's `seeds`; NaN, written null, where a run has none).
#[derive(Clone, Debug, Serialize)]
pub struct MeasureSummary {
    pub mean: f64,
    pub sem: f64,
    pub values: Vec<f64>,
}

/// Each task measure of the runs' final test measures, over the runs.
fn final_measures(runs: &[&FinishedRun]) -> BTreeMap<String, MeasureSummary> {
    let last = |r: &FinishedRun| {
        r.records
            .last()
            .map(|e| e.test.measures.clone())
            .unwrap_or_default()
    };
    let names: std::collections::BTreeSet<String> =
        runs.iter().flat_map(|r| last(r).into_keys()).collect();
    names
        .into_iter()
        .map(|name| {
            let values: Vec<f64> = runs
                .iter()
                .map(|r| last(r).get(&name).copied().unwrap_or(f64::NAN))
                .collect();
            // Over the seeds that have the measure (a run without a conditioned response has
            // no response timing).
            let present: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
            let summary = MeasureSummary {
                mean: mean(&present),
                sem: sem(&present),
                values,
            };
            (name, summary)
        })
        .collect()
}

/// What an experiment writes to summary.json.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub experiment: String,
    pub epochs: usize,
    pub variants: Vec<VariantSummary>,
    pub comparisons: Vec<Comparison>,
}

/// Final test measure per variant and the paired comparisons (same seeds) of every variant with
/// the one it names in `compare_to`, and of every other ccRNN with the cRNN.
pub fn summarise(exp: &Experiment, runs: &[FinishedRun]) -> Summary {
    let variants: Vec<VariantSummary> = exp
        .variants
        .iter()
        .map(|v| {
            let finals: Vec<(u64, f64, f64, f64)> = runs
                .iter()
                .filter(|r| r.label == v.label)
                .map(|r| {
                    let last = r.records.last().expect("epochs >= 1");
                    (
                        r.seed,
                        last.test.headline().1,
                        r.records.iter().map(|e| e.train_seconds).sum(),
                        last.test.dysmetria.unwrap_or(f64::NAN),
                    )
                })
                .collect();
            let own: Vec<&FinishedRun> = runs.iter().filter(|r| r.label == v.label).collect();
            let dysmetria: Vec<f64> = finals.iter().map(|f| f.3).collect();
            let values: Vec<f64> = finals.iter().map(|f| f.1).collect();
            VariantSummary {
                label: v.label.clone(),
                measure: format!(
                    "test {}",
                    runs.first()
                        .map_or("", |r| r.records[r.records.len() - 1].test.headline().0)
                ),
                mean: mean(&values),
                sem: sem(&values),
                seeds: finals.iter().map(|f| f.0).collect(),
                values,
                dysmetria_mean: mean(&dysmetria),
                dysmetria_sem: sem(&dysmetria),
                train_seconds: mean(&finals.iter().map(|f| f.2).collect::<Vec<_>>()),
                measures: final_measures(&own),
            }
        })
        .collect();
    // Every variant that names its reference, and every ccRNN, against the cRNN by default.
    let comparisons = exp
        .variants
        .iter()
        .filter(|v| v.compare_to.is_some() || v.model == ModelKind::CcRnn)
        .filter_map(|v| {
            let r = exp.reference_of(v)?;
            Some(compare(runs, &v.label, r, exp.base.late_phase))
        })
        .collect();
    Summary {
        experiment: exp.name.clone(),
        epochs: exp.base.epochs,
        variants,
        comparisons,
    }
}

/// The closing table: one line per variant, then each comparison with the cRNN
/// ([`comparison_lines`]).
pub fn table(summary: &Summary) -> String {
    let measure = summary.variants.first().map_or("", |v| v.measure.as_str());
    let w = summary
        .variants
        .iter()
        .map(|v| v.label.chars().count())
        .fold(12, usize::max);
    // The caption task has no dysmetria.
    let dysmetria = summary.variants.iter().any(|v| !v.dysmetria_mean.is_nan());
    let mut s = format!(
        "{:<w$} {:>24} {:>20} {:>10}\n",
        "model",
        measure,
        if dysmetria { "test dysmetria" } else { "" },
        "train s"
    );
    for v in &summary.variants {
        let d = if dysmetria {
            format!("{:>9.4} ± {:<8.4}", v.dysmetria_mean, v.dysmetria_sem)
        } else {
            format!("{:20}", "")
        };
        s.push_str(&format!(
            "{:<w$} {:>12.4} ± {:<9.4} {d} {:>10.1}\n",
            v.label, v.mean, v.sem, v.train_seconds
        ));
    }
    s.push_str(&measure_lines(summary, w));
    for c in &summary.comparisons {
        s.push_str(&comparison_lines(c));
    }
    s
}

/// The task's own final test measures, a line per variant (nothing for a task without any).
fn measure_lines(summary: &Summary, w: usize) -> String {
    let names: std::collections::BTreeSet<&String> = summary
        .variants
        .iter()
        .flat_map(|v| v.measures.keys())
        .collect();
    if names.is_empty() {
        return String::new();
    }
    let mut s = format!("{:<w$}", "model");
    for n in &names {
        s.push_str(&format!(" {:>24}", format!("test {n}")));
    }
    s.push('\n');
    for v in &summary.variants {
        s.push_str(&format!("{:<w$}", v.label));
        for n in &names {
            let cell = v
                .measures
                .get(*n)
                .map_or(String::new(), |m| format!("{:.4} ± {:.4}", m.mean, m.sem));
            s.push_str(&format!(" {cell:>24}"));
        }
        s.push('\n');
    }
    s
}

/// The lines of a comparison in the closing table: the final test improvement and the two
/// normalised performances, each mean ± SEM over the paired seeds with its own paired t-test,
/// all signed so that positive means the variant (ccRNN) is better.
pub fn comparison_lines(c: &Comparison) -> String {
    let test = |t: &Option<crate::stats::PairedT>| match t {
        Some(t) => format!("paired t = {:.2}, p = {:.3}", t.t, t.p),
        None => "no t-test with one seed".to_string(),
    };
    let f = &c.final_test;
    let (all, late) = (
        &c.normalised_performance_all_epochs,
        &c.normalised_performance_late_phase,
    );
    let rows = [
        (
            format!("final {} improvement ({})", f.measure, f.improvement),
            format!(
                "{:+.4} ± {:.4}",
                f.t_test.map_or(mean(&f.values), |t| t.mean_diff),
                f.t_test.map_or(0.0, |t| t.sem_diff)
            ),
            test(&f.t_test),
        ),
        (
            format!(
                "normalised performance, all epochs {}-{} (papers' measure)",
                all.first_epoch, all.last_epoch
            ),
            format!("{:+.3} ± {:.3}", all.mean, all.sem),
            test(&all.t_test),
        ),
        (
            format!(
                "normalised performance, late phase epochs {}-{}",
                late.first_epoch, late.last_epoch
            ),
            format!("{:+.3} ± {:.3}", late.mean, late.sem),
            test(&late.t_test),
        ),
    ];
    let width = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
    let n = c.seeds.len();
    let mut s = format!(
        "{} vs {}, mean ± SEM over {n} paired seed{}, positive = {} better:\n",
        c.variant,
        c.reference,
        if n == 1 { "" } else { "s" },
        c.variant
    );
    for (label, value, t) in rows {
        let pad = " ".repeat(width - label.chars().count());
        s.push_str(&format!("  {label}:{pad} {value:<16} ({t})\n"));
    }
    s.push_str(&format!(
        "  (normalised performance: (E_{b} - E_{a}) / E_{b}, E = validation error averaged over \
         those epochs; t-test of E_{b} vs E_{a})\n",
        a = c.variant,
        b = c.reference
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::report::compare::{FinalTest, NormalisedPerformance};
    use crate::stats::PairedT;

    fn t_test(t: f64, p: f64, mean_diff: f64, sem_diff: f64) -> Option<PairedT> {
        Some(PairedT {
            t,
            df: 3.0,
            p,
            mean_diff,
            sem_diff,
            n: 4,
        })
    }

    fn np(first_epoch: usize, mean: f64, t: Option<PairedT>) -> NormalisedPerformance {
        NormalisedPerformance {
            first_epoch,
            last_epoch: 100,
            mean,
            sem: 0.05,
            values: vec![mean; 4],
            t_test: t,
        }
    }

    #[test]
    fn each_comparison_figure_is_printed_with_its_own_test() {
        let c = Comparison {
            variant: "ccRNN".into(),
            reference: "cRNN".into(),
            convention: "positive = ccRNN better than cRNN".into(),
            seeds: vec![0, 1, 2, 3],
            final_test: FinalTest {
                measure: "test mse".into(),
                improvement: "cRNN - ccRNN".into(),
                values: vec![4.0; 4],
                t_test: t_test(3.0, 0.058, 4.0057, 1.3365),
            },
            normalised_performance_all_epochs: np(1, -0.013, t_test(-0.12, 0.912, -0.01, 0.08)),
            normalised_performance_late_phase: np(51, 0.2, t_test(4.0, 0.028, 0.5, 0.125)),
        };
        let text = comparison_lines(&c);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        assert_eq!(
            lines[0],
            "ccRNN vs cRNN, mean ± SEM over 4 paired seeds, positive = ccRNN better:"
        );
        assert!(
            lines[1].starts_with("  final test mse improvement (cRNN - ccRNN):")
                && lines[1].ends_with("+4.0057 ± 1.3365 (paired t = 3.00, p = 0.058)"),
            "{}",
            lines[1]
        );
        assert!(
            lines[2].starts_with("  normalised performance, all epochs 1-100 (papers' measure):")
                && lines[2].ends_with("-0.013 ± 0.050   (paired t = -0.12, p = 0.912)"),
            "{}",
            lines[2]
        );
        assert!(
            lines[3].starts_with("  normalised performance, late phase epochs 51-100:")
                && lines[3].ends_with("+0.200 ± 0.050   (paired t = 4.00, p = 0.028)"),
            "{}",
            lines[3]
        );
        // The figures line up.
        assert_eq!(lines[1].find("+4.0057"), lines[2].find("-0.013"));
        assert_eq!(lines[1].find("+4.0057"), lines[3].find("+0.200"));
        assert!(lines[4].contains("(E_cRNN - E_ccRNN) / E_cRNN"));
    }
}
