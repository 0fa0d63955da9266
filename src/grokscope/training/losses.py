"""Per-example losses over a cohort's logits, in an explicit precision.

Precision is a recorded setting, not an accident: float32 softmax can collapse (Prieto et al.
2025), Nanda et al. compute the loss in float64.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from grokscope.config.components import loss_function

DTYPES = {"float16": torch.float16, "float32": torch.float32, "float64": torch.float64}


def per_example_loss(
    logits: torch.Tensor, labels: torch.Tensor,
    kind: str | Callable[..., torch.Tensor] = "cross_entropy", dtype: str = "float32"
) -> torch.Tensor:
    """logits `(E, n, C)`, labels `(E, n)` or `(n,)` -> loss `(E, n)`.

    `kind` is a registered loss name or the function itself: a compiled step passes the
    function, resolved once, since a registry lookup inside the traced region breaks the graph
    (the lookup imports a module) into pieces that each compile.

    `mse` is Omnigrok's (Liu et al. 2023) squared error to one-hot targets, averaged over the
    classes as nn.MSELoss does; for float labels (a regression, C = 1) the squared error to
    the target.
    """
    logits = logits.to(DTYPES[dtype])
    labels = labels.expand(logits.shape[:-1])
    if labels.is_floating_point():
        return (logits[..., 0] - labels).pow(2)
    return (kind if callable(kind) else loss_function(kind))(logits, labels)


def _cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits.flatten(0, 1), labels.flatten(), reduction="none").view(
        labels.shape)


def stablemax(x: torch.Tensor) -> torch.Tensor:
    """s(x) = x + 1 for x >= 0, 1 / (1 - x) below (Prieto et al. 2025, Eq. 4): a softmax
    substitute that grows linearly, so large logits cannot make a probability round to 1.

    The negative branch reads x clamped at 0: torch.where differentiates both branches, and
    1 / (1 - x) at a logit of exactly 1 would put 0 * inf = NaN into the gradient (Prieto
    et al.'s code guards the same point with a 1e-30 in the denominator)."""
    return torch.where(x < 0, 1 / (1 - x.clamp(max=0)), x + 1)


def log_stablemax(logits: torch.Tensor) -> torch.Tensor:
    """log(s(x_i) / sum_j s(x_j)) over the last axis, as the paper's `log_stablemax`."""
    s = stablemax(logits)
    return torch.log(s / s.sum(-1, keepdim=True))


def _stablemax_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return -log_stablemax(logits).gather(-1, labels.unsqueeze(-1)).squeeze(-1)


def _mse(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    target = F.one_hot(labels, logits.shape[-1]).to(logits.dtype)
    return (logits - target).pow(2).mean(-1)


def correct(logits: torch.Tensor, labels: torch.Tensor, tolerance: float | None = None,
            ) -> torch.Tensor:
    """Per-example hits `(E, n)`: argmax == label, or for a regression (tolerance given)
    |output - target| < tolerance."""
    if tolerance is None:
        return logits.argmax(-1) == labels
    return (logits[..., 0] - labels).abs() < tolerance
