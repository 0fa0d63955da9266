"""Sparse parity: labels are the XOR of the relevant bits, recomputed bit by bit."""

import pytest
import torch

from grokscope.errors import ConfigError
from grokscope.tasks import sparse_parity


def test_labels_are_the_parity_of_the_relevant_bits():
    task = sparse_parity(n_bits=12, k=4, pool_size=300, test_size=200, seed=5)
    relevant = task.meta["relevant"]
    assert len(set(relevant)) == 4 and all(0 <= r < 12 for r in relevant)
    for x, y in zip(task.inputs.tolist(), task.labels.tolist(), strict=True):
        bits = [int(v < 0) for v in x]  # +1 -> 0, -1 -> 1
        assert set(x) <= {1.0, -1.0}
        parity = 0
        for r in relevant:
            parity ^= bits[r]
        assert y == parity


def test_pool_and_test_rows_and_balance():
    task = sparse_parity(n_bits=30, k=3, pool_size=1000, test_size=500)
    assert task.n_examples == 1500 and task.n_classes == 2
    assert task.groups["in_test"].tolist() == [0] * 1000 + [1] * 500
    assert 0.4 < task.labels.float().mean() < 0.6
    assert task.meta["tokens"] == (30, 1)


def test_irrelevant_bits_do_not_predict_the_label():
    task = sparse_parity(n_bits=20, k=3, pool_size=4000, test_size=1, seed=1)
    y = task.labels.float() * 2 - 1
    single = (task.inputs * y.unsqueeze(1)).mean(0).abs()  # correlation of each bit with y
    assert float(single.max()) < 0.1  # parity of k >= 2 bits: no single bit is informative
    assert not torch.equal(task.labels, sparse_parity(20, 3, 4000, 1, seed=2).labels)


def test_k_larger_than_n_is_an_error():
    with pytest.raises(ConfigError, match=r"k must be in 1\.\.n_bits \(5\), got 6"):
        sparse_parity(n_bits=5, k=6)
