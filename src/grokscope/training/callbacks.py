"""Training callbacks: what happens around the step loop, each in one small object.

The loop (`training.loop.train`) is a straight line; everything else hooks in here: the
Parquet sink of metrics and probe values, the probes, the progress bar, the divergence guard,
and a user's own recorder. Hooks, in the order the loop calls them:

- `on_start(loop)`: training (re)starts at `loop.start` (the resume step);
- `on_step(step, evaluate)`: every step before its update; `evaluate()` returns this step's
  evaluation (computed once, shared by every caller);
- `on_log(step, evaluation)`: every logged step, with the evaluation as device tensors (no
  host sync forced);
- `on_host(step, values)`: logged values once they reach the host (in blocks), `{column:
  (E,) numpy}`; what a progress bar or a guard reads;
- `on_checkpoint(step)`: before each checkpoint: write what you hold (a killed run resumes
  from here and must lose nothing before it);
- `on_end(step)`: training reached its last step;
- `stop_request(step)`: an `(E,)` bool of members to stop (positions in the live cohort),
  a `{position: reason}` mapping, or None; the loop takes the union, keeps the stopped
  members' final weights aside and trains the others on as a smaller cohort (their weights
  and optimizer state stop changing, and they cost no more compute); a bool request's reason
  is the callback's `stop_reason`;
- `on_compact(keep)`: members left the cohort; `keep` are the positions that stay, in order
  (what a callback holding per-position state slices).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from grokscope.store import RunStore
    from grokscope.training.cohort import Cohort, Evaluation


@dataclass
class Loop:
    """What a callback sees of the run: the cohort, its store, where training started, and
    the sink that records values into the run's metrics."""

    cohort: Cohort
    store: RunStore
    start: int
    sink: Any = None  # training.sink.MetricSink
    callbacks: list[Callback] = field(default_factory=list)


class Callback:
    """Base class: every hook does nothing; override the ones you need."""

    loop: Loop
    stop_reason = "callback"

    def on_start(self, loop: Loop) -> None:
        self.loop = loop

    def on_step(self, step: int, evaluate: Callable[[], Evaluation]) -> None:
        pass

    def on_log(self, step: int, evaluation: Evaluation) -> None:
        pass

    def on_host(self, step: int, values: dict[str, np.ndarray]) -> None:
        pass

    def on_checkpoint(self, step: int) -> None:
        pass

    def on_end(self, step: int) -> None:
        pass

    def stop_request(self, step: int) -> Any:
        return None

    def on_compact(self, keep: list[int]) -> None:
        pass


class Callbacks(Callback):
    """Several callbacks as one, called in order."""

    def __init__(self, callbacks: Sequence[Callback]) -> None:
        self.items = list(callbacks)

    def on_start(self, loop: Loop) -> None:
        for c in self.items:
            c.on_start(loop)

    def on_step(self, step: int, evaluate: Callable[[], Evaluation]) -> None:
        for c in self.items:
            c.on_step(step, evaluate)

    def on_log(self, step: int, evaluation: Evaluation) -> None:
        for c in self.items:
            c.on_log(step, evaluation)

    def on_host(self, step: int, values: dict[str, np.ndarray]) -> None:
        for c in self.items:
            c.on_host(step, values)

    def on_checkpoint(self, step: int) -> None:
        for c in self.items:
            c.on_checkpoint(step)

    def on_end(self, step: int) -> None:
        for c in self.items:
            c.on_end(step)

    def stop_request(self, step: int) -> dict[int, str]:
        """Every member-stop request as `{position: reason}` (the first reason wins)."""
        out: dict[int, str] = {}
        for c in self.items:
            request = c.stop_request(step)
            if request is None:
                continue
            if not isinstance(request, dict):
                mask = np.asarray(request.cpu() if hasattr(request, "cpu") else request, bool)
                request = {int(k): c.stop_reason for k in np.flatnonzero(mask)}
            for position, reason in request.items():
                out.setdefault(int(position), str(reason))
        return out

    def on_compact(self, keep: list[int]) -> None:
        for c in self.items:
            c.on_compact(keep)


class DivergenceGuard(Callback):
    """Asks to stop a member whose train or test loss is no longer finite: its update would
    only carry NaN further (the detector then calls it `diverged`)."""

    stop_reason = "diverged"

    def __init__(self) -> None:
        self.request: np.ndarray | None = None

    def on_host(self, step: int, values: dict[str, np.ndarray]) -> None:
        bad = ~(np.isfinite(values["train_loss"]) & np.isfinite(values["test_loss"]))
        if bad.any():
            self.request = bad if self.request is None else self.request | bad

    def stop_request(self, step: int) -> np.ndarray | None:
        request, self.request = self.request, None
        return request

    def on_compact(self, keep: list[int]) -> None:
        self.request = None if self.request is None else self.request[keep]
