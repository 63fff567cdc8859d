//! The trainer against plain backpropagation and finite differences. With a silent cerebellum
//! the ccRNN is exactly the cRNN's truncated BPTT; with the horizon as long as the sequence it is
//! full BPTT; truncated BPTT is the gradient of the windows run from detached start states; the
//! cerebellum's injection adds exactly the gradient of Σ_w <λ C(s_end), s_end>; the teaching
//! signal and the cerebellum's gradient are what §2.1 of docs/model.md says; and the lesion modes
//! and the sparse mask do what they say. The independent routes are central finite differences
//! in f64 of objectives built here from the cortex's and the cerebellum's forward passes alone.

use ccdni::batch::Batch;
use ccdni::cortex::CellKind;
use ccdni::layers::cerebellum::CerebellumTrace;
use ccdni::loss::{Target, window_loss};
use ccdni::model::{CerebellumSpec, Model, ModelSpec};
use ccdni::rng::Rng;
use ccdni::trainer::{BatchStats, CerebellumMode, TrainOptions, Trainer, UpdateEvery};

const STEPS: usize = 7;
const BATCH: usize = 3;

fn spec(cell: CellKind, cerebellum: bool) -> ModelSpec {
    ModelSpec {
        cell,
        input: 2,
        hidden: 4,
        output: 2,
        cerebellum: cerebellum.then_some(CerebellumSpec {
            granule: 6,
            layers: 2,
            sparse_k: None,
            context: 0,
        }),
        words: None,
    }
}

fn batch() -> Batch<f64> {
    let mut r = Rng::new(9);
    Batch {
        batch: BATCH,
        steps: STEPS,
        inputs: (0..STEPS * BATCH * 2)
            .map(|_| r.uniform_in(-1.0, 1.0))
            .collect(),
        target: Target::Trajectory {
            values: (0..STEPS * BATCH * 2)
                .map(|_| r.uniform_in(-1.0, 1.0))
                .collect(),
            feedback: (0..STEPS).map(|t| t % 2 == 0).collect(),
        },
        context: None,
        words: None,
    }
}

fn trainer(cell: CellKind, cerebellum: bool, horizon: usize) -> Trainer<f64> {
    let options = TrainOptions {
        horizon,
        ..TrainOptions::default()
    };
    Trainer::new(Model::new(&spec(cell, cerebellum), 4), options)
}

/// Gradients of the cortex and readout after one batch (no update).
fn cortical_grads(t: &mut Trainer<f64>) -> Vec<f64> {
    t.compute_gradients(&batch());
    t.grads[t.model.cortical_range()].to_vec()
}

/// |a - b| <= tol · max |b| entry by entry (tolerance relative to the largest entry of `b`).
fn assert_close(a: &[f64], b: &[f64], tol: f64) {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(1e-30f64, |m, x| m.max(x.abs()));
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= tol * scale,
            "[{i}] {x} vs {y} (scale {scale})"
        );
    }
}

/// `assert_close` against a reference that must not vanish (so that the check is not vacuous).
fn assert_matches(what: &str, got: &[f64], want: &[f64], tol: f64) {
    let scale = want.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    assert!(scale > 1e-3, "{what}: the reference vanishes (max {scale})");
    let err = got
        .iter()
        .zip(want)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    assert!(
        err <= tol * scale,
        "{what}: max error {err} is more than {tol} of the largest entry {scale}"
    );
}

/// Makes the cerebellum's output layer non-zero so that it really predicts something.
fn wake_cerebellum(t: &mut Trainer<f64>) {
    let out = t
        .model
        .cerebellum
        .as_ref()
        .unwrap()
        .layers
        .last()
        .unwrap()
        .clone();
    let mut r = Rng::new(3);
    for i in out.weight.start..out.bias.end {
        t.model.params[i] = r.uniform_in(-0.5, 0.5);
    }
}

