//! What an experiment writes once its runs are done: metrics.csv (also row by row while they
//! run), summary.json, the closing table, and the plots (learning curves, training loss,
//! cerebellar cosine, drawn trajectories).

use super::compare::{Comparison, compare, headline};
use super::run::{EpochRecord, RunResult};
use super::variants::Experiment;
use crate::config::ModelKind;
use crate::loss::EvalMetrics;
use crate::model::Model;
use crate::plot::{self, Series, Trajectory, TrajectoryPanel};
use crate::stats::{mean, sem};
use crate::tasks::Task;
use anyhow::{Context, Result};
use serde::Serialize;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes summary.json and the plots of a finished experiment; returns the summary.
pub fn write(exp: &Experiment, runs: &[RunResult], task: &dyn Task, out: &Path) -> Result<Summary> {
    let summary = summarise(exp, runs);
    let path = out.join("summary.json");
    crate::data::write_atomically(&path, serde_json::to_string_pretty(&summary)?.as_bytes())?;
    plot_curves(exp, runs, out)?;
    plot_drawings(exp, runs, task, out)?;
    Ok(summary)
}

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
}

/// What an experiment writes to summary.json.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub experiment: String,
    pub epochs: usize,
    pub variants: Vec<VariantSummary>,
    pub comparisons: Vec<Comparison>,
}

/// metrics.csv, written row by row as epochs finish (so a failed run keeps what it had), then
/// rewritten in (model, seed, epoch) order at the end. Each row goes to the file in one write
/// call, so a killed process leaves whole rows.
pub struct CsvWriter {
    path: PathBuf,
    out: File,
}

const CSV_HEADER: &str = "model,seed,epoch,train_loss,train_mse,cerebellum_loss,cosine,grad_norm,\
validation_mse,validation_accuracy,validation_nll,validation_certainty,validation_dysmetria,\
validation_bits_per_word,test_mse,test_accuracy,test_nll,test_certainty,test_dysmetria,\
test_bits_per_word,train_seconds";

impl CsvWriter {
    /// A new metrics.csv holding its header.
    pub fn create(path: &Path) -> Result<Self> {
        Self::rebuild(path, &[])
    }

    /// metrics.csv holding its header and `records` (a resumed experiment's finished epochs),
    /// replacing what the file held; rows follow as epochs finish.
    pub fn rebuild(path: &Path, records: &[EpochRecord]) -> Result<Self> {
        crate::data::write_atomically(path, csv_text(records.iter()).as_bytes())?;
        let out = std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(CsvWriter {
            path: path.to_path_buf(),
            out,
        })
    }

    /// Appends one epoch.
    pub fn row(&mut self, r: &EpochRecord) -> Result<()> {
        self.out
            .write_all(format!("{}\n", csv_line(r)).as_bytes())
            .with_context(|| format!("cannot write {}", self.path.display()))
    }

    /// Rewrites the file sorted by model, seed and epoch.
    pub fn finish(self, runs: &[RunResult]) -> Result<()> {
        drop(self.out);
        let text = csv_text(runs.iter().flat_map(|r| &r.records));
        crate::data::write_atomically(&self.path, text.as_bytes())
    }
}

fn csv_text<'a>(records: impl Iterator<Item = &'a EpochRecord>) -> String {
    let mut text = format!("{CSV_HEADER}\n");
    for r in records {
        text.push_str(&csv_line(r));
        text.push('\n');
    }
    text
}

fn csv_line(r: &EpochRecord) -> String {
    let o = |v: Option<f64>| v.map_or(String::new(), |x| format!("{x}"));
    let m = |e: &EvalMetrics| {
        format!(
            "{},{},{},{},{},{}",
            o(e.mse),
            o(e.accuracy),
            o(e.nll),
            o(e.certainty),
            o(e.dysmetria),
            o(e.bits_per_word)
        )
    };
    format!(
        "{},{},{},{},{},{},{},{},{},{},{}",
        r.model,
        r.seed,
        r.epoch,
        r.train_loss,
        o(r.train_mse),
        o(r.cerebellum_loss),
        o(r.cosine),
        r.grad_norm,
        m(&r.validation),
        m(&r.test),
        r.train_seconds
    )
}

