"""The tiny grokking problem both trainer tests use: a+b mod 31, 60% of the pairs to train
on, a plain MLP that memorizes by step ~30 and generalizes after ~1,200 full-batch AdamW
steps on one CPU core (weight decay 1)."""

from __future__ import annotations

import torch
from torch import nn

P = 31


def split() -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """((x_train, y_train), (x_test, y_test)): operand pairs `(n, 2)` and their sums mod P."""
    g = torch.Generator().manual_seed(0)
    a, b = torch.cartesian_prod(torch.arange(P), torch.arange(P)).T
    x, y = torch.stack([a, b], 1), (a + b) % P
    perm = torch.randperm(len(y), generator=g)
    cut = len(y) * 6 // 10
    return (x[perm[:cut]], y[perm[:cut]]), (x[perm[cut:]], y[perm[cut:]])


def mlp() -> nn.Module:
    """Embedding, one hidden ReLU layer, readout; the same weights at every call."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Embedding(P, 32), nn.Flatten(), nn.Linear(64, 128), nn.ReLU(),
                         nn.Linear(128, P))
