//! The cortex: a one-layer recurrent network (LSTM or tanh RNN) and what it records while it
//! runs. Its *state* is what crosses a window boundary: `[h;c]` (2H values per sample) for the
//! LSTM, `h` (H values) for the tanh RNN. The cerebellum reads this state and predicts the
//! gradient of the future loss with respect to it.

use crate::layers::lstm::Lstm;
use crate::layers::recurrent::RecurrentWeights;
use crate::layers::rnn::TanhRnn;
use crate::params::Layout;
use crate::real::Real;
use crate::rng::Rng;
use serde::{Deserialize, Serialize};

/// Which recurrent cell the cortex uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CellKind {
    Lstm,
    Tanh,
}

/// The cortical recurrent layer.
#[derive(Clone, Debug)]
pub enum Cortex {
    Lstm(Lstm),
    Tanh(TanhRnn),
}

/// Activations of a forward pass over up to `steps` steps, kept for the backward pass, and the
/// backward pass's work buffers. Block `j` of `h`/`c` is the state after `j` steps (block 0 is
/// the initial state); row `t * batch + b` of `gates`/`dz` belongs to step `t`.
#[derive(Clone, Debug)]
pub struct Trace<T> {
    pub batch: usize,
    pub hidden: usize,
    pub steps: usize,
    /// Hidden states, `(steps + 1) · batch × H`.
    pub h: Vec<T>,
    /// LSTM cell states, `(steps + 1) · batch × H` (empty for the tanh RNN).
    pub c: Vec<T>,
    /// LSTM: tanh of the cell state per step (empty for the tanh RNN).
    pub tanh_c: Vec<T>,
    /// Gate activations (LSTM: i, f, g, o after their nonlinearities; tanh RNN: pre-activation).
    pub gates: Vec<T>,
    /// Gradient of the window objective with respect to the gate pre-activations.
    pub dz: Vec<T>,
    pub(crate) dh: Vec<T>,
    pub(crate) dc: Vec<T>,
}

/// The gradients of a backward pass through the window of steps `t0..t1`: what seeds it and
/// where the gradient at its start state goes.
pub struct WindowGradients<'a, T> {
    pub t0: usize,
    pub t1: usize,
    /// Gradient at the hidden outputs `h_t0..h_t1-1` (from the readout), if any step has a loss.
    pub dh_out: Option<&'a [T]>,
    /// Gradient at the state after the last step (the injected cerebellar prediction).
    pub d_end: &'a [T],
    /// Receives the gradient arriving at the window's start state (the teaching signal).
    pub d_start: &'a mut [T],
}

impl<T: Real> WindowGradients<'_, T> {
    /// Adds the readout's gradient at `h_t` (if the window has a task loss) to `dh`.
    pub(crate) fn add_output_gradient(&self, t: usize, dh: &mut [T]) {
        if let Some(dy) = self.dh_out {
            let n = dh.len();
            let row = (t - self.t0) * n..(t - self.t0 + 1) * n;
            for (d, &g) in dh.iter_mut().zip(&dy[row]) {
                *d += g;
            }
        }
    }
}

impl<T: Real> Trace<T> {
    /// Buffers for `steps` steps of `batch` samples of a cell with `gate_width` pre-activations.
    pub fn new(batch: usize, hidden: usize, steps: usize, gate_width: usize, lstm: bool) -> Self {
        let cells = if lstm {
            (steps + 1) * batch * hidden
        } else {
            0
        };
        Trace {
            batch,
            hidden,
            steps,
            h: vec![T::ZERO; (steps + 1) * batch * hidden],
            c: vec![T::ZERO; cells],
            tanh_c: vec![T::ZERO; if lstm { steps * batch * hidden } else { 0 }],
            gates: vec![T::ZERO; steps * batch * gate_width],
            dz: vec![T::ZERO; steps * batch * gate_width],
            dh: vec![T::ZERO; batch * hidden],
            dc: vec![T::ZERO; if lstm { batch * hidden } else { 0 }],
        }
    }

    /// Rows of block `j` (state after `j` steps) of a `(steps + 1) · batch × H` buffer.
    pub fn block(&self, j: usize) -> std::ops::Range<usize> {
        let n = self.batch * self.hidden;
        j * n..(j + 1) * n
    }

    /// Hidden outputs `h_t` of steps `t0..t1` (`(t1 - t0) · batch × H`).
    pub fn outputs(&self, t0: usize, t1: usize) -> &[T] {
        let n = self.batch * self.hidden;
        &self.h[(t0 + 1) * n..(t1 + 1) * n]
    }
}

impl Cortex {
    /// Registers the cortex's tensors (`cortex.weight_ih`, `cortex.weight_hh`, `cortex.bias_ih`,
    /// `cortex.bias_hh`).
    pub fn new(layout: &mut Layout, kind: CellKind, input: usize, hidden: usize) -> Self {
        match kind {
            CellKind::Lstm => Cortex::Lstm(Lstm::new(layout, input, hidden)),
            CellKind::Tanh => Cortex::Tanh(TanhRnn::new(layout, input, hidden)),
        }
    }

    pub fn kind(&self) -> CellKind {
        match self {
            Cortex::Lstm(_) => CellKind::Lstm,
            Cortex::Tanh(_) => CellKind::Tanh,
        }
    }

