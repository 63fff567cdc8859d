"""ccdni from Python: train, probe and evaluate cortico-cerebellar recurrent networks.

The engine is the ccdni Rust crate; the training loop runs there, with the GIL released. A run
is a folder, as the command line writes it (``ccdni train``): its settings, checkpoint,
``metrics.csv`` and model. ::

    import ccdni
    cfg = ccdni.Config(task="reach", model="ccrnn", horizon=1, epochs=30)
    run = ccdni.train(cfg, seed=0, out="runs/r0")
    run.metrics["validation_mse"]       # metrics.csv's columns as NumPy arrays
    out = run.model.forward(inputs)     # inputs (N, L, I) float32 -> outputs, states

Errors are Python exceptions carrying ccdni's messages: ``ValueError`` for bad settings and bad
arrays, ``OSError`` (``FileNotFoundError``, ...) for files. Ctrl-C (``KeyboardInterrupt``) stops
training at the next batch with every checkpoint written; ``ccdni.resume(folder)`` goes on.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import numpy as np

from . import _ccdni
from ._progress import Progress

__all__ = [
    "Config",
    "Job",
    "Model",
    "Run",
    "defaults",
    "load_model",
    "resume",
    "run_experiment",
    "score",
    "train",
]

PathLike = Union[str, "os.PathLike[str]"]

#: Short names for settings, as the command line's flags name them (``horizon`` is
#: ``train.horizon``). Any key of ``ccdni config`` works too, dotted (``"reach.input_noise"``) or
#: with ``__`` for the dot (``reach__input_noise``).
ALIASES: Dict[str, str] = {
    "horizon": "train.horizon",
    "lr": "train.lr",
    "lambda_": "train.lambda",
    "clip": "train.clip",
    "update": "train.update",
    "cerebellum_loss": "train.cerebellum_loss",
    "inject_at_last_window": "train.inject_at_last_window",
    "cell": "cortex.cell",
    "hidden": "cortex.hidden",
    "granule": "cerebellum.granule",
    "granule_layers": "cerebellum.layers",
    "sparse_k": "cerebellum.sparse_k",
    "context": "cerebellum.context",
    "silent_cerebellum": "cerebellum.silent",
    "cerebellum_lesion_at": "lesion.cerebellum_at",
    "olive_lesion_at": "lesion.olive_at",
    "record_every": "record.every",
    "probe": "record.probe",
    "variant": "mnist.variant",
    "data_dir": "mnist.data_dir",
}


def _key(name: str) -> str:
    return ALIASES.get(name, name.replace("__", "."))


def _pairs(settings: Mapping[str, Any]) -> List[Tuple[str, Any]]:
    return [(_key(k), v) for k, v in settings.items() if v is not None]


def defaults(task: str = "reach") -> str:
    """Every setting of ``task`` with its default, as TOML (what ``ccdni config TASK`` prints)."""
    return _ccdni.defaults(task)


class Config:
    """Settings of a run: any key of ``ccdni config`` over the task's defaults.

    ``Config(task="reach", model="ccrnn", horizon=1, epochs=30)``; dotted keys in a dict,
    ``Config({"reach.input_noise": 0.05}, epochs=3)``; a TOML file of settings under them,
    ``Config(file="my.toml", seed=2)``. Short names: :data:`ALIASES`. The settings are checked
    at once: a bad one raises ``ValueError`` naming it (a missing file, ``FileNotFoundError``).
    """

    def __init__(
        self,
        settings: Optional[Mapping[str, Any]] = None,
        *,
        file: Optional[PathLike] = None,
        **kwargs: Any,
    ) -> None:
        self.file: Optional[str] = None if file is None else os.fspath(file)
        self.settings: List[Tuple[str, Any]] = _pairs(dict(settings or {})) + _pairs(kwargs)
        self._toml = _ccdni.resolve(self.settings, self.file)

    def replace(self, settings: Optional[Mapping[str, Any]] = None, **kwargs: Any) -> "Config":
        """A copy with more settings laid over these."""
        c = Config.__new__(Config)
        c.file = self.file
        c.settings = self.settings + _pairs(dict(settings or {})) + _pairs(kwargs)
        c._toml = _ccdni.resolve(c.settings, c.file)
        return c

    def to_toml(self) -> str:
        """The resolved configuration, every setting, as TOML."""
        return self._toml

    def to_dict(self) -> Dict[str, Any]:
        """The resolved configuration as nested dicts (needs Python 3.11's tomllib, or tomli)."""
        try:
            import tomllib as toml
        except ImportError:  # Python < 3.11
            import tomli as toml  # type: ignore[no-redef]
        return toml.loads(self._toml)

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.settings)
        file = f"file={self.file!r}, " if self.file else ""
        return f"Config({file}{shown})"


