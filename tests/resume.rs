//! Runs that survive: an experiment killed at several points (SIGKILL, mid-epoch and in the
//! middle of a checkpoint write, and SIGTERM), then resumed with `ccdni resume`, finishes with
//! the results of a run never stopped: metrics.csv equal but for the timing column, the same
//! summary, and the same final models bit for bit.

mod common;

use common::cli::{ccdni, fails_with, signal, wait_until};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A reach experiment of 6 runs (cRNN, ccRNN, BPTT × 2 seeds) on 2 threads, about a second.
const JOB: &[&str] = &[
    "reach",
    "--seeds",
    "2",
    "--epochs",
    "4",
    "--threads",
    "2",
    "--granule",
    "60",
    "--set",
    "reach.train_samples=3000",
    "--set",
    "reach.test_samples=100",
];

fn start(out: &Path, pause_ms: u64) -> Child {
    Command::new(env!("CARGO_BIN_EXE_ccdni"))
        .args(JOB)
        .args(["--out", out.to_str().unwrap()])
        .env("CCDNI_TEST_WRITE_PAUSE_MS", pause_ms.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ccdni")
}

fn resume(out: &Path, pause_ms: u64) -> Child {
    Command::new(env!("CARGO_BIN_EXE_ccdni"))
        .args(["resume", out.to_str().unwrap()])
        .env("CCDNI_TEST_WRITE_PAUSE_MS", pause_ms.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ccdni resume")
}

/// The files of `dir` whose names satisfy `keep`.
fn files(dir: &Path, keep: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    v.retain(|p| keep(&p.file_name().unwrap().to_string_lossy()));
    v.sort();
    v
}

/// Waits (at most 60 s) until `ready` holds while `child` runs, then kills it with SIGKILL.
fn kill_when(mut child: Child, ready: impl Fn() -> bool) {
    wait_until("the kill point never came", || {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before the kill point"
        );
        ready()
    });
    child.kill().unwrap();
    child.wait().unwrap();
}

/// The run folders of the job in `out`.
fn runs(out: &Path) -> Vec<PathBuf> {
    files(&out.join("runs"), |_| true)
}

/// The files of every run folder whose names satisfy `keep`.
fn run_files(out: &Path, keep: impl Fn(&str) -> bool + Copy) -> Vec<PathBuf> {
    runs(out).iter().flat_map(|r| files(r, keep)).collect()
}

fn checkpoints(out: &Path) -> usize {
    run_files(out, |n| n == "checkpoint.safetensors").len()
}

fn writing_checkpoint(out: &Path) -> bool {
    !run_files(out, |n| n.starts_with("checkpoint.safetensors.tmp-")).is_empty()
}

fn finish(child: Child) {
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// metrics.csv without its last column (the seconds), summary.json without its seconds, and
/// every model file's bytes.
fn results(out: &Path) -> (String, String, Vec<(String, Vec<u8>)>) {
    let csv = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    let csv: Vec<String> = csv
        .lines()
        .map(|l| l.rsplit_once(',').unwrap().0.to_string())
        .collect();
    let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
    let summary: Vec<&str> = summary.lines().filter(|l| !l.contains("seconds")).collect();
    let models = runs(out)
        .into_iter()
        .map(|r| {
            let name = r.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(r.join("model.safetensors")).unwrap())
        })
        .collect();
    (csv.join("\n"), summary.join("\n"), models)
}

fn same_results(reference: &Path, resumed: &Path, what: &str) {
    let (a, b) = (results(reference), results(resumed));
    assert_eq!(a.0, b.0, "{what}: metrics.csv differs");
    assert_eq!(a.1, b.1, "{what}: summary.json differs");
    assert_eq!(a.2.len(), 6, "{what}: six models");
    assert!(a.2 == b.2, "{what}: the final models differ");
}

#[test]
fn killed_and_resumed_runs_end_as_if_never_stopped() {
    let root = tempfile::tempdir().unwrap();
    let reference = root.path().join("reference");
    finish(start(&reference, 0));

    // SIGKILL before any checkpoint, then twice more during resumes (mid-epoch: the first and
    // the fourth checkpoint have just appeared while other runs train).
    let a = root.path().join("early");
    kill_when(start(&a, 20), || {
        !run_files(&a, |n| n == "metrics.csv").is_empty()
    });
    kill_when(resume(&a, 20), || checkpoints(&a) >= 1);
    kill_when(resume(&a, 20), || checkpoints(&a) >= 4);
    finish(resume(&a, 0));
    same_results(&reference, &a, "killed early, then twice while resuming");

    // SIGKILL in the middle of writing a checkpoint: the torn temporary file is left behind,
    // the checkpoint it would have replaced is whole.
    let b = root.path().join("mid-write");
    kill_when(start(&b, 400), || writing_checkpoint(&b));
    assert!(writing_checkpoint(&b), "a torn temporary file is left");
    finish(resume(&b, 0));
    assert!(
        !writing_checkpoint(&b),
        "the torn temporary file is removed"
    );
    same_results(&reference, &b, "killed mid-checkpoint-write");

    // SIGTERM (what Slurm sends before preemption): checkpoints, a one-line message, status 130.
    let c = root.path().join("sigterm");
    let child = start(&c, 200);
    wait_until("no checkpoint was written", || writing_checkpoint(&c));
    signal(&child, "TERM");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains(&format!("ccdni resume {}", c.display())),
        "{stderr}"
    );
    assert!(!c.join("summary.json").exists(), "the job stopped early");
    finish(resume(&c, 0));
    same_results(&reference, &c, "stopped by SIGTERM");

    // Ctrl-C twice: the second exits at once, in the middle of a checkpoint write.
    let d = root.path().join("sigint-twice");
    let child = start(&d, 1000);
    wait_until("no checkpoint was written", || writing_checkpoint(&d));
    for _ in 0..2 {
        signal(&child, "INT");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("second interrupt: exiting at once"),
        "{stderr}"
    );
    assert!(writing_checkpoint(&d), "it left its write unfinished");
    finish(resume(&d, 0));
    same_results(&reference, &d, "stopped by two Ctrl-C");
}

