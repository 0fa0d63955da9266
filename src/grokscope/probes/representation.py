"""Representation probes: how compressed the penultimate representation is, and whether the
softmax has collapsed.

Effective rank (Roy & Vetterli 2007) falls as a grokking network trades a memorizing
representation for a structured low-dimensional one. Softmax collapse (Prieto et al. 2025):
once a training example's logit margin is so large that its float32 loss rounds to exactly
0, its gradient vanishes too, which can stall grokking without regularization.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def effective_rank(x: torch.Tensor) -> torch.Tensor:
    """exp(entropy of the normalized singular values) of each member's centered `(n, d)`
    matrix, x `(E, n, d)` -> `(E,)`: k for k equal non-zero singular values, 1..min(n, d)."""
    x = x.to(torch.float64)
    s = torch.linalg.svdvals(x - x.mean(1, keepdim=True))
    p = s / s.sum(1, keepdim=True).clamp_min(1e-300)
    entropy = -(p * p.clamp_min(1e-300).log()).sum(1)
    return entropy.exp()


def softmax_collapse(logits: torch.Tensor, labels: torch.Tensor,
                     weights: torch.Tensor) -> torch.Tensor:
    """Share of training examples whose float32 cross-entropy is exactly 0, `(E,)`.

    logits `(E, n, C)`, labels `(E, n)`, weights `(E, n)`: 1/n per real row, 0 for padding.
    """
    loss = F.cross_entropy(logits.float().transpose(1, 2), labels, reduction="none")
    return ((loss == 0).to(weights.dtype) * weights).sum(1)


def collapse_shares(logits: torch.Tensor, per_example_loss: torch.Tensor, weights: torch.Tensor,
                    dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """Prieto et al. 2025's two numerics measures, `(E,)` each, in `dtype` (their `logger.py`):

    - softmax collapse: share of examples whose sum_j exp(z_j - max z) is exactly 1 in that
      precision, i.e. every other class's exp underflows and the softmax is one-hot;
    - zero terms: share of examples whose loss (`per_example_loss`, `(E, n)`, the run's
      loss in that precision) is exactly 0, so they contribute no gradient.
    """
    z = logits.to(dtype)
    total = (z - z.amax(-1, keepdim=True)).exp().sum(-1)
    collapsed = ((total == 1).to(weights.dtype) * weights).sum(1)
    zero = ((per_example_loss == 0).to(weights.dtype) * weights).sum(1)
    return collapsed, zero