def _column(values: List[str]) -> np.ndarray:
    """A CSV column as a NumPy array: int64, float64 (empty cells NaN) or str."""
    try:
        return np.array([int(v) for v in values], dtype=np.int64)
    except ValueError:
        pass
    try:
        return np.array([float(v) if v != "" else np.nan for v in values], dtype=np.float64)
    except ValueError:
        return np.array(values, dtype=str)


def read_csv(path: PathLike) -> Dict[str, np.ndarray]:
    """A CSV file (``metrics.csv``, ``learning.csv``) as its columns, each a NumPy array;
    ``pandas.DataFrame(read_csv(path))`` makes a data frame of it."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        return {}
    header, body = rows[0], rows[1:]
    return {name: _column([r[j] for r in body]) for j, name in enumerate(header)}


class Run:
    """One run in its folder (``<job>/runs/<model>-seed<k>/``), as the command line writes it."""

    def __init__(self, job_dir: PathLike, row: Tuple[str, str, int, Any, Any, Any]) -> None:
        self.job_dir = Path(job_dir)
        self.name, self.label, self.seed, run_dir, metrics, model = row
        self.dir = Path(run_dir)
        self.metrics_path = Path(metrics)
        self.model_path = Path(model)

    @property
    def metrics(self) -> Dict[str, np.ndarray]:
        """metrics.csv's columns (one row per epoch) as NumPy arrays."""
        return read_csv(self.metrics_path)

    @property
    def learning(self) -> Dict[str, np.ndarray]:
        """learning.csv's rows of this run (the measures over learning, with ``probe`` > 0)."""
        path = self.job_dir / "learning.csv"
        if not path.exists():
            raise FileNotFoundError(
                f"no {path}: the measures over learning are taken when the setting probe > 0"
            )
        cols = read_csv(path)
        keep = (cols["model"] == self.label) & (cols["seed"] == self.seed)
        return {k: v[keep] for k, v in cols.items()}

    @property
    def model(self) -> "Model":
        """The model the run ended with (``model.safetensors``)."""
        return load_model(self.model_path)

    @property
    def config(self) -> str:
        """The run's resolved settings (its config.toml)."""
        return (self.dir / "config.toml").read_text()

    def __repr__(self) -> str:
        return f"Run({self.label} seed {self.seed} in {str(self.dir)!r})"


class Job:
    """A job folder: an experiment's runs and its report (metrics.csv, summary.json, plots)."""

    def __init__(self, dir: PathLike, summary: str = "") -> None:
        self.dir = Path(dir)
        #: The report's text, as the command line prints it at the end.
        self.summary = summary
        self.runs: List[Run] = [Run(self.dir, r) for r in _ccdni.job_runs(os.fspath(self.dir))]

    @property
    def metrics(self) -> Dict[str, np.ndarray]:
        """The job's metrics.csv: every run's epochs, as NumPy arrays."""
        return read_csv(self.dir / "metrics.csv")

    @property
    def results(self) -> Dict[str, Any]:
        """summary.json: the job's results per model, with their statistics."""
        return json.loads((self.dir / "summary.json").read_text())

    def __repr__(self) -> str:
        return f"Job({len(self.runs)} runs in {str(self.dir)!r})"


def _array(key: str, a: Any) -> Tuple[str, str, List[int], bytes]:
    """A NumPy array as the extension takes it, refusing what is not one (``ValueError``)."""
    if not isinstance(a, np.ndarray):
        raise ValueError(f"{key}: expected a NumPy array, got {type(a).__name__}")
    if not a.flags.c_contiguous:
        raise ValueError(
            f"{key}: the array is not C-contiguous; pass np.ascontiguousarray({key})"
        )
    return (key, a.dtype.str, list(a.shape), a.tobytes())


def _arrays(
    inputs: Any, targets: Any, mask: Any, validation: Any, test: Any
) -> Optional[List[Tuple[str, str, List[int], bytes]]]:
    given = [("inputs", inputs), ("targets", targets), ("mask", mask)]
    for name, s in (("validation", validation), ("test", test)):
        if s is None:
            continue
        if not isinstance(s, (tuple, list)) or len(s) not in (2, 3):
            raise ValueError(f"{name}: expected (inputs, targets) or (inputs, targets, mask)")
        for part, a in zip(("inputs", "targets", "mask"), s):
            given.append((f"{name}_{part}", a))
    if all(a is None for _, a in given):
        return None
    return [_array(k, a) for k, a in given if a is not None]


