"""The double-descent shape detector on synthetic test-loss curves."""

from __future__ import annotations

import numpy as np
import pytest

from grokscope.detection.double_descent import descent_shape

STEPS = np.unique(np.round(np.logspace(0, 4, 120)).astype(int))
T = STEPS.astype(float)


def _double(t: np.ndarray) -> np.ndarray:
    """Down to ~0.45 at t~7, up to ~0.6 at t~200, down again past t~3k."""
    return 0.45 + 0.4 * np.exp(-t / 3) + 0.15 * (1 - np.exp(-t / 60)) * np.exp(-t / 3000) - \
        0.2 * (1 - np.exp(-t / 5000))


def test_a_double_descent_is_found_with_its_three_points():
    found = descent_shape(STEPS, _double(T))
    assert found.shape == "double descent"
    assert 4 <= found.first_min_step <= 20
    assert 100 <= found.peak_step <= 600
    assert found.peak > found.first_min * 1.05
    assert found.second_step is not None and found.second_step > found.peak_step
    assert found.as_dict()["dd_shape"] == "double descent"


def test_monotone_and_u_shapes():
    assert descent_shape(STEPS, np.exp(-T / 100)).shape == "monotone"
    u = 0.45 + 0.4 * np.exp(-T / 3) + 0.15 * (1 - np.exp(-T / 60))
    found = descent_shape(STEPS, u)
    assert found.shape == "U" and found.second_step is None and found.peak == pytest.approx(0.6)


def test_noise_below_the_depth_changes_nothing():
    rng = np.random.default_rng(0)
    noisy = _double(T) * (1 + 0.01 * rng.standard_normal(len(T)))
    assert descent_shape(STEPS, noisy).shape == "double descent"
    bump = 1 + 0.5 * np.exp(-T / 10) + 0.02 * np.exp(-((np.log(T) - 6) ** 2))  # a 2% rise
    assert descent_shape(STEPS, bump).shape == "monotone"
    assert descent_shape(STEPS, bump, depth=0.01).shape == "double descent"


def test_round_off_at_zero_loss_is_not_a_rise():
    y = np.exp(-T / 10) + 1e-13 * np.random.default_rng(1).random(len(T))
    assert descent_shape(STEPS, y).shape == "monotone"


def test_a_second_descent_that_stays_above_the_first_minimum_has_no_second_step():
    y = np.interp(np.log(T), [0, 1, 3, 9.3], [1.0, 0.4, 0.7, 0.5])
    found = descent_shape(STEPS, y)
    assert found.shape == "double descent" and found.second_step is None
    assert found.first_min == pytest.approx(0.4, rel=0.05)


def test_too_few_or_non_finite_points():
    assert descent_shape([0, 1], [1.0, 0.5]).shape is None
    found = descent_shape([0, 1, 2, 3], [1.0, np.nan, 0.5, 0.4])
    assert found.shape == "monotone" and found.first_min_step == 3
