"""Pool split: n_train examples per member from the task's training pool."""

import pytest
import torch

from grokscope.config import PoolSplitConfig
from grokscope.errors import ConfigError
from grokscope.tasks import build_splits, modular, sparse_parity
from grokscope.tasks.splits import pool_split


def test_draws_exactly_n_train_from_the_pool():
    task = sparse_parity(n_bits=10, k=2, pool_size=300, test_size=100)
    splits = build_splits(PoolSplitConfig(n_train=[50, 300]), task, [0, 1], [None] * 2,
                          [50, 300], [None] * 2)
    in_test = task.groups["in_test"].bool()
    assert splits.train.sum(1).tolist() == [50, 300]
    assert not bool((splits.train & in_test).any())  # never a test row
    assert bool((splits.test == in_test).all())  # test: the task's own test set
    assert bool(splits.train[1, :300].all())  # the whole pool


def test_without_a_test_set_the_rest_is_test_and_seeds_matter():
    task = modular(p=11)
    splits = build_splits(PoolSplitConfig(), task, [3, 4], [None] * 2, [60, 60], [None] * 2)
    assert torch.equal(splits.test, ~splits.train)
    assert not torch.equal(splits.train[0], splits.train[1])
    again = pool_split(torch.ones(121, dtype=torch.bool), 60, 3)
    assert torch.equal(again, splits.train[0])


def test_n_train_beyond_the_pool_is_an_error():
    with pytest.raises(ConfigError, match=r"split 'pool': n_train must be in 1\.\.120 \(task "
                                          r"'modular' has 121 pool examples\), got 121"):
        build_splits(PoolSplitConfig(), modular(p=11), [0], [None], [121], [None])
