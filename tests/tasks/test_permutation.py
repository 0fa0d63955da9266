"""Permutation composition in S_n against itertools.permutations and Python tuples."""

from itertools import permutations

import pytest

from grokscope.config import parse_config
from grokscope.errors import ConfigError
from grokscope.tasks import PERMUTATION_OPERATIONS, permutation


def _compose(x, y):  # (x*y)(i) = x(y(i))
    return tuple(x[y[i]] for i in range(len(x)))


def _inverse(x):
    out = [0] * len(x)
    for i, xi in enumerate(x):
        out[xi] = i
    return tuple(out)


REFERENCE = {
    "x*y": _compose,
    "x*y*x^-1": lambda x, y: _compose(_compose(x, y), _inverse(x)),
    "x*y*x": lambda x, y: _compose(_compose(x, y), x),
}


def test_every_operation_has_a_reference():
    assert set(PERMUTATION_OPERATIONS) == set(REFERENCE)


@pytest.mark.parametrize("op", sorted(REFERENCE))
def test_s5_labels_match_brute_force(op):
    elements = list(permutations(range(5)))
    index = {p: k for k, p in enumerate(elements)}
    task = permutation(5, op)
    assert task.n_examples == 120 * 120 and task.n_classes == task.vocab_size == 120
    expected = [index[REFERENCE[op](x, y)] for x in elements for y in elements]
    assert task.labels.tolist() == expected
    assert task.inputs[:, 0].tolist() == task.groups["a"].tolist()
    assert task.inputs[121].tolist() == [1, 1]


def test_composition_is_not_commutative_in_s3_and_up():
    task = permutation(3)
    table = task.labels.view(6, 6)
    assert not bool((table == table.T).all())


def test_identity_is_index_zero():
    task = permutation(4)
    table = task.labels.view(24, 24)
    assert table[0].tolist() == list(range(24)) and table[:, 0].tolist() == list(range(24))


def test_bad_parameters_give_one_line_errors():
    with pytest.raises(ConfigError, match=r"n must be in 2\.\.7, got 8"):
        permutation(8)
    with pytest.raises(ConfigError, match=r"op must be one of .*got 'x\+y'"):
        permutation(5, "x+y")
    with pytest.raises(ConfigError, match=r"task\.n: must be less than or equal to 7, got 8"):
        parse_config({"task": {"name": "permutation", "n": 8}})