#[test]
fn resume_refuses_changed_settings_unless_forced_and_records_them() {
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("run");
    kill_when(start(&out, 20), || checkpoints(&out) >= 1);
    let dir = out.to_str().unwrap();
    let before = std::fs::read_to_string(out.join("config.toml")).unwrap();
    fails_with(
        ccdni(&["resume", dir, "--set", "train.lr=0.01", "--set", "epochs=5"]),
        "epochs: 4 -> 5",
    );
    fails_with(ccdni(&["resume", dir, "--set", "train.lr=0.01"]), "--force");
    assert_eq!(
        std::fs::read_to_string(out.join("config.toml")).unwrap(),
        before,
        "a refused resume changes nothing"
    );
    let ok = ccdni(&["resume", dir, "--set", "epochs=5", "--force"]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let log = std::fs::read_to_string(out.join("resume.log")).unwrap();
    assert!(log.contains("epochs: 4 -> 5"), "{log}");
    let csv = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    assert_eq!(
        csv.lines().count(),
        1 + 6 * 5,
        "every run went on to epoch 5"
    );
}

#[test]
fn resume_names_what_is_wrong_with_the_folder_and_keeps_its_files() {
    let root = tempfile::tempdir().unwrap();
    fails_with(
        ccdni(&["resume", root.path().join("none").to_str().unwrap()]),
        "is not a ccdni job folder",
    );
    fails_with(
        ccdni(&["resume", root.path().to_str().unwrap()]),
        "is not a ccdni job folder",
    );

    let out = root.path().join("run");
    kill_when(start(&out, 20), || checkpoints(&out) >= 2);
    let dir = out.to_str().unwrap();
    let victim = run_files(&out, |n| n == "checkpoint.safetensors")[0].clone();
    let good = std::fs::read(&victim).unwrap();

    // A live run holds the folder.
    let lock = out.join(".ccdni.lock");
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    std::fs::write(&lock, format!("{}@{}", std::process::id(), host.trim())).unwrap();
    fails_with(
        ccdni(&["resume", dir]),
        "is claimed by another ccdni process",
    );

    // Damaged checkpoints: truncated, garbage, another version.
    std::fs::remove_file(&lock).unwrap();
    for (bytes, needle) in [
        (
            good[..good.len() / 2].to_vec(),
            "is not a valid safetensors file",
        ),
        (
            b"not a checkpoint".to_vec(),
            "is not a valid safetensors file",
        ),
        (
            replace(
                &good,
                b"\"checkpoint_version\":\"1\"",
                b"\"checkpoint_version\":\"9\"",
            ),
            "format version 9",
        ),
    ] {
        std::fs::write(&victim, &bytes).unwrap();
        let listing = files(&out, |_| true);
        let res = ccdni(&["resume", dir]);
        fails_with(res.clone(), needle);
        fails_with(res, &victim.display().to_string());
        assert_eq!(
            files(&out, |_| true),
            listing,
            "nothing is removed or added"
        );
        assert_eq!(std::fs::read(&victim).unwrap(), bytes, "the file is kept");
    }

    // A stale lock (a process that is gone) is taken over.
    std::fs::write(&victim, &good).unwrap();
    std::fs::write(&lock, format!("4194304@{}", host.trim())).unwrap();
    let ok = ccdni(&["resume", dir]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stderr).contains("stale lock"));
    assert!(!lock.exists());
}

/// `bytes` with the first `from` replaced by `to` (of the same length).
fn replace(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .expect("the pattern is there");
    let mut v = bytes.to_vec();
    v[at..at + to.len()].copy_from_slice(to);
    v
}