/// Final test measure per variant and the paired comparisons (same seeds) of every variant with
/// the one it names in `compare_to`, and of every other ccRNN with the cRNN.
pub fn summarise(exp: &Experiment, runs: &[RunResult]) -> Summary {
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
                        headline(&last.test).1,
                        r.records.iter().map(|e| e.train_seconds).sum(),
                        last.test.dysmetria.unwrap_or(f64::NAN),
                    )
                })
                .collect();
            let dysmetria: Vec<f64> = finals.iter().map(|f| f.3).collect();
            let values: Vec<f64> = finals.iter().map(|f| f.1).collect();
            VariantSummary {
                label: v.label.clone(),
                measure: format!(
                    "test {}",
                    runs.first()
                        .map_or("", |r| headline(&r.records[r.records.len() - 1].test).0)
                ),
                mean: mean(&values),
                sem: sem(&values),
                seeds: finals.iter().map(|f| f.0).collect(),
                values,
                dysmetria_mean: mean(&dysmetria),
                dysmetria_sem: sem(&dysmetria),
                train_seconds: mean(&finals.iter().map(|f| f.2).collect::<Vec<_>>()),
            }
        })
        .collect();
    let crnn = exp.variants.iter().find(|v| v.label == "cRNN");
    let comparisons = exp
        .variants
        .iter()
        .filter_map(|v| {
            match (&v.compare_to, v.model, crnn) {
                (Some(r), _, _) => Some(r.as_str()),
                (None, ModelKind::CcRnn, Some(c)) => Some(c.label.as_str()),
                _ => None,
            }
            .map(|r| compare(runs, &v.label, r, exp.base.late_phase))
        })
        .collect();
    Summary {
        experiment: exp.name.clone(),
        epochs: exp.base.epochs,
        variants,
        comparisons,
    }
}

/// Mean ± SEM over seeds of one per-epoch figure, per variant.
fn series(
    exp: &Experiment,
    runs: &[RunResult],
    f: impl Fn(&EpochRecord) -> Option<f64>,
) -> Vec<Series> {
    exp.variants
        .iter()
        .map(|v| {
            let rs: Vec<&RunResult> = runs.iter().filter(|r| r.label == v.label).collect();
            let epochs = rs.iter().map(|r| r.records.len()).min().unwrap_or(0);
            let (mut x, mut m, mut s) = (Vec::new(), Vec::new(), Vec::new());
            for e in 0..epochs {
                let vals: Vec<f64> = rs.iter().filter_map(|r| f(&r.records[e])).collect();
                if !vals.is_empty() {
                    x.push((e + 1) as f64);
                    m.push(mean(&vals));
                    s.push(sem(&vals));
                }
            }
            // A lesion takes effect from its epoch on: marked between that epoch and the one before.
            let lesion = exp.config(v, exp.seeds[0]).lesion;
            let mark = lesion
                .cerebellum_at
                .or(lesion.olive_at)
                .map(|e| e as f64 - 0.5);
            Series {
                label: v.label.clone(),
                x,
                mean: m,
                sem: s,
                mark,
            }
        })
        .collect()
}

