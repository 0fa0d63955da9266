"""Example orderings of the mini-batch stream (`train.order`, per member): each policy's
order, the default stream unchanged, resume and cohort-vs-alone equivalence, and one-line
errors where an order cannot apply."""

from __future__ import annotations

import math

import pytest
import torch

from conftest import merge
from grokscope.config import parse_config
from grokscope.errors import ConfigError
from grokscope.tasks import build_task
from grokscope.training.batches import MemberBatchStream
from grokscope.training.cohort import Cohort
from grokscope.training.orderings import easy_first, fixed, reshuffle, stride

P = 11
BASE = {"task": {"name": "modular", "p": P, "op": "a+b"}, "split": {"fraction": 0.5},
        "model": {"name": "mlp", "embed_dim": 8, "width": 16},
        "optim": {"lr": 1e-2, "weight_decay": 0.5},
        "train": {"steps": 10, "batch_size": 8, "device": "cpu", "sampler": "host"},
        "cohort": {"members": 2}}


def _epochs(cohort, member, count):
    """The member's first `count` epochs of the stream (from its start), as index tensors."""
    n = int(cohort.masks[member].sum())
    stream = Cohort(cohort.config).stream  # a fresh copy: every member from its start
    batches = [stream.next()[0][member] for _ in range(math.ceil(count * n / 8))]
    flat = torch.cat(batches)[: count * n]
    return flat.view(count, n)


def test_the_default_stream_is_the_original_one_bit_for_bit(tiny_config):
    masks = torch.zeros(1, 40, dtype=torch.bool)
    masks[0, ::2] = True
    stream = MemberBatchStream(masks, 6, [7])
    generator = torch.Generator().manual_seed(7 + 0x5EED)
    ids = masks[0].nonzero().squeeze(1)
    expected = torch.cat([ids[torch.randperm(20, generator=generator)] for _ in range(3)])
    drawn = torch.cat([stream.next()[0][0] for _ in range(10)])
    assert torch.equal(drawn, expected[:60])


def test_fixed_repeats_one_permutation_and_reshuffle_does_not():
    cohort = Cohort(parse_config(merge(BASE, {"train": {"order": ["fixed", "reshuffle"]}})))
    fixed_epochs, shuffled = _epochs(cohort, 0, 3), _epochs(cohort, 1, 3)
    assert torch.equal(fixed_epochs[0], fixed_epochs[1]) and torch.equal(fixed_epochs[1],
                                                                           fixed_epochs[2])
    assert not torch.equal(shuffled[0], shuffled[1])
    for member, epochs in ((0, fixed_epochs), (1, shuffled)):  # every epoch: all its examples
        own = cohort.masks[member].nonzero().squeeze(1).tolist()
        assert all(sorted(e.tolist()) == own for e in epochs)
    ids = cohort.masks[0].nonzero().squeeze(1)
    other = fixed(ids, cohort.task, torch.Generator(), seed=99)
    assert not torch.equal(other, fixed(ids, cohort.task, torch.Generator(), seed=0))


@pytest.mark.parametrize("order", ["sorted_target", "stride", "easy_first"])
def test_each_deterministic_order_sorts_by_its_key(order):
    cohort = Cohort(parse_config(merge(BASE, {"train": {"order": order}})))
    epoch = _epochs(cohort, 0, 2)
    assert torch.equal(epoch[0], epoch[1])
    a, b = cohort.task.groups["a"][epoch[0]], cohort.task.groups["b"][epoch[0]]
    key = {"sorted_target": [cohort.task.labels[epoch[0]]],
           "stride": [a % math.isqrt(P), a, b],
           "easy_first": [a + b, a]}[order]
    rows = list(zip(*(k.tolist() for k in key), epoch[0].tolist(), strict=True))
    assert rows == sorted(rows)  # lexicographic in the keys, ties by index


def test_stride_and_easy_first_on_a_hand_made_table():
    task = build_task(parse_config(BASE).task)  # a-major: id = a * p + b
    ids = torch.tensor([0 * P + 3, 5 * P + 1, 1 * P + 0, 6 * P + 2, 2 * P + 2])
    # stride: (a mod 3, a): a = 0, 6 (mod 0), 1 (mod 1), 5, 2 (mod 2) -> 0, 6, 1, 2, 5
    got = stride(ids, task, torch.Generator(), 0)
    assert (got // P).tolist() == [0, 6, 1, 2, 5]
    got = easy_first(ids, task, torch.Generator(), 0)  # a + b: 3, 6, 1, 8, 4
    assert (got // P).tolist() == [1, 0, 2, 5, 6]
    assert sorted(reshuffle(ids, task, torch.Generator().manual_seed(1), 0).tolist()) == \
        sorted(ids.tolist())


def test_an_ordered_member_trains_as_it_would_alone():
    orders = ["stride", "fixed", "easy_first"]
    cohort = Cohort(parse_config(merge(BASE, {"cohort": {"members": 3, "seed": [0, 1, 2]},
                                              "train": {"order": orders}})))
    alone = Cohort(parse_config(merge(BASE, {"cohort": {"members": 1, "seed": [1]},
                                             "train": {"order": ["fixed"]}})))
    for _ in range(6):
        cohort.step()
        alone.step()
    for (name, p), q in zip(cohort.model.named_parameters(), alone.model.parameters(),
                            strict=True):
        torch.testing.assert_close(p[1:2], q, rtol=1e-5, atol=1e-6, msg=name)


def test_an_ordered_stream_resumes_where_it_stopped():
    config = parse_config(merge(BASE, {"train": {"order": ["fixed", "stride"]}}))
    first = Cohort(config)
    for _ in range(5):
        first.stream.next()
    state = first.stream.state_dict()
    expected = [first.stream.next()[0] for _ in range(7)]
    again = Cohort(config)
    again.stream.load_state_dict(state)
    assert all(torch.equal(again.stream.next()[0], e) for e in expected)


@pytest.mark.parametrize(("override", "message"), [
    ({"train": {"order": "stride", "batch_size": None}},
     r"train\.order: \['stride'\] orders mini-batches; full-batch training"),
    ({"train": {"order": "fixed", "sampler": "device"}},
     r"train\.order: \['fixed'\] need train\.sampler: host"),
    ({"task": {"name": "sparse_parity", "n_bits": 6, "k": 2, "pool_size": 40, "test_size": 10},
      "split": {"name": "pool", "n_train": 30}, "train": {"order": "stride"}},
     r"train\.order: 'stride' orders by the operands a, b; task 'sparse_parity' has none"),
])
def test_orders_that_cannot_apply_are_one_line_errors_before_training(override, message):
    with pytest.raises(ConfigError, match=message):
        Cohort(parse_config(merge(BASE, override)))  # when the cohort is built


def test_an_unknown_order_names_the_registered_ones():
    with pytest.raises(ConfigError, match=r"train\.order: must be 'reshuffle', 'fixed', "
                                          r"'sorted_target', 'stride' or 'easy_first', got"):
        parse_config(merge(BASE, {"train": {"order": ["fixed", "random_walk"]}}))


def test_the_new_train_keys_at_their_defaults_keep_an_old_runs_id():
    from grokscope.config.identity import _id_view, run_id

    config = parse_config(BASE)
    train = _id_view(config)["train"]
    assert "order" not in train and "log_per_decade" not in train  # as stored before them
    assert run_id(config) != run_id(parse_config(merge(BASE, {"train": {"order": "fixed"}})))
    assert run_id(config) != run_id(parse_config(merge(BASE, {"train": {"log_per_decade": 5}})))
