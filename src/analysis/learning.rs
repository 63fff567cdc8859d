//! The measures over learning of one recording (docs/model.md §5): how the cerebellar prediction,
//! the teaching signal and the true feedback line up, the population statistics of the cortex,
//! each granule layer and the cerebellar output, and the cerebellar weights.
//!
//! Every measure is taken over the window boundaries after the first (window 0 starts from the
//! all-zero state, where no prediction is ever used) and all samples: each (boundary, sample)
//! pair is one observation.
//!
//! - **Alignment** of two feedback signals `a`, `b` (each a vector over the S state dimensions):
//!   the `cosine` of `a` and `b` per observation, then the mean over observations (observations
//!   where either is exactly zero are skipped); and the `norm_ratio` `√(Σ‖a‖²) / √(Σ‖b‖²)` over
//!   all observations (the ratio of their root-mean-square norms: 1 when `a` has `b`'s scale).
//! - **Populations**: `cortex` (the hidden activity h, the first H units of the state), each
//!   `granule_<l>` layer and the `cerebellar_output` C(s): [`population`](super::population)
//!   statistics over observations.
//! - **Weights**: [`WeightStats`] of each cerebellar layer's weight matrix
//!   (`cerebellum.<i>.weight`, `0`: mossy fibres → first granule layer).

use super::WeightStats;
use super::population::{
    coding_space, covariance, mean_abs_correlation, population_correlation, population_sparseness,
};
use crate::model::Model;
use crate::real::Real;
use crate::trainer::{RecordedArray, Recording};
use anyhow::Result;
use serde::{Deserialize, Serialize};

/// The names a [`Measure`] may have.
pub const MEASURES: [&str; 16] = [
    "cosine",
    "norm_ratio",
    "population_correlation",
    "mean_abs_correlation",
    "coding_space",
    "sparseness",
    "weight_mean",
    "weight_mean_abs",
    "weight_mean_abs_nonzero",
    "weight_std",
    "silent_fraction",
    "active_fraction",
    "preactivation_mean",
    "preactivation_std",
    "state_dependence",
    "effective_dimensionality",
];

/// One measure of one population (a row of learning.csv, less the run and epoch).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Measure {
    /// What is measured: `cortex`, `granule_0`, `cerebellar_output`, an alignment pair such as
    /// `prediction/teaching_signal`, or a weight matrix such as `cerebellum.0.weight`.
    pub population: String,
    /// One of [`MEASURES`]: `cosine`, `norm_ratio`, `population_correlation`, `sparseness`,
    /// `weight_mean`, `silent_fraction`, `state_dependence`, ... (those of
    /// [`super::cerebellar`] too).
    pub measure: &'static str,
    pub value: f64,
}

/// A [`Measure`] as read back (from a checkpoint), its name one of [`MEASURES`].
#[derive(Deserialize)]
struct StoredMeasure {
    population: String,
    measure: String,
    value: f64,
}

impl<'de> Deserialize<'de> for Measure {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let m = StoredMeasure::deserialize(d)?;
        let measure = MEASURES
            .into_iter()
            .find(|name| *name == m.measure)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown measure `{}`", m.measure)))?;
        Ok(Measure {
            population: m.population,
            measure,
            value: m.value,
        })
    }
}

/// The pairs of feedback signals whose alignment is measured, in this order.
pub const ALIGNMENT_PAIRS: [(&str, &str); 3] = [
    ("prediction", "teaching_signal"),
    ("prediction", "true_feedback"),
    ("teaching_signal", "true_feedback"),
];

/// The observations of `a` after window 0: `(W − 1)·B` rows of `units` values each.
fn after_first_window(a: &RecordedArray) -> (&[f64], usize) {
    let (windows, samples, units) = (a.shape[0], a.shape[1], a.shape[2]);
    let skip = samples * units;
    let rows = &a.values[skip.min(a.values.len())..];
    debug_assert_eq!(rows.len(), windows.saturating_sub(1) * skip);
    (rows, units)
}

