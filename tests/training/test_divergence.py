"""Defect 11 of the data-safety issue: a member whose loss stops being finite gets a verdict
of its own (`diverged`, with the step), is frozen, and leaves the other members as they are."""

import numpy as np
import torch

from grokscope.detection import detect
from grokscope.experiment import run_experiment
from grokscope.store import RunStore
from grokscope.store.metrics import split_matrix


def test_a_diverged_member_gets_its_verdict_and_the_others_are_untouched(tmp_path, tiny_config):
    steps = {"steps": 100, "checkpoint_every": 50, "log_every": 10}
    diverging = run_experiment(tiny_config(train=steps, optim={"lr": [1e-2, 1e30]}),
                               tmp_path / "bad", progress=False)
    healthy = run_experiment(tiny_config(train=steps, optim={"lr": [1e-2, 1e-2]}),
                             tmp_path / "good", progress=False)
    bad, good = diverging.events["members"], healthy.events["members"]
    assert bad[1]["verdict"] == "diverged" and bad[1]["diverged_at"] == 10
    assert bad[0] == good[0]  # member 0 never sees member 1's NaNs
    a, b = RunStore(tmp_path / "bad").load_metrics(), RunStore(tmp_path / "good").load_metrics()
    for column in ("loss", "accuracy"):
        _, x = split_matrix(a, "test", column)
        _, y = split_matrix(b, "test", column)
        assert np.array_equal(x[:, 0], y[:, 0])
    wa = RunStore(tmp_path / "bad").load_checkpoint()["cohort"]["model"]
    wb = RunStore(tmp_path / "good").load_checkpoint()["cohort"]["model"]
    for name in wa:
        assert torch.equal(wa[name][0], wb[name][0]), name


def test_a_diverged_member_is_frozen_and_stays_frozen_on_resume(tmp_path, tiny_config):
    config = tiny_config(train={"steps": 200, "checkpoint_every": 100, "log_every": 10},
                         optim={"lr": [1e-2, 1e30]})
    run_experiment(config, tmp_path / "run", progress=False)
    store = RunStore(tmp_path / "run")
    state = store.load_checkpoint()
    assert state["cohort"]["frozen"] == [1]
    # weights and optimizer state of the frozen member no longer change between checkpoints
    at_100 = config.model_copy(update={"train": config.train.model_copy(update={"steps": 100})})
    run_experiment(at_100, tmp_path / "short", progress=False)
    early = RunStore(tmp_path / "short").load_checkpoint()["cohort"]
    assert early["frozen"] == [1]
    for name, value in state["cohort"]["model"].items():
        torch.testing.assert_close(value[1], early["model"][name][1], rtol=0, atol=0,
                                   equal_nan=True)


def test_detect_reports_the_first_non_finite_step_and_the_events_before_it():
    steps = np.arange(0, 1000, 10)
    train = np.minimum(1.0, steps / 100)
    test = np.where(steps > 500, 1.0, 0.1)
    loss = np.ones(len(steps))
    loss[70:] = np.nan
    found = detect(steps, train, test, train_loss=loss, test_loss=np.ones(len(steps)))
    assert found.verdict == "diverged" and found.diverged_at == 700
    assert found.alpha0 == 100 and found.alpha1 == 510
    inf = np.ones(len(steps))
    inf[3] = np.inf
    assert detect(steps, train, test, test_loss=inf).diverged_at == 30
    assert detect(steps, train, test, train_loss=np.ones(len(steps))).verdict == "grokked"
