//! The cortex: a one-layer recurrent network (LSTM or tanh RNN), the *cerebral* RNN of the
//! papers. Its *state* is what crosses a window boundary: `[h;c]` (2H values per sample) for the
//! LSTM, `h` (H values) for the tanh RNN. The cerebellum reads this state and predicts the
//! gradient of the future loss with respect to it (docs/model.md §1).
//!
//! This module only chooses the cell; the cells, their activation record ([`Trace`]) and the
//! gradients of a window's backward pass ([`WindowGradients`]) live in [`crate::layers`].

pub use crate::layers::trace::{Trace, WindowGradients};

use crate::layers::lstm::Lstm;
use crate::layers::recurrent::{RecurrentCell, RecurrentWeights};
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

    /// The cell's input and recurrent weights.
    pub fn weights(&self) -> &RecurrentWeights {
        match self {
            Cortex::Lstm(l) => l.weights(),
            Cortex::Tanh(r) => r.weights(),
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
            Cortex::Lstm(l) => l.state_size(),
            Cortex::Tanh(r) => r.state_size(),
        }
    }

    /// PyTorch's default initialisation, U(-1/sqrt(H), 1/sqrt(H)) for every tensor.
    pub fn init<T: Real>(&self, params: &mut [T], rng: &mut Rng) {
        self.weights().init(params, rng);
    }

    /// Empty buffers for `steps` steps of `batch` samples.
    pub fn trace<T: Real>(&self, batch: usize, steps: usize) -> Trace<T> {
        match self {
            Cortex::Lstm(l) => l.trace(batch, steps),
            Cortex::Tanh(r) => r.trace(batch, steps),
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
        tr.zero_initial_state();
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
}
