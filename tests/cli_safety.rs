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
