//! A job spread over shards (as a Slurm array would run it), one of them stopped by SIGTERM
//! and started again, then aggregated, equals the job run on one machine; bad shard specs,
//! unfinished and mismatched runs are refused; `ccdni slurm` writes the array scripts.

mod common;

use common::cli::{ccdni, fails_with, signal, wait_until};
use std::path::Path;
use std::process::{Command, Stdio};

const SWEEP: &[&str] = &[
    "sweep",
    "--task",
    "reach",
    "--horizons",
    "1,5",
    "--seeds",
    "2",
    "--epochs",
    "3",
    "--granule",
    "40",
    "--set",
    "reach.train_samples=400",
    "--set",
    "reach.test_samples=50",
];

fn sweep(out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = SWEEP.to_vec();
    args.extend_from_slice(&["--out", out.to_str().unwrap()]);
    args.extend_from_slice(extra);
    ccdni(&args)
}

fn ok(out: std::process::Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn without_seconds(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.contains("seconds"))
        .map(|l| l.rsplit_once(',').map_or(l, |(head, _)| head))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_sharded_sweep_aggregated_equals_the_sweep_on_one_machine() {
    let root = tempfile::tempdir().unwrap();
    let single = root.path().join("single");
    ok(sweep(&single, &[]));

    let shared = root.path().join("shared");
    // Shard 0 as a Slurm array task (its command, kept for aggregation, says `--shard slurm`).
    let mut args = SWEEP.to_vec();
    args.extend_from_slice(&["--out", shared.to_str().unwrap(), "--shard", "slurm"]);
    ok(Command::new(env!("CARGO_BIN_EXE_ccdni"))
        .args(&args)
        .env("SLURM_ARRAY_TASK_ID", "0")
        .env("SLURM_ARRAY_TASK_COUNT", "3")
        .output()
        .unwrap());
    // Shard 1 is stopped by SIGTERM while it trains (as Slurm preempts), then started again.
    let mut args = SWEEP.to_vec();
    args.extend_from_slice(&["--out", shared.to_str().unwrap(), "--shard", "1/3"]);
    let child = Command::new(env!("CARGO_BIN_EXE_ccdni"))
        .args(&args)
        .env("CCDNI_TEST_WRITE_PAUSE_MS", "200")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let runs = shared.join("runs");
    wait_until("shard 1 wrote no checkpoint", || {
        std::fs::read_dir(&runs).unwrap().any(|e| {
            std::fs::read_dir(e.unwrap().path())
                .unwrap()
                .any(|f| f.unwrap().file_name().to_string_lossy().contains(".tmp-"))
        })
    });
    signal(&child, "TERM");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("start this shard again"), "{stderr}");

    // Aggregating now names the runs that are missing, and writes nothing.
    let before = listing(&shared);
    fails_with(
        ccdni(&["aggregate", shared.to_str().unwrap()]),
        "have not finished",
    );
    fails_with(
        ccdni(&["aggregate", shared.to_str().unwrap()]),
        "ccRNN-K=1-seed0 (not started)",
    );
    assert_eq!(listing(&shared), before);

    // Shard 1 again, as `ccdni slurm`'s scripts start it: the job stored in the folder.
    ok(ccdni(&[
        "resume",
        shared.to_str().unwrap(),
        "--shard",
        "1/3",
    ]));
    ok(sweep(&shared, &["--shard", "2/3"]));
    ok(ccdni(&["aggregate", shared.to_str().unwrap()]));
    for file in ["metrics.csv", "summary.json", "sweep.json"] {
        assert_eq!(
            without_seconds(&single.join(file)),
            without_seconds(&shared.join(file)),
            "{file}"
        );
    }
    let runs = listing(&single.join("runs"));
    assert_eq!(runs.len(), 8);
    assert_eq!(runs, listing(&shared.join("runs")));
    for r in &runs {
        let read =
            |d: &Path| std::fs::read(d.join("runs").join(r).join("model.safetensors")).unwrap();
        assert!(read(&single) == read(&shared), "{r}: the models differ");
    }
}

#[test]
fn a_partly_sharded_job_is_finished_by_resume_on_one_machine() {
    let root = tempfile::tempdir().unwrap();
    let (single, shared) = (root.path().join("single"), root.path().join("shared"));
    ok(sweep(&single, &[]));
    ok(sweep(&shared, &["--shard", "0/3"]));
    fails_with(
        ccdni(&["aggregate", shared.to_str().unwrap()]),
        "have not finished",
    );
    ok(ccdni(&["resume", shared.to_str().unwrap()]));
    for file in ["metrics.csv", "summary.json", "sweep.json"] {
        assert_eq!(
            without_seconds(&single.join(file)),
            without_seconds(&shared.join(file)),
            "{file}"
        );
    }
    // A finished job is reported again as it is.
    let summary = std::fs::read_to_string(shared.join("summary.json")).unwrap();
    ok(ccdni(&["aggregate", shared.to_str().unwrap()]));
    assert_eq!(
        std::fs::read_to_string(shared.join("summary.json")).unwrap(),
        summary
    );
}

