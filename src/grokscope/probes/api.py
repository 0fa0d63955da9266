"""What a probe may read of a run: a narrow context, not the training engine.

A probe is `measure(context, spec, evaluate) -> {name: (E,) or (E, k) tensor}` with an
optional `check(context, spec, where)` that refuses, in one line, a run it cannot serve; both
are registered with the probe's settings (`grokscope.probes.config.register_probe`). The
cohort engine satisfies this protocol; a probe never needs more than it lists, so probes do
not depend on how training is done.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import torch

from grokscope.tasks.base import TaskData


class ProbeContext(Protocol):
    """Read-only views (properties, so any engine whose attributes are narrower fits)."""

    @property
    def task(self) -> TaskData: ...  # examples, labels, groups (on the run's device)

    @property
    def masks(self) -> torch.Tensor: ...  # (E, N) True = the member trains on the example

    @property
    def test_masks(self) -> torch.Tensor: ...  # (E, N) True = the member is tested on it

    @property
    def model(self) -> Any: ...  # the cohort model, parameters (E, ...)

    @property
    def device(self) -> torch.device: ...

    @property
    def members(self) -> Sequence[Any]: ...  # per member: its `seed` (and settings)

    @property
    def config(self) -> Any: ...  # the ExperimentConfig (schedules read train.steps, ...)

    @property
    def n_members(self) -> int: ...

    def outputs_at(self, rows: torch.Tensor, features: bool = False) -> torch.Tensor:
        """Outputs `(E, n, C)` (or features `(E, n, d)`) at shared `(n,)` or per-member
        `(E, n)` example rows."""
        ...

    def objective(self, indices: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """The differentiable training objective on per-member rows (sharpness)."""
        ...

    def evaluate(self) -> Any:
        """A fresh evaluation of every member (pruning re-evaluates pruned weights)."""
        ...


Measure = Callable[[ProbeContext, Any, Callable[[], Any]], dict[str, torch.Tensor]]