/// The cosine and norm ratio of every pair of [`ALIGNMENT_PAIRS`] that `rec` holds (a cRNN and a
/// lesioned cerebellum have no prediction: only the teaching signal against the true feedback).
pub fn alignment(rec: &Recording) -> Vec<Measure> {
    let mut out = Vec::new();
    for (a, b) in ALIGNMENT_PAIRS {
        let (Some(a_arr), Some(b_arr)) = (rec.get(a), rec.get(b)) else {
            continue;
        };
        let ((xa, units), (xb, _)) = (after_first_window(a_arr), after_first_window(b_arr));
        let (mut cos, mut n, mut sa, mut sb) = (0.0, 0usize, 0.0, 0.0);
        for (ra, rb) in xa.chunks_exact(units).zip(xb.chunks_exact(units)) {
            let dot: f64 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
            let (na, nb): (f64, f64) = (
                ra.iter().map(|x| x * x).sum(),
                rb.iter().map(|x| x * x).sum(),
            );
            (sa, sb) = (sa + na, sb + nb);
            if na > 0.0 && nb > 0.0 {
                cos += dot / (na.sqrt() * nb.sqrt());
                n += 1;
            }
        }
        let population = format!("{a}/{b}");
        if n > 0 {
            out.push(Measure {
                population: population.clone(),
                measure: "cosine",
                value: cos / n as f64,
            });
        }
        if sb > 0.0 {
            out.push(Measure {
                population,
                measure: "norm_ratio",
                value: (sa / sb).sqrt(),
            });
        }
    }
    out
}

/// The population statistics of the cortex (its hidden activity, the first `hidden` units of the
/// recorded state), each granule layer and the cerebellar output, those that `rec` holds.
/// Statistics without a value (no variance, no activity) are left out.
pub fn populations(rec: &Recording, hidden: usize) -> Result<Vec<Measure>> {
    let mut groups: Vec<(String, Vec<f64>, usize)> = Vec::new();
    if let Some(state) = rec.get("state") {
        let (rows, units) = after_first_window(state);
        let h: Vec<f64> = rows
            .chunks_exact(units)
            .flat_map(|r| &r[..hidden])
            .copied()
            .collect();
        groups.push(("cortex".into(), h, hidden));
    }
    for a in &rec.arrays {
        let name = match a.name.as_str() {
            "prediction" => "cerebellar_output",
            n if n.starts_with("granule_") => n,
            _ => continue,
        };
        let (rows, units) = after_first_window(a);
        groups.push((name.to_string(), rows.to_vec(), units));
    }
    let mut out = Vec::new();
    for (population, activity, units) in groups {
        if units < 2 || activity.len() < 2 * units {
            continue;
        }
        let cov = covariance(&activity, units)?;
        let values = [
            (
                "population_correlation",
                population_correlation(&cov, units)?,
            ),
            ("mean_abs_correlation", mean_abs_correlation(&cov, units)),
            ("coding_space", Some(coding_space(&cov, units))),
            ("sparseness", population_sparseness(&activity, units)?),
        ];
        push_present(&mut out, &population, values);
    }
    Ok(out)
}

/// Appends the measures of `population` that have a value.
fn push_present(
    out: &mut Vec<Measure>,
    population: &str,
    values: impl IntoIterator<Item = (&'static str, Option<f64>)>,
) {
    for (measure, value) in values {
        if let Some(value) = value {
            out.push(Measure {
                population: population.to_string(),
                measure,
                value,
            });
        }
    }
}

/// The [`WeightStats`] of each cerebellar layer's weight matrix (none for a cRNN).
pub fn cerebellar_weights<T: Real>(model: &Model<T>) -> Vec<Measure> {
    let Some(cb) = &model.cerebellum else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, layer) in cb.layers.iter().enumerate() {
        let Some(s) = WeightStats::of(&model.params[layer.weight.clone()]) else {
            continue;
        };
        let population = format!("cerebellum.{i}.weight");
        let values = [
            ("weight_mean", Some(s.mean)),
            ("weight_mean_abs", Some(s.mean_abs)),
            ("weight_mean_abs_nonzero", s.mean_abs_nonzero),
            ("weight_std", Some(s.std)),
        ];
        push_present(&mut out, &population, values);
    }
    out
}

#[cfg(test)]
pub(crate) mod tests;