/// Central differences in f64 of `f` at `x`, for the entries in `which`.
fn finite_differences(
    x: &[f64],
    which: std::ops::Range<usize>,
    f: impl Fn(&[f64]) -> f64,
) -> Vec<f64> {
    let eps = 1e-6;
    let mut xp = x.to_vec();
    which
        .map(|i| {
            xp[i] = x[i] + eps;
            let up = f(&xp);
            xp[i] = x[i] - eps;
            let down = f(&xp);
            xp[i] = x[i];
            (up - down) / (2.0 * eps)
        })
        .collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(u, v)| u * v).sum()
}

/// The cortex with parameters `p` over steps `t0..t1` of `b`, from `s_start` (`B × S`, a plain
/// input: nothing flows to earlier steps). Returns the window's task loss (0 without a
/// supervised step) and its end state.
fn run_window(
    model: &Model<f64>,
    p: &[f64],
    b: &Batch<f64>,
    (t0, t1): (usize, usize),
    s_start: &[f64],
) -> (f64, Vec<f64>) {
    let (n, inputs) = (t1 - t0, model.cortex.input());
    let x = &b.inputs[t0 * b.batch * inputs..t1 * b.batch * inputs];
    let mut tr = model.cortex.trace::<f64>(b.batch, n);
    tr.write_state(0, s_start);
    model.cortex.forward(p, x, &mut tr, 0, n);
    let mut s_end = vec![0.0; s_start.len()];
    tr.read_state(n, &mut s_end);
    let mut y = vec![0.0; n * b.batch * model.readout.outputs];
    model.readout.forward(p, tr.outputs(0, n), &mut y, false);
    let mut dy = vec![0.0; y.len()];
    let loss = window_loss(&b.target, &y, &mut dy, t0, t1, b.steps, b.batch);
    (loss.unwrap_or(0.0), s_end)
}

/// The cerebellum's prediction C(s) for every row of `s`, with parameters `p`.
fn predict(model: &Model<f64>, p: &[f64], s: &[f64]) -> Vec<f64> {
    let mut tr = CerebellumTrace::default();
    model
        .cerebellum
        .as_ref()
        .unwrap()
        .forward(p, s, None, &mut tr);
    tr.output
}

/// A training step recomputed without the trainer: the windows, their start states (chaining
/// the windows' forward passes from the zero state) and what is injected at each window's end
/// (λ C(s_end) where the trainer's options and mode inject, else zero).
struct Windows {
    windows: Vec<(usize, usize)>,
    starts: Vec<Vec<f64>>,
    ends: Vec<Vec<f64>>,
    injected: Vec<Vec<f64>>,
}

impl Windows {
    fn of(t: &Trainer<f64>, b: &Batch<f64>) -> Self {
        let m = &t.model;
        let k = t.options.horizon;
        let windows: Vec<(usize, usize)> = (0..b.steps)
            .step_by(k)
            .map(|t0| (t0, (t0 + k).min(b.steps)))
            .collect();
        let mut s = vec![0.0; b.batch * m.cortex.state_size()];
        let (mut starts, mut ends, mut injected) = (vec![], vec![], vec![]);
        for &w in &windows {
            let end = run_window(m, &m.params, b, w, &s).1;
            let predicts = matches!(t.mode, CerebellumMode::Active | CerebellumMode::Frozen);
            let inject = predicts && (w.1 < b.steps || t.options.inject_at_last_window);
            injected.push(if inject {
                let l = t.options.lambda;
                predict(m, &m.params, &end).iter().map(|c| l * c).collect()
            } else {
                vec![0.0; end.len()]
            });
            starts.push(std::mem::replace(&mut s, end.clone()));
            ends.push(end);
        }
        Windows {
            windows,
            starts,
            ends,
            injected,
        }
    }

    /// Σ_w ℓ_w(p): the task losses of the windows, each run from its detached start state.
    fn task_loss(&self, m: &Model<f64>, p: &[f64], b: &Batch<f64>) -> f64 {
        (0..self.windows.len())
            .map(|w| run_window(m, p, b, self.windows[w], &self.starts[w]).0)
            .sum()
    }

