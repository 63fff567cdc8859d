//! Population statistics of a group of units (cortex, a granule layer, the cerebellar output),
//! from their activity over samples: the measures the papers use to compare cortical and
//! cerebellar representations over learning (docs/model.md §5). Activity is a row-major
//! `samples × units` matrix in f64.
//!
//! - **Population correlation** `ρ = N/(N−1) · (max_i √l_i / Σ_i √l_i − 1/N)`, from the
//!   eigenvalues `l_i` of the units' covariance: 0 when the activity spreads evenly over all N
//!   dimensions, 1 when it lies along one.
//! - **Mean |Pearson r|** over pairs of distinct units.
//! - **Coding space**: the total variance, the trace of the covariance.
//! - **Population sparseness** (Treves–Rolls):
//!   `(N − mean_samples (Σ_i |r_i|)² / Σ_i r_i²) / (N − 1)`: 0 when every unit is equally
//!   active, 1 when one unit carries each sample.

use anyhow::{Result, bail};
use faer::{Mat, Side};

/// The units' covariance (`units × units`, divided by samples − 1), row-major.
pub fn covariance(activity: &[f64], units: usize) -> Result<Vec<f64>> {
    if units == 0 || !activity.len().is_multiple_of(units) {
        bail!(
            "activity of {} values is not a whole number of rows of {units} units",
            activity.len()
        );
    }
    let samples = activity.len() / units;
    if samples < 2 {
        bail!("a covariance needs at least 2 samples (got {samples})");
    }
    let mut mean = vec![0.0; units];
    for row in activity.chunks_exact(units) {
        mean.iter_mut().zip(row).for_each(|(m, x)| *m += x);
    }
    mean.iter_mut().for_each(|m| *m /= samples as f64);
    let mut cov = vec![0.0; units * units];
    let mut centred = vec![0.0; units];
    for row in activity.chunks_exact(units) {
        centred
            .iter_mut()
            .zip(row.iter().zip(&mean))
            .for_each(|(c, (x, m))| *c = x - m);
        for (i, &ci) in centred.iter().enumerate() {
            for (v, &cj) in cov[i * units..(i + 1) * units].iter_mut().zip(&centred) {
                *v += ci * cj;
            }
        }
    }
    cov.iter_mut().for_each(|v| *v /= (samples - 1) as f64);
    Ok(cov)
}

/// The population correlation ρ of a covariance matrix (`units × units`), from its eigenvalues
/// (a symmetric eigensolver; eigenvalues within round-off of zero count as zero). `None`
/// without variance.
pub fn population_correlation(cov: &[f64], units: usize) -> Result<Option<f64>> {
    if units < 2 {
        bail!("a population correlation needs at least 2 units (got {units})");
    }
    let m = Mat::from_fn(units, units, |i, j| cov[i * units + j]);
    let Ok(eigenvalues) = m.self_adjoint_eigenvalues(Side::Lower) else {
        bail!("the eigensolver did not converge on the {units}×{units} covariance");
    };
    // Eigenvalues within the solver's round-off of zero (relative to the largest) are zero: a
    // square root would otherwise lift 1e-17 to 3e-9.
    let largest = eigenvalues.iter().copied().fold(0.0, f64::max);
    let noise = largest * units as f64 * f64::EPSILON;
    let roots: Vec<f64> = eigenvalues
        .iter()
        .map(|&l| if l > noise { l.sqrt() } else { 0.0 })
        .collect();
    let sum: f64 = roots.iter().sum();
    if sum <= 0.0 {
        return Ok(None);
    }
    let max = roots.iter().copied().fold(0.0, f64::max);
    let n = units as f64;
    Ok(Some(n / (n - 1.0) * (max / sum - 1.0 / n)))
}

/// The mean |Pearson r| over pairs of distinct units with non-zero variance; `None` when fewer
/// than two units vary.
pub fn mean_abs_correlation(cov: &[f64], units: usize) -> Option<f64> {
    let var = |i: usize| cov[i * units + i];
    let (mut sum, mut pairs) = (0.0, 0usize);
    for i in 0..units {
        for j in (i + 1)..units {
            if var(i) > 0.0 && var(j) > 0.0 {
                sum += (cov[i * units + j] / (var(i) * var(j)).sqrt()).abs();
                pairs += 1;
            }
        }
    }
    (pairs > 0).then(|| sum / pairs as f64)
}

/// The coding space: the total variance (trace of the covariance).
pub fn coding_space(cov: &[f64], units: usize) -> f64 {
    (0..units).map(|i| cov[i * units + i]).sum()
}

