"""The device sampler (`train.sampler: device`): a documented change of the batch stream
(counter-hash permutations instead of torch generators), tested for what the host stream
guarantees: without replacement within an epoch, per-member sizes, independent of the
cohort, resumable from its state, and no visible order bias."""

import pytest
import torch

from grokscope.errors import ConfigError
from grokscope.training.batches import DeviceBatchStream, MemberBatchStream
from grokscope.training.cohort import Cohort


def _masks():
    masks = torch.zeros(3, 40, dtype=torch.bool)
    masks[0, :10] = True
    masks[1, 5:29] = True
    masks[2, ::3] = True
    return masks


def _stream(masks, sizes, seeds):
    return DeviceBatchStream(masks, sizes, seeds)


def _member_rows(stream, member, size, batches):
    return torch.cat([stream.next()[0][member, :size] for _ in range(batches)])


def test_each_epoch_is_a_permutation_of_the_members_train_rows():
    masks, sizes = _masks(), [5, 8, 3]
    stream = _stream(masks, sizes, [0, 1, 2])
    drawn = [stream.next() for _ in range(30)]
    for member, size in enumerate(sizes):
        rows = torch.cat([i[member, :size] for i, _ in drawn])
        own = masks[member].nonzero().squeeze(1)
        n = len(own)
        for epoch in range(len(rows) // n):
            assert sorted(rows[epoch * n:(epoch + 1) * n].tolist()) == own.tolist()
        weights = drawn[0][1][member]
        assert torch.allclose(weights[:size], torch.full((size,), 1 / size))
        assert (weights[size:] == 0).all()
    epochs = [torch.cat([i[0, :5] for i, _ in drawn])[k * 10:(k + 1) * 10] for k in range(3)]
    assert not torch.equal(epochs[0], epochs[1])  # a new order each epoch


def test_a_members_stream_does_not_depend_on_its_cohort():
    masks = _masks()
    cohort = _stream(masks, [5, 8, 3], [0, 1, 2])
    alone = _stream(masks[1:2], [8], [1])
    assert torch.equal(_member_rows(cohort, 1, 8, 12), _member_rows(alone, 0, 8, 12))
    other_seed = _stream(masks[1:2], [8], [9])
    assert not torch.equal(_member_rows(alone, 0, 8, 3), _member_rows(other_seed, 0, 8, 3))


def test_resume_and_select_continue_the_same_stream():
    masks = _masks()
    stream = _stream(masks, [5, 8, 3], [0, 1, 2])
    for _ in range(7):
        stream.next()
    resumed = _stream(masks, [5, 8, 3], [0, 1, 2])
    resumed.load_state_dict(stream.state_dict())
    reference = _stream(masks, [5, 8, 3], [0, 1, 2])
    for _ in range(7):
        reference.next()
    reference.select([0, 2])
    stream.select([0, 2])
    for _ in range(5):
        a, b = stream.next()[0], resumed.next()[0]
        assert torch.equal(a, b[[0, 2]][:, :5]) and torch.equal(a, reference.next()[0])


def test_no_position_bias_over_many_epochs():
    """Where each row lands in the first position of 800 permutations of 8 rows: a
    chi-square with 7 degrees of freedom below its 0.1% point (24.3)."""
    masks = torch.ones(1, 8, dtype=torch.bool)
    stream = _stream(masks, [8], [3])
    first = torch.stack([stream.next()[0][0, 0] for _ in range(800)])
    counts = torch.bincount(first, minlength=8).float()
    chi2 = ((counts - 100) ** 2 / 100).sum()
    assert chi2 < 24.3, counts.tolist()


def test_bad_size_and_a_host_checkpoint_are_one_line_errors():
    with pytest.raises(ConfigError, match="train.batch_size: 11 is larger than member 0"):
        _stream(_masks(), [11, 8, 3], [0, 1, 2])
    host = MemberBatchStream(_masks(), [5, 8, 3], [0, 1, 2])
    with pytest.raises(ValueError, match="train.sampler: host"):
        _stream(_masks(), [5, 8, 3], [0, 1, 2]).load_state_dict(host.state_dict())


def test_a_cohort_trains_with_the_device_sampler(tiny_config):
    config = tiny_config(train={"batch_size": 16, "sampler": "device"})
    cohort = Cohort(config)
    assert cohort.sampler == "device" and isinstance(cohort.stream, DeviceBatchStream)
    before = cohort.evaluate().train_loss
    for _ in range(40):
        cohort.step()
    assert (cohort.evaluate().train_loss < before).all()
