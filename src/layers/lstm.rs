//! LSTM cell (PyTorch `nn.LSTM`, one layer, gate order i, f, g, o):
//! `z = x W_ih^T + b_ih + h W_hh^T + b_hh`, `c' = σ(f) c + σ(i) tanh(g)`, `h' = σ(o) tanh(c')`.
//!
//! The input projection of a whole range of steps is one GEMM, the recurrence one small GEMM per
//! step, the gates one fused loop (compiled for the CPU's vector instructions, `crate::simd`); the backward pass mirrors it and defers the weight gradients
//! to whole-range GEMMs over the recorded gate gradients.

use super::recurrent::{RecurrentCell, RecurrentWeights};
use super::trace::{Trace, WindowGradients};
use crate::params::Layout;
use crate::real::Real;
use crate::simd::{self, Simd, WithSimd};

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
}

impl RecurrentCell for Lstm {
    fn weights(&self) -> &RecurrentWeights {
        &self.w
    }

    /// `[h;c]`.
    fn state_size(&self) -> usize {
        2 * self.w.hidden
    }

    fn trace<T: Real>(&self, batch: usize, steps: usize) -> Trace<T> {
        Trace::new(batch, self.w.hidden, steps, self.w.width, true)
    }

    fn forward<T: Real>(&self, p: &[T], x: &[T], tr: &mut Trace<T>, t0: usize, t1: usize) {
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
            let rows = crate::pool::piece(b, z.len(), GATES_MIN, 1);
            let pieces = z
                .chunks_mut(rows * g4)
                .zip(c_prev.chunks(rows * h).zip(c_next.chunks_mut(rows * h)))
                .zip(tanh_c.chunks_mut(rows * h).zip(h_next.chunks_mut(rows * h)));
            crate::pool::each(
                pieces.collect(),
                |((z, (c_prev, c_next)), (tanh_c, h_next))| {
                    simd::vectorize(GatesForward {
                        h,
                        z,
                        c_prev,
                        c_next,
                        tanh_c,
                        h_next,
                    })
                },
            );
        }
    }

    fn backward_window<T: Real>(&self, p: &[T], tr: &mut Trace<T>, w: WindowGradients<'_, T>) {
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
            let rows = crate::pool::piece(b, dz.len(), GATES_MIN, 1);
            let (r, rg) = (rows * h, rows * g4);
            let pieces = gates.chunks(rg).zip(dz.chunks_mut(rg));
            let cells = c_prev.chunks(r).zip(tanh_c.chunks(r));
            let grads = tr.dh.chunks(r).zip(tr.dc.chunks_mut(r));
            crate::pool::each(
                pieces.zip(cells).zip(grads).collect(),
                |(((gates, dz), (c_prev, tanh_c)), (dh, dc))| {
                    simd::vectorize(GatesBackward {
                        h,
                        gates,
                        c_prev,
                        tanh_c,
                        dh,
                        dz,
                        dc,
                    })
                },
            );
            self.w.recurrent_backward(p, dz, &mut tr.dh);
        }
        for r in 0..b {
            w.d_start[r * 2 * h..r * 2 * h + h].copy_from_slice(&tr.dh[r * h..(r + 1) * h]);
            w.d_start[r * 2 * h + h..(r + 1) * 2 * h].copy_from_slice(&tr.dc[r * h..(r + 1) * h]);
        }
    }
}

/// A step's gate loops over at least this many pre-activations (`batch × 4h`) are split over
/// the run's threads by rows (samples), each row computed as in one pass: the caption model's
/// 100 × 1024, not the reach (50 × 200) or MNIST-sized (50 × 120) cortex. Lower than
/// [`crate::pool::LOOP_MIN`]: the nonlinearities cost more per value than a memory pass.
const GATES_MIN: usize = 1 << 16;

/// One step's gates, in place over the block `z` of pre-activations (`batch × 4h`): the gate
/// nonlinearities as one run (tanh x = 2 σ(2x) - 1 for the g gates), then the cell update,
/// tanh(c) again as one run, and the hidden state (a kernel for [`simd::vectorize`]).
struct GatesForward<'a, T> {
    h: usize,
    z: &'a mut [T],
    c_prev: &'a [T],
    c_next: &'a mut [T],
    tanh_c: &'a mut [T],
    h_next: &'a mut [T],
}

impl<T: Real> WithSimd for GatesForward<'_, T> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, _: S) {
        let GatesForward {
            h,
            z,
            c_prev,
            c_next,
            tanh_c,
            h_next,
        } = self;
        let g4 = 4 * h;
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

/// Units per block of the backward gate loop. A block's values are loaded first, computed,
/// then stored: straight-line code that the compiler turns into vector instructions (8 f32 lanes
/// with AVX2), which it does not do for one loop over a sample's units that writes five slices
/// (it cannot tell that they do not overlap, and gives up checking). Every unit is computed once
/// and by the same expression, whatever `h`. (Plain loops: an iterator adapter's `fold` may be
/// left out of line, compiled without the vector instructions.)
const LANES: usize = 8;

/// One step back through the gates: the pre-activation gradients `dz` (`batch × 4h`) from the
/// gradients `dh` and `dc` arriving at the step's output, and `dc` carried back to its input
/// (a kernel for [`simd::vectorize`]).
struct GatesBackward<'a, T> {
    h: usize,
    gates: &'a [T],
    c_prev: &'a [T],
    tanh_c: &'a [T],
    dh: &'a [T],
    dz: &'a mut [T],
    dc: &'a mut [T],
}

