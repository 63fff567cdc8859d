//! Saved models read from Python without ccdni: `safetensors.numpy.load_file` loads every
//! tensor under its PyTorch-style name, and a NumPy LSTM built from those tensors (PyTorch's
//! equations, gate order i, f, g, o) draws the same trajectory as ccdni. Needs a `python3` with
//! `numpy` and `safetensors`; without them the test says so on stderr and passes. Arrays written
//! as `.npy` load with `np.load`.

use ccdni::cortex::CellKind;
use ccdni::model::{CerebellumSpec, Model, ModelSpec};
use std::collections::BTreeMap;
use std::io::Write;
use std::process::Command;

const SCRIPT: &str = r#"
import json, sys
import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file

path, x = sys.argv[1], np.array(json.loads(sys.argv[2]), dtype=np.float64)
p = {k: v.astype(np.float64) for k, v in load_file(path).items()}
with safe_open(path, "np") as f:
    meta = f.metadata()
H = p["cortex.weight_hh"].shape[1]
h, c, ys = np.zeros(H), np.zeros(H), []
sig = lambda v: 1.0 / (1.0 + np.exp(-v))
for x_t in x:
    z = p["cortex.weight_ih"] @ x_t + p["cortex.bias_ih"] + p["cortex.weight_hh"] @ h + p["cortex.bias_hh"]
    i, f, g, o = sig(z[:H]), sig(z[H:2*H]), np.tanh(z[2*H:3*H]), sig(z[3*H:])
    c = f * c + i * g
    h = o * np.tanh(c)
    ys.append((p["readout.weight"] @ h + p["readout.bias"]).tolist())
mask = p["cerebellum.0.weight_mask"]
print(json.dumps({
    "names": sorted(p),
    "label": meta["label"],
    "readout": ys,
    "kept_per_granule_cell": sorted(set(mask.sum(axis=1).astype(int).tolist())),
    "masked_weights_zero": bool(np.all(p["cerebellum.0.weight"][mask == 0] == 0)),
}))
"#;

/// Whether a `python3` with numpy and safetensors is here; if not, says on the real stderr (not
/// the test harness's capture, so the skip is visible) that `test` is skipped.
fn python_ready(test: &str) -> bool {
    let ready = Command::new("python3")
        .args(["-c", "import numpy, safetensors"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ready {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED {test}: no python3 with numpy and safetensors (pip install numpy safetensors)"
        );
    }
    ready
}

/// Runs a Python `script` with `args` and parses the JSON it prints.
fn run_python(script: &str, args: &[&str]) -> serde_json::Value {
    let out = Command::new("python3")
        .args(["-c", script])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_saved_model_loads_in_python_and_runs_the_same_lstm() {
    if !python_ready("a_saved_model_loads_in_python_and_runs_the_same_lstm") {
        return;
    }
    let spec = ModelSpec {
        cell: CellKind::Lstm,
        input: 2,
        hidden: 5,
        output: 2,
        cerebellum: Some(CerebellumSpec {
            granule: 12,
            layers: 2,
            sparse_k: Some(4),
            context: 0,
        }),
        words: None,
    };
    let model = Model::<f32>::new(&spec, 3);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    let meta = BTreeMap::from([("label".to_string(), "ccRNN".to_string())]);
    model.save(&path, &meta).unwrap();
    let steps = 6;
    let x: Vec<f32> = (0..steps * 2).map(|i| (i as f32 * 0.7).sin()).collect();
    let rows: Vec<Vec<f32>> = x.chunks(2).map(<[f32]>::to_vec).collect();
    let got = run_python(
        SCRIPT,
        &[
            path.to_str().unwrap(),
            &serde_json::to_string(&rows).unwrap(),
        ],
    );
    let mut names: Vec<String> = model
        .layout
        .tensors
        .iter()
        .map(|t| t.name.clone())
        .collect();
    names.push("cerebellum.0.weight_mask".into());
    names.sort();
    assert_eq!(got["names"], serde_json::json!(names));
    assert_eq!(got["label"], "ccRNN");
    assert_eq!(got["kept_per_granule_cell"], serde_json::json!([4]));
    assert_eq!(got["masked_weights_zero"], true);
    let ours = model.predict(&x, steps, 1);
    let theirs: Vec<f64> = got["readout"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()))
        .collect();
    assert_eq!(ours.len(), theirs.len());
    for (a, b) in ours.iter().zip(&theirs) {
        // f32 (ours) against f64 (NumPy) over six steps.
        assert!(
            (*a as f64 - b).abs() <= 1e-5 * b.abs().max(1.0),
            "{a} vs {b}"
        );
    }
}

#[test]
fn npy_arrays_load_with_numpy() {
    if !python_ready("npy_arrays_load_with_numpy") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<Vec<usize>> = vec![vec![5], vec![2, 3], vec![3, 1, 2], vec![0, 4]];
    for (k, shape) in cases.iter().enumerate() {
        let n: usize = shape.iter().product();
        let values: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
        ccdni::data::npy::write(&dir.path().join(format!("a{k}.npy")), shape, &values).unwrap();
    }
    let script = r#"
import json, sys
import numpy as np
out = []
for k in range(4):
    a = np.load(f"{sys.argv[1]}/a{k}.npy")
    out.append({"shape": list(a.shape), "dtype": str(a.dtype), "values": a.ravel().tolist()})
print(json.dumps(out))
"#;
    let got = run_python(script, &[dir.path().to_str().unwrap()]);
    for (k, shape) in cases.iter().enumerate() {
        let n: usize = shape.iter().product();
        let want: Vec<f64> = (0..n).map(|i| (i as f32 * 0.37).sin() as f64).collect();
        assert_eq!(got[k]["shape"], serde_json::json!(shape));
        assert_eq!(got[k]["dtype"], "float32");
        assert_eq!(got[k]["values"], serde_json::json!(want));
    }
}
