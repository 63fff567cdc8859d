//! What the cerebellum learns (docs/model.md §5): measures of one recording that tell a
//! cerebellum whose prediction depends on the cortical state from one that has learnt a constant
//! vector. Observations are the (window boundary, sample) pairs after window 0, as for the other
//! measures over learning ([`super::learning`]).
//!
//! - Per granule layer `granule_<l>`: the `silent_fraction`, the share of its cells never active
//!   (activity > 0) on any observation; the `active_fraction`, the share of its cells active per
//!   observation, averaged over observations; and its drive, the mean and standard deviation over
//!   observations and cells of the pre-activation `z = W x + b` (`preactivation_mean`,
//!   `preactivation_std`), which shows a layer being pushed below threshold.
//! - Of the prediction C(s) (`cerebellar_output`): its `state_dependence`, the share of its mean
//!   squared norm that varies across observations, `1 − ‖mean C‖² / mean ‖C‖²`, equal to
//!   `Σ‖C − mean C‖² / Σ‖C‖²` (0 for a constant prediction, 1 for one of mean zero); and its
//!   `effective_dimensionality`, the participation ratio `(Σ λ)² / Σ λ²` of its covariance's
//!   eigenvalues, computed as `trace(Σ)² / ‖Σ‖_F²` (1 when it varies along one direction).
//! - The best constant predictor, the mean teaching signal over the observations
//!   (`mean_teaching_signal`): its `cosine` with the teaching signal and with the true feedback,
//!   the baseline that a state-dependent prediction has to beat.

use super::learning::Measure;
use super::population::covariance;
use crate::model::Model;
use crate::real::Real;
use crate::trainer::{RecordedArray, Recording};
use anyhow::Result;

/// The observations of `a` after window 0: `(W − 1)·B` rows of `units` values each.
fn observations(a: &RecordedArray) -> (&[f64], usize) {
    let units = a.shape[2];
    let skip = a.shape[1] * units;
    (&a.values[skip.min(a.values.len())..], units)
}

fn measure(population: &str, measure: &'static str, value: f64) -> Measure {
    Measure {
        population: population.to_string(),
        measure,
        value,
    }
}

/// The silent and active fractions of each granule layer that `rec` holds.
pub fn granule_activity(rec: &Recording) -> Vec<Measure> {
    let mut out = Vec::new();
    for a in rec.arrays.iter().filter(|a| a.name.starts_with("granule_")) {
        let (rows, units) = observations(a);
        let n = rows.len() / units.max(1);
        if units == 0 || n == 0 {
            continue;
        }
        let mut ever = vec![false; units];
        let mut active = 0usize;
        for row in rows.chunks_exact(units) {
            for (e, &v) in ever.iter_mut().zip(row) {
                *e |= v > 0.0;
                active += usize::from(v > 0.0);
            }
        }
        let silent = ever.iter().filter(|&&e| !e).count();
        out.push(measure(
            &a.name,
            "silent_fraction",
            silent as f64 / units as f64,
        ));
        out.push(measure(
            &a.name,
            "active_fraction",
            active as f64 / (n * units) as f64,
        ));
    }
    out
}

/// The state dependence and effective dimensionality of the prediction, when `rec` holds one
/// (the dimensionality only when it varies).
pub fn prediction_variety(rec: &Recording) -> Result<Vec<Measure>> {
    let Some(a) = rec.get("prediction") else {
        return Ok(Vec::new());
    };
    let (rows, units) = observations(a);
    let n = rows.len() / units.max(1);
    if n == 0 {
        return Ok(Vec::new());
    }
    // Taken about the first observation, so that a constant prediction varies by exactly 0.
    let shifted: Vec<f64> = rows
        .chunks_exact(units)
        .flat_map(|r| r.iter().zip(&rows[..units]).map(|(v, f)| v - f))
        .collect();
    let mean = column_mean(&shifted, units);
    let (mut varying, mut total) = (0.0, 0.0);
    for (row, d) in rows.chunks_exact(units).zip(shifted.chunks_exact(units)) {
        for ((&v, &d), &m) in row.iter().zip(d).zip(&mean) {
            varying += (d - m) * (d - m);
            total += v * v;
        }
    }
    let mut out = Vec::new();
    if total > 0.0 {
        out.push(measure(
            "cerebellar_output",
            "state_dependence",
            varying / total,
        ));
    }
    if n >= 2 {
        let cov = covariance(&shifted, units)?;
        let trace: f64 = (0..units).map(|i| cov[i * units + i]).sum();
        let frobenius: f64 = cov.iter().map(|v| v * v).sum();
        if frobenius > 0.0 {
            out.push(measure(
                "cerebellar_output",
                "effective_dimensionality",
                trace * trace / frobenius,
            ));
        }
    }
    Ok(out)
}

