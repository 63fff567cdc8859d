//! Gradient clipping and the optimizers (PyTorch semantics), over the flat parameter vector; their
//! loops run compiled for the CPU's vector instructions ([`crate::simd`]).

use crate::real::Real;
use crate::simd::{self, Simd, WithSimd};
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// The optimizer and its hyper-parameters.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "lowercase", deny_unknown_fields)]
pub enum OptimizerKind {
    /// `torch.optim.Adam` without weight decay (the papers: betas 0.9, 0.98, eps 1e-9).
    Adam { beta1: f64, beta2: f64, eps: f64 },
    /// `torch.optim.SGD` with momentum (no dampening, no Nesterov).
    Sgd { momentum: f64 },
    /// `torch.optim.RMSprop` (no momentum, not centred).
    Rmsprop { alpha: f64, eps: f64 },
}

impl Default for OptimizerKind {
    fn default() -> Self {
        OptimizerKind::Adam {
            beta1: 0.9,
            beta2: 0.98,
            eps: 1e-9,
        }
    }
}

/// Optimizer state for every parameter (first and second moments, step count).
#[derive(Clone, Debug)]
pub struct Optimizer<T> {
    pub kind: OptimizerKind,
    pub lr: f64,
    /// Learning rates of their own for parameter ranges (the cerebellum's, `cerebellum.lr`): a
    /// range that starts inside one of these takes its rate instead of `lr`.
    pub range_lr: Vec<(Range<usize>, f64)>,
    pub step: u64,
    pub m: Vec<T>,
    pub v: Vec<T>,
}

impl<T: Real> Optimizer<T> {
    pub fn new(kind: OptimizerKind, lr: f64, params: usize) -> Self {
        Optimizer {
            kind,
            lr,
            range_lr: Vec::new(),
            step: 0,
            m: vec![T::ZERO; params],
            v: vec![T::ZERO; params],
        }
    }

    /// One update of the parameters in `ranges` (the others, a frozen cerebellum say, are left
    /// as they are, and so is their state). The gradients it applies are zeroed on the way, as
    /// `zero_grad` would before the next backward pass: one pass over memory instead of two.
    pub fn update(&mut self, params: &mut [T], grads: &mut [T], ranges: &[Range<usize>]) {
        self.step += 1;
        let (kind, lr, step) = (self.kind, self.lr, self.step);
        for r in ranges {
            let own = self.range_lr.iter().find(|(o, _)| o.contains(&r.start));
            let lr = own.map_or(lr, |o| o.1);
            let (p, g) = (&mut params[r.clone()], &mut grads[r.clone()]);
            let (m, v) = (&mut self.m[r.clone()], &mut self.v[r.clone()]);
            // Elementwise, so pieces on the run's threads give the same numbers as one pass.
            let piece = crate::pool::piece(r.len(), r.len(), PARALLEL, 16);
            let pieces: Vec<_> = p
                .chunks_mut(piece)
                .zip(g.chunks_mut(piece))
                .zip(m.chunks_mut(piece).zip(v.chunks_mut(piece)))
                .collect();
            crate::pool::each(pieces, |((p, g), (m, v))| {
                simd::vectorize(Update {
                    kind,
                    lr,
                    step,
                    p,
                    g,
                    m,
                    v,
                })
            });
        }
    }
}

/// Parameter ranges of at least this many entries are updated on all of the run's threads (the
/// caption model's readout and embedding, millions of parameters each); smaller ones on one.
pub const PARALLEL: usize = 1 << 18;

/// One update of a range of parameters `p` with gradients `g` (left at zero) and optimizer
/// state `m`, `v` (a kernel for [`simd::vectorize`]).
struct Update<'a, T> {
    kind: OptimizerKind,
    lr: f64,
    step: u64,
    p: &'a mut [T],
    g: &'a mut [T],
    m: &'a mut [T],
    v: &'a mut [T],
}

impl<T: Real> WithSimd for Update<'_, T> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, _: S) {
        let Update {
            kind,
            lr,
            step,
            p,
            g,
            m,
            v,
        } = self;
        match kind {
            OptimizerKind::Adam { beta1, beta2, eps } => {
                let t = step as i32;
                let step_size = T::from_f64(lr / (1.0 - beta1.powi(t)));
                let bc2_sqrt = T::from_f64((1.0 - beta2.powi(t)).sqrt());
                let (b1, b2, eps) = (T::from_f64(beta1), T::from_f64(beta2), T::from_f64(eps));
                for (((p, m), v), g) in p.iter_mut().zip(m).zip(v).zip(g) {
                    let g = std::mem::replace(g, T::ZERO);
                    *m = b1 * *m + (T::ONE - b1) * g;
                    *v = b2 * *v + (T::ONE - b2) * g * g;
                    *p -= step_size * *m / (v.sqrt() / bc2_sqrt + eps);
                }
            }
            OptimizerKind::Sgd { momentum } => {
                let (mu, lr) = (T::from_f64(momentum), T::from_f64(lr));
                let first = step == 1;
                for ((p, m), g) in p.iter_mut().zip(m).zip(g) {
                    let g = std::mem::replace(g, T::ZERO);
                    *m = if first { g } else { mu * *m + g };
                    *p -= lr * *m;
                }
            }
            OptimizerKind::Rmsprop { alpha, eps } => {
                let (a, eps, lr) = (T::from_f64(alpha), T::from_f64(eps), T::from_f64(lr));
                for ((p, v), g) in p.iter_mut().zip(v).zip(g) {
                    let g = std::mem::replace(g, T::ZERO);
                    *v = a * *v + (T::ONE - a) * g * g;
                    *p -= lr * g / (v.sqrt() + eps);
                }
            }
        }
    }
}

