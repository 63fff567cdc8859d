//! The cortico-cerebellar training step: truncated BPTT in the cortex, helped by cerebellar
//! predictions of the feedback that truncation cuts off (ML name: decoupled neural interfaces
//! with synthetic gradients). The algorithm (docs/model.md §2), per batch:
//!
//! ```text
//! s = 0
//! for each window [t0, t1) of K steps (the feedback horizon):
//!     run the cortex from the detached state s_start = s to s_end
//!     backpropagate through this window only, seeded with the window's task-loss gradient
//!         and lambda * C(s_end) at s_end (the cerebellar prediction, a constant here)
//!     g = gradient arriving at s_start                      (the teaching signal: inferior olive)
//!     cerebellum loss ||C(s_start) - g||^2 trains C only    (its input is detached)
//!     s = s_end
//! clip the global gradient norm of all parameters; one optimizer step
//! ```
//!
//! The parameters do not change inside a batch, so the forward pass does not depend on the
//! backward pass, and [`Trainer`] computes the same gradients in phases, each over all windows
//! at once where it can (`backprop_windows` reads as this list):
//!
//! 1. [`forward_sequence`]: the cortex over the whole sequence (its input projection one GEMM),
//!    the readout of every step, each window's task loss and its gradient at the cortex outputs;
//! 2. [`predict_feedback`]: the cerebellum at every window boundary (one GEMM per layer);
//! 3. [`backward_windows`]: each window backpropagated on its own, seeded with its task loss and
//!    the injected prediction; what arrives at its start is its teaching signal;
//! 4. [`teach_cerebellum`]: the cerebellum's gradient from all teaching signals at once;
//! 5. [`cortical_weight_gradients`]: one GEMM per weight over the backpropagated windows;
//!    with an input stage in front of the cortex (the caption task's image map and word
//!    embedding), the gradient at the cortex's inputs too, into the input stage's weights.
//!
//! With an optimizer step per window the same phases run one window at a time.
//!
//! Shapes (legend): B = batch, S = cortical state size (2H for an LSTM, H for a tanh RNN),
//! H = hidden units, O = outputs, W = windows in the run, R = rows of the run (its steps × B).
//! Block `w` of a boundary buffer (`B × S`) belongs to the start of window `w`; block W, where
//! there is one, to the end of the last window.

mod options;
mod recording;
mod records;
mod true_feedback;
#[cfg(test)]
mod word_tests;

pub use options::{CerebellumLoss, CerebellumMode, OliveLesion, TrainOptions, UpdateEvery};
pub use recording::{RecordOptions, RecordedArray, Recording};
pub use records::{BatchStats, WindowRecord};

use crate::batch::Batch;
use crate::cortex::{Trace, WindowGradients};
use crate::layers::cerebellum::{Cerebellum, CerebellumTrace};
use crate::loss::window_losses;
use crate::model::Model;
use crate::optim::{Optimizer, clip, grad_norm};
use crate::real::Real;
use std::ops::Range;

/// A model, its optimizer, and the buffers of the training step.
pub struct Trainer<T: Real> {
    pub model: Model<T>,
    pub optimizer: Optimizer<T>,
    pub options: TrainOptions,
    pub mode: CerebellumMode,
    /// Gradients of the last run of windows (layout of `model.params`), until the optimizer
    /// step applies them and leaves the ranges it updates at zero.
    pub grads: Vec<T>,
    /// The gradient ranges that the last optimizer step left at zero: the next run of windows
    /// need not zero them again.
    cleared: Vec<Range<usize>>,
    /// Cortical parameters that never learn (a pretrained image map, [`Self::freeze`]).
    frozen: Vec<Range<usize>>,
    ws: Workspace<T>,
}

