"""Uniform split policy: exact sizes, complement test set, per-member seeds."""

import pytest
import torch

from grokscope.config import UniformSplitConfig
from grokscope.errors import ConfigError
from grokscope.tasks import build_splits, modular, uniform_split


def test_sizes_and_complement():
    mask = uniform_split(1000, 0.3, seed=4)
    assert mask.dtype == torch.bool and int(mask.sum()) == 300
    assert int((~mask).sum()) == 700  # test = the rest, disjoint by construction


def test_same_seed_same_mask_other_seed_other_mask():
    assert torch.equal(uniform_split(500, 0.4, 1), uniform_split(500, 0.4, 1))
    assert not torch.equal(uniform_split(500, 0.4, 1), uniform_split(500, 0.4, 2))


def test_per_member_masks_differ_and_keep_their_fraction():
    task = modular(p=11)
    splits = build_splits(UniformSplitConfig(), task, split_seeds=[0, 1, 2],
                          fractions=[0.2, 0.5, 0.5], n_trains=[None] * 3, fs=[None] * 3)
    masks = splits.train
    assert torch.equal(splits.test, ~masks)
    assert masks.shape == (3, 121)
    assert masks.sum(1).tolist() == [24, 60, 60]
    assert not torch.equal(masks[1], masks[2])
    assert torch.equal(masks[1], uniform_split(121, 0.5, 1))  # independent of the cohort


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_fraction_outside_open_interval(fraction):
    with pytest.raises(ConfigError, match=r"fraction must be in \(0, 1\)"):
        uniform_split(100, fraction, 0)


def test_split_that_empties_a_side_is_an_error():
    with pytest.raises(ConfigError, match="leaves 0 for training"):
        uniform_split(10, 0.01, 0)
    with pytest.raises(ConfigError, match="0 for test"):
        uniform_split(10, 0.99, 0)
