"""Train/test distribution shift per member: the quantity Carvalho et al. 2025 vary but never
measure. Two views: which subclasses the examples come from (total variation between the
subclass histograms) and where they lie (kernel two-sample statistic on the inputs).
"""

from __future__ import annotations

import torch


def subclass_tv(train: torch.Tensor, test: torch.Tensor, groups: torch.Tensor) -> torch.Tensor:
    """Total-variation distance between each member's train and test histograms of `groups`.

    train, test: `(E, N)` masks; groups: `(N,)` ids. TV = 1/2 sum_g |p_g - q_g|, in [0, 1]:
    0 when both splits hold the subclasses in the same proportions, 1 when disjoint.
    """
    one_hot = torch.nn.functional.one_hot(groups, int(groups.max()) + 1).to(torch.float64)
    p = train.to(torch.float64) @ one_hot  # (E, G) counts
    q = test.to(torch.float64) @ one_hot
    p, q = p / p.sum(1, keepdim=True), q / q.sum(1, keepdim=True)
    return 0.5 * (p - q).abs().sum(1)


def _rbf(x: torch.Tensor, y: torch.Tensor, bandwidth: float) -> torch.Tensor:
    return torch.exp(-torch.cdist(x, y).square() / (2 * bandwidth**2))


def median_bandwidth(x: torch.Tensor) -> float:
    """Median pairwise distance of `x` (Gretton et al. 2012's heuristic)."""
    d = torch.cdist(x, x)
    return float(d[torch.triu(torch.ones_like(d, dtype=torch.bool), 1)].median())


def mmd_rbf(x: torch.Tensor, y: torch.Tensor, bandwidth: float) -> float:
    """Unbiased MMD^2 between samples x `(m, d)` and y `(n, d)` with an RBF kernel
    (Gretton et al. 2012, Eq. 3): ~0 (may dip below) for one distribution, > 0 otherwise."""
    m, n = len(x), len(y)
    kxx, kyy, kxy = _rbf(x, x, bandwidth), _rbf(y, y, bandwidth), _rbf(x, y, bandwidth)
    xx = (kxx.sum() - kxx.diagonal().sum()) / (m * (m - 1))
    yy = (kyy.sum() - kyy.diagonal().sum()) / (n * (n - 1))
    return float(xx + yy - 2 * kxy.mean())


def distribution_shift(inputs: torch.Tensor, train: torch.Tensor, test: torch.Tensor,
                       groups: torch.Tensor | None = None, max_samples: int = 1000,
                       seed: int = 0) -> dict[str, list[float]]:
    """Shift between each member's train split and its test split: `shift_tv` (subclass
    histograms, when `groups` is given) and `shift_mmd` (RBF MMD^2 on the inputs).

    MMD uses at most `max_samples` examples of each side (a fixed-seed draw) and one bandwidth
    for every member, the median distance within the test sample, so values are comparable
    across members and settings.
    """
    generator = torch.Generator().manual_seed(seed)
    x = inputs.to(torch.float64).cpu()
    train, test = train.cpu(), test.cpu()

    def sample(mask: torch.Tensor) -> torch.Tensor:
        rows = mask.nonzero().squeeze(1)
        keep = torch.randperm(len(rows), generator=generator)[:max_samples]
        return x[rows[keep.sort().values]]

    out: dict[str, list[float]] = {}
    if groups is not None:
        out["shift_tv"] = subclass_tv(train, test, groups.cpu()).tolist()
    shared_test = bool((test == test[0]).all())
    y0 = sample(test[0])
    bandwidth = median_bandwidth(y0)
    out["shift_mmd"] = [
        mmd_rbf(sample(train[e]), y0 if shared_test else sample(test[e]), bandwidth)
        for e in range(train.shape[0])
    ]
    return out
