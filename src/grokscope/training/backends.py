"""Step backends: how one training step of a cohort runs (`train.backend`).

A step is sample -> loss -> gradients -> optimizer-chain update. The backend owns the last
three; the cohort draws the batch. `eager` runs plain PyTorch in cache-sized chunks (what a
CPU wants: measured in docs/benchmarks.md, compiling made a 2-core CPU step slower). `compile`
puts the loss (forward, and through AOTAutograd its backward) and the optimizer update under
`torch.compile`; on CUDA the loss also runs as CUDA graphs (`mode="reduce-overhead"`), since
one small model leaves a GPU mostly idle between kernel launches (research/anchors.md: 0.38 ms
per step against a ~20 us compute floor for a p = 97 model).

Nothing recompiles per step: the step number reaches the optimizer links as a 0-d tensor and
every per-member setting is an `(E,)` tensor. A member that stops changes the member axis and
recompiles once (`RECOMPILE_LIMIT` bounds how many shapes are kept).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import torch

from grokscope.config.components import backend_class

if TYPE_CHECKING:
    from grokscope.training.cohort import Cohort

# a cohort whose members stop one by one sees up to E member-axis shapes
RECOMPILE_LIMIT = 64


def build_backend(name: str, cohort: Cohort) -> Any:
    """The backend registered as `name` (already resolved from `auto`), built for `cohort`."""
    return backend_class(name)(cohort)


class EagerStep:
    """The step in plain PyTorch: gradients accumulated over cache-sized column chunks, then
    the optimizer chain link by link."""

    compile_seconds = 0.0

    def __init__(self, cohort: Cohort) -> None:
        self.cohort = cohort

    def step(self, indices: torch.Tensor, weights: torch.Tensor) -> None:
        cohort = self.cohort
        cohort.optimizer.zero_grad()
        cohort.accumulate_gradients(indices, weights)
        cohort.optimizer.step()


def traceable(link: Any) -> bool:
    """Whether an optimizer chain can be traced as one graph: no link (nested links
    included) declares `traceable = False` (a link that branches on Python state)."""
    if getattr(link, "traceable", True) is False:
        return False
    inner = [getattr(link, "link", None), *getattr(link, "links", [])]
    return all(traceable(x) for x in inner if x is not None)


class CompiledStep:
    """The loss and the optimizer update under `torch.compile`: one pass over the batch where
    it fits the device's chunk budget (a compiled graph fuses what eager chunks keep small),
    compiled chunks accumulated as the eager step does where it does not. An optimizer chain
    holding a link that is not traceable (Grokfast-MA's ring position) keeps its update eager.

    `compile_seconds` is the wall time of the steps that compiled (the first one, and one
    per new member count), less a plain step's time: what compiling cost this run."""

    def __init__(self, cohort: Cohort) -> None:
        self.cohort = cohort
        cuda = cohort.device.type == "cuda"
        limit = torch._dynamo.config.recompile_limit
        torch._dynamo.config.recompile_limit = max(limit, RECOMPILE_LIMIT)
        mode = "reduce-overhead" if cuda else None
        self._loss = torch.compile(self._objective, dynamic=False, mode=mode)
        self._chunk_loss = torch.compile(cohort.chunk_loss, dynamic=False, mode=mode)
        chain = cohort.optimizer.transform
        self._update = (torch.compile(self._apply, dynamic=False) if traceable(chain)
                        else self._apply)
        self.compile_seconds = 0.0
        self._compiled_for: set[int] = set()
        self._plain: float | None = None

    def _objective(self, indices: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        return self.cohort.objective(indices, weights)

    def _apply(self, grads: list[torch.Tensor], step: torch.Tensor) -> None:
        with torch.no_grad():
            self.cohort.optimizer.apply(grads, step)

    def step(self, indices: torch.Tensor, weights: torch.Tensor) -> None:
        optimizer = self.cohort.optimizer
        members = self.cohort.n_members
        new = members not in self._compiled_for
        start = time.perf_counter()
        optimizer.zero_grad()
        if len(self.cohort.chunks(indices.shape[1])) == 1:
            self._loss(indices, weights).backward()
        else:  # a batch too large for one pass: compiled chunks, accumulated as eager does
            self.cohort.accumulate_gradients(indices, weights, self._chunk_loss)
        with torch.no_grad():
            optimizer.step_count += 1
            optimizer.step_value += 1
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in optimizer.params]
        self._update(grads, optimizer.step_value)
        if new or self._plain is None:
            if self.cohort.device.type == "cuda":
                torch.cuda.synchronize(self.cohort.device)
            seconds = time.perf_counter() - start
            if new:
                self._compiled_for.add(members)
                self.compile_seconds += seconds
            else:  # the first plain step: what a compiling step costs beyond compiling
                self._plain = seconds
                self.compile_seconds = max(0.0, self.compile_seconds - seconds)
