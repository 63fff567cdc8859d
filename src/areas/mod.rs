//! A cortex of two areas in a chain (docs/model.md §7): area A reads the task's input, area B
//! reads A's activity with a delay of d steps (the cortico-cortical latency) and drives the
//! readout. Each area is an LSTM or a tanh RNN of its own size. Two kinds of cerebellum help:
//!
//! - a **backward cerebellum per area** (backward unlocking, as in the one-area model): it
//!   predicts the feedback its area's state will receive from beyond the truncation window.
//!   Area A's state at a window boundary includes the activity it has sent but B has not yet
//!   received (its *pipe*, the last d outputs), so B's late feedback is part of what A's
//!   cerebellum predicts;
//! - a **forward cerebellum** (forward unlocking, [`forward_cerebellum`]): it predicts the
//!   activity B will receive from A, `h^A_t`, from what B holds at t, and B uses the prediction
//!   in place of, or added to, the delayed signal.
//!
//! A one-area cortex is not built here: it is [`crate::model::Model`] with
//! [`crate::trainer::Trainer`], unchanged. This module reuses their cells, readout and
//! cerebellum. [`Chain`]: the network and its forward pass ([`Chain::run`]); [`step`]: the
//! training step ([`ChainTrainer`]).
//!
//! Shapes (legend): B = batch, L = steps, R = L · B rows (row `t * B + b`), I = task inputs,
//! H_A, H_B = hidden units of the areas, S_A, S_B = their state sizes (2H for an LSTM), d = the
//! delay, P = S_A + d · H_A (area A's state with its pipe), O = outputs.

pub mod forward_cerebellum;
pub mod step;
#[cfg(test)]
mod tests;

pub use step::{ChainStats, ChainTrainer};

use crate::batch::Batch;
use crate::cortex::{CellKind, Cortex, Trace};
use crate::layers::cerebellum::Cerebellum;
use crate::layers::linear::Linear;
use crate::loss::{EvalMetrics, EvalSums};
use crate::model::CerebellumSpec;
use crate::params::Layout;
use crate::real::Real;
use crate::rng::Rng;
use forward_cerebellum::{ForwardCerebellum, ForwardTrace};
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// One cortical area: its cell and its size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AreaSpec {
    pub cell: CellKind,
    pub hidden: usize,
}

/// How B uses the forward cerebellum's prediction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ForwardMode {
    /// B's input is the prediction `F(m_t)`.
    Replace,
    /// B's input is the delayed signal plus the prediction, `h^A_{t-d} + F(m_t)` (F learns the
    /// correction).
    Add,
}

/// Shape and use of the forward cerebellum.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardSpec {
    pub granule: usize,
    pub mode: ForwardMode,
    /// Whether B's own state is one of its inputs (the delayed signal always is).
    pub state_input: bool,
    /// Size of the context input (0: none).
    pub context: usize,
    /// The oracle: B receives the true activity `h^A_t` without delay, and no network is built
    /// (a control: B then behaves as with d = 0).
    pub oracle: bool,
}

/// Which areas have a backward cerebellum (docs/model.md §7.5).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackwardAreas {
    /// One per area (the default).
    #[default]
    Both,
    /// Area A's only: nothing is injected into B's feedback.
    A,
    /// Area B's only: nothing is injected into A's feedback.
    B,
}

impl BackwardAreas {
    /// Whether area A, area B has its backward cerebellum.
    pub fn present(self) -> [bool; 2] {
        match self {
            BackwardAreas::Both => [true, true],
            BackwardAreas::A => [true, false],
            BackwardAreas::B => [false, true],
        }
    }
}

/// Shape of a two-area chain.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChainSpec {
    pub input: usize,
    pub output: usize,
    /// Areas A (input) and B (output).
    pub areas: [AreaSpec; 2],
    /// Steps d between A sending and B receiving.
    pub delay: usize,
    /// The backward cerebellum of each area (same shape for both); `None`: none.
    pub cerebellum: Option<CerebellumSpec>,
    /// Which areas have their backward cerebellum (with `cerebellum`; default both).
    #[serde(default)]
    pub backward_areas: BackwardAreas,
    pub forward: Option<ForwardSpec>,
}