#[test]
fn bad_shards_and_mismatched_runs_are_refused() {
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("shared");
    fails_with(
        sweep(&out, &["--shard", "3/2"]),
        "shard 3 of 2 does not exist",
    );
    fails_with(
        sweep(&out, &["--shard", "0/0"]),
        "shard 0 of 0 does not exist",
    );
    fails_with(sweep(&out, &["--shard", "x"]), "expected I/N");
    let mut args = SWEEP.to_vec();
    args.extend_from_slice(&["--shard", "0/2"]);
    fails_with(ccdni(&args), "--shard needs --out");
    fails_with(
        ccdni(&["sweep", "--shard", "slurm", "--out", out.to_str().unwrap()]),
        "SLURM_ARRAY_TASK_ID is not set",
    );
    assert!(!out.exists(), "nothing is written");

    ok(sweep(&out, &["--shard", "0/2"]));
    let before = listing(&out.join("runs"));
    fails_with(
        sweep(&out, &["--shard", "1/2", "--set", "epochs=4"]),
        "holds another job",
    );
    fails_with(
        sweep(&out, &["--shard", "1/2", "--set", "epochs=4"]),
        "epochs: 3 -> 4",
    );
    assert_eq!(
        listing(&out.join("runs")),
        before,
        "the refused shard wrote nothing"
    );
    ok(sweep(
        &out,
        &["--shard", "1/2", "--set", "epochs=4", "--force"],
    ));
    fails_with(
        ccdni(&["aggregate", out.to_str().unwrap()]),
        "were trained with other settings than the job's",
    );
    fails_with(
        ccdni(&["aggregate", root.path().to_str().unwrap()]),
        "is not a ccdni job folder",
    );
}

#[test]
fn slurm_writes_the_array_and_aggregate_scripts() {
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("shared");
    let dir = out.to_str().unwrap();
    let mut args = vec!["slurm", "--out", dir, "--tasks", "3", "--cpus", "2", "--"];
    args.extend_from_slice(SWEEP);
    ok(ccdni(&args));
    let array = std::fs::read_to_string(out.join("slurm/array.sbatch")).unwrap();
    assert!(array.contains("#SBATCH --array=0-2\n"), "{array}");
    assert!(array.contains("--shard slurm --threads 2"), "{array}");
    let aggregate = std::fs::read_to_string(out.join("slurm/aggregate.sbatch")).unwrap();
    assert!(aggregate.contains("aggregate"), "{aggregate}");
    assert!(out.join("slurm/submit.sh").exists());
    fails_with(ccdni(&args), "already holds Slurm scripts");

    let other = root.path().join("other");
    let o = other.to_str().unwrap();
    fails_with(ccdni(&["slurm", "--out", o, "--", "train"]), "single run");
    fails_with(
        ccdni(&["slurm", "--out", o, "--", "sweep", "--out", "x"]),
        "give the folder to `ccdni slurm --out`",
    );
    fails_with(
        ccdni(&["slurm", "--out", o, "--tasks", "99", "--", "reach"]),
        "between 1 and 12 array tasks",
    );
    fails_with(
        ccdni(&["slurm", "--out", o, "--", "sweep", "--bogus"]),
        "does not parse",
    );
    assert!(!other.exists(), "nothing is written");
}

/// `<pid>@<host>` of this (live) test process, as a lock file names its holder.
fn live_holder() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    format!("{}@{}", std::process::id(), host.trim())
}

#[test]
fn shards_and_whole_jobs_do_not_run_beside_each_other() {
    let root = tempfile::tempdir().unwrap();
    let shared = root.path().join("shared");
    ok(sweep(&shared, &["--shard", "0/2"]));
    let dir = shared.to_str().unwrap();
    // A live process holds the whole job (a resume, an aggregation): no shard starts beside it.
    std::fs::write(shared.join(".ccdni.lock"), live_holder()).unwrap();
    let before = listing(&shared.join("runs"));
    fails_with(
        sweep(&shared, &["--shard", "1/2"]),
        "a shard cannot run beside it",
    );
    fails_with(
        ccdni(&["resume", dir, "--shard", "1/2"]),
        "a shard cannot run beside it",
    );
    assert_eq!(listing(&shared.join("runs")), before, "nothing was trained");
    std::fs::remove_file(shared.join(".ccdni.lock")).unwrap();
    // A live process trains a run (another shard): a whole job refuses before training any.
    let run = shared.join("runs").join(&before[0]);
    std::fs::write(run.join(".ccdni.lock"), live_holder()).unwrap();
    fails_with(ccdni(&["resume", dir]), "is being trained by process");
    assert_eq!(listing(&shared.join("runs")), before, "nothing was trained");
    std::fs::remove_file(run.join(".ccdni.lock")).unwrap();
    ok(ccdni(&["resume", dir]));
}
