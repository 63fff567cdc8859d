//! The cortico-cerebellar training step: truncated BPTT in the cortex, helped by cerebellar
//! predictions of the feedback that truncation cuts off (ML name: decoupled neural interfaces with
//! synthetic gradients). The whole algorithm of SPEC section 2 is `Trainer::run_windows`:
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
//! Because the parameters do not change inside a batch, the forward pass does not depend on the
//! backward pass: the cortex runs over the whole sequence first (its input projection one GEMM),
//! the cerebellum predicts at every window boundary at once (one GEMM per layer), the windows are
//! backpropagated one by one (only the recurrence is sequential), and every weight gradient is one
//! GEMM over the whole sequence. With an update per window the same code runs window by window.

use crate::loss::{Target, window_loss};
use crate::model::Model;
use crate::optim::{Optimizer, OptimizerKind, clip};
use crate::real::Real;
use crate::{
    cortex::{Trace, WindowGradients},
    layers::cerebellum::CerebellumTrace,
};
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// A batch of sequences, time-major.
#[derive(Clone, Debug)]
pub struct Batch<T> {
    pub batch: usize,
    pub steps: usize,
    /// `steps · batch × input`, row `t * batch + b`.
    pub inputs: Vec<T>,
    pub target: Target<T>,
    /// Context of each sample for a cerebellum with context input (`batch × context`).
    pub context: Option<Vec<T>>,
}

/// What the cerebellum does during training.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CerebellumMode {
    /// Neither used nor trained (a cRNN, or a ccRNN after cerebellar ablation).
    Off,
    /// Predicts the feedback and learns from the teaching signal (ccRNN).
    Active,
    /// Predicts but no longer learns (inferior-olive ablation).
    Frozen,
    /// Learns from the teaching signal, but its prediction is not applied (control).
    Silent,
}

impl CerebellumMode {
    fn predicts(self) -> bool {
        matches!(self, CerebellumMode::Active | CerebellumMode::Frozen)
    }
    fn learns(self) -> bool {
        matches!(self, CerebellumMode::Active | CerebellumMode::Silent)
    }
}

/// How the cerebellum's squared error is scaled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CerebellumLoss {
    /// Summed over the batch (the authors' code: gradient 2 (C(s) - g) per sample).
    Sum,
    /// Mean over the batch (what dni-pytorch meant: gradient 2 (C(s) - g) / B).
    Mean,
}

/// When the optimizer steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UpdateEvery {
    /// Gradients summed over the windows, one step per batch.
    Batch,
    /// One step after every window (the authors' captioning code).
    Window,
}

/// The choices of the training step (SPEC section 2), defaulted as the papers' code makes them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainOptions {
    /// Feedback horizon K: steps per window of truncated BPTT.
    pub horizon: usize,
    /// Scale lambda of the cerebellar prediction injected at a window's end.
    pub lambda: f64,
    pub cerebellum_loss: CerebellumLoss,
    /// Inject lambda C(s_end) at the end of the last window too (the authors' code does).
    pub inject_at_last_window: bool,
    pub update: UpdateEvery,
    /// Global-norm clipping threshold (0: no clipping).
    pub clip: f64,
    pub optimizer: OptimizerKind,
    pub lr: f64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            horizon: 1,
            lambda: 0.1,
            cerebellum_loss: CerebellumLoss::Sum,
            inject_at_last_window: true,
            update: UpdateEvery::Batch,
            clip: 1.0,
            optimizer: OptimizerKind::default(),
            lr: 1e-3,
        }
    }
}

/// Figures of one training batch.
#[derive(Clone, Debug, Default)]
pub struct BatchStats {
    /// Sum of the window task losses (the differentiated objective).
    pub task_loss: f64,
    /// Squared error (summed over outputs) at the feedback steps, and the number of rows in it.
    pub feedback_sq_err: f64,
    pub feedback_rows: usize,
    /// Sum over windows of the cerebellum's squared error (when it learns).
    pub cerebellum_loss: f64,
    /// Mean cosine between the cerebellar prediction and its teaching signal at the window
    /// boundaries (windows after the first), per sample; `None` when not measured.
    pub cosine: Option<f64>,
    /// Global gradient norm before clipping, and the clip scale (of the last update).
    pub grad_norm: f64,
    pub clip_scale: f64,
    cosine_sum: Option<(f64, usize)>,
}