/// Global L2 norm of the gradients in `ranges` (accumulated in f64).
pub fn grad_norm<T: Real>(grads: &[T], ranges: &[Range<usize>]) -> f64 {
    ranges
        .iter()
        .map(|r| blocked_sum_of_squares(&grads[r.clone()]))
        .sum::<f64>()
        .sqrt()
}

/// A range of the gradients longer than this is summed in blocks of this many values, the
/// blocks' sums then added in order: a cut fixed by the range alone, so the blocks can be summed
/// on the run's threads with the same result on every thread count. A shorter range (every range
/// of the reach and MNIST-sized models) is one pass, as it always was.
const NORM_BLOCK: usize = PARALLEL;

/// [`sum_of_squares`] of `x`, in blocks of [`NORM_BLOCK`] on the run's threads when longer.
fn blocked_sum_of_squares<T: Real>(x: &[T]) -> f64 {
    if x.len() <= NORM_BLOCK {
        return sum_of_squares(x);
    }
    let blocks: Vec<&[T]> = x.chunks(NORM_BLOCK).collect();
    let mut sums = vec![0.0; blocks.len()];
    let piece = crate::pool::piece(blocks.len(), x.len(), PARALLEL, 1);
    let pieces = sums.chunks_mut(piece).zip(blocks.chunks(piece)).collect();
    crate::pool::each(pieces, |(sums, blocks): (&mut [f64], &[&[T]])| {
        for (s, b) in sums.iter_mut().zip(blocks) {
            *s = sum_of_squares(b);
        }
    });
    sums.iter().sum()
}

/// Sum of squares in f64, over 8 independent accumulators so that it vectorises.
fn sum_of_squares<T: Real>(x: &[T]) -> f64 {
    let chunks = x.chunks_exact(8);
    let rest: f64 = chunks
        .remainder()
        .iter()
        .map(|v| v.to_f64() * v.to_f64())
        .sum();
    // The accumulators live inside the kernel, so that they stay in registers (captured from
    // outside, they went through memory on every chunk: 5% of a caption batch).
    let acc = simd::vectorize(|| {
        let mut acc = [0.0f64; 8];
        for c in chunks {
            for (a, v) in acc.iter_mut().zip(c) {
                *a += v.to_f64() * v.to_f64();
            }
        }
        acc
    });
    acc.iter().sum::<f64>() + rest
}

/// PyTorch's `clip_grad_norm_`: scales every gradient by `min(1, max_norm / (norm + 1e-6))`
/// (applied even when it is exactly 1). Returns the norm before clipping and the scale.
pub fn clip<T: Real>(grads: &mut [T], ranges: &[Range<usize>], max_norm: f64) -> (f64, f64) {
    let norm = grad_norm(grads, ranges);
    let scale = (max_norm / (norm + 1e-6)).min(1.0);
    let s = T::from_f64(scale);
    for r in ranges {
        let piece = crate::pool::piece(r.len(), r.len(), PARALLEL, 16);
        crate::pool::each(
            grads[r.clone()].chunks_mut(piece).collect(),
            |g: &mut [T]| simd::vectorize(|| g.iter_mut().for_each(|g| *g *= s)),
        );
    }
    (norm, scale)
}

#[cfg(test)]
#[allow(clippy::single_range_in_vec_init)]
mod tests {
    use super::*;

    #[test]
    fn adam_first_step_is_lr_times_sign() {
        let mut p = vec![1.0f64, -2.0, 0.5];
        let mut g = vec![0.3, -4.0, 0.0];
        let mut opt = Optimizer::new(OptimizerKind::default(), 0.01, 3);
        opt.update(&mut p, &mut g, &[0..3]);
        assert_eq!(g, [0.0; 3], "the applied gradients are cleared");
        // Bias-corrected m = g and sqrt(v) = |g|: the step is lr g / (|g| + eps), eps = 1e-9.
        let want = |p0: f64, g: f64| p0 - 0.01 * g / (g.abs() + 1e-9);
        assert!((p[0] - want(1.0, 0.3)).abs() < 1e-15, "{}", p[0]);
        assert!((p[1] - want(-2.0, -4.0)).abs() < 1e-15, "{}", p[1]);
        assert_eq!(p[2], 0.5);
    }

