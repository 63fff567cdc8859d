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
//!
//! Controls and remedies (ccdni's; the authors' choice is each default, docs/model.md §1.2):
//! what the cerebellum reads ([`CerebellumInput`]: the state; nothing, so that it can learn only
//! a constant vector, its output bias; or another sample's state), the slope of the granule
//! nonlinearity below zero (`leak`, 0: ReLU; > 0: leaky ReLU), and a small random output layer
//! at initialisation ([`Cerebellum::init_output`]).

use super::linear::Linear;
use crate::params::Layout;
use crate::real::Real;
use crate::rng::Rng;
use crate::simd;
use serde::{Deserialize, Serialize};

/// What the cerebellum reads (`cerebellum.input`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CerebellumInput {
    /// The cortical state (the authors').
    #[default]
    State,
    /// Nothing: the prediction is the output bias alone, one vector for every state, learnt
    /// from the same teaching signals (the constant-cerebellum control).
    None,
    /// Another sample's state: within each block of samples, sample `σ_j` reads the state of
    /// sample `σ_{j+1}` (a fixed random cycle σ, drawn from the run's "shuffle" stream for each
    /// block size), which keeps the input's statistics and breaks the state-to-feedback map.
    Shuffled,
}

/// Layers of the cerebellar network, its sparse mask and optional context input.
#[derive(Clone, Debug)]
pub struct Cerebellum {
    /// `layers[0]`: mossy fibres -> granule; the last: granule -> output (the prediction).
    pub layers: Vec<Linear>,
    /// For each weight of `layers[0]`, whether the connection exists (`None`: dense).
    pub mask: Option<Vec<bool>>,
    pub context: Option<Linear>,
    /// What the cerebellum reads.
    pub input: CerebellumInput,
    /// Slope of the granule nonlinearity below zero (0: ReLU, the authors').
    pub leak: f64,
    /// The run seed from which a shuffled input draws its permutation.
    pub shuffle_seed: u64,
}

/// Activations of one forward pass, kept for the backward pass.
#[derive(Clone, Debug, Default)]
pub struct CerebellumTrace<T> {
    pub rows: usize,
    /// `acts[0]` is the input; `acts[l]` (l ≥ 1) is the ReLU output of granule layer `l - 1`
    /// (empty when the cerebellum reads nothing).
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
            input: CerebellumInput::State,
            leak: 0.0,
            shuffle_seed: 0,
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

    /// Draws the output layer's weights from U(±scale/√fan_in) (a remedy for silent granule
    /// layers: the authors' output layer starts at zero, so the granule layers get no gradient
    /// until its weights have grown); the bias stays zero.
    pub fn init_output<T: Real>(&self, params: &mut [T], scale: f64, rng: &mut Rng) {
        let out = self.layers.last().expect("at least two layers");
        let bound = scale / (out.inputs as f64).sqrt();
        for w in &mut params[out.weight.clone()] {
            *w = T::from_f64(rng.uniform_in(-bound, bound));
        }
    }

    /// The permutation a shuffled input applies to a block of `samples`: `order[i]` is the
    /// sample whose state sample `i` reads. A single cycle through a random order (so no sample
    /// reads its own state when there are two or more), the same for every block of that size.
    pub fn shuffle_order(&self, samples: usize) -> Vec<usize> {
        let mut cycle: Vec<usize> = (0..samples).collect();
        Rng::stream(self.shuffle_seed, "shuffle").shuffle(&mut cycle);
        let mut order = vec![0; samples];
        for j in 0..samples {
            order[cycle[j]] = cycle[(j + 1) % samples];
        }
        order
    }

