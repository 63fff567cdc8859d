"""The README's quickstart example runs, as a user runs it."""

import subprocess
import sys

from conftest import ROOT


def test_the_quickstart_example_runs(scratch):
    p = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py"), str(scratch)],
        capture_output=True, text=True, cwd=scratch, timeout=300,
    )
    assert p.returncode == 0, p.stderr
    assert "validation MSE by epoch" in p.stdout and "true_feedback" in p.stdout
    assert (scratch / "quickstart-reach" / "runs").is_dir()
