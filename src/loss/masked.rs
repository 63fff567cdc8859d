//! The losses of targets scored where a mask or a label says so: a masked trajectory (mean
//! squared error over the masked values), masked bits (logistic cross-entropy over the masked
//! values) and a label per step (cross-entropy over the labelled steps). Each window's loss is
//! the mean over the values it scores, as for the other targets; a window that scores nothing
//! has no loss.
//!
//! Shapes (legend): B = batch, O = outputs; `values`, `mask` and the readout `y` are time-major,
//! row `t · B + b` of O values; the window's `y` and `dy` start at its first step.

use crate::real::Real;

/// Mean squared error over the masked values of the window `t0..t1`, and its gradient in `dy`
/// (zero where the mask is not set). Summed in the order of [`super::Target::Trajectory`], so
/// a mask that sets every value of some steps gives that target's loss and gradient to the bit.
pub(super) fn masked_mse<T: Real>(
    values: &[T],
    mask: &[bool],
    y: &[T],
    dy: &mut [T],
    rows: std::ops::Range<usize>,
) -> Option<f64> {
    masked_mean(values, mask, y, dy, rows, |y, t| {
        let e = (y - t).to_f64();
        (e * e, 2.0 * e)
    })
}

/// The mean of `value_loss(y, target)`'s loss over the masked values of the window, its
/// gradient (the second value, divided by the count) in `dy`; `None` where nothing is masked.
fn masked_mean<T: Real>(
    values: &[T],
    mask: &[bool],
    y: &[T],
    dy: &mut [T],
    rows: std::ops::Range<usize>,
    value_loss: impl Fn(T, T) -> (f64, f64),
) -> Option<f64> {
    let (values, mask) = (&values[rows.clone()], &mask[rows]);
    let count = mask.iter().filter(|&&m| m).count();
    if count == 0 {
        return None;
    }
    let scale = 1.0 / count as f64;
    let mut loss = 0.0;
    for (((d, &yv), &tv), _) in dy
        .iter_mut()
        .zip(y)
        .zip(values)
        .zip(mask)
        .filter(|(_, m)| **m)
    {
        let (l, g) = value_loss(yv, tv);
        loss += l;
        *d = T::from_f64(g * scale);
    }
    Some(loss * scale)
}

/// The logistic cross-entropy of logit `z` against the bit `t` (0 or 1), in nats:
/// `ln(1 + e^z) - t z`, computed without overflow.
pub fn logistic_loss(z: f64, t: f64) -> f64 {
    z.max(0.0) - t * z + (-z.abs()).exp().ln_1p()
}

/// The logistic function.
pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// Mean logistic cross-entropy over the masked values of the window (the readout is a logit per
/// bit), and its gradient `(σ(z) - t) / count` in `dy`.
pub(super) fn masked_bits<T: Real>(
    values: &[T],
    mask: &[bool],
    y: &[T],
    dy: &mut [T],
    rows: std::ops::Range<usize>,
) -> Option<f64> {
    masked_mean(values, mask, y, dy, rows, |z, t| {
        let (z, t) = (z.to_f64(), t.to_f64());
        (logistic_loss(z, t), sigmoid(z) - t)
    })
}

/// Mean cross-entropy over the labelled rows of the window (`labels` of its rows, -1: none), and
/// its gradient `(softmax(z) - onehot) / count` in `dy`. A label per step at the last step only
/// gives [`super::Target::Class`]'s loss and gradient.
pub(super) fn step_labels<T: Real>(
    labels: &[i32],
    y: &[T],
    dy: &mut [T],
    out: usize,
) -> Option<f64> {
    let count = labels.iter().filter(|&&l| l >= 0).count();
    if count == 0 {
        return None;
    }
    let mut loss = 0.0;
    for ((z, g), &label) in y
        .chunks_exact(out)
        .zip(dy.chunks_exact_mut(out))
        .zip(labels)
        .filter(|(_, l)| **l >= 0)
    {
        let p = super::softmax(z);
        let label = label as usize;
        loss -= p[label].ln();
        for (k, (gk, pk)) in g.iter_mut().zip(&p).enumerate() {
            let onehot = if k == label { 1.0 } else { 0.0 };
            *gk = T::from_f64((pk - onehot) / count as f64);
        }
    }
    Some(loss / count as f64)
}

/// Adds a masked trajectory's evaluation sums: the squared error over all values (as a
/// trajectory's), over the masked values, and the rows those make (masked values / outputs).
pub(super) fn add_masked<T: Real>(
    sums: &mut super::EvalSums,
    values: &[T],
    mask: &[bool],
    y: &[T],
    steps: usize,
    batch: usize,
) {
    let out = y.len() / (steps * batch);
    if out == 2 {
        sums.dysmetria += crate::measures::dysmetria_batch(y, values, steps, batch) * batch as f64;
    }
    for t in 0..steps {
        let rows = t * batch * out..(t + 1) * batch * out;
        let (mut all, mut masked, mut n) = (0.0, 0.0, 0usize);
        for ((a, b), &m) in y[rows.clone()]
            .iter()
            .zip(&values[rows.clone()])
            .zip(&mask[rows])
        {
            let e = (a.to_f64() - b.to_f64()).powi(2);
            all += e;
            if m {
                masked += e;
                n += 1;
            }
        }
        sums.sq_err_all += all;
        sums.rows_all += batch;
        if n > 0 {
            sums.sq_err_feedback += masked;
            sums.masked_rows += n as f64 / out as f64;
        }
    }
}

/// Adds masked bits' evaluation sums: the logistic cross-entropy over the masked values, and
/// the bits that fall on the wrong side of 1/2.
pub(super) fn add_bits<T: Real>(sums: &mut super::EvalSums, values: &[T], mask: &[bool], y: &[T]) {
    for ((&z, &t), _) in y.iter().zip(values).zip(mask).filter(|(_, m)| **m) {
        let (z, t) = (z.to_f64(), t.to_f64());
        sums.bit_values += 1;
        sums.bit_nats += logistic_loss(z, t);
        sums.bit_errors += usize::from((z > 0.0) != (t > 0.5));
    }
}

/// Adds per-step labels' evaluation sums: per labelled row the negative log-likelihood, whether
/// the most likely class is the label, and its probability.
pub(super) fn add_labels<T: Real>(sums: &mut super::EvalSums, labels: &[i32], y: &[T]) {
    let out = y.len() / labels.len().max(1);
    for (z, &label) in y.chunks_exact(out).zip(labels).filter(|(_, l)| **l >= 0) {
        let p = super::softmax(z);
        let best = (0..out).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap_or(0);
        sums.nll -= p[label as usize].max(f64::MIN_POSITIVE).ln();
        sums.correct += usize::from(best == label as usize);
        sums.certainty += p[best];
        sums.labelled += 1;
    }
}
