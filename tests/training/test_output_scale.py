"""Lazy-training controls: centered outputs start at zero, and a large output scale alpha
fits the same data while moving the weights less (Chizat et al. 2019; Kumar et al. 2024)."""

import pytest
import torch

from grokscope.config import parse_config
from grokscope.errors import ConfigError
from grokscope.training.cohort import Cohort

REGRESSION = {
    "task": {"name": "polynomial", "dim": 10, "coefficients": [0.0, 1.0, 1.0], "pool_size": 64,
             "test_size": 64},
    "split": {"name": "pool", "n_train": 64},
    "model": {"name": "mlp", "width": 64, "depth": 1, "center": True},
    "optim": {"name": "sgd", "lr": 0.05, "weight_decay": 0.0},
    "train": {"loss": "mse", "device": "cpu"},
}


def _cohort(**model):
    config = parse_config({**REGRESSION, "model": {**REGRESSION["model"], **model},
                           "cohort": {"seed": [0, 0]}})
    return Cohort(config)


def test_centered_outputs_start_at_zero():
    cohort = _cohort(output_scale=[1.0, 30.0])
    ev = cohort.evaluate()
    labels = cohort.task.labels
    expected = labels.pow(2)  # f = 0: the loss is y^2
    torch.testing.assert_close(ev.loss[0], expected)
    torch.testing.assert_close(ev.loss[1], expected)


def test_large_output_scale_is_lazy():
    cohort = _cohort(output_scale=[1.0, 30.0])
    start = [p.detach().clone() for p in cohort.model.parameters()]
    before = cohort.evaluate().train_loss
    for _ in range(300):
        cohort.step()
    after = cohort.evaluate().train_loss
    assert bool((after < 0.5 * before).all())  # both members fit
    moved = sum((p.detach() - s).flatten(1).norm(dim=1) ** 2
                for p, s in zip(cohort.model.parameters(), start)).sqrt()
    assert float(moved[1]) < 0.2 * float(moved[0])  # alpha = 30 barely moves its weights


def test_member_with_an_output_scale_trains_as_alone():
    pair = _cohort(output_scale=[1.0, 30.0])
    alone = Cohort(parse_config({**REGRESSION, "model": {**REGRESSION["model"],
                                                         "output_scale": 30.0}}))
    for _ in range(50):
        pair.step()
        alone.step()
    for p_pair, p_alone in zip(pair.model.parameters(), alone.model.parameters()):
        torch.testing.assert_close(p_pair[1], p_alone[0], rtol=1e-4, atol=1e-6)


def test_regression_needs_mse():
    config = parse_config({**REGRESSION, "train": {"loss": "cross_entropy"}})
    with pytest.raises(ConfigError, match=r"train\.loss: task 'polynomial' is a regression; "
                                          r"allowed: mse, got 'cross_entropy'"):
        Cohort(config)
