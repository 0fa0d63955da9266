"""The optimizers people name, as chains of links.

- AdamW = scale by Adam, decoupled weight decay, scale by the learning rate (with warm-up and
  Adam's bias correction); member by member equal to torch.optim.AdamW (a test checks it).
- Adam = coupled weight decay (wd * p added to the gradient, L2 regularization), scale by
  Adam, learning rate: torch.optim.Adam. Not AdamW: Grokfast's baseline and Prieto et al.'s
  `Adam` runs use it, and with wd > 0 it is a different method (Loshchilov & Hutter 2019).
- SGD = coupled weight decay (wd * p added to the gradient), momentum trace, learning rate;
  equal to torch.optim.SGD. Kumar et al. 2024 grok with plain gradient descent and no
  regularization; AdamW's per-coordinate scaling would hide the output scale's effect.

Gradient transforms given as `transforms` (clipping, filters) come first, on the raw
gradients.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

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


def adam(lr: torch.Tensor, weight_decay: torch.Tensor, b1: torch.Tensor, b2: torch.Tensor,
         eps: float = 1e-8, warmup_steps: int = 0,
         transforms: Sequence[Transform] = ()) -> Transform:
    rate = ScaleByLearningRate(lr, warmup_steps, bias_correction=b1)
    return chain(*transforms, AddDecayedWeights(weight_decay), ScaleByAdam(b1, b2, eps), rate)


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


# optim.name -> the chain, from the per-member columns `column(name) -> (E,)`, the optim
# settings and the gradient transforms that come first
Builder = Callable[[Callable[[str], torch.Tensor], Any, Sequence[Transform]], Transform]
OPTIMIZERS: dict[str, Builder] = {
    "adamw": lambda column, o, links: adamw(column("lr"), column("weight_decay"),
                                            column("beta1"), column("beta2"), o.eps,
                                            o.warmup_steps, links),
    "adam": lambda column, o, links: adam(column("lr"), column("weight_decay"), column("beta1"),
                                          column("beta2"), o.eps, o.warmup_steps, links),
    "sgd": lambda column, o, links: sgd(column("lr"), column("weight_decay"), o.momentum,
                                        o.warmup_steps, links),
}
