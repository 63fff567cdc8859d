//! The ccRNN's gain over the cRNN split into what a constant cerebellum already gives and what
//! the cortical state adds (issue 18, docs/model.md §5), per task, and the figure that shows it
//! at a glance over several finished jobs ([`glance`], `ccdni report`).
//!
//! Per seed, E being a variant's validation error averaged over a range of epochs (as in the
//! normalised performance of [`super::compare`]), all three parts normalised by the cRNN's:
//!
//! - total = (E_cRNN − E_ccRNN) / E_cRNN, the ccRNN's normalised performance;
//! - constant = (E_cRNN − E_constant) / E_cRNN, what a constant cerebellum already gives;
//! - state = (E_constant − E_ccRNN) / E_cRNN, what the state adds;
//!
//! so total = constant + state for every seed. Positive means better (less error). Each part:
//! mean ± SEM over the seeds all three variants ran, and the paired t-test of the two errors it
//! subtracts (as the normalised performance's own test).

use super::write_json;
use crate::config::late_phase_epochs;
use crate::job::Job;
use crate::job::observe::Quiet;
use crate::job::records::FinishedRun;
use crate::plot::{self, Bar, BarGroup};
use crate::stats::{PairedT, mean, paired_t_test, sem};
use anyhow::{Context, Result, bail};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// The labels of the three variants a decomposition compares.
#[derive(Clone, Debug)]
pub struct Labels {
    /// The cRNN (the reference).
    pub reference: String,
    /// The constant cerebellum (`cerebellum.input = "none"`).
    pub constant: String,
    /// The ccRNN (the authors' cerebellum).
    pub full: String,
}

impl Default for Labels {
    /// The labels of the what-the-cerebellum-learns experiments.
    fn default() -> Self {
        Labels {
            reference: "cRNN".into(),
            constant: "constant".into(),
            full: "ccRNN".into(),
        }
    }
}

/// One part of the gain over seeds.
#[derive(Clone, Debug, Serialize)]
pub struct Part {
    /// Per seed, in the order of [`Decomposition::seeds`].
    pub values: Vec<f64>,
    pub mean: f64,
    pub sem: f64,
    /// Paired t-test of the two errors the part subtracts (absent with fewer than two seeds).
    pub t_test: Option<PairedT>,
}

/// The gain and its two parts over one range of epochs.
#[derive(Clone, Debug, Serialize)]
pub struct Split {
    /// The epochs averaged over (1-based, inclusive).
    pub first_epoch: usize,
    pub last_epoch: usize,
    /// ccRNN against cRNN.
    pub total: Part,
    /// Constant cerebellum against cRNN.
    pub constant: Part,
    /// ccRNN against constant cerebellum.
    pub state: Part,
}

/// One task's decomposition.
#[derive(Clone, Debug, Serialize)]
pub struct Decomposition {
    /// The task's name (`reach`, `mnist-class`, ...).
    pub task: String,
    pub reference: String,
    pub constant: String,
    pub full: String,
    /// The seeds all three variants ran, in increasing order.
    pub seeds: Vec<u64>,
    pub all_epochs: Split,
    pub late_phase: Split,
}

/// The decomposition of `task`'s finished `runs`, the late phase being the last `late_phase`
/// fraction of the epochs. Refuses a label without runs (naming the labels there are), no seed
/// common to the three, or runs of different lengths.
pub fn decompose(
    task: &str,
    runs: &[FinishedRun],
    labels: &Labels,
    late_phase: f64,
) -> Result<Decomposition> {
    let names = [&labels.reference, &labels.constant, &labels.full];
    let mut by_seed: Vec<BTreeMap<u64, &FinishedRun>> = Vec::new();
    for name in names {
        let m: BTreeMap<u64, &FinishedRun> = (runs.iter().filter(|r| &r.label == name))
            .map(|r| (r.seed, r))
            .collect();
        if m.is_empty() {
            let there = super::figures::in_order(runs.iter().map(|r| r.label.as_str()));
            bail!(
                "{task}: no runs of the variant `{name}` (there are: {}); name the cRNN, the constant cerebellum and the ccRNN with --reference, --constant and --ccrnn",
                there.join(", ")
            );
        }
        by_seed.push(m);
    }
    let seeds: Vec<u64> = (by_seed[0].keys())
        .filter(|s| by_seed[1].contains_key(s) && by_seed[2].contains_key(s))
        .copied()
        .collect();
    let triples: Vec<[&FinishedRun; 3]> = (seeds.iter())
        .map(|s| [by_seed[0][s], by_seed[1][s], by_seed[2][s]])
        .collect();
    let Some(epochs) = triples.first().map(|t| t[0].records.len()) else {
        bail!(
            "{task}: no seed that `{}`, `{}` and `{}` all ran",
            names[0],
            names[1],
            names[2]
        );
    };
    if let Some(r) = triples.iter().flatten().find(|r| r.records.len() != epochs) {
        bail!(
            "{task}: `{}` seed {} ran {} epochs, the others {epochs}",
            r.label,
            r.seed,
            r.records.len()
        );
    }
    Ok(Decomposition {
        task: task.to_string(),
        reference: labels.reference.clone(),
        constant: labels.constant.clone(),
        full: labels.full.clone(),
        seeds,
        all_epochs: split(&triples, 1..=epochs),
        late_phase: split(&triples, late_phase_epochs(epochs, late_phase)),
    })
}