/// Everything about one window, recorded on request (tests, analyses).
#[derive(Clone, Debug, Default)]
pub struct WindowRecord {
    pub t0: usize,
    pub t1: usize,
    pub task_loss: Option<f64>,
    pub s_start: Vec<f64>,
    pub s_end: Vec<f64>,
    /// C(s_start), the teaching signal g, ||C(s_start) - g||^2 and the injected lambda C(s_end).
    pub prediction: Vec<f64>,
    pub teaching_signal: Vec<f64>,
    pub cerebellum_loss: f64,
    pub injected: Vec<f64>,
}

/// A model, its optimizer, and the buffers of the training step.
pub struct Trainer<T: Real> {
    pub model: Model<T>,
    pub optimizer: Optimizer<T>,
    pub options: TrainOptions,
    pub mode: CerebellumMode,
    /// Gradients of the last batch (layout of `model.params`).
    pub grads: Vec<T>,
    trace: Option<Trace<T>>,
    cb_trace: CerebellumTrace<T>,
    y: Vec<T>,
    dy: Vec<T>,
    dh: Vec<T>,
    states: Vec<T>,
    context: Vec<T>,
    teaching: Vec<T>,
    d_cb: Vec<T>,
    inject: Vec<T>,
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
            model,
            options,
            mode,
            trace: None,
            cb_trace: CerebellumTrace::default(),
            y: Vec::new(),
            dy: Vec::new(),
            dh: Vec::new(),
            states: Vec::new(),
            context: Vec::new(),
            teaching: Vec::new(),
            d_cb: Vec::new(),
            inject: Vec::new(),
        }
    }

    /// Sets what the cerebellum does from now on (lesions). A model without one stays `Off`.
    pub fn set_mode(&mut self, mode: CerebellumMode) {
        self.mode = if self.model.cerebellum.is_some() {
            mode
        } else {
            CerebellumMode::Off
        };
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
        let mut stats = BatchStats::default();
        let groups: Vec<&[(usize, usize)]> = match self.options.update {
            UpdateEvery::Batch => vec![&windows[..]],
            UpdateEvery::Window => windows.chunks(1).collect(),
        };
        self.model
            .cortex
            .start_sequence(&mut self.trace, batch.batch, batch.steps);
        for group in groups {
            self.grads.fill(T::ZERO);
            self.run_windows(batch, group, &mut stats, None);
            self.apply_update(&mut stats);
        }
        stats.finish_cosine();
        stats
    }

    /// Computes the gradients of one batch (all windows, no update), recording every window in
    /// `records` if given. Follow with [`Self::apply_update`].
    pub fn compute_gradients(
        &mut self,
        batch: &Batch<T>,
        records: Option<&mut Vec<WindowRecord>>,
    ) -> BatchStats {
        let windows = self.windows(batch.steps);
        let mut stats = BatchStats::default();
        self.model
            .cortex
            .start_sequence(&mut self.trace, batch.batch, batch.steps);
        self.grads.fill(T::ZERO);
        self.run_windows(batch, &windows, &mut stats, records);
        stats.finish_cosine();
        stats
    }

    /// Clips the gradients of the trained parameters and takes one optimizer step.
    pub fn apply_update(&mut self, stats: &mut BatchStats) {
        let ranges = self.trained_ranges();
        (stats.grad_norm, stats.clip_scale) = if self.options.clip > 0.0 {
            clip(&mut self.grads, &ranges, self.options.clip)
        } else {
            (crate::optim::grad_norm(&self.grads, &ranges), 1.0)
        };
        self.optimizer
            .update(&mut self.model.params, &self.grads, &ranges);
    }

    /// The parameter ranges that learn in the current mode.
    pub fn trained_ranges(&self) -> Vec<Range<usize>> {
        let mut r = vec![self.model.cortical_range()];
        if self.mode.learns() {
            r.push(self.model.cerebellar_range());
        }
        r
    }

    /// The synthetic-gradient algorithm over a run of consecutive windows whose state at the
    /// first window's start is already in the trace; accumulates into `self.grads`.
    fn run_windows(
        &mut self,
        batch: &Batch<T>,
        windows: &[(usize, usize)],
        stats: &mut BatchStats,
        mut records: Option<&mut Vec<WindowRecord>>,
    ) {
        let model = &self.model;
        let p = &model.params;
        let tr = self.trace.as_mut().expect("start_sequence first");
        let (bsz, steps) = (batch.batch, batch.steps);
        let (g0, g1) = (windows[0].0, windows[windows.len() - 1].1);
        let (h, out, s) = (
            model.cortex.hidden(),
            model.readout.outputs,
            model.cortex.state_size(),
        );
        let rows = |t0: usize, t1: usize| (t0 - g0) * bsz..(t1 - g0) * bsz;

        // Forward: cortex over the whole run, readout of every step, task loss per window.
        model.cortex.forward(p, &batch.inputs, tr, g0, g1);
        let n_rows = (g1 - g0) * bsz;
        self.y.resize(n_rows * out, T::ZERO);
        self.dy.resize(n_rows * out, T::ZERO);
        model
            .readout
            .forward(p, tr.outputs(g0, g1), &mut self.y, false);
        let mut losses = Vec::with_capacity(windows.len());
        for &(t0, t1) in windows {
            let r = rows(t0, t1);
            let (y, dy) = (
                &self.y[r.start * out..r.end * out],
                &mut self.dy[r.start * out..r.end * out],
            );
            let loss = window_loss(&batch.target, y, dy, t0, t1, steps, bsz);
            if let (Some(l), Target::Trajectory { feedback, .. }) = (loss, &batch.target) {
                let n_fb = feedback[t0..t1].iter().filter(|&&f| f).count();
                stats.feedback_sq_err += l * (n_fb * bsz * out) as f64;
                stats.feedback_rows += n_fb * bsz;
            }
            stats.task_loss += loss.unwrap_or(0.0);
            losses.push(loss);
        }
        let any_loss = losses.iter().any(Option::is_some);
        if any_loss {
            model
                .readout
                .backward_params(tr.outputs(g0, g1), &self.dy, &mut self.grads);
            self.dh.resize(n_rows * h, T::ZERO);
            model.readout.backward_input(p, &self.dy, &mut self.dh);
        }

        // The cerebellum predicts at every window boundary at once: block w is C(s_start(w)),
        // the last block C(s_end) of the last window.
        let nw = windows.len();
        let cerebellum = model
            .cerebellum
            .as_ref()
            .filter(|_| self.mode != CerebellumMode::Off);
        self.states.resize((nw + 1) * bsz * s, T::ZERO);
        if cerebellum.is_some() || records.is_some() {
            for (w, &(t0, _)) in windows.iter().enumerate() {
                let block = &mut self.states[w * bsz * s..(w + 1) * bsz * s];
                tr.read_state(t0, block);
            }
            tr.read_state(g1, &mut self.states[nw * bsz * s..]);
        }
        let ctx = batch
            .context
            .as_ref()
            .filter(|_| cerebellum.is_some_and(|c| c.context.is_some()));
        if let Some(c) = ctx {
            self.context.clear();
            (0..=nw).for_each(|_| self.context.extend_from_slice(c));
        }
        let ctx = ctx.map(|_| &self.context[..]);
        if let Some(cb) = cerebellum {
            cb.forward(p, &self.states, ctx, &mut self.cb_trace);
        }
        let prediction = &self.cb_trace.output;

        // Backward through each window only, seeded with its task loss and lambda C(s_end).
        self.teaching.resize(nw * bsz * s, T::ZERO);
        self.inject.resize(bsz * s, T::ZERO);
        let lambda = T::from_f64(self.options.lambda);
        // A window with no task loss, no injection and no cerebellum to teach needs no backward
        // pass (a cRNN's unsupervised steps); its weight gradients are skipped too.
        let mut backpropagated = vec![false; nw];
        for (w, &(t0, t1)) in windows.iter().enumerate() {
            let injects = cerebellum.is_some()
                && self.mode.predicts()
                && (t1 < steps || self.options.inject_at_last_window);
            if injects {
                let end = &prediction[(w + 1) * bsz * s..(w + 2) * bsz * s];
                for (i, &c) in self.inject.iter_mut().zip(end) {
                    *i = lambda * c;
                }
            } else {
                self.inject.fill(T::ZERO);
            }
            let teach = &mut self.teaching[w * bsz * s..(w + 1) * bsz * s];
            let learns = cerebellum.is_some() && self.mode.learns();
            backpropagated[w] = losses[w].is_some() || injects || learns;
            if !backpropagated[w] {
                teach.fill(T::ZERO);
            } else {
                let r = rows(t0, t1);
                let dh = losses[w].map(|_| &self.dh[r.start * h..r.end * h]);
                let grads = WindowGradients {
                    t0,
                    t1,
                    dh_out: dh,
                    d_end: &self.inject,
                    d_start: teach,
                };
                model.cortex.backward_window(p, tr, grads);
            }
            if let Some(rec) = records.as_deref_mut() {
                let f = |v: &[T]| v.iter().map(|x| x.to_f64()).collect::<Vec<f64>>();
                let pred = cerebellum.map(|_| f(&prediction[w * bsz * s..(w + 1) * bsz * s]));
                rec.push(WindowRecord {
                    t0,
                    t1,
                    task_loss: losses[w],
                    s_start: f(&self.states[w * bsz * s..(w + 1) * bsz * s]),
                    s_end: f(&self.states[(w + 1) * bsz * s..(w + 2) * bsz * s]),
                    prediction: pred.unwrap_or_default(),
                    teaching_signal: f(teach),
                    cerebellum_loss: 0.0,
                    injected: f(&self.inject),
                });
            }
        }

        // How well the cerebellum predicts its teaching signal at the window boundaries.
        if cerebellum.is_some() {
            for (w, _) in windows.iter().enumerate().filter(|(_, t)| t.0 > 0) {
                let block = w * bsz * s..(w + 1) * bsz * s;
                stats.add_cosine(&prediction[block.clone()], &self.teaching[block], s);
            }
        }

        // The cerebellum learns to predict the teaching signals from the window-start states.
        if let Some(cb) = cerebellum.filter(|_| self.mode.learns()) {
            let n = nw * bsz * s;
            let factor = match self.options.cerebellum_loss {
                CerebellumLoss::Sum => 2.0,
                CerebellumLoss::Mean => 2.0 / bsz as f64,
            };
            let factor = T::from_f64(factor);
            self.d_cb.resize(n, T::ZERO);
            for ((d, &c), &g) in self
                .d_cb
                .iter_mut()
                .zip(&prediction[..n])
                .zip(&self.teaching)
            {
                *d = factor * (c - g);
            }
            for w in 0..nw {
                let block = w * bsz * s..(w + 1) * bsz * s;
                let err: f64 = prediction[block.clone()]
                    .iter()
                    .zip(&self.teaching[block.clone()])
                    .map(|(c, g)| (c.to_f64() - g.to_f64()).powi(2))
                    .sum();
                stats.cerebellum_loss += err;
                if let Some(rec) = records.as_deref_mut() {
                    let i = rec.len() - nw + w;
                    rec[i].cerebellum_loss = err;
                }
            }
            let ctx_rows =
                ctx.map(|c| &c[..nw * bsz * cb.context.as_ref().map_or(0, |l| l.inputs)]);
            cb.backward(p, &mut self.cb_trace, &self.d_cb, ctx_rows, &mut self.grads);
        }

        // The cortical weight gradients: one GEMM each per run of consecutive windows that
        // were backpropagated (the whole sequence at once for a ccRNN).
        let mut w = 0;
        while w < nw {
            if !backpropagated[w] {
                w += 1;
                continue;
            }
            let start = windows[w].0;
            while w < nw && backpropagated[w] {
                w += 1;
            }
            let end = windows[w - 1].1;
            model
                .cortex
                .backward_params(&batch.inputs, tr, &mut self.grads, start, end);
        }
    }
}

impl BatchStats {
    fn add_cosine<T: Real>(&mut self, a: &[T], b: &[T], s: usize) {
        let mut sum = 0.0;
        let mut n = 0usize;
        for (x, y) in a.chunks_exact(s).zip(b.chunks_exact(s)) {
            let (mut xy, mut xx, mut yy) = (0.0, 0.0, 0.0);
            for (u, v) in x.iter().zip(y) {
                let (u, v) = (u.to_f64(), v.to_f64());
                xy += u * v;
                xx += u * u;
                yy += v * v;
            }
            if xx > 0.0 && yy > 0.0 {
                sum += xy / (xx * yy).sqrt();
                n += 1;
            }
        }
        if n > 0 {
            let (acc, count) = self.cosine_sum.get_or_insert((0.0, 0));
            *acc += sum / n as f64;
            *count += 1;
        }
    }

    fn finish_cosine(&mut self) {
        self.cosine = self.cosine_sum.map(|(s, n)| s / n as f64);
    }
}
