//! Measures of docs/model.md §5 beyond the losses: the dysmetria score (irregular movement) and the
//! normalised performance of a ccRNN against a cRNN.

use crate::stats::mean;

/// Mean squared norm of the second difference of a trajectory,
/// `1/(L-2) Σ_{t=1}^{L-2} ||y_{t+1} - 2 y_t + y_{t-1}||²`; 0 for fewer than 3 points.
pub fn mean_squared_second_difference(points: &[(f64, f64)]) -> f64 {
    if points.len() < 3 {
        return 0.0;
    }
    let sum: f64 = points
        .windows(3)
        .map(|w| {
            let dx = w[2].0 - 2.0 * w[1].0 + w[0].0;
            let dy = w[2].1 - 2.0 * w[1].1 + w[0].1;
            dx * dx + dy * dy
        })
        .sum();
    sum / (points.len() - 2) as f64
}

/// Dysmetria score of a drawn trajectory (docs/model.md §5, ccdni's documented choice): the mean over
/// steps of the squared second difference of the produced trajectory minus that of the target,
///
/// `D = 1/(L-2) Σ_t ||Δ²y_t||² − 1/(L-2) Σ_t ||Δ²y*_t||²`, with `Δ²y_t = y_{t+1} − 2 y_t + y_{t−1}`
/// for `t = 1..L-2` (the squared norm sums the 2 output dimensions).
///
/// It measures the jerkiness (acceleration energy) of the movement beyond what the target itself
/// requires: a trajectory as smooth as its target scores 0, a jittery one scores positive, and a
/// trajectory smoother than its target (e.g. a straight line for a digit's corners) scores
/// negative. The difference is of means, not the mean of `||Δ²y_t − Δ²y*_t||²`, so an offset or a
/// constant-speed error does not count as dysmetria. 0 for fewer than 3 steps.
///
/// # Panics
/// If the two trajectories differ in length.
pub fn dysmetria_trajectory(produced: &[(f64, f64)], target: &[(f64, f64)]) -> f64 {
    assert_eq!(
        produced.len(),
        target.len(),
        "produced and target trajectories differ in length"
    );
    mean_squared_second_difference(produced) - mean_squared_second_difference(target)
}

/// [`dysmetria_trajectory`] averaged over the samples of a batch. `y` and `target_values` are
/// time-major readouts with 2 outputs (`steps · batch × 2`, row `t * batch + b`).
///
/// # Panics
/// If either slice is not `steps · batch × 2` long.
pub fn dysmetria_batch<T: crate::real::Real>(
    y: &[T],
    target_values: &[T],
    steps: usize,
    batch: usize,
) -> f64 {
    let len = steps * batch * 2;
    assert_eq!(y.len(), len, "readout is not steps · batch × 2");
    assert_eq!(target_values.len(), len, "target is not steps · batch × 2");
    let scores: Vec<f64> = (0..batch)
        .map(|b| {
            dysmetria_trajectory(
                &sample_trajectory(y, steps, batch, b),
                &sample_trajectory(target_values, steps, batch, b),
            )
        })
        .collect();
    mean(&scores)
}

/// The trajectory of sample `b` in a time-major `steps · batch × 2` array.
fn sample_trajectory<T: crate::real::Real>(
    values: &[T],
    steps: usize,
    batch: usize,
    b: usize,
) -> Vec<(f64, f64)> {
    (0..steps)
        .map(|t| {
            let row = (t * batch + b) * 2;
            (values[row].to_f64(), values[row + 1].to_f64())
        })
        .collect()
}

/// Dysmetria of classification: `1 − certainty`, the certainty being the mean maximal softmax
/// probability.
pub fn dysmetria_classification(certainty: f64) -> f64 {
    1.0 - certainty
}

/// Normalised performance of one seed: `(E_cRNN − E_ccRNN) / E_cRNN`, each `E` being the error
/// averaged over the training epochs (the inputs are the per-epoch errors of the two models).
/// Positive when the ccRNN learns better; infinite or NaN when `E_cRNN` is 0.
///
/// # Panics
/// If the inputs are empty or differ in length.
pub fn normalised_performance(e_crnn: &[f64], e_ccrnn: &[f64]) -> f64 {
    assert!(!e_crnn.is_empty(), "no epochs");
    assert_eq!(
        e_crnn.len(),
        e_ccrnn.len(),
        "the two models have errors for different numbers of epochs"
    );
    let (a, b) = (mean(e_crnn), mean(e_ccrnn));
    (a - b) / a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(n: usize, v: (f64, f64)) -> Vec<(f64, f64)> {
        (0..n)
            .map(|t| (1.0 + v.0 * t as f64, -2.0 + v.1 * t as f64))
            .collect()
    }

    #[test]
    fn constant_speed_line_has_no_second_difference() {
        assert!(mean_squared_second_difference(&line(10, (0.3, -1.2))) < 1e-24);
        assert_eq!(mean_squared_second_difference(&line(2, (1.0, 1.0))), 0.0);
        let fast = line(10, (5.0, 5.0));
        assert!(dysmetria_trajectory(&fast, &line(10, (0.1, 0.0))).abs() < 1e-24);
    }

    #[test]
    fn jitter_is_positive_and_smoothing_is_negative() {
        // (0,0), (1,0), (0,0): Δ² = (-2, 0), squared norm 4, mean over 1 interior step.
        let zigzag = [(0.0, 0.0), (1.0, 0.0), (0.0, 0.0)];
        assert_eq!(mean_squared_second_difference(&zigzag), 4.0);
        let straight = line(3, (0.0, 0.0));
        assert_eq!(dysmetria_trajectory(&zigzag, &straight), 4.0);
        assert_eq!(dysmetria_trajectory(&straight, &zigzag), -4.0);
        // A parabola y = t²: Δ² = 2 at every interior step.
        let parabola: Vec<(f64, f64)> = (0..6).map(|t| (0.0, (t * t) as f64)).collect();
        assert_eq!(mean_squared_second_difference(&parabola), 4.0);
    }

    #[test]
    fn batch_dysmetria_averages_the_samples() {
        // steps 3, batch 2: sample 0 zigzags in x (score 4), sample 1 is still (score 0).
        let (steps, batch) = (3, 2);
        let mut y = vec![0.0f32; steps * batch * 2];
        y[(batch) * 2] = 1.0; // t = 1, b = 0, x
        let target = vec![0.0f32; steps * batch * 2];
        assert_eq!(dysmetria_batch(&y, &target, steps, batch), 2.0);
        // Shifting every point of the target changes nothing.
        let shifted: Vec<f32> = target.iter().map(|v| v + 3.0).collect();
        assert_eq!(dysmetria_batch(&y, &shifted, steps, batch), 2.0);
    }

    #[test]
    fn classification_dysmetria_is_uncertainty() {
        assert_eq!(dysmetria_classification(1.0), 0.0);
        assert!((dysmetria_classification(0.75) - 0.25).abs() < 1e-15);
    }

    #[test]
    fn normalised_performance_compares_epoch_means() {
        // E_cRNN = 2, E_ccRNN = 1: half the error.
        assert_eq!(normalised_performance(&[3.0, 1.0], &[1.5, 0.5]), 0.5);
        assert_eq!(normalised_performance(&[2.0, 2.0], &[2.0, 2.0]), 0.0);
        assert_eq!(normalised_performance(&[1.0], &[2.0]), -1.0);
    }
}
