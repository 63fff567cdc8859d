//! What every cortical cell has: an input map and a recurrent map onto the cell's
//! pre-activations (`gates` per unit: 4 for the LSTM's i, f, g, o, 1 for the tanh RNN), each
//! with its bias (PyTorch's `weight_ih`, `weight_hh`, `bias_ih`, `bias_hh`, both biases added),
//! and the interface of a cell ([`RecurrentCell`]). Each cell's gradient check lives with the
//! cell and runs [`check_window_gradients`].

use super::trace::{Trace, WindowGradients};
use super::{add_column_sums, add_to_rows, init_uniform};
use crate::gemm::{Op, gemm};
use crate::params::Layout;
use crate::real::Real;
use crate::rng::Rng;
use std::ops::Range;

/// A one-layer recurrent cell: runs a range of steps and backpropagates through one window.
pub trait RecurrentCell {
    fn weights(&self) -> &RecurrentWeights;

    /// Size of the state per sample that crosses a window boundary.
    fn state_size(&self) -> usize;

    /// Empty buffers for `steps` steps of `batch` samples.
    fn trace<T: Real>(&self, batch: usize, steps: usize) -> Trace<T>;

    /// Runs steps `t0..t1` from the state in block `t0` of the trace; `x` holds the inputs of
    /// all steps, time-major.
    fn forward<T: Real>(&self, p: &[T], x: &[T], tr: &mut Trace<T>, t0: usize, t1: usize);

    /// Backpropagation through the steps of one window only (see [`WindowGradients`]), leaving
    /// the pre-activation gradients of those steps in `tr.dz`.
    fn backward_window<T: Real>(&self, p: &[T], tr: &mut Trace<T>, w: WindowGradients<'_, T>);
}

/// Input and recurrent weights of a one-layer recurrent cell.
#[derive(Clone, Debug)]
pub struct RecurrentWeights {
    pub input: usize,
    pub hidden: usize,
    /// Pre-activations per step and sample: gates per unit × hidden.
    pub width: usize,
    pub weight_ih: Range<usize>,
    pub weight_hh: Range<usize>,
    pub bias_ih: Range<usize>,
    pub bias_hh: Range<usize>,
}

impl RecurrentWeights {
    /// Registers `cortex.weight_ih` (`width × input`), `cortex.weight_hh` (`width × hidden`) and
    /// the two biases.
    pub fn new(layout: &mut Layout, input: usize, hidden: usize, gates: usize) -> Self {
        let width = gates * hidden;
        RecurrentWeights {
            input,
            hidden,
            width,
            weight_ih: layout.add("cortex.weight_ih", &[width, input]),
            weight_hh: layout.add("cortex.weight_hh", &[width, hidden]),
            bias_ih: layout.add("cortex.bias_ih", &[width]),
            bias_hh: layout.add("cortex.bias_hh", &[width]),
        }
    }

    /// PyTorch's default for recurrent layers: every tensor U(-1/sqrt(H), 1/sqrt(H)).
    pub fn init<T: Real>(&self, p: &mut [T], rng: &mut Rng) {
        let bound = 1.0 / (self.hidden as f64).sqrt();
        for r in [
            &self.weight_ih,
            &self.weight_hh,
            &self.bias_ih,
            &self.bias_hh,
        ] {
            init_uniform(&mut p[r.clone()], bound, rng);
        }
    }

    /// `z = x W_ih^T + b_ih + b_hh` for all rows of `x` at once (a whole range of steps).
    pub fn project_inputs<T: Real>(&self, p: &[T], x: &[T], z: &mut [T]) {
        let rows = x.len() / self.input;
        gemm(
            z,
            x,
            Op::N,
            &p[self.weight_ih.clone()],
            Op::T,
            rows,
            self.width,
            self.input,
            false,
        );
        add_to_rows(z, &[&p[self.bias_ih.clone()], &p[self.bias_hh.clone()]]);
    }

    /// `z += h W_hh^T` for one step.
    pub fn add_recurrent<T: Real>(&self, p: &[T], h: &[T], z: &mut [T]) {
        let rows = h.len() / self.hidden;
        gemm(
            z,
            h,
            Op::N,
            &p[self.weight_hh.clone()],
            Op::T,
            rows,
            self.width,
            self.hidden,
            true,
        );
    }

    /// `dh = dz W_hh` for one step (overwrites `dh`).
    pub fn recurrent_backward<T: Real>(&self, p: &[T], dz: &[T], dh: &mut [T]) {
        let rows = dz.len() / self.width;
        gemm(
            dh,
            dz,
            Op::N,
            &p[self.weight_hh.clone()],
            Op::N,
            rows,
            self.hidden,
            self.width,
            false,
        );
    }