def _show(progress: bool) -> Tuple[Optional[Progress], Any]:
    bar = Progress() if progress else None

    def say(kind: str, text: str) -> None:
        if kind == "note" or bar is not None:
            if bar is not None:
                bar.write(text)
            else:
                print(text, file=sys.stderr)

    return bar, say


def _driven(progress: bool, call: Any) -> Tuple[str, str]:
    bar, say = _show(progress)
    try:
        return call(bar, say)
    finally:
        if bar is not None:
            bar.close()


def train(
    config: Optional[Config] = None,
    *,
    seed: Optional[int] = None,
    out: Optional[PathLike] = None,
    inputs: Optional[np.ndarray] = None,
    targets: Optional[np.ndarray] = None,
    mask: Optional[np.ndarray] = None,
    validation: Optional[Tuple[np.ndarray, ...]] = None,
    test: Optional[Tuple[np.ndarray, ...]] = None,
    progress: bool = True,
    **settings: Any,
) -> Run:
    """Trains one run of ``config`` (with ``settings`` laid over it) into the new or empty
    folder ``out`` (default ``runs/train-<task>-<model>-seed<k>-<time>``), as ``ccdni train``
    does: the same settings give the same numbers and the same model, bit for bit.

    Custom data: ``inputs`` (N, L, I) floats, ``targets`` (N, L, O) floats (regression, scored
    where ``mask`` is 1) or (N, L) integer labels (classification, -1: none), ``mask`` (N, L)
    or (N, L, O) of zeros and ones: the file task (docs/model.md §4.5), whose settings
    (``file.validation_fraction``, ``file.order``, ...) apply. ``validation`` and ``test``:
    ``(inputs, targets[, mask])`` of their own, else held out of the training arrays by the
    seed. The arrays are checked as the file task checks its files (``ValueError`` naming what
    is wrong) and written into the folder (``data/``) so that the run can go on.

    ``progress``: a progress bar on standard error (tqdm's when it is installed); ``False``
    shows nothing but notes. Ctrl-C raises ``KeyboardInterrupt`` once the run has written its
    checkpoint; :func:`resume` goes on. Returns the :class:`Run`.
    """
    pairs = (config.settings if config else []) + _pairs({"seed": seed}) + _pairs(settings)
    file = config.file if config else None
    arrays = _arrays(inputs, targets, mask, validation, test)
    dest = None if out is None else os.fspath(out)
    job_dir, summary = _driven(
        progress, lambda bar, say: _ccdni.train(pairs, file, dest, arrays, bar, say)
    )
    return Job(job_dir, summary).runs[0]


def resume(
    dir: PathLike,
    *,
    threads: int = 0,
    force: bool = False,
    progress: bool = True,
    **settings: Any,
) -> Union[Run, Job]:
    """Goes on with the job in the folder ``dir`` (``ccdni resume``): each run that has not
    finished goes on from its checkpoint and ends with the numbers of a run never stopped.
    ``settings`` change the job's (refused unless ``force``, which records it in resume.log).
    At most ``threads`` runs at once (0: all cores). Returns the :class:`Run` of a job of one
    run, else the :class:`Job`."""
    pairs = _pairs(settings)
    job_dir, summary = _driven(
        progress,
        lambda bar, say: _ccdni.resume(os.fspath(dir), pairs, force, threads, bar, say),
    )
    job = Job(job_dir, summary)
    return job.runs[0] if len(job.runs) == 1 else job


def run_experiment(
    file: PathLike,
    seeds: Optional[int] = None,
    *,
    seed: Optional[int] = None,
    papers: bool = False,
    out: Optional[PathLike] = None,
    threads: int = 0,
    progress: bool = True,
    **settings: Any,
) -> Job:
    """Runs an experiment file (``experiments/lesions.toml``), or a built-in experiment by its
    bare name (``"lesions"``), as ``ccdni run`` does: ``seeds`` seeds from ``seed`` (default:
    the file's), the papers' size with ``papers``, ``settings`` over its base settings, at most
    ``threads`` runs at once (0: all cores), into the new or empty folder ``out``. Returns the
    :class:`Job`, its report written."""
    pairs = _pairs(settings)
    dest = None if out is None else os.fspath(out)
    job_dir, summary = _driven(
        progress,
        lambda bar, say: _ccdni.run_experiment(
            os.fspath(file), pairs, seeds, seed, papers, dest, threads, bar, say
        ),
    )
    return Job(job_dir, summary)


