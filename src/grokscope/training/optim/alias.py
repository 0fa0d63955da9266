"""The optimizers people name, as chains of links.

- AdamW = scale by Adam, decoupled weight decay, scale by the learning rate (with warm-up and
  Adam's bias correction); member by member equal to torch.optim.AdamW (a test checks it).
- SGD = coupled weight decay (wd * p added to the gradient), momentum trace, learning rate;
  equal to torch.optim.SGD. Kumar et al. 2024 grok with plain gradient descent and no
  regularization; AdamW's per-coordinate scaling would hide the output scale's effect.

Gradient transforms given as `transforms` (clipping, filters) come first, on the raw
gradients.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from grokscope.training.optim.base import CohortOptimizer, Transform, chain
from grokscope.training.optim.transforms import (
    AddDecayedWeights,
    DecoupledWeightDecay,
    ScaleByAdam,
    ScaleByLearningRate,
    Trace,
)


def adamw(lr: torch.Tensor, weight_decay: torch.Tensor, b1: torch.Tensor, b2: torch.Tensor,
          eps: float = 1e-8, warmup_steps: int = 0,
          transforms: Sequence[Transform] = ()) -> Transform:
    rate = ScaleByLearningRate(lr, warmup_steps, bias_correction=b1)
    return chain(*transforms, ScaleByAdam(b1, b2, eps), DecoupledWeightDecay(weight_decay, rate),
                 rate)


def sgd(lr: torch.Tensor, weight_decay: torch.Tensor, momentum: float = 0.0,
        warmup_steps: int = 0, transforms: Sequence[Transform] = ()) -> Transform:
    links: list[Transform] = [*transforms, AddDecayedWeights(weight_decay)]
    if momentum:
        links.append(Trace(momentum))
    return chain(*links, ScaleByLearningRate(lr, warmup_steps))


def CohortAdamW(params: Sequence[torch.nn.Parameter], lr: torch.Tensor,  # noqa: N802
                weight_decay: torch.Tensor, beta1: torch.Tensor, beta2: torch.Tensor,
                eps: float = 1e-8, warmup_steps: int = 0,
                transforms: Sequence[Transform] = ()) -> CohortOptimizer:
    """AdamW over stacked parameters `(E, ...)` with `(E,)` lr, weight decay, beta1, beta2."""
    return CohortOptimizer(params, adamw(lr, weight_decay, beta1, beta2, eps, warmup_steps,
                                         transforms))


def CohortSGD(params: Sequence[torch.nn.Parameter], lr: torch.Tensor,  # noqa: N802
              weight_decay: torch.Tensor, momentum: float = 0.0, warmup_steps: int = 0,
              transforms: Sequence[Transform] = ()) -> CohortOptimizer:
    """SGD over stacked parameters with `(E,)` lr and weight decay, as torch.optim.SGD."""
    return CohortOptimizer(params, sgd(lr, weight_decay, momentum, warmup_steps, transforms))
