//! Tanh RNN cell (PyTorch `nn.RNN`, one layer, tanh): `h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)`.
//! Its state is `h` alone.

use super::recurrent::{RecurrentCell, RecurrentWeights};
use super::trace::{Trace, WindowGradients};
use crate::params::Layout;
use crate::real::Real;
use crate::simd::{self, Simd, WithSimd};

/// A one-layer tanh RNN.
#[derive(Clone, Debug)]
pub struct TanhRnn {
    pub w: RecurrentWeights,
}

impl TanhRnn {
    pub fn new(layout: &mut Layout, input: usize, hidden: usize) -> Self {
        TanhRnn {
            w: RecurrentWeights::new(layout, input, hidden, 1),
        }
    }
}

impl RecurrentCell for TanhRnn {
    fn weights(&self) -> &RecurrentWeights {
        &self.w
    }

    /// `h`.
    fn state_size(&self) -> usize {
        self.w.hidden
    }

    fn trace<T: Real>(&self, batch: usize, steps: usize) -> Trace<T> {
        Trace::new(batch, self.w.hidden, steps, self.w.width, false)
    }

    fn forward<T: Real>(&self, p: &[T], x: &[T], tr: &mut Trace<T>, t0: usize, t1: usize) {
        let (h, i, b) = (self.w.hidden, self.w.input, tr.batch);
        let n = b * h;
        self.w
            .project_inputs(p, &x[t0 * b * i..t1 * b * i], &mut tr.gates[t0 * n..t1 * n]);
        for t in t0..t1 {
            let z = &mut tr.gates[t * n..(t + 1) * n];
            let (h_prev, h_next) = tr.h[t * n..(t + 2) * n].split_at_mut(n);
            self.w.add_recurrent(p, h_prev, z);
            simd::vectorize(Tanh { z, h: h_next });
        }
    }

    fn backward_window<T: Real>(&self, p: &[T], tr: &mut Trace<T>, w: WindowGradients<'_, T>) {
        let (t0, t1) = (w.t0, w.t1);
        let n = tr.batch * self.w.hidden;
        tr.dh.copy_from_slice(w.d_end);
        for t in (t0..t1).rev() {
            w.add_output_gradient(t, &mut tr.dh);
            let h_t = &tr.h[(t + 1) * n..(t + 2) * n];
            let dz = &mut tr.dz[t * n..(t + 1) * n];
            let dh = &tr.dh;
            simd::vectorize(|| {
                for ((d, &dh), &ht) in dz.iter_mut().zip(dh).zip(h_t) {
                    *d = dh * (T::ONE - ht * ht);
                }
            });
            self.w.recurrent_backward(p, dz, &mut tr.dh);
        }
        w.d_start.copy_from_slice(&tr.dh);
    }
}

/// `h = tanh(z)`, a kernel for [`simd::vectorize`].
struct Tanh<'a, T> {
    z: &'a [T],
    h: &'a mut [T],
}

impl<T: Real> WithSimd for Tanh<'_, T> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, _: S) {
        for (h, &z) in self.h.iter_mut().zip(self.z) {
            *h = z.tanh();
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn tanh_rnn_gradients_match_finite_differences() {
        super::super::recurrent::check_window_gradients(|layout| super::TanhRnn::new(layout, 3, 4));
    }
}
