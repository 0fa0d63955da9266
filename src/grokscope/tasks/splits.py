"""Split policies: a task plus a member's seed gives that member's train mask."""

from __future__ import annotations

import torch

from grokscope.errors import ConfigError


def uniform_split(n_examples: int, fraction: float, seed: int) -> torch.Tensor:
    """A `(N,)` train mask holding exactly round(fraction * N) examples drawn uniformly.

    The mask depends only on (N, fraction, seed), so a member gets the same split whether it
    is trained alone or inside any cohort. Test is the complement.
    """
    if not 0.0 < fraction < 1.0:
        raise ConfigError(f"split 'uniform': fraction must be in (0, 1), got {fraction}")
    n_train = round(fraction * n_examples)
    if n_train < 1 or n_train > n_examples - 1:
        raise ConfigError(
            f"split 'uniform': fraction {fraction} of {n_examples} examples leaves "
            f"{n_train} for training and {n_examples - n_train} for test; both must be >= 1"
        )
    generator = torch.Generator().manual_seed(int(seed))
    order = torch.randperm(n_examples, generator=generator)
    mask = torch.zeros(n_examples, dtype=torch.bool)
    mask[order[:n_train]] = True
    return mask
