"""Sparse-subnetwork test (the lottery-ticket view of grokking, e.g. Minegishi et al. 2024):
prune each member's smallest-magnitude weights and measure what the remaining network still
does. A network that has grokked keeps its test accuracy at sparsities where a memorizing
one loses it."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from grokscope.models.cohort import CohortModule


def prunable(model: CohortModule) -> list[torch.nn.Parameter]:
    """The weight matrices and embedding tables (parameters with 2+ dims per member); biases
    and norm gains are kept, as in magnitude pruning (Han et al. 2015; Frankle & Carbin 2019)."""
    return [p for p in model.parameters() if p.dim() >= 3]


@torch.no_grad()
def magnitude_masks(weights: Sequence[torch.Tensor], sparsity: float) -> list[torch.Tensor]:
    """Keep-masks removing the `sparsity` share of each member's weights with the smallest
    |w|, pooled over all its matrices (global pruning): one bool mask per tensor."""
    magnitudes = torch.cat([w.abs().flatten(1) for w in weights], dim=1)  # (E, M)
    k = int(sparsity * magnitudes.shape[1])
    if k == 0:
        return [torch.ones_like(w, dtype=torch.bool) for w in weights]
    threshold = magnitudes.kthvalue(k, dim=1).values  # (E,)
    return [w.abs() > threshold.view(-1, *[1] * (w.dim() - 1)) for w in weights]


@torch.no_grad()
def pruned_accuracy(model: CohortModule, sparsities: Sequence[float],
                    test_accuracy: Callable[[], torch.Tensor]) -> dict[str, torch.Tensor]:
    """`pruning/test_acc@s` `(E,)` for each sparsity s: `test_accuracy()` with the pruned
    weights; the weights are restored afterwards, bit for bit."""
    weights = prunable(model)
    saved = [w.detach().clone() for w in weights]
    out = {}
    try:
        for sparsity in sparsities:
            for w, original, keep in zip(weights, saved, magnitude_masks(saved, sparsity),
                                         strict=True):
                w.copy_(original * keep)
            out[f"pruning/test_acc@{sparsity:g}"] = test_accuracy()
    finally:
        for w, original in zip(weights, saved, strict=True):
            w.copy_(original)
    return out
