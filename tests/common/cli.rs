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

/// A path `name` that does not exist yet, inside a fresh temporary folder that is removed, with
/// everything in it, when the `Scratch` is dropped (at the end of the test, passed or failed).
pub struct Scratch {
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.path
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}

pub fn scratch(name: &str) -> Scratch {
    let dir = tempfile::Builder::new()
        .prefix("ccdni-cli-")
        .tempdir()
        .expect("a temporary folder");
    Scratch {
        path: dir.path().join(name),
        _dir: dir,
    }
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

/// Tiny MNIST-shaped IDX files (gzipped) in a fresh folder: 120 training and 30 test images.
pub fn tiny_mnist(dir: &Path) {
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

/// Waits (at most 60 s) until `ready` holds, failing with `what` otherwise.
pub fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !ready() {
        assert!(std::time::Instant::now() < deadline, "{what}");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Sends `signal` (`TERM`, `INT`, ...) to the process `child`.
pub fn signal(child: &std::process::Child, signal: &str) {
    let sent = Command::new("kill")
        .args([format!("-{signal}"), child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(sent.success(), "kill -{signal} {}", child.id());
}
