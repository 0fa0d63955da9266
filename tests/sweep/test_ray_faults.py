"""A Ray worker SIGKILLed while it trains a cohort: the sweep retries that cohort (it resumes
from its checkpoint), keeps every finished cohort intact, and a rerun duplicates nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from conftest import TINY, merge
from grokscope.store import RunStore
from grokscope.store.lock import lock_holder
from grokscope.sweep.run import run_sweep
from grokscope.sweep.store import load_sweep

pytest.importorskip("ray")
pytestmark = pytest.mark.slow


def _keys(store):
    table = store.load_metrics()
    return list(zip(table["step"].to_pylist(), table["member"].to_pylist(),
                    table["split"].to_pylist()))


def _find_training_worker(sweep_dir, deadline):
    """(pid, cohort folder) of a worker that holds a cohort's lock past its first checkpoint."""
    while time.time() < deadline:
        for folder in sorted((sweep_dir / "cohorts").glob("cohort-*")):
            pid = lock_holder(folder)
            store = RunStore(folder)
            if pid and pid > 0 and store.checkpoint_path.is_file() and not store.is_finished():
                return pid, folder
        time.sleep(0.05)
    raise AssertionError("no worker was seen training a cohort")


def test_a_killed_ray_worker_is_retried_and_nothing_is_lost_or_duplicated(tmp_path):
    steps = 3000
    spec = tmp_path / "sweep.yaml"
    spec.write_text(yaml.safe_dump({
        "name": "rayfault", "seeds": 1, "grid": {"optim.lr": [0.01, 0.02]},
        "config": merge(TINY, {"train": {"steps": steps, "checkpoint_every": 100}})}))
    sweep_dir = tmp_path / "sweep"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "RAY_DEDUP_LOGS": "0"}
    command = [sys.executable, "-m", "grokscope.cli", "sweep", str(spec), "--out",
               str(sweep_dir), "--runner", "ray", "--max-members", "1", "--no-progress"]
    driver = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        pid, killed = _find_training_worker(sweep_dir, time.time() + 180)
        assert pid != driver.pid
        killed_at = RunStore(killed).load_checkpoint()["step"]
        os.kill(pid, signal.SIGKILL)
        output, _ = driver.communicate(timeout=300)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert driver.returncode == 0, output
    assert 0 < killed_at < steps
    table = load_sweep(sweep_dir)
    assert len(table) == 2 and table["run"].is_unique
    expected = {(s, m, sp) for s in range(0, steps + 1, 10) for m in (0,)
                for sp in ("train", "test")}
    for folder in (sweep_dir / "cohorts").glob("cohort-*"):
        keys = _keys(RunStore(folder))
        assert len(keys) == len(set(keys)) and set(keys) == expected, folder.name
    # the rerun trains nothing and duplicates nothing
    plan, again = run_sweep(spec, sweep_dir, max_members=1, progress=False)
    assert not plan.cohorts and len(plan.finished) == 2
    assert sorted(again["run"]) == sorted(table["run"])
    for folder in (sweep_dir / "cohorts").glob("cohort-*"):
        keys = _keys(RunStore(folder))
        assert len(keys) == len(set(keys)) == len(expected)


def test_a_cohort_that_fails_on_ray_is_reported_in_one_line():
    from grokscope.errors import ConfigError
    from grokscope.sweep.runners import _reason

    class Died(Exception):
        cause = None

        def __str__(self):
            return "The worker died unexpectedly while executing this task.\nmore"

    assert _reason(Died()) == "Died: The worker died unexpectedly while executing this task."
    wrapped = Died()
    wrapped.cause = ConfigError("sweep: cohort x: bad")
    assert _reason(wrapped) == "sweep: cohort x: bad"
