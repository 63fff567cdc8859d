//! The weights every cortical cell has: an input map and a recurrent map onto the cell's
//! pre-activations (`gates` per unit: 4 for the LSTM's i, f, g, o, 1 for the tanh RNN), each
//! with its bias (PyTorch's `weight_ih`, `weight_hh`, `bias_ih`, `bias_hh`, both biases added).
//! The cells use these products; their gradient checks live with the cells.

use super::{add_column_sums, add_to_rows, init_uniform};
use crate::gemm::{Op, gemm};
use crate::params::Layout;
use crate::real::Real;
use crate::rng::Rng;
use std::ops::Range;

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
        add_to_rows(z, &p[self.bias_ih.clone()]);
        add_to_rows(z, &p[self.bias_hh.clone()]);
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
        add_column_sums(&mut grads[self.bias_ih.clone()], dz);
        add_column_sums(&mut grads[self.bias_hh.clone()], dz);
    }
}
