//! Experiments: several model variants (cRNN, ccRNN, full BPTT, ...) trained over several seeds
//! in parallel, written to a run folder: the resolved configuration, per-epoch metrics (CSV),
//! a JSON summary with mean ± SEM and paired comparisons, learning curves and drawings.

use crate::config::{Config, ModelKind};
use crate::experiment::{Aborted, EpochRecord, RunResult, default_threads, run_parallel, train};
use crate::loss::EvalMetrics;
use crate::plot::{self, Series, Trajectory, TrajectoryPanel};
use crate::stats::{PairedT, mean, paired_t_test, sem};
use crate::tasks::Task;
use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;

/// One model variant of an experiment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Variant {
    pub label: String,
    pub model: ModelKind,
    /// Feedback horizon of this variant (absent: the base configuration's).
    pub horizon: Option<usize>,
}

impl Variant {
    /// A variant at the base configuration's horizon.
    pub fn new(label: &str, model: ModelKind) -> Self {
        Variant {
            label: label.to_string(),
            model,
            horizon: None,
        }
    }

    /// The comparison every experiment makes: cRNN and ccRNN at the base horizon.
    pub fn crnn_and_ccrnn() -> Vec<Variant> {
        vec![
            Variant::new("cRNN", ModelKind::CRnn),
            Variant::new("ccRNN", ModelKind::CcRnn),
        ]
    }
}

/// Variants × seeds over a base configuration.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Experiment {
    pub name: String,
    pub seeds: Vec<u64>,
    pub variants: Vec<Variant>,
    pub base: Config,
}

impl Experiment {
    /// The configuration of one variant and seed.
    pub fn config(&self, v: &Variant, seed: u64) -> Config {
        let mut c = self.base.clone();
        c.model = v.model;
        c.seed = seed;
        if let Some(k) = v.horizon {
            c.train.horizon = k;
        }
        c
    }
}

/// The headline measure of a task's evaluation: test MSE for drawing, accuracy for classification.
pub fn headline(m: &EvalMetrics) -> (&'static str, f64) {
    match (m.mse, m.accuracy) {
        (Some(mse), _) => ("mse", mse),
        (None, Some(acc)) => ("accuracy", acc),
        _ => ("none", f64::NAN),
    }
}

/// An error to minimise: MSE for drawing, 1 - accuracy for classification.
pub fn error_of(m: &EvalMetrics) -> f64 {
    match (m.mse, m.accuracy) {
        (Some(mse), _) => mse,
        (None, Some(acc)) => 1.0 - acc,
        _ => f64::NAN,
    }
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

/// A paired comparison of two variants over the same seeds.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    pub a: String,
    pub b: String,
    /// Paired t-test of the final test measure (a - b).
    pub final_test: Option<PairedT>,
    /// Normalised performance (E_b - E_a) / E_b per seed, E the validation error averaged over
    /// the training epochs (SPEC section 4): mean, SEM, and the paired t-test of E_a vs E_b.
    pub normalised_performance_mean: f64,
    pub normalised_performance_sem: f64,
    pub mean_error_test: Option<PairedT>,
}

/// What an experiment writes to summary.json.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub experiment: String,
    pub epochs: usize,
    pub variants: Vec<VariantSummary>,
    pub comparisons: Vec<Comparison>,
}

/// A finished experiment: its summary and every run (models included).
pub struct Outcome {
    pub summary: Summary,
    pub runs: Vec<RunResult>,
}

