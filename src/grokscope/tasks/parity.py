"""Sparse parity (Barak et al. 2022; Merrill et al. 2023): the XOR of k hidden bits of n.

Inputs are n random bits as +-1 features; the label is the parity of the k relevant bits
(chosen once with the generator seed). Only a finite sample is drawn: a training pool and a
separate test set (group `in_test`), so a member trains on a fixed number of examples and
grokking, not online learning, is what is measured.
"""

from __future__ import annotations

import torch

from grokscope.errors import ConfigError
from grokscope.tasks.base import TaskData


def sparse_parity(n_bits: int = 40, k: int = 3, pool_size: int = 1000, test_size: int = 1000,
                  seed: int = 0) -> TaskData:
    """`pool_size` training-pool rows then `test_size` test rows, all drawn from `seed`."""
    if not 1 <= k <= n_bits:
        raise ConfigError(f"task 'sparse_parity': k must be in 1..n_bits ({n_bits}), got {k}")
    generator = torch.Generator().manual_seed(int(seed))
    relevant = torch.randperm(n_bits, generator=generator)[:k].sort().values
    n = pool_size + test_size
    bits = torch.randint(2, (n, n_bits), generator=generator)
    labels = bits[:, relevant].sum(1) % 2
    in_test = torch.zeros(n, dtype=torch.int64)
    in_test[pool_size:] = 1
    return TaskData(
        name="sparse_parity",
        inputs=(1 - 2 * bits).float(),  # bit 0 -> +1, bit 1 -> -1
        labels=labels,
        n_classes=2,
        groups={"in_test": in_test},
        meta={"n_bits": n_bits, "k": k, "relevant": relevant.tolist(), "seed": seed,
              "tokens": (n_bits, 1)},
    )
