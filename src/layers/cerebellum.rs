//! The cerebellum (ML name: the *synthesizer* of decoupled neural interfaces): an MLP from the
//! cortical state (its *mossy-fibre* input) through one or more ReLU *granule* layers to a
//! prediction of the gradient of the future loss with respect to that state. Its output layer
//! starts at exactly zero, so it initially predicts nothing (docs/model.md §1.2).
//!
//! **How it learns.** At every window boundary of a training batch the cerebellum reads the
//! cortical state `s_start` and predicts `C(s_start)`. Its target is the *teaching signal* `g`
//! (the inferior olive's climbing-fibre signal): the gradient that arrives at `s_start` when the
//! cortex backpropagates through that window, seeded with the window's task loss and the
//! cerebellum's own injected prediction `λ C(s_end)` at the window's end (computed in
//! `crate::trainer::backward_windows`). It learns by regression, loss `‖C(s_start) − g‖²`, whose
//! gradient `2 (C − g)` is formed in `crate::trainer::teach_cerebellum` and backpropagated
//! through this network by [`Cerebellum::backward`]; its input is detached, so nothing flows
//! back to the cortex (docs/model.md §2). After an inferior-olive lesion it stops learning but
//! keeps predicting.
//!
//! Optional *sparse mossy-fibre connectivity*: each granule cell of the first layer sees only `k`
//! random inputs, fixed for the run; the other weights are zero and stay zero (their gradients are
//! masked). Optional *context* (cDNI): an extra linear map of a context vector added to the first
//! granule layer's input current.

use super::linear::Linear;
use crate::params::Layout;
use crate::real::Real;
use crate::rng::Rng;
use crate::simd;

/// Layers of the cerebellar network, its sparse mask and optional context input.
#[derive(Clone, Debug)]
pub struct Cerebellum {
    /// `layers[0]`: mossy fibres -> granule; the last: granule -> output (the prediction).
    pub layers: Vec<Linear>,
    /// For each weight of `layers[0]`, whether the connection exists (`None`: dense).
    pub mask: Option<Vec<bool>>,
    pub context: Option<Linear>,
}

/// Activations of one forward pass, kept for the backward pass.
#[derive(Clone, Debug, Default)]
pub struct CerebellumTrace<T> {
    pub rows: usize,
    /// `acts[0]` is the input; `acts[l]` (l ≥ 1) is the ReLU output of granule layer `l - 1`.
    pub acts: Vec<Vec<T>>,
    /// The prediction, `rows × output`.
    pub output: Vec<T>,
    grad_a: Vec<T>,
    grad_b: Vec<T>,
}

impl Cerebellum {
    /// Registers `cerebellum.<i>.weight/bias` for `input -> granule × granule_layers -> input`,
    /// plus `cerebellum.context.weight/bias` when `context > 0`. `sparse_k` (if given) is the
    /// number of inputs each first-layer granule cell keeps; the mask is drawn in [`Self::init`].
    pub fn new(
        layout: &mut Layout,
        input: usize,
        granule: usize,
        granule_layers: usize,
        context: usize,
    ) -> Self {
        let mut sizes = vec![input];
        sizes.extend(std::iter::repeat_n(granule, granule_layers));
        sizes.push(input);
        let layers = sizes
            .windows(2)
            .enumerate()
            .map(|(i, w)| Linear::new(layout, &format!("cerebellum.{i}"), w[0], w[1]))
            .collect();
        let context =
            (context > 0).then(|| Linear::new(layout, "cerebellum.context", context, granule));
        Cerebellum {
            layers,
            mask: None,
            context,
        }
    }

    /// Size of the input (and the output): the cortical state size.
    pub fn input_size(&self) -> usize {
        self.layers[0].inputs
    }

