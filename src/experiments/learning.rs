//! The measures over learning (docs/model.md §5): after every epoch of a run with
//! `record.probe = N` > 0, the current network is recorded on a fixed probe set, the first N
//! validation sequences, without changing its parameters, gradients or optimizer state
//! ([`Trainer::record_batch`]), and [`crate::analysis::learning`] turns the recording into
//! measures: the alignment of prediction, teaching signal and true feedback, the population
//! statistics of the cortex, each granule layer and the cerebellar output, and the cerebellar
//! weights. They go to `learning.csv` in the run folder, one row per run, epoch, population and
//! measure, and are plotted over epochs (mean ± SEM over seeds per variant) into `learning/`.

use super::variants::Experiment;
use crate::analysis::learning::{Measure, alignment, cerebellar_weights, populations};
use crate::loss::Target;
use crate::plot::{self, Series};
use crate::stats::{mean, sem};
use crate::tasks::Task;
use crate::trainer::{Batch, Trainer};
use anyhow::{Context, Result};
use std::path::Path;

/// The measures of one run after one epoch.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LearningRecord {
    pub model: String,
    pub seed: u64,
    /// 1-based: the measures are taken after this epoch's training.
    pub epoch: usize,
    pub measures: Vec<Measure>,
}

/// The probe set of a run: the first `n` validation sequences as one batch (all of them when
/// the set is smaller); `None` for `n` = 0.
pub fn probe(task: &dyn Task, n: usize) -> Option<Batch<f32>> {
    if n == 0 {
        return None;
    }
    let batches = task.validation();
    let (steps, first) = (batches.first()?.steps, batches.first()?);
    let width = |v: &[f32], b: &Batch<f32>| v.len() / (b.steps * b.batch).max(1);
    let (inputs_w, ctx_w) = (
        width(&first.inputs, first),
        first.context.as_ref().map_or(0, |c| c.len() / first.batch),
    );
    let mut taken: Vec<(&Batch<f32>, usize)> = Vec::new();
    let mut left = n;
    for b in batches {
        if left == 0 {
            break;
        }
        let k = left.min(b.batch);
        taken.push((b, k));
        left -= k;
    }
    let total = n - left;
    // Time-major rows `t * batch + b`: per step, the first k samples of each batch in turn.
    let rows = |v: &dyn Fn(&Batch<f32>) -> &[f32], w: usize| -> Vec<f32> {
        let mut out = Vec::with_capacity(steps * total * w);
        for t in 0..steps {
            for &(b, k) in &taken {
                out.extend_from_slice(&v(b)[t * b.batch * w..(t * b.batch + k) * w]);
            }
        }
        out
    };
    let target = match &first.target {
        Target::Trajectory { values, feedback } => Target::Trajectory {
            values: rows(
                &|b| match &b.target {
                    Target::Trajectory { values, .. } => values,
                    Target::Class { .. } | Target::Words { .. } => &[],
                },
                values.len() / (steps * first.batch),
            ),
            feedback: feedback.clone(),
        },
        // The caption task has no probe set (`record.probe` is refused for it).
        Target::Words { .. } => return None,
        Target::Class { .. } => Target::Class {
            labels: taken
                .iter()
                .flat_map(|&(b, k)| match &b.target {
                    Target::Class { labels } => labels[..k].to_vec(),
                    Target::Trajectory { .. } | Target::Words { .. } => Vec::new(),
                })
                .collect(),
        },
    };
    let context = first.context.as_ref().map(|_| {
        taken
            .iter()
            .flat_map(|&(b, k)| b.context.as_ref().map_or(&[][..], |c| &c[..k * ctx_w]))
            .copied()
            .collect()
    });
    Some(Batch {
        batch: total,
        steps,
        inputs: rows(&|b| &b.inputs, inputs_w),
        target,
        context,
        words: None,
    })
}

