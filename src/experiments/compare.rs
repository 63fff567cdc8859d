//! Paired comparisons of two variants over the same seeds: the final test measure, and the
//! normalised performance (E_b - E_a) / E_b of docs/model.md §5.

use super::run::RunResult;
use crate::loss::EvalMetrics;
use crate::stats::{PairedT, mean, paired_t_test, sem};
use serde::Serialize;

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
