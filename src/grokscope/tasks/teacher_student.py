"""Linear teacher-student regression with two feature scales: epoch-wise double descent
(Pezeshki et al. ICML 2022, "Multi-scale feature learning dynamics: insights for double
descent"; setup of their `Epoch_wise_Double_Descent` code, re-implemented).

Fast features (scale 1) are learned first and fit the training set with the slow ones still
near zero; fitting the noise-free residual then has to use the slow features, whose
estimates overshoot before they converge: the test error goes down, up, and down again.
kappa = 1 has one scale only (monotone); a huge kappa never reaches the second descent
within a budget (a classical U). Full-batch gradient descent on this task has a closed form,
`closed_form_test_mse`, that the tests hold the trained cohort to.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from grokscope.config.teacher_student import TeacherStudentSplitConfig, TeacherStudentTaskConfig
from grokscope.errors import ConfigError
from grokscope.tasks.base import TaskData


def _orthogonal(dim: int, generator: torch.Generator) -> torch.Tensor:
    """A Haar-random orthogonal matrix: QR of a Gaussian, signs fixed by R's diagonal."""
    q, r = torch.linalg.qr(torch.randn(dim, dim, generator=generator, dtype=torch.float64))
    return q * torch.sign(torch.diagonal(r))


def _draw(config: TeacherStudentTaskConfig, draw: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """One draw's (X, y) per kappa: `(n_train + test_size, dim)` rows, train rows first."""
    generator = torch.Generator().manual_seed(int(config.seed) * 100_003 + draw)
    n, d = config.n_train + config.test_size, config.dim
    z = torch.randn(n, d, generator=generator, dtype=torch.float64) / d ** 0.5
    teacher = torch.randn(d, generator=generator, dtype=torch.float64)
    y = z @ teacher + config.noise * torch.randn(n, generator=generator, dtype=torch.float64)
    u, v = _orthogonal(d, generator), _orthogonal(d, generator)
    blocks = []
    for kappa in config.kappa:
        scales = torch.full((d,), 1.0 / kappa, dtype=torch.float64)
        scales[: config.fast_dims] = 1.0
        x = z @ (u * scales) @ v.T
        if config.step_normalized:  # (2 / n) lambda_max(X^T X) = 1 on the train rows
            train = x[: config.n_train]
            lam = torch.linalg.eigvalsh(train.T @ train).max()
            x = x * (config.n_train / (2 * lam)) ** 0.5
        blocks.append((x, y))
    return blocks


def build(config: TeacherStudentTaskConfig) -> TaskData:
    """Every (draw, kappa) block stacked; groups `block` (= draw * len(kappa) + k) and
    `in_test`; meta keeps the kappas and the number of draws for the split."""
    xs, ys, blocks, in_test = [], [], [], []
    rows = config.n_train + config.test_size
    flag = torch.zeros(rows, dtype=torch.int64)
    flag[config.n_train:] = 1
    for draw in range(config.draws):
        for k, (x, y) in enumerate(_draw(config, draw)):
            xs.append(x)
            ys.append(y)
            blocks.append(torch.full((rows,), draw * len(config.kappa) + k, dtype=torch.int64))
            in_test.append(flag)
    y = torch.cat(ys)
    return TaskData(
        name="teacher_student",
        inputs=torch.cat(xs).float(),
        labels=y.float(),
        n_classes=1,
        groups={"block": torch.cat(blocks), "in_test": torch.cat(in_test)},
        meta={"kappa": list(config.kappa), "draws": config.draws, "n_train": config.n_train,
              "dim": config.dim, "fast_dims": config.fast_dims, "seed": config.seed,
              "step_normalized": config.step_normalized,
              "layout_groups": ["block"]},
        tolerance=config.tolerance * float(y.std()),
    )


def member_blocks(config: TeacherStudentSplitConfig, task: TaskData,
                  split_seeds: Sequence[int]) -> list[int]:
    """Each member's block index, from its kappa and its split seed (the draw)."""
    if "block" not in task.groups:
        raise ConfigError(f"split 'teacher_student': task '{task.name}' has no blocks "
                          "(allowed tasks: teacher_student)")
    kappas, draws = task.meta["kappa"], task.meta["draws"]
    chosen = config.kappa if isinstance(config.kappa, list) else [config.kappa] * len(split_seeds)
    out = []
    for kappa, seed in zip(chosen, split_seeds, strict=True):
        if kappa not in kappas:
            raise ConfigError(f"split.kappa: {kappa:g} is not one of the task's kappa "
                              f"({', '.join(f'{k:g}' for k in kappas)})")
        if not 0 <= seed < draws:
            raise ConfigError(f"split 'teacher_student': split seed {seed} picks a draw the "
                              f"task does not have; allowed: 0..{draws - 1} (task.draws: {draws})")
        out.append(seed * len(kappas) + kappas.index(kappa))
    return out


def split(config: TeacherStudentSplitConfig, task: TaskData, split_seeds: Sequence[int],
          fractions: Sequence[Any], n_trains: Sequence[Any], fs: Sequence[Any]) -> Any:
    """Train: the member's block's train rows; test: its test rows."""
    return block_splits(task, member_blocks(config, task, split_seeds))


def block_splits(task: TaskData, blocks: Sequence[int]) -> Any:
    """Member e trains on the train rows of block `blocks[e]` and is tested on its test rows
    (the layout of the teacher-student tasks: groups `block` and `in_test`)."""
    from grokscope.tasks import Splits  # the Splits record lives with the split registry

    block, in_test = task.groups["block"], task.groups["in_test"].bool()
    own = torch.stack([block == b for b in blocks])
    return Splits(own & ~in_test, own & in_test, {}, {"blocks": list(blocks)})


def closed_form_test_mse(x_train: torch.Tensor, y_train: torch.Tensor, x_test: torch.Tensor,
                         y_test: torch.Tensor, lr: float, steps: Sequence[int],
                         b0: torch.Tensor | None = None) -> torch.Tensor:
    """Test MSE of full-batch gradient descent on the mean squared error at each of `steps`,
    exactly (float64): with A = (2/n) X^T X = Q diag(l) Q^T and b* the minimum-norm
    interpolant, b_t - b* = Q (1 - lr l)^t Q^T (b0 - b*) on the span of the train rows, and
    b0's component outside it never moves."""
    x, y = x_train.double(), y_train.double()
    n = x.shape[0]
    lam, q = torch.linalg.eigh(2 / n * x.T @ x)
    keep = lam > lam.max() * 1e-12
    target = torch.linalg.pinv(x) @ y  # b*
    start = torch.zeros(x.shape[1], dtype=torch.float64) if b0 is None else b0.double()
    c0 = q.T @ (start - target)  # eigen-coordinates of b0 - b*
    factors = torch.where(keep, 1 - lr * lam, torch.ones_like(lam))
    out = []
    for t in steps:
        b = target + q @ (factors.pow(int(t)) * c0)
        out.append(((x_test.double() @ b - y_test.double()) ** 2).mean())
    return torch.stack(out)
