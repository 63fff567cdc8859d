//! Agreement with the golden fixtures of tests/fixtures/ (one or two training steps computed in
//! float64 by a PyTorch implementation of the same algorithm): cerebellar predictions, teaching
//! signals, cerebellum losses, injections, gradients, clip scale, parameters and Adam state after
//! the step, and the evaluation afterwards, to a relative error of 1e-12.

mod common;

use ccdni::trainer::Trainer;
use common::*;

/// Runs every batch of a fixture through the trainer and checks every recorded quantity.
fn run_fixture(name: &str) -> Trainer<f64> {
    let fx = load(name);
    let mut trainer = trainer_for(&fx);
    let ccrnn = fx["config"]["model"] == "ccRNN";
    for b in fx["batches"].as_array().unwrap() {
        let batch = batch_for(&fx, b);
        let mut stats = trainer.compute_gradients(&batch);
        check_windows(&trainer.window_records(), &b["windows"], ccrnn);
        assert_close(
            "task loss total",
            &[stats.task_loss],
            &[b["task_loss_total"].as_f64().unwrap()],
        );
        grads_of(&trainer, &b["grads"], "gradient");
        trainer.apply_update(&mut stats);
        assert_close(
            "grad norm",
            &[stats.grad_norm],
            &[b["grad_norm"].as_f64().unwrap()],
        );
        assert_close(
            "clip scale",
            &[stats.clip_scale],
            &[b["clip_scale"].as_f64().unwrap()],
        );
        for p in b["params_after"].as_array().unwrap() {
            let pname = p["name"].as_str().unwrap();
            let t = trainer.model.layout.get(pname).unwrap();
            assert_close(
                &format!("{pname} after the step"),
                &trainer.model.params[t.range.clone()],
                &flat(p),
            );
        }
        if let Some(adam) = b.get("adam_state_after").filter(|a| !a.is_null()) {
            assert_eq!(trainer.optimizer.step, adam["step"].as_u64().unwrap());
            for (key, state) in [
                ("exp_avg", &trainer.optimizer.m),
                ("exp_avg_sq", &trainer.optimizer.v),
            ] {
                for p in adam[key].as_array().unwrap() {
                    let t = trainer
                        .model
                        .layout
                        .get(p["name"].as_str().unwrap())
                        .unwrap();
                    assert_close(key, &state[t.range.clone()], &flat(p));
                }
            }
        }
        check_eval(&trainer, &batch, &b["eval_after"]);
    }
    trainer
}

#[test]
fn ccrnn_lstm_mse() {
    run_fixture("ccrnn_lstm_mse");
}

#[test]
fn ccrnn_lstm_ce_last() {
    run_fixture("ccrnn_lstm_ce_last");
}

#[test]
fn crnn_lstm_mse() {
    run_fixture("crnn_lstm_mse");
}

#[test]
fn ccrnn_tanh() {
    run_fixture("ccrnn_tanh");
}

#[test]
fn ccrnn_two_steps_pins_adam_state() {
    run_fixture("ccrnn_two_steps");
}

#[test]
fn ccrnn_sparse_keeps_masked_weights_at_zero() {
    let trainer = run_fixture("ccrnn_sparse");
    let cb = trainer.model.cerebellum.as_ref().unwrap();
    let w = &trainer.model.params[cb.layers[0].weight.clone()];
    for (v, keep) in w.iter().zip(cb.mask.as_ref().unwrap()) {
        if !keep {
            assert_eq!(*v, 0.0);
        }
    }
}

#[test]
fn ccrnn_full_horizon_equals_full_bptt() {
    let fx = load("ccrnn_lstm_full_bptt");
    run_fixture("ccrnn_lstm_full_bptt");
    // Gradients of an independent plain full-BPTT computation (cortex and readout only).
    let mut t = trainer_for(&fx);
    let batch = batch_for(&fx, &fx["batches"][0]);
    let stats = t.compute_gradients(&batch);
    assert_close(
        "full BPTT loss",
        &[stats.task_loss],
        &[fx["bptt_reference"]["loss"].as_f64().unwrap()],
    );
    grads_of(&t, &fx["bptt_reference"]["grads"], "full BPTT gradient");
}