/// The split over the epochs `range` (1-based, inclusive) of (cRNN, constant, ccRNN) triples.
fn split(triples: &[[&FinishedRun; 3]], range: std::ops::RangeInclusive<usize>) -> Split {
    let error = |r: &FinishedRun| -> f64 {
        let errors: Vec<f64> = (r.records[range.start() - 1..*range.end()].iter())
            .map(|e| e.validation.error())
            .collect();
        mean(&errors)
    };
    let [e_ref, e_const, e_full]: [Vec<f64>; 3] =
        std::array::from_fn(|i| triples.iter().map(|t| error(t[i])).collect());
    let part = |a: &[f64], b: &[f64]| {
        let values: Vec<f64> = (0..a.len()).map(|i| (a[i] - b[i]) / e_ref[i]).collect();
        Part {
            mean: mean(&values),
            sem: sem(&values),
            t_test: paired_t_test(a, b),
            values,
        }
    };
    Split {
        first_epoch: *range.start(),
        last_epoch: *range.end(),
        total: part(&e_ref, &e_full),
        constant: part(&e_ref, &e_const),
        state: part(&e_const, &e_full),
    }
}

/// The at-a-glance report over jobs: each job's decomposition (its task named by its base
/// configuration; only the runs of the three variants need to have finished), written to `out` as `glance.json` and drawn as `glance.png` (all
/// epochs) and `glance_late.png` (the late phase), with a table of the numbers returned.
pub fn glance(jobs: &[PathBuf], labels: &Labels, out: &Path) -> Result<String> {
    let (r, c, f) = (&labels.reference, &labels.constant, &labels.full);
    if r == c || r == f || c == f {
        bail!(
            "the cRNN, the constant cerebellum and the ccRNN must be three variants, not `{r}`, `{c}` and `{f}` (--reference, --constant, --ccrnn)"
        );
    }
    for (i, dir) in jobs.iter().enumerate() {
        let same = |d: &PathBuf| d.canonicalize().ok() == dir.canonicalize().ok();
        if dir.exists() && jobs[..i].iter().any(same) {
            bail!(
                "the job in {} is given twice; give each job once",
                dir.display()
            );
        }
    }
    let mut tasks = Vec::new();
    for dir in jobs {
        let split = || -> Result<Decomposition> {
            let mut job = Job::open(dir, &Quiet)?;
            let variants: Vec<&str> = (job.spec().variants.iter())
                .map(|v| v.label.as_str())
                .collect();
            for name in [&labels.reference, &labels.constant, &labels.full] {
                if !variants.contains(&name.as_str()) {
                    bail!(
                        "the job has no variant `{name}` (its variants: {}); name the cRNN, the constant cerebellum and the ccRNN with --reference, --constant and --ccrnn",
                        variants.join(", ")
                    );
                }
            }
            let runs =
                job.finished_runs(Some(&[&labels.reference, &labels.constant, &labels.full]))?;
            let base = &job.spec().base;
            decompose(&base.task_name(), &runs, labels, base.late_phase)
        };
        tasks.push(split().with_context(|| format!("the job in {}", dir.display()))?);
    }
    crate::job::layout::create_dir(out)?;
    write_json(&out.join("glance.json"), &tasks)?;
    let series = [
        format!("{} vs {} (total)", labels.full, labels.reference),
        format!("{} vs {} (constant)", labels.constant, labels.reference),
        format!("{} vs {} (state)", labels.full, labels.constant),
    ];
    type Pick = fn(&Decomposition) -> &Split;
    let phases: [(&str, &str, Pick); 2] = [
        ("glance", "all epochs", |d| &d.all_epochs),
        ("glance_late", "late phase", |d| &d.late_phase),
    ];
    for (stem, phase, pick) in phases {
        let groups: Vec<BarGroup> = (tasks.iter())
            .map(|d| BarGroup {
                label: format!("{} ({} seeds)", d.task, d.seeds.len()),
                bars: parts(pick(d)).iter().map(|p| bar(p)).collect(),
            })
            .collect();
        plot::bars(
            &out.join(stem),
            &format!("The ccRNN's gain, split: constant cerebellum and state ({phase})"),
            "normalised by the cRNN's error (positive: better)",
            &series,
            &groups,
        )?;
    }
    Ok(table(&tasks))
}

fn parts(s: &Split) -> [&Part; 3] {
    [&s.total, &s.constant, &s.state]
}

/// A part as a bar, its note the paired test's p-value.
fn bar(p: &Part) -> Bar {
    Bar {
        mean: p.mean,
        sem: p.sem,
        note: p
            .t_test
            .map_or(String::new(), |t| format!("p={}", p_value(t.p))),
    }
}

/// A p-value with three decimals, or two significant digits below 0.001.
fn p_value(p: f64) -> String {
    if p < 0.001 {
        format!("{p:.1e}")
    } else {
        format!("{p:.3}")
    }
}

/// The numbers as a Markdown table: per task and phase, mean ± SEM (p) of each part.
fn table(tasks: &[Decomposition]) -> String {
    let cell = |p: &Part| match p.t_test {
        Some(t) => format!("{:+.3} ± {:.3} (p = {})", p.mean, p.sem, p_value(t.p)),
        None => format!("{:+.3}", p.mean),
    };
    let mut s = String::from(
        "| task | seeds | epochs | total (ccRNN vs cRNN) | constant (constant vs cRNN) | state (ccRNN vs constant) |\n|---|---|---|---|---|---|\n",
    );
    for d in tasks {
        for sp in [&d.all_epochs, &d.late_phase] {
            let [t, c, st] = parts(sp);
            let _ = writeln!(
                s,
                "| {} | {} | {}-{} | {} | {} | {} |",
                d.task,
                d.seeds.len(),
                sp.first_epoch,
                sp.last_epoch,
                cell(t),
                cell(c),
                cell(st)
            );
        }
    }
    s
}

#[cfg(test)]
mod tests;
