//! Task losses, per window (the trainer sums them over windows, each window's mean weighing the
//! same, as the authors' code does), and the evaluation measures over whole sequences.
//!
//! | target | loss of a window | measures |
//! |---|---|---|
//! | [`Target::Trajectory`] | MSE at the feedback steps | `mse` (all steps), `mse_feedback`, dysmetria |
//! | [`Target::Masked`] | MSE where the mask is set | the same, `mse_feedback` where the mask is set |
//! | [`Target::Bits`] | logistic cross-entropy where the mask is set | `bits_per_sequence`, `bit_errors` |
//! | [`Target::Class`] | cross-entropy at the last step | accuracy, NLL, certainty |
//! | [`Target::Labels`] | cross-entropy at the labelled steps | the same, per labelled step |
//! | [`Target::Words`] | cross-entropy at every step | bits per word |

mod masked;

pub use masked::{logistic_loss, sigmoid};

use crate::real::Real;
use std::collections::BTreeMap;

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
    /// A trajectory scored where `mask` is set: `values` and `mask` are time-major
    /// (`steps · batch × outputs`); the task loss is the mean squared error over the window's
    /// masked values. A mask that sets every value of the feedback steps is
    /// [`Target::Trajectory`] to the bit.
    Masked { values: Vec<T>, mask: Vec<bool> },
    /// Bits (0 or 1) read through a logistic from the readout's logits, scored where `mask` is
    /// set (time-major, `steps · batch × outputs`): the mean logistic cross-entropy over the
    /// window's masked values (the copy tasks).
    Bits { values: Vec<T>, mask: Vec<bool> },
    /// A class label per step and sample (time-major, `steps · batch`), -1 where there is none:
    /// the mean cross-entropy over the window's labelled steps.
    Labels { labels: Vec<i32> },
}

/// [`window_loss`] of every window of `windows` into `losses` (cleared first); `y` and `dy`
/// hold the readout of the steps from the first window's start on.
pub fn window_losses<T: Real>(
    target: &Target<T>,
    (y, dy): (&[T], &mut [T]),
    windows: &[(usize, usize)],
    (steps, batch, outputs): (usize, usize, usize),
    losses: &mut Vec<Option<f64>>,
) {
    losses.clear();
    let first = windows.first().map_or(0, |w| w.0);
    for &(t0, t1) in windows {
        let r = (t0 - first) * batch * outputs..(t1 - first) * batch * outputs;
        let (y, dy) = (&y[r.clone()], &mut dy[r]);
        losses.push(window_loss(target, y, dy, t0, t1, steps, batch));
    }
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
    if !matches!(target, Target::Words { .. }) {
        // Every row of a word target is written whole below (its softmax gradient).
        dy.fill(T::ZERO);
    }
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
        Target::Masked { values, mask } => {
            masked::masked_mse(values, mask, y, dy, t0 * batch * out..t1 * batch * out)
        }
        Target::Bits { values, mask } => {
            masked::masked_bits(values, mask, y, dy, t0 * batch * out..t1 * batch * out)
        }
        Target::Labels { labels } => {
            masked::step_labels(&labels[t0 * batch..t1 * batch], y, dy, out)
        }
        Target::Words { labels } => {
            let words = &labels[t0 * batch..t1 * batch];
            let scale = 1.0 / words.len() as f64;
            let losses = word_losses(y, dy, words, out, scale);
            Some(losses.iter().sum::<f64>() * scale)
        }
    }
}

/// Softmax rows of at least this many logits in all are split over the run's threads (the
/// caption model's 400 rows of 9956 words); fewer stay on one.
const PARALLEL_LOGITS: usize = 1 << 16;

/// Each word's cross-entropy ([`cross_entropy_row`]), its gradient written into its row of
/// `dy`: rows in pieces on the run's threads when there are many logits. Each row is computed
/// whole by one thread and the losses are returned in row order, so their sum does not depend
/// on the thread count.
fn word_losses<T: Real>(y: &[T], dy: &mut [T], words: &[u32], out: usize, scale: f64) -> Vec<f64> {
    let mut losses = vec![0.0; words.len()];
    let rows = crate::pool::piece(words.len(), y.len(), PARALLEL_LOGITS, 1);
    let pieces: Vec<_> = losses
        .chunks_mut(rows)
        .zip(y.chunks(rows * out).zip(dy.chunks_mut(rows * out)))
        .zip(words.chunks(rows))
        .collect();
    crate::pool::each(pieces, |((losses, (y, dy)), words)| {
        let rows = y.chunks_exact(out).zip(dy.chunks_exact_mut(out)).zip(words);
        for (loss, ((z, g), &label)) in losses.iter_mut().zip(rows) {
            *loss = cross_entropy_row(z, label as usize, g, scale);
        }
    });
    losses
}

/// Cross-entropy `-ln softmax(z)[label]` of one row of logits, with its gradient
/// `scale · (softmax(z) - onehot(label))` written into `g`, without allocating (the caption
/// task's rows are as wide as the vocabulary): the exponentials in `T` through the vectorised
/// loops of [`crate::simd`], their sum and the loss in f64. The largest logit and the sum run
/// in [`LANES`] independent lanes, so that they vectorise instead of waiting on one chain of
/// compares or additions per logit (the sequential f64 sum alone was 3% of a caption batch).
fn cross_entropy_row<T: Real>(z: &[T], label: usize, g: &mut [T], scale: f64) -> f64 {
    let m = row_max(z);
    crate::simd::vectorize(|| {
        for (gk, &zk) in g.iter_mut().zip(z) {
            *gk = (zk - m).exp();
        }
    });
    let sum = row_sum(g);
    let norm = T::from_f64(scale / sum);
    crate::simd::vectorize(|| g.iter_mut().for_each(|gk| *gk *= norm));
    g[label] -= T::from_f64(scale);
    sum.ln() - (z[label] - m).to_f64()
}