    #[test]
    fn sgd_momentum_and_rmsprop_follow_pytorch() {
        let mut p = vec![1.0f64];
        let mut opt = Optimizer::new(OptimizerKind::Sgd { momentum: 0.9 }, 0.1, 1);
        opt.update(&mut p, &mut [1.0], &[0..1]);
        opt.update(&mut p, &mut [1.0], &[0..1]);
        assert!((p[0] - (1.0 - 0.1 - 0.19)).abs() < 1e-15);
        let mut p = vec![1.0f64];
        let mut opt = Optimizer::new(
            OptimizerKind::Rmsprop {
                alpha: 0.99,
                eps: 1e-8,
            },
            0.01,
            1,
        );
        opt.update(&mut p, &mut [2.0], &[0..1]);
        let want = 1.0 - 0.01 * 2.0 / ((0.01f64 * 4.0).sqrt() + 1e-8);
        assert!((p[0] - want).abs() < 1e-15);
    }

    #[test]
    fn frozen_ranges_are_left_alone() {
        let mut p = vec![1.0f64, 1.0];
        let mut opt = Optimizer::new(OptimizerKind::default(), 0.1, 2);
        let mut g = [1.0, 1.0];
        opt.update(&mut p, &mut g, &[0..1]);
        assert_eq!(p[1], 1.0);
        assert_eq!(opt.m[1], 0.0);
        assert_eq!(g, [0.0, 1.0], "only the applied gradient is cleared");
    }

    #[test]
    fn a_range_with_its_own_rate_steps_by_it() {
        let mut p = vec![1.0f64, 1.0, 1.0];
        let mut opt = Optimizer::new(OptimizerKind::default(), 0.1, 3);
        opt.range_lr.push((1..3, 0.01));
        opt.update(&mut p, &mut [1.0, 1.0, -1.0], &[0..1, 1..3]);
        // Adam's first step is lr · sign(g) (up to eps).
        let step = |lr: f64, g: f64| lr * g / (g.abs() + 1e-9);
        assert_eq!(p[0], 1.0 - step(0.1, 1.0));
        assert_eq!(p[1], 1.0 - step(0.01, 1.0));
        assert_eq!(p[2], 1.0 - step(0.01, -1.0));
        // A range given the common rate steps bit for bit as without one.
        let run = |own: bool| {
            let mut p = vec![0.5f32, -0.25, 2.0];
            let mut opt = Optimizer::new(OptimizerKind::default(), 0.003, 3);
            if own {
                opt.range_lr.push((1..3, 0.003));
            }
            for g in [[0.1f32, -0.2, 0.3], [0.4, 0.1, -0.7]] {
                opt.update(&mut p, &mut g.clone(), &[0..1, 1..3]);
            }
            p
        };
        assert_eq!(run(true), run(false));
    }

    #[test]
    fn large_updates_on_every_thread_count_give_the_same_bits() {
        let n = PARALLEL * 2 + 5;
        let run = || {
            let mut p: Vec<f32> = (0..n).map(|i| (i as f32 * 0.01).sin()).collect();
            let mut opt = Optimizer::new(OptimizerKind::default(), 0.01, n + 3);
            for step in 0..3 {
                let mut g: Vec<f32> = (0..n)
                    .map(|i| (i as f32 * 0.7 + step as f32).cos())
                    .collect();
                opt.update(&mut p, &mut g, &[0..3, 3..n]);
                assert!(g.iter().all(|&g| g == 0.0));
            }
            (p, opt.m, opt.v)
        };
        let one = run();
        for threads in [2, 3] {
            let many = crate::pool::install(crate::pool::Pool::new(threads), run);
            assert_eq!(one, many, "{threads} threads");
        }
    }

    #[test]
    fn the_norm_of_a_long_range_is_the_same_on_every_thread_count() {
        let n = NORM_BLOCK * 3 + 7;
        let g: Vec<f32> = (0..n).map(|i| (i as f32 * 0.3).sin()).collect();
        let ranges = [0..5, 5..n];
        let run = || {
            let mut c = g.clone();
            (grad_norm(&g, &ranges), clip(&mut c, &ranges, 0.5), c)
        };
        let one = run();
        for threads in [2, 3] {
            let many = crate::pool::install(crate::pool::Pool::new(threads), run);
            assert!(many == one, "{threads} threads");
        }
        // The blocks' sums added in order; a short range is one pass, as before the blocks.
        let blocks: f64 = g[5..].chunks(NORM_BLOCK).map(sum_of_squares).sum();
        assert_eq!(one.0, (sum_of_squares(&g[..5]) + blocks).sqrt());
        assert_eq!(
            grad_norm(&g, &[0..NORM_BLOCK]),
            sum_of_squares(&g[..NORM_BLOCK]).sqrt()
        );
        let whole: f64 = g.iter().map(|&v| v as f64 * v as f64).sum();
        assert!((one.0 - whole.sqrt()).abs() < 1e-9 * whole.sqrt());
    }

    #[test]
    fn clip_scales_to_max_norm() {
        let mut g = vec![3.0f64, 4.0];
        let (norm, scale) = clip(&mut g, &[0..2], 1.0);
        assert_eq!(norm, 5.0);
        assert!((scale - 1.0 / (5.0 + 1e-6)).abs() < 1e-15);
        let mut g = vec![0.3f64, 0.4];
        assert_eq!(clip(&mut g, &[0..2], 1.0).1, 1.0);
    }
}