impl<T: Real> WithSimd for GatesBackward<'_, T> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, _: S) {
        let GatesBackward {
            h,
            gates,
            c_prev,
            tanh_c,
            dh,
            dz,
            dc,
        } = self;
        let g4 = 4 * h;
        let rows = gates.chunks_exact(g4).zip(dz.chunks_exact_mut(g4));
        let cells = c_prev.chunks_exact(h).zip(tanh_c.chunks_exact(h));
        let grads = dh.chunks_exact(h).zip(dc.chunks_exact_mut(h));
        for (((gates, dz), (cp, tc)), (dh, dc)) in rows.zip(cells).zip(grads) {
            let cells = [cp, tc, dh];
            if h < LANES {
                for j in 0..h {
                    backward_units::<T, 1>(gates, h, (j, 0), cells, dz, dc);
                }
                continue;
            }
            // Where `h` is not a multiple of LANES, the last full-width block comes first, from
            // the untouched values, and owns only the units past the last whole block.
            let whole = h / LANES * LANES;
            if whole < h {
                let own = (h - LANES, LANES - (h - whole));
                backward_units::<T, LANES>(gates, h, own, cells, dz, dc);
            }
            let mut j = 0;
            while j < whole {
                backward_units::<T, LANES>(gates, h, (j, 0), cells, dz, dc);
                j += LANES;
            }
        }
    }
}

/// Units `j..j + N` of one sample back through their gates (`gates`, `4h` activations i, f, g,
/// o): the gate gradients into `dz` (`4h`) from `[c_prev, tanh_c, dh]`, and `dc` carried back
/// in place for the block's own units, from `j + keep` on (`dz` is written
/// whole, and the units before `j + keep` are written again by their own block).
#[inline(always)]
fn backward_units<T: Real, const N: usize>(
    gates: &[T],
    h: usize,
    (j, keep): (usize, usize),
    [cp, tc, dh]: [&[T]; 3],
    dz: &mut [T],
    dc: &mut [T],
) {
    let at = |k: usize| k * h + j..k * h + j + N;
    let [ig, fg, gg, og]: [[T; N]; 4] = std::array::from_fn(|k| gates[at(k)].try_into().unwrap());
    let [cp, tc, dh]: [[T; N]; 3] = [cp, tc, dh].map(|s| s[j..j + N].try_into().unwrap());
    let dc_out: [T; N] = dc[j..j + N].try_into().unwrap();
    let (mut d, mut carried) = ([[T::ZERO; N]; 4], [T::ZERO; N]);
    for l in 0..N {
        let c = dc_out[l] + dh[l] * og[l] * (T::ONE - tc[l] * tc[l]);
        d[0][l] = c * gg[l] * ig[l] * (T::ONE - ig[l]);
        d[1][l] = c * cp[l] * fg[l] * (T::ONE - fg[l]);
        d[2][l] = c * ig[l] * (T::ONE - gg[l] * gg[l]);
        d[3][l] = dh[l] * tc[l] * og[l] * (T::ONE - og[l]);
        // A unit that is not the block's own keeps its `dc` for its own block.
        carried[l] = if l >= keep { c * fg[l] } else { dc_out[l] };
    }
    for (k, d) in d.iter().enumerate() {
        dz[at(k)].copy_from_slice(d);
    }
    dc[j..j + N].copy_from_slice(&carried);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lstm_gradients_match_finite_differences() {
        // 4 units: one at a time; 11: a block of 8 and an overlapping one.
        for hidden in [4, 11] {
            super::super::recurrent::check_window_gradients(|layout| Lstm::new(layout, 3, hidden));
        }
    }

    /// The blocked backward gate loop gives, to the bit, what one loop over the units gives,
    /// for any number of units (one at a time, whole blocks, an overlapping last block).
    #[test]
    fn the_blocked_gate_gradients_are_the_unit_by_unit_ones() {
        let value = |i: usize, s: f32| (i as f32 * 0.7 + s).sin() * 0.5 + 0.5;
        for h in [1, 4, 7, 8, 13, 16, 50] {
            let batch = 3;
            let gates: Vec<f32> = (0..batch * 4 * h).map(|i| value(i, 0.1)).collect();
            let [c_prev, tanh_c, dh, dc]: [Vec<f32>; 4] =
                std::array::from_fn(|k| (0..batch * h).map(|i| value(i, k as f32) - 0.5).collect());
            let (mut dz, mut carried) = (vec![f32::NAN; batch * 4 * h], dc.clone());
            simd::vectorize(GatesBackward {
                h,
                gates: &gates,
                c_prev: &c_prev,
                tanh_c: &tanh_c,
                dh: &dh,
                dz: &mut dz,
                dc: &mut carried,
            });
            for (b, j) in (0..batch).flat_map(|b| (0..h).map(move |j| (b, j))) {
                let g = |k: usize| gates[b * 4 * h + k * h + j];
                let u = b * h + j;
                let (ig, fg, gg, og) = (g(0), g(1), g(2), g(3));
                let (cp, tc, dh) = (c_prev[u], tanh_c[u], dh[u]);
                let c = dc[u] + dh * og * (1.0 - tc * tc);
                let want = [
                    c * gg * ig * (1.0 - ig),
                    c * cp * fg * (1.0 - fg),
                    c * ig * (1.0 - gg * gg),
                    dh * tc * og * (1.0 - og),
                ];
                for (k, w) in want.iter().enumerate() {
                    assert_eq!(
                        dz[b * 4 * h + k * h + j].to_bits(),
                        w.to_bits(),
                        "h {h} unit {j}"
                    );
                }
                assert_eq!(carried[u].to_bits(), (c * fg).to_bits(), "h {h} unit {j}");
            }
        }
    }
}