/// A job folder as ccdni 0.1 wrote it on one machine: each run's checkpoint in `checkpoints/`,
/// its model in `models/`, no run folders, and the command line in experiment.toml.
fn to_first_layout(out: &Path) {
    for dir in ["checkpoints", "models"] {
        std::fs::create_dir_all(out.join(dir)).unwrap();
    }
    for run in runs(out) {
        let name = run.file_name().unwrap().to_string_lossy().into_owned();
        for (file, old) in [
            ("checkpoint.safetensors", "checkpoints"),
            ("model.safetensors", "models"),
        ] {
            if run.join(file).exists() {
                let to = out.join(old).join(format!("{name}.safetensors"));
                std::fs::rename(run.join(file), to).unwrap();
            }
        }
        std::fs::remove_dir_all(&run).unwrap();
    }
    std::fs::remove_dir(out.join("runs")).unwrap();
    let experiment = out.join("experiment.toml");
    let mut text = std::fs::read_to_string(&experiment).unwrap();
    text.push_str("\n[invocation]\nargs = [\"reach\", \"--seeds\", \"2\"]\ncwd = \"/gone\"\n");
    std::fs::write(&experiment, text).unwrap();
}

#[test]
fn a_folder_of_the_first_layout_is_resumed_to_the_same_results() {
    let root = tempfile::tempdir().unwrap();
    let reference = root.path().join("reference");
    finish(start(&reference, 0));
    let old = root.path().join("old");
    kill_when(start(&old, 20), || checkpoints(&old) >= 3);
    to_first_layout(&old);
    assert!(checkpoints(&old) == 0 && old.join("checkpoints").is_dir());
    fails_with(
        ccdni(&["resume", old.to_str().unwrap(), "--shard", "0/2"]),
        "has the layout of an older ccdni",
    );
    let out = resume(&old, 0).wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("first layout into its run folders"),
        "{stderr}"
    );
    assert!(
        !old.join("checkpoints").exists(),
        "the emptied old folders are gone"
    );
    same_results(&reference, &old, "resumed from the first layout");
}

/// A tiny caption job: cRNN, ccRNN, sparse ccRNN and BPTT, one seed, 2 epochs.
const CAPTIONS: &[&str] = &[
    "captions",
    "--seeds",
    "1",
    "--epochs",
    "2",
    "--threads",
    "2",
    "--hidden",
    "16",
    "--granule",
    "16",
    "--set",
    "captions.embedding=16",
    "--set",
    "captions.scenes=150",
];

#[test]
fn a_caption_job_stopped_by_sigterm_resumes_to_the_same_results() {
    let root = tempfile::tempdir().unwrap();
    let job = |out: &Path, pause_ms: u64| {
        Command::new(env!("CARGO_BIN_EXE_ccdni"))
            .args(CAPTIONS)
            .args(["--out", out.to_str().unwrap()])
            .env("CCDNI_TEST_WRITE_PAUSE_MS", pause_ms.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let reference = root.path().join("reference");
    finish(job(&reference, 0));
    let stopped = root.path().join("stopped");
    let child = job(&stopped, 200);
    wait_until("no checkpoint was written", || writing_checkpoint(&stopped));
    signal(&child, "TERM");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("ccdni resume"), "{stderr}");
    finish(resume(&stopped, 0));
    let (a, b) = (results(&reference), results(&stopped));
    assert_eq!(a.0, b.0, "metrics.csv");
    assert!(a.2 == b.2, "the models");
    let captions = |d: &Path| std::fs::read_to_string(d.join("captions.json")).unwrap();
    assert_eq!(captions(&reference), captions(&stopped));
    // A finished caption job resumes too: it is reported again, as it was.
    finish(resume(&reference, 0));
    assert_eq!(captions(&reference), captions(&stopped));
}

#[test]
fn a_stop_of_a_large_job_touches_only_the_runs_that_started() {
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("large");
    // 4,000 tiny runs.
    let child = Command::new(env!("CARGO_BIN_EXE_ccdni"))
        .args([
            "sweep",
            "--task",
            "reach",
            "--horizons",
            "1,2",
            "--seeds",
            "2000",
        ])
        .args([
            "--epochs",
            "1",
            "--granule",
            "10",
            "--hidden",
            "4",
            "--threads",
            "2",
        ])
        .args([
            "--set",
            "reach.train_samples=50",
            "--set",
            "reach.test_samples=10",
        ])
        .args([
            "--set",
            "reach.validation_samples=10",
            "--out",
            out.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("no run started", || runs(&out).len() >= 4);
    let asked = std::time::Instant::now();
    signal(&child, "TERM");
    let done = child.wait_with_output().unwrap();
    let stopped_in = asked.elapsed();
    assert_eq!(
        done.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(stopped_in.as_secs() < 10, "the stop took {stopped_in:?}");
    let started = runs(&out).len();
    assert!(
        started < 2_000,
        "{started} run folders: runs that never started wrote nothing"
    );
    // Every run that started finished or wrote its checkpoint, but those the stop caught
    // before their first batch (at most one per thread), which have nothing to keep.
    assert!(
        checkpoints(&out) + 2 >= started,
        "{} of {started}",
        checkpoints(&out)
    );
}
