//! The command line end to end on tiny settings: a run writes what it promises, a repeated run
//! gives identical numbers, and bad settings or data fail before training with a message that
//! names the culprit.

mod common;

use common::cli::*;
use std::path::Path;

#[test]
fn a_run_writes_config_metrics_summary_and_pictures_and_repeats_exactly() {
    let (a, b) = (scratch("run-a"), scratch("run-b"));
    for dir in [&a, &b] {
        let out = train(dir, &["--sparse-k", "4", "--seed", "3"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for f in [
        "config.toml",
        "metrics.csv",
        "summary.json",
        "learning_curves.png",
        "learning_curves.svg",
        "trajectories.png",
    ] {
        assert!(a.join(f).exists(), "{f} missing");
    }
    let csv = std::fs::read_to_string(a.join("metrics.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3, "header + 2 epochs");
    assert!(csv.lines().nth(1).unwrap().starts_with("ccRNN,3,1,"));
    let strip_time = |s: &str| {
        s.lines()
            .map(|l| l.rsplit_once(',').unwrap().0.to_string())
            .collect::<Vec<_>>()
    };
    let csv_b = std::fs::read_to_string(b.join("metrics.csv")).unwrap();
    assert_eq!(
        strip_time(&csv),
        strip_time(&csv_b),
        "same config and seed, same numbers"
    );
    // A config file's model and task are kept unless a flag says otherwise.
    let crnn_file = scratch("crnn.toml");
    std::fs::write(
        &crnn_file,
        "model = \"crnn\"\nepochs = 1\n[reach]\ntest_samples = 10\n",
    )
    .unwrap();
    let d = scratch("crnn-run");
    let out = ccdni(&[
        "train",
        "--config",
        crnn_file.to_str().unwrap(),
        "--out",
        d.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        std::fs::read_to_string(d.join("metrics.csv"))
            .unwrap()
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("cRNN,")
    );
    // The recorded config reproduces the run.
    let c = scratch("run-c");
    let cfg = a.join("config.toml");
    let out = ccdni(&[
        "train",
        "--out",
        c.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        strip_time(&csv),
        strip_time(&std::fs::read_to_string(c.join("metrics.csv")).unwrap())
    );
}

#[test]
fn impossible_settings_are_rejected_by_name() {
    let dir = scratch("bad");
    fails_with(train(&dir, &["--horizon", "0"]), "train.horizon");
    fails_with(
        train(&dir, &["--horizon", "11"]),
        "longer than the sequence",
    );
    fails_with(train(&dir, &["--sparse-k", "101"]), "cerebellum.sparse_k");
    fails_with(train(&dir, &["--lr", "nan"]), "train.lr");
    fails_with(train(&dir, &["--lambda", "inf"]), "train.lambda");
    fails_with(train(&dir, &["--olive-lesion-at", "5"]), "lesion.olive_at");
    fails_with(train(&dir, &["--set", "train.horizn=3"]), "horizn");
    fails_with(train(&dir, &["--optimizer", "lbfgs"]), "lbfgs");
    fails_with(train(&dir, &["--late-phase", "0"]), "`late_phase`");
    fails_with(train(&dir, &["--set", "late_phase=1.5"]), "`late_phase`");
    assert!(
        !dir.exists(),
        "nothing is written for a rejected configuration"
    );
}

#[test]
fn config_file_with_unknown_key_is_rejected() {
    let file = scratch("unknown.toml");
    std::fs::write(&file, "[train]\nhorizon = 2\nlearning_rate = 0.1\n").unwrap();
    let out = ccdni(&[
        "train",
        "--config",
        file.to_str().unwrap(),
        "--out",
        scratch("u").to_str().unwrap(),
    ]);
    fails_with(out, "learning_rate");
    std::fs::write(&file, "[train\n").unwrap();
    fails_with(
        ccdni(&["train", "--config", file.to_str().unwrap()]),
        "not valid TOML",
    );
    fails_with(
        ccdni(&["train", "--config", "/nonexistent/ccdni.toml"]),
        "cannot read config file",
    );
}

#[test]
fn a_sweep_refuses_a_horizon_given_twice_before_writing_anything() {
    let dir = scratch("sweep-dup");
    let out = ccdni(&[
        "sweep",
        "--task",
        "reach",
        "--horizons",
        "1,2,1",
        "--seeds",
        "2",
        "--out",
        dir.to_str().unwrap(),
    ]);
    fails_with(out, "horizon K = 1 is given twice");
    assert!(!dir.exists(), "nothing is written");
}

#[test]
fn unwritable_or_used_output_folders_are_refused() {
    let file = scratch("a-file");
    std::fs::write(&file, "x").unwrap();
    fails_with(train(&file.join("sub"), &[]), "cannot create output folder");
    let dir = scratch("used");
    assert!(train(&dir, &[]).status.success());
    let before = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    fails_with(train(&dir, &[]), "already holds results");
    assert_eq!(
        before,
        std::fs::read_to_string(dir.join("metrics.csv")).unwrap(),
        "nothing lost"
    );
}

#[test]
fn a_diverging_run_stops_with_a_clear_error_and_keeps_its_metrics() {
    let dir = scratch("diverge");
    let out = train(
        &dir,
        &[
            "--lr",
            "1e30",
            "--clip",
            "0",
            "--optimizer",
            "sgd",
            "--momentum",
            "0",
        ],
    );
    fails_with(out, "diverged at epoch");
    // The run's own metrics keep the epochs it finished.
    let run = dir.join("runs").join("ccRNN-seed0");
    let csv = std::fs::read_to_string(run.join("metrics.csv")).expect("metrics.csv kept");
    assert!(csv.starts_with("model,seed,epoch"));
    assert!(dir.join("config.toml").exists() && run.join("config.toml").exists());
}

#[test]
fn a_missing_data_folder_is_named() {
    let missing = scratch("no-data");
    let run = scratch("no-data-run");
    let args = [
        "train",
        "--task",
        "mnist",
        "--data-dir",
        missing.to_str().unwrap(),
        "--out",
        run.to_str().unwrap(),
    ];
    fails_with(ccdni(&args), missing.to_str().unwrap());
    assert!(
        !run.exists(),
        "nothing is written when the data cannot be read"
    );
}

#[test]
fn config_prints_every_key() {
    let out = ccdni(&["config", "--task", "mnist"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for key in [
        "horizon",
        "lambda",
        "cerebellum_loss",
        "inject_at_last_window",
        "granule",
        "feedback_interval",
        "late_phase",
    ] {
        assert!(text.contains(key), "{key} missing from {text}");
    }
    assert!(text.contains("# [areas]\n") && text.contains("# forward_granule = 200"));
}

#[test]
fn config_lays_settings_over_the_defaults_and_checks_them() {
    let out = ccdni(&["config", "--set", "areas.delay=2", "--set", "epochs=7"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("epochs = 7\n") && text.contains("\n[areas]\ndelay = 2\n"),
        "{text}"
    );
    assert!(!text.contains("# [areas]"), "{text}");
    fails_with(
        ccdni(&["config", "--set", "areas.delay=200"]),
        "areas.delay",
    );
    fails_with(ccdni(&["config", "--set", "epochs"]), "KEY=VALUE");
    // --task wins over the file's task, as it does for train.
    let dir = scratch("config-task");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("eyeblink.toml");
    std::fs::write(&file, "task = \"eyeblink\"\n").unwrap();
    let f = file.to_str().unwrap();
    let task = |args: &[&str]| {
        let out = ccdni(args);
        assert!(out.status.success(), "{args:?}");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.lines()
            .find(|l| l.starts_with("task ="))
            .unwrap()
            .to_string()
    };
    assert_eq!(task(&["config", "--config", f]), "task = \"eyeblink\"");
    assert_eq!(
        task(&["config", "--config", f, "--task", "copy"]),
        "task = \"copy\""
    );
}

#[test]
fn mnist_experiments_and_the_horizon_sweep_run_end_to_end() {
    let data = scratch("tiny-mnist");
    tiny_mnist(&data);
    let d = data.to_str().unwrap();
    let small = [
        "--epochs",
        "1",
        "--seeds",
        "2",
        "--granule",
        "20",
        "--set",
        "mnist.validation_samples=20",
        "--data-dir",
        d,
    ];
    for variant in ["class", "digit"] {
        let out = scratch(&format!("mnist-{variant}"));
        let mut args = vec![
            "mnist",
            "--variant",
            variant,
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(&small);
        let o = ccdni(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
        let measure = if variant == "class" {
            "test accuracy"
        } else {
            "test mse"
        };
        assert!(summary.contains(measure));
        for field in [
            "\"final_test\"",
            "normalised_performance_all_epochs",
            "normalised_performance_late_phase",
            "positive = ccRNN better than cRNN",
        ] {
            assert!(summary.contains(field), "{field} missing from {summary}");
        }
        let table = String::from_utf8_lossy(&o.stdout);
        for line in [
            format!("final {measure} improvement"),
            "normalised performance, all epochs 1-1 (papers' measure)".to_string(),
            "normalised performance, late phase epochs 1-1".to_string(),
        ] {
            assert!(table.contains(&line), "{line} missing from {table}");
        }
        assert_eq!(out.join("trajectories.png").exists(), variant == "digit");
    }
    let out = scratch("sweep");
    let mut args = vec![
        "sweep",
        "--task",
        "mnist",
        "--variant",
        "line",
        "--horizons",
        "1,28",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(&small);
    let o = ccdni(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let sweep = std::fs::read_to_string(out.join("sweep.json")).unwrap();
    assert!(sweep.contains("\"horizon\": 28"));
    for field in [
        "normalised_performance_all_epochs",
        "normalised_performance_late_phase",
        "\"variant\": \"ccRNN K=28\"",
    ] {
        assert!(sweep.contains(field), "{field} missing from {sweep}");
    }
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(
        table.contains("all epochs 1-1 (papers')") && table.contains("late phase 1-1"),
        "{table}"
    );
    assert!(out.join("normalised_performance.png").exists());
    // A corrupt data file is reported with its path, before any training.
    std::fs::write(
        data.join("t10k-labels-idx1-ubyte.gz"),
        b"\x1f\x8bnot really gzip",
    )
    .unwrap();
    let o = ccdni(&[
        "mnist",
        "--data-dir",
        d,
        "--out",
        scratch("corrupt").to_str().unwrap(),
    ]);
    fails_with(o, "t10k-labels-idx1-ubyte.gz");
}

/// The metrics of a run without its timing column.
fn metrics_without_timing(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("metrics.csv"))
        .unwrap()
        .lines()
        .map(|l| l.rsplit_once(',').unwrap().0.to_string())
        .collect()
}

#[test]
fn recordings_are_indexed_npy_files_and_leave_training_unchanged() {
    let (plain, recorded) = (scratch("rec-off"), scratch("rec-on"));
    assert!(train(&plain, &["--seed", "2"]).status.success());
    let out = train(&recorded, &["--seed", "2", "--record-every", "3"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        metrics_without_timing(&plain),
        metrics_without_timing(&recorded),
        "recording changes nothing in training"
    );
    let dir = recorded.join("runs").join("ccRNN-seed2").join("recordings");
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("index.json")).unwrap()).unwrap();
    let entries = index.as_array().unwrap();
    // 2 epochs of 4 batches, every 3rd batch of the run: batches 0, 3 (epoch 1) and 2 (epoch 2).
    let when: Vec<(u64, u64)> = entries
        .iter()
        .map(|e| (e["epoch"].as_u64().unwrap(), e["batch"].as_u64().unwrap()))
        .collect();
    assert_eq!(when, vec![(1, 0), (1, 3), (2, 2)]);
    for e in entries {
        let names: Vec<&str> = e["arrays"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "state",
                "granule_0",
                "granule_1",
                "prediction",
                "teaching_signal",
                "true_feedback"
            ]
        );
        for a in e["arrays"].as_array().unwrap() {
            let bytes = std::fs::read(dir.join(a["file"].as_str().unwrap())).unwrap();
            let len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
            let header = std::str::from_utf8(&bytes[10..10 + len]).unwrap();
            let shape: Vec<String> = a["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.to_string())
                .collect();
            assert!(
                header.contains(&format!("'shape': ({})", shape.join(", "))),
                "{header}"
            );
            let count: usize = a["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().unwrap() as usize)
                .product();
            assert_eq!(bytes.len(), 10 + len + 4 * count, "{}", a["file"]);
        }
    }
}

#[test]
fn the_probe_writes_measures_over_learning_and_their_plots() {
    let dir = scratch("probe");
    let out = train(&dir, &["--seed", "1", "--probe", "5"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = std::fs::read_to_string(dir.join("learning.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("model,seed,epoch,population,measure,value")
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    for epoch in ["1", "2"] {
        assert!(
            rows.iter()
                .any(|r| r[2] == epoch && r[3] == "prediction/true_feedback" && r[4] == "cosine")
        );
        assert!(
            rows.iter()
                .any(|r| r[2] == epoch && r[3] == "granule_0" && r[4] == "sparseness")
        );
    }
    for stem in [
        "alignment-cosine",
        "population_correlation",
        "weights-weight_std",
    ] {
        assert!(
            dir.join("learning").join(format!("{stem}.png")).exists(),
            "{stem}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
