"""Type stubs of the extension module (the Rust bindings); use the functions of ``ccdni``."""

import os
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import numpy as np
import numpy.typing as npt

_Path = Union[str, "os.PathLike[str]"]
_Settings = List[Tuple[str, Any]]
_Array = Tuple[str, str, List[int], bytes]
_Progress = Optional[Callable[[int, int], None]]
_Say = Optional[Callable[[str, str], None]]

def defaults(task: str) -> str: ...
def resolve(settings: _Settings, file: Optional[_Path] = None) -> str: ...
def score_json(refs: _Path, results: _Path) -> str: ...
def train(
    settings: _Settings,
    file: Optional[_Path] = None,
    out: Optional[_Path] = None,
    arrays: Optional[List[_Array]] = None,
    progress: _Progress = None,
    say: _Say = None,
) -> Tuple[str, str]: ...
def resume(
    dir: _Path,
    settings: _Settings,
    force: bool = False,
    threads: int = 0,
    progress: _Progress = None,
    say: _Say = None,
) -> Tuple[str, str]: ...
def run_experiment(
    path: _Path,
    settings: _Settings,
    seeds: Optional[int] = None,
    first_seed: Optional[int] = None,
    papers: bool = False,
    out: Optional[_Path] = None,
    threads: int = 0,
    progress: _Progress = None,
    say: _Say = None,
) -> Tuple[str, str]: ...
def job_runs(dir: _Path) -> List[Tuple[str, str, int, str, str, str]]: ...

class Model:
    @staticmethod
    def load(path: _Path) -> "Model": ...
    @property
    def label(self) -> str: ...
    @property
    def seed(self) -> int: ...
    @property
    def config_toml(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def sizes(self) -> Tuple[int, int, int]: ...
    def forward(self, inputs: npt.NDArray[np.float32]) -> Dict[str, npt.NDArray[np.float32]]: ...
    def feedback(self, arrays: List[_Array], horizon: Optional[int] = None) -> Dict[str, Any]: ...
    def evaluate_json(self, settings: _Settings, out: Optional[_Path] = None) -> Tuple[str, str]: ...
