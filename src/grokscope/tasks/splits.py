"""Split policies: a task plus a member's seed gives that member's train mask."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import torch

from grokscope.errors import ConfigError


def uniform_split(n_examples: int, fraction: float, seed: int) -> torch.Tensor:
    """A `(N,)` train mask holding exactly round(fraction * N) examples drawn uniformly.

    The mask depends only on (N, fraction, seed), so a member gets the same split whether it
    is trained alone or inside any cohort. Test is the complement.
    """
    if not 0.0 < fraction < 1.0:
        raise ConfigError(f"split 'uniform': fraction must be in (0, 1), got {fraction}")
    n_train = round(fraction * n_examples)
    if n_train < 1 or n_train > n_examples - 1:
        raise ConfigError(
            f"split 'uniform': fraction {fraction} of {n_examples} examples leaves "
            f"{n_train} for training and {n_examples - n_train} for test; both must be >= 1"
        )
    generator = torch.Generator().manual_seed(int(seed))
    order = torch.randperm(n_examples, generator=generator)
    mask = torch.zeros(n_examples, dtype=torch.bool)
    mask[order[:n_train]] = True
    return mask


def pool_split(pool: torch.Tensor, n_train: int, seed: int, task: str = "task") -> torch.Tensor:
    """A `(N,)` train mask of `n_train` rows drawn uniformly from the `(N,)` pool mask.

    Depends only on (pool, n_train, seed): the same alone or in any cohort. With a pool of
    all examples, at least one example must be left for the test set.
    """
    rows = pool.nonzero().squeeze(1)
    limit = len(rows) - int(bool(pool.all()))
    if not 1 <= n_train <= limit:
        raise ConfigError(f"split 'pool': n_train must be in 1..{limit} (task '{task}' has "
                          f"{len(rows)} pool examples), got {n_train}")
    generator = torch.Generator().manual_seed(int(seed))
    mask = torch.zeros(pool.shape[0], dtype=torch.bool)
    mask[rows[torch.randperm(len(rows), generator=generator)[:n_train]]] = True
    return mask


def undersampled_subclasses(subclass_class: list[int], seed: int = 0) -> list[int]:
    """Half of each class's subclasses (floor), drawn uniformly with a fixed seed (thesis).

    `subclass_class[k]` is the class of subclass k. The choice is a property of the
    experiment, not of a member: every member under-samples the same subclasses.
    """
    rng = np.random.default_rng(seed)
    chosen: list[int] = []
    for klass in sorted(set(subclass_class)):
        members = [k for k, c in enumerate(subclass_class) if c == klass]
        chosen += rng.choice(members, len(members) // 2, replace=False).tolist()
    return sorted(chosen)


def eq1_counts(n_train: int, f: float, n_under: int, n_rest: int) -> tuple[int, int]:
    """Per-subclass training counts (s_s, s_r) by Eq. 1 of Carvalho et al. 2025.

    s_s = ceil(f n / (f g_s + g_r)) for each under-sampled subclass and
    s_r = floor(n / (f g_s + g_r)) for the others, so f ~ s_s / s_r and the total stays near
    n. Exact rational arithmetic: f is read as the decimal it was written as.
    """
    frac = Fraction(str(f))
    denominator = frac * n_under + n_rest
    return math.ceil(frac * n_train / denominator), math.floor(n_train / denominator)


def exact_counts(n_train: int, f: float, undersampled: list[bool],
                 shares: list[int] | None = None) -> list[int]:
    """The thesis variant of Eq. 1: weights f / 1, sizes round(n w / sum w), then the residual
    is fixed at the largest (or smallest) fractional remainders so the total is exactly n.

    With `shares` (e.g. each subclass's pool size) the weights are f * share / share, so f = 1
    keeps the subclasses in their natural proportions: Eq. 1 for subclasses of unequal size.
    """
    base = shares or [1] * len(undersampled)
    weights = [Fraction(str(f)) * b if u else Fraction(b)
               for u, b in zip(undersampled, base, strict=True)]
    ideal = [n_train * w / sum(weights) for w in weights]
    sizes = [round(x) for x in ideal]
    residual = n_train - sum(sizes)
    remainders = sorted(range(len(ideal)), key=lambda k: ideal[k] - sizes[k],
                        reverse=residual > 0)
    for k in remainders[:abs(residual)]:
        sizes[k] += 1 if residual > 0 else -1
    return sizes


COUNT_RULES = ("eq1", "exact", "proportional")


def subclass_counts(n_train: int, f: float, undersampled: list[bool], counts: str = "eq1",
                    available: int | list[int] | None = None) -> list[int]:
    """Training examples per subclass for a target size n_train and imbalance factor f.

    f = 0 removes the under-sampled subclasses, f = 1 is balanced (`eq1`, `exact`) or in the
    pool's proportions (`proportional`, which needs `available` per subclass). Raises
    ConfigError naming the field when the request cannot be met.
    """
    if not 0.0 <= f <= 1.0:
        raise ConfigError(f"split 'subclass_shift': f must be in [0, 1], got {f}")
    if counts not in COUNT_RULES:
        raise ConfigError(f"split.counts: unknown rule {counts!r} (allowed: "
                          f"{', '.join(COUNT_RULES)})")
    limits = ([available] * len(undersampled) if isinstance(available, int) else available)
    pool = sum(limits) if limits is not None else None
    if n_train < 1 or (pool is not None and n_train > pool):
        raise ConfigError(f"split 'subclass_shift': n_train must be in 1..{pool}, got {n_train}")
    if counts == "proportional":
        if limits is None:
            raise ValueError("counts 'proportional' needs the pool size of every subclass")
        sizes = exact_counts(n_train, f, undersampled, limits)
    elif counts == "exact":
        sizes = exact_counts(n_train, f, undersampled)
    else:
        s_s, s_r = eq1_counts(n_train, f, sum(undersampled), len(undersampled) - sum(undersampled))
        sizes = [s_s if u else s_r for u in undersampled]
    kept = [s for s, u in zip(sizes, undersampled, strict=True) if not u or f > 0]
    if min(kept) < 1:
        raise ConfigError(
            f"split 'subclass_shift': n_train {n_train} with f {f} leaves {min(kept)} examples "
            f"for a kept subclass; allowed: n_train large enough for >= 1 per kept subclass"
        )
    if limits is not None:
        over = [(s, a) for s, a in zip(sizes, limits, strict=True) if s > a]
        if over:
            raise ConfigError(
                f"split 'subclass_shift': n_train {n_train} with f {f} needs {over[0][0]} "
                f"examples of one subclass but its pool holds {over[0][1]}; allowed: a smaller "
                "n_train"
            )
    return sizes


def subclass_shift(subclass: torch.Tensor, in_pool: torch.Tensor, n_train: int, f: float,
                   seed: int, undersampled: list[int], counts: str = "eq1") -> torch.Tensor:
    """A `(N,)` train mask drawn from the train pool with imbalanced subclass sampling.

    Carvalho et al. 2025 (§4, Eq. 1): the subclasses in `undersampled` get about f times as
    many examples as the others; the draw (without replacement, per subclass) depends only
    on (pool, n_train, f, seed), so a member's split is the same alone or in any cohort.
    """
    n_sub = int(subclass.max()) + 1
    rows = [((subclass == k) & in_pool).nonzero().squeeze(1) for k in range(n_sub)]
    flags = [k in set(undersampled) for k in range(n_sub)]
    sizes = subclass_counts(n_train, f, flags, counts, available=[len(r) for r in rows])
    generator = torch.Generator().manual_seed(int(seed))
    mask = torch.zeros(subclass.shape[0], dtype=torch.bool)
    for k, size in enumerate(sizes):
        order = torch.randperm(len(rows[k]), generator=generator)
        mask[rows[k][order[:size]]] = True
    return mask