    pub fn hidden(&self) -> usize {
        self.weights().hidden
    }

    pub fn input(&self) -> usize {
        self.weights().input
    }

    /// Size of the state per sample: 2H (`[h;c]`) for the LSTM, H for the tanh RNN.
    pub fn state_size(&self) -> usize {
        match self {
            Cortex::Lstm(l) => 2 * l.w.hidden,
            Cortex::Tanh(r) => r.w.hidden,
        }
    }

    /// PyTorch's default initialisation, U(-1/sqrt(H), 1/sqrt(H)) for every tensor.
    pub fn init<T: Real>(&self, params: &mut [T], rng: &mut Rng) {
        self.weights().init(params, rng);
    }

    /// Empty buffers for `steps` steps of `batch` samples.
    pub fn trace<T: Real>(&self, batch: usize, steps: usize) -> Trace<T> {
        match self {
            Cortex::Lstm(l) => Trace::new(batch, l.w.hidden, steps, 4 * l.w.hidden, true),
            Cortex::Tanh(r) => Trace::new(batch, r.w.hidden, steps, r.w.hidden, false),
        }
    }

    /// The trace in `slot` for `batch × steps` (reallocated only when the shape changes), with
    /// a zero initial state: the start of every sequence.
    pub fn start_sequence<'a, T: Real>(
        &self,
        slot: &'a mut Option<Trace<T>>,
        batch: usize,
        steps: usize,
    ) -> &'a mut Trace<T> {
        if !slot
            .as_ref()
            .is_some_and(|t| t.batch == batch && t.steps == steps)
        {
            *slot = Some(self.trace(batch, steps));
        }
        let tr = slot.as_mut().expect("trace just set");
        let block = tr.block(0);
        tr.h[block.clone()].fill(T::ZERO);
        if !tr.c.is_empty() {
            tr.c[block].fill(T::ZERO);
        }
        tr
    }

    /// Runs steps `t0..t1`, starting from the state stored in block `t0` of the trace.
    /// `x` holds the inputs of all steps, time-major (`steps · batch × input`).
    pub fn forward<T: Real>(&self, p: &[T], x: &[T], tr: &mut Trace<T>, t0: usize, t1: usize) {
        match self {
            Cortex::Lstm(l) => l.forward(p, x, tr, t0, t1),
            Cortex::Tanh(r) => r.forward(p, x, tr, t0, t1),
        }
    }

    /// Backpropagates through one window only (truncated BPTT); see [`WindowGradients`]. Writes
    /// the gate gradients of the window's steps into `tr.dz`.
    pub fn backward_window<T: Real>(&self, p: &[T], tr: &mut Trace<T>, w: WindowGradients<'_, T>) {
        match self {
            Cortex::Lstm(l) => l.backward_window(p, tr, w),
            Cortex::Tanh(r) => r.backward_window(p, tr, w),
        }
    }

    /// The cell's input and recurrent weights.
    pub fn weights(&self) -> &RecurrentWeights {
        match self {
            Cortex::Lstm(l) => &l.w,
            Cortex::Tanh(r) => &r.w,
        }
    }

    /// Accumulates the weight gradients of steps `t0..t1` from `tr.dz` (whole-range GEMMs).
    pub fn backward_params<T: Real>(
        &self,
        x: &[T],
        tr: &Trace<T>,
        grads: &mut [T],
        t0: usize,
        t1: usize,
    ) {
        let w = self.weights();
        let (h, i, g, b) = (w.hidden, w.input, w.width, tr.batch);
        let (x, h_prev) = (&x[t0 * b * i..t1 * b * i], &tr.h[t0 * b * h..t1 * b * h]);
        w.backward_params(x, h_prev, &tr.dz[t0 * b * g..t1 * b * g], grads);
    }

    /// Copies the state after `j` steps into `out` (`batch × state_size`, rows `[h;c]`).
    pub fn read_state<T: Real>(&self, tr: &Trace<T>, j: usize, out: &mut [T]) {
        let h = tr.hidden;
        let s = self.state_size();
        let (hb, cb) = (&tr.h[tr.block(j)], self.cells(tr, j));
        for (b, row) in out.chunks_exact_mut(s).enumerate() {
            row[..h].copy_from_slice(&hb[b * h..(b + 1) * h]);
            if let Some(c) = cb {
                row[h..].copy_from_slice(&c[b * h..(b + 1) * h]);
            }
        }
    }

    /// Sets the state at block 0 (the initial state) from `s` (`batch × state_size`).
    pub fn write_initial_state<T: Real>(&self, tr: &mut Trace<T>, s: &[T]) {
        let h = tr.hidden;
        let st = self.state_size();
        let lstm = matches!(self, Cortex::Lstm(_));
        for (b, row) in s.chunks_exact(st).enumerate() {
            tr.h[b * h..(b + 1) * h].copy_from_slice(&row[..h]);
            if lstm {
                tr.c[b * h..(b + 1) * h].copy_from_slice(&row[h..]);
            }
        }
    }

    fn cells<'a, T: Real>(&self, tr: &'a Trace<T>, j: usize) -> Option<&'a [T]> {
        match self {
            Cortex::Lstm(_) => Some(&tr.c[tr.block(j)]),
            Cortex::Tanh(_) => None,
        }
    }
}