    /// Rearranges `states` (blocks of `samples` rows of the input size, e.g. one block per
    /// window boundary) as a shuffled input reads them; does nothing for the other inputs.
    pub fn arrange_input<T: Real>(&self, states: &mut [T], samples: usize) {
        if self.input != CerebellumInput::Shuffled || samples < 2 {
            return;
        }
        let n = self.input_size();
        let order = self.shuffle_order(samples);
        let mut block = Vec::with_capacity(samples * n);
        for chunk in states.chunks_exact_mut(samples * n) {
            block.clear();
            block.extend_from_slice(chunk);
            for (i, &from) in order.iter().enumerate() {
                chunk[i * n..(i + 1) * n].copy_from_slice(&block[from * n..(from + 1) * n]);
            }
        }
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
        if self.input == CerebellumInput::None {
            tr.acts[1..].iter_mut().for_each(Vec::clear);
            let bias = &p[self.layers.last().expect("an output layer").bias.clone()];
            tr.output.clear();
            (0..rows).for_each(|_| tr.output.extend_from_slice(bias));
            return;
        }
        let leak = T::from_f64(self.leak);
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
            if last {
                break;
            }
            // Elementwise: in pieces on the run's threads when large.
            let piece = crate::pool::piece(y.len(), y.len(), crate::pool::LOOP_MIN, 16);
            crate::pool::each(y.chunks_mut(piece).collect(), |y: &mut [T]| {
                if self.leak == 0.0 {
                    simd::vectorize(|| y.iter_mut().for_each(|v| *v = v.max(T::ZERO)));
                } else {
                    simd::vectorize(|| {
                        y.iter_mut()
                            .for_each(|v| *v = if *v > T::ZERO { *v } else { leak * *v })
                    });
                }
            });
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
        if self.input == CerebellumInput::None {
            let out = self.layers.last().expect("an output layer");
            for row in d_out.chunks_exact(out.outputs) {
                for (g, &d) in grads[out.bias.clone()].iter_mut().zip(row) {
                    *g += d;
                }
            }
            return;
        }
        let leak = T::from_f64(self.leak);
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
            let piece = crate::pool::piece(x.len(), x.len(), crate::pool::LOOP_MIN, 16);
            let pieces = d_prev.chunks_mut(piece).zip(x.chunks(piece)).collect();
            crate::pool::each(pieces, |(d_prev, x): (&mut [T], &[T])| {
                simd::vectorize(|| {
                    for (g, &a) in d_prev.iter_mut().zip(x) {
                        if a <= T::ZERO {
                            *g = if leak == T::ZERO { T::ZERO } else { *g * leak };
                        }
                    }
                })
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
        check_variant(granule_layers, sparse_k, context, |_| {});
    }

    /// The gradient check of a cerebellum that `setup` changes after initialisation.
    fn check_variant(
        granule_layers: usize,
        sparse_k: Option<usize>,
        context: usize,
        setup: fn(&mut Cerebellum),
    ) {
        let (s, g, rows) = (6, 5, 4);
        let mut layout = Layout::default();
        let mut cb = Cerebellum::new(&mut layout, s, g, granule_layers, context);
        let mut params = vec![0.0f64; layout.len()];
        cb.init(&mut params, sparse_k, &mut Rng::new(1), &mut Rng::new(2));
        setup(&mut cb);
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
    fn leaky_and_constant_gradients_match_finite_differences() {
        check_variant(2, None, 0, |cb| cb.leak = 0.1);
        check_variant(1, Some(3), 2, |cb| cb.leak = 0.3);
        // Reading nothing, only the output bias has a gradient (the check covers every
        // parameter: the others' finite differences are zero).
        check_variant(2, None, 0, |cb| cb.input = CerebellumInput::None);
    }

    /// A 2-layer cerebellum on `s` = 3 inputs with a random output layer.
    fn small(input: CerebellumInput) -> (Cerebellum, Vec<f64>) {
        let mut layout = Layout::default();
        let mut cb = Cerebellum::new(&mut layout, 3, 4, 2, 0);
        let mut p = vec![0.0f64; layout.len()];
        cb.init(&mut p, None, &mut Rng::new(1), &mut Rng::new(2));
        cb.init_output(&mut p, 1.0, &mut Rng::new(3));
        let out = cb.layers.last().unwrap().clone();
        p[out.bias.clone()].copy_from_slice(&[0.5, -1.0, 2.0]);
        cb.input = input;
        cb.shuffle_seed = 9;
        (cb, p)
    }

    #[test]
    fn a_cerebellum_that_reads_nothing_predicts_its_output_bias_for_every_state() {
        let (cb, p) = small(CerebellumInput::None);
        let mut tr = CerebellumTrace::default();
        cb.forward(&p, &values(5 * 3, 7, 2.0), None, &mut tr);
        assert_eq!(tr.output.len(), 15);
        for row in tr.output.chunks_exact(3) {
            assert_eq!(row, [0.5, -1.0, 2.0]);
        }
        // Its gradient is the bias's alone: the sum of the upstream gradient's rows.
        let d = values(5 * 3, 8, 1.0);
        let mut grads = vec![0.0; p.len()];
        cb.backward(&p, &mut tr, &d, None, &mut grads);
        let out = cb.layers.last().unwrap();
        for (i, g) in grads.iter().enumerate() {
            let want = if out.bias.contains(&i) {
                let u = i - out.bias.start;
                (0..5).map(|r| d[r * 3 + u]).sum()
            } else {
                0.0
            };
            assert_eq!(*g, want, "parameter {i}");
        }
    }

    #[test]
    fn a_shuffled_input_reads_another_samples_state_in_every_block() {
        let (cb, p) = small(CerebellumInput::Shuffled);
        let samples = 5;
        let order = cb.shuffle_order(samples);
        // A permutation with no fixed point, one cycle through all samples.
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..samples).collect::<Vec<_>>());
        assert!(order.iter().enumerate().all(|(i, &j)| i != j));
        let (mut i, mut seen) = (0, 0);
        loop {
            i = order[i];
            seen += 1;
            if i == 0 {
                break;
            }
        }
        assert_eq!(seen, samples);
        // The same order for the same seed and size; another seed, another order.
        assert_eq!(cb.shuffle_order(samples), order);
        let other = Cerebellum {
            shuffle_seed: 10,
            ..cb.clone()
        };
        assert_ne!(other.shuffle_order(samples), order);
        // Two blocks (two window boundaries): row i of each block becomes row order[i].
        let states = values(2 * samples * 3, 4, 1.0);
        let mut arranged = states.clone();
        cb.arrange_input(&mut arranged, samples);
        for b in 0..2 {
            for (i, &from) in order.iter().enumerate() {
                let at = |v: &[f64], r: usize| v[(b * samples + r) * 3..][..3].to_vec();
                assert_eq!(at(&arranged, i), at(&states, from), "block {b} sample {i}");
            }
        }
        // The prediction for the arranged states is the state cerebellum's for the same rows.
        let state = Cerebellum {
            input: CerebellumInput::State,
            ..cb.clone()
        };
        let (mut a, mut b) = (CerebellumTrace::default(), CerebellumTrace::default());
        cb.forward(&p, &arranged, None, &mut a);
        state.forward(&p, &arranged, None, &mut b);
        assert_eq!(a.output, b.output);
        // The other inputs leave the states as they are.
        let mut kept = states.clone();
        state.arrange_input(&mut kept, samples);
        assert_eq!(kept, states);
    }

    #[test]
    fn the_leaky_granule_layer_passes_a_slope_below_zero() {
        let (mut cb, p) = small(CerebellumInput::State);
        let x = values(6 * 3, 5, 2.0);
        let (mut relu, mut leaky) = (CerebellumTrace::default(), CerebellumTrace::default());
        cb.forward(&p, &x, None, &mut relu);
        cb.leak = 0.25;
        cb.forward(&p, &x, None, &mut leaky);
        // The first granule layer's pre-activation, by hand.
        let first = &cb.layers[0];
        for r in 0..6 {
            for u in 0..4 {
                let w = &p[first.weight.start + u * 3..][..3];
                let z = p[first.bias.start + u] + (0..3).map(|j| w[j] * x[r * 3 + j]).sum::<f64>();
                let (a, b) = (relu.acts[1][r * 4 + u], leaky.acts[1][r * 4 + u]);
                assert!((a - z.max(0.0)).abs() < 1e-12);
                assert!((b - if z > 0.0 { z } else { 0.25 * z }).abs() < 1e-12);
            }
        }
        assert!(leaky.acts[1].iter().any(|&v| v < 0.0));
    }

    #[test]
    fn a_random_output_layer_is_small_and_leaves_the_bias_at_zero() {
        let mut layout = Layout::default();
        let mut cb = Cerebellum::new(&mut layout, 6, 8, 1, 0);
        let mut p = vec![0.0f32; layout.len()];
        cb.init(&mut p, None, &mut Rng::new(1), &mut Rng::new(2));
        cb.init_output(&mut p, 0.1, &mut Rng::new(3));
        let out = cb.layers.last().unwrap();
        let bound = 0.1 / 8f32.sqrt();
        assert!(
            p[out.weight.clone()]
                .iter()
                .all(|&w| w != 0.0 && w.abs() <= bound)
        );
        assert!(p[out.bias.clone()].iter().all(|&b| b == 0.0));
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
