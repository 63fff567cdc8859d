//! LSTM cell (PyTorch `nn.LSTM`, one layer, gate order i, f, g, o):
//! `z = x W_ih^T + b_ih + h W_hh^T + b_hh`, `c' = σ(f) c + σ(i) tanh(g)`, `h' = σ(o) tanh(c')`.
//!
//! The input projection of a whole range of steps is one GEMM, the recurrence one small GEMM per
//! step, the gates one fused loop; the backward pass mirrors it and defers the weight gradients
//! to whole-range GEMMs over the recorded gate gradients.

use super::recurrent::RecurrentWeights;
use crate::cortex::{Trace, WindowGradients};
use crate::params::Layout;
use crate::real::Real;

/// A one-layer LSTM.
#[derive(Clone, Debug)]
pub struct Lstm {
    pub w: RecurrentWeights,
}

impl Lstm {
    pub fn new(layout: &mut Layout, input: usize, hidden: usize) -> Self {
        Lstm {
            w: RecurrentWeights::new(layout, input, hidden, 4),
        }
    }

    /// Runs steps `t0..t1` from the state in block `t0` of the trace.
    pub fn forward<T: Real>(&self, p: &[T], x: &[T], tr: &mut Trace<T>, t0: usize, t1: usize) {
        let (h, i, b) = (self.w.hidden, self.w.input, tr.batch);
        let g4 = 4 * h;
        self.w.project_inputs(
            p,
            &x[t0 * b * i..t1 * b * i],
            &mut tr.gates[t0 * b * g4..t1 * b * g4],
        );
        let n = b * h;
        for t in t0..t1 {
            let z = &mut tr.gates[t * b * g4..(t + 1) * b * g4];
            let (h_prev, h_next) = tr.h[t * n..(t + 2) * n].split_at_mut(n);
            self.w.add_recurrent(p, h_prev, z);
            let (c_prev, c_next) = tr.c[t * n..(t + 2) * n].split_at_mut(n);
            let tanh_c = &mut tr.tanh_c[t * n..(t + 1) * n];
            // Gate nonlinearities in place over the whole block (one vectorised run, using
            // tanh x = 2 σ(2x) - 1 for the g gates), then the cell update, tanh(c) again as one run.
            for zr in z.chunks_exact_mut(g4) {
                zr[2 * h..3 * h].iter_mut().for_each(|v| *v += *v);
            }
            z.iter_mut().for_each(|v| *v = v.sigmoid());
            for zr in z.chunks_exact_mut(g4) {
                zr[2 * h..3 * h]
                    .iter_mut()
                    .for_each(|v| *v = *v + *v - T::ONE);
            }
            for ((zr, cp), cn) in z
                .chunks_exact(g4)
                .zip(c_prev.chunks_exact(h))
                .zip(c_next.chunks_exact_mut(h))
            {
                let (ig, fg, gg) = (&zr[..h], &zr[h..2 * h], &zr[2 * h..3 * h]);
                for j in 0..h {
                    cn[j] = fg[j] * cp[j] + ig[j] * gg[j];
                }
            }
            for (t, &c) in tanh_c.iter_mut().zip(c_next.iter()) {
                *t = c.tanh();
            }
            for ((zr, tc), hn) in z
                .chunks_exact(g4)
                .zip(tanh_c.chunks_exact(h))
                .zip(h_next.chunks_exact_mut(h))
            {
                let og = &zr[3 * h..];
                for j in 0..h {
                    hn[j] = og[j] * tc[j];
                }
            }
        }
    }