/// The work buffers of the training step, allocated once and reused; shapes per the legend in
/// the module doc.
#[derive(Default)]
struct Workspace<T> {
    /// The windows `[t0, t1)` of the current run.
    windows: Vec<(usize, usize)>,
    /// With an input stage: the cortex's inputs of the whole sequence (`steps · B × input`),
    /// filled run by run, their dropout mask (same shape, empty: none) and their gradient over
    /// a run of windows.
    x: Vec<T>,
    mask: Vec<T>,
    dx: Vec<T>,
    /// B × S: one boundary block.
    block: usize,
    /// The cortex's activations over the whole sequence.
    trace: Option<Trace<T>>,
    /// Readout of every step of the run (R × O), the task loss's gradient there (R × O) and at
    /// the cortex outputs (R × H).
    y: Vec<T>,
    dy: Vec<T>,
    dh: Vec<T>,
    /// Each window's task loss (`None`: no supervised step in it).
    losses: Vec<Option<f64>>,
    /// The cortical states at the window boundaries, (W + 1) blocks: the cerebellum's input.
    states: Vec<T>,
    /// Each boundary block's context, (W + 1) blocks of B × context.
    context: Vec<T>,
    /// The cerebellum's activations; its output block `w` is C(states block `w`).
    cerebellum: CerebellumTrace<T>,
    /// The injected lambda C(s_end) of each window (W blocks; zero where nothing is injected).
    injected: Vec<T>,
    /// The teaching signal of each window: the gradient arriving at its start state (W blocks).
    teaching: Vec<T>,
    /// The gradient of the cerebellum loss at its output, factor (C(s_start) - g) (W blocks).
    d_prediction: Vec<T>,
    /// Whether each window was backpropagated (a window with no task loss, no injection and no
    /// cerebellum to teach needs no backward pass).
    backpropagated: Vec<bool>,
}

impl<T> Workspace<T> {
    /// Boundary block `w` of a `B × S`-block buffer.
    fn boundary(&self, w: usize) -> Range<usize> {
        w * self.block..(w + 1) * self.block
    }

    /// Rows of window `w` of the run in an `R × n` buffer.
    fn rows(&self, w: usize, n: usize) -> Range<usize> {
        let (g0, (t0, t1)) = (self.windows[0].0, self.windows[w]);
        let bsz = self.trace.as_ref().map_or(0, |t| t.batch);
        (t0 - g0) * bsz * n..(t1 - g0) * bsz * n
    }
}

impl<T: Real> Trainer<T> {
    /// A trainer; the cerebellum is `Active` when the model has one, else `Off`.
    pub fn new(model: Model<T>, options: TrainOptions) -> Self {
        let n = model.params.len();
        let mode = if model.cerebellum.is_some() {
            CerebellumMode::Active
        } else {
            CerebellumMode::Off
        };
        Trainer {
            optimizer: Optimizer::new(options.optimizer, options.lr, n),
            grads: vec![T::ZERO; n],
            cleared: Vec::new(),
            frozen: Vec::new(),
            model,
            options,
            mode,
            ws: Workspace::default(),
        }
    }

    /// Sets what the cerebellum does from now on (lesions). A model without one stays `Off`.
    pub fn set_mode(&mut self, mode: CerebellumMode) {
        let accumulating = self.accumulates_cerebellar_gradient();
        self.mode = if self.model.cerebellum.is_some() {
            mode
        } else {
            CerebellumMode::Off
        };
        if self.accumulates_cerebellar_gradient() && !accumulating {
            // The authors' lesioned gradients accumulate from zero at the lesion.
            let cb = self.model.cerebellar_range();
            self.grads[cb].fill(T::ZERO);
        }
    }

    /// Keeps the cortical parameters in `range` as they are from now on: no optimizer step
    /// and no share in the clipping norm (a pretrained image map).
    pub fn freeze(&mut self, range: Range<usize>) {
        self.frozen.push(range);
    }

