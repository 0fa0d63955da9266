"""Imbalanced subclass sampling (Carvalho et al. 2025, Eq. 1) and its masks."""

import pytest
import torch

from grokscope.config import SubclassShiftSplitConfig, SubclassTaskConfig
from grokscope.errors import ConfigError
from grokscope.tasks import build_splits, build_task
from grokscope.tasks.splits import (
    eq1_counts,
    exact_counts,
    subclass_counts,
    undersampled_subclasses,
)

# research/carvalho2025.md §3.5, worked table: (gamma_D, f) -> Dataset 1 (4/4), Dataset 2 (20/20)
WORKED = [
    (100, 0.0, (0, 25), (0, 5)), (100, 0.2, (5, 20), (1, 4)), (100, 1.0, (13, 12), (3, 2)),
    (200, 0.2, (9, 41), (2, 8)), (4000, 0.01, (10, 990), (2, 198)),
    (4000, 0.05, (48, 952), (10, 190)), (5000, 0.01, (13, 1237), (3, 247)),
    (5000, 0.05, (60, 1190), (12, 238)),
]


@pytest.mark.parametrize(("n", "f", "d1", "d2"), WORKED)
def test_eq1_counts_match_the_worked_table(n, f, d1, d2):
    assert eq1_counts(n, f, 4, 4) == d1
    assert eq1_counts(n, f, 20, 20) == d2


def test_paper_example_and_exact_variant_hits_the_total():
    assert eq1_counts(2000, 0.2, 4, 4) == (84, 416)  # the paper's own example
    sizes = exact_counts(2000, 0.2, [True] * 4 + [False] * 4)
    assert sum(sizes) == 2000 and sizes == [83] * 4 + [417] * 4
    for n, f in [(100, 0.2), (777, 0.05), (5000, 0.01)]:
        assert sum(exact_counts(n, f, [True] * 20 + [False] * 20)) == n


def test_half_of_each_class_is_undersampled_with_a_fixed_seed():
    d1 = undersampled_subclasses([0, 0, 1, 1, 2, 2, 3, 3], seed=0)
    assert len(d1) == 4 and {k // 2 for k in d1} == {0, 1, 2, 3}
    assert d1 == undersampled_subclasses([0, 0, 1, 1, 2, 2, 3, 3], seed=0)
    d2 = undersampled_subclasses([k // 10 for k in range(40)], seed=0)
    assert [sum(k // 10 == c for k in d2) for c in range(4)] == [5, 5, 5, 5]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"n_train": 100, "f": 1.5}, r"f must be in \[0, 1\], got 1.5"),
    ({"n_train": 100, "f": -0.1}, r"f must be in \[0, 1\]"),
    ({"n_train": 30_000, "f": 0.2}, r"n_train must be in 1..20000, got 30000"),
    ({"n_train": 3, "f": 0.2}, r"leaves 0 examples for a kept subclass"),
    ({"n_train": 15_000, "f": 0.0}, r"needs 3750 examples of one subclass but its pool holds 2500"),
])
def test_bad_requests_are_one_line_config_errors(kwargs, message):
    flags = [True, False] * 4
    with pytest.raises(ConfigError, match=message):
        subclass_counts(kwargs["n_train"], kwargs["f"], flags, available=2500)


def _splits(ns, fs, seeds, **task):
    data = build_task(SubclassTaskConfig(name="equidistant", **task))
    return data, build_splits(SubclassShiftSplitConfig(), data, seeds, [None] * len(seeds), ns, fs)


def test_masks_follow_eq1_and_come_from_the_pool_only():
    task, splits = _splits([200, 200, 100], [0.0, 0.2, 1.0], [0, 1, 2])
    under = splits.meta["undersampled"]
    sub = task.groups["subclass"]
    pool = task.groups["in_test"] == 0
    for e, (n, f) in enumerate([(200, 0.0), (200, 0.2), (100, 1.0)]):
        counts = torch.bincount(sub[splits.train[e]], minlength=8).tolist()
        s_s, s_r = eq1_counts(n, f, 4, 4)
        assert counts == [s_s if k in under else s_r for k in range(8)]
        assert not (splits.train[e] & ~pool).any()


def test_test_set_identical_for_every_f_and_member():
    _, a = _splits([200, 200, 100], [0.0, 0.2, 1.0], [0, 1, 2])
    _, b = _splits([4000], [0.01], [9])
    assert torch.equal(a.test[0], a.test[1]) and torch.equal(a.test[0], a.test[2])
    assert torch.equal(a.test[0], b.test[0])
    assert int(a.test[0].sum()) == 10_000
    assert not (a.train & a.test).any()


def test_member_split_depends_on_its_seed_only():
    _, a = _splits([200, 400], [0.2, 0.05], [3, 4])
    _, b = _splits([400], [0.05], [4])
    assert torch.equal(a.train[1], b.train[0])
    _, c = _splits([400], [0.05], [5])
    assert not torch.equal(b.train[0], c.train[0])


def test_named_test_subsets_partition_the_test_set():
    task, splits = _splits([200], [0.2], [0])
    under, others = splits.subsets["test/undersampled"], splits.subsets["test/others"]
    assert torch.equal(under | others, splits.test[0]) and not (under & others).any()
    assert sum(int(splits.subsets[f"test/subclass={k}"].sum()) for k in range(8)) == 10_000


def test_subclass_split_on_a_task_without_subclasses_is_an_error():
    from grokscope.tasks import modular

    with pytest.raises(ConfigError, match="task 'modular' has no subclasses"):
        build_splits(SubclassShiftSplitConfig(), modular(7), [0], [None], [10], [0.5])


def test_proportional_counts_keep_natural_shares_at_f1_and_scale_undersampled_by_f():
    shares = [100, 50, 30, 20]
    flags = [True, False, True, False]
    assert subclass_counts(100, 1.0, flags, "proportional", available=shares) == [50, 25, 15, 10]
    sizes = subclass_counts(80, 0.2, flags, "proportional", available=shares)
    # weights 100*.2 : 50 : 30*.2 : 20 -> ideal 16.7, 41.7, 5, 16.7; total fixed to exactly 80
    assert sum(sizes) == 80 and sizes[2] == 5 and sizes[1] == 42
    assert sorted([sizes[0], sizes[3]]) == [16, 17]
    with pytest.raises(ConfigError, match="needs 52 examples of one subclass but its pool "
                                          "holds 50"):
        subclass_counts(100, 0.2, flags, "proportional", available=shares)
    with pytest.raises(ConfigError, match="unknown rule 'nope'"):
        subclass_counts(100, 0.2, flags, "nope", available=shares)
