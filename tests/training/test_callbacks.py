"""The callback seam: hooks in order, device tensors at each log, and per-member stop
requests that stop exactly the members asked for (they leave the cohort; the others train on
as a smaller one)."""

import numpy as np
import torch

from grokscope.experiment import run_experiment
from grokscope.store import RunStore
from grokscope.training.callbacks import Callback


class Record(Callback):
    def __init__(self):
        self.calls = []

    def on_start(self, loop):
        super().on_start(loop)
        self.calls.append(("start", loop.start))

    def on_log(self, step, evaluation):
        assert isinstance(evaluation.test_acc, torch.Tensor)
        self.calls.append(("log", step))

    def on_checkpoint(self, step):
        self.calls.append(("checkpoint", step))

    def on_end(self, step):
        self.calls.append(("end", step))


class StopAt(Callback):
    def __init__(self, step, mask):
        self.step, self.mask = step, np.asarray(mask)

    def stop_request(self, step):
        return self.mask if step == self.step else None


def test_hooks_come_in_order(tmp_path, tiny_config):
    record = Record()
    run_experiment(tiny_config(train={"steps": 40}), tmp_path / "run", progress=False,
                   callbacks=[record])
    assert record.calls == [("start", 0), ("log", 0), ("log", 10), ("log", 20),
                            ("checkpoint", 20), ("log", 30), ("log", 40), ("checkpoint", 40),
                            ("end", 40)]


def test_a_stopped_member_is_frozen_and_the_other_is_untouched(tmp_path, tiny_config):
    config = tiny_config(train={"steps": 60, "checkpoint_every": 20})
    run_experiment(config, tmp_path / "free", progress=False)
    result = run_experiment(config, tmp_path / "stopped", progress=False,
                            callbacks=[StopAt(20, [False, True])])
    free = RunStore(tmp_path / "free").load_checkpoint()["cohort"]
    stopped = RunStore(tmp_path / "stopped").load_checkpoint()["cohort"]
    assert stopped["ids"] == [0] and free["ids"] == [0, 1]
    assert stopped["stopped"][1]["step"] == 20 and stopped["stopped"][1]["rule"] == "callback"
    short = config.model_copy(update={"train": config.train.model_copy(update={"steps": 20})})
    run_experiment(short, tmp_path / "at20", progress=False)
    at20 = RunStore(tmp_path / "at20").load_checkpoint()["cohort"]
    for name, value in stopped["model"].items():
        assert value.shape[0] == 1, name  # the member axis shrank
        # member 0 trains on as if alone (a smaller cohort: equal up to summation order)
        torch.testing.assert_close(value[0], free["model"][name][0], rtol=1e-5, atol=1e-6)
        assert torch.equal(stopped["stopped"][1]["model"][name], at20["model"][name][1]), name
    events = result.events["members"]
    assert events[1]["stop_step"] == 20 and events[1]["last_step"] == 20
    assert events[0]["stop_step"] is None and events[0]["last_step"] == 60
    assert result.events["compute_used"] == (60 + 20) / 120