/// The mean of each column of a row-major `rows × units` matrix.
fn column_mean(rows: &[f64], units: usize) -> Vec<f64> {
    let mut mean = vec![0.0; units];
    for row in rows.chunks_exact(units) {
        mean.iter_mut().zip(row).for_each(|(m, v)| *m += v);
    }
    let n = (rows.len() / units) as f64;
    mean.iter_mut().for_each(|m| *m /= n);
    mean
}

/// The cosine of the best constant predictor (the mean teaching signal over the observations)
/// with the teaching signal and with the true feedback, averaged over the observations where
/// neither is zero.
pub fn constant_baseline(rec: &Recording) -> Vec<Measure> {
    let Some(teaching) = rec.get("teaching_signal") else {
        return Vec::new();
    };
    let (rows, units) = observations(teaching);
    if units == 0 || rows.is_empty() {
        return Vec::new();
    }
    let mean = column_mean(rows, units);
    let norm: f64 = mean.iter().map(|m| m * m).sum::<f64>().sqrt();
    let mut out = Vec::new();
    for other in ["teaching_signal", "true_feedback"] {
        let Some(b) = rec.get(other) else { continue };
        let (mut sum, mut n) = (0.0, 0usize);
        for row in observations(b).0.chunks_exact(units) {
            let nb: f64 = row.iter().map(|v| v * v).sum::<f64>().sqrt();
            if norm > 0.0 && nb > 0.0 {
                let dot: f64 = row.iter().zip(&mean).map(|(v, m)| v * m).sum();
                sum += dot / (norm * nb);
                n += 1;
            }
        }
        if n > 0 {
            out.push(measure(
                &format!("mean_teaching_signal/{other}"),
                "cosine",
                sum / n as f64,
            ));
        }
    }
    out
}

/// The mean and standard deviation of each granule layer's pre-activation over the
/// observations and cells, from its recorded input (the state for the first layer, the layer
/// before for the others) and `model`'s current weights. The first layer's is left out when a
/// context adds to it (the context is not recorded); the shuffled input's permutation does not
/// change either statistic.
pub fn granule_drive<T: Real>(rec: &Recording, model: &Model<T>) -> Vec<Measure> {
    let Some(cb) = &model.cerebellum else {
        return Vec::new();
    };
    let params: Vec<f64> = model.params.iter().map(|v| v.to_f64()).collect();
    let mut out = Vec::new();
    for (l, layer) in cb.layers[..cb.layers.len() - 1].iter().enumerate() {
        let input = match l {
            0 if cb.context.is_some() => continue,
            0 => "state".to_string(),
            _ => format!("granule_{}", l - 1),
        };
        let name = format!("granule_{l}");
        let (Some(x), true) = (rec.get(&input), rec.get(&name).is_some()) else {
            continue;
        };
        let (rows, units) = observations(x);
        if units != layer.inputs || rows.is_empty() {
            continue;
        }
        let mut z = vec![0.0; rows.len() / units * layer.outputs];
        layer.forward(&params, rows, &mut z, false);
        let mean = z.iter().sum::<f64>() / z.len() as f64;
        let var = z.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / z.len() as f64;
        out.push(measure(&name, "preactivation_mean", mean));
        out.push(measure(&name, "preactivation_std", var.sqrt()));
    }
    out
}

#[cfg(test)]
mod tests;
