//! The command line end to end on tiny settings: a run writes what it promises, a repeated run
//! gives identical numbers, and bad settings or data fail before training with a message that
//! names the culprit.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn ccdni(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ccdni"))
        .args(args)
        .env_remove("CCDNI_DATA_DIR")
        .output()
        .expect("run ccdni")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ccdni-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A quick reach run: 2 epochs of 4 batches, small cerebellum and test set.
const QUICK: &[&str] = &[
    "--epochs",
    "2",
    "--granule",
    "40",
    "--set",
    "reach.train_samples=200",
    "--set",
    "reach.test_samples=100",
];

fn train(out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["train", "--out", out.to_str().unwrap()];
    args.extend_from_slice(QUICK);
    args.extend_from_slice(extra);
    ccdni(&args)
}

fn fails_with(out: Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "expected failure, got success; stderr: {stderr}"
    );
    assert!(
        stderr.contains(needle),
        "stderr does not mention `{needle}`: {stderr}"
    );
}

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
    let crnn_file = scratch("crnn").with_extension("toml");
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
    let file = scratch("unknown").with_extension("toml");
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
    let csv = std::fs::read_to_string(dir.join("metrics.csv")).expect("metrics.csv kept");
    assert!(csv.starts_with("model,seed,epoch"));
    assert!(dir.join("config.toml").exists());
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
}

/// Tiny MNIST-shaped IDX files (gzipped) in a fresh folder: 120 training and 30 test images.
fn tiny_mnist(dir: &Path) {
    use ccdni::data::idx::{Images, write_images, write_labels};
    std::fs::create_dir_all(dir).unwrap();
    let mut r = ccdni::rng::Rng::new(5);
    for (stem, count) in [("train", 120), ("t10k", 30)] {
        let labels: Vec<u8> = (0..count).map(|i| (i % 10) as u8).collect();
        let pixels = (0..count * 784).map(|_| r.below(256) as u8).collect();
        let images = Images {
            count,
            rows: 28,
            cols: 28,
            pixels,
        };
        write_images(
            &dir.join(format!("{stem}-images-idx3-ubyte.gz")),
            &images,
            true,
        )
        .unwrap();
        write_labels(
            &dir.join(format!("{stem}-labels-idx1-ubyte.gz")),
            &labels,
            true,
        )
        .unwrap();
    }
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

#[test]
fn inputs_that_used_to_panic_are_refused_by_name() {
    let dir = scratch("panics");
    let file = scratch("panics-file").with_extension("toml");
    std::fs::write(&file, "cortex = 5\n").unwrap();
    let f = file.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["--momentum", "NaN"],
            "`train.optimizer.momentum` = NaN is out of range",
        ),
        (&["--set", "epochs.x=2"], "`epochs`: invalid type: map"),
        (
            &["--set", "reach=1", "--feedback-interval", "3"],
            "cannot set `reach.feedback_interval`: `reach` holds the integer 1",
        ),
        (
            &["--config", f, "--hidden", "5"],
            "cannot set `cortex.hidden`: `cortex` holds the integer 5",
        ),
        (
            &["--epochs", "9223372036854775807"],
            "`epochs` = 9223372036854775807 is more than a run may train",
        ),
        (
            &["--epochs", "18446744073709551615"],
            "--epochs 18446744073709551615 is out of range",
        ),
        (
            &["--set", "epochs=18446744073709551615"],
            "the integer is out of range",
        ),
        (
            &["--set", "train.update=bogus"],
            "`train.update`: unknown variant `bogus`",
        ),
        (
            &["--set", "lesion.olive_at=bogus"],
            "`lesion.olive_at`: invalid type: string",
        ),
        (
            &["--variant", "class"],
            "--variant applies only to the mnist task",
        ),
        (
            &["--data-dir", "/tmp"],
            "--data-dir applies only to the mnist task",
        ),
        (
            &["--optimizer", "adam", "--momentum", "0.5"],
            "--momentum applies only to --optimizer sgd",
        ),
        (
            &["--task", "mnist", "--set", "mnist.dataset='fashoin-mnist'"],
            "`mnist.dataset` = \"fashoin-mnist\" is not a known data set",
        ),
    ];
    for (extra, needle) in cases {
        let mut args = vec!["train", "--out", dir.to_str().unwrap()];
        args.extend_from_slice(extra);
        let out = ccdni(&args);
        assert_ne!(out.status.code(), Some(101), "{extra:?} panicked");
        fails_with(out, needle);
    }
    for (seeds, needle) in [
        ("0", "--seeds must be at least 1"),
        ("18446744073709551615", "is too many"),
    ] {
        let out = ccdni(&["reach", "--seeds", seeds, "--out", dir.to_str().unwrap()]);
        assert_ne!(out.status.code(), Some(101), "--seeds {seeds} panicked");
        fails_with(out, needle);
    }
    // The data set's own name is in the hint for missing data.
    let missing = scratch("no-fashion");
    let out = ccdni(&[
        "train",
        "--task",
        "mnist",
        "--set",
        "mnist.dataset='fashion-mnist'",
        "--set",
        &format!("mnist.data_dir={:?}", missing.to_str().unwrap()),
        "--out",
        dir.to_str().unwrap(),
    ]);
    fails_with(out, "ccdni data fetch fashion-mnist");
    assert!(!dir.exists(), "nothing is written for a refused input");
}

