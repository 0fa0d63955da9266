"""Online stopping in the engine: the decision taken while training is the offline replay's
on the full-budget curve; stopped members leave the cohort and the others train on as if
alone; a crash and a resume keep stopped members stopped, and lose or repeat no row."""

import numpy as np
import pytest
import torch

from conftest import CrashAt
from grokscope.detection.online import NORM, History, first_stop
from grokscope.detection.stopping import member_rules
from grokscope.experiment import run_experiment
from grokscope.store import RunStore
from grokscope.store.metrics import member_histories

# measured on this config: member 1 stops at 90 (budget), 0 at 250 (budget), 2 at 300
# (patience: its test accuracy's best is 15 logs old)
RULES = [{"name": "patience", "monitor": "test_acc", "patience": 15, "start_step": 150},
         {"name": "budget", "steps": [250, 90, 400]}]


def _config(tiny_config, rules=RULES, **train):
    return tiny_config(train={"steps": 400, "log_every": 10, "checkpoint_every": 50, **train},
                       cohort={"members": 3}, optim={"lr": [1e-2, 3e-3, 1e-2]},
                       probes=[{"name": "weight_norm"}], stopping=rules)


def test_online_decisions_equal_the_offline_replay(tmp_path, tiny_config):
    config = _config(tiny_config)
    full = run_experiment(config.model_copy(update={"stopping": []}), tmp_path / "full",
                          progress=False)
    assert full.events["compute_used"] == 1.0
    histories = member_histories(RunStore(tmp_path / "full").load_metrics(), (NORM,))
    expected = {}
    for member, rules in enumerate(member_rules(config, 3)):
        entry = histories[member]
        h = History(entry["steps"], {k: v for k, v in entry.items() if k != "steps"}, 400)
        stops = [(first_stop(rule, h), rule.name) for rule in rules]
        stops = [s for s in stops if s[0] is not None]
        expected[member] = min(stops) if stops else (None, None)
    stopped = run_experiment(config, tmp_path / "stopped", progress=False)
    got = {m["member"]: (m["stop_step"], m["stop_rule"]) for m in stopped.events["members"]}
    assert got == expected
    assert any(step is not None and step < 400 for step, _ in got.values())
    for m in stopped.events["members"]:  # each member's events come from its own curve
        assert m["last_step"] == (m["stop_step"] or 400)
    assert stopped.events["compute_used"] < 1.0
    # the forecast is logged for the members that memorized
    table = RunStore(tmp_path / "stopped").load_metrics()
    assert "forecast/p_grok" in table.column_names and "forecast/alpha1" in table.column_names


def test_survivors_train_as_without_stopping(tmp_path, tiny_config):
    config = _config(tiny_config, rules=[{"name": "budget", "steps": [100, 400, 250]}])
    run_experiment(config.model_copy(update={"stopping": []}), tmp_path / "full",
                   progress=False)
    run_experiment(config, tmp_path / "stopped", progress=False)
    full = RunStore(tmp_path / "full")
    stopped = RunStore(tmp_path / "stopped")
    a, b = member_histories(full.load_metrics()), member_histories(stopped.load_metrics())
    for member, last in ((0, 100), (1, 400), (2, 250)):
        assert b[member]["steps"][-1] == last
        n = len(b[member]["steps"])
        for column in ("train_loss", "test_loss", "test_acc"):
            np.testing.assert_allclose(b[member][column], a[member][column][:n], rtol=1e-4,
                                       atol=1e-6)
    survivor = stopped.load_checkpoint()["cohort"]
    reference = full.load_checkpoint()["cohort"]
    assert survivor["ids"] == [1]
    for name, value in survivor["model"].items():
        torch.testing.assert_close(value[0], reference["model"][name][1], rtol=1e-4, atol=1e-5)


class Crash(RuntimeError):
    pass


@pytest.mark.parametrize("crash_at", [120, 270])
def test_a_crash_and_resume_keep_stopped_members_stopped(tmp_path, tiny_config, crash_at):
    config = _config(tiny_config)
    reference = run_experiment(config, tmp_path / "reference", progress=False)
    with pytest.raises(Crash):
        run_experiment(config, tmp_path / "resumed", progress=False,
                       callbacks=[CrashAt(crash_at, Crash)])
    resumed = run_experiment(config, tmp_path / "resumed", progress=False)
    assert resumed.events["members"] == reference.events["members"]
    a = RunStore(tmp_path / "resumed").load_metrics()
    b = RunStore(tmp_path / "reference").load_metrics()
    keys = list(zip(a["step"].to_pylist(), a["member"].to_pylist(), a["split"].to_pylist()))
    assert len(keys) == len(set(keys))  # nothing repeated
    assert a["loss"].to_pylist() == b["loss"].to_pylist()  # bit-identical, nothing lost
    assert a["forecast/p_grok"].to_pylist() == b["forecast/p_grok"].to_pylist()


def test_sigkill_with_stopped_members_and_rerun(tmp_path):
    """A real SIGKILL of `grokscope run` once a member has stopped, then the same command."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import yaml

    from conftest import TINY, merge
    from grokscope.config import parse_config

    data = merge(TINY, {"train": {"steps": 3000, "checkpoint_every": 100, "log_every": 10},
                        "cohort": {"members": 3},
                        "stopping": [{"name": "budget", "steps": [300, 5000, 1500]}]})
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(data))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "grokscope.cli", "run", str(path), "--out",
               str(tmp_path / "killed"), "--no-progress"]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    store = RunStore(tmp_path / "killed")
    deadline = time.time() + 120
    while time.time() < deadline and not (store.checkpoint_path.exists() and
                                          store.load_checkpoint()["step"] >= 500):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    state = store.load_checkpoint()
    assert 500 <= state["step"] < 3000 and store.read_events() is None, "killed mid-run"
    assert state["cohort"]["ids"] == [1, 2] and state["cohort"]["stopped"][0]["step"] == 300
    assert subprocess.run(command, env=env, capture_output=True).returncode == 0
    reference = run_experiment(parse_config(data), tmp_path / "reference", progress=False)
    a, b = store.load_metrics(), RunStore(tmp_path / "reference").load_metrics()
    keys = list(zip(a["step"].to_pylist(), a["member"].to_pylist(), a["split"].to_pylist()))
    assert len(keys) == len(set(keys))
    assert a["loss"].to_pylist() == b["loss"].to_pylist()  # bit-identical, nothing lost
    events = store.read_events()["members"]
    assert [m["stop_step"] for m in events] == [300, None, 1500]
    assert events == reference.events["members"]