    /// Σ_w <d_w, s_end_w(p)>, d_w the (constant) injected prediction.
    fn injection(&self, m: &Model<f64>, p: &[f64], b: &Batch<f64>) -> f64 {
        (0..self.windows.len())
            .map(|w| {
                dot(
                    &self.injected[w],
                    &run_window(m, p, b, self.windows[w], &self.starts[w]).1,
                )
            })
            .sum()
    }

    /// The teaching signal of window `w`: the gradient at its start state of the window's
    /// surrogate ℓ_w + <d_w, s_end_w>.
    fn teaching_signal(&self, m: &Model<f64>, b: &Batch<f64>, w: usize) -> Vec<f64> {
        let s0 = &self.starts[w];
        finite_differences(s0, 0..s0.len(), |s| {
            let (loss, end) = run_window(m, &m.params, b, self.windows[w], s);
            loss + dot(&self.injected[w], &end)
        })
    }

    /// Checks the trainer's window records (after `compute_gradients`) against these windows.
    fn check_records(&self, t: &Trainer<f64>) {
        let records = t.window_records();
        assert_eq!(records.len(), self.windows.len());
        for (w, r) in records.iter().enumerate() {
            assert_eq!((r.t0, r.t1), self.windows[w]);
            assert_close(&r.s_start, &self.starts[w], 1e-13);
            assert_close(&r.s_end, &self.ends[w], 1e-13);
            assert_close(&r.injected, &self.injected[w], 1e-13);
        }
    }
}

/// The cerebellum's gradient recomputed: central differences of Σ_w ||C(s_start_w) - g_w||²
/// over its parameters, with the start states and the teaching signals `g` held constant.
fn cerebellar_gradient(m: &Model<f64>, ws: &Windows, teaching: &[Vec<f64>]) -> Vec<f64> {
    let (starts, g) = (ws.starts.concat(), teaching.concat());
    finite_differences(&m.params, m.cerebellar_range(), |p| {
        predict(m, p, &starts)
            .iter()
            .zip(&g)
            .map(|(c, g)| (c - g) * (c - g))
            .sum()
    })
}

/// Checks a ccRNN trainer's teaching signals (after `compute_gradients`) against the gradients
/// at the windows' start states, and, when it learns, its cerebellar gradient.
fn check_teaching(t: &Trainer<f64>, b: &Batch<f64>, ws: &Windows, what: &str) {
    let m = &t.model;
    let teaching: Vec<Vec<f64>> = (0..ws.windows.len())
        .map(|w| ws.teaching_signal(m, b, w))
        .collect();
    for (w, r) in t.window_records().iter().enumerate() {
        let name = format!("{what}: teaching signal of window {w}");
        assert_matches(&name, &r.teaching_signal, &teaching[w], 1e-7);
    }
    let cb = m.cerebellar_range();
    if t.mode.learns() {
        let want = cerebellar_gradient(m, ws, &teaching);
        assert_matches(&format!("{what}: cerebellum"), &t.grads[cb], &want, 1e-7);
    } else {
        assert!(t.grads[cb].iter().all(|&g| g == 0.0), "{what}: C learns");
    }
}

/// The whole-sequence objective that full BPTT differentiates: the sum of the per-window task
/// losses of a single window [0, L).
fn full_sequence_loss(model: &Model<f64>, b: &Batch<f64>) -> f64 {
    let y = model.predict(&b.inputs, b.steps, b.batch);
    window_loss(
        &b.target,
        &y,
        &mut vec![0.0; y.len()],
        0,
        b.steps,
        b.steps,
        b.batch,
    )
    .unwrap()
}

