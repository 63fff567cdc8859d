//! The training step of a two-area chain (docs/model.md §7.2), per batch:
//!
//! ```text
//! run A, B (with B's input from the delayed signal, the forward cerebellum or the oracle)
//!     and the readout over the whole sequence                             (Chain::run)
//! backward cerebellums at every window boundary: C_A([s^A; pipe]), C_B(s^B) (those that exist)
//! for each window [t0, t1):
//!     backpropagate B through the window, seeded with the task loss and lambda C_B(s^B_end);
//!         what arrives at s^B_start is B's teaching signal
//!     B's feedback at its input at t goes to A's activity at the step it stands for
//!         (t - d, or t with a forward cerebellum); to A's pipe at t0 when that step is earlier
//!     backpropagate A through the window, seeded with that feedback and lambda C_A(end)
//!         (whose pipe part also lands on A's outputs or its start pipe);
//!         what arrives at [s^A_start; pipe_start] is A's teaching signal
//! each backward cerebellum regresses C(start) onto its teaching signals
//! the forward cerebellum regresses B's input onto the true activity h^A_t
//! clip all gradients together; one optimizer step
//! ```

use super::{Chain, ChainRun};
use crate::batch::Batch;
use crate::cortex::WindowGradients;
use crate::layers::cerebellum::CerebellumTrace;
use crate::loss::window_losses;
use crate::optim::{Optimizer, clip, grad_norm};
use crate::real::Real;
use crate::trainer::{CerebellumLoss, TrainOptions};
use std::ops::Range;

/// Figures of one training batch of a chain.
#[derive(Clone, Debug, Default)]
pub struct ChainStats {
    /// Sum of the window task losses.
    pub task_loss: f64,
    /// Sum over windows and areas of the backward cerebellums' squared errors.
    pub cerebellum_loss: f64,
    /// The same per area (A, B); 0 for an area without one.
    pub cerebellum_losses: [f64; 2],
    /// The forward cerebellum's mean squared error per value of B's input against `h^A_t`
    /// (`None` when it does not learn).
    pub forward_loss: Option<f64>,
    pub grad_norm: f64,
}

/// A chain, its optimizer and the buffers of its training step.
pub struct ChainTrainer<T: Real> {
    pub model: Chain<T>,
    pub optimizer: Optimizer<T>,
    pub options: TrainOptions,
    /// Whether the backward cerebellums predict and learn (false after their lesion).
    pub backward_on: bool,
    /// Whether the forward cerebellum is used and learns (false after its lesion).
    pub forward_on: bool,
    pub grads: Vec<T>,
    ws: Workspace<T>,
}

/// The work buffers of the step; shapes per the legend of [`super`]; W = windows.
#[derive(Default)]
struct Workspace<T> {
    windows: Vec<(usize, usize)>,
    run: ChainRun<T>,
    /// The task loss's gradient at the readout (R × O) and at B's outputs (R × H_B).
    dy: Vec<T>,
    dh_b: Vec<T>,
    losses: Vec<Option<f64>>,
    /// Boundary states (W + 1 blocks): A's with its pipe (B × P), B's (B × S_B).
    states: [Vec<T>; 2],
    context: Vec<T>,
    cerebellum: [CerebellumTrace<T>; 2],
    /// Injected lambda C(end) of each window (W blocks) and the teaching signals (W blocks).
    injected: [Vec<T>; 2],
    teaching: [Vec<T>; 2],
    d_prediction: Vec<T>,
    /// One window: B's input gradient, the feedback at A's outputs, A's state parts.
    dx_b: Vec<T>,
    dh_a: Vec<T>,
    end_a: Vec<T>,
    start_a: Vec<T>,
    /// The forward cerebellum's output gradient (R × H_A) and granule work buffer.
    d_forward: Vec<T>,
    d_granule: Vec<T>,
}

impl<T: Real> ChainTrainer<T> {
    pub fn new(model: Chain<T>, options: TrainOptions) -> Self {
        let n = model.params.len();
        ChainTrainer {
            optimizer: Optimizer::new(options.optimizer, options.lr, n),
            grads: vec![T::ZERO; n],
            backward_on: model.has_backward(),
            forward_on: model.forward_spec.is_some(),
            model,
            options,
            ws: Workspace::default(),
        }
    }