/// A two-area chain's layers and parameters. Layout: area A, area B, readout, the backward
/// cerebellums (A's, then B's, those that exist), the forward cerebellum.
#[derive(Clone, Debug)]
pub struct Chain<T> {
    pub a: Cortex,
    pub b: Cortex,
    pub readout: Linear,
    pub delay: usize,
    /// Backward cerebellums of A (input P) and B (input S_B); `None`: that area has none.
    pub backward: [Option<Cerebellum>; 2],
    pub forward: Option<ForwardCerebellum>,
    pub forward_spec: Option<ForwardSpec>,
    pub layout: Layout,
    pub params: Vec<T>,
}

/// Renames the tensors registered since index `from` from prefix `old` to prefix `new`.
fn rename(layout: &mut Layout, from: usize, old: &str, new: &str) {
    for t in &mut layout.tensors[from..] {
        if let Some(rest) = t.name.strip_prefix(old) {
            t.name = format!("{new}{rest}");
        }
    }
}

impl<T: Real> Chain<T> {
    /// A chain initialised from the run's "init" stream as [`crate::model::Model`] initialises
    /// its parts (cells U(±1/√H), linear layers U(±1/√fan_in), cerebellar output layers zero).
    pub fn new(spec: &ChainSpec, seed: u64) -> Self {
        let mut layout = Layout::default();
        let [sa, sb] = spec.areas;
        let a = Cortex::new(&mut layout, sa.cell, spec.input, sa.hidden);
        rename(&mut layout, 0, "cortex.", "area_a.");
        let n = layout.tensors.len();
        let b = Cortex::new(&mut layout, sb.cell, sa.hidden, sb.hidden);
        rename(&mut layout, n, "cortex.", "area_b.");
        let readout = Linear::new(&mut layout, "readout", sb.hidden, spec.output);
        let with_pipe = a.state_size() + spec.delay * sa.hidden;
        let present = spec.backward_areas.present();
        let mut backward = [
            ("cerebellum_a.", with_pipe, present[0]),
            ("cerebellum_b.", b.state_size(), present[1]),
        ]
        .map(|(name, s, present)| {
            let c = spec.cerebellum.as_ref().filter(|_| present)?;
            let n = layout.tensors.len();
            let cb = Cerebellum::new(&mut layout, s, c.granule, c.layers, c.context);
            rename(&mut layout, n, "cerebellum.", name);
            Some(cb)
        });
        let forward = spec.forward.as_ref().filter(|f| !f.oracle).map(|f| {
            let inputs = sa.hidden + if f.state_input { b.state_size() } else { 0 } + f.context;
            ForwardCerebellum::new(&mut layout, inputs, f.granule, sa.hidden)
        });
        let mut params = vec![T::ZERO; layout.len()];
        let mut rng = Rng::stream(seed, "init");
        a.init(&mut params, &mut rng);
        b.init(&mut params, &mut rng);
        readout.init(&mut params, &mut rng);
        if let Some(c) = &spec.cerebellum {
            let mut mask = Rng::stream(seed, "mask");
            for cb in backward.iter_mut().flatten() {
                cb.init(&mut params, c.sparse_k, &mut rng, &mut mask);
            }
        }
        if let Some(f) = &forward {
            f.init(&mut params, &mut rng);
        }
        Chain {
            a,
            b,
            readout,
            delay: spec.delay,
            backward,
            forward,
            forward_spec: spec.forward.clone(),
            layout,
            params,
        }
    }

    /// The two areas and the readout.
    pub fn cortical_range(&self) -> Range<usize> {
        0..self.readout.bias.end
    }

    /// Whether any area has a backward cerebellum.
    pub fn has_backward(&self) -> bool {
        self.backward.iter().any(Option::is_some)
    }

    /// The backward cerebellums (empty without them).
    pub fn backward_range(&self) -> Range<usize> {
        let end = self
            .forward
            .as_ref()
            .map_or(self.layout.len(), |f| f.granule.weight.start);
        self.readout.bias.end..end
    }