#[test]
fn full_horizon_with_silent_cerebellum_is_full_bptt() {
    for cell in [CellKind::Lstm, CellKind::Tanh] {
        let mut cc = trainer(cell, true, STEPS);
        let got = cortical_grads(&mut cc);
        let mut c = trainer(cell, false, STEPS);
        assert_close(&got, &cortical_grads(&mut c), 1e-13);
        // Independently: central differences of the whole-sequence loss.
        let (b, m) = (batch(), &cc.model);
        let want = finite_differences(&m.params, m.cortical_range(), |p| {
            let mut m = m.clone();
            m.params.copy_from_slice(p);
            full_sequence_loss(&m, &b)
        });
        assert_matches(&format!("{cell:?} full BPTT"), &got, &want, 1e-7);
    }
}

#[test]
fn truncated_bptt_is_the_gradient_of_the_windows_from_detached_starts() {
    for cell in [CellKind::Lstm, CellKind::Tanh] {
        let full = cortical_grads(&mut trainer(cell, false, STEPS));
        // K = 1: the sum over steps of single-step gradients; K = 3: windows of 3, 3 and 1 steps.
        for k in [1, 3] {
            let mut c = trainer(cell, false, k);
            let got = cortical_grads(&mut c);
            let (b, m) = (batch(), &c.model);
            let ws = Windows::of(&c, &b);
            ws.check_records(&c);
            let want =
                finite_differences(&m.params, m.cortical_range(), |p| ws.task_loss(m, p, &b));
            assert_matches(&format!("{cell:?} K = {k}"), &got, &want, 1e-7);
            // What truncation cuts off is not negligible here.
            let cut = got
                .iter()
                .zip(&full)
                .fold(0.0f64, |a, (x, y)| a.max((x - y).abs()));
            let scale = full.iter().fold(0.0f64, |a, x| a.max(x.abs()));
            assert!(cut > 0.05 * scale, "{cell:?} K = {k}: {cut} of {scale}");
        }
    }
}

#[test]
fn silent_cerebellum_is_truncated_bptt() {
    for cell in [CellKind::Lstm, CellKind::Tanh] {
        // Fresh cerebellum: its output layer is zero, so it injects nothing.
        let mut cc = trainer(cell, true, 3);
        let mut c = trainer(cell, false, 3);
        assert_close(&cortical_grads(&mut cc), &cortical_grads(&mut c), 1e-13);
        // A cerebellum that predicts, in the control mode where its prediction is not applied.
        let mut silent = trainer(cell, true, 3);
        wake_cerebellum(&mut silent);
        silent.set_mode(CerebellumMode::Silent);
        assert_close(&cortical_grads(&mut silent), &cortical_grads(&mut c), 1e-13);
        // It still learns, from the plain within-window gradient (no bootstrap).
        let b = batch();
        let ws = Windows::of(&silent, &b);
        ws.check_records(&silent);
        check_teaching(&silent, &b, &ws, &format!("{cell:?} silent"));
    }
}

#[test]
fn truncation_changes_the_gradient_and_the_cerebellum_feeds_back() {
    // With C(s_end) held constant the cortical gradient is linear in the injected seeds: the
    // ccRNN's gradient is the cRNN's plus the gradient of Σ_w <λ C(s_end_w), s_end_w(θ)>, each
    // window run from its detached start state.
    for cell in [CellKind::Lstm, CellKind::Tanh] {
        for k in [1, 3] {
            for inject_last in [true, false] {
                let what = format!("{cell:?} K = {k} inject at last window {inject_last}");
                let mut c = trainer(cell, false, k);
                let truncated = cortical_grads(&mut c);
                let mut cc = trainer(cell, true, k);
                cc.options.inject_at_last_window = inject_last;
                wake_cerebellum(&mut cc);
                assert_eq!(cc.model.params[cc.model.cortical_range()], c.model.params);
                let helped = cortical_grads(&mut cc);
                let (b, m) = (batch(), &cc.model);
                let ws = Windows::of(&cc, &b);
                ws.check_records(&cc);
                let fed_back: Vec<f64> =
                    helped.iter().zip(&truncated).map(|(h, t)| h - t).collect();
                let want =
                    finite_differences(&m.params, m.cortical_range(), |p| ws.injection(m, p, &b));
                assert_matches(&what, &fed_back, &want, 1e-7);
                let readout = m.readout.weight.start..m.readout.bias.end;
                assert!(
                    fed_back[readout].iter().all(|&d| d == 0.0),
                    "{what}: the injection reaches the readout"
                );
                // The teaching signal is bootstrapped: the window's loss gradient plus λ C(s_end)
                // carried back through the window.
                check_teaching(&cc, &b, &ws, &what);
            }
        }
    }
}