    /// The windows `[t0, t1)` of a sequence of `steps` steps (the last may be shorter).
    pub fn windows(&self, steps: usize) -> Vec<(usize, usize)> {
        let k = self.options.horizon.max(1);
        (0..steps)
            .step_by(k)
            .map(|t0| (t0, (t0 + k).min(steps)))
            .collect()
    }

    /// Trains on one batch: gradients, clipping and the optimizer step(s).
    pub fn train_batch(&mut self, batch: &Batch<T>) -> BatchStats {
        let windows = self.windows(batch.steps);
        let runs: Vec<&[(usize, usize)]> = match self.options.update {
            UpdateEvery::Batch => vec![&windows[..]],
            UpdateEvery::Window => windows.chunks(1).collect(),
        };
        let mut stats = BatchStats::default();
        self.start_batch(batch);
        let last = runs.len() - 1;
        for (i, run) in runs.into_iter().enumerate() {
            self.backprop_windows(batch, run);
            self.gather_stats(batch, &mut stats);
            // The batch reports the last update's gradient norm.
            self.update((i == last).then_some(&mut stats));
        }
        stats.finish();
        stats
    }

    /// Starts a batch: a zero initial state. Follow with [`Self::backprop_windows`] over its
    /// windows (all at once, or in consecutive runs).
    pub fn start_batch(&mut self, batch: &Batch<T>) {
        self.model
            .cortex
            .start_sequence(&mut self.ws.trace, batch.batch, batch.steps);
        if let (Some(input), Some(words)) = (&self.model.words, &batch.words) {
            let rows = batch.steps * batch.batch;
            self.ws.x.resize(rows * input.size(), T::ZERO);
            input.dropout_mask(words, rows, &mut self.ws.mask);
        }
    }

    /// Computes the gradients of one batch (all windows, no update) into `grads`. Follow with
    /// [`Self::apply_update`]; [`Self::window_records`] tells what each window did.
    pub fn compute_gradients(&mut self, batch: &Batch<T>) -> BatchStats {
        let windows = self.windows(batch.steps);
        let mut stats = BatchStats::default();
        self.start_batch(batch);
        self.backprop_windows(batch, &windows);
        self.gather_stats(batch, &mut stats);
        stats.finish();
        stats
    }

    /// The synthetic-gradient algorithm over a run of consecutive windows whose start state is
    /// already in the trace: zeroes `grads` (as the optimizer's `zero_grad` would) and
    /// accumulates the run's gradients into them.
    pub fn backprop_windows(&mut self, batch: &Batch<T>, windows: &[(usize, usize)]) {
        self.zero_gradients();
        let (mode, teaches) = (self.mode, self.teaches_cerebellum());
        let Trainer {
            model,
            options,
            grads,
            ws,
            ..
        } = self;
        ws.windows.clear();
        ws.windows.extend_from_slice(windows);
        ws.block = batch.batch * model.cortex.state_size();
        let cerebellum = model
            .cerebellum
            .as_ref()
            .filter(|_| mode != CerebellumMode::Off);
        // lambda C(s_end) is injected while the cerebellum predicts; at the end of the sequence
        // only if asked (the authors' code does).
        let lambda = T::from_f64(options.lambda);
        let injection = |t1: usize| {
            let predicts = cerebellum.is_some() && mode.predicts();
            (predicts && (t1 < batch.steps || options.inject_at_last_window)).then_some(lambda)
        };

        // 1. The cortex over the windows; the readout and each window's task loss.
        forward_sequence(model, batch, ws, grads);
        // 2. The cerebellum's predictions at every window boundary.
        if let Some(cb) = cerebellum {
            predict_feedback(model, cb, batch, ws);
        }
        // 3. Each window backpropagated alone, seeded with its task loss and the injection;
        //    what arrives at its start is its teaching signal.
        backward_windows(model, ws, injection, teaches);
        // 4. The cerebellum regresses C(s_start) onto the teaching signals.
        if let Some(cb) = cerebellum.filter(|_| teaches) {
            let factor = match options.cerebellum_loss {
                CerebellumLoss::Sum => 2.0,
                CerebellumLoss::Mean => 2.0 / batch.batch as f64,
            };
            teach_cerebellum(&model.params, cb, T::from_f64(factor), ws, grads);
        }
        // 5. The cortical weight gradients, whole-sequence GEMMs.
        cortical_weight_gradients(model, batch, ws, grads);
    }

