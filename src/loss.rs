//! Task losses, per window (the trainer sums them over windows, each window's mean weighing the
//! same, as the authors' code does), and the evaluation measures over whole sequences.

use crate::real::Real;

/// What the cortex must produce for a batch.
#[derive(Clone, Debug)]
pub enum Target<T> {
    /// A trajectory: `values` is time-major (`steps · batch × outputs`); the task loss is the
    /// mean squared error (PyTorch `nn.MSELoss`) over the steps whose `feedback` flag is set.
    Trajectory { values: Vec<T>, feedback: Vec<bool> },
    /// One class per sample, scored by cross-entropy at the last step only.
    Class { labels: Vec<usize> },
    /// One word per step and sample (time-major, `steps · batch`), scored by cross-entropy at
    /// every step (the caption task, teacher forcing): the window's mean over its words.
    Words { labels: Vec<u32> },
}

/// Loss of the window `t0..t1` and its gradient with respect to the readout of those steps
/// (`dy`, `(t1 - t0) · batch × outputs`, overwritten). `None` (and `dy` zero) when no step of the
/// window is supervised.
pub fn window_loss<T: Real>(
    target: &Target<T>,
    y: &[T],
    dy: &mut [T],
    t0: usize,
    t1: usize,
    steps: usize,
    batch: usize,
) -> Option<f64> {
    dy.fill(T::ZERO);
    let out = y.len() / ((t1 - t0) * batch);
    match target {
        Target::Trajectory { values, feedback } => {
            let n_fb = feedback[t0..t1].iter().filter(|&&f| f).count();
            if n_fb == 0 {
                return None;
            }
            let scale = 1.0 / (n_fb * batch * out) as f64;
            let mut loss = 0.0;
            for t in (t0..t1).filter(|&t| feedback[t]) {
                let local = (t - t0) * batch * out..(t - t0 + 1) * batch * out;
                let global = t * batch * out..(t + 1) * batch * out;
                for ((d, &yv), &tv) in dy[local.clone()]
                    .iter_mut()
                    .zip(&y[local])
                    .zip(&values[global])
                {
                    let e = (yv - tv).to_f64();
                    loss += e * e;
                    *d = T::from_f64(2.0 * e * scale);
                }
            }
            Some(loss * scale)
        }
        Target::Class { labels } => {
            if t1 != steps {
                return None;
            }
            let last = (t1 - 1 - t0) * batch * out;
            let logits = &y[last..last + batch * out];
            let grad = &mut dy[last..last + batch * out];
            let mut loss = 0.0;
            for ((z, g), &label) in logits
                .chunks_exact(out)
                .zip(grad.chunks_exact_mut(out))
                .zip(labels)
            {
                let p = softmax(z);
                loss -= p[label].ln();
                for (k, (gk, pk)) in g.iter_mut().zip(&p).enumerate() {
                    let onehot = if k == label { 1.0 } else { 0.0 };
                    *gk = T::from_f64((pk - onehot) / batch as f64);
                }
            }
            Some(loss / batch as f64)
        }
        Target::Words { labels } => {
            let words = &labels[t0 * batch..t1 * batch];
            let scale = 1.0 / words.len() as f64;
            let mut loss = 0.0;
            for ((z, g), &label) in y.chunks_exact(out).zip(dy.chunks_exact_mut(out)).zip(words) {
                loss += cross_entropy_row(z, label as usize, g, scale);
            }
            Some(loss * scale)
        }
    }
}

/// Cross-entropy `-ln softmax(z)[label]` of one row of logits, with its gradient
/// `scale · (softmax(z) - onehot(label))` written into `g`, without allocating (the caption
/// task's rows are as wide as the vocabulary): the exponentials in `T` through the vectorised
/// loops of [`crate::simd`], their sum and the loss in f64.
fn cross_entropy_row<T: Real>(z: &[T], label: usize, g: &mut [T], scale: f64) -> f64 {
    let m = row_max(z);
    crate::simd::vectorize(|| {
        for (gk, &zk) in g.iter_mut().zip(z) {
            *gk = (zk - m).exp();
        }
    });
    let sum: f64 = g.iter().map(|v| v.to_f64()).sum();
    let norm = T::from_f64(scale / sum);
    crate::simd::vectorize(|| g.iter_mut().for_each(|gk| *gk *= norm));
    g[label] -= T::from_f64(scale);
    sum.ln() - (z[label] - m).to_f64()
}

