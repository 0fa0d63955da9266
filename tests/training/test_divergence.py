"""Defect 11 of the data-safety issue: a member whose loss stops being finite gets a verdict
of its own (`diverged`, with the step), stops (it leaves the cohort), and leaves the other
members as they are."""

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
    # it stops once its values reach the host (the next drain of logged values)
    assert bad[1]["stop_rule"] == "diverged" and bad[1]["stop_step"] in (10, 50)
    keys = [k for k in bad[0] if k not in ("last_step", "stop_step", "stop_rule")]
    assert {k: bad[0][k] for k in keys} == {k: good[0][k] for k in keys}  # no NaN reaches 0
    a, b = RunStore(tmp_path / "bad").load_metrics(), RunStore(tmp_path / "good").load_metrics()
    for column in ("loss", "accuracy"):
        _, x = split_matrix(a, "test", column)
        _, y = split_matrix(b, "test", column)
        np.testing.assert_allclose(x[:, 0], y[:, 0], rtol=1e-5, atol=1e-6)
    wa = RunStore(tmp_path / "bad").load_checkpoint()["cohort"]["model"]
    wb = RunStore(tmp_path / "good").load_checkpoint()["cohort"]["model"]
    for name in wa:
        torch.testing.assert_close(wa[name][0], wb[name][0], rtol=1e-5, atol=1e-6)


def test_a_diverged_member_is_frozen_and_stays_frozen_on_resume(tmp_path, tiny_config):
    config = tiny_config(train={"steps": 200, "checkpoint_every": 100, "log_every": 10},
                         optim={"lr": [1e-2, 1e30]})
    run_experiment(config, tmp_path / "run", progress=False)
    store = RunStore(tmp_path / "run")
    state = store.load_checkpoint()["cohort"]
    assert state["ids"] == [0] and state["stopped"][1]["rule"] == "diverged"
    # the stopped member's weights are those of the step it stopped at, also on a shorter run
    at_100 = config.model_copy(update={"train": config.train.model_copy(update={"steps": 100})})
    run_experiment(at_100, tmp_path / "short", progress=False)
    early = RunStore(tmp_path / "short").load_checkpoint()["cohort"]
    assert early["ids"] == [0]
    for name, value in state["stopped"][1]["model"].items():
        torch.testing.assert_close(value, early["stopped"][1]["model"][name], rtol=0, atol=0,
                                   equal_nan=True)
    # its rows end at the stop
    steps, acc = split_matrix(store.load_metrics(), "test")
    at = state["stopped"][1]["step"]
    assert np.isnan(acc[steps > at, 1]).all() and not np.isnan(acc[steps <= at, 1]).any()
    assert not np.isnan(acc[:, 0]).any() and steps[-1] == 200


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
