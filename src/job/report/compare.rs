//! Paired comparisons of a variant with a reference over their common seeds (docs/model.md §5):
//! the final test measure, and the normalised performance `(E_ref − E_var) / E_ref` over all
//! epochs (the papers' figure) and over a late phase of training.
//!
//! One sign convention throughout: **positive = the variant (the ccRNN) does better than the
//! reference (the cRNN)**. Each figure comes with its own paired t-test, whose differences carry
//! the same sign.

use crate::config::late_phase_epochs;
use crate::job::records::FinishedRun;
use crate::measures::normalised_performance;
use crate::stats::{PairedT, mean, paired_t_test, sem};
use serde::Serialize;
use std::collections::BTreeMap;

/// Whether a larger value of the headline measure `name` is better (accuracy) or worse (MSE).
fn higher_is_better(name: &str) -> bool {
    name == "accuracy"
}

/// The final test measure compared over seeds: the per-seed improvement of the variant over the
/// reference (`reference − variant` for an error such as the MSE, `variant − reference` for
/// accuracy), so that positive means the variant is better.
#[derive(Clone, Debug, Serialize)]
pub struct FinalTest {
    /// The measure: `test mse` or `test accuracy`.
    pub measure: String,
    /// How the improvement is formed, e.g. `cRNN - ccRNN` (MSE) or `ccRNN - cRNN` (accuracy).
    pub improvement: String,
    /// Per-seed improvements, in the order of [`Comparison::seeds`].
    pub values: Vec<f64>,
    /// Paired t-test of the improvements: `mean_diff` ± `sem_diff` is the mean improvement.
    /// Absent with fewer than two paired seeds.
    pub t_test: Option<PairedT>,
}

/// The normalised performance `(E_ref − E_var) / E_ref` over a range of epochs, E a model's
/// validation error (MSE, or 1 − accuracy) averaged over those epochs: mean ± SEM over seeds.
#[derive(Clone, Debug, Serialize)]
pub struct NormalisedPerformance {
    /// The epochs averaged over (1-based, inclusive).
    pub first_epoch: usize,
    pub last_epoch: usize,
    pub mean: f64,
    pub sem: f64,
    /// Per-seed values, in the order of [`Comparison::seeds`].
    pub values: Vec<f64>,
    /// Its own paired t-test: per-seed `E_ref` against `E_var` (differences `E_ref − E_var`,
    /// positive when the variant errs less). Absent with fewer than two paired seeds.
    pub t_test: Option<PairedT>,
}

/// A paired comparison of a variant with a reference over their common seeds. Every figure is
/// signed so that positive means the variant does better.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    /// The variant compared (e.g. `ccRNN`).
    pub variant: String,
    /// The reference (e.g. `cRNN`).
    pub reference: String,
    /// The sign convention, spelled out for readers of summary.json.
    pub convention: String,
    /// The seeds run by both, in increasing order: the pairs of every test below.
    pub seeds: Vec<u64>,
    pub final_test: FinalTest,
    /// Over all training epochs: the papers' figure.
    pub normalised_performance_all_epochs: NormalisedPerformance,
    /// Over the late phase of training (the `late_phase` setting): ccdni's addition.
    pub normalised_performance_late_phase: NormalisedPerformance,
}

/// One seed's runs of the variant and the reference.
type Pair<'a> = (u64, &'a FinishedRun, &'a FinishedRun);

