//! Agreement with the golden fixtures of tests/fixtures/ (one or two training steps computed in
//! float64 by a PyTorch implementation of the same algorithm): cerebellar predictions, teaching
//! signals, cerebellum losses, injections, gradients, clip scale, parameters and Adam state after
//! the step, and the evaluation afterwards, to a relative error of 1e-12.

use ccdni::cortex::CellKind;
use ccdni::loss::{EvalSums, Target};
use ccdni::model::{CerebellumSpec, Model, ModelSpec};
use ccdni::trainer::{Batch, Trainer, WindowRecord};
use serde_json::Value;

const TOL: f64 = 1e-12;

fn load(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect(&path)).expect("fixture JSON")
}

/// Flattens a `{shape, data}` array (or a plain nested list) row-major.
fn flat(v: &Value) -> Vec<f64> {
    fn walk(v: &Value, out: &mut Vec<f64>) {
        match v {
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            Value::Number(n) => out.push(n.as_f64().unwrap()),
            other => panic!("not numeric: {other}"),
        }
    }
    let mut out = Vec::new();
    walk(v.get("data").unwrap_or(v), &mut out);
    out
}

fn shape(v: &Value) -> Vec<usize> {
    v["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

/// Relative error max|got - want| / max|want| must stay below TOL.
fn assert_close(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    let err = got
        .iter()
        .zip(want)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    let rel = if scale > 0.0 { err / scale } else { err };
    assert!(
        rel <= TOL,
        "{what}: relative error {rel:e} (max abs error {err:e})"
    );
}

/// B × L × F (batch-major) to time-major L · B × F.
fn time_major(v: &Value) -> Vec<f64> {
    let (sh, data) = (shape(v), flat(v));
    let (b, l, f) = (sh[0], sh[1], sh[2]);
    let mut out = vec![0.0; data.len()];
    for i in 0..b {
        for t in 0..l {
            out[(t * b + i) * f..(t * b + i + 1) * f]
                .copy_from_slice(&data[(i * l + t) * f..(i * l + t + 1) * f]);
        }
    }
    out
}

fn trainer_for(fx: &Value) -> Trainer<f64> {
    let c = &fx["config"];
    let cell = match c["cortex"]["cell"].as_str().unwrap() {
        "lstm" => CellKind::Lstm,
        _ => CellKind::Tanh,
    };
    let cb = &c["cerebellum"];
    let spec = ModelSpec {
        cell,
        input: c["cortex"]["input_size"].as_u64().unwrap() as usize,
        hidden: c["cortex"]["hidden_size"].as_u64().unwrap() as usize,
        output: c["readout"]["output_size"].as_u64().unwrap() as usize,
        cerebellum: (!cb.is_null()).then(|| CerebellumSpec {
            granule: cb["granule_size"].as_u64().unwrap() as usize,
            layers: cb["granule_layers"].as_u64().unwrap() as usize,
            sparse_k: None,
            context: 0,
        }),
    };
    let mut model = Model::<f64>::new(&spec, 0);
    for p in fx["params"].as_array().unwrap() {
        let t = model
            .layout
            .get(p["name"].as_str().unwrap())
            .expect("parameter name")
            .clone();
        assert_eq!(t.shape, shape(p), "{}", t.name);
        model.params[t.range].copy_from_slice(&flat(p));
    }
    if let Some(mask) = cb.get("mask").filter(|m| !m.is_null()) {
        model.cerebellum.as_mut().unwrap().mask =
            Some(flat(mask).iter().map(|&m| m != 0.0).collect());
    }
    let mut trainer = Trainer::new(model, Default::default());
    trainer.options.horizon = c["K"].as_u64().unwrap() as usize;
    trainer.options.lambda = c["lambda"].as_f64().unwrap_or(0.1);
    trainer.optimizer.lr = c["optimizer"]["lr"].as_f64().unwrap();
    trainer
}

fn batch_for(fx: &Value, b: &Value) -> Batch<f64> {
    let c = &fx["config"];
    let (bsz, steps) = (
        c["batch_size"].as_u64().unwrap() as usize,
        c["seq_len"].as_u64().unwrap() as usize,
    );
    let target = match c["loss"].as_str().unwrap() {
        "mse" => {
            let mut feedback = vec![false; steps];
            for t in c["feedback_steps"].as_array().unwrap() {
                feedback[t.as_u64().unwrap() as usize] = true;
            }
            Target::Trajectory {
                values: time_major(&b["targets"]),
                feedback,
            }
        }
        _ => Target::Class {
            labels: flat(&b["targets"]).iter().map(|&x| x as usize).collect(),
        },
    };
    Batch {
        batch: bsz,
        steps,
        inputs: time_major(&b["inputs"]),
        target,
        context: None,
    }
}

fn grads_of(trainer: &Trainer<f64>, list: &Value, what: &str) {
    for g in list.as_array().unwrap() {
        let name = g["name"].as_str().unwrap();
        let t = trainer.model.layout.get(name).expect(name);
        assert_close(
            &format!("{what} {name}"),
            &trainer.grads[t.range.clone()],
            &flat(g),
        );
    }
}

fn check_windows(records: &[WindowRecord], want: &Value, ccrnn: bool) {
    let want = want.as_array().unwrap();
    assert_eq!(records.len(), want.len(), "number of windows");
    for (i, (r, w)) in records.iter().zip(want).enumerate() {
        assert_eq!(
            (r.t0, r.t1),
            (
                w["t0"].as_u64().unwrap() as usize,
                w["t1"].as_u64().unwrap() as usize
            )
        );
        match w["task_loss"].as_f64() {
            Some(l) => assert_close(
                &format!("window {i} task loss"),
                &[r.task_loss.unwrap()],
                &[l],
            ),
            None => assert!(r.task_loss.is_none(), "window {i} has no task loss"),
        }
        assert_close(
            &format!("window {i} s_start"),
            &r.s_start,
            &flat(&w["s_start"]),
        );
        assert_close(&format!("window {i} s_end"), &r.s_end, &flat(&w["s_end"]));
        if ccrnn {
            assert_close(
                &format!("window {i} prediction"),
                &r.prediction,
                &flat(&w["cerebellum_prediction"]),
            );
            assert_close(
                &format!("window {i} teaching signal"),
                &r.teaching_signal,
                &flat(&w["teaching_signal"]),
            );
            assert_close(
                &format!("window {i} cerebellum loss"),
                &[r.cerebellum_loss],
                &[w["cerebellum_loss"].as_f64().unwrap()],
            );
            assert_close(
                &format!("window {i} injected"),
                &r.injected,
                &flat(&w["injected"]),
            );
        }
    }
}

fn check_eval(trainer: &Trainer<f64>, batch: &Batch<f64>, want: &Value) {
    let y = trainer
        .model
        .predict(&batch.inputs, batch.steps, batch.batch);
    assert_close("eval readout", &y, &time_major(&want["readout"]));
    let mut sums = EvalSums::default();
    sums.add(&batch.target, &y, batch.steps, batch.batch);
    let m = sums.finish();
    if let Some(l) = want.get("loss_all_steps").and_then(Value::as_f64) {
        assert_close("eval MSE over all steps", &[m.mse.unwrap()], &[l]);
    }
    if let Some(l) = want.get("loss").and_then(Value::as_f64) {
        assert_close("eval cross-entropy", &[m.nll.unwrap()], &[l]);
        assert_close(
            "eval accuracy",
            &[m.accuracy.unwrap()],
            &[want["accuracy"].as_f64().unwrap()],
        );
    }
}

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