/// The measures of `trainer`'s current network on the probe set, after `epoch`.
pub fn measure(
    trainer: &mut Trainer<f32>,
    probe: &Batch<f32>,
    label: &str,
    seed: u64,
    epoch: usize,
) -> Result<LearningRecord> {
    let rec = trainer.record_batch(probe);
    let mut measures = alignment(&rec);
    measures.extend(
        populations(&rec, trainer.model.cortex.hidden())
            .with_context(|| format!("{label} seed {seed}: measures of epoch {epoch}"))?,
    );
    measures.extend(cerebellar_weights(&trainer.model));
    Ok(LearningRecord {
        model: label.to_string(),
        seed,
        epoch,
        measures,
    })
}

const HEADER: &str = "model,seed,epoch,population,measure,value";

/// Writes learning.csv: `records` sorted by model (in `order`), seed and epoch.
pub fn write_csv(path: &Path, records: &mut [LearningRecord], order: &[String]) -> Result<()> {
    let rank = |m: &str| order.iter().position(|o| o == m).unwrap_or(usize::MAX);
    records.sort_by_key(|r| (rank(&r.model), r.seed, r.epoch));
    let mut text = format!("{HEADER}\n");
    records.iter().for_each(|r| text.push_str(&lines(r)));
    crate::data::write_atomically(path, text.as_bytes())
}

fn lines(r: &LearningRecord) -> String {
    r.measures
        .iter()
        .map(|m| {
            format!(
                "{},{},{},{},{},{}\n",
                r.model, r.seed, r.epoch, m.population, m.measure, m.value
            )
        })
        .collect()
}

/// Mean ± SEM over seeds of one measure of one population of one variant, per epoch (epochs
/// where no seed has it are left out).
pub fn series(
    records: &[LearningRecord],
    variant: &str,
    population: &str,
    measure: &str,
) -> Series {
    let epochs = records
        .iter()
        .filter(|r| r.model == variant)
        .map(|r| r.epoch)
        .max()
        .unwrap_or(0);
    let (mut x, mut m, mut s) = (Vec::new(), Vec::new(), Vec::new());
    for e in 1..=epochs {
        let vals: Vec<f64> = records
            .iter()
            .filter(|r| r.model == variant && r.epoch == e)
            .flat_map(|r| &r.measures)
            .filter(|v| v.population == population && v.measure == measure)
            .map(|v| v.value)
            .collect();
        if !vals.is_empty() {
            x.push(e as f64);
            m.push(mean(&vals));
            s.push(sem(&vals));
        }
    }
    Series {
        mark: None,
        label: format!("{variant}: {population}"),
        x,
        mean: m,
        sem: s,
    }
}

/// Plots every measure over epochs into `learning/<measure>.{png,svg}` (weight statistics:
/// `learning/weights-<measure>`; alignment: `learning/alignment-<measure>`), one curve per
/// variant and population, mean ± SEM over seeds.
pub fn plot(exp: &Experiment, records: &[LearningRecord], out: &Path) -> Result<()> {
    if records.is_empty() {
        return Ok(());
    }
    let dir = out.join("learning");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut kinds: Vec<(&'static str, &str)> = Vec::new();
    let mut populations: Vec<&str> = Vec::new();
    for m in records.iter().flat_map(|r| &r.measures) {
        let group = if m.population.contains('/') {
            "alignment"
        } else if m.measure.starts_with("weight_") {
            "weights"
        } else {
            "population"
        };
        if !kinds.contains(&(m.measure, group)) {
            kinds.push((m.measure, group));
        }
        if !populations.contains(&m.population.as_str()) {
            populations.push(&m.population);
        }
    }
    for (measure, group) in kinds {
        let curves: Vec<Series> = exp
            .variants
            .iter()
            .flat_map(|v| populations.iter().map(move |p| (v, p)))
            .map(|(v, p)| series(records, &v.label, p, measure))
            .filter(|s| !s.x.is_empty())
            .collect();
        let stem = match group {
            "population" => measure.to_string(),
            g => format!("{g}-{measure}"),
        };
        plot::curves(
            &dir.join(stem),
            &format!(
                "{}: {}, {} seeds",
                exp.name,
                measure.replace('_', " "),
                exp.seeds.len()
            ),
            "epoch",
            &measure.replace('_', " "),
            &curves,
            false,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
