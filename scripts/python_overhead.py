"""The Python package's overhead against the command line, for one training run: the same
settings trained by `ccdni train` (a process) and by `ccdni.train` (a call in this process),
interleaved, REPS times each. Prints the wall time of each and the training loop's own time
(metrics.csv's train_seconds, summed), with mean ± SEM.

    python3 scripts/python_overhead.py [REPS] [EPOCHS]     # needs target/release/ccdni
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import ccdni

ROOT = Path(__file__).resolve().parents[1]
EXE = os.environ.get("CCDNI_BIN", str(ROOT / "target" / "release" / "ccdni"))
REPS = int(sys.argv[1]) if len(sys.argv) > 1 else 5
EPOCHS = int(sys.argv[2]) if len(sys.argv) > 2 else 10


def loop_seconds(run_dir: Path) -> float:
    return float(sum(ccdni.read_csv(run_dir / "metrics.csv")["train_seconds"]))


def mean_sem(xs):
    m = statistics.mean(xs)
    return f"{m:.3f} ± {statistics.stdev(xs) / len(xs) ** 0.5:.3f} s"


def main() -> None:
    scratch = Path(tempfile.mkdtemp(prefix="ccdni-overhead-"))
    wall = {"cli": [], "python": []}
    loop = {"cli": [], "python": []}
    try:
        for k in range(REPS):
            out = scratch / f"cli{k}"
            t = time.perf_counter()
            subprocess.run(
                [EXE, "train", "--epochs", str(EPOCHS), "--out", str(out)],
                check=True, capture_output=True,
            )
            wall["cli"].append(time.perf_counter() - t)
            loop["cli"].append(loop_seconds(out / "runs" / "ccRNN-seed0"))
            t = time.perf_counter()
            run = ccdni.train(epochs=EPOCHS, out=scratch / f"py{k}", progress=False)
            wall["python"].append(time.perf_counter() - t)
            loop["python"].append(loop_seconds(run.dir))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"ccdni train --epochs {EPOCHS} (reach, ccRNN, defaults), {REPS} interleaved pairs:")
    for k in ("cli", "python"):
        print(f"  {k:7s} wall {mean_sem(wall[k])}, training loop {mean_sem(loop[k])}")
    d = [p - c for p, c in zip(wall["python"], wall["cli"])]
    t = statistics.mean(d) / (statistics.stdev(d) / len(d) ** 0.5)
    share = 100 * statistics.mean(d) / statistics.mean(wall["cli"])
    print(f"  python - cli, wall: {mean_sem(d)} ({share:+.1f} %, paired t = {t:.2f}, {len(d) - 1} df)")


if __name__ == "__main__":
    main()
