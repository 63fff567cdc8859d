//! What an experiment writes once its runs are done: metrics.csv (also row by row while they
//! run), summary.json, the closing table, and the plots (learning curves, training loss,
//! cerebellar cosine, drawn trajectories).

use super::compare::{Comparison, compare, headline};
use super::run::{EpochRecord, RunResult};
use super::variants::Experiment;
use crate::config::ModelKind;
use crate::loss::EvalMetrics;
use crate::plot::{self, Series, Trajectory, TrajectoryPanel};
use crate::stats::{mean, sem};
use crate::tasks::Task;
use anyhow::{Context, Result};
use serde::Serialize;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Writes summary.json and the plots of a finished experiment; returns the summary.
pub fn write(exp: &Experiment, runs: &[RunResult], task: &dyn Task, out: &Path) -> Result<Summary> {
    let summary = summarise(exp, runs);
    let path = out.join("summary.json");
    std::fs::write(&path, serde_json::to_string_pretty(&summary)?)
        .with_context(|| format!("cannot write {}", path.display()))?;
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
/// rewritten in (model, seed, epoch) order at the end.
pub struct CsvWriter {
    path: PathBuf,
    out: BufWriter<File>,
}

const CSV_HEADER: &str = "model,seed,epoch,train_loss,train_mse,cerebellum_loss,cosine,grad_norm,\
validation_mse,validation_accuracy,validation_nll,validation_certainty,validation_dysmetria,\
test_mse,test_accuracy,test_nll,test_certainty,test_dysmetria,train_seconds";

impl CsvWriter {
    pub fn create(path: &Path) -> Result<Self> {
        let f = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let mut out = BufWriter::new(f);
        writeln!(out, "{CSV_HEADER}")?;
        out.flush()?;
        Ok(CsvWriter {
            path: path.to_path_buf(),
            out,
        })
    }

    /// Appends one epoch and flushes it to disk.
    pub fn row(&mut self, r: &EpochRecord) -> Result<()> {
        writeln!(self.out, "{}", csv_line(r))?;
        self.out
            .flush()
            .with_context(|| format!("cannot write {}", self.path.display()))
    }

    /// Rewrites the file sorted by model, seed and epoch.
    pub fn finish(self, runs: &[RunResult]) -> Result<()> {
        drop(self.out);
        let tmp = self.path.with_extension("csv.tmp");
        let mut text = format!("{CSV_HEADER}\n");
        for r in runs.iter().flat_map(|r| &r.records) {
            text.push_str(&csv_line(r));
            text.push('\n');
        }
        std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, &self.path)
            .with_context(|| format!("cannot replace {}", self.path.display()))
    }
}

fn csv_line(r: &EpochRecord) -> String {
    let o = |v: Option<f64>| v.map_or(String::new(), |x| format!("{x}"));
    let m = |e: &EvalMetrics| {
        format!(
            "{},{},{},{},{}",
            o(e.mse),
            o(e.accuracy),
            o(e.nll),
            o(e.certainty),
            o(e.dysmetria)
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

/// Final test measure per variant and the paired comparisons of every ccRNN-like variant with
/// the cRNN (same seeds).
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
        .filter(|v| v.model == ModelKind::CcRnn)
        .filter_map(|v| crnn.map(|c| compare(runs, &v.label, &c.label)))
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
            Series {
                label: v.label.clone(),
                x,
                mean: m,
                sem: s,
            }
        })
        .collect()
}

fn plot_curves(exp: &Experiment, runs: &[RunResult], out: &Path) -> Result<()> {
    let classification = runs
        .first()
        .is_some_and(|r| r.records[0].validation.accuracy.is_some());
    let title = format!("{}: mean ± SEM over {} seeds", exp.name, exp.seeds.len());
    let (measure, log_y): (fn(&EpochRecord) -> Option<f64>, bool) = if classification {
        (|r| r.validation.accuracy, false)
    } else {
        (|r| r.validation.mse, true)
    };
    let y_label = if classification {
        "validation accuracy"
    } else {
        "validation MSE (all steps)"
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
    let examples = task.drawing_examples();
    if examples.is_empty() {
        return Ok(());
    }
    let seed = exp.seeds[0];
    let steps = task.steps();
    let drawn = |ex: &crate::tasks::DrawingExample| -> Vec<Trajectory> {
        exp.variants
            .iter()
            .filter_map(|v| runs.iter().find(|r| r.label == v.label && r.seed == seed))
            .map(|r| {
                let y = r.model.predict(&ex.inputs, steps, 1);
                Trajectory {
                    label: r.label.clone(),
                    points: y
                        .chunks_exact(2)
                        .map(|p| (p[0] as f64, p[1] as f64))
                        .collect(),
                }
            })
            .collect()
    };
    let panels: Vec<TrajectoryPanel> = examples
        .iter()
        .map(|ex| TrajectoryPanel {
            title: ex.title.clone(),
            targets: vec![ex.target.clone()],
            drawn: drawn(ex),
        })
        .collect();
    plot::trajectories(
        &out.join("trajectories"),
        &format!("{}: drawn trajectories (seed {seed}) vs targets", exp.name),
        &panels,
    )
}

/// The closing table: one line per variant.
pub fn table(summary: &Summary) -> String {
    let measure = summary.variants.first().map_or("", |v| v.measure.as_str());
    let mut s = format!(
        "{:<12} {:>24} {:>20} {:>10}\n",
        "model", measure, "test dysmetria", "train s"
    );
    for v in &summary.variants {
        s.push_str(&format!(
            "{:<12} {:>12.4} ± {:<9.4} {:>9.4} ± {:<8.4} {:>10.1}\n",
            v.label, v.mean, v.sem, v.dysmetria_mean, v.dysmetria_sem, v.train_seconds
        ));
    }
    for c in &summary.comparisons {
        if let Some(t) = &c.final_test {
            s.push_str(&format!(
                "{} vs {}: final test difference {:+.4} ± {:.4} (paired t = {:.2}, p = {:.3}); normalised performance {:+.3} ± {:.3}\n",
                c.a, c.b, t.mean_diff, t.sem_diff, t.t, t.p, c.normalised_performance_mean, c.normalised_performance_sem
            ));
        }
    }
    s
}
