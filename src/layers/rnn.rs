//! Tanh RNN cell (PyTorch `nn.RNN`, one layer, tanh): `h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)`.
//! Its state is `h` alone.

use super::{add_column_sums, add_to_rows, init_uniform};
use crate::cortex::Trace;
use crate::gemm::{Op, gemm};
use crate::params::Layout;
use crate::real::Real;
use crate::rng::Rng;
use std::ops::Range;

/// Parameters of a one-layer tanh RNN with `input` inputs and `hidden` units.
#[derive(Clone, Debug)]
pub struct TanhRnn {
    pub input: usize,
    pub hidden: usize,
    pub weight_ih: Range<usize>,
    pub weight_hh: Range<usize>,
    pub bias_ih: Range<usize>,
    pub bias_hh: Range<usize>,
}

impl TanhRnn {
    pub fn new(layout: &mut Layout, input: usize, hidden: usize) -> Self {
        TanhRnn {
            input,
            hidden,
            weight_ih: layout.add("cortex.weight_ih", &[hidden, input]),
            weight_hh: layout.add("cortex.weight_hh", &[hidden, hidden]),
            bias_ih: layout.add("cortex.bias_ih", &[hidden]),
            bias_hh: layout.add("cortex.bias_hh", &[hidden]),
        }
    }

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

    /// Runs steps `t0..t1` from the state in block `t0` of the trace.
    pub fn forward<T: Real>(&self, p: &[T], x: &[T], tr: &mut Trace<T>, t0: usize, t1: usize) {
        let (h, i, b) = (self.hidden, self.input, tr.batch);
        let n = b * h;
        let z = &mut tr.gates[t0 * n..t1 * n];
        gemm(
            z,
            &x[t0 * b * i..t1 * b * i],
            Op::N,
            &p[self.weight_ih.clone()],
            Op::T,
            (t1 - t0) * b,
            h,
            i,
            false,
        );
        add_to_rows(z, &p[self.bias_ih.clone()]);
        add_to_rows(z, &p[self.bias_hh.clone()]);
        let w_hh = &p[self.weight_hh.clone()];
        for t in t0..t1 {
            let z = &mut tr.gates[t * n..(t + 1) * n];
            let (h_prev, h_next) = tr.h[t * n..(t + 2) * n].split_at_mut(n);
            gemm(z, h_prev, Op::N, w_hh, Op::T, b, h, h, true);
            for (hn, &zz) in h_next.iter_mut().zip(z.iter()) {
                *hn = zz.tanh();
            }
        }
    }

    /// Backpropagation through steps `t0..t1` only; see [`crate::cortex::Cortex::backward_window`].
    #[allow(clippy::too_many_arguments)]
    pub fn backward_window<T: Real>(
        &self,
        p: &[T],
        tr: &mut Trace<T>,
        dh_out: Option<&[T]>,
        d_end: &[T],
        d_start: &mut [T],
        t0: usize,
        t1: usize,
    ) {
        let (h, b) = (self.hidden, tr.batch);
        let n = b * h;
        tr.dh.copy_from_slice(d_end);
        let w_hh = &p[self.weight_hh.clone()];
        for t in (t0..t1).rev() {
            if let Some(dy) = dh_out {
                for (d, &g) in tr.dh.iter_mut().zip(&dy[(t - t0) * n..(t - t0 + 1) * n]) {
                    *d += g;
                }
            }
            let h_t = &tr.h[(t + 1) * n..(t + 2) * n];
            let dz = &mut tr.dz[t * n..(t + 1) * n];
            for ((d, &dh), &ht) in dz.iter_mut().zip(&tr.dh).zip(h_t) {
                *d = dh * (T::ONE - ht * ht);
            }
            gemm(&mut tr.dh, dz, Op::N, w_hh, Op::N, b, h, h, false);
        }
        d_start.copy_from_slice(&tr.dh);
    }

    /// Weight and bias gradients of steps `t0..t1` from the recorded pre-activation gradients.
    pub fn backward_params<T: Real>(
        &self,
        x: &[T],
        tr: &Trace<T>,
        grads: &mut [T],
        t0: usize,
        t1: usize,
    ) {
        let (h, i, b) = (self.hidden, self.input, tr.batch);
        let rows = (t1 - t0) * b;
        let dz = &tr.dz[t0 * b * h..t1 * b * h];
        gemm(
            &mut grads[self.weight_ih.clone()],
            dz,
            Op::T,
            &x[t0 * b * i..t1 * b * i],
            Op::N,
            h,
            i,
            rows,
            true,
        );
        gemm(
            &mut grads[self.weight_hh.clone()],
            dz,
            Op::T,
            &tr.h[t0 * b * h..t1 * b * h],
            Op::N,
            h,
            h,
            rows,
            true,
        );
        add_column_sums(&mut grads[self.bias_ih.clone()], dz);
        add_column_sums(&mut grads[self.bias_hh.clone()], dz);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn tanh_rnn_gradients_match_finite_differences() {
        crate::layers::lstm::tests::check_cell(crate::cortex::CellKind::Tanh);
    }
}