#[test]
fn update_per_window_with_one_window_equals_update_per_batch() {
    let mut a = trainer(CellKind::Lstm, true, STEPS);
    let mut b = trainer(CellKind::Lstm, true, STEPS);
    b.options.update = UpdateEvery::Window;
    a.train_batch(&batch());
    b.train_batch(&batch());
    assert_eq!(a.model.params, b.model.params);
    // With several windows a step per window differs from a step per batch.
    let mut c = trainer(CellKind::Lstm, true, 2);
    let mut d = trainer(CellKind::Lstm, true, 2);
    d.options.update = UpdateEvery::Window;
    c.train_batch(&batch());
    d.train_batch(&batch());
    assert_ne!(c.model.params, d.model.params);
    assert_eq!(d.optimizer.step, 4);
}

/// With a step per window the batch reports the last step's gradient norm and clip scale, as
/// stepping by hand does (without clipping, the earlier steps' norms are not computed).
#[test]
fn a_step_per_window_reports_the_last_steps_gradient_norm() {
    for clip in [0.0, 0.5] {
        let [mut auto, mut by_hand] = [0, 1].map(|_| {
            let mut t = trainer(CellKind::Lstm, true, 2);
            (t.options.update, t.options.clip) = (UpdateEvery::Window, clip);
            t
        });
        let b = batch();
        let stats = auto.train_batch(&b);
        by_hand.start_batch(&b);
        let mut last = BatchStats::default();
        for w in by_hand.windows(b.steps) {
            by_hand.backprop_windows(&b, &[w]);
            last = BatchStats::default();
            by_hand.apply_update(&mut last);
        }
        assert!(last.grad_norm > 0.0);
        assert_eq!(
            stats.grad_norm.to_bits(),
            last.grad_norm.to_bits(),
            "clip {clip}"
        );
        assert_eq!(
            stats.clip_scale.to_bits(),
            last.clip_scale.to_bits(),
            "clip {clip}"
        );
        assert_eq!(auto.model.params, by_hand.model.params);
    }
}

#[test]
fn lesions_freeze_or_remove_the_cerebellum() {
    // Inferior-olive ablation: the cerebellum keeps predicting but no longer learns.
    let mut frozen = trainer(CellKind::Lstm, true, 2);
    wake_cerebellum(&mut frozen);
    frozen.set_mode(CerebellumMode::Frozen);
    let cb = frozen.model.cerebellar_range();
    let before = frozen.model.params[cb.clone()].to_vec();
    frozen.train_batch(&batch());
    assert_eq!(frozen.model.params[cb.clone()], before[..]);
    // It still feeds back: exactly the gradient of Σ_w <λ C_frozen(s_end_w), s_end_w(θ)>, and
    // (a clean lesion) computes no cerebellar gradient.
    let mut crnn = trainer(CellKind::Lstm, false, 2);
    let truncated = cortical_grads(&mut crnn);
    let mut frozen2 = trainer(CellKind::Lstm, true, 2);
    wake_cerebellum(&mut frozen2);
    frozen2.set_mode(CerebellumMode::Frozen);
    let g = cortical_grads(&mut frozen2);
    let (b, m) = (batch(), &frozen2.model);
    let ws = Windows::of(&frozen2, &b);
    ws.check_records(&frozen2);
    let fed_back: Vec<f64> = g.iter().zip(&truncated).map(|(h, t)| h - t).collect();
    let want = finite_differences(&m.params, m.cortical_range(), |p| ws.injection(m, p, &b));
    assert_matches("frozen cerebellum", &fed_back, &want, 1e-7);
    check_teaching(&frozen2, &b, &ws, "frozen cerebellum");
    // Cerebellar ablation: a cRNN with the weights it has.
    let mut off = trainer(CellKind::Lstm, true, 2);
    wake_cerebellum(&mut off);
    off.set_mode(CerebellumMode::Off);
    assert_close(&cortical_grads(&mut off), &truncated, 1e-13);
    let before = off.model.params[cb.clone()].to_vec();
    off.train_batch(&batch());
    assert_eq!(off.model.params[cb], before[..]);
}

