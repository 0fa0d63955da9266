"""Class -> subclass Gaussian datasets of Carvalho et al. 2025 ("Grokking Explained").

Every subclass is a 9-bit code; bit l picks one of two centres of coordinate group l (13
coordinates each, 117 features in all). The two centres of a group are exactly 1 apart, so the
distance between two subclass centroids is sqrt(Hamming distance of their codes). Classes are
unions of subclasses; the model sees only the class. Generator details follow the first
author's thesis (research/carvalho2025.md §3.2); the authors' data files are not public, so
the statistics match theirs but the random draws do not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from grokscope.errors import ConfigError
from grokscope.tasks.base import TaskData

# Dataset 1 (equidistant, App. A.1): all 28 pairs at Hamming distance 2; consecutive pairs
# of the sorted list form the 4 classes. Hard-coded: a max-clique solver finds other codes.
EQUIDISTANT_CODES = (192, 320, 384, 449, 450, 452, 456, 464)
# Dataset 2 (equivariant, App. A.2): 4 seeds at mutual Hamming distance 6; each class is a
# seed and its Hamming-1 neighbours.
EQUIVARIANT_SEEDS = (63, 240, 323, 396)


@dataclass(frozen=True)
class GroupGeometry:
    """Per bit-group centres and noise map: x_l = mu[b_l(code)][l] + eta @ mixing[l]."""

    centres: np.ndarray  # (2, p, r): centres[bit, group]
    mixing: np.ndarray  # (p, r, r): A_l = S_l R_l, covariance A_l^T A_l

    @property
    def n_features(self) -> int:
        return self.centres.shape[1] * self.centres.shape[2]

    def centroid(self, code: int) -> np.ndarray:
        """Mean of subclass `code`: `(p * r,)`."""
        bits = [(code >> group) & 1 for group in range(self.centres.shape[1])]
        return np.concatenate([self.centres[b, g] for g, b in enumerate(bits)])

    def sample(self, code: int, n: int, rng: np.random.Generator) -> np.ndarray:
        """`n` draws of subclass `code`: `(n, p * r)`."""
        p, r = self.centres.shape[1:]
        noise = rng.standard_normal((p, n, r))
        parts = [self.centroid(code)[g * r:(g + 1) * r] + noise[g] @ self.mixing[g]
                 for g in range(p)]
        return np.hstack(parts)


def group_geometry(bits: int = 9, dims: int = 13, scale: float = 0.125, jitter: float = 0.25,
                   rotation: tuple[float, float] = (math.pi / 6, math.pi / 3),
                   seed: int = 10101) -> GroupGeometry:
    """Draw the per-group centres, scales and rotations once (thesis, Algorithm 'Sample
    generation'): mu0 ~ U[-1, 1]^r, mu1 = mu0 + unit vector; diagonal scale
    `scale * (1 + jitter * eps * xi)`; rotation = product of Givens rotations over all
    coordinate pairs with |theta| uniform in `rotation`. One covariance per group, shared by
    both bit values."""
    rng = np.random.default_rng(seed)
    centres = np.empty((2, bits, dims))
    mixing = np.empty((bits, dims, dims))
    lo, hi = rotation
    for group in range(bits):
        mu0 = rng.uniform(-1, 1, dims)
        direction = rng.uniform(-1, 1, dims)
        centres[0, group], centres[1, group] = mu0, mu0 + direction / np.linalg.norm(direction)
        diag = [scale * (1 + jitter * rng.choice([-1, 1]) * rng.uniform()) for _ in range(dims)]
        rot = np.eye(dims)
        for k in range(dims):
            for k2 in range(k + 1, dims):
                theta = rng.choice([-1, 1]) * (lo + (hi - lo) * rng.uniform())
                givens = np.eye(dims)
                c, s = math.cos(theta), math.sin(theta)
                givens[k, k] = givens[k2, k2] = c
                givens[k, k2], givens[k2, k] = -s, s
                rot = rot @ givens
        mixing[group] = np.diag(diag) @ rot
    return GroupGeometry(centres, mixing)


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def equidistant_classes() -> list[list[int]]:
    """Dataset 1: 4 classes of 2 subclass codes, C1 = {192, 320}, ..., C4 = {456, 464}."""
    codes = sorted(EQUIDISTANT_CODES)
    return [codes[i:i + 2] for i in range(0, len(codes), 2)]


def equivariant_classes(bits: int = 9) -> list[list[int]]:
    """Dataset 2: class i = seed i and its `bits` Hamming-1 neighbours, codes sorted.

    The relabelling of the released files is unknown; ours (research notes, [OURS]): class =
    position of the seed in the sorted seed list, subclass id = 10 * class + rank in class.
    """
    return [sorted([seed] + [seed ^ (1 << b) for b in range(bits)])
            for seed in sorted(EQUIVARIANT_SEEDS)]


@dataclass(frozen=True)
class SubclassSpec:
    """Everything that determines a subclass dataset; hashable, so builds are cached."""

    layout: str  # equidistant | equivariant
    bits: int = 9
    dims: int = 13
    scale: float = 0.125
    jitter: float = 0.25
    rotation: tuple[float, float] = (math.pi / 6, math.pi / 3)
    generator_seed: int = 10101
    samples_per_subclass: int = 10_000
    pool_fraction: float = 0.6
    pool_size: int = 20_000
    test_size: int = 10_000
    standardize: bool = False  # z-score features by the train pool's statistics


def subclass_codes(spec: SubclassSpec) -> list[list[int]]:
    if spec.layout == "equidistant":
        if spec.bits < 9:
            raise ConfigError(f"task 'equidistant': bits must be >= 9 (the codes use 9), "
                              f"got {spec.bits}")
        return equidistant_classes()
    if spec.bits < 9:
        raise ConfigError(f"task 'equivariant': bits must be >= 9 (the seeds use 9), "
                          f"got {spec.bits}")
    return equivariant_classes(spec.bits)


def _per_subclass(total: int, n_subclasses: int, available: int, what: str,
                  layout: str) -> int:
    count = total // n_subclasses
    if count < 1 or count > available:
        raise ConfigError(
            f"task '{layout}': {what} {total} gives {count} per subclass over {n_subclasses} "
            f"subclasses; allowed: 1..{available} per subclass"
        )
    return count


@lru_cache(maxsize=8)
def subclass_task(spec: SubclassSpec) -> TaskData:
    """Pools and test set of a subclass dataset (thesis §3.4), built once per spec.

    Per subclass: draw `samples_per_subclass` examples, split them `pool_fraction` / rest
    (a stratified split), then keep a balanced `pool_size / S` of the first part (the train
    pool splits draw from) and `test_size / S` of the second (the test set, the same for every
    imbalance factor and member). Rows: the train pool, then the test set; groups
    `subclass`, `class` and `in_test` travel with them. With `standardize`, every feature is
    z-scored by the train pool's mean and std: the pool is balanced, so that is the
    population's scale, and one map serves every member and the test set alike.
    """
    classes = subclass_codes(spec)
    codes = [code for members in classes for code in members]
    n_sub = len(codes)
    n_pool_side = int(spec.samples_per_subclass * spec.pool_fraction)
    pool_k = _per_subclass(spec.pool_size, n_sub, n_pool_side, "pool_size", spec.layout)
    test_k = _per_subclass(spec.test_size, n_sub, spec.samples_per_subclass - n_pool_side,
                           "test_size", spec.layout)
    geometry = group_geometry(spec.bits, spec.dims, spec.scale, spec.jitter, spec.rotation,
                              spec.generator_seed)
    rng = np.random.default_rng([spec.generator_seed, 1])  # sample draws, apart from geometry
    pool, test = [], []
    for code in codes:
        x = geometry.sample(code, spec.samples_per_subclass, rng)
        order = rng.permutation(spec.samples_per_subclass)
        pool_side, test_side = order[:n_pool_side], order[n_pool_side:]
        pool.append(x[rng.choice(pool_side, pool_k, replace=False)])
        test.append(x[rng.choice(test_side, test_k, replace=False)])
    subclass_of = np.repeat(np.arange(n_sub), [pool_k] * n_sub).tolist() + \
        np.repeat(np.arange(n_sub), [test_k] * n_sub).tolist()
    class_of_sub = [c for c, members in enumerate(classes) for _ in members]
    subclass = torch.tensor(subclass_of, dtype=torch.int64)
    klass = torch.tensor(class_of_sub)[subclass]
    in_test = torch.cat([torch.zeros(n_sub * pool_k, dtype=torch.int64),
                         torch.ones(n_sub * test_k, dtype=torch.int64)])
    features = np.vstack(pool + test)
    if spec.standardize:
        train_pool = features[: n_sub * pool_k]
        features = (features - train_pool.mean(axis=0)) / train_pool.std(axis=0)
    inputs = torch.from_numpy(features).to(torch.float32)
    return TaskData(
        name=spec.layout, inputs=inputs, labels=klass.clone(), n_classes=len(classes),
        groups={"subclass": subclass, "class": klass, "in_test": in_test},
        meta={"codes": codes, "subclass_class": class_of_sub, "pool_per_subclass": pool_k,
              "test_per_subclass": test_k, "tokens": (spec.bits, spec.dims)},
    )
