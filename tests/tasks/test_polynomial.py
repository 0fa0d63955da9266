"""Polynomial regression: Hermite closed forms, the target formula and its variance."""

import math

import pytest
import torch

from grokscope.errors import ConfigError
from grokscope.tasks import polynomial
from grokscope.tasks.polynomial import hermite


def test_hermite_closed_forms():
    z = torch.linspace(-3, 3, 13, dtype=torch.float64)
    assert torch.allclose(hermite(0, z), torch.ones_like(z))
    assert torch.allclose(hermite(1, z), z)
    assert torch.allclose(hermite(2, z), z**2 - 1)
    assert torch.allclose(hermite(3, z), z**3 - 3 * z)
    assert torch.allclose(hermite(4, z), z**4 - 6 * z**2 + 3)


def test_target_is_the_single_index_polynomial():
    task = polynomial(dim=8, coefficients=(0.5, 1.0, 0.0, 2.0), pool_size=50, test_size=20)
    beta = torch.tensor(task.meta["beta"], dtype=torch.float64)
    assert math.isclose(float(beta.norm()), 1.0, rel_tol=1e-9)
    z = task.inputs.double() @ beta
    expected = 0.5 + z + 2.0 * (z**3 - 3 * z) / math.sqrt(6)
    assert torch.allclose(task.labels.double(), expected, atol=1e-4)
    assert task.regression and task.n_classes == 1
    assert task.groups["in_test"].sum() == 20


def test_variance_is_the_sum_of_squared_coefficients():
    task = polynomial(dim=5, coefficients=(0.0, 0.6, 0.8), pool_size=200_000, test_size=1)
    assert abs(float(task.labels.var()) - 1.0) < 0.02  # 0.6^2 + 0.8^2
    assert math.isclose(task.tolerance, 0.1, rel_tol=1e-9)  # 0.1 * std(y)


def test_constant_target_is_an_error():
    with pytest.raises(ConfigError, match=r"coefficients must give a non-constant target"):
        polynomial(coefficients=(1.0, 0.0))