    /// Backpropagation through steps `t0..t1` only; see [`crate::cortex::Cortex::backward_window`].
    pub fn backward_window<T: Real>(&self, p: &[T], tr: &mut Trace<T>, w: WindowGradients<'_, T>) {
        let (t0, t1) = (w.t0, w.t1);
        let (h, b) = (self.w.hidden, tr.batch);
        let (g4, n) = (4 * h, b * h);
        for r in 0..b {
            tr.dh[r * h..(r + 1) * h].copy_from_slice(&w.d_end[r * 2 * h..r * 2 * h + h]);
            tr.dc[r * h..(r + 1) * h].copy_from_slice(&w.d_end[r * 2 * h + h..(r + 1) * 2 * h]);
        }
        for t in (t0..t1).rev() {
            w.add_output_gradient(t, &mut tr.dh);
            let gates = &tr.gates[t * b * g4..(t + 1) * b * g4];
            let dz = &mut tr.dz[t * b * g4..(t + 1) * b * g4];
            let c_prev = &tr.c[t * n..(t + 1) * n];
            let tanh_c = &tr.tanh_c[t * n..(t + 1) * n];
            let rows = gates.chunks_exact(g4).zip(dz.chunks_exact_mut(g4));
            let cells = c_prev.chunks_exact(h).zip(tanh_c.chunks_exact(h));
            let grads = tr.dh.chunks_exact(h).zip(tr.dc.chunks_exact_mut(h));
            for (((gr, dzr), (cp, tc)), (dh, dc)) in rows.zip(cells).zip(grads) {
                // Slices of exactly h elements, so the loop below runs without bounds checks.
                let (ig, fg, gg, og) = (
                    &gr[..h],
                    &gr[h..2 * h],
                    &gr[2 * h..3 * h],
                    &gr[3 * h..4 * h],
                );
                let (dzi, rest) = dzr.split_at_mut(h);
                let (dzf, rest) = rest.split_at_mut(h);
                let (dzg, dzo) = rest.split_at_mut(h);
                let (dzo, cp, tc, dh, dc) =
                    (&mut dzo[..h], &cp[..h], &tc[..h], &dh[..h], &mut dc[..h]);
                for j in 0..h {
                    let c = dc[j] + dh[j] * og[j] * (T::ONE - tc[j] * tc[j]);
                    dzi[j] = c * gg[j] * ig[j] * (T::ONE - ig[j]);
                    dzf[j] = c * cp[j] * fg[j] * (T::ONE - fg[j]);
                    dzg[j] = c * ig[j] * (T::ONE - gg[j] * gg[j]);
                    dzo[j] = dh[j] * tc[j] * og[j] * (T::ONE - og[j]);
                    dc[j] = c * fg[j];
                }
            }
            self.w.recurrent_backward(p, dz, &mut tr.dh);
        }
        for r in 0..b {
            w.d_start[r * 2 * h..r * 2 * h + h].copy_from_slice(&tr.dh[r * h..(r + 1) * h]);
            w.d_start[r * 2 * h + h..(r + 1) * 2 * h].copy_from_slice(&tr.dc[r * h..(r + 1) * h]);
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::cortex::{CellKind, Cortex, WindowGradients};
    use crate::layers::gradcheck::{check, values};
    use crate::params::Layout;

    /// Gradient check of a window of either cell: J = <probe_h, h_1..h_n> + <probe_s, s_end>,
    /// with respect to every parameter and the start state.
    pub(crate) fn check_cell(kind: CellKind) {
        let (input, hidden, batch, steps) = (3, 4, 2, 3);
        let mut layout = Layout::default();
        let cortex = Cortex::new(&mut layout, kind, input, hidden);
        let s = cortex.state_size();
        let params = values(layout.len(), 11, 0.6);
        let x = values(steps * batch * input, 12, 1.0);
        let s0 = values(batch * s, 13, 0.8);
        let probe_h = values(steps * batch * hidden, 14, 1.0);
        let probe_s = values(batch * s, 15, 1.0);
        let objective = |p: &[f64], s0: &[f64]| {
            let mut tr = cortex.trace::<f64>(batch, steps);
            cortex.write_initial_state(&mut tr, s0);
            cortex.forward(p, &x, &mut tr, 0, steps);
            let mut s_end = vec![0.0; batch * s];
            cortex.read_state(&tr, steps, &mut s_end);
            let a: f64 = tr
                .outputs(0, steps)
                .iter()
                .zip(&probe_h)
                .map(|(u, v)| u * v)
                .sum();
            a + s_end.iter().zip(&probe_s).map(|(u, v)| u * v).sum::<f64>()
        };
        let mut tr = cortex.trace::<f64>(batch, steps);
        cortex.write_initial_state(&mut tr, &s0);
        cortex.forward(&params, &x, &mut tr, 0, steps);
        let mut d_start = vec![0.0; batch * s];
        let w = WindowGradients {
            t0: 0,
            t1: steps,
            dh_out: Some(&probe_h),
            d_end: &probe_s,
            d_start: &mut d_start,
        };
        cortex.backward_window(&params, &mut tr, w);
        let mut grads = vec![0.0; layout.len()];
        cortex.backward_params(&x, &tr, &mut grads, 0, steps);
        check(
            "cortex params",
            &params,
            &grads,
            |p| objective(p, &s0),
            1e-7,
        );
        check(
            "cortex start state",
            &s0,
            &d_start,
            |s| objective(&params, s),
            1e-7,
        );
    }

    #[test]
    fn lstm_gradients_match_finite_differences() {
        check_cell(CellKind::Lstm);
    }
}