    /// The forward cerebellum (empty without one, or with the oracle).
    pub fn forward_range(&self) -> Range<usize> {
        self.forward
            .as_ref()
            .map_or(self.layout.len()..self.layout.len(), |f| {
                f.granule.weight.start..self.layout.len()
            })
    }

    /// Area A's state with its pipe, per sample: P = S_A + d · H_A.
    pub fn pipe_state_size(&self) -> usize {
        self.a.state_size() + self.delay * self.a.hidden()
    }

    /// The step of A's activity that B's input at `t` stands for: `t` when a forward
    /// cerebellum (or the oracle) supplies it, `t - d` otherwise (`None` before the first step).
    pub fn source_step(&self, t: usize, forward_on: bool) -> Option<usize> {
        if forward_on && self.forward_spec.is_some() {
            Some(t)
        } else {
            t.checked_sub(self.delay)
        }
    }

    /// The forward pass over a whole sequence from the zero state: A over all steps, B's
    /// input at every step (the delayed signal, the forward cerebellum's prediction, or the
    /// oracle's true activity), B, and the readout. `forward_on`: whether the forward
    /// cerebellum is used (false after its lesion: B receives the delayed signal).
    pub fn run(&self, x: &[T], batch: &Batch<T>, forward_on: bool, r: &mut ChainRun<T>) {
        let (bsz, steps, p) = (batch.batch, batch.steps, &self.params);
        let (ha, d) = (self.a.hidden(), self.delay);
        let tr_a = self.a.start_sequence(&mut r.a, bsz, steps);
        self.a.forward(p, x, tr_a, 0, steps);
        let n = bsz * ha;
        r.delayed.clear();
        r.delayed.resize(steps * n, T::ZERO);
        if steps > d {
            r.delayed[d * n..].copy_from_slice(tr_a.outputs(0, steps - d));
        }
        let tr_b = self.b.start_sequence(&mut r.b, bsz, steps);
        r.input_b.resize(steps * n, T::ZERO);
        let spec = self.forward_spec.as_ref().filter(|_| forward_on);
        match (spec, &self.forward) {
            (Some(s), _) if s.oracle => r.input_b.copy_from_slice(tr_a.outputs(0, steps)),
            (Some(s), Some(f)) => {
                let context = batch.context.as_deref().filter(|_| s.context > 0);
                let io = (&r.delayed[..], &mut r.input_b[..], &mut r.forward);
                predict_inputs(f, s, p, &self.b, tr_b, context, io);
                return self.read_out(bsz, steps, r);
            }
            _ => r.input_b.copy_from_slice(&r.delayed),
        }
        self.b.forward(p, &r.input_b, tr_b, 0, steps);
        self.read_out(bsz, steps, r);
    }

    fn read_out(&self, bsz: usize, steps: usize, r: &mut ChainRun<T>) {
        let tr_b = r.b.as_ref().expect("run B first");
        r.y.resize(steps * bsz * self.readout.outputs, T::ZERO);
        self.readout
            .forward(&self.params, tr_b.outputs(0, steps), &mut r.y, false);
    }

    /// The evaluation measures on a set of batches (whole sequences from the zero state, the
    /// forward cerebellum used when `forward_on`), showing each batch's readout to `look`; and
    /// the forward cerebellum's mean squared error per value of B's input against `h^A_t`
    /// (`None` without one in use).
    pub fn evaluate_with(
        &self,
        batches: &[Batch<T>],
        forward_on: bool,
        look: &mut dyn FnMut(&Batch<T>, &[T]),
    ) -> (EvalMetrics, Option<f64>) {
        let (mut sums, mut r) = (EvalSums::default(), ChainRun::default());
        let (mut sq, mut count) = (0.0, 0usize);
        for b in batches {
            self.run(&b.inputs, b, forward_on, &mut r);
            sums.add(&b.target, &r.y, b.steps, b.batch);
            look(b, &r.y);
            let tr_a = r.a.as_ref().expect("just run");
            for (u, v) in r.input_b.iter().zip(tr_a.outputs(0, b.steps)) {
                sq += (u.to_f64() - v.to_f64()).powi(2);
            }
            count += r.input_b.len();
        }
        let used = forward_on && self.forward.is_some();
        (sums.finish(), used.then(|| sq / count.max(1) as f64))
    }

