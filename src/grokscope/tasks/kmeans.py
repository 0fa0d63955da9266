"""k-means (Lloyd's algorithm, k-means++ seeding) in torch: small, seeded, dependency-free."""

from __future__ import annotations

import torch


def kmeans(x: torch.Tensor, k: int, seed: int = 0, restarts: int = 4,
           iterations: int = 100) -> torch.Tensor:
    """Cluster ids `(n,)` of the rows of x `(n, d)`, best (lowest inertia) of `restarts` runs.

    Ids are ordered by cluster size, largest first, so they do not depend on the arbitrary
    order in which centres were found.
    """
    if k > len(x):
        raise ValueError(f"k-means: k={k} exceeds the {len(x)} points")
    generator = torch.Generator().manual_seed(seed)
    best, best_inertia = None, float("inf")
    for _ in range(restarts):
        centres = _plus_plus(x, k, generator)
        for _ in range(iterations):
            labels = torch.cdist(x, centres).argmin(1)
            moved = torch.stack([x[labels == j].mean(0) if (labels == j).any() else centres[j]
                                 for j in range(k)])
            if torch.allclose(moved, centres):
                break
            centres = moved
        labels = torch.cdist(x, centres).argmin(1)
        inertia = float((x - centres[labels]).square().sum())
        if inertia < best_inertia:
            best, best_inertia = labels, inertia
    sizes = torch.bincount(best, minlength=k)
    rank = torch.empty(k, dtype=torch.int64)
    rank[torch.argsort(sizes, descending=True, stable=True)] = torch.arange(k)
    return rank[best]


def _plus_plus(x: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
    """k-means++ seeding (Arthur & Vassilvitskii 2007): next centre drawn with probability
    proportional to the squared distance to the nearest centre so far."""
    first = torch.randint(len(x), (1,), generator=generator)
    centres = [x[first[0]]]
    for _ in range(1, k):
        d2 = torch.cdist(x, torch.stack(centres)).min(1).values.square()
        pick = torch.multinomial(d2 / d2.sum(), 1, generator=generator)
        centres.append(x[pick[0]])
    return torch.stack(centres)
