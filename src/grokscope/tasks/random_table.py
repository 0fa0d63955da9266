"""The negative control: a table of p x p pairs with labels drawn at random, no structure.

A network can memorize it, but there is nothing to generalize: test accuracy must stay at
chance (1 / n_classes) however long it trains. A detector or a stopping rule that reports
grokking here is broken.
"""

from __future__ import annotations

import torch

from grokscope.errors import ConfigError
from grokscope.tasks.base import TaskData, operand_pairs, operation_table


def random_table(p: int = 97, n_classes: int | None = None, seed: int = 0) -> TaskData:
    """Every pair (a, b) of range(p), label uniform in range(n_classes) (default p), drawn
    once from `seed`; groups `a`, `b` as in `modular`."""
    if p < 2:
        raise ConfigError(f"task 'random_table': p must be an integer >= 2, got {p}")
    classes = p if n_classes is None else n_classes
    if classes < 2:
        raise ConfigError(f"task 'random_table': n_classes must be >= 2, got {classes}")
    a, b = operand_pairs(p)
    generator = torch.Generator().manual_seed(int(seed))
    labels = torch.randint(classes, (p * p,), generator=generator)
    return operation_table("random_table", a, b, labels, n_classes=classes, vocab_size=p,
                           meta={"p": p, "n_classes": classes, "seed": seed})