    /// PyTorch default init for every layer but the output layer, which is set to zero; with
    /// `sparse_k = Some(k)`, draws the fixed sparse mask (k inputs per granule cell, without
    /// replacement) and zeroes the absent connections.
    pub fn init<T: Real>(
        &mut self,
        params: &mut [T],
        sparse_k: Option<usize>,
        rng: &mut Rng,
        mask_rng: &mut Rng,
    ) {
        for layer in &self.layers {
            layer.init(params, rng);
        }
        if let Some(ctx) = &self.context {
            ctx.init(params, rng);
        }
        let out = self.layers.last().expect("at least two layers");
        params[out.weight.clone()].fill(T::ZERO);
        params[out.bias.clone()].fill(T::ZERO);
        self.mask = sparse_k.map(|k| {
            let first = &self.layers[0];
            let mut mask = vec![false; first.outputs * first.inputs];
            for row in mask.chunks_exact_mut(first.inputs) {
                for j in mask_rng.choose(first.inputs, k) {
                    row[j] = true;
                }
            }
            mask
        });
        self.apply_mask(params);
    }

    /// Zeroes the entries of the first weight matrix (of parameters or gradients) that the
    /// sparse mask removes.
    pub fn apply_mask<T: Real>(&self, v: &mut [T]) {
        if let Some(mask) = &self.mask {
            for (w, &keep) in v[self.layers[0].weight.clone()].iter_mut().zip(mask) {
                if !keep {
                    *w = T::ZERO;
                }
            }
        }
    }

    /// Predicts for `input` (`rows × input_size`), keeping the activations in `tr`.
    pub fn forward<T: Real>(
        &self,
        p: &[T],
        input: &[T],
        context: Option<&[T]>,
        tr: &mut CerebellumTrace<T>,
    ) {
        let rows = input.len() / self.input_size();
        tr.rows = rows;
        tr.acts.resize_with(self.layers.len(), Vec::new);
        tr.acts[0].clear();
        tr.acts[0].extend_from_slice(input);
        for (l, layer) in self.layers.iter().enumerate() {
            let last = l + 1 == self.layers.len();
            let (done, rest) = tr.acts.split_at_mut(l + 1);
            let y = if last { &mut tr.output } else { &mut rest[0] };
            y.resize(rows * layer.outputs, T::ZERO);
            layer.forward(p, &done[l], y, false);
            if l == 0
                && let (Some(ctx), Some(c)) = (&self.context, context)
            {
                ctx.forward(p, c, y, true);
            }
            if !last {
                simd::vectorize(|| y.iter_mut().for_each(|v| *v = v.max(T::ZERO)));
            }
        }
    }

