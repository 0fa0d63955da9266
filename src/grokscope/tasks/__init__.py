"""Tasks: datasets where grokking happens, all behind one interface (`TaskData`).

A task builds all its examples once; a *split policy* turns it plus a member's seed into
that member's train and test masks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from grokscope.config import (
    MnistSubclassTaskConfig,
    MnistTaskConfig,
    ModularTaskConfig,
    PermutationTaskConfig,
    PolynomialTaskConfig,
    PoolSplitConfig,
    RandomTableTaskConfig,
    SparseParityTaskConfig,
    SplitConfig,
    SubclassShiftSplitConfig,
    SubclassTaskConfig,
    TaskConfig,
    UniformSplitConfig,
)
from grokscope.config.components import SPLITS as SPLIT_POLICIES
from grokscope.config.tasks import TASKS
from grokscope.errors import ConfigError
from grokscope.tasks.base import TaskData
from grokscope.tasks.modular import OPERATIONS, modular
from grokscope.tasks.parity import sparse_parity
from grokscope.tasks.permutation import PERMUTATION_OPERATIONS, permutation
from grokscope.tasks.polynomial import polynomial
from grokscope.tasks.random_table import random_table
from grokscope.tasks.splits import (
    pool_split,
    subclass_shift,
    undersampled_subclasses,
    uniform_split,
)
from grokscope.tasks.subclass import SubclassSpec, subclass_task

SPLITS = SPLIT_POLICIES  # registry of the split policies (names and descriptions)
OPERATION_LISTS = {"modular": sorted(OPERATIONS), "permutation": sorted(PERMUTATION_OPERATIONS)}


def build_task(config: TaskConfig) -> TaskData:
    """The task's examples, built once (and cached where building is slow), by the builder
    its settings class registered (`grokscope.config.tasks`)."""
    return TASKS.get(config.name, where="task.name").builder()(config)


# The builders of the built-in tasks (registered in grokscope.config.schema by path).
def _modular(config: ModularTaskConfig) -> TaskData:
    return modular(p=config.p, op=config.op, nonzero_b=config.nonzero_b)


def _permutation(config: PermutationTaskConfig) -> TaskData:
    return permutation(n=config.n, op=config.op)


def _random_table(config: RandomTableTaskConfig) -> TaskData:
    return random_table(p=config.p, n_classes=config.n_classes, seed=config.seed)


def _sparse_parity(config: SparseParityTaskConfig) -> TaskData:
    return sparse_parity(n_bits=config.n_bits, k=config.k, pool_size=config.pool_size,
                         test_size=config.test_size, seed=config.seed)


def _polynomial(config: PolynomialTaskConfig) -> TaskData:
    return polynomial(dim=config.dim, coefficients=tuple(config.coefficients),
                      pool_size=config.pool_size, test_size=config.test_size,
                      seed=config.seed, tolerance=config.tolerance)


def _mnist(config: MnistTaskConfig) -> TaskData:
    from grokscope.tasks.images import mnist

    return mnist(config.source, config.path)


def _subclass(config: SubclassTaskConfig) -> TaskData:
    spec = SubclassSpec(
        layout=config.name, bits=config.bits, dims=config.dims, scale=config.scale,
        jitter=config.jitter, rotation=tuple(config.rotation),
        generator_seed=config.generator_seed, samples_per_subclass=config.samples_per_subclass,
        pool_fraction=config.pool_fraction, pool_size=config.pool_size,
        test_size=config.test_size, standardize=config.standardize,
    )
    return subclass_task(spec)


def _mnist_subclass(config: MnistSubclassTaskConfig) -> TaskData:
    from grokscope.tasks.mnist import mnist_subclass  # torch-heavy feature extractor: lazy

    return mnist_subclass(config)


@dataclass
class Splits:
    """Each member's train and test masks `(E, N)`, and named test subsets `(N,)`."""

    train: torch.Tensor
    test: torch.Tensor
    subsets: dict[str, torch.Tensor]
    meta: dict


def undersampled_of(config: SubclassShiftSplitConfig, task: TaskData) -> list[int]:
    """The under-sampled subclass ids: given in the config, or drawn per class."""
    n_sub = len(task.meta["subclass_class"])
    if config.undersampled is None:
        return undersampled_subclasses(task.meta["subclass_class"], config.selection_seed)
    bad = [k for k in config.undersampled if k >= n_sub]
    if bad:
        raise ConfigError(f"split.undersampled: subclass ids must be in 0..{n_sub - 1}, "
                          f"got {bad}")
    return sorted(set(config.undersampled))


def build_splits(config: SplitConfig, task: TaskData, split_seeds: Sequence[int],
                 fractions: Sequence[float | None], n_trains: Sequence[int | None],
                 fs: Sequence[float | None]) -> Splits:
    """Train and test masks for every member, each from that member's own seed, by the
    builder the split policy registered (`grokscope.config.components`)."""
    build = SPLIT_POLICIES.get(config.name, where="split.name").builder()
    return build(config, task, split_seeds, fractions, n_trains, fs)


def _uniform_split(config: UniformSplitConfig, task: TaskData, split_seeds: Sequence[int],
                   fractions: Sequence[Any], n_trains: Sequence[Any],
                   fs: Sequence[Any]) -> Splits:
    train = torch.stack([uniform_split(task.n_examples, f, s)
                         for f, s in zip(fractions, split_seeds, strict=True)])
    return Splits(train, ~train, {}, {})


def _pool_split(config: PoolSplitConfig, task: TaskData, split_seeds: Sequence[int],
                fractions: Sequence[Any], n_trains: Sequence[Any], fs: Sequence[Any]) -> Splits:
    in_test = task.groups.get("in_test")
    pool = torch.ones(task.n_examples, dtype=torch.bool) if in_test is None else ~in_test.bool()
    train = torch.stack([pool_split(pool, n, s, task.name)
                         for n, s in zip(n_trains, split_seeds, strict=True)])
    test = ~train if in_test is None else in_test.bool().expand_as(train).clone()
    return Splits(train, test, {}, {})


def _subclass_shift_split(config: SubclassShiftSplitConfig, task: TaskData,
                          split_seeds: Sequence[int], fractions: Sequence[Any],
                          n_trains: Sequence[Any], fs: Sequence[Any]) -> Splits:
    if "subclass" not in task.groups or "in_test" not in task.groups:
        raise ConfigError(f"split 'subclass_shift': task '{task.name}' has no subclasses "
                          "(allowed tasks: equidistant, equivariant, mnist_subclass)")
    under = undersampled_of(config, task)
    subclass, in_test = task.groups["subclass"], task.groups["in_test"].bool()
    train = torch.stack([
        subclass_shift(subclass, ~in_test, n, f, s, under, config.counts)
        for n, f, s in zip(n_trains, fs, split_seeds, strict=True)
    ])
    test = in_test.expand_as(train).clone()
    is_under = torch.isin(subclass, torch.tensor(under, dtype=subclass.dtype))
    subsets = {"test/undersampled": in_test & is_under, "test/others": in_test & ~is_under}
    for k in range(len(task.meta["subclass_class"])):
        subsets[f"test/subclass={k}"] = in_test & (subclass == k)
    return Splits(train, test, subsets, {"undersampled": under})


__all__ = ["OPERATIONS", "OPERATION_LISTS", "PERMUTATION_OPERATIONS", "SPLITS", "TASKS",
           "Splits", "TaskData", "build_splits", "build_task", "modular", "permutation",
           "polynomial", "random_table", "sparse_parity", "uniform_split"]
