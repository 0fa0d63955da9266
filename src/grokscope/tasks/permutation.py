"""Permutation composition in the symmetric group S_n (Power et al. 2022): a non-abelian task.

Tokens are permutation indices in `itertools.permutations(range(n))` order; the label is the
index of the result. Composition is right to left: (x*y)(i) = x(y(i)).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from itertools import permutations as all_permutations

import torch

from grokscope.errors import ConfigError
from grokscope.tasks.base import TaskData, operand_pairs, operation_table

MAX_N = 7  # 7! = 5,040 elements, 25.4M pairs; S_8 would be 1.6e9


def permutation_table(n: int) -> torch.Tensor:
    """All n! permutations of range(n) as rows `(n!, n)`, in itertools order."""
    return torch.tensor(list(all_permutations(range(n))), dtype=torch.int64)


def compose(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(x*y)(i) = x[y[i]] for rows of permutations `(N, n)`."""
    return torch.gather(x, 1, y)


def invert(x: torch.Tensor) -> torch.Tensor:
    """x^-1 with x^-1[x[i]] = i, rows `(N, n)`."""
    inverse = torch.empty_like(x)
    return inverse.scatter_(1, x, torch.arange(x.shape[1]).expand_as(x).contiguous())


PERMUTATION_OPERATIONS: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "x*y": compose,
    "x*y*x^-1": lambda x, y: compose(compose(x, y), invert(x)),  # conjugation
    "x*y*x": lambda x, y: compose(compose(x, y), x),
}


def _codes(rows: torch.Tensor, n: int) -> torch.Tensor:
    """A permutation's base-n number: a key for looking its index up."""
    return (rows * n ** torch.arange(n - 1, -1, -1)).sum(1)


def permutation(n: int = 5, op: str = "x*y") -> TaskData:
    """Every pair (x, y) of S_n labelled by the index of op(x, y); groups `a`, `b` = x, y."""
    if op not in PERMUTATION_OPERATIONS:
        raise ConfigError(f"task 'permutation': op must be one of "
                          f"{sorted(PERMUTATION_OPERATIONS)}, got {op!r}")
    if not 2 <= n <= MAX_N:
        raise ConfigError(f"task 'permutation': n must be in 2..{MAX_N}, got {n}")
    table = permutation_table(n)
    size = math.factorial(n)
    lookup = torch.full((n**n,), -1, dtype=torch.int64)
    lookup[_codes(table, n)] = torch.arange(size)
    a, b = operand_pairs(size)
    result = PERMUTATION_OPERATIONS[op](table[a], table[b])
    return operation_table("permutation", a, b, lookup[_codes(result, n)], n_classes=size,
                           vocab_size=size, meta={"n": n, "op": op})
