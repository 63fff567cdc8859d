//! Running the built `ccdni` binary in tests: shared by tests/cli.rs and tests/cli_safety.rs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn ccdni(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ccdni"))
        .args(args)
        .env_remove("CCDNI_DATA_DIR")
        .output()
        .expect("run ccdni")
}

pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ccdni-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A quick reach run: 2 epochs of 4 batches, small cerebellum and test set.
pub const QUICK: &[&str] = &[
    "--epochs",
    "2",
    "--granule",
    "40",
    "--set",
    "reach.train_samples=200",
    "--set",
    "reach.test_samples=100",
];

pub fn train(out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["train", "--out", out.to_str().unwrap()];
    args.extend_from_slice(QUICK);
    args.extend_from_slice(extra);
    ccdni(&args)
}

pub fn fails_with(out: Output, needle: &str) {
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