fn plot_curves(exp: &Experiment, runs: &[RunResult], out: &Path) -> Result<()> {
    let classification = runs
        .first()
        .is_some_and(|r| r.records[0].validation.accuracy.is_some());
    let title = format!("{}: mean ± SEM over {} seeds", exp.name, exp.seeds.len());
    let words = runs
        .first()
        .is_some_and(|r| r.records[0].validation.bits_per_word.is_some());
    type Measure = fn(&EpochRecord) -> Option<f64>;
    let (measure, log_y, y_label): (Measure, bool, &str) = if words {
        (
            |r| r.validation.bits_per_word,
            false,
            "validation bits per word",
        )
    } else if classification {
        (|r| r.validation.accuracy, false, "validation accuracy")
    } else {
        (|r| r.validation.mse, true, "validation MSE (all steps)")
    };
    let curves = series(exp, runs, measure);
    plot::curves(
        &out.join("learning_curves"),
        &title,
        "epoch",
        y_label,
        &curves,
        log_y,
    )?;
    let train = series(exp, runs, |r| Some(r.train_loss));
    plot::curves(
        &out.join("training_loss"),
        &title,
        "epoch",
        "training loss",
        &train,
        true,
    )?;
    let cos = series(exp, runs, |r| r.cosine);
    if cos.iter().any(|s| !s.x.is_empty()) {
        let cos: Vec<Series> = cos.into_iter().filter(|s| !s.x.is_empty()).collect();
        plot::curves(
            &out.join("cerebellar_cosine"),
            &format!("{title}: cos(C(s), teaching signal)"),
            "epoch",
            "cosine similarity",
            &cos,
            false,
        )?;
    }
    Ok(())
}

/// The drawing tasks' trajectories of each variant's first-seed model against the targets.
fn plot_drawings(exp: &Experiment, runs: &[RunResult], task: &dyn Task, out: &Path) -> Result<()> {
    let seed = exp.seeds[0];
    let models: Vec<(&str, &Model<f32>)> = exp
        .variants
        .iter()
        .filter_map(|v| runs.iter().find(|r| r.label == v.label && r.seed == seed))
        .map(|r| (r.label.as_str(), &r.model))
        .collect();
    draw_trajectories(
        &models,
        task,
        &format!("{}: drawn trajectories (seed {seed}) vs targets", exp.name),
        &out.join("trajectories"),
    )?;
    Ok(())
}

/// Draws what each (label, model) draws for the task's drawing examples, against the targets,
/// into `stem.png` and `stem.svg`. Returns false, drawing nothing, for a task without drawings
/// (classification).
pub fn draw_trajectories(
    models: &[(&str, &Model<f32>)],
    task: &dyn Task,
    title: &str,
    stem: &Path,
) -> Result<bool> {
    let examples = task.drawing_examples();
    if examples.is_empty() {
        return Ok(false);
    }
    let steps = task.steps();
    let panels: Vec<TrajectoryPanel> = examples
        .iter()
        .map(|ex| TrajectoryPanel {
            title: ex.title.clone(),
            targets: vec![ex.target.clone()],
            drawn: models
                .iter()
                .map(|(label, model)| Trajectory {
                    label: label.to_string(),
                    points: model
                        .predict(&ex.inputs, steps, 1)
                        .chunks_exact(2)
                        .map(|p| (p[0] as f64, p[1] as f64))
                        .collect(),
                })
                .collect(),
        })
        .collect();
    plot::trajectories(stem, title, &panels)?;
    Ok(true)
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
    for c in &summary.comparisons {
        s.push_str(&comparison_lines(c));
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
    use crate::experiments::compare::{FinalTest, NormalisedPerformance};
    use crate::stats::PairedT;

    #[test]
    fn learning_curves_mark_each_lesion_just_before_its_epoch() {
        use crate::config::{Config, TaskKind};
        use crate::experiments::variants::Variant;
        let mut olive = Variant::new("olive at 3", ModelKind::CcRnn);
        olive.settings = toml::toml! { lesion = { olive_at = 3 } };
        let exp = Experiment {
            name: "marks".into(),
            seeds: vec![0],
            variants: vec![Variant::new("ccRNN", ModelKind::CcRnn), olive],
            base: Config::defaults(TaskKind::Reach),
            figure: None,
        };
        let marks: Vec<Option<f64>> = series(&exp, &[], |r| Some(r.train_loss))
            .iter()
            .map(|s| s.mark)
            .collect();
        assert_eq!(marks, [None, Some(2.5)]);
    }

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