/// Runs the experiment into `out` (created; it must not hold results already).
/// `make_task` builds the task of a configuration (its seed included).
pub fn run(
    exp: &Experiment,
    out: &Path,
    threads: usize,
    make_task: &(dyn Fn(&Config) -> Result<Box<dyn Task>> + Sync),
) -> Result<Outcome> {
    let jobs: Vec<(Variant, Config)> = exp
        .variants
        .iter()
        .flat_map(|v| {
            exp.seeds
                .iter()
                .map(move |&s| (v.clone(), exp.config(v, s)))
        })
        .collect();
    for (v, c) in &jobs {
        c.validate()
            .with_context(|| format!("variant {}", v.label))?;
    }
    let probe = make_task(&jobs[0].1)?;
    let per_run: u64 = (exp.base.epochs * probe.batches_per_epoch(exp.base.batch_size)) as u64;
    drop(probe);
    prepare_folder(out)?;
    write_config(exp, out)?;
    let csv = Mutex::new(CsvWriter::create(&out.join("metrics.csv"))?);

    let bar = progress_bar(per_run * jobs.len() as u64);
    let abort = AtomicBool::new(false);
    let threads = if threads == 0 {
        default_threads()
    } else {
        threads
    };
    let results = run_parallel(&jobs, threads, &abort, |(v, c)| {
        let task = make_task(c)?;
        let result = train(
            c,
            &v.label,
            task.as_ref(),
            &abort,
            &|| bar.inc(1),
            &mut |r| csv.lock().expect("csv lock").row(r),
        )?;
        let last = &result.records.last().expect("epochs >= 1").test;
        let line = format!(
            "  {} seed {} done: test {} {:.4}",
            v.label,
            c.seed,
            headline(last).0,
            headline(last).1
        );
        if bar.is_hidden() {
            eprintln!("{line}");
        } else {
            bar.println(line);
        }
        Ok(result)
    });
    bar.finish_and_clear();
    let (mut runs, mut errors) = (Vec::new(), Vec::new());
    for r in results {
        match r {
            Ok(run) => runs.push(run),
            Err(e) => errors.push(e),
        }
    }
    // Report the run that failed, not the ones it stopped.
    if let Some(first) = errors
        .iter()
        .find(|e| e.downcast_ref::<Aborted>().is_none())
        .or(errors.first())
    {
        let first = format!("{first:#}");
        bail!(
            "{first}\n(metrics of the epochs that finished are in {})",
            out.join("metrics.csv").display()
        );
    }
    csv.into_inner().expect("csv lock").finish(&runs)?;
    let summary = summarise(exp, &runs);
    let path = out.join("summary.json");
    std::fs::write(&path, serde_json::to_string_pretty(&summary)?)
        .with_context(|| format!("cannot write {}", path.display()))?;
    plot_curves(exp, &runs, out)?;
    // The drawings need the task once more (data sets are cached; tasks are not kept per run).
    let task = make_task(&exp.config(&exp.variants[0], exp.seeds[0]))?;
    plot_drawings(exp, &runs, task.as_ref(), out)?;
    Ok(Outcome { summary, runs })
}

/// Writes `config.toml` (the resolved base configuration: `ccdni train --config` repeats a run
/// from it) and `experiment.toml` (the variants and seeds laid over it).
fn write_config(exp: &Experiment, out: &Path) -> Result<()> {
    #[derive(Serialize)]
    struct Plan<'a> {
        name: &'a str,
        seeds: &'a [u64],
        variants: &'a [Variant],
    }
    let plan = Plan {
        name: &exp.name,
        seeds: &exp.seeds,
        variants: &exp.variants,
    };
    let files = [
        (
            "config.toml",
            format!(
                "# Resolved settings of {} (each variant and seed in experiment.toml).\n{}",
                exp.name,
                exp.base.to_toml()
            ),
        ),
        ("experiment.toml", toml::to_string_pretty(&plan)?),
    ];
    for (name, text) in files {
        let path = out.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// Creates the run folder, refusing one that already holds results.
fn prepare_folder(out: &Path) -> Result<()> {
    if out.join("metrics.csv").exists() {
        bail!(
            "output folder {} already holds results (metrics.csv); choose another with --out",
            out.display()
        );
    }
    std::fs::create_dir_all(out)
        .with_context(|| format!("cannot create output folder {}", out.display()))?;
    let probe = out.join(".write-test");
    std::fs::write(&probe, b"")
        .with_context(|| format!("output folder {} is not writable", out.display()))?;
    std::fs::remove_file(&probe).ok();
    Ok(())
}

fn progress_bar(total: u64) -> ProgressBar {
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {percent:>3}% eta {eta}",
        )
        .expect("valid template"),
    );
    bar
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

/// Paired comparison of variant `a` against the reference `b` over their common seeds.
pub fn compare(runs: &[RunResult], a: &str, b: &str) -> Comparison {
    let mut pairs = Vec::new();
    for ra in runs.iter().filter(|r| r.label == a) {
        if let Some(rb) = runs.iter().find(|r| r.label == b && r.seed == ra.seed) {
            pairs.push((ra, rb));
        }
    }
    let last = |r: &RunResult| headline(&r.records.last().expect("epochs >= 1").test).1;
    let mean_err = |r: &RunResult| {
        mean(
            &r.records
                .iter()
                .map(|e| error_of(&e.validation))
                .collect::<Vec<_>>(),
        )
    };
    let fa: Vec<f64> = pairs.iter().map(|p| last(p.0)).collect();
    let fb: Vec<f64> = pairs.iter().map(|p| last(p.1)).collect();
    let ea: Vec<f64> = pairs.iter().map(|p| mean_err(p.0)).collect();
    let eb: Vec<f64> = pairs.iter().map(|p| mean_err(p.1)).collect();
    let norm: Vec<f64> = ea.iter().zip(&eb).map(|(a, b)| (b - a) / b).collect();
    Comparison {
        a: a.to_string(),
        b: b.to_string(),
        final_test: paired_t_test(&fa, &fb),
        normalised_performance_mean: mean(&norm),
        normalised_performance_sem: sem(&norm),
        mean_error_test: paired_t_test(&ea, &eb),
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