    /// The windows `[t0, t1)` of a sequence (the last may be shorter).
    pub fn windows(&self, steps: usize) -> Vec<(usize, usize)> {
        let k = self.options.horizon.max(1);
        (0..steps)
            .step_by(k)
            .map(|t0| (t0, (t0 + k).min(steps)))
            .collect()
    }

    /// The parameter ranges that learn now.
    pub fn trained_ranges(&self) -> Vec<Range<usize>> {
        let mut r = vec![self.model.cortical_range()];
        if self.backward_on {
            r.push(self.model.backward_range());
        }
        if self.forward_on {
            r.push(self.model.forward_range());
        }
        r.retain(|r| !r.is_empty());
        r
    }

    /// Trains on one batch: gradients, clipping, one optimizer step.
    pub fn train_batch(&mut self, batch: &Batch<T>) -> ChainStats {
        let mut stats = self.compute_gradients(batch);
        let ranges = self.trained_ranges();
        (stats.grad_norm, _) = if self.options.clip > 0.0 {
            clip(&mut self.grads, &ranges, self.options.clip)
        } else {
            (grad_norm(&self.grads, &ranges), 1.0)
        };
        self.optimizer
            .update(&mut self.model.params, &mut self.grads, &ranges);
        stats
    }

    /// The gradients of one batch into `grads` (zeroed first), no update.
    pub fn compute_gradients(&mut self, batch: &Batch<T>) -> ChainStats {
        self.grads.fill(T::ZERO);
        let windows = self.windows(batch.steps);
        let (fwd, bwd) = (self.forward_on, self.backward_on);
        let ChainTrainer {
            model,
            options,
            grads,
            ws,
            ..
        } = self;
        ws.windows = windows;
        let factor = T::from_f64(match options.cerebellum_loss {
            CerebellumLoss::Sum => 2.0,
            CerebellumLoss::Mean => 2.0 / batch.batch as f64,
        });
        let mut stats = ChainStats::default();
        // 1. Both areas, B's input and the readout over the sequence; the window losses.
        model.run(&batch.inputs, batch, fwd, &mut ws.run);
        stats.task_loss = task_losses(model, batch, ws, grads);
        // 2. The backward cerebellums at every boundary.
        if bwd {
            predict_feedback(model, batch, ws);
        }
        // 3. Each window: B, its feedback to A, A.
        let lambda = T::from_f64(options.lambda);
        for w in 0..ws.windows.len() {
            let t1 = ws.windows[w].1;
            let inject = bwd && (t1 < batch.steps || options.inject_at_last_window);
            backward_window(model, ws, w, inject.then_some(lambda), fwd);
        }
        // 4. The backward cerebellums learn from the teaching signals.
        if bwd {
            stats.cerebellum_losses = teach_backward(model, factor, ws, grads);
            stats.cerebellum_loss = stats.cerebellum_losses.iter().sum();
        }
        // 5. The forward cerebellum learns from the true activity.
        if fwd && model.forward.is_some() {
            stats.forward_loss = Some(teach_forward(model, factor, ws, grads));
        }
        // 6. Whole-sequence weight gradients of both areas.
        let (ra, rb) = (ws.run.a.as_ref(), ws.run.b.as_ref());
        let (ra, rb) = (ra.expect("run"), rb.expect("run"));
        let steps = batch.steps;
        (model.a.weights()).backward_steps(&batch.inputs, ra, grads, 0, steps);
        (model.b.weights()).backward_steps(&ws.run.input_b, rb, grads, 0, steps);
        stats
    }
}

/// Phase 1 (after the forward pass). Each window's task loss, its gradient at the readout
/// (weight gradients into `grads`) and at B's outputs (`ws.dh_b`); returns their sum.
fn task_losses<T: Real>(
    model: &Chain<T>,
    batch: &Batch<T>,
    ws: &mut Workspace<T>,
    grads: &mut [T],
) -> f64 {
    let (bsz, out) = (batch.batch, model.readout.outputs);
    ws.dy.resize(ws.run.y.len(), T::ZERO);
    let sizes = (batch.steps, bsz, out);
    let readout = (&ws.run.y[..], &mut ws.dy[..]);
    window_losses(&batch.target, readout, &ws.windows, sizes, &mut ws.losses);
    let tr_b = ws.run.b.as_ref().expect("run");
    let h = tr_b.outputs(0, batch.steps);
    model.readout.backward_params(h, &ws.dy, grads);
    ws.dh_b.resize(h.len(), T::ZERO);
    model
        .readout
        .backward_input(&model.params, &ws.dy, &mut ws.dh_b);
    ws.losses.iter().flatten().sum()
}

