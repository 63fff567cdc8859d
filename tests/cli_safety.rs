//! Runs that cannot hurt each other or themselves: inputs that used to panic are refused by
//! name, runs too big for memory are refused before anything is written, nothing is allocated
//! per epoch up front, and two runs never share a folder.

mod common;

use common::cli::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[test]
fn inputs_that_used_to_panic_are_refused_by_name() {
    let dir = scratch("panics");
    let file = scratch("panics-file.toml");
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

/// Starts a quick run with `extra`, waits until its first epoch is in its metrics.csv (the run
/// folder's, written as epochs finish), then stops it.
fn first_epoch_written(dir: &Path, run: &str, extra: &[&str]) -> String {
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
        let metrics = dir.join("runs").join(run).join("metrics.csv");
        let csv = std::fs::read_to_string(metrics).unwrap_or_default();
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
    let extra = ["--model", "crnn", "--set", "epochs=1000000000"];
    let csv = first_epoch_written(&dir, "cRNN-seed0", &extra);
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
        .map(|s| spawn(s, Some(&*shared), &cwd))
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
            && (err.contains("claimed by another ccdni process")
                || err.contains("already holds results")),
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
    fails_with(train(&claimed, &[]), "is claimed by another ccdni process");
    assert_eq!(
        std::fs::read_dir(&claimed).unwrap().count(),
        1,
        "nothing is written into a claimed folder"
    );
}

/// `ccdni` with `args`, its standard output sent to `stdout`.
fn ccdni_to(args: &[&str], stdout: std::fs::File) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ccdni"))
        .args(args)
        .stdout(stdout)
        .output()
        .expect("run ccdni")
}

fn not_a_crash(out: &Output, what: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !matches!(out.status.code(), Some(101 | 134) | None),
        "{what} crashed ({:?}): {err}",
        out.status
    );
    assert!(!err.contains("panicked"), "{what}: {err}");
}

#[test]
fn sizes_beyond_memory_are_refused_before_anything_is_written() {
    let dir = scratch("sizes");
    for setting in [
        "reach.test_samples=1000000000000",
        "reach.validation_samples=1000000000000",
        "reach.steps=1000000000000",
    ] {
        let out = train(&dir, &["--set", setting]);
        not_a_crash(&out, setting);
        fails_with(out, "GiB for the data");
        assert!(!dir.exists(), "{setting}: nothing is written");
    }
    for setting in [
        "captions.scenes=1000000000000",
        "captions.feature_size=1000000000000",
    ] {
        let out = ccdni(&[
            "train",
            "--task",
            "captions",
            "--set",
            setting,
            "--out",
            dir.to_str().unwrap(),
        ]);
        not_a_crash(&out, setting);
        fails_with(out, "GiB of memory");
        assert!(!dir.exists(), "{setting}: nothing is written");
    }
    // A caption vocabulary of the special tokens alone.
    let out = ccdni(&[
        "train",
        "--task",
        "captions",
        "--set",
        "captions.min_count=1000000",
        "--out",
        dir.to_str().unwrap(),
    ]);
    fails_with(out, "leaves no word in the vocabulary");
    assert!(!dir.exists());
    // The same sizes through `ccdni eval --set`.
    let run = scratch("sizes-run");
    assert!(train(&run, &[]).status.success());
    let model = run.join("runs/ccRNN-seed0/model.safetensors");
    let eval_out = scratch("sizes-eval");
    let out = ccdni(&[
        "eval",
        model.to_str().unwrap(),
        "--set",
        "reach.test_samples=1000000000000",
        "--out",
        eval_out.to_str().unwrap(),
    ]);
    not_a_crash(&out, "eval --set reach.test_samples");
    fails_with(out, "GiB for the data");
    assert!(!eval_out.exists());
}

