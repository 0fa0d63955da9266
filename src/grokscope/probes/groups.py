"""Accuracy per group of examples (operand value, subclass): which part of the test set a
member has learned, e.g. the under-sampled subclasses of Carvalho et al. 2025."""

from __future__ import annotations

import torch


def group_accuracy(correct: torch.Tensor, mask: torch.Tensor, groups: torch.Tensor,
                   n_groups: int | None = None) -> torch.Tensor:
    """Mean of `correct` `(E, N)` per group id over the `(E, N)` or `(N,)` mask: `(E, G)`.

    A group with no example under the mask gets NaN, not a misleading 0. Pass `n_groups`
    (G) when known, to spare a device-to-host sync.
    """
    n_groups = n_groups or int(groups.max()) + 1
    weights = mask.to(correct.dtype).expand_as(correct)
    hits = torch.zeros(correct.shape[0], n_groups, dtype=correct.dtype, device=correct.device)
    counts = torch.zeros_like(hits)
    hits.index_add_(1, groups, correct * weights)
    counts.index_add_(1, groups, weights)
    return hits / counts.where(counts > 0, torch.nan)