    /// Clips the gradients (all computed ones count in the norm) and takes one optimizer step
    /// on the parameters that learn; `stats` gets the gradient norm and the clip scale.
    pub fn apply_update(&mut self, stats: &mut BatchStats) {
        self.update(Some(stats));
    }

    /// [`Self::apply_update`]; without `stats` and without clipping, the gradient norm, a
    /// statistic then, is not computed (a pass over every gradient: 2% of a caption batch,
    /// whose four updates would each compute it for the last one's to be reported).
    fn update(&mut self, stats: Option<&mut BatchStats>) {
        let clipped = self.clipped_ranges();
        let measured = if self.options.clip > 0.0 {
            Some(clip(&mut self.grads, &clipped, self.options.clip))
        } else {
            stats
                .is_some()
                .then(|| (grad_norm(&self.grads, &clipped), 1.0))
        };
        if let (Some(stats), Some(measured)) = (stats, measured) {
            (stats.grad_norm, stats.clip_scale) = measured;
        }
        let trained = self.trained_ranges();
        self.optimizer
            .update(&mut self.model.params, &mut self.grads, &trained);
        self.cleared = trained;
    }

    /// The parameter ranges that learn in the current mode.
    pub fn trained_ranges(&self) -> Vec<Range<usize>> {
        let mut r = without(self.model.cortical_range(), &self.frozen);
        if self.mode.learns() {
            r.push(self.model.cerebellar_range());
        }
        r
    }

    /// The parameter ranges whose gradients count in the clipping norm: those that learn, and
    /// the lesioned cerebellum's accumulated gradients in the authors' olive-lesion mode.
    fn clipped_ranges(&self) -> Vec<Range<usize>> {
        let mut r = self.trained_ranges();
        if self.accumulates_cerebellar_gradient() {
            r.push(self.model.cerebellar_range());
        }
        r
    }

    /// Whether the cerebellum's gradient is computed: when it learns, and after an
    /// inferior-olive lesion in the authors' mode.
    fn teaches_cerebellum(&self) -> bool {
        self.model.cerebellum.is_some()
            && (self.mode.learns() || self.accumulates_cerebellar_gradient())
    }

    /// After an inferior-olive lesion in the authors' mode the cerebellum's gradients are still
    /// computed but never zeroed or applied.
    fn accumulates_cerebellar_gradient(&self) -> bool {
        self.mode == CerebellumMode::Frozen && self.options.olive_lesion == OliveLesion::Authors
    }

    /// Zeroes the gradients before a run of windows, except the lesioned cerebellum's
    /// accumulating ones in the authors' mode.
    fn zero_gradients(&mut self) {
        let mut ranges = vec![self.model.cortical_range()];
        if !self.accumulates_cerebellar_gradient() {
            ranges.push(self.model.cerebellar_range());
        }
        let cleared = std::mem::take(&mut self.cleared);
        for r in ranges.into_iter().flat_map(|r| without(r, &cleared)) {
            self.grads[r].fill(T::ZERO);
        }
    }
}

/// The parts of `range` outside every range of `holes`, in order.
fn without(range: Range<usize>, holes: &[Range<usize>]) -> Vec<Range<usize>> {
    let mut holes: Vec<&Range<usize>> = holes.iter().filter(|h| !h.is_empty()).collect();
    holes.sort_by_key(|h| h.start);
    let (mut parts, mut at) = (Vec::new(), range.start);
    for h in holes {
        if h.start > at {
            parts.push(at..h.start.min(range.end));
        }
        at = at.max(h.end);
    }
    if at < range.end {
        parts.push(at..range.end);
    }
    parts.retain(|p| !p.is_empty());
    parts
}

