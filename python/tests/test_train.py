"""Training from Python is training from the command line: the same settings give the same
numbers and the same model, bit for bit; a run stopped by Ctrl-C goes on to the same end."""

import _thread
import signal
import threading
import time

import numpy as np
import pytest

import ccdni
from conftest import QUICK, QUICK_ARGS, cli, without_seconds


def test_a_python_run_equals_the_command_lines(ccdni_bin, scratch):
    run = ccdni.train(ccdni.Config(QUICK), seed=3, out=scratch / "py", progress=False)
    cli(ccdni_bin, "train", "--out", str(scratch / "cli"), *QUICK_ARGS, "--seed", "3")
    theirs = scratch / "cli" / "runs" / run.dir.name
    assert without_seconds(run.metrics_path) == without_seconds(theirs / "metrics.csv")
    assert run.model_path.read_bytes() == (theirs / "model.safetensors").read_bytes()
    # The metrics as arrays: one row per epoch, numbers as numbers.
    m = run.metrics
    assert list(m["epoch"]) == [1, 2]
    assert m["validation_mse"].dtype == np.float64 and np.isfinite(m["validation_mse"]).all()
    assert list(m["model"]) == ["ccRNN", "ccRNN"]
    assert run.label == "ccRNN" and run.seed == 3
    assert run.model.seed == 3


def test_the_config_takes_short_names_dotted_keys_and_a_file(scratch):
    f = scratch / "c.toml"
    f.write_text("epochs = 7\n[train]\nhorizon = 4\n")
    c = ccdni.Config({"reach.input_noise": 0.05}, file=f, horizon=2, cortex__cell="tanh")
    d = c.to_dict()
    assert d["epochs"] == 7 and d["train"]["horizon"] == 2
    assert d["reach"]["input_noise"] == 0.05 and d["cortex"]["cell"] == "tanh"
    assert c.replace(epochs=3).to_dict()["epochs"] == 3
    assert "[train]" in ccdni.defaults("reach")


def test_ctrl_c_stops_at_a_batch_with_checkpoints_and_resume_ends_as_an_unstopped_run(scratch):
    # A process started in the background by a shell without job control inherits SIGINT
    # ignored, and then Python has no handler for interrupt_main to call: install Python's own.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    settings = dict(QUICK, epochs=4, **{"reach.train_samples": 1600})
    whole = ccdni.train(ccdni.Config(settings), out=scratch / "whole", progress=False)
    out = scratch / "stopped"
    metrics = out / "runs" / whole.dir.name / "metrics.csv"

    def interrupt_after_the_first_epoch():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if metrics.exists() and len(metrics.read_text().splitlines()) >= 2:
                _thread.interrupt_main()
                return
            time.sleep(0.005)

    t = threading.Thread(target=interrupt_after_the_first_epoch)
    t.start()
    try:
        with pytest.raises(KeyboardInterrupt, match="resume"):
            ccdni.train(ccdni.Config(settings), out=out, progress=False)
    finally:
        t.join()
        signal.signal(signal.SIGINT, previous)
    run_dir = out / "runs" / whole.dir.name
    assert (run_dir / "checkpoint.safetensors").exists()
    assert not (run_dir / "model.safetensors").exists(), "it stopped before its end"
    done = len(metrics.read_text().splitlines()) - 1
    assert 1 <= done < 4
    resumed = ccdni.resume(out, progress=False)
    assert isinstance(resumed, ccdni.Run)
    assert without_seconds(resumed.metrics_path) == without_seconds(whole.metrics_path)
    assert resumed.model_path.read_bytes() == whole.model_path.read_bytes()


def test_the_probe_gives_the_measures_over_learning(scratch):
    run = ccdni.train(ccdni.Config(QUICK), probe=8, out=scratch / "p", progress=False)
    learning = run.learning
    assert sorted(set(learning["epoch"])) == [1, 2]
    assert set(learning["model"]) == {"ccRNN"}


def test_an_experiment_file_runs_as_ccdni_run_runs_it(ccdni_bin, scratch):
    f = scratch / "two.toml"
    f.write_text(
        'name = "two"\nseeds = [0]\n[settings]\ntask = "reach"\nepochs = 2\n'
        "[settings.cerebellum]\ngranule = 40\n"
        "[settings.reach]\ntrain_samples = 200\ntest_samples = 100\n"
        '[[variants]]\nlabel = "cRNN"\nmodel = "crnn"\n'
        '[[variants]]\nlabel = "ccRNN"\nmodel = "ccrnn"\n'
    )
    job = ccdni.run_experiment(f, out=scratch / "py", threads=1, progress=False)
    cli(ccdni_bin, "run", str(f), "--out", str(scratch / "cli"), "--threads", "1")
    assert [r.label for r in job.runs] == ["cRNN", "ccRNN"]
    for r in job.runs:
        theirs = scratch / "cli" / "runs" / r.dir.name
        assert without_seconds(r.metrics_path) == without_seconds(theirs / "metrics.csv")
    assert "cRNN" in job.summary and set(job.metrics["model"]) == {"cRNN", "ccRNN"}


def test_the_progress_bar_shows_the_batches_and_progress_false_shows_nothing(scratch, capsys):
    ccdni.train(ccdni.Config(QUICK), out=scratch / "a", progress=False)
    assert capsys.readouterr().err == ""
    ccdni.train(ccdni.Config(QUICK), out=scratch / "b")
    err = capsys.readouterr().err
    assert "8/8 batches" in err or "8/8" in err, err
    assert "ccRNN seed 0: test mse" in err, "the run's final measure"


def test_an_error_in_the_progress_callback_stops_the_run_with_its_checkpoint(scratch, monkeypatch):
    def boom(self, done, total):
        if done >= 1:
            raise RuntimeError("the bar broke")

    monkeypatch.setattr(ccdni.Progress, "__call__", boom)
    with pytest.raises(RuntimeError, match="the bar broke"):
        ccdni.train(ccdni.Config(QUICK), out=scratch / "r")
    assert (scratch / "r" / "runs" / "ccRNN-seed0" / "checkpoint.safetensors").exists()
