//! `ccdni eval` end to end: a saved model evaluates to the test measures of its run's last
//! epoch, and a missing, truncated, foreign or mismatched model file is refused with a message
//! naming it, exit code 1 and nothing written.

mod common;

use common::cli::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

/// Trains the quick reach ccRNN (sparse, seed 3) into `dir` and returns its model file.
fn trained(dir: &Path) -> std::path::PathBuf {
    let out = train(dir, &["--sparse-k", "4", "--seed", "3"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir.join("runs")
        .join("ccRNN-seed3")
        .join("model.safetensors")
}

/// The named columns of the last row of a metrics.csv.
fn last_row(csv: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(csv).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let last: Vec<&str> = text.lines().last().unwrap().split(',').collect();
    header
        .iter()
        .zip(last)
        .map(|(h, v)| (h.to_string(), v.to_string()))
        .collect()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_saved_model_evaluates_to_its_runs_last_test_measures() {
    let run = scratch("run");
    let model = trained(&run);
    let out = scratch("eval");
    let o = ccdni(&[
        "eval",
        model.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("ccRNN seed 3 (") && stdout.contains("on reach, 100 test sequences"),
        "{stdout}"
    );
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    let row = last_row(&run.join("metrics.csv"));
    assert_eq!(row["epoch"], "2");
    for name in ["mse", "dysmetria"] {
        let csv: f64 = row[&format!("test_{name}")].parse().unwrap();
        assert_eq!(metrics["test"][name].as_f64(), Some(csv), "test {name}");
        assert!(stdout.contains(&format!("test {name}")), "{stdout}");
    }
    assert_eq!(metrics["test_samples"], 100);
    for f in ["config.toml", "trajectories.png", "trajectories.svg"] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    assert!(!out.join("runs").exists(), "an evaluation holds no models");
    assert!(!out.join(".ccdni.lock").exists(), "the claim ends with it");

    // Without --out: a new folder runs/eval-<model>-<time>; another test set with --seed.
    let cwd = scratch("cwd");
    std::fs::create_dir_all(&cwd).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_ccdni"))
        .args(["eval", model.to_str().unwrap(), "--seed", "4"])
        .current_dir(&cwd)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let made: Vec<String> = std::fs::read_dir(cwd.join("runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(made.len(), 1, "{made:?}");
    assert!(made[0].starts_with("eval-ccRNN-seed3-"), "{made:?}");
    let other: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(cwd.join("runs").join(&made[0]).join("metrics.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(other["task_seed"], 4);
    assert_ne!(
        other["test"]["mse"], metrics["test"]["mse"],
        "another test set"
    );

    // Settings of the model, and tasks of other sizes, are refused before anything is written.
    let refused = scratch("refused");
    for (args, needle) in [
        (
            vec!["--set", "cortex.hidden=8"],
            "`cortex.hidden` cannot be set when evaluating",
        ),
        (
            vec!["--task", "mnist"],
            "holds a model of input size 1 and output size 2 (trained on reach), but the task mnist-class has input size 28 and output size 10",
        ),
        (vec!["--task", "draw"], "unknown task `draw`"),
    ] {
        let mut all = vec![
            "eval",
            model.to_str().unwrap(),
            "--out",
            refused.to_str().unwrap(),
        ];
        all.extend(args);
        let o = ccdni(&all);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        fails_with(o, needle);
        assert!(!refused.exists(), "nothing is written");
    }
}

#[test]
fn broken_model_files_are_refused_by_name_with_exit_code_1() {
    let run = scratch("run");
    let model = trained(&run);
    let bytes = std::fs::read(&model).unwrap();
    let files = scratch("files");
    std::fs::create_dir_all(&files).unwrap();
    let truncated = files.join("truncated.safetensors");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let garbage = files.join("garbage.safetensors");
    std::fs::write(&garbage, "this is not a model\n".repeat(10)).unwrap();
    let missing = files.join("missing.safetensors");
    // The same tensors under a config that says 8 hidden units (the model has 50), and under
    // no `format`.
    let (tensors, meta) = ccdni::data::safetensors::read(&model).unwrap();
    let write = |name: &str, meta: &BTreeMap<String, String>| {
        let path = files.join(name);
        let t: Vec<(&str, &[usize], &[f32])> = tensors
            .iter()
            .map(|t| (t.name.as_str(), &t.shape[..], &t.data[..]))
            .collect();
        ccdni::data::safetensors::write(&path, &t, meta).unwrap();
        path
    };
    let mut narrow = meta.clone();
    let config = narrow["config"].replace("hidden = 50", "hidden = 8");
    assert_ne!(config, narrow["config"]);
    narrow.insert("config".into(), config);
    let other_architecture = write("narrow.safetensors", &narrow);
    let mut foreign = meta.clone();
    foreign.remove("format");
    let foreign = write("foreign.safetensors", &foreign);
    let cases = [
        (&truncated, "is not a valid safetensors file"),
        (&garbage, "is not a valid safetensors file"),
        (&missing, "cannot read"),
        (
            &other_architecture,
            "tensor cortex.weight_ih has shape [200, 1] where [32, 1] is expected: the file was saved with a different architecture than this model's (LSTM cortex of 8 hidden units",
        ),
        (
            &foreign,
            "is not a ccdni model: its metadata has no `format`",
        ),
    ];
    let out = scratch("out");
    for (file, needle) in cases {
        let o = ccdni(&[
            "eval",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(
            o.status.code(),
            Some(1),
            "{}: {}",
            file.display(),
            stderr(&o)
        );
        let err = stderr(&o);
        assert!(err.contains(&file.display().to_string()), "{err}");
        assert!(err.contains(needle), "{needle}: {err}");
        assert!(!out.exists(), "nothing is written");
    }
    assert!(
        stderr(&ccdni(&[
            "eval",
            truncated.to_str().unwrap(),
            "--out",
            out.to_str().unwrap()
        ]))
        .contains("truncated"),
        "a truncated file is called so"
    );
}

#[test]
fn an_mnist_model_evaluates_on_its_variant_or_another_of_its_sizes() {
    let data = scratch("tiny-mnist");
    tiny_mnist(&data);
    let d = data.to_str().unwrap();
    let run = scratch("run");
    let o = ccdni(&[
        "train",
        "--task",
        "mnist",
        "--variant",
        "line",
        "--epochs",
        "1",
        "--granule",
        "20",
        "--set",
        "mnist.validation_samples=20",
        "--data-dir",
        d,
        "--out",
        run.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let model = run
        .join("runs")
        .join("ccRNN-seed0")
        .join("model.safetensors");
    let row = last_row(&run.join("metrics.csv"));
    // Its own variant: the run's last test MSE; digit drawing has the same sizes.
    for (variant, same) in [("line", true), ("digit", false)] {
        let out = scratch(variant);
        let o = ccdni(&[
            "eval",
            model.to_str().unwrap(),
            "--variant",
            variant,
            "--data-dir",
            d,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(
            stdout.contains(&format!("on mnist-{variant}, 30 test sequences")),
            "{stdout}"
        );
        let metrics: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap())
                .unwrap();
        let csv: f64 = row["test_mse"].parse().unwrap();
        assert_eq!(
            metrics["test"]["mse"].as_f64() == Some(csv),
            same,
            "{variant}"
        );
        assert!(out.join("trajectories.png").exists());
    }
    // Classification needs 10 outputs, the model has 2.
    let out = scratch("class");
    let o = ccdni(&[
        "eval",
        model.to_str().unwrap(),
        "--variant",
        "class",
        "--data-dir",
        d,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    fails_with(
        o,
        "the task mnist-class has input size 28 and output size 10",
    );
    assert!(!out.exists(), "nothing is written");
}