#[test]
fn runs_too_big_for_memory_are_refused_before_anything_is_written() {
    let dir = scratch("huge");
    for extra in [
        &["--hidden", "100000000"][..],
        &["--set", "cerebellum.granule=10000000"],
    ] {
        let out = train(&dir, extra);
        assert_ne!(out.status.code(), Some(101), "{extra:?} panicked");
        fails_with(out, "GiB of memory");
        assert!(!dir.exists(), "{extra:?}: nothing is written");
    }
}

/// Starts a quick run with `extra`, waits until its first epoch is in metrics.csv, then stops it.
fn first_epoch_written(dir: &Path, extra: &[&str]) -> String {
    let mut args = vec!["train", "--out", dir.to_str().unwrap()];
    args.extend_from_slice(QUICK);
    args.extend_from_slice(extra);
    let mut child = Command::new(env!("CARGO_BIN_EXE_ccdni"))
        .args(&args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start ccdni");
    let start = std::time::Instant::now();
    let csv = loop {
        let csv = std::fs::read_to_string(dir.join("metrics.csv")).unwrap_or_default();
        if csv.lines().count() >= 2 {
            break csv;
        }
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
            panic!("{extra:?} exited ({status}) before its first epoch: {err}");
        }
        assert!(
            start.elapsed().as_secs() < 120,
            "{extra:?}: no epoch after 2 minutes"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    csv
}

#[test]
fn a_huge_epoch_count_trains_without_allocating_for_every_epoch() {
    let dir = scratch("long");
    let csv = first_epoch_written(&dir, &["--model", "crnn", "--set", "epochs=1000000000"]);
    assert!(
        csv.lines().nth(1).unwrap().starts_with("cRNN,0,1,"),
        "{csv}"
    );
}

#[test]
fn two_runs_started_together_never_share_a_folder() {
    // Into one explicit folder: exactly one runs, the other fails at once naming it.
    let shared = scratch("shared");
    let spawn = |seed: &str, out: Option<&Path>, cwd: &Path| {
        let mut args = vec!["train", "--seed", seed];
        args.extend_from_slice(QUICK);
        if let Some(out) = out {
            args.extend_from_slice(&["--out", out.to_str().unwrap()]);
        }
        Command::new(env!("CARGO_BIN_EXE_ccdni"))
            .args(&args)
            .current_dir(cwd)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start ccdni")
    };
    let cwd = scratch("cwd");
    std::fs::create_dir_all(&cwd).unwrap();
    let children: Vec<_> = ["1", "2"]
        .iter()
        .map(|s| spawn(s, Some(&shared), &cwd))
        .collect();
    let outs: Vec<Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let ok: Vec<&Output> = outs.iter().filter(|o| o.status.success()).collect();
    assert_eq!(ok.len(), 1, "exactly one run gets the folder");
    let loser = outs.iter().find(|o| !o.status.success()).unwrap();
    let err = String::from_utf8_lossy(&loser.stderr);
    assert!(
        err.contains(&format!("output folder {}", shared.display()))
            && (err.contains("claimed by another run") || err.contains("already holds results")),
        "{err}"
    );
    assert!(
        !err.contains("done: test"),
        "the loser did not train: {err}"
    );
    let winner = if String::from_utf8_lossy(&ok[0].stderr).contains("seed 1 done") {
        "1"
    } else {
        "2"
    };
    let config = std::fs::read_to_string(shared.join("config.toml")).unwrap();
    assert!(config.contains(&format!("seed = {winner}\n")), "{config}");
    let csv = std::fs::read_to_string(shared.join("metrics.csv")).unwrap();
    assert!(
        csv.lines()
            .skip(1)
            .all(|l| l.starts_with(&format!("ccRNN,{winner},"))),
        "{csv}"
    );
    let files: Vec<String> = std::fs::read_dir(&shared)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !files
            .iter()
            .any(|f| f.ends_with(".tmp") || f.starts_with(".ccdni")),
        "no temporary or lock file is left: {files:?}"
    );

    // Default folders, same seed, started together: two folders, each with its own run.
    let children: Vec<_> = ["5", "5"].iter().map(|s| spawn(s, None, &cwd)).collect();
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let runs: Vec<PathBuf> = std::fs::read_dir(cwd.join("runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(runs.len(), 2, "{runs:?}");
    for run in &runs {
        let name = run.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("train-reach-ccrnn-seed5-"), "{name}");
        let csv = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
        assert_eq!(csv.lines().count(), 3, "{name}: header + 2 epochs");
    }
}

#[test]
fn an_empty_folder_may_be_used_but_not_a_claimed_one() {
    let empty = scratch("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = train(&empty, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(empty.join("summary.json").exists());
    assert!(
        !empty.join(".ccdni.lock").exists(),
        "the claim ends with the run"
    );
    let claimed = scratch("claimed");
    std::fs::create_dir_all(&claimed).unwrap();
    std::fs::write(claimed.join(".ccdni.lock"), "12345\n").unwrap();
    fails_with(train(&claimed, &[]), "is claimed by another run");
    assert_eq!(
        std::fs::read_dir(&claimed).unwrap().count(),
        1,
        "nothing is written into a claimed folder"
    );
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
    let dir = recorded.join("recordings").join("ccRNN-seed2");
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
