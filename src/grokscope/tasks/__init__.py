"""Tasks: datasets where grokking happens, all behind one interface (`TaskData`)."""

from __future__ import annotations

import torch

from grokscope.config import ModularTaskConfig, UniformSplitConfig
from grokscope.tasks.base import TaskData
from grokscope.tasks.modular import OPERATIONS, modular
from grokscope.tasks.splits import uniform_split

TASKS = {"modular": "all pairs (a, b) of Z_p labelled op(a, b) mod p (Power et al. 2022)"}


def build_task(config: ModularTaskConfig) -> TaskData:
    return modular(p=config.p, op=config.op)


def build_masks(config: UniformSplitConfig, task: TaskData, split_seeds: list[int],
                fractions: list[float]) -> torch.Tensor:
    """`(E, N)` train masks, one per member, each from that member's own seed."""
    return torch.stack(
        [uniform_split(task.n_examples, f, s) for f, s in zip(fractions, split_seeds, strict=True)]
    )


__all__ = ["OPERATIONS", "TASKS", "TaskData", "build_masks", "build_task", "modular",
           "uniform_split"]
