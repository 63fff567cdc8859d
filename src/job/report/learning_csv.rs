//! The measures over learning of a finished job ([`crate::job::probe`] takes them after every
//! epoch of a run with `record.probe` > 0): `learning.csv`, one row per run, epoch, population
//! and measure, and the plots over epochs (mean ± SEM over seeds per variant) in `learning/`.

use crate::job::layout::JobDir;
use crate::job::records::LearningRecord;
use crate::job::spec::Experiment;
use crate::plot::{self, Series};
use crate::stats::{mean, sem};
use anyhow::Result;
use std::path::Path;

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
pub fn plot(exp: &Experiment, records: &[LearningRecord], job: &JobDir) -> Result<()> {
    if records.is_empty() {
        return Ok(());
    }
    let dir = job.report("learning");
    crate::job::layout::create_dir(&dir)?;
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
