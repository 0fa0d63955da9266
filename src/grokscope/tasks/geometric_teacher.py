"""A linear teacher on independent features of geometrically spaced scales: the data of
Heckel & Yilmaz (ICLR 2021, "Early stopping in deep networks: double descent and how to
eliminate it"; their `linear_model(sigmas="geo", s_range=[1, 4])`, re-implemented).

A two-layer ReLU network trained on it by gradient descent with one step size for both
layers shows epoch-wise double descent: the two layers learn at different times, so the
test risk of the first falls, the second's catching up raises it, then both converge. A
per-layer step size that aligns their time scales removes the bump (their Fig. 3).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from grokscope.config.teacher_student import GeometricTeacherTaskConfig, TeacherDrawSplitConfig
from grokscope.errors import ConfigError
from grokscope.tasks.base import TaskData
from grokscope.tasks.teacher_student import block_splits


def _draw(config: GeometricTeacherTaskConfig, draw: int) -> tuple[torch.Tensor, torch.Tensor]:
    """One draw's `(n_train + test_size, dim)` inputs and targets, train rows first."""
    generator = torch.Generator().manual_seed(int(config.seed) * 100_003 + draw)
    low, high = config.scale_range
    scales = torch.logspace(torch.log10(torch.tensor(low)), torch.log10(torch.tensor(high)),
                            config.dim, dtype=torch.float64)
    teacher = torch.randn(config.dim, generator=generator, dtype=torch.float64)
    n = config.n_train + config.test_size
    x = torch.randn(n, config.dim, generator=generator, dtype=torch.float64) * scales
    y = x @ teacher + config.noise * torch.randn(n, generator=generator, dtype=torch.float64)
    return x, y


def build(config: GeometricTeacherTaskConfig) -> TaskData:
    """Every draw's block stacked; groups `block` (the draw) and `in_test`."""
    rows = config.n_train + config.test_size
    flag = torch.zeros(rows, dtype=torch.int64)
    flag[config.n_train:] = 1
    xs, ys = zip(*(_draw(config, d) for d in range(config.draws)), strict=True)
    y = torch.cat(ys)
    return TaskData(
        name="geometric_teacher",
        inputs=torch.cat(xs).float(),
        labels=y.float(),
        n_classes=1,
        groups={"block": torch.arange(config.draws).repeat_interleave(rows),
                "in_test": flag.repeat(config.draws)},
        meta={"draws": config.draws, "n_train": config.n_train, "dim": config.dim,
              "scale_range": list(config.scale_range), "seed": config.seed,
              "layout_groups": ["block"]},
        tolerance=config.tolerance * float(y.std()),
    )


def split(config: TeacherDrawSplitConfig, task: TaskData, split_seeds: Sequence[int],
          fractions: Sequence[Any], n_trains: Sequence[Any], fs: Sequence[Any]) -> Any:
    """Train: the train rows of the member's draw; test: its test rows."""
    if task.name != "geometric_teacher":
        raise ConfigError(f"split 'teacher_draw': task '{task.name}' has no draws "
                          "(allowed tasks: geometric_teacher)")
    draws = task.meta["draws"]
    bad = [s for s in split_seeds if not 0 <= s < draws]
    if bad:
        raise ConfigError(f"split 'teacher_draw': split seed {bad[0]} picks a draw the task "
                          f"does not have; allowed: 0..{draws - 1} (task.draws: {draws})")
    return block_splits(task, split_seeds)