/// Phase 2. The boundary states (A's with its pipe, B's) and the backward cerebellums'
/// predictions there (those that exist): block `w` is C(start of window w), the last block
/// C(end of the last).
fn predict_feedback<T: Real>(model: &Chain<T>, batch: &Batch<T>, ws: &mut Workspace<T>) {
    let cbs = &model.backward;
    let first = cbs.iter().flatten().next().expect("a backward cerebellum");
    let bounds: Vec<usize> = (ws.windows.iter().map(|w| w.0))
        .chain([batch.steps])
        .collect();
    let (bsz, p, sb) = (batch.batch, model.pipe_state_size(), model.b.state_size());
    let [sa_buf, sb_buf] = &mut ws.states;
    sa_buf.resize(bounds.len() * bsz * p, T::ZERO);
    sb_buf.resize(bounds.len() * bsz * sb, T::ZERO);
    let (tr_a, tr_b) = (
        ws.run.a.as_ref().expect("run"),
        ws.run.b.as_ref().expect("run"),
    );
    for (k, &t) in bounds.iter().enumerate() {
        read_pipe_state(model, tr_a, t, &mut sa_buf[k * bsz * p..(k + 1) * bsz * p]);
        tr_b.read_state(t, &mut sb_buf[k * bsz * sb..(k + 1) * bsz * sb]);
    }
    let context = batch.context.as_ref().filter(|_| first.context.is_some());
    ws.context.clear();
    if let Some(c) = context {
        bounds.iter().for_each(|_| ws.context.extend_from_slice(c));
    }
    let ctx = context.map(|_| &ws.context[..]);
    for (i, cb) in cbs.iter().enumerate() {
        if let Some(cb) = cb {
            cb.forward(&model.params, &ws.states[i], ctx, &mut ws.cerebellum[i]);
        }
    }
}

/// Area A's state at the boundary before step `t` with its pipe, per sample
/// `[s^A_t; h^A_{t-d}; …; h^A_{t-1}]` (zeros for steps before the first), into `out` (B × P).
pub(super) fn read_pipe_state<T: Real>(
    model: &Chain<T>,
    tr_a: &crate::cortex::Trace<T>,
    t: usize,
    out: &mut [T],
) {
    let (bsz, sa, ha, d) = (
        tr_a.batch,
        model.a.state_size(),
        model.a.hidden(),
        model.delay,
    );
    let p = sa + d * ha;
    let mut s = vec![T::ZERO; bsz * sa];
    tr_a.read_state(t, &mut s);
    for b in 0..bsz {
        let row = &mut out[b * p..(b + 1) * p];
        row[..sa].copy_from_slice(&s[b * sa..(b + 1) * sa]);
        for j in 0..d {
            let slot = &mut row[sa + j * ha..sa + (j + 1) * ha];
            match (t + j).checked_sub(d) {
                // h^A_tau is block tau + 1 of the trace.
                Some(tau) => {
                    slot.copy_from_slice(&tr_a.h[tr_a.block(tau + 1)][b * ha..(b + 1) * ha])
                }
                None => slot.fill(T::ZERO),
            }
        }
    }
}