/// Phase 1. The cortex runs over the run's windows from the state in the trace; the readout
/// reads every step; each window's task loss, with its gradient at the readout (whose weight
/// gradients go to `grads`) and at the cortex outputs (`ws.dh`).
fn forward_sequence<T: Real>(
    model: &Model<T>,
    batch: &Batch<T>,
    ws: &mut Workspace<T>,
    grads: &mut [T],
) {
    let p = &model.params;
    let (g0, g1) = (ws.windows[0].0, ws.windows[ws.windows.len() - 1].1);
    let (h, out) = (model.cortex.hidden(), model.readout.outputs);
    let x = match (&model.words, &batch.words) {
        (Some(input), Some(words)) => {
            input.forward(p, words, &ws.mask, &mut ws.x, (g0, g1));
            &ws.x
        }
        _ => &batch.inputs,
    };
    let tr = ws.trace.as_mut().expect("start_batch first");
    model.cortex.forward(p, x, tr, g0, g1);
    let rows = (g1 - g0) * batch.batch;
    ws.y.resize(rows * out, T::ZERO);
    ws.dy.resize(rows * out, T::ZERO);
    model
        .readout
        .forward(p, tr.outputs(g0, g1), &mut ws.y, false);
    let sizes = (batch.steps, batch.batch, out);
    let readout = (&ws.y[..], &mut ws.dy[..]);
    window_losses(&batch.target, readout, &ws.windows, sizes, &mut ws.losses);
    if ws.losses.iter().any(Option::is_some) {
        let tr = ws.trace.as_ref().expect("start_batch first");
        model
            .readout
            .backward_params(tr.outputs(g0, g1), &ws.dy, grads);
        ws.dh.resize(rows * h, T::ZERO);
        model.readout.backward_input(p, &ws.dy, &mut ws.dh);
    }
}

/// Phase 2. The cerebellum predicts the feedback at every window boundary at once, from the
/// cortical states there (and the samples' context): block `w` of its output is C(s_start) of
/// window `w`, the last block C(s_end) of the last window.
fn predict_feedback<T: Real>(
    model: &Model<T>,
    cb: &Cerebellum,
    batch: &Batch<T>,
    ws: &mut Workspace<T>,
) {
    let nw = ws.windows.len();
    let tr = ws.trace.as_ref().expect("start_batch first");
    ws.states.resize((nw + 1) * ws.block, T::ZERO);
    let ends = ws.windows.iter().map(|w| w.0).chain([ws.windows[nw - 1].1]);
    for (w, t) in ends.enumerate() {
        tr.read_state(t, &mut ws.states[w * ws.block..(w + 1) * ws.block]);
    }
    cb.arrange_input(&mut ws.states, batch.batch);
    let context = batch.context.as_ref().filter(|_| cb.context.is_some());
    ws.context.clear();
    if let Some(c) = context {
        (0..=nw).for_each(|_| ws.context.extend_from_slice(c));
    }
    let context = context.map(|_| &ws.context[..]);
    cb.forward(&model.params, &ws.states, context, &mut ws.cerebellum);
}

