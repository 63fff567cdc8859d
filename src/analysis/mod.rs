//! Analyses of what the networks represent (docs/model.md §5): population statistics of a group
//! of units ([`population`]), summary statistics of a weight matrix ([`WeightStats`]), and the
//! measures over learning of one recording ([`learning`]: feedback alignment, population
//! statistics of each population, cerebellar weights), and what the cerebellum learns
//! ([`cerebellar`]: silent granule cells, the prediction's state dependence, the constant
//! baseline).

pub mod cerebellar;
pub mod learning;
pub mod population;

use serde::Serialize;

/// Summary of a set of weights (e.g. the cerebellum's mossy-fibre → granule matrix).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WeightStats {
    pub mean: f64,
    pub mean_abs: f64,
    /// Mean |w| over the non-zero weights only (a sparse matrix's kept connections); `None`
    /// when every weight is zero.
    pub mean_abs_nonzero: Option<f64>,
    /// Standard deviation (over all weights, divided by their count).
    pub std: f64,
}

impl WeightStats {
    /// The statistics of `w`; `None` for no weights.
    pub fn of<T: crate::real::Real>(w: &[T]) -> Option<Self> {
        if w.is_empty() {
            return None;
        }
        let n = w.len() as f64;
        let vals = w.iter().map(|x| x.to_f64());
        let mean = vals.clone().sum::<f64>() / n;
        let mean_abs = vals.clone().map(f64::abs).sum::<f64>() / n;
        let nonzero: Vec<f64> = vals.clone().filter(|&x| x != 0.0).map(f64::abs).collect();
        let var = vals.map(|x| (x - mean).powi(2)).sum::<f64>() / n;
        Some(WeightStats {
            mean,
            mean_abs,
            mean_abs_nonzero: (!nonzero.is_empty())
                .then(|| nonzero.iter().sum::<f64>() / nonzero.len() as f64),
            std: var.sqrt(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weight_statistics_by_hand() {
        let s = WeightStats::of(&[0.0f64, -2.0, 0.0, 2.0, 4.0]).unwrap();
        assert_eq!(s.mean, 0.8);
        assert_eq!(s.mean_abs, 1.6);
        assert_eq!(s.mean_abs_nonzero, Some(8.0 / 3.0));
        // Deviations -0.8, -2.8, -0.8, 1.2, 3.2: squares sum to 20.8, over 5.
        assert!((s.std - (20.8f64 / 5.0).sqrt()).abs() < 1e-15);
        assert_eq!(
            WeightStats::of(&[0.0f64; 3]).unwrap().mean_abs_nonzero,
            None
        );
        assert_eq!(WeightStats::of::<f64>(&[]), None);
    }
}