/// The largest logit of a row.
fn row_max<T: Real>(z: &[T]) -> T {
    z.iter()
        .copied()
        .fold(z[0], |a, b| if b > a { b } else { a })
}

/// The summed cross-entropy of rows of logits (`labels.len() × outputs`) against one label each.
fn cross_entropy_sum<T: Real>(y: &[T], labels: &[u32]) -> f64 {
    let out = y.len() / labels.len().max(1);
    let mut sum = 0.0;
    for (z, &label) in y.chunks_exact(out).zip(labels) {
        let m = row_max(z);
        let s: f64 = crate::simd::vectorize(|| z.iter().map(|&v| (v - m).exp().to_f64()).sum());
        sum += s.ln() - (z[label as usize] - m).to_f64();
    }
    sum
}

/// Softmax of one row of logits, in f64.
pub fn softmax<T: Real>(z: &[T]) -> Vec<f64> {
    let m = z
        .iter()
        .map(|v| v.to_f64())
        .fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = z.iter().map(|v| (v.to_f64() - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.into_iter().map(|v| v / s).collect()
}

/// Sums of the evaluation measures over a set of samples; see [`Self::finish`].
#[derive(Clone, Debug, Default)]
pub struct EvalSums {
    pub samples: usize,
    /// Trajectories: squared error (summed over outputs) over all steps and over feedback steps.
    pub sq_err_all: f64,
    pub sq_err_feedback: f64,
    pub rows_all: usize,
    pub rows_feedback: usize,
    /// Trajectories: summed dysmetria of the samples (see [`crate::measures`]).
    pub dysmetria: f64,
    /// Classes: summed negative log-likelihood, correct answers, max softmax.
    pub nll: f64,
    pub correct: usize,
    pub certainty: f64,
    /// Words: scored words and their summed cross-entropy (nats).
    pub words: usize,
    pub word_nll: f64,
}

/// Evaluation measures of a model on a set of samples.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EvalMetrics {
    /// Trajectories: squared error summed over outputs, mean over all steps and samples.
    pub mse: Option<f64>,
    /// Trajectories: the same over the feedback steps only (the training measure).
    pub mse_feedback: Option<f64>,
    pub accuracy: Option<f64>,
    pub nll: Option<f64>,
    /// Mean maximum softmax probability.
    pub certainty: Option<f64>,
    /// Irregularity of movement (docs/model.md §5): for trajectories the mean squared second
    /// difference beyond the target's, for classification 1 - certainty.
    pub dysmetria: Option<f64>,
    /// Words: bits per word, the mean cross-entropy per word / ln 2.
    #[serde(default)]
    pub bits_per_word: Option<f64>,
}

impl EvalMetrics {
    /// The headline measure of a task's evaluation, named: MSE for drawing, accuracy for
    /// classification, bits per word for captions.
    pub fn headline(&self) -> (&'static str, f64) {
        match (self.mse, self.accuracy, self.bits_per_word) {
            (Some(mse), _, _) => ("mse", mse),
            (None, Some(acc), _) => ("accuracy", acc),
            (None, None, Some(bpw)) => ("bits per word", bpw),
            _ => ("none", f64::NAN),
        }
    }

    /// The headline measure as an error to minimise: MSE for drawing, 1 − accuracy for
    /// classification, bits per word for captions (NaN when the set was not evaluated).
    pub fn error(&self) -> f64 {
        match self.headline() {
            ("accuracy", acc) => 1.0 - acc,
            (_, v) => v,
        }
    }
}

impl EvalSums {
    /// Adds the readout `y` (time-major, `steps · batch × outputs`) of a batch.
    pub fn add<T: Real>(&mut self, target: &Target<T>, y: &[T], steps: usize, batch: usize) {
        let out = y.len() / (steps * batch);
        self.samples += batch;
        match target {
            Target::Trajectory { values, feedback } => {
                if out == 2 {
                    self.dysmetria +=
                        crate::measures::dysmetria_batch(y, values, steps, batch) * batch as f64;
                }
                for (t, &supervised) in feedback.iter().enumerate().take(steps) {
                    let rows = t * batch * out..(t + 1) * batch * out;
                    let e: f64 = y[rows.clone()]
                        .iter()
                        .zip(&values[rows])
                        .map(|(a, b)| (a.to_f64() - b.to_f64()).powi(2))
                        .sum();
                    self.sq_err_all += e;
                    self.rows_all += batch;
                    if supervised {
                        self.sq_err_feedback += e;
                        self.rows_feedback += batch;
                    }
                }
            }
            Target::Class { labels } => {
                let last = (steps - 1) * batch * out;
                for (z, &label) in y[last..].chunks_exact(out).zip(labels) {
                    let p = softmax(z);
                    let best = (0..out).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap_or(0);
                    self.nll -= p[label].max(f64::MIN_POSITIVE).ln();
                    self.correct += usize::from(best == label);
                    self.certainty += p[best];
                }
            }
            Target::Words { labels } => {
                self.words += labels.len();
                self.word_nll += cross_entropy_sum(y, labels);
            }
        }
    }

    /// The measures (those that apply to the target kind).
    pub fn finish(&self) -> EvalMetrics {
        if self.words > 0 {
            return EvalMetrics {
                bits_per_word: Some(self.word_nll / self.words as f64 / std::f64::consts::LN_2),
                ..EvalMetrics::default()
            };
        }
        let per = |x: f64, n: usize| (n > 0).then(|| x / n as f64);
        EvalMetrics {
            mse: per(self.sq_err_all, self.rows_all),
            mse_feedback: per(self.sq_err_feedback, self.rows_feedback),
            accuracy: (self.rows_all == 0)
                .then(|| self.correct as f64 / self.samples.max(1) as f64),
            nll: (self.rows_all == 0).then(|| self.nll / self.samples.max(1) as f64),
            certainty: (self.rows_all == 0).then(|| self.certainty / self.samples.max(1) as f64),
            dysmetria: if self.rows_all > 0 {
                Some(self.dysmetria / self.samples.max(1) as f64)
            } else {
                Some(crate::measures::dysmetria_classification(
                    self.certainty / self.samples.max(1) as f64,
                ))
            },
            bits_per_word: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::gradcheck::{check, values};

    #[test]
    fn mse_gradient_matches_finite_differences() {
        let (steps, batch, out) = (5, 2, 2);
        let feedback = vec![true, false, true, false, true];
        let target = Target::Trajectory {
            values: values(steps * batch * out, 1, 2.0),
            feedback,
        };
        let (t0, t1) = (1, 5);
        let y = values((t1 - t0) * batch * out, 2, 2.0);
        let mut dy = vec![0.0; y.len()];
        window_loss(&target, &y, &mut dy, t0, t1, steps, batch).unwrap();
        let mut scratch = vec![0.0; y.len()];
        check(
            "mse",
            &y,
            &dy,
            |y| window_loss(&target, y, &mut scratch.clone(), t0, t1, steps, batch).unwrap(),
            1e-9,
        );
        scratch.clear();
        assert!(
            window_loss(
                &target,
                &y[..batch * out],
                &mut vec![0.0; batch * out],
                1,
                2,
                steps,
                batch
            )
            .is_none()
        );
    }

    #[test]
    fn cross_entropy_gradient_matches_finite_differences() {
        let (steps, batch, out) = (3, 3, 4);
        let target = Target::Class {
            labels: vec![0, 3, 1],
        };
        let y = values(2 * batch * out, 3, 3.0);
        let mut dy = vec![0.0; y.len()];
        let loss = window_loss(&target, &y, &mut dy, 1, 3, steps, batch).unwrap();
        // The batch mean of log-sum-exp(z) - z_label over the last step's logits.
        let last = &y[batch * out..];
        let want = (0..batch)
            .map(|b| {
                let z = &last[b * out..(b + 1) * out];
                z.iter().map(|v| v.exp()).sum::<f64>().ln() - z[[0, 3, 1][b]]
            })
            .sum::<f64>()
            / batch as f64;
        assert!((loss - want).abs() < 1e-14 * want, "{loss} vs {want}");
        assert!(
            dy[..batch * out].iter().all(|&g| g == 0.0),
            "only the last step is scored"
        );
        check(
            "ce",
            &y,
            &dy,
            |y| window_loss(&target, y, &mut vec![0.0; y.len()], 1, 3, steps, batch).unwrap(),
            1e-9,
        );
        assert!(window_loss(&target, &y, &mut dy, 0, 2, steps, batch).is_none());
    }

    #[test]
    fn word_cross_entropy_gradient_matches_finite_differences() {
        let (steps, batch, out) = (4, 2, 5);
        let target = Target::Words {
            labels: vec![0, 4, 2, 2, 1, 3, 4, 0],
        };
        let (t0, t1) = (1, 3);
        let y = values((t1 - t0) * batch * out, 4, 3.0);
        let mut dy = vec![0.0; y.len()];
        let loss = window_loss(&target, &y, &mut dy, t0, t1, steps, batch).unwrap();
        // The mean over the window's 4 words of log-sum-exp(z) - z_label.
        let want = [2usize, 2, 1, 3]
            .iter()
            .enumerate()
            .map(|(r, &l)| {
                let z = &y[r * out..(r + 1) * out];
                z.iter().map(|v| v.exp()).sum::<f64>().ln() - z[l]
            })
            .sum::<f64>()
            / 4.0;
        assert!((loss - want).abs() < 1e-14 * want, "{loss} vs {want}");
        check(
            "word ce",
            &y,
            &dy,
            |y| window_loss(&target, y, &mut vec![0.0; y.len()], t0, t1, steps, batch).unwrap(),
            1e-9,
        );
        // Bits per word over the whole sequence: the same mean, per ln 2.
        let all = values(steps * batch * out, 5, 3.0);
        let mut sums = EvalSums::default();
        sums.add(&target, &all, steps, batch);
        let mut d = vec![0.0; all.len()];
        let mean = window_loss(&target, &all, &mut d, 0, steps, steps, batch).unwrap();
        let bpw = sums.finish().bits_per_word.unwrap();
        assert!((bpw - mean / std::f64::consts::LN_2).abs() < 1e-12);
        assert!(sums.finish().accuracy.is_none() && sums.finish().mse.is_none());
    }

    #[test]
    fn eval_measures() {
        let target = Target::Trajectory {
            values: vec![0.0; 2 * 2 * 2],
            feedback: vec![true, false],
        };
        let y = vec![1.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0];
        let mut sums = EvalSums::default();
        sums.add(&target, &y, 2, 2);
        let m = sums.finish();
        assert_eq!(m.mse, Some(5.0 / 4.0));
        assert_eq!(m.mse_feedback, Some(1.0 / 2.0));
        assert!(m.accuracy.is_none());
        let target = Target::Class { labels: vec![1, 0] };
        let y = vec![0.0, 5.0, 0.0, 5.0];
        let mut sums = EvalSums::default();
        sums.add(&target, &y, 1, 2);
        let m = sums.finish();
        assert_eq!(m.accuracy, Some(0.5));
        // Both samples put p1 = 1 / (1 + e^-5) on class 1 and p0 = 1 - p1 on class 0; sample 0
        // (label 1) is right, sample 1 (label 0) wrong.
        let p1 = 1.0 / (1.0 + (-5f64).exp());
        let close = |a: Option<f64>, b: f64| (a.unwrap() - b).abs() < 1e-15;
        assert!(close(m.certainty, p1), "{:?}", m.certainty);
        assert!(close(m.dysmetria, 1.0 - p1), "{:?}", m.dysmetria);
        let p0 = (-5f64).exp() / (1.0 + (-5f64).exp());
        let nll = (-(p1.ln()) - p0.ln()) / 2.0;
        assert!(close(m.nll, nll), "{:?} vs {nll}", m.nll);
        assert!(m.mse.is_none());
    }
}