/// Phase 3, one window: B backpropagated (task loss, injection at its end), its input
/// gradients routed to A's activity (A's outputs in the window, or A's start pipe), A
/// backpropagated (that feedback and its own injection). Leaves both areas' teaching signals in
/// block `w`.
fn backward_window<T: Real>(
    model: &Chain<T>,
    ws: &mut Workspace<T>,
    w: usize,
    inject: Option<T>,
    forward_on: bool,
) {
    let (t0, t1) = ws.windows[w];
    let bsz = ws.run.a.as_ref().expect("run").batch;
    let (ha, hb, d) = (model.a.hidden(), model.b.hidden(), model.delay);
    let (sa, p, sb) = (
        model.a.state_size(),
        model.pipe_state_size(),
        model.b.state_size(),
    );
    let present = model.backward.each_ref().map(Option::is_some);
    set_injection(ws, w, inject, [p, sb], present, bsz);
    // B.
    let tr_b = ws.run.b.as_mut().expect("run");
    let block_b = w * bsz * sb..(w + 1) * bsz * sb;
    let grads_b = WindowGradients {
        t0,
        t1,
        dh_out: Some(&ws.dh_b[t0 * bsz * hb..t1 * bsz * hb]),
        d_end: &ws.injected[1][block_b.clone()],
        d_start: &mut ws.teaching[1][block_b],
    };
    model.b.backward_window(&model.params, tr_b, grads_b);
    ws.dx_b.resize((t1 - t0) * bsz * ha, T::ZERO);
    (model.b.weights()).input_gradients(&model.params, tr_b, &mut ws.dx_b, t0, t1);
    // Feedback onto A's activity: B's input gradients, and the pipe part of A's injection.
    let block_a = w * bsz * p..(w + 1) * bsz * p;
    let mut credit = Credit {
        t0,
        delay: d,
        hidden: ha,
        state: sa,
        batch: bsz,
        outputs: &mut ws.dh_a,
        start: &mut ws.teaching[0][block_a.clone()],
    };
    credit.clear(t1 - t0);
    for t in t0..t1 {
        let tau = if forward_on && model.forward_spec.is_some() {
            t as isize
        } else {
            t as isize - d as isize
        };
        let rows = &ws.dx_b[(t - t0) * bsz * ha..(t - t0 + 1) * bsz * ha];
        for (b, g) in rows.chunks_exact(ha).enumerate() {
            credit.add(tau, b, g);
        }
    }
    let injected_a = &ws.injected[0][block_a.clone()];
    ws.end_a.resize(bsz * sa, T::ZERO);
    for (b, row) in injected_a.chunks_exact(p).enumerate() {
        ws.end_a[b * sa..(b + 1) * sa].copy_from_slice(&row[..sa]);
        for (j, g) in row[sa..].chunks_exact(ha.max(1)).enumerate() {
            // Pipe slot j at t1 holds h^A_{t1-d+j}.
            credit.add((t1 + j) as isize - d as isize, b, g);
        }
    }
    // A.
    let tr_a = ws.run.a.as_mut().expect("run");
    ws.start_a.resize(bsz * sa, T::ZERO);
    let grads_a = WindowGradients {
        t0,
        t1,
        dh_out: Some(&ws.dh_a),
        d_end: &ws.end_a,
        d_start: &mut ws.start_a,
    };
    model.a.backward_window(&model.params, tr_a, grads_a);
    let teach_a = &mut ws.teaching[0][block_a];
    for (row, s) in teach_a.chunks_exact_mut(p).zip(ws.start_a.chunks_exact(sa)) {
        row[..sa].copy_from_slice(s);
    }
}

/// Block `w` of each area's injection: `lambda C(end of window w)`, or zero (no injection,
/// or no backward cerebellum in that area: `present`).
fn set_injection<T: Real>(
    ws: &mut Workspace<T>,
    w: usize,
    inject: Option<T>,
    sizes: [usize; 2],
    present: [bool; 2],
    bsz: usize,
) {
    let nw = ws.windows.len();
    for (i, size) in sizes.into_iter().enumerate() {
        let n = bsz * size;
        ws.injected[i].resize(nw * n, T::ZERO);
        ws.teaching[i].resize(nw * n, T::ZERO);
        let this = w * n..(w + 1) * n;
        match inject.filter(|_| present[i]) {
            Some(l) => {
                let end = &ws.cerebellum[i].output[(w + 1) * n..(w + 2) * n];
                for (v, &c) in ws.injected[i][this].iter_mut().zip(end) {
                    *v = l * c;
                }
            }
            None => ws.injected[i][this].fill(T::ZERO),
        }
    }
}

/// Where feedback about A's activity at step tau lands in window [t0, ..): on A's output
/// `h^A_tau` when tau is in the window, else on slot `tau - (t0 - d)` of A's pipe at the
/// window's start (which the truncation cuts: it becomes part of A's teaching signal). Steps
/// before the first (tau < 0) are the zero padding, part of the start pipe too.
struct Credit<'a, T> {
    t0: usize,
    delay: usize,
    hidden: usize,
    state: usize,
    batch: usize,
    /// The window's gradient at A's outputs ((t1 - t0) · B × H_A).
    outputs: &'a mut Vec<T>,
    /// The window's A teaching-signal block (B × P); its pipe part receives.
    start: &'a mut [T],
}