/// Independent accumulators of [`row_max`] and [`row_sum`]: two AVX2 registers of f32, four
/// of f64, enough to hide the latency of the additions.
const LANES: usize = 16;

/// The largest logit of a row (the first one when it is NaN; NaNs after it are passed over).
/// Lane by lane, then across the lanes: the maximum does not depend on the order, so this is
/// the value the sequential fold gives (up to the sign of a zero maximum, which changes no
/// `z - max` of the row and no exponential).
fn row_max<T: Real>(z: &[T]) -> T {
    let keep_larger = |a: T, b: T| if b > a { b } else { a };
    let chunks = z.chunks_exact(LANES);
    let rest = chunks.remainder();
    // The lanes live inside the kernel, so that they stay in registers.
    let lanes = crate::simd::vectorize(|| {
        let mut lanes = [z[0]; LANES];
        for c in chunks {
            for (a, &v) in lanes.iter_mut().zip(c) {
                *a = keep_larger(*a, v);
            }
        }
        lanes
    });
    lanes
        .into_iter()
        .chain(rest.iter().copied())
        .fold(z[0], keep_larger)
}

/// The sum of a row in f64, in [`LANES`] partial sums (the order differs from a sequential sum
/// only in the last bits of the f64 sum, far below the f32 values it normalises).
fn row_sum<T: Real>(x: &[T]) -> f64 {
    let chunks = x.chunks_exact(LANES);
    let rest: f64 = chunks.remainder().iter().map(|v| v.to_f64()).sum();
    let lanes = crate::simd::vectorize(|| {
        let mut lanes = [0.0f64; LANES];
        for c in chunks {
            for (a, v) in lanes.iter_mut().zip(c) {
                *a += v.to_f64();
            }
        }
        lanes
    });
    lanes.iter().sum::<f64>() + rest
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
    /// Masked trajectories: the rows the masked values make (masked values / outputs), beside
    /// `rows_feedback`.
    pub masked_rows: f64,
    /// Bits: the masked values scored, their summed logistic cross-entropy (nats), and those on
    /// the wrong side of 1/2.
    pub bit_values: usize,
    pub bit_nats: f64,
    pub bit_errors: usize,
    /// Labels per step: the labelled rows (`nll`, `correct` and `certainty` are summed over them).
    pub labelled: usize,
}

/// Evaluation measures of a model on a set of samples.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
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
    /// The measures of a target or a task beyond these, by name: `bits_per_sequence` and
    /// `bit_errors` (per sequence) of bits, a task's own (the copy task's `length`, the eyeblink
    /// task's `cr_rate`, ...; see [`crate::tasks::Task::evaluate`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub measures: BTreeMap<String, f64>,
}

impl EvalMetrics {
    /// The headline measure of a task's evaluation, named: MSE for drawing, accuracy for
    /// classification, bits per word for captions, bits per sequence for bits.
    pub fn headline(&self) -> (&'static str, f64) {
        match (self.mse, self.accuracy, self.bits_per_word) {
            (Some(mse), _, _) => ("mse", mse),
            (None, Some(acc), _) => ("accuracy", acc),
            (None, None, Some(bpw)) => ("bits per word", bpw),
            _ => match self.measures.get(BITS_PER_SEQUENCE) {
                Some(&bits) => ("bits per sequence", bits),
                None => ("none", f64::NAN),
            },
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

/// The measure of bits: the logistic cross-entropy per sequence, in bits.
pub const BITS_PER_SEQUENCE: &str = "bits_per_sequence";
/// The measure of bits: the bits per sequence on the wrong side of 1/2.
pub const BIT_ERRORS: &str = "bit_errors";

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
            Target::Masked { values, mask } => {
                masked::add_masked(self, values, mask, y, steps, batch)
            }
            Target::Bits { values, mask } => masked::add_bits(self, values, mask, y),
            Target::Labels { labels } => masked::add_labels(self, labels, y),
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
        if self.bit_values > 0 {
            let per_sequence = |x: f64| x / self.samples.max(1) as f64;
            let measures = BTreeMap::from([
                (
                    BITS_PER_SEQUENCE.to_string(),
                    per_sequence(self.bit_nats / std::f64::consts::LN_2),
                ),
                (BIT_ERRORS.to_string(), per_sequence(self.bit_errors as f64)),
            ]);
            return EvalMetrics {
                measures,
                ..EvalMetrics::default()
            };
        }
        let per = |x: f64, n: f64| (n > 0.0).then(|| x / n);
        // Classes are scored per sample, labels per step per labelled row.
        let scored = match self.labelled {
            0 => self.samples.max(1),
            n => n,
        } as f64;
        EvalMetrics {
            mse: per(self.sq_err_all, self.rows_all as f64),
            mse_feedback: per(
                self.sq_err_feedback,
                self.rows_feedback as f64 + self.masked_rows,
            ),
            accuracy: (self.rows_all == 0).then(|| self.correct as f64 / scored),
            nll: (self.rows_all == 0).then(|| self.nll / scored),
            certainty: (self.rows_all == 0).then(|| self.certainty / scored),
            dysmetria: if self.rows_all > 0 {
                Some(self.dysmetria / self.samples.max(1) as f64)
            } else {
                Some(crate::measures::dysmetria_classification(
                    self.certainty / scored,
                ))
            },
            bits_per_word: None,
            measures: BTreeMap::new(),
        }
    }
}

#[cfg(test)]
mod tests;
