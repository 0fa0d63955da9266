"""Distribution-shift measures and per-group accuracy against independent calculations."""

import numpy as np
import pytest
import torch

from grokscope.config import SubclassShiftSplitConfig, SubclassTaskConfig
from grokscope.probes import group_accuracy, mmd_rbf, subclass_tv
from grokscope.probes.shift import distribution_shift
from grokscope.tasks import build_splits, build_task


def test_tv_against_hand_computed_histograms():
    groups = torch.tensor([0, 0, 1, 1, 2, 2, 2, 2])
    train = torch.tensor([[1, 1, 1, 0, 0, 0, 0, 0], [1, 0, 1, 0, 1, 0, 1, 0]], dtype=torch.bool)
    test = torch.ones(2, 8, dtype=torch.bool)
    # member 0: p = (2/3, 1/3, 0), q = (1/4, 1/4, 1/2) -> TV = (5/12 + 1/12 + 1/2) / 2 = 1/2
    # member 1: p = (1/4, 1/4, 1/2) = q -> 0
    torch.testing.assert_close(subclass_tv(train, test, groups),
                               torch.tensor([0.5, 0.0], dtype=torch.float64))


def test_mmd_zero_for_one_distribution_and_matches_closed_form_kernel_sums():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(400, 3, generator=g), torch.randn(400, 3, generator=g)
    assert abs(mmd_rbf(x, y, 1.0)) < 0.01
    assert mmd_rbf(x, y + 1.0, 1.0) > 0.1
    # tiny case by hand: one point each side is undefined (m - 1 = 0); two points each side
    a, b = torch.tensor([[0.0], [1.0]]), torch.tensor([[3.0], [4.0]])
    k = lambda d: np.exp(-d**2 / 2)  # noqa: E731
    expected = k(1) + k(1) - 2 * (k(3) + k(4) + k(2) + k(3)) / 4
    assert mmd_rbf(a.double(), b.double(), 1.0) == pytest.approx(expected)


def test_shift_is_near_zero_balanced_and_grows_as_f_goes_to_zero():
    task = build_task(SubclassTaskConfig(name="equidistant"))
    fs = [1.0, 0.2, 0.05, 0.0]
    splits = build_splits(SubclassShiftSplitConfig(), task, [0] * 4, [None] * 4, [400] * 4, fs)
    shift = distribution_shift(task.inputs, splits.train, splits.test, task.groups["subclass"])
    tv, mmd = shift["shift_tv"], shift["shift_mmd"]
    assert tv[0] < 0.02 and abs(mmd[0]) < 0.003
    assert tv[0] < tv[1] < tv[2] < tv[3] == pytest.approx(0.5)
    assert mmd[0] < mmd[1] < mmd[2] < mmd[3]


def test_group_accuracy_matches_a_loop_and_marks_empty_groups_nan():
    correct = torch.tensor([[1.0, 0.0, 1.0, 1.0, 0.0], [0.0, 0.0, 1.0, 0.0, 1.0]])
    mask = torch.tensor([True, True, True, True, False])
    groups = torch.tensor([0, 0, 1, 1, 2])
    out = group_accuracy(correct, mask, groups)
    torch.testing.assert_close(out[:, :2], torch.tensor([[0.5, 1.0], [0.0, 0.5]]))
    assert torch.isnan(out[:, 2]).all()
