//! A task from files works like a built-in one through every command: a file task holding the
//! reach task's own arrays gives the reach job's numbers exactly; it resumes after SIGKILL as if
//! never stopped, shards and aggregates, records, measures over learning, evaluates a saved
//! model and runs from an experiment file; bad input is refused before anything is written.

mod common;

use ccdni::batch::Batch;
use ccdni::data::npy;
use ccdni::loss::Target;
use ccdni::tasks::Task;
use ccdni::tasks::reach::{Reach, ReachConfig};
use common::cli::{ccdni, fails_with, wait_until};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The reach settings of these tests: 2 epochs of 4 batches, a small test set.
const REACH: &[&str] = &[
    "--seed",
    "3",
    "--epochs",
    "2",
    "--granule",
    "40",
    "--set",
    "reach.train_samples=200",
    "--set",
    "reach.test_samples=100",
];

/// A set as sample-major arrays: inputs N × L × 1, targets N × L × 2, mask N × L.
#[derive(Default)]
struct Arrays {
    n: usize,
    inputs: Vec<f32>,
    targets: Vec<f32>,
    mask: Vec<f32>,
}

impl Arrays {
    /// Appends the time-major batch `b` (a reach batch) sample by sample.
    fn push(&mut self, b: &Batch<f32>) {
        let Target::Trajectory { values, feedback } = &b.target else {
            panic!("a reach batch")
        };
        for s in 0..b.batch {
            for (t, &f) in feedback.iter().enumerate() {
                let row = t * b.batch + s;
                self.inputs.push(b.inputs[row]);
                self.targets
                    .extend_from_slice(&values[row * 2..row * 2 + 2]);
                self.mask.push(f32::from(u8::from(f)));
            }
        }
        self.n += b.batch;
    }

    /// Writes `<prefix>inputs.npy`, `targets` and `mask` into `dir`; returns their paths.
    fn write(&self, dir: &Path, prefix: &str) -> [PathBuf; 3] {
        let l = self.mask.len() / self.n;
        let path = |name: &str| dir.join(format!("{prefix}{name}.npy"));
        npy::write(&path("inputs"), &[self.n, l, 1], &self.inputs).unwrap();
        npy::write(&path("targets"), &[self.n, l, 2], &self.targets).unwrap();
        npy::write(&path("mask"), &[self.n, l], &self.mask).unwrap();
        ["inputs", "targets", "mask"].map(path)
    }
}

/// The reach task of [`REACH`] written as files: its training batches of both epochs in order,
/// its validation and test sets. Returns the file task's settings.
fn reach_as_files(dir: &Path) -> Vec<String> {
    let config = ReachConfig {
        train_samples: 200,
        test_samples: 100,
        ..ReachConfig::default()
    };
    let task = Reach::new(config, 3, 1000);
    let mut train = Arrays::default();
    for epoch in 0..2 {
        for i in 0..task.batches_per_epoch(50) {
            train.push(&task.train_batch(epoch, i, 50));
        }
    }
    let set = |batches: &[Batch<f32>]| {
        let mut a = Arrays::default();
        batches.iter().for_each(|b| a.push(b));
        a
    };
    let [x, y, m] = train.write(dir, "");
    let [vx, vy, vm] = set(task.validation()).write(dir, "validation_");
    let [tx, ty, tm] = set(task.test()).write(dir, "test_");
    let mut args: Vec<String> = ["--inputs", "--targets", "--mask"]
        .iter()
        .zip([x, y, m])
        .flat_map(|(f, p)| [f.to_string(), p.display().to_string()])
        .collect();
    for (key, p) in [
        ("validation_inputs", vx),
        ("validation_targets", vy),
        ("validation_mask", vm),
        ("test_inputs", tx),
        ("test_targets", ty),
        ("test_mask", tm),
    ] {
        args.extend(["--set".into(), format!("file.{key}={}", p.display())]);
    }
    for s in ["file.order=file", "file.epoch_samples=200"] {
        args.extend(["--set".into(), s.into()]);
    }
    args
}

fn ok(out: std::process::Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned() + &stderr
}

