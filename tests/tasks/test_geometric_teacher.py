"""The two-layer double-descent setup of Heckel & Yilmaz 2021: the geometric-scale teacher, its
split, the per-layer init scale and step size, and the L1-risk probe; a cohort member held
to a plain PyTorch gradient-descent loop with per-layer step sizes."""

from __future__ import annotations

import math

import pytest
import torch

from conftest import merge
from grokscope.config import parse_config
from grokscope.errors import ConfigError
from grokscope.probes.callback import ProbeCallback
from grokscope.tasks import build_task
from grokscope.training.cohort import Cohort

SMALL = {
    "task": {"name": "geometric_teacher", "n_train": 40, "dim": 8, "test_size": 60, "draws": 2},
    "split": {"name": "teacher_draw", "seed": [0, 1, 0]},
    "model": {"name": "mlp", "width": 16, "depth": 1, "param_scales": {"w_out": 0.01}},
    "optim": {"name": "sgd", "lr": 5e-3, "weight_decay": 0.0,
              "transforms": [{"name": "scale_by_parameter",
                              "factors": {"w0": [1.0, 1.0, 0.0125], "b0": [1.0, 1.0, 0.0125]}}]},
    "train": {"steps": 30, "loss": "mse", "device": "cpu"},
    "cohort": {"members": 3},
}


def _rows(task, draw):
    block, test = task.groups["block"] == draw, task.groups["in_test"].bool()
    return block & ~test, block & test


def test_features_have_geometric_scales_and_a_linear_teacher():
    config = parse_config(merge(SMALL, {"task": {"test_size": 20000, "draws": 1}}))
    task = build_task(config.task)
    x, y = task.inputs.double(), task.labels.double()
    target = torch.logspace(0, math.log10(4), 8, dtype=torch.float64)
    torch.testing.assert_close(x.std(0), target, rtol=0.03, atol=0)
    teacher = torch.linalg.lstsq(x, y.unsqueeze(1)).solution
    assert float((x @ teacher - y.unsqueeze(1)).abs().max()) < 1e-3  # y = x . w, no noise


def test_each_member_trains_and_tests_on_its_own_draw():
    config = parse_config(SMALL)
    cohort = Cohort(config)
    task = cohort.task
    for member, draw in enumerate([0, 1, 0]):
        train, test = _rows(task, draw)
        assert torch.equal(cohort.masks[member], train) and torch.equal(
            cohort.test_masks[member], test)
    assert not torch.equal(task.labels[_rows(task, 0)[0]], task.labels[_rows(task, 1)[0]])


@pytest.mark.parametrize("override, message", [
    ({"split": {"seed": [0, 2, 0]}}, "split seed 2 picks a draw"),
    ({"model": {"param_scales": {"w9": 0.1}}}, "model.param_scales: w9 is not a parameter"),
    ({"optim": {"transforms": [{"name": "scale_by_parameter", "factors": {"v": 2.0}}]}},
     "optim.transforms.0.factors: v is not a parameter of this model (allowed: w0, b0"),
    ({"optim": {"transforms": [{"name": "scale_by_parameter", "factors": {"w0": [1.0, 2.0]}}]}},
     "factors.w0: has 2 values but the cohort has 3 members"),
])
def test_bad_settings_are_one_line_errors(override, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")) as error:
        Cohort(parse_config(merge(SMALL, override)))
    assert "\n" not in str(error.value)


def test_teacher_draw_split_refuses_another_task():
    data = merge(SMALL, {"task": {"name": "modular", "p": 7}, "model": {"param_scales": None},
                         "optim": {"transforms": []}})
    with pytest.raises(ConfigError, match="split 'teacher_draw': task 'modular' has no draws"):
        Cohort(parse_config(data))


def test_param_scales_multiply_the_named_draw_only():
    scaled = Cohort(parse_config(SMALL)).model
    plain = Cohort(parse_config(merge(SMALL, {"model": {"param_scales": None}}))).model
    torch.testing.assert_close(scaled.w_out, plain.w_out * 0.01, rtol=0, atol=0)
    for name in ("w0", "b0", "b_out"):
        assert torch.equal(getattr(scaled, name), getattr(plain, name))


def test_a_member_equals_plain_gradient_descent_with_per_layer_step_sizes():
    """Heckel & Yilmaz's loop: p -= lr_layer * grad of the summed squared error. The cohort's
    mean squared error at lr * n with the first layer's gradient x factor is the same map."""
    config = parse_config(SMALL)
    cohort = Cohort(config)
    member, n = 2, 40  # the member with the scaled first-layer step
    train, test = _rows(cohort.task, 0)
    x, y = cohort.task.inputs[train].double(), cohort.task.labels[train].double()
    w0, b0, w_out, b_out = (getattr(cohort.model, k)[member].detach().double().clone()
                            .requires_grad_() for k in ("w0", "b0", "w_out", "b_out"))
    lr_sum = 5e-3 / n  # their step on the sum
    steps = {"w0": lr_sum * 0.0125, "b0": lr_sum * 0.0125, "w_out": lr_sum, "b_out": lr_sum}
    for _ in range(30):
        cohort.step()
        out = torch.relu(x @ w0 + b0) @ w_out + b_out
        loss = ((out[:, 0] - y) ** 2).sum()
        grads = torch.autograd.grad(loss, [w0, b0, w_out, b_out])
        with torch.no_grad():
            for p, g, k in zip((w0, b0, w_out, b_out), grads, steps, strict=True):
                p -= steps[k] * g
    for name, ref in zip(("w0", "b0", "w_out", "b_out"), (w0, b0, w_out, b_out), strict=True):
        torch.testing.assert_close(getattr(cohort.model, name)[member].double(), ref.detach(),
                                   rtol=1e-4, atol=1e-6)
    # and the unscaled member moved its first layer 80x further than the scaled one did
    start = Cohort(config).model.w0.detach()
    moved = (cohort.model.w0.detach() - start).flatten(1).norm(dim=1)
    assert float(moved[0] / moved[2]) > 10


def test_abs_error_probe_is_the_mean_absolute_error():
    config = parse_config(merge(SMALL, {"probes": [{"name": "abs_error", "every": 10}]}))
    cohort = Cohort(config)
    for _ in range(5):
        cohort.step()
    probes = ProbeCallback(cohort).probes
    scalars, _ = probes.measure(cohort, 10, cohort.evaluate)
    task = cohort.task
    with torch.no_grad():
        out = cohort.model(task.inputs.expand(3, *task.inputs.shape))[..., 0]
    for member, draw in enumerate([0, 1, 0]):
        train, test = _rows(task, draw)
        for split, rows in (("test", test), ("train", train)):
            expected = (out[member, rows] - task.labels[rows]).abs().mean()
            assert float(scalars[f"abs_error/{split}"][member]) == pytest.approx(
                float(expected), rel=1e-5)


def test_abs_error_probe_refuses_a_classification_task():
    data = merge(SMALL, {"task": {"name": "modular", "p": 7}, "split": {"name": "uniform",
                 "fraction": 0.5, "seed": None}, "model": {"param_scales": None},
                 "optim": {"transforms": []}, "train": {"loss": "cross_entropy"},
                 "probes": [{"name": "abs_error"}]})
    with pytest.raises(ConfigError, match="probes.0.name: 'abs_error' needs a regression task"):
        ProbeCallback(Cohort(parse_config(data)))
