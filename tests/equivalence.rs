//! The trainer against plain backpropagation: with a silent cerebellum the ccRNN is exactly the
//! cRNN's truncated BPTT, with the horizon as long as the sequence it is full BPTT (checked
//! against finite differences of the whole-sequence loss), and the lesion modes do what they say.

use ccdni::cortex::CellKind;
use ccdni::loss::{Target, window_loss};
use ccdni::model::{CerebellumSpec, Model, ModelSpec};
use ccdni::rng::Rng;
use ccdni::trainer::{Batch, CerebellumMode, TrainOptions, Trainer, UpdateEvery};

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

fn assert_close(a: &[f64], b: &[f64], tol: f64) {
    let scale = b.iter().fold(1e-30f64, |m, x| m.max(x.abs()));
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= tol * scale, "{x} vs {y}");
    }
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
        let b = batch();
        let mut m = cc.model.clone();
        for (i, g) in got.iter().enumerate() {
            let p0 = m.params[i];
            m.params[i] = p0 + 1e-6;
            let up = full_sequence_loss(&m, &b);
            m.params[i] = p0 - 1e-6;
            let down = full_sequence_loss(&m, &b);
            m.params[i] = p0;
            let fd = (up - down) / 2e-6;
            assert!(
                (g - fd).abs() <= 1e-7 * fd.abs().max(1.0),
                "{cell:?} param {i}: {g} vs {fd}"
            );
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
        let cb = silent.model.cerebellar_range();
        assert!(
            silent.grads[cb].iter().any(|&g| g != 0.0),
            "the silent cerebellum still learns"
        );
    }
}

#[test]
fn truncation_changes_the_gradient_and_the_cerebellum_feeds_back() {
    let full = cortical_grads(&mut trainer(CellKind::Lstm, false, STEPS));
    let truncated = cortical_grads(&mut trainer(CellKind::Lstm, false, 1));
    assert!(
        full.iter()
            .zip(&truncated)
            .any(|(a, b)| (a - b).abs() > 1e-6)
    );
    let mut cc = trainer(CellKind::Lstm, true, 1);
    wake_cerebellum(&mut cc);
    let helped = cortical_grads(&mut cc);
    assert!(
        helped
            .iter()
            .zip(&truncated)
            .any(|(a, b)| (a - b).abs() > 1e-6)
    );
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
    let mut crnn = trainer(CellKind::Lstm, false, 2);
    let mut frozen2 = trainer(CellKind::Lstm, true, 2);
    wake_cerebellum(&mut frozen2);
    frozen2.set_mode(CerebellumMode::Frozen);
    let g = cortical_grads(&mut frozen2);
    assert!(
        g.iter()
            .zip(&cortical_grads(&mut crnn))
            .any(|(a, b)| (a - b).abs() > 1e-6),
        "it still feeds back"
    );
    // Cerebellar ablation: a cRNN with the weights it has.
    let mut off = trainer(CellKind::Lstm, true, 2);
    wake_cerebellum(&mut off);
    off.set_mode(CerebellumMode::Off);
    assert_close(&cortical_grads(&mut off), &cortical_grads(&mut crnn), 1e-13);
    let before = off.model.params[cb.clone()].to_vec();
    off.train_batch(&batch());
    assert_eq!(off.model.params[cb], before[..]);
}

#[test]
fn sparse_mask_survives_training() {
    let mut s = spec(CellKind::Lstm, true);
    s.cerebellum.as_mut().unwrap().sparse_k = Some(3);
    let mut t = Trainer::new(
        Model::<f64>::new(&s, 1),
        TrainOptions {
            horizon: 2,
            ..TrainOptions::default()
        },
    );
    let first = t.model.cerebellum.as_ref().unwrap().layers[0]
        .weight
        .clone();
    let before = t.model.params[first.clone()].to_vec();
    for _ in 0..20 {
        t.train_batch(&batch());
    }
    let mask = t.model.cerebellum.as_ref().unwrap().mask.clone().unwrap();
    let mut learned = 0;
    for ((w, w0), keep) in t.model.params[first].iter().zip(&before).zip(&mask) {
        if *keep {
            learned += usize::from(w != w0);
        } else {
            assert_eq!(*w, 0.0, "a removed connection stays exactly zero");
        }
    }
    assert!(
        learned >= 3,
        "kept connections of active granule cells learn ({learned} of 18 changed)"
    );
    assert_eq!(
        mask.chunks(8)
            .map(|r| r.iter().filter(|&&k| k).count())
            .max(),
        Some(3)
    );
}
