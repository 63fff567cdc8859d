"""Shared by the tests: the repository, the command-line binary to compare with, a scratch
folder removed after each test, and the tiny settings every training test uses."""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: A quick reach run (as tests/common/cli.rs's QUICK): 2 epochs of 4 batches.
QUICK = {
    "epochs": 2,
    "cerebellum.granule": 40,
    "reach.train_samples": 200,
    "reach.test_samples": 100,
}
#: The same as the command line's flags.
QUICK_ARGS = [
    "--epochs", "2", "--granule", "40",
    "--set", "reach.train_samples=200", "--set", "reach.test_samples=100",
]


@pytest.fixture(scope="session")
def ccdni_bin() -> str:
    """The `ccdni` binary: $CCDNI_BIN, else the release build of this checkout (built if it is
    not there: `cargo test --release` builds it)."""
    given = os.environ.get("CCDNI_BIN")
    if given:
        return given
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    exe = target / "release" / "ccdni"
    if not exe.exists():
        subprocess.run(
            ["cargo", "build", "--release", "--bin", "ccdni"], cwd=ROOT, check=True
        )
    return str(exe)


@pytest.fixture
def scratch():
    """A fresh folder, removed with everything in it when the test ends."""
    d = tempfile.mkdtemp(prefix="ccdni-py-")
    try:
        yield Path(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def cli(exe: str, *args: str, cwd=None) -> subprocess.CompletedProcess:
    """Runs the binary; fails the test, showing its stderr, when it fails."""
    env = {k: v for k, v in os.environ.items() if k != "CCDNI_DATA_DIR"}
    p = subprocess.run([exe, *args], capture_output=True, text=True, cwd=cwd, env=env)
    assert p.returncode == 0, p.stderr
    return p


def without_seconds(path: Path):
    """metrics.csv's lines without the train_seconds column (the one thing a run may not repeat)."""
    lines = path.read_text().splitlines()
    col = lines[0].split(",").index("train_seconds")
    return [",".join(c for j, c in enumerate(l.split(",")) if j != col) for l in lines]