/// Runs `ccdni <args> <extra>`.
fn run(args: &[&str], extra: &[String]) -> String {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(extra.iter().map(String::as_str));
    ok(ccdni(&all))
}

/// metrics.csv without the seconds column (the 21st).
fn metrics(dir: &Path) -> Vec<String> {
    let csv = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    csv.lines()
        .map(|l| {
            let mut f: Vec<&str> = l.split(',').collect();
            f.remove(20);
            f.join(",")
        })
        .collect()
}

/// The tensors of a saved model (its metadata names the task, so the bytes differ).
fn tensors(path: &Path) -> Vec<(String, Vec<usize>, Vec<f32>)> {
    let (t, _) = ccdni::data::safetensors::read(path).unwrap();
    t.into_iter().map(|t| (t.name, t.shape, t.data)).collect()
}

#[test]
fn the_reach_task_from_files_gives_the_reach_numbers_exactly() {
    let root = tempfile::tempdir().unwrap();
    let files = reach_as_files(root.path());
    let (a, b) = (root.path().join("reach"), root.path().join("file"));
    let mut args = vec!["train", "--out", a.to_str().unwrap()];
    args.extend_from_slice(REACH);
    run(&args, &[]);
    let mut args = vec!["train", "--task", "file", "--out", b.to_str().unwrap()];
    args.extend_from_slice(REACH);
    // The reach settings are ignored by the file task (only the reach task reads them).
    let text = run(&args, &files);
    assert_eq!(metrics(&a), metrics(&b), "every measure of every epoch");
    let model = |d: &Path| tensors(&d.join("runs/ccRNN-seed3/model.safetensors"));
    assert!(
        model(&a) == model(&b),
        "the trained parameters, bit for bit"
    );
    let summary = |d: &Path| {
        let s: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(d.join("summary.json")).unwrap())
                .unwrap();
        s["variants"][0]["values"].clone()
    };
    assert_eq!(summary(&a), summary(&b));
    assert!(text.contains("test mse"), "{text}");
}

#[test]
fn a_file_task_resumes_records_probes_and_evaluates() {
    let root = tempfile::tempdir().unwrap();
    let d = root.path();
    let files = reach_as_files(d);
    let base = |out: &Path| -> Vec<String> {
        let mut v: Vec<String> = [
            "--out",
            out.to_str().unwrap(),
            "--granule",
            "40",
            "--seed",
            "3",
        ]
        .map(String::from)
        .to_vec();
        v.extend(files.iter().cloned());
        v
    };
    // Killed after its first checkpoint, resumed: the numbers of a run never stopped.
    let (whole, killed) = (d.join("whole"), d.join("killed"));
    let epochs = ["--epochs", "6", "--record-every", "3", "--probe", "20"];
    let mut args = vec!["train", "--task", "file"];
    args.extend_from_slice(&epochs);
    run(&args, &base(&whole));
    let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    all.extend(base(&killed));
    let mut child = Command::new(env!("CARGO_BIN_EXE_ccdni"))
        .args(&all)
        .env("CCDNI_TEST_WRITE_PAUSE_MS", "150")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let checkpoint = killed.join("runs/ccRNN-seed3/checkpoint.safetensors");
    wait_until("no checkpoint", || checkpoint.exists());
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !killed.join("summary.json").exists(),
        "killed before the end"
    );
    ok(ccdni(&["resume", killed.to_str().unwrap()]));
    assert_eq!(metrics(&whole), metrics(&killed));
    let model = |o: &Path| std::fs::read(o.join("runs/ccRNN-seed3/model.safetensors")).unwrap();
    assert!(
        model(&whole) == model(&killed),
        "the same model, bit for bit"
    );
    // Recordings and measures over learning.
    let recordings = whole.join("runs/ccRNN-seed3/recordings/index.json");
    assert!(recordings.exists(), "recordings");
    let learning = std::fs::read_to_string(whole.join("learning.csv")).unwrap();
    assert!(
        learning.contains("teaching_signal/true_feedback"),
        "{learning}"
    );
    // eval of the saved model: its last epoch's test measures.
    let eval = d.join("eval");
    let m = whole.join("runs/ccRNN-seed3/model.safetensors");
    ok(ccdni(&[
        "eval",
        m.to_str().unwrap(),
        "--out",
        eval.to_str().unwrap(),
    ]));
    let evaluated: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(eval.join("metrics.json")).unwrap()).unwrap();
    let last = metrics(&whole).last().unwrap().clone();
    let test_mse: f64 = last.split(',').nth(14).unwrap().parse().unwrap();
    assert_eq!(evaluated["test"]["mse"].as_f64().unwrap(), test_mse);
}