    /// [`Self::evaluate_with`] without a look at the readout.
    pub fn evaluate(&self, batches: &[Batch<T>], forward_on: bool) -> (EvalMetrics, Option<f64>) {
        self.evaluate_with(batches, forward_on, &mut |_, _| {})
    }
}

/// The name of the forward cerebellum's prediction error among a chain's measures
/// ([`ChainAt`]; the `validation_` and `test_` columns of metrics.csv while it is used): the
/// mean squared error per value of what B received against A's activity `h^A_t`.
pub const FORWARD_ERROR: &str = "forward_error";

/// A chain with its forward cerebellum in use or not (lesioned): the network a task measures.
/// Its measures carry the forward cerebellum's prediction error as [`FORWARD_ERROR`] while it
/// is used.
#[derive(Clone, Copy)]
pub struct ChainAt<'a> {
    pub chain: &'a Chain<f32>,
    pub forward_on: bool,
}

impl crate::network::Network for ChainAt<'_> {
    fn evaluate_with(
        &self,
        batches: &[Batch<f32>],
        look: &mut dyn FnMut(&Batch<f32>, &[f32]),
    ) -> EvalMetrics {
        let (mut m, error) = self.chain.evaluate_with(batches, self.forward_on, look);
        if let Some(e) = error {
            m.measures.insert(FORWARD_ERROR.to_string(), e);
        }
        m
    }
}

/// B's input step by step from the forward cerebellum's predictions (B's state at t is one of
/// its inputs, so prediction and B alternate), running B as it goes.
fn predict_inputs<T: Real>(
    f: &ForwardCerebellum,
    s: &ForwardSpec,
    p: &[T],
    b: &Cortex,
    tr_b: &mut Trace<T>,
    context: Option<&[T]>,
    (delayed, input_b, ft): (&[T], &mut [T], &mut ForwardTrace<T>),
) {
    let (bsz, steps, ha) = (tr_b.batch, tr_b.steps, f.output.outputs);
    let (m, sb) = (f.inputs(), b.state_size());
    ft.input.resize(steps * bsz * m, T::ZERO);
    ft.granule.resize(steps * bsz * f.granule.outputs, T::ZERO);
    ft.output.resize(steps * bsz * ha, T::ZERO);
    let mut state = vec![T::ZERO; bsz * sb];
    for t in 0..steps {
        if s.state_input {
            tr_b.read_state(t, &mut state);
        }
        for i in 0..bsz {
            let row = &mut ft.input[(t * bsz + i) * m..(t * bsz + i + 1) * m];
            let (delayed_row, rest) = row.split_at_mut(ha);
            delayed_row.copy_from_slice(&delayed[(t * bsz + i) * ha..(t * bsz + i + 1) * ha]);
            let (own, ctx) = rest.split_at_mut(if s.state_input { sb } else { 0 });
            own.copy_from_slice(&state[i * own.len()..(i + 1) * own.len()]);
            if let Some(c) = context {
                ctx.copy_from_slice(&c[i * s.context..(i + 1) * s.context]);
            }
        }
        f.forward_rows(p, ft, (t * bsz, (t + 1) * bsz));
        let rows = t * bsz * ha..(t + 1) * bsz * ha;
        input_b[rows.clone()].copy_from_slice(&ft.output[rows.clone()]);
        if s.mode == ForwardMode::Add {
            for (u, &v) in input_b[rows.clone()].iter_mut().zip(&delayed[rows]) {
                *u += v;
            }
        }
        b.forward(p, input_b, tr_b, t, t + 1);
    }
}

/// The activations of a chain's forward pass over one batch.
#[derive(Clone, Debug, Default)]
pub struct ChainRun<T> {
    pub a: Option<Trace<T>>,
    pub b: Option<Trace<T>>,
    /// The delayed signal `h^A_{t-d}` (zero for t < d), R × H_A.
    pub delayed: Vec<T>,
    /// What B received at every step, R × H_A.
    pub input_b: Vec<T>,
    /// The forward cerebellum's activations (when it ran).
    pub forward: ForwardTrace<T>,
    /// The readout, R × O.
    pub y: Vec<T>,
}
