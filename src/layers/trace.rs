//! What a recurrent cell records while it runs ([`Trace`]) and what a backward pass through one
//! window takes and gives ([`WindowGradients`]). Shared by the cortical cells
//! ([`super::lstm`], [`super::rnn`]).
//!
//! The *state* is what crosses a window boundary: `[h;c]` (2H values per sample) for the LSTM,
//! `h` (H values) for the tanh RNN. Legend: B = batch, H = hidden units, S = state size,
//! G = pre-activations per sample (4H or H).

use crate::real::Real;

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

    /// Size of the state per sample: 2H (`[h;c]`) for the LSTM, H for the tanh RNN.
    pub fn state_size(&self) -> usize {
        if self.c.is_empty() {
            self.hidden
        } else {
            2 * self.hidden
        }
    }

    /// Copies the state after `j` steps into `out` (`B × S`, rows `[h;c]` or `h`).
    pub fn read_state(&self, j: usize, out: &mut [T]) {
        let (h, block) = (self.hidden, self.block(j));
        let (hb, cb) = (&self.h[block.clone()], self.c.get(block));
        for (b, row) in out.chunks_exact_mut(self.state_size()).enumerate() {
            row[..h].copy_from_slice(&hb[b * h..(b + 1) * h]);
            if let Some(c) = cb {
                row[h..].copy_from_slice(&c[b * h..(b + 1) * h]);
            }
        }
    }

    /// Sets the state after `j` steps (block `j`; block 0 is the initial state) from `s`
    /// (`B × S`).
    pub fn write_state(&mut self, j: usize, s: &[T]) {
        let (h, start) = (self.hidden, self.block(j).start);
        let lstm = !self.c.is_empty();
        for (b, row) in s.chunks_exact(self.state_size()).enumerate() {
            let r = start + b * h..start + (b + 1) * h;
            self.h[r.clone()].copy_from_slice(&row[..h]);
            if lstm {
                self.c[r].copy_from_slice(&row[h..]);
            }
        }
    }

    /// A zero initial state: the start of every sequence.
    pub fn zero_initial_state(&mut self) {
        let block = self.block(0);
        self.h[block.clone()].fill(T::ZERO);
        if !self.c.is_empty() {
            self.c[block].fill(T::ZERO);
        }
    }
}