#[test]
fn a_file_task_sweep_in_shards_equals_it_on_one_machine() {
    let root = tempfile::tempdir().unwrap();
    let d = root.path();
    let files = reach_as_files(d);
    let base = |out: &Path| -> Vec<String> {
        let mut v: Vec<String> = [
            "--out",
            out.to_str().unwrap(),
            "--granule",
            "40",
            "--seed",
            "3",
        ]
        .map(String::from)
        .to_vec();
        v.extend(files.iter().cloned());
        v
    };
    let (one, shared) = (d.join("one"), d.join("shared"));
    let sweep = [
        "sweep",
        "--task",
        "file",
        "--horizons",
        "1,5",
        "--seeds",
        "1",
        "--epochs",
        "2",
    ];
    run(&sweep, &base(&one));
    for shard in ["0/2", "1/2"] {
        let mut extra = base(&shared);
        extra.extend(["--shard".to_string(), shard.to_string()]);
        run(&sweep, &extra);
    }
    ok(ccdni(&["aggregate", shared.to_str().unwrap()]));
    assert_eq!(metrics(&one), metrics(&shared));
}

#[test]
fn an_experiment_file_names_the_arrays() {
    let root = tempfile::tempdir().unwrap();
    let d = root.path();
    let files = reach_as_files(d);
    let value = |flag: &str| files[files.iter().position(|f| f == flag).unwrap() + 1].clone();
    let experiment = d.join("mine.toml");
    std::fs::write(
        &experiment,
        format!(
            "name = \"mine\"\nseeds = [0, 1]\n[settings]\ntask = \"file\"\nepochs = 2\n\
             cerebellum = {{ granule = 30 }}\n[settings.file]\ninputs = {:?}\ntargets = {:?}\nmask = {:?}\n\
             validation_fraction = 0.25\ntest_fraction = 0.25\n\
             [[variants]]\nlabel = \"cRNN\"\nmodel = \"crnn\"\n[[variants]]\nlabel = \"ccRNN\"\nmodel = \"ccrnn\"\n",
            value("--inputs"),
            value("--targets"),
            value("--mask")
        ),
    )
    .unwrap();
    let out = d.join("out");
    let text = run(
        &[
            "run",
            experiment.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
    );
    assert!(text.contains("ccRNN vs cRNN"), "{text}");
    let config = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(
        config.contains("[file]") && config.contains("validation_fraction = 0.25"),
        "{config}"
    );
}

#[test]
fn bad_input_is_refused_before_anything_is_written() {
    let root = tempfile::tempdir().unwrap();
    let d = root.path();
    let x = d.join("x.npy");
    npy::write(&x, &[4, 3, 1], &[0.0; 12]).unwrap();
    let y = d.join("y.npy");
    npy::write(&y, &[5, 3, 2], &[0.0; 30]).unwrap();
    let out = d.join("out");
    let o = out.to_str().unwrap();
    let (xs, ys) = (x.to_str().unwrap(), y.to_str().unwrap());
    fails_with(
        ccdni(&[
            "train",
            "--task",
            "file",
            "--inputs",
            xs,
            "--targets",
            ys,
            "--out",
            o,
        ]),
        "sequences N and steps L must agree",
    );
    assert!(!out.exists(), "nothing written");
    fails_with(
        ccdni(&["train", "--task", "file", "--inputs", xs, "--out", o]),
        "needs its training inputs and targets",
    );
    fails_with(
        ccdni(&["train", "--inputs", xs, "--targets", ys, "--out", o]),
        "--inputs applies only to the file task",
    );
    assert!(!out.exists(), "nothing written");
}