impl<T: Real> Credit<'_, T> {
    fn clear(&mut self, steps: usize) {
        self.outputs.clear();
        self.outputs
            .resize(steps * self.batch * self.hidden, T::ZERO);
        self.start.fill(T::ZERO);
    }

    /// Adds `g` (H_A values) for sample `b` at A's activity of step `tau`.
    fn add(&mut self, tau: isize, b: usize, g: &[T]) {
        let (h, t0) = (self.hidden, self.t0 as isize);
        let dst = if tau >= t0 {
            let row = (tau - t0) as usize * self.batch + b;
            &mut self.outputs[row * h..(row + 1) * h]
        } else {
            let j = (tau - t0 + self.delay as isize) as usize;
            let p = self.state + self.delay * h;
            let at = b * p + self.state + j * h;
            &mut self.start[at..at + h]
        };
        dst.iter_mut().zip(g).for_each(|(x, &v)| *x += v);
    }
}

/// Phase 4. Each backward cerebellum regresses C(start of window w) onto its teaching signal:
/// output gradient `factor · (C − g)`, backpropagated through it only. Returns the summed
/// squared errors of each (A, B; 0 for an area without one).
fn teach_backward<T: Real>(
    model: &Chain<T>,
    factor: T,
    ws: &mut Workspace<T>,
    grads: &mut [T],
) -> [f64; 2] {
    let mut losses = [0.0; 2];
    for (i, cb) in model.backward.iter().enumerate() {
        let Some(cb) = cb else { continue };
        let loss = &mut losses[i];
        let n = ws.teaching[i].len();
        ws.d_prediction.resize(n, T::ZERO);
        let predictions = &ws.cerebellum[i].output[..n];
        for ((dp, &c), &g) in ws
            .d_prediction
            .iter_mut()
            .zip(predictions)
            .zip(&ws.teaching[i])
        {
            let e = c - g;
            *loss += e.to_f64() * e.to_f64();
            *dp = factor * e;
        }
        let rows = n / cb.input_size();
        let context = (cb.context.as_ref())
            .filter(|_| !ws.context.is_empty())
            .map(|c| &ws.context[..rows * c.inputs]);
        cb.backward(
            &model.params,
            &mut ws.cerebellum[i],
            &ws.d_prediction,
            context,
            grads,
        );
    }
    losses
}

/// Phase 5. The forward cerebellum regresses B's input onto the activity it stands for,
/// `h^A_t` (which reaches B d steps later: its teaching signal): output gradient
/// `factor · (input_B − h^A_t)` at every step. Returns the mean squared error per value.
fn teach_forward<T: Real>(
    model: &Chain<T>,
    factor: T,
    ws: &mut Workspace<T>,
    grads: &mut [T],
) -> f64 {
    let f = model.forward.as_ref().expect("a forward cerebellum");
    let tr_a = ws.run.a.as_ref().expect("run");
    let truth = tr_a.outputs(0, tr_a.steps);
    ws.d_forward.resize(truth.len(), T::ZERO);
    let mut sq = 0.0;
    for ((dv, &u), &v) in ws.d_forward.iter_mut().zip(&ws.run.input_b).zip(truth) {
        let e = u - v;
        sq += e.to_f64() * e.to_f64();
        *dv = factor * e;
    }
    f.backward(
        &model.params,
        &ws.run.forward,
        &ws.d_forward,
        &mut ws.d_granule,
        grads,
    );
    sq / truth.len().max(1) as f64
}

/// What the last batch's step computed at the window boundaries, per area (A with its pipe,
/// then B): the states (W + 1 blocks), the injected `lambda C(end)` and the teaching signals
/// (W blocks each). For tests and analyses.
pub struct WindowSignals<'a, T> {
    pub states: [&'a [T]; 2],
    pub injected: [&'a [T]; 2],
    pub teaching: [&'a [T]; 2],
}

impl<T: Real> ChainTrainer<T> {
    /// The boundary signals of the last batch ([`WindowSignals`]).
    pub fn window_signals(&self) -> WindowSignals<'_, T> {
        let ws = &self.ws;
        WindowSignals {
            states: [&ws.states[0], &ws.states[1]],
            injected: [&ws.injected[0], &ws.injected[1]],
            teaching: [&ws.teaching[0], &ws.teaching[1]],
        }
    }

    /// The activations of the last batch's forward pass.
    pub fn last_run(&self) -> &ChainRun<T> {
        &self.ws.run
    }
}
