"""Label noise (`train.label_noise`, per member): each member's own corrupted training labels,
drawn from its split seed; test labels stay clean; a clean member trains as it would alone."""

from __future__ import annotations

import pytest
import torch

from grokscope.config import parse_config
from grokscope.errors import ConfigError
from grokscope.training.cohort import Cohort
from grokscope.training.label_noise import noisy_labels

NOISY = {"cohort": {"members": 3, "seed": [0, 1, 0]},
         "train": {"label_noise": [0.0, 0.3, 0.3]}}


def test_the_share_of_each_members_training_labels_is_moved_to_another_class(tiny_config):
    cohort = Cohort(tiny_config(**NOISY))
    clean = cohort.task.labels
    for member, share in enumerate([0.0, 0.3, 0.3]):
        train, changed = cohort.masks[member], cohort._labels[member] != clean
        assert int(changed.sum()) == round(share * int(train.sum()))
        assert not (changed & ~train).any()  # only training rows; test labels clean
        assert ((cohort._labels[member] >= 0) & (cohort._labels[member] < 17)).all()
    # the draw is the split seed's: members 0 and 2 share a split, 1 and 2 noise shares
    assert torch.equal(cohort.masks[0], cohort.masks[2])
    again = Cohort(tiny_config(**NOISY))
    assert torch.equal(again._labels, cohort._labels)


def test_relabelled_classes_are_uniform_over_the_others():
    labels = torch.zeros(20000, dtype=torch.long)
    train = torch.ones(1, 20000, dtype=torch.bool)
    out = noisy_labels(labels, train, [0.5], [3], n_classes=5)[0]
    moved = out[out != 0]
    assert len(moved) == 10000
    counts = torch.bincount(moved, minlength=5)[1:].float()
    assert counts.min() / counts.max() > 0.9  # each other class ~2500


def test_training_loss_and_accuracy_use_the_noisy_labels_test_the_clean(tiny_config):
    cohort = Cohort(tiny_config(**NOISY))
    for _ in range(5):
        cohort.step()
    evaluation = cohort.evaluate()
    task = cohort.task
    with torch.no_grad():
        logits = cohort.model(task.inputs.expand(3, *task.inputs.shape))
    for member in range(3):
        train, test = cohort.masks[member], cohort.test_masks[member]
        hits = logits[member].argmax(-1) == cohort._labels[member]
        assert float(evaluation.train_acc[member]) == pytest.approx(float(hits[train].float()
                                                                          .mean()), abs=1e-6)
        clean_hits = logits[member].argmax(-1) == task.labels
        assert float(evaluation.test_acc[member]) == pytest.approx(float(clean_hits[test].float()
                                                                         .mean()), abs=1e-6)


@pytest.mark.parametrize("batch_size", [None, 16])
def test_a_clean_member_beside_noisy_ones_trains_as_it_would_alone(tiny_config, batch_size):
    train = {"batch_size": batch_size}
    cohort = Cohort(tiny_config(cohort=NOISY["cohort"], train={**NOISY["train"], **train}))
    alone = Cohort(tiny_config(cohort={"members": 1, "seed": 0}, train=train))
    for _ in range(40):
        cohort.step()
        alone.step()
    for (name, p_cohort), p_alone in zip(cohort.model.named_parameters(),
                                         alone.model.parameters(), strict=True):
        torch.testing.assert_close(p_cohort[0], p_alone[0], rtol=1e-4, atol=1e-5, msg=name)
    # and the noisy member with the same split does not
    assert not torch.allclose(cohort.model.w_out[2], cohort.model.w_out[0], atol=1e-3)


def test_stopping_a_member_keeps_the_others_labels(tiny_config):
    cohort = Cohort(tiny_config(**NOISY))
    before = cohort._labels[1:].clone()
    cohort.stop({0: "test"}, 0)
    assert torch.equal(cohort._labels, before)


def test_label_noise_is_refused_on_a_regression_and_outside_0_1(tiny_config):
    regression = {"task": {"name": "polynomial", "dim": 4, "pool_size": 50, "test_size": 20},
                  "split": {"name": "pool", "n_train": 30}, "train": {"loss": "mse",
                                                                      "label_noise": 0.1}}
    with pytest.raises(ConfigError, match="train.label_noise: task 'polynomial' is a regression"):
        Cohort(tiny_config(**regression))
    with pytest.raises(Exception, match="label_noise"):
        tiny_config(train={"label_noise": 1.0})


def test_a_run_without_label_noise_keeps_its_id(tiny_config):
    from grokscope.config.identity import run_id

    plain = tiny_config()
    explicit = parse_config({**plain.model_dump(mode="json"),
                             "train": {**plain.train.model_dump(mode="json"), "label_noise": 0.0}})
    noisy = tiny_config(train={"label_noise": 0.1})
    assert run_id(plain) == run_id(explicit) != run_id(noisy)
