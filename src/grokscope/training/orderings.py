"""Example orderings of a mini-batch stream: in which order a member meets its examples.

Full-batch training sees every example at every step, so order cannot matter there; with
mini-batches it decides which examples share a batch and which come first. Curriculum
learning (Bengio et al. 2009) claims a structured order can help; Wu, Dyer & Neyshabur (ICLR
2021) found marginal gains except under tight budgets; LeDoux 2026 (one seed, p = 9973)
reports a fixed "stride" order grokking sooner than reshuffling. Each ordering is
`(ids, task, generator, seed) -> ids`, called once per epoch: the deterministic ones ignore
the generator, so a resumed stream needs no extra state.
"""

from __future__ import annotations

import math

import torch

from grokscope.errors import ConfigError
from grokscope.tasks.base import TaskData

FIXED_SALT = 0xF1ED  # the fixed order's own generator: independent of the batch stream's


def reshuffle(ids: torch.Tensor, task: TaskData, generator: torch.Generator,
              seed: int) -> torch.Tensor:
    """A fresh random permutation each epoch (the default)."""
    return ids[torch.randperm(len(ids), generator=generator)]


def fixed(ids: torch.Tensor, task: TaskData, generator: torch.Generator,
          seed: int) -> torch.Tensor:
    """One random permutation from the member's seed, the same every epoch."""
    g = torch.Generator().manual_seed(int(seed) + FIXED_SALT)
    return ids[torch.randperm(len(ids), generator=g)]


def _sorted(ids: torch.Tensor, *keys: torch.Tensor) -> torch.Tensor:
    """ids sorted by the keys (first key most significant), ties by id: stable sorts from the
    least significant key up."""
    order = torch.arange(len(ids))
    for key in reversed(keys):
        order = order[torch.sort(key[ids[order]].cpu(), stable=True).indices]
    return ids[order]


def by_target(ids: torch.Tensor, task: TaskData, generator: torch.Generator,
              seed: int) -> torch.Tensor:
    """Sorted by label: every batch holds one or two classes."""
    return _sorted(ids, task.labels.cpu())


def _operands(task: TaskData, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    if "a" not in task.groups or "b" not in task.groups:
        raise ConfigError(f"train.order: '{name}' orders by the operands a, b; task "
                          f"'{task.name}' has none (allowed: reshuffle, fixed, sorted_target)")
    return task.groups["a"].cpu(), task.groups["b"].cpu()


def stride(ids: torch.Tensor, task: TaskData, generator: torch.Generator,
           seed: int) -> torch.Tensor:
    """Sorted by (a mod floor(sqrt(p)), a, b): LeDoux 2026's "stride" order, p the number
    of operand values."""
    a, b = _operands(task, "stride")
    p = int(task.meta.get("p") or int(a.max()) + 1)
    return _sorted(ids, a % math.isqrt(p), a, b)


def easy_first(ids: torch.Tensor, task: TaskData, generator: torch.Generator,
               seed: int) -> torch.Tensor:
    """Small operands first: sorted by a + b, then a (an easy-first curriculum by operand
    magnitude, repeated every epoch)."""
    a, b = _operands(task, "easy_first")
    return _sorted(ids, a + b, a)