/// Paired comparison of `variant` with `reference` over the seeds both were run with (a seed run
/// by only one of them is left out), the late phase being the last `late_phase` fraction of the
/// epochs.
///
/// # Panics
/// If a label holds two runs of the same seed (an experiment refuses duplicate labels and seeds),
/// or if paired runs have different numbers of epochs.
pub fn compare(
    runs: &[FinishedRun],
    variant: &str,
    reference: &str,
    late_phase: f64,
) -> Comparison {
    let pairs = pairs(runs, variant, reference);
    let epochs = pairs.first().map_or(0, |p| p.1.records.len());
    Comparison {
        variant: variant.to_string(),
        reference: reference.to_string(),
        convention: format!("positive = {variant} better than {reference}"),
        seeds: pairs.iter().map(|p| p.0).collect(),
        final_test: final_test(&pairs, variant, reference),
        normalised_performance_all_epochs: normalised(&pairs, 1..=epochs),
        normalised_performance_late_phase: normalised(
            &pairs,
            late_phase_epochs(epochs, late_phase),
        ),
    }
}

/// The runs of `variant` and `reference` paired by seed, in seed order, checked to have run as
/// many epochs.
fn pairs<'a>(runs: &'a [FinishedRun], variant: &str, reference: &str) -> Vec<Pair<'a>> {
    let by_seed = |label: &str| {
        let mut m: BTreeMap<u64, &FinishedRun> = BTreeMap::new();
        for r in runs.iter().filter(|r| r.label == label) {
            let earlier = m.insert(r.seed, r);
            assert!(
                earlier.is_none(),
                "two runs of `{label}` with seed {}: a comparison pairs one run per seed",
                r.seed
            );
        }
        m
    };
    let refs = by_seed(reference);
    let pairs: Vec<Pair> = by_seed(variant)
        .into_iter()
        .filter_map(|(seed, v)| refs.get(&seed).map(|&r| (seed, v, r)))
        .collect();
    let epochs = pairs.first().map_or(0, |p| p.1.records.len());
    for (seed, v, r) in &pairs {
        assert!(
            v.records.len() == epochs && r.records.len() == epochs,
            "seed {seed}: {variant} and {reference} ran {} and {} epochs, not {epochs}",
            v.records.len(),
            r.records.len()
        );
    }
    pairs
}

/// The final test measure's improvement per seed, signed positive when the variant is better.
fn final_test(pairs: &[Pair], variant: &str, reference: &str) -> FinalTest {
    let last = |r: &FinishedRun| r.records.last().expect("epochs >= 1").test.headline();
    let measure = pairs.first().map_or("none", |p| last(p.1).0);
    let (fv, fr): (Vec<f64>, Vec<f64>) = pairs.iter().map(|p| (last(p.1).1, last(p.2).1)).unzip();
    if higher_is_better(measure) {
        FinalTest {
            measure: format!("test {measure}"),
            improvement: format!("{variant} - {reference}"),
            values: fv.iter().zip(&fr).map(|(v, r)| v - r).collect(),
            t_test: paired_t_test(&fv, &fr),
        }
    } else {
        FinalTest {
            measure: format!("test {measure}"),
            improvement: format!("{reference} - {variant}"),
            values: fr.iter().zip(&fv).map(|(r, v)| r - v).collect(),
            t_test: paired_t_test(&fr, &fv),
        }
    }
}

/// The normalised performance over the epochs `range` (1-based, inclusive).
fn normalised(pairs: &[Pair], range: std::ops::RangeInclusive<usize>) -> NormalisedPerformance {
    let errors = |r: &FinishedRun| -> Vec<f64> {
        r.records[range.start() - 1..*range.end()]
            .iter()
            .map(|e| e.validation.error())
            .collect()
    };
    let (mut values, mut er, mut ev) = (Vec::new(), Vec::new(), Vec::new());
    for (_, v, r) in pairs {
        let (r_err, v_err) = (errors(r), errors(v));
        values.push(normalised_performance(&r_err, &v_err));
        er.push(mean(&r_err));
        ev.push(mean(&v_err));
    }
    NormalisedPerformance {
        first_epoch: *range.start(),
        last_epoch: *range.end(),
        mean: mean(&values),
        sem: sem(&values),
        values,
        t_test: paired_t_test(&er, &ev),
    }
}

#[cfg(test)]
pub(super) mod tests;
