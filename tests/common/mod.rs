//! Reading the golden fixtures of tests/fixtures/ (PyTorch reference values, float64) and
//! comparing the trainer with them; shared by tests/fixtures.rs and tests/option_fixtures.rs.
#![allow(dead_code)]

pub mod cli;
pub mod coco;

use ccdni::batch::Batch;
use ccdni::cortex::CellKind;
use ccdni::loss::{EvalSums, Target};
use ccdni::model::{CerebellumSpec, Model, ModelSpec};
use ccdni::trainer::{Trainer, WindowRecord};
use serde_json::Value;

pub const TOL: f64 = 1e-12;

pub fn load(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect(&path)).expect("fixture JSON")
}

/// Flattens a `{shape, data}` array (or a plain nested list) row-major.
pub fn flat(v: &Value) -> Vec<f64> {
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

pub fn shape(v: &Value) -> Vec<usize> {
    v["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

/// Relative error max|got - want| / max|want| must stay below TOL.
pub fn assert_close(what: &str, got: &[f64], want: &[f64]) {
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
pub fn time_major(v: &Value) -> Vec<f64> {
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

pub fn trainer_for(fx: &Value) -> Trainer<f64> {
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
        words: None,
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

pub fn batch_for(fx: &Value, b: &Value) -> Batch<f64> {
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
        words: None,
    }
}

pub fn grads_of(trainer: &Trainer<f64>, list: &Value, what: &str) {
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

pub fn check_windows(records: &[WindowRecord], want: &Value, ccrnn: bool) {
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
            if w["injected"].is_null() {
                assert!(
                    r.injected.iter().all(|&x| x == 0.0),
                    "window {i} injects nothing"
                );
            } else {
                assert_close(
                    &format!("window {i} injected"),
                    &r.injected,
                    &flat(&w["injected"]),
                );
            }
        }
    }
}

pub fn check_eval(trainer: &Trainer<f64>, batch: &Batch<f64>, want: &Value) {
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