    /// Accumulates the parameter gradients for upstream gradient `d_out` (`rows × input_size`)
    /// using the first `d_out.len() / input_size` rows of the trace. The input is detached: no
    /// gradient flows back to the cortex.
    pub fn backward<T: Real>(
        &self,
        p: &[T],
        tr: &mut CerebellumTrace<T>,
        d_out: &[T],
        context: Option<&[T]>,
        grads: &mut [T],
    ) {
        let rows = d_out.len() / self.input_size();
        let mut d = std::mem::take(&mut tr.grad_a);
        let mut d_prev = std::mem::take(&mut tr.grad_b);
        d.clear();
        d.extend_from_slice(d_out);
        for (l, layer) in self.layers.iter().enumerate().rev() {
            let x = &tr.acts[l][..rows * layer.inputs];
            layer.backward_params(x, &d, grads);
            if l == 0 {
                if let (Some(ctx), Some(c)) = (&self.context, context) {
                    ctx.backward_params(&c[..rows * ctx.inputs], &d, grads);
                }
                break;
            }
            d_prev.resize(rows * layer.inputs, T::ZERO);
            layer.backward_input(p, &d, &mut d_prev);
            simd::vectorize(|| {
                for (g, &a) in d_prev.iter_mut().zip(x) {
                    if a <= T::ZERO {
                        *g = T::ZERO;
                    }
                }
            });
            std::mem::swap(&mut d, &mut d_prev);
        }
        self.apply_mask(grads);
        tr.grad_a = d;
        tr.grad_b = d_prev;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::gradcheck::{check, values};

    fn check_cerebellum(granule_layers: usize, sparse_k: Option<usize>, context: usize) {
        let (s, g, rows) = (6, 5, 4);
        let mut layout = Layout::default();
        let mut cb = Cerebellum::new(&mut layout, s, g, granule_layers, context);
        let mut params = vec![0.0f64; layout.len()];
        cb.init(&mut params, sparse_k, &mut Rng::new(1), &mut Rng::new(2));
        // A non-zero output layer so that every layer's gradient is exercised.
        let out = cb.layers.last().unwrap().clone();
        for (i, v) in values(out.weight.len() + out.bias.len(), 3, 0.5)
            .into_iter()
            .enumerate()
        {
            params[out.weight.start + i] = v;
        }
        let x = values(rows * s, 4, 1.0);
        let ctx = (context > 0).then(|| values(rows * context, 5, 1.0));
        let probe = values(rows * s, 6, 1.0);
        let objective = |p: &[f64]| {
            let mut tr = CerebellumTrace::default();
            cb.forward(p, &x, ctx.as_deref(), &mut tr);
            tr.output
                .iter()
                .zip(&probe)
                .map(|(a, b)| a * b)
                .sum::<f64>()
        };
        let mut tr = CerebellumTrace::default();
        cb.forward(&params, &x, ctx.as_deref(), &mut tr);
        let mut grads = vec![0.0; layout.len()];
        cb.backward(&params, &mut tr, &probe, ctx.as_deref(), &mut grads);
        if cb.mask.is_some() {
            // The check compares only the kept connections; the masked ones must have zero gradient.
            let mut numeric_masked = grads.clone();
            cb.apply_mask(&mut numeric_masked);
            assert_eq!(numeric_masked, grads);
            let mut fd = vec![0.0; layout.len()];
            let mut pp = params.clone();
            for i in 0..params.len() {
                let eps = 1e-6;
                pp[i] = params[i] + eps;
                let up = objective(&pp);
                pp[i] = params[i] - eps;
                fd[i] = (up - objective(&pp)) / (2.0 * eps);
                pp[i] = params[i];
            }
            cb.apply_mask(&mut fd);
            for (a, n) in grads.iter().zip(&fd) {
                assert!((a - n).abs() <= 1e-8 * n.abs().max(1.0), "{a} vs {n}");
            }
        } else {
            check("cerebellum params", &params, &grads, objective, 1e-8);
        }
    }

    #[test]
    fn dense_gradients_match_finite_differences() {
        check_cerebellum(1, None, 0);
        check_cerebellum(2, None, 0);
    }

    #[test]
    fn sparse_gradients_match_finite_differences() {
        check_cerebellum(2, Some(2), 0);
    }

    #[test]
    fn context_gradients_match_finite_differences() {
        check_cerebellum(1, None, 3);
    }

    #[test]
    fn init_zeroes_output_and_keeps_k_inputs_per_granule_cell() {
        let mut layout = Layout::default();
        let mut cb = Cerebellum::new(&mut layout, 8, 5, 1, 0);
        let mut p = vec![0.0f32; layout.len()];
        cb.init(&mut p, Some(3), &mut Rng::new(1), &mut Rng::new(2));
        let out = cb.layers.last().unwrap();
        assert!(p[out.weight.clone()].iter().all(|&w| w == 0.0));
        assert!(p[out.bias.clone()].iter().all(|&w| w == 0.0));
        // The mask itself (row-major granule × input): exactly 3 inputs per granule cell, and
        // the weights are zero exactly where it removes a connection.
        let mask = cb.mask.as_ref().expect("a sparse mask");
        assert_eq!(mask.len(), 5 * 8);
        let weights = &p[cb.layers[0].weight.clone()];
        let bound = 1.0 / 8f32.sqrt();
        for (g, (row, keep)) in weights
            .chunks_exact(8)
            .zip(mask.chunks_exact(8))
            .enumerate()
        {
            assert_eq!(keep.iter().filter(|&&k| k).count(), 3, "granule cell {g}");
            for (&w, &k) in row.iter().zip(keep) {
                assert_eq!(w == 0.0, !k, "granule cell {g}: weight {w}, kept {k}");
                assert!(w.abs() <= bound, "granule cell {g}: weight {w}");
            }
        }
        // Each granule cell draws its own inputs.
        assert!(mask.chunks_exact(8).any(|r| r != &mask[..8]));
        // Without sparse_k the first layer is dense.
        cb.init(&mut p, None, &mut Rng::new(1), &mut Rng::new(2));
        assert!(cb.mask.is_none());
        assert!(p[cb.layers[0].weight.clone()].iter().all(|&w| w != 0.0));
    }
}