#[test]
fn sparse_mask_survives_training() {
    let (k, granule, inputs) = (3, 6, 8);
    let mut s = spec(CellKind::Lstm, true);
    s.cerebellum.as_mut().unwrap().sparse_k = Some(k);
    let mut t = Trainer::new(
        Model::<f64>::new(&s, 4),
        TrainOptions {
            horizon: 2,
            ..TrainOptions::default()
        },
    );
    let cerebellum = t.model.cerebellum.clone().unwrap();
    let first = cerebellum.layers[0].weight.clone();
    let mask = cerebellum.mask.clone().expect("a sparse mask");
    // Row-major granule × input: every granule cell keeps exactly k of the S inputs.
    assert_eq!(
        (cerebellum.layers[0].outputs, cerebellum.layers[0].inputs),
        (granule, inputs)
    );
    assert_eq!(mask.len(), granule * inputs);
    for (g, row) in mask.chunks_exact(inputs).enumerate() {
        assert_eq!(
            row.iter().filter(|&&keep| keep).count(),
            k,
            "granule cell {g}"
        );
    }
    let removed_are_zero = |v: &[f64]| v.iter().zip(&mask).all(|(&w, &keep)| keep || w == 0.0);
    let initial = t.model.params.clone();
    let before = initial[first.clone()].to_vec();
    assert!(
        removed_are_zero(&before),
        "removed connections start at zero"
    );
    assert!(
        before
            .iter()
            .zip(&mask)
            .all(|(&w, &keep)| !keep || w != 0.0),
        "kept connections are initialised"
    );
    for i in 0..20 {
        // The gradient is read before the optimizer step, which applies and clears it.
        t.compute_gradients(&batch());
        // (None at the first batch: the zero output layer passes no gradient back.)
        assert!(
            i == 0 || t.grads[first.clone()].iter().any(|&g| g != 0.0),
            "batch {i}: the kept connections get a gradient"
        );
        assert!(
            removed_are_zero(&t.grads[first.clone()]),
            "batch {i}: gradient"
        );
        t.apply_update(&mut Default::default());
        assert!(
            removed_are_zero(&t.model.params[first.clone()]),
            "batch {i}: weight"
        );
    }
    assert_eq!(
        t.model.cerebellum.as_ref().unwrap().mask.as_ref(),
        Some(&mask)
    );
    // The kept connections learn: all of them in every granule cell that was ever active (its
    // bias learned), none in a cell whose ReLU never opened on these states.
    let bias = cerebellum.layers[0].bias.clone();
    let bias_learned: Vec<bool> = t.model.params[bias.clone()]
        .iter()
        .zip(&initial[bias])
        .map(|(b, b0)| b != b0)
        .collect();
    let after = &t.model.params[first];
    for (g, ((w, w0), keep)) in after
        .chunks_exact(inputs)
        .zip(before.chunks_exact(inputs))
        .zip(mask.chunks_exact(inputs))
        .enumerate()
    {
        for j in (0..inputs).filter(|&j| keep[j]) {
            assert_eq!(
                w[j] != w0[j],
                bias_learned[g],
                "kept connection {j} of granule cell {g}"
            );
        }
    }
    let active = bias_learned.iter().filter(|&&a| a).count();
    assert!(active >= 4, "{active} of {granule} granule cells learned");
}
