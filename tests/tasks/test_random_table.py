"""The random-table control: reproducible, structureless labels."""

import pytest
import torch

from grokscope.errors import ConfigError
from grokscope.tasks import random_table


def test_labels_are_reproducible_and_seed_dependent():
    a, b = random_table(31, seed=3), random_table(31, seed=3)
    assert torch.equal(a.labels, b.labels)
    assert not torch.equal(a.labels, random_table(31, seed=4).labels)


def test_every_pair_once_and_labels_in_range():
    task = random_table(13, n_classes=5)
    pairs = {tuple(row) for row in task.inputs.tolist()}
    assert len(pairs) == 169 and task.n_classes == 5 and task.vocab_size == 13
    assert 0 <= int(task.labels.min()) and int(task.labels.max()) <= 4


def test_labels_carry_no_operand_structure():
    # if the label were a function of a (or of b) alone, each row (column) would be constant
    table = random_table(97).labels.view(97, 97)
    assert all(len(set(row.tolist())) > 40 for row in table)
    assert all(len(set(col.tolist())) > 40 for col in table.T)
    counts = torch.bincount(table.flatten(), minlength=97).float()
    assert counts.min() > 60 and counts.max() < 140  # ~97 each, uniform


def test_bad_parameters():
    with pytest.raises(ConfigError, match=r"p must be an integer >= 2, got 1"):
        random_table(1)
