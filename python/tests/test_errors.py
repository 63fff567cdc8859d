"""Errors are Python exceptions carrying ccdni's messages: ValueError for bad settings, OSError
(FileNotFoundError) for files that are not there."""

import json

import pytest

import ccdni
from conftest import QUICK, ROOT, cli


@pytest.mark.parametrize(
    "settings,needle",
    [
        ({"epochs": 0}, "epochs"),
        ({"train.no_such_key": 1}, "no_such_key"),
        ({"model": "transformer"}, "transformer"),
        ({"task": "chess"}, "chess"),
        ({"horizon": -1}, "horizon"),
        ({"epochs": object()}, "not a setting value"),
        ({"epochs": 2**70}, "out of range"),
    ],
)
def test_a_bad_setting_is_a_value_error_naming_it(settings, needle):
    with pytest.raises(ValueError, match=needle):
        ccdni.Config(settings)


def test_train_refuses_bad_settings_before_writing_anything(scratch):
    with pytest.raises(ValueError, match="lesion"):
        ccdni.train(ccdni.Config(QUICK), cerebellum_lesion_at=99, out=scratch / "r", progress=False)
    assert not (scratch / "r").exists()


def test_missing_files_are_os_errors(scratch):
    nope = scratch / "nope"
    with pytest.raises(FileNotFoundError, match="nope.toml"):
        ccdni.Config(file=scratch / "nope.toml")
    with pytest.raises(FileNotFoundError):
        ccdni.load_model(nope / "model.safetensors")
    with pytest.raises(FileNotFoundError):
        ccdni.resume(nope, progress=False)
    with pytest.raises(FileNotFoundError, match="built-in experiments"):
        ccdni.run_experiment(nope / "lesions-typo.toml", progress=False)
    with pytest.raises(FileNotFoundError):
        ccdni.score(refs=nope / "refs.json", results=nope / "results.json")
    with pytest.raises(FileNotFoundError):
        ccdni.train(inputs=None, **{"task": "file", "file.inputs": str(nope / "x.npy"),
                                     "file.targets": str(nope / "y.npy")}, progress=False)


def test_a_folder_of_another_job_and_a_damaged_model_are_value_errors(scratch):
    (scratch / "full").mkdir()
    (scratch / "full" / "something").write_text("x")
    with pytest.raises(ValueError, match="full"):
        ccdni.train(ccdni.Config(QUICK), out=scratch / "full", progress=False)
    bad = scratch / "bad.safetensors"
    bad.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}")
    with pytest.raises(ValueError):
        ccdni.load_model(bad)


def test_score_gives_the_command_lines_scores(ccdni_bin):
    files = ROOT / "tests" / "fixtures" / "captions_score" / "files"
    ours = ccdni.score(refs=files / "refs.json", results=files / "results.json")
    p = cli(ccdni_bin, "score", "--refs", str(files / "refs.json"),
            "--results", str(files / "results.json"), "--json")
    assert ours == json.loads(p.stdout)
    expected = json.loads((files / "expected.json").read_text())
    assert ours["CIDEr"] == pytest.approx(expected["CIDEr"], rel=1e-9)