/// Treves–Rolls population sparseness, averaged over the samples with any activity; `None`
/// when no sample has any.
pub fn population_sparseness(activity: &[f64], units: usize) -> Result<Option<f64>> {
    if units < 2 || !activity.len().is_multiple_of(units) {
        bail!(
            "population sparseness needs at least 2 units and whole rows (got {} values for {units} units)",
            activity.len()
        );
    }
    let (mut sum, mut samples) = (0.0, 0usize);
    for row in activity.chunks_exact(units) {
        let l1: f64 = row.iter().map(|x| x.abs()).sum();
        let l2: f64 = row.iter().map(|x| x * x).sum();
        if l2 > 0.0 {
            sum += l1 * l1 / l2;
            samples += 1;
        }
    }
    let n = units as f64;
    Ok((samples > 0).then(|| (n - sum / samples as f64) / (n - 1.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() <= 1e-12 * b.abs().max(1.0), "{a} vs {b}");
    }

    /// Samples with a known structure: `units` columns built from `f(sample, unit)`.
    fn activity(samples: usize, units: usize, f: impl Fn(usize, usize) -> f64) -> Vec<f64> {
        (0..samples * units)
            .map(|k| f(k / units, k % units))
            .collect()
    }

    #[test]
    fn identical_units_are_fully_correlated() {
        let x = activity(50, 4, |s, _| (s as f64 * 0.37).sin());
        let cov = covariance(&x, 4).unwrap();
        close(population_correlation(&cov, 4).unwrap().unwrap(), 1.0);
        close(mean_abs_correlation(&cov, 4).unwrap(), 1.0);
    }

    #[test]
    fn anti_correlated_units_count_by_magnitude() {
        let x = activity(40, 2, |s, u| {
            (s as f64 * 0.9).cos() * if u == 0 { 1.0 } else { -3.0 }
        });
        let cov = covariance(&x, 2).unwrap();
        close(mean_abs_correlation(&cov, 2).unwrap(), 1.0);
        close(population_correlation(&cov, 2).unwrap().unwrap(), 1.0);
    }

    #[test]
    fn a_diagonal_covariance_of_equal_variances_has_no_population_correlation() {
        let n = 5;
        let cov: Vec<f64> = (0..n * n)
            .map(|k| if k / n == k % n { 2.5 } else { 0.0 })
            .collect();
        close(population_correlation(&cov, n).unwrap().unwrap(), 0.0);
        assert_eq!(mean_abs_correlation(&cov, n), Some(0.0));
        close(coding_space(&cov, n), 12.5);
    }

    #[test]
    fn unequal_independent_variances_give_the_formula_by_hand() {
        // Eigenvalues 4, 1, 1: roots 2, 1, 1; rho = 3/2 (2/4 - 1/3) = 0.25.
        let cov = [4.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
        close(population_correlation(&cov, 3).unwrap().unwrap(), 0.25);
        // The same covariance rotated: the eigenvalues, hence rho, do not change.
        let (c, s) = (0.6f64, 0.8f64);
        let r = [c, -s, 0.0, s, c, 0.0, 0.0, 0.0, 1.0];
        let mut rot = [0.0; 9];
        for i in 0..3 {
            for j in 0..3 {
                rot[i * 3 + j] = (0..3)
                    .map(|k| r[i * 3 + k] * cov[k * 3 + k] * r[j * 3 + k])
                    .sum();
            }
        }
        close(population_correlation(&rot, 3).unwrap().unwrap(), 0.25);
        close(coding_space(&rot, 3), 6.0);
    }

    #[test]
    fn covariance_matches_hand_values() {
        // Two samples of two units: (1, 2) and (3, 6): variances 2 and 8, covariance 4.
        let cov = covariance(&[1.0, 2.0, 3.0, 6.0], 2).unwrap();
        assert_eq!(cov, vec![2.0, 4.0, 4.0, 8.0]);
        assert!(covariance(&[1.0, 2.0], 2).is_err(), "one sample");
        assert!(covariance(&[1.0, 2.0, 3.0], 2).is_err(), "ragged rows");
    }

    #[test]
    fn sparseness_is_one_for_one_hot_and_zero_for_uniform_activity() {
        let one_hot = activity(6, 6, |s, u| if s == u { 3.0 } else { 0.0 });
        close(population_sparseness(&one_hot, 6).unwrap().unwrap(), 1.0);
        let uniform = activity(6, 6, |s, _| 1.0 + s as f64);
        close(population_sparseness(&uniform, 6).unwrap().unwrap(), 0.0);
        // Half the units equally active: (N - N/2) / (N - 1) = 2/3 for N = 4.
        let half = activity(3, 4, |_, u| if u < 2 { 1.0 } else { 0.0 });
        close(population_sparseness(&half, 4).unwrap().unwrap(), 2.0 / 3.0);
        assert_eq!(population_sparseness(&[0.0; 8], 4).unwrap(), None);
    }

    #[test]
    fn units_without_variance_are_left_out_of_pearson_pairs() {
        let x = activity(30, 3, |s, u| if u == 2 { 1.0 } else { (s as f64).sin() });
        let cov = covariance(&x, 3).unwrap();
        close(mean_abs_correlation(&cov, 3).unwrap(), 1.0);
        assert_eq!(population_correlation(&[0.0; 4], 2).unwrap(), None);
    }

    #[test]
    fn agrees_with_numpy_on_a_generic_population() {
        // numpy: C = np.cov(X, rowvar=False); l = np.linalg.eigvalsh(C); np.corrcoef; the
        // sparseness formula; for X[s, u] = sin(0.3 s (u + 1)) + 0.1 u cos(s), 20 × 4.
        let x = activity(20, 4, |s, u| {
            let (s, u) = (s as f64, u as f64);
            (0.3 * s * (u + 1.0)).sin() + 0.1 * u * s.cos()
        });
        let cov = covariance(&x, 4).unwrap();
        close(
            population_correlation(&cov, 4).unwrap().unwrap(),
            0.0509658637922481,
        );
        close(mean_abs_correlation(&cov, 4).unwrap(), 0.061030646273816665);
        close(coding_space(&cov, 4), 2.1609635679030754);
        close(
            population_sparseness(&x, 4).unwrap().unwrap(),
            0.21750828082133156,
        );
    }
}
