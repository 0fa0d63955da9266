"""Polynomial regression on Gaussian inputs (Kumar et al. 2024, "Grokking as the transition
from lazy to rich training dynamics"): grokking without any regularization.

x ~ N(0, I_dim); the target is a single-index polynomial y = sum_k c_k He_k(beta . x) / sqrt(k!)
of a unit direction beta drawn from `seed`, with He_k the probabilists' Hermite polynomials,
orthonormal under N(0, 1): Var(y) = sum_{k>=1} c_k^2 exactly. A network that starts lazy fits
the training set with its initial features (a kernel regression) and only later learns beta.
Accuracy for a regression is the share of examples within `tolerance * std(y)` of the target.
"""

from __future__ import annotations

import math

import torch

from grokscope.errors import ConfigError
from grokscope.tasks.base import TaskData


def hermite(k: int, z: torch.Tensor) -> torch.Tensor:
    """Probabilists' Hermite polynomial He_k(z): He_0 = 1, He_1 = z,
    He_{k+1} = z He_k - k He_{k-1}."""
    previous, current = torch.ones_like(z), z
    if k == 0:
        return previous
    for j in range(1, k):
        previous, current = current, z * current - j * previous
    return current


def target_std(coefficients: list[float]) -> float:
    return math.sqrt(sum(c * c for c in coefficients[1:]))


def polynomial(dim: int = 100, coefficients: tuple[float, ...] = (0.0, 0.0, 1.0),
               pool_size: int = 1000, test_size: int = 2000, seed: int = 0,
               tolerance: float = 0.1) -> TaskData:
    """`pool_size` training-pool rows then `test_size` test rows (group `in_test`)."""
    coefficients = list(coefficients)
    if not coefficients or target_std(coefficients) == 0:
        raise ConfigError("task 'polynomial': coefficients must give a non-constant target "
                          f"(some c_k != 0 for k >= 1), got {coefficients}")
    generator = torch.Generator().manual_seed(int(seed))
    beta = torch.randn(dim, generator=generator, dtype=torch.float64)
    beta /= beta.norm()
    n = pool_size + test_size
    x = torch.randn(n, dim, generator=generator, dtype=torch.float64)
    z = x @ beta
    y = sum(c * hermite(k, z) / math.sqrt(math.factorial(k))
            for k, c in enumerate(coefficients) if c)
    in_test = torch.zeros(n, dtype=torch.int64)
    in_test[pool_size:] = 1
    return TaskData(
        name="polynomial",
        inputs=x.float(),
        labels=y.float(),
        n_classes=1,
        groups={"in_test": in_test},
        meta={"dim": dim, "coefficients": coefficients, "seed": seed, "beta": beta.tolist()},
        tolerance=tolerance * target_std(coefficients),
    )
