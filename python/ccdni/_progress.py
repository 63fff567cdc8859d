"""The progress bar of a training job: tqdm's (``tqdm.auto``: a notebook widget in Jupyter) when
tqdm is installed, else one line on standard error redrawn at most five times a second."""

from __future__ import annotations

import sys
import time
from typing import Any, Optional


class Progress:
    """Called as ``progress(done, total)`` with the training batches done and in all."""

    def __init__(self) -> None:
        self._tqdm: Optional[Any] = None
        self._shown = 0.0
        self._start = time.monotonic()
        self._line = False
        self._drawn = (-1, -1)
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return
        self._tqdm = tqdm(total=0, unit="batch", dynamic_ncols=True)

    def __call__(self, done: int, total: int) -> None:
        if self._tqdm is not None:
            if self._tqdm.total != total:
                self._tqdm.reset(total=total)
            self._tqdm.update(done - self._tqdm.n)
            return
        now = time.monotonic()
        if total == 0 or (done, total) == self._drawn:
            return
        if now - self._shown < 0.2 and done < total:
            return
        self._shown, self._drawn = now, (done, total)
        width = 30
        filled = width * done // total
        rate = done / max(now - self._start, 1e-9)
        left = (total - done) / rate if rate > 0 else 0.0
        bar = "#" * filled + "." * (width - filled)
        sys.stderr.write(f"\r[{bar}] {done}/{total} batches, {left:.0f} s left ")
        sys.stderr.flush()
        self._line = True

    def write(self, text: str) -> None:
        """Prints a line above the bar."""
        if self._tqdm is not None:
            self._tqdm.write(text, file=sys.stderr)
            return
        if self._line:
            sys.stderr.write("\n")
            self._line = False
        print(text, file=sys.stderr)

    def close(self) -> None:
        if self._tqdm is not None:
            self._tqdm.close()
        elif self._line:
            sys.stderr.write("\n")
            self._line = False