/// Phase 3. Backpropagation through each window only, seeded with its task loss and, where
/// `inject(t1)` gives lambda, the injected prediction lambda C(s_end); the gradient arriving at
/// the window's start is its teaching signal. With `teaches`, every window is backpropagated
/// (the cerebellum needs every teaching signal); otherwise windows with nothing to seed them
/// are skipped.
fn backward_windows<T: Real>(
    model: &Model<T>,
    ws: &mut Workspace<T>,
    inject: impl Fn(usize) -> Option<T>,
    teaches: bool,
) {
    let (nw, h) = (ws.windows.len(), model.cortex.hidden());
    ws.injected.resize(nw * ws.block, T::ZERO);
    ws.teaching.resize(nw * ws.block, T::ZERO);
    ws.backpropagated.clear();
    for w in 0..nw {
        let (t0, t1) = ws.windows[w];
        let (this, next) = (ws.boundary(w), ws.boundary(w + 1));
        let lambda = inject(t1);
        match lambda {
            Some(l) => {
                let end = &ws.cerebellum.output[next];
                for (i, &c) in ws.injected[this.clone()].iter_mut().zip(end) {
                    *i = l * c;
                }
            }
            None => ws.injected[this.clone()].fill(T::ZERO),
        }
        let backprop = ws.losses[w].is_some() || lambda.is_some() || teaches;
        ws.backpropagated.push(backprop);
        if !backprop {
            ws.teaching[this].fill(T::ZERO);
            continue;
        }
        let rows = ws.rows(w, h);
        let gradients = WindowGradients {
            t0,
            t1,
            dh_out: ws.losses[w].map(|_| &ws.dh[rows]),
            d_end: &ws.injected[this.clone()],
            d_start: &mut ws.teaching[this],
        };
        let tr = ws.trace.as_mut().expect("start_batch first");
        model.cortex.backward_window(&model.params, tr, gradients);
    }
}

/// Phase 4. The cerebellum learns to predict the teaching signals from the window-start states:
/// the gradient of the cerebellum loss ||C(s_start) - g||^2 at its output is
/// `factor · (C(s_start) - g)` (factor 2 for the summed loss, 2/B for the mean), backpropagated
/// through the cerebellum only (its input is detached).
fn teach_cerebellum<T: Real>(
    p: &[T],
    cb: &Cerebellum,
    factor: T,
    ws: &mut Workspace<T>,
    grads: &mut [T],
) {
    let n = ws.teaching.len();
    ws.d_prediction.resize(n, T::ZERO);
    let predictions = &ws.cerebellum.output[..n];
    for ((d, &c), &g) in ws
        .d_prediction
        .iter_mut()
        .zip(predictions)
        .zip(&ws.teaching)
    {
        *d = factor * (c - g);
    }
    let rows = n / cb.input_size();
    let context = cb
        .context
        .as_ref()
        .filter(|_| !ws.context.is_empty())
        .map(|c| &ws.context[..rows * c.inputs]);
    cb.backward(p, &mut ws.cerebellum, &ws.d_prediction, context, grads);
}

/// Phase 5. The cortical weight gradients from the recorded gate gradients: one GEMM per weight
/// over each run of consecutive backpropagated windows (the whole sequence for a ccRNN); with
/// an input stage, the gradient at the cortex's inputs over the same steps (one GEMM), into
/// the input stage's weights.
fn cortical_weight_gradients<T: Real>(
    model: &Model<T>,
    batch: &Batch<T>,
    ws: &mut Workspace<T>,
    grads: &mut [T],
) {
    let stage = model.words.as_ref().zip(batch.words.as_ref());
    let x = if stage.is_some() {
        &ws.x
    } else {
        &batch.inputs
    };
    let tr = ws.trace.as_ref().expect("start_batch first");
    let mut w = 0;
    while w < ws.windows.len() {
        if !ws.backpropagated[w] {
            w += 1;
            continue;
        }
        let start = ws.windows[w].0;
        while w < ws.windows.len() && ws.backpropagated[w] {
            w += 1;
        }
        let end = ws.windows[w - 1].1;
        let weights = model.cortex.weights();
        weights.backward_steps(x, tr, grads, start, end);
        if let Some((input, words)) = stage {
            ws.dx
                .resize((end - start) * batch.batch * weights.input, T::ZERO);
            weights.input_gradients(&model.params, tr, &mut ws.dx, start, end);
            input.backward(words, &ws.mask, &mut ws.dx, (start, end), grads);
        }
    }
}
