"""Modular arithmetic: all pairs (a, b) in Z_p x Z_p labelled op(a, b) mod p (Power et al. 2022)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from grokscope.errors import ConfigError
from grokscope.tasks.base import TaskData, operand_pairs, operation_table


@dataclass(frozen=True)
class Operation:
    """A binary operation on Z_p. `fn` maps int64 tensors (a, b, p) to labels in [0, p)."""

    fn: Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]
    needs_prime: bool = False  # division needs a field, not just a ring
    nonzero_b: bool = False  # b = 0 has no inverse: those pairs are left out


def _inverse_table(p: int) -> torch.Tensor:
    """b^-1 mod p for b in [0, p) by Fermat's little theorem (entry 0 unused)."""
    return torch.tensor([0] + [pow(b, p - 2, p) for b in range(1, p)], dtype=torch.int64)


def _divide(a: torch.Tensor, b: torch.Tensor, p: int) -> torch.Tensor:
    # a / b = a * b^-1: a true field division, not integer `//` nor plain multiplication,
    # the two bugs that travelled through the public grokking code (see research/anchors.md).
    return (a * _inverse_table(p)[b]) % p


OPERATIONS: dict[str, Operation] = {
    "a+b": Operation(lambda a, b, p: (a + b) % p),
    "a-b": Operation(lambda a, b, p: (a - b) % p),
    "a*b": Operation(lambda a, b, p: (a * b) % p),
    "a/b": Operation(_divide, needs_prime=True, nonzero_b=True),
    "a^2+b^2": Operation(lambda a, b, p: (a * a + b * b) % p),
    "a^2+ab+b^2": Operation(lambda a, b, p: (a * a + a * b + b * b) % p),
    "a^2+ab+b^2+a": Operation(lambda a, b, p: (a * a + a * b + b * b + a) % p),
    "a^3+ab": Operation(lambda a, b, p: (a * a * a + a * b) % p),
}


def is_prime(n: int) -> bool:
    if n < 2:
        return False
    return all(n % k for k in range(2, int(n**0.5) + 1))


def modular(p: int = 97, op: str = "a+b", nonzero_b: bool = False) -> TaskData:
    """Every pair (a, b) of Z_p with label op(a, b) mod p.

    Inputs are the token ids `(a, b)`; models add what they need (the transformer appends an
    `=` token with id p). Groups `a` and `b` keep the operands for per-operand probes.
    `nonzero_b` leaves out b = 0 for any op (division always does), as Grokfast's
    x * y mod 97 data does (y in 1..p-1).
    """
    if op not in OPERATIONS:
        raise ConfigError(f"task 'modular': op must be one of {sorted(OPERATIONS)}, got {op!r}")
    operation = OPERATIONS[op]
    if operation.needs_prime and not (is_prime(p) and p >= 3):
        raise ConfigError(f"task 'modular': p must be a prime >= 3 for op {op!r}, got {p}")
    if p < 2:
        raise ConfigError(f"task 'modular': p must be an integer >= 2, got {p}")
    a, b = operand_pairs(p)
    if operation.nonzero_b or nonzero_b:
        keep = b != 0
        a, b = a[keep], b[keep]
    labels = operation.fn(a, b, p)
    return operation_table("modular", a, b, labels, n_classes=p, vocab_size=p,
                           meta={"p": p, "op": op})
