"""The modular task: every operation against a brute-force reference over Python integers."""

import pytest

from grokscope.errors import ConfigError
from grokscope.tasks import OPERATIONS, modular

REFERENCE = {
    "a+b": lambda a, b, p: (a + b) % p,
    "a-b": lambda a, b, p: (a - b) % p,
    "a*b": lambda a, b, p: (a * b) % p,
    # division by search: the unique c with c*b = a (mod p); never `//` nor multiplication
    "a/b": lambda a, b, p: next(c for c in range(p) if (c * b) % p == a),
    "a^2+b^2": lambda a, b, p: (a**2 + b**2) % p,
    "a^2+ab+b^2": lambda a, b, p: (a**2 + a * b + b**2) % p,
    "a^2+ab+b^2+a": lambda a, b, p: (a**2 + a * b + b**2 + a) % p,
    "a^3+ab": lambda a, b, p: (a**3 + a * b) % p,
}


def test_every_operation_has_a_reference():
    assert set(OPERATIONS) == set(REFERENCE)


@pytest.mark.parametrize("op", sorted(REFERENCE))
@pytest.mark.parametrize("p", [7, 13])
def test_labels_match_brute_force(op, p):
    task = modular(p=p, op=op)
    pairs = [(a, b) for a in range(p) for b in range(p) if not (op == "a/b" and b == 0)]
    assert task.inputs.tolist() == [list(pair) for pair in pairs]
    assert task.labels.tolist() == [REFERENCE[op](a, b, p) for a, b in pairs]
    assert task.groups["a"].tolist() == [a for a, _ in pairs]
    assert task.n_classes == task.vocab_size == p


def test_division_is_a_true_modular_inverse():
    task = modular(p=97, op="a/b")
    a, b, c = task.groups["a"], task.groups["b"], task.labels
    assert task.n_examples == 97 * 96
    assert bool(((c * b) % 97 == a).all())
    assert not bool((c == (a * b) % 97).all())  # not multiplication in disguise


def test_division_needs_a_prime():
    with pytest.raises(ConfigError, match=r"p must be a prime >= 3 for op 'a/b', got 96"):
        modular(p=96, op="a/b")


def test_composite_modulus_is_fine_without_division():
    assert modular(p=10, op="a+b").n_examples == 100


def test_unknown_operation_names_the_allowed_ones():
    with pytest.raises(ConfigError, match=r"op must be one of .*'a\+b'.*got 'a\^b'"):
        modular(p=7, op="a^b")
