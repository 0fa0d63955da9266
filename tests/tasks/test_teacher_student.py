"""The teacher-student task of epoch-wise double descent (Pezeshki et al. 2022): its data, its
split, and a trained cohort held to the closed form of gradient descent."""

from __future__ import annotations

import pytest
import torch

from conftest import merge
from grokscope.config import parse_config
from grokscope.errors import ConfigError
from grokscope.experiment import run_experiment
from grokscope.store import RunStore
from grokscope.tasks import build_task
from grokscope.tasks.teacher_student import closed_form_test_mse, member_blocks

SMALL = {
    "name": "ts",
    "task": {"name": "teacher_student", "n_train": 30, "dim": 20, "fast_dims": 14,
             "kappa": [1, 100], "test_size": 200, "draws": 2},
    "split": {"name": "teacher_student", "kappa": [100, 1, 100], "seed": [0, 0, 1]},
    "model": {"name": "linear"},
    "optim": {"name": "sgd", "lr": 1.0, "weight_decay": 0.0},
    "train": {"steps": 400, "log_every": 200, "log_per_decade": 10, "loss": "mse",
              "loss_dtype": "float64", "checkpoint_every": 400, "device": "cpu"},
    "cohort": {"members": 3},
}


def _block(task, block):
    rows = task.groups["block"] == block
    test = task.groups["in_test"].bool()
    return (task.inputs[rows & ~test], task.labels[rows & ~test], task.inputs[rows & test],
            task.labels[rows & test])


def test_kappas_of_one_draw_share_the_teacher_and_the_inputs_geometry():
    config = parse_config(SMALL)
    task = build_task(config.task)
    x1, y1, _, _ = _block(task, 0)  # draw 0, kappa 1
    x100, y100, _, _ = _block(task, 1)  # draw 0, kappa 100
    torch.testing.assert_close(y1, y100)  # the same Z and teacher
    _, y_other, _, _ = _block(task, 2)  # draw 1
    assert not torch.allclose(y1, y_other)
    # step-normalized: (2/n) lambda_max(X^T X) = 1, so lr 1 is eta = 1 / lambda_max
    for x in (x1, x100):
        lam = torch.linalg.eigvalsh(2 / 30 * x.double().T @ x.double()).max()
        assert float(lam) == pytest.approx(1.0, rel=1e-5)
    # kappa 100: 6 of the 20 directions are 100x slower (singular values of X)
    s = torch.linalg.svdvals(x100.double())
    assert float(s[13] / s[14]) > 20 and float(s[0] / s[13]) < 10


def test_trained_cohort_follows_the_closed_form(tmp_path):
    config = parse_config(merge(SMALL, {"out_dir": str(tmp_path)}))
    run_experiment(config, progress=False)
    table = RunStore(tmp_path / "ts").load_metrics().to_pandas()
    test = table[table.split == "test"]
    task = build_task(config.task)
    blocks = member_blocks(config.split, task, [0, 0, 1])
    for member, block in enumerate(blocks):
        rows = test[test.member == member].sort_values("step")
        steps = rows.step.tolist()
        assert steps[:6] == [0, 1, 2, 3, 4, 5] and steps[-1] == 400  # log-spaced steps
        expected = closed_form_test_mse(*_block(task, block), lr=1.0, steps=steps)
        torch.testing.assert_close(torch.tensor(rows.loss.values, dtype=torch.float64),
                                   expected, rtol=2e-4, atol=1e-7)


def test_closed_form_shows_the_double_descent_and_its_controls():
    config = parse_config(merge(SMALL, {"task": {"n_train": 130, "dim": 100, "fast_dims": 70,
                                                 "kappa": [1, 100, 100000], "test_size": 1000,
                                                 "draws": 1}}))
    task = build_task(config.task)
    steps = [0, 1, 2, 4, 7, 10, 30, 100, 160, 300, 1000, 3000, 10000, 30000]
    mono, dd, u = (closed_form_test_mse(*_block(task, b), lr=1.0, steps=steps) for b in range(3))
    assert bool((mono[1:] <= mono[:-1] + 1e-12).all())  # kappa 1: monotone
    first = int(dd[:6].argmin())
    assert dd[8] > dd[first] * 1.1 and dd[-1] < dd[first]  # kappa 100: down, up, down
    assert u[-1] > u[:6].min() * 1.1  # kappa 1e5: up, and still up at 30k


@pytest.mark.parametrize(("override", "message"), [
    ({"split": {"kappa": [7, 1, 100]}}, "split.kappa: 7 is not one of the task's kappa (1, 100)"),
    ({"split": {"seed": [0, 0, 5]}}, "split seed 5 picks a draw the task does not have; "
                                     "allowed: 0..1"),
])
def test_bad_blocks_are_one_line_errors(override, message, tmp_path):
    config = parse_config(merge(SMALL, {"out_dir": str(tmp_path), **override}))
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace(".", r"\.")):
        run_experiment(config, progress=False)


def test_fast_dims_beyond_dim_and_linear_on_tokens_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="fast_dims"):
        parse_config(merge(SMALL, {"task": {"fast_dims": 21}}))
    tokens = parse_config({"task": {"name": "modular", "p": 7}, "model": {"name": "linear"},
                           "out_dir": str(tmp_path), "train": {"steps": 2}})
    with pytest.raises(ConfigError, match="model 'linear': task 'modular' has token inputs"):
        run_experiment(tokens, progress=False)
