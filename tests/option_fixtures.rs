//! Agreement with the option fixtures of tests/fixtures/ (the non-default choices of the
//! training step, from the same PyTorch reference, float64; see tests/fixtures/OPTIONS.md):
//! the mean cerebellum loss, no injection at the last window, an optimizer step per window, and
//! the authors' inferior-olive lesion. Each is `ccrnn_lstm_mse` with one choice changed, and is
//! checked window by window and step by step to a relative error of 1e-12.

mod common;

use ccdni::trainer::{
    BatchStats, CerebellumLoss, CerebellumMode, OliveLesion, Trainer, UpdateEvery,
};
use common::*;
use serde_json::Value;

/// The trainer of an option fixture: `ccrnn_lstm_mse`'s model and settings, the fixture's
/// parameters, and the option the fixture changes.
fn trainer_for_option(fx: &Value) -> (Value, Trainer<f64>) {
    let base = load("ccrnn_lstm_mse");
    let mut t = trainer_for(&base);
    for p in fx["params"].as_array().unwrap() {
        let r = t.model.layout.get(p["name"].as_str().unwrap()).unwrap();
        let r = r.range.clone();
        t.model.params[r].copy_from_slice(&flat(p));
    }
    let c = &fx["config"];
    t.options.cerebellum_loss = match c["cerebellum_loss"].as_str().unwrap() {
        "sum" => CerebellumLoss::Sum,
        _ => CerebellumLoss::Mean,
    };
    t.options.inject_at_last_window = c["inject_at_last_window"].as_bool().unwrap();
    t.options.update = match c["update"].as_str().unwrap() {
        "batch" => UpdateEvery::Batch,
        _ => UpdateEvery::Window,
    };
    t.options.olive_lesion = OliveLesion::Authors;
    (base, t)
}

/// Checks the gradients, clipping, parameters and Adam state of one update record.
fn check_update(t: &mut Trainer<f64>, want: &Value) {
    grads_of(t, &want["grads"], "gradient before clipping");
    let mut stats = BatchStats::default();
    t.apply_update(&mut stats);
    assert_close(
        "grad norm",
        &[stats.grad_norm],
        &[want["grad_norm"].as_f64().unwrap()],
    );
    assert_close(
        "clip scale",
        &[stats.clip_scale],
        &[want["clip_scale"].as_f64().unwrap()],
    );
    for p in want["params_after"].as_array().unwrap() {
        let name = p["name"].as_str().unwrap();
        let r = t.model.layout.get(name).unwrap().range.clone();
        assert_close(
            &format!("{name} after the step"),
            &t.model.params[r],
            &flat(p),
        );
    }
    let trained = t.trained_ranges();
    for p in want["adam_state_after"].as_array().unwrap() {
        let name = p["name"].as_str().unwrap();
        let r = t.model.layout.get(name).unwrap().range.clone();
        assert_close(
            &format!("{name} exp_avg"),
            &t.optimizer.m[r.clone()],
            &flat(&p["exp_avg"]),
        );
        assert_close(
            &format!("{name} exp_avg_sq"),
            &t.optimizer.v[r.clone()],
            &flat(&p["exp_avg_sq"]),
        );
        // A parameter the optimizer no longer steps keeps its step count (and its state).
        let stepped = trained.iter().any(|t| t.contains(&r.start));
        assert_eq!(
            stepped,
            p["step"].as_u64().unwrap() == t.optimizer.step,
            "{name}: Adam step count"
        );
    }
}

/// Runs every batch of an option fixture and checks every recorded quantity.
fn run_option_fixture(name: &str) {
    let fx = load(name);
    let (base, mut t) = trainer_for_option(&fx);
    let lesion_from = fx["config"]["olive_lesion_from_batch"].as_u64();
    for (i, b) in fx["batches"].as_array().unwrap().iter().enumerate() {
        if lesion_from.is_some_and(|l| i as u64 >= l) {
            t.set_mode(CerebellumMode::Frozen);
        }
        let batch = batch_for(&base, b);
        let windows = b["windows"].as_array().unwrap();
        match t.options.update {
            UpdateEvery::Batch => {
                t.compute_gradients(&batch);
                check_windows(&t.window_records(), &b["windows"], true);
                check_update(&mut t, b);
            }
            UpdateEvery::Window => {
                t.start_batch(&batch);
                for (w, want) in t.windows(batch.steps).into_iter().zip(windows) {
                    t.backprop_windows(&batch, &[w]);
                    check_windows(&t.window_records(), &Value::Array(vec![want.clone()]), true);
                    check_update(&mut t, &want["update"]);
                }
            }
        }
        check_eval(&t, &batch, &b["eval_after"]);
    }
}

#[test]
fn mean_cerebellum_loss() {
    run_option_fixture("ccrnn_mean_loss");
}

#[test]
fn no_injection_at_the_last_window() {
    run_option_fixture("ccrnn_no_inject_last");
}

#[test]
fn an_optimizer_step_per_window() {
    run_option_fixture("ccrnn_window_update");
}

#[test]
fn authors_olive_lesion_accumulates_the_cerebellar_gradients_in_the_clip_norm() {
    run_option_fixture("ccrnn_olive_lesion_authors");
}

/// The clean olive lesion (ccdni's default) on the same batches: the frozen cerebellum's
/// gradients are not computed, so the clipping norm is the cortex's alone, while the cortical
/// gradients before clipping are the authors' (the lesion changes only what is clipped).
#[test]
fn clean_olive_lesion_leaves_the_cerebellum_out_of_the_clip_norm() {
    let fx = load("ccrnn_olive_lesion_authors");
    let (base, mut t) = trainer_for_option(&fx);
    t.options.olive_lesion = OliveLesion::Clean;
    let b0 = &fx["batches"][0];
    t.compute_gradients(&batch_for(&base, b0));
    t.apply_update(&mut BatchStats::default());
    t.set_mode(CerebellumMode::Frozen);
    let b1 = &fx["batches"][1];
    t.compute_gradients(&batch_for(&base, b1));
    let cortex = t.model.cortical_range();
    let cerebellum = t.model.cerebellar_range();
    assert!(t.grads[cerebellum].iter().all(|&g| g == 0.0));
    let cortical: Vec<&Value> = b1["grads"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| !g["name"].as_str().unwrap().starts_with("cerebellum"))
        .collect();
    grads_of(
        &t,
        &Value::Array(cortical.into_iter().cloned().collect()),
        "cortical gradient",
    );
    let norm = t.grads[cortex].iter().map(|g| g * g).sum::<f64>().sqrt();
    let mut stats = BatchStats::default();
    t.apply_update(&mut stats);
    assert_close("clean norm", &[stats.grad_norm], &[norm]);
    assert!(
        stats.grad_norm < b1["grad_norm"].as_f64().unwrap(),
        "the authors' norm also counts the cerebellum's gradients"
    );
    assert_close(
        "clean clip scale",
        &[stats.clip_scale],
        &[1.0 / (norm + 1e-6)],
    );
}