class Model:
    """A saved model (``model.safetensors``) with the settings it was trained with."""

    def __init__(self, path: PathLike) -> None:
        self._m = _ccdni.Model.load(os.fspath(path))

    @property
    def label(self) -> str:
        """The run's label (``cRNN``, ``ccRNN``, ...)."""
        return self._m.label

    @property
    def seed(self) -> int:
        """The seed of the run that trained it."""
        return self._m.seed

    @property
    def path(self) -> Path:
        return Path(self._m.path)

    @property
    def config(self) -> str:
        """The settings it was trained with, as TOML."""
        return self._m.config_toml

    @property
    def sizes(self) -> Tuple[int, int, int]:
        """Inputs I, hidden units H, outputs O."""
        return self._m.sizes

    def forward(self, inputs: np.ndarray) -> Dict[str, np.ndarray]:
        """Runs whole sequences from a zero state, as every model is evaluated (no truncation;
        the cerebellum does not act on the output): ``inputs`` (N, L, I) float32, C-contiguous,
        finite. Returns ``outputs`` (N, L, O) (the readout) and ``states`` (N, L, H) (the
        cortex's hidden state), float32; for a ccRNN also what its cerebellum makes of the
        state after every step, ``granule_<l>`` (N, L, cells) and ``prediction`` (N, L, state
        size), as ``feedback`` gives them at window boundaries (not for a cerebellum that reads
        the task's context). A bad array raises ``ValueError``."""
        if not isinstance(inputs, np.ndarray):
            raise ValueError(f"inputs: expected a NumPy array, got {type(inputs).__name__}")
        if inputs.dtype != np.float32:
            raise ValueError(
                f"inputs: dtype {inputs.dtype}; forward takes float32 (inputs.astype(np.float32))"
            )
        if inputs.ndim != 3:
            raise ValueError(
                f"inputs: shape {inputs.shape}; it must be N × L × I (sequences × steps × inputs)"
            )
        if not inputs.flags.c_contiguous:
            raise ValueError("inputs: the array is not C-contiguous; pass np.ascontiguousarray(inputs)")
        return self._m.forward(inputs)

    def feedback(
        self,
        inputs: np.ndarray,
        targets: np.ndarray,
        mask: Optional[np.ndarray] = None,
        horizon: Optional[int] = None,
    ) -> Dict[str, Any]:
        """What the network holds at every window boundary of the sequences when it learns with
        feedback horizon ``horizon`` (default: its own): ``state`` (the cortical state at each
        window's start), ``granule_<l>`` and ``prediction`` (the cerebellum's, for a ccRNN),
        ``teaching_signal`` (the feedback the cerebellum learns from) and ``true_feedback``
        (what full backpropagation through time gives), each W × N × units, float64; and
        ``descriptions``, one line on each. The arrays mean what the file task's do."""
        given = [_array("inputs", inputs), _array("targets", targets)]
        if mask is not None:
            given.append(_array("mask", mask))
        return self._m.feedback(given, horizon)

    def evaluate(self, out: Optional[PathLike] = None, **settings: Any) -> Dict[str, Any]:
        """The test measures on its task, as ``ccdni eval`` measures them (the numbers of the
        run's last epoch, with its own task), with ``settings`` of the task (``task``,
        ``seed``, ``reach.*``, ``file.*``, ...) over its own; written into the new or empty
        folder ``out`` too (``folder`` in the result)."""
        dest = None if out is None else os.fspath(out)
        text, folder = self._m.evaluate_json(_pairs(settings), dest)
        result = json.loads(text)
        result["folder"] = folder
        return result

    def __repr__(self) -> str:
        return repr(self._m)


def load_model(path: PathLike) -> Model:
    """Reads a model file (a run's ``model.safetensors``); ``FileNotFoundError`` if none."""
    return Model(path)


def score(refs: PathLike, results: PathLike) -> Dict[str, Any]:
    """The COCO caption scores (BLEU-1..4, CIDEr-D, ...) of ``results`` (COCO results JSON)
    against the references ``refs`` (COCO captions JSON), as ``ccdni score --json`` gives
    them."""
    return json.loads(_ccdni.score_json(os.fspath(refs), os.fspath(results)))