#[test]
fn endless_or_huge_inputs_are_read_no_further_than_a_cap() {
    let dir = scratch("endless");
    let out = ccdni(&[
        "train",
        "--config",
        "/dev/zero",
        "--out",
        dir.to_str().unwrap(),
    ]);
    not_a_crash(&out, "--config /dev/zero");
    fails_with(out, "more than 16 MiB");
    let out = ccdni(&["run", "/dev/zero", "--out", dir.to_str().unwrap()]);
    not_a_crash(&out, "run /dev/zero");
    fails_with(out, "/dev/zero");
    let refs = scratch("refs.json");
    std::fs::write(&refs, r#"{"images": [], "annotations": []}"#).unwrap();
    let out = ccdni(&[
        "score",
        "--refs",
        refs.to_str().unwrap(),
        "--results",
        "/dev/zero",
    ]);
    not_a_crash(&out, "score --results /dev/zero");
    fails_with(out, "more than 1024 MiB");
    assert!(!dir.exists());
}

#[test]
fn a_full_standard_output_or_error_is_an_error_not_a_panic() {
    let full = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap()
    };
    let out = ccdni_to(&["config"], full());
    not_a_crash(&out, "config >/dev/full");
    fails_with(out, "cannot write to standard output");
    // Training: the models are saved, then the table cannot be printed.
    let dir = scratch("full-out");
    let mut args = vec!["train", "--out", dir.to_str().unwrap()];
    args.extend_from_slice(QUICK);
    let out = ccdni_to(&args, full());
    not_a_crash(&out, "train >/dev/full");
    fails_with(out, "cannot write to standard output");
    assert!(dir.join("runs/ccRNN-seed0/model.safetensors").exists());
    assert!(dir.join("summary.json").exists());
    // A full standard error (a full disk under a log) does not stop a job.
    let dir = scratch("full-err");
    let mut args = vec!["train", "--out", dir.to_str().unwrap()];
    args.extend_from_slice(QUICK);
    let out = Command::new(env!("CARGO_BIN_EXE_ccdni"))
        .args(&args)
        .stderr(full())
        .output()
        .unwrap();
    assert!(out.status.success(), "{:?}", out.status);
    assert!(dir.join("summary.json").exists());
}

#[test]
fn negative_numbers_are_values_and_bad_ones_name_their_flag() {
    let dir = scratch("negative");
    // A negative λ is a value (here refused later, by the epochs, before anything runs).
    let out = train(&dir, &["--lambda", "-1", "--set", "epochs=0"]);
    fails_with(out, "`epochs` must be at least 1");
    for (flag, needle) in [
        ("--seed", "--seed"),
        ("--epochs", "--epochs"),
        ("--hidden", "--hidden"),
    ] {
        let out = ccdni(&["train", flag, "-1", "--out", dir.to_str().unwrap()]);
        not_a_crash(&out, flag);
        fails_with(out, needle);
    }
    for seconds in ["inf", "NaN", "-1", "0"] {
        let out = ccdni(&["bench", "--seconds", seconds]);
        not_a_crash(&out, seconds);
        fails_with(out, "give a positive number of seconds");
    }
    // A folder --mnist-epoch cannot read is refused before any benchmark runs.
    let missing = dir.join("no-mnist");
    let out = ccdni(&["bench", "--mnist-epoch", missing.to_str().unwrap()]);
    not_a_crash(&out, "--mnist-epoch");
    assert!(out.stdout.is_empty(), "no benchmark ran");
    fails_with(out, "--mnist-epoch");
    assert!(!dir.exists());
}

#[test]
fn slurm_options_and_jobs_are_checked_before_any_script_is_written() {
    let out_dir = scratch("slurm");
    let o = out_dir.to_str().unwrap();
    for (options, needle) in [
        (&["--time", "abc"][..], "is not a Slurm time limit"),
        (&["--time=-1"][..], "is not a Slurm time limit"),
        (&["--mem", "4X"][..], "is not a Slurm memory size"),
        (&["--mem=-1"][..], "is not a Slurm memory size"),
    ] {
        let mut args = vec!["slurm", "--out", o];
        args.extend_from_slice(options);
        args.extend_from_slice(&["--", "reach"]);
        fails_with(ccdni(&args), needle);
    }
    fails_with(
        ccdni(&["slurm", "--out", o, "--", "reach", "--hidden", "100000000"]),
        "GiB of memory",
    );
    assert!(!out_dir.exists(), "nothing is written");
}