    /// Accumulates the weight gradients of steps `t0..t1` of a trace from its `dz`
    /// (whole-range GEMMs); `x` holds the inputs of all steps.
    pub fn backward_steps<T: Real>(
        &self,
        x: &[T],
        tr: &Trace<T>,
        grads: &mut [T],
        t0: usize,
        t1: usize,
    ) {
        let (h, i, g, b) = (self.hidden, self.input, self.width, tr.batch);
        let (x, h_prev) = (&x[t0 * b * i..t1 * b * i], &tr.h[t0 * b * h..t1 * b * h]);
        self.backward_params(x, h_prev, &tr.dz[t0 * b * g..t1 * b * g], grads);
    }

    /// `dx = dz W_ih` for steps `t0..t1` of a trace (one GEMM; overwrites `dx`,
    /// `(t1 - t0) · batch × input`): the gradient at the cell's inputs, for a trainable input
    /// stage in front of the cortex.
    pub fn input_gradients<T: Real>(
        &self,
        p: &[T],
        tr: &Trace<T>,
        dx: &mut [T],
        t0: usize,
        t1: usize,
    ) {
        let (g, b) = (self.width, tr.batch);
        let rows = (t1 - t0) * b;
        gemm(
            dx,
            &tr.dz[t0 * b * g..t1 * b * g],
            Op::N,
            &p[self.weight_ih.clone()],
            Op::N,
            rows,
            self.input,
            g,
            false,
        );
    }

    /// Accumulates all weight and bias gradients of a range of steps in one GEMM each, from the
    /// pre-activation gradients `dz`, the inputs `x` and the hidden states `h_prev` entering
    /// each step.
    pub fn backward_params<T: Real>(&self, x: &[T], h_prev: &[T], dz: &[T], grads: &mut [T]) {
        let rows = dz.len() / self.width;
        let (w, i, h) = (self.width, self.input, self.hidden);
        gemm(
            &mut grads[self.weight_ih.clone()],
            dz,
            Op::T,
            x,
            Op::N,
            w,
            i,
            rows,
            true,
        );
        gemm(
            &mut grads[self.weight_hh.clone()],
            dz,
            Op::T,
            h_prev,
            Op::N,
            w,
            h,
            rows,
            true,
        );
        // The two biases are registered one after the other (see `new`).
        let (ih, hh) = (self.bias_ih.clone(), self.bias_hh.clone());
        assert_eq!(ih.end, hh.start, "the cortex's biases are not side by side");
        let (b_ih, b_hh) = grads[ih.start..hh.end].split_at_mut(ih.len());
        add_column_sums(vec![b_ih, b_hh], dz);
    }
}

/// Gradient check of one window of a cell, in f64: J = <probe_h, h_1..h_n> + <probe_s, s_end>
/// against central differences, with respect to every parameter, the start state and the
/// inputs.
#[cfg(test)]
pub(crate) fn check_window_gradients<C: RecurrentCell>(make: impl Fn(&mut Layout) -> C) {
    use super::gradcheck::{check, values};
    let (batch, steps) = (2, 3);
    let mut layout = Layout::default();
    let cell = make(&mut layout);
    let (s, hidden) = (cell.state_size(), cell.weights().hidden);
    let params = values(layout.len(), 11, 0.6);
    let x = values(steps * batch * cell.weights().input, 12, 1.0);
    let s0 = values(batch * s, 13, 0.8);
    let probe_h = values(steps * batch * hidden, 14, 1.0);
    let probe_s = values(batch * s, 15, 1.0);
    let objective = |p: &[f64], s0: &[f64], x: &[f64]| {
        let mut tr = cell.trace::<f64>(batch, steps);
        tr.write_state(0, s0);
        cell.forward(p, x, &mut tr, 0, steps);
        let mut s_end = vec![0.0; batch * s];
        tr.read_state(steps, &mut s_end);
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(u, v)| u * v).sum::<f64>();
        dot(tr.outputs(0, steps), &probe_h) + dot(&s_end, &probe_s)
    };
    let mut tr = cell.trace::<f64>(batch, steps);
    tr.write_state(0, &s0);
    cell.forward(&params, &x, &mut tr, 0, steps);
    let mut d_start = vec![0.0; batch * s];
    let w = WindowGradients {
        t0: 0,
        t1: steps,
        dh_out: Some(&probe_h),
        d_end: &probe_s,
        d_start: &mut d_start,
    };
    cell.backward_window(&params, &mut tr, w);
    let mut grads = vec![0.0; layout.len()];
    cell.weights().backward_steps(&x, &tr, &mut grads, 0, steps);
    check(
        "cell params",
        &params,
        &grads,
        |p| objective(p, &s0, &x),
        1e-8,
    );
    check(
        "cell start state",
        &s0,
        &d_start,
        |s| objective(&params, s, &x),
        1e-8,
    );
    let mut dx = vec![0.0; x.len()];
    cell.weights()
        .input_gradients(&params, &tr, &mut dx, 0, steps);
    check("cell inputs", &x, &dx, |x| objective(&params, &s0, x), 1e-8);
}
