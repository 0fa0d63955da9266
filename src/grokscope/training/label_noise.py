"""Label noise: each member's own corrupted copy of the labels on its training examples.

A share of a member's training examples gets a label drawn uniformly from the *other*
classes, from the member's split seed alone (so two members with the same split and noise
see the same corruption, and a resumed run the same). Test labels stay clean. Label noise
is the classic trigger of epoch-wise double descent (Nakkiran et al. 2020): the test loss
falls, rises while the network fits the noisy labels, and may fall again.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

SALT = 7_919  # keeps the noise draw apart from the split's own draws of the same seed


def noisy_labels(labels: torch.Tensor, train: torch.Tensor, shares: Sequence[float],
                 seeds: Sequence[int], n_classes: int) -> torch.Tensor:
    """`(E, N)` labels: row e is `labels` with round(share_e x |train_e|) of member e's
    training examples relabelled to another class, uniformly."""
    out = labels.unsqueeze(0).repeat(len(shares), 1)
    for member, (share, seed) in enumerate(zip(shares, seeds, strict=True)):
        rows = train[member].nonzero().squeeze(1).cpu()
        k = round(share * len(rows))
        if k == 0:
            continue
        generator = torch.Generator().manual_seed(int(seed) * 1_000_003 + SALT)
        chosen = rows[torch.randperm(len(rows), generator=generator)[:k]]
        shift = torch.randint(1, n_classes, (k,), generator=generator)
        chosen = chosen.to(labels.device)
        out[member, chosen] = (labels[chosen] + shift.to(labels.device)) % n_classes
    return out
