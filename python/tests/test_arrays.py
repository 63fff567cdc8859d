"""NumPy arrays in and out: a run of the file task on arrays (checked as the file task checks
its files), the model's forward pass against `ccdni eval`, the feedback at window boundaries,
and every bad array refused with a ValueError naming it."""

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

import ccdni
from conftest import cli

SMALL = {"epochs": 2, "batch_size": 10, "hidden": 16, "granule": 20, "horizon": 5}


def task(n=40, steps=10, seed=0):
    """A regression task: the running sum of 3 noisy inputs, read out on 2 outputs."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, steps, 3)).astype(np.float32)
    s = np.cumsum(x, axis=1) / np.sqrt(np.arange(1, steps + 1))[None, :, None]
    y = np.ascontiguousarray(s[:, :, :2]).astype(np.float32)
    return x, y


@pytest.fixture(scope="module")
def trained():
    folder = Path(tempfile.mkdtemp(prefix="ccdni-py-"))
    try:
        x, y = task()
        tx, ty = task(n=10, seed=1)
        run = ccdni.train(inputs=x, targets=y, test=(tx, ty), out=folder / "run", progress=False, **SMALL)
        yield run, (x, y), (tx, ty)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_the_arrays_are_written_into_the_run_and_read_back_as_given(trained):
    run, (x, y), (tx, ty) = trained
    data = run.job_dir / "data"
    for name, a in [("inputs", x), ("targets", y), ("test_inputs", tx), ("test_targets", ty)]:
        back = np.load(data / f"{name}.npy")
        assert back.dtype == a.dtype and np.array_equal(back, a), name
    assert 'task = "file"' in run.config


def test_forward_reproduces_ccdni_evals_numbers(ccdni_bin, trained, scratch):
    run, _, (tx, ty) = trained
    cli(ccdni_bin, "eval", str(run.model_path), "--out", str(scratch / "eval"))
    theirs = json.loads((scratch / "eval" / "metrics.json").read_text())["test"]
    out = run.model.forward(tx)
    assert out["outputs"].shape == (10, 10, 2) and out["outputs"].dtype == np.float32
    assert out["states"].shape == (10, 10, 16)
    mse = float(((out["outputs"].astype(np.float64) - ty) ** 2).sum(-1).mean())
    assert mse == pytest.approx(theirs["mse"], rel=1e-6)
    ours = run.model.evaluate(out=scratch / "eval-py")
    assert ours["test"] == theirs
    # The last epoch's test measure in metrics.csv is the same number.
    assert run.metrics["test_mse"][-1] == pytest.approx(theirs["mse"], rel=1e-12)


def test_forward_is_a_function_of_each_sequence_alone(trained):
    run, _, (tx, _) = trained
    whole = run.model.forward(tx)["outputs"]
    first = run.model.forward(np.ascontiguousarray(tx[:3]))["outputs"]
    np.testing.assert_allclose(first, whole[:3], rtol=1e-5, atol=1e-6)


def test_feedback_gives_the_window_boundaries(trained):
    run, _, (tx, ty) = trained
    fb = run.model.feedback(tx, ty, horizon=5)
    names = set(fb) - {"descriptions"}
    assert {"state", "granule_0", "prediction", "teaching_signal", "true_feedback"} <= names
    windows = 10 // 5
    assert fb["true_feedback"].shape[:2] == (windows, 10)
    assert fb["state"].shape == (windows, 10, 32), "LSTM state [h; c]"
    assert all(np.isfinite(fb[k]).all() for k in names)
    assert set(fb["descriptions"]) == names
    # A shorter horizon has more window boundaries.
    assert run.model.feedback(tx, ty, horizon=2)["true_feedback"].shape[0] == 5


def test_forward_gives_the_cerebellum_at_every_step_as_feedback_at_the_boundaries(trained):
    run, _, (tx, ty) = trained
    out = run.model.forward(tx)
    fb = run.model.feedback(tx, ty, horizon=5)
    assert out["granule_0"].shape == (10, 10, 20)
    assert out["prediction"].shape == (10, 10, 32), "an LSTM's state [h; c]"
    # The window starting at step 5 reads the state after 5 steps: forward's step index 4.
    for name in ["granule_0", "prediction"]:
        np.testing.assert_allclose(out[name][:, 4], fb[name][1], rtol=1e-5, atol=1e-7, err_msg=name)
    assert not np.array_equal(out["granule_0"][:, 4], out["granule_0"][:, 8]), "the state matters"


BAD_TRAINING_ARRAYS = [
    ("float16", lambda x, y: (x.astype(np.float16), y), "float16|f2|dtype"),
    ("a string array", lambda x, y: (x.astype(str), y), "dtype"),
    ("2-D inputs", lambda x, y: (x[:, :, 0].copy(), y), "N × L × I"),
    ("N differs", lambda x, y: (x[:30].copy(), y), "N"),
    ("a NaN", lambda x, y: (np.where(np.arange(x.size).reshape(x.shape) == 7, np.nan, x).astype(np.float32), y), "NaN"),
    ("non-contiguous", lambda x, y: (x[:, ::2], y), "contiguous"),
    ("a list", lambda x, y: (x.tolist(), y), "NumPy array"),
]


@pytest.mark.parametrize("what,bad,needle", BAD_TRAINING_ARRAYS, ids=[b[0] for b in BAD_TRAINING_ARRAYS])
def test_a_bad_training_array_is_a_value_error_naming_it(what, bad, needle, scratch):
    x, y = task()
    bx, by = bad(x, y)
    with pytest.raises(ValueError, match=needle):
        ccdni.train(inputs=bx, targets=by, out=scratch / "r", progress=False, **SMALL)
    assert not (scratch / "r").exists(), "nothing written"


def test_bad_masks_and_labels_are_value_errors(scratch):
    x, y = task()
    with pytest.raises(ValueError, match="mask"):
        ccdni.train(inputs=x, targets=y, mask=np.full(x.shape[:2], 2, np.int8), progress=False, **SMALL)
    labels = np.full(x.shape[:2], -1, np.int64)
    with pytest.raises(ValueError):
        ccdni.train(inputs=x, targets=labels, out=scratch / "l", progress=False, **SMALL)
    with pytest.raises(ValueError, match="task is reach"):
        ccdni.train(task="reach", inputs=x, targets=y, progress=False)


BAD_FORWARD_INPUTS = [
    ("float64", lambda x: x.astype(np.float64), "float32"),
    ("2-D", lambda x: x[0].copy(), "N × L × I"),
    ("other I", lambda x: np.ascontiguousarray(x[:, :, :2]), "inputs"),
    ("a NaN", lambda x: np.where(np.arange(x.size).reshape(x.shape) == 4, np.nan, x).astype(np.float32), "NaN"),
    ("an infinity", lambda x: np.where(np.arange(x.size).reshape(x.shape) == 4, np.inf, x).astype(np.float32), "inf"),
    ("non-contiguous", lambda x: x[:, ::2], "contiguous"),
    ("empty", lambda x: x[:0].copy(), "at least 1"),
]


@pytest.mark.parametrize("what,bad,needle", BAD_FORWARD_INPUTS, ids=[b[0] for b in BAD_FORWARD_INPUTS])
def test_a_bad_forward_input_is_a_value_error(what, bad, needle, trained):
    run, _, (tx, _) = trained
    with pytest.raises(ValueError, match=needle):
        run.model.forward(bad(tx))
