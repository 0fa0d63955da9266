"""Kill and resume: no lost or duplicated metric rows, and the same final weights."""

import os
import signal
import subprocess
import sys
import time

import pyarrow.compute as pc
import pytest
import torch
import yaml

from conftest import TINY, CrashAt, merge
from grokscope.config import parse_config
from grokscope.experiment import run_experiment
from grokscope.store import RunStore


def _rows(store: RunStore) -> list[tuple[int, int, str]]:
    t = store.load_metrics()
    return list(zip(t["step"].to_pylist(), t["member"].to_pylist(), t["split"].to_pylist()))


def _final_weights(store: RunStore) -> list[torch.Tensor]:
    return list(store.load_checkpoint()["cohort"]["model"].values())


def _assert_same_run(resumed: RunStore, reference: RunStore, steps: int, every: int, members: int):
    rows = _rows(resumed)
    assert len(rows) == len(set(rows)), "duplicated (step, member, split) rows"
    expected = {(s, m, sp) for s in range(0, steps + 1, every) for m in range(members)
                for sp in ("train", "test")}
    assert set(rows) == expected, "missing rows"
    a, b = resumed.load_metrics(), reference.load_metrics()
    assert a["accuracy"].to_pylist() == b["accuracy"].to_pylist()
    assert a["loss"].to_pylist() == b["loss"].to_pylist()
    for x, y in zip(_final_weights(resumed), _final_weights(reference), strict=True):
        assert torch.equal(x, y)


class Crash(RuntimeError):
    pass


@pytest.mark.parametrize("batch_size, sampler", [(None, "host"), (8, "host"), (8, "device")])
def test_crash_between_checkpoints_resumes_exactly(tmp_path, tiny_config, monkeypatch, batch_size,
                                                   sampler):
    config = tiny_config(train={"steps": 90, "checkpoint_every": 30, "batch_size": batch_size,
                                "sampler": sampler})
    run_experiment(config, tmp_path / "reference", progress=False)

    with pytest.raises(Crash):
        run_experiment(config, tmp_path / "resumed", progress=False,
                       callbacks=[CrashAt(70, Crash)])
    assert RunStore(tmp_path / "resumed").load_checkpoint()["step"] == 60
    run_experiment(config, tmp_path / "resumed", progress=False)
    _assert_same_run(RunStore(tmp_path / "resumed"), RunStore(tmp_path / "reference"), 90, 10, 2)


def test_sigkill_and_rerun_with_the_same_command(tmp_path):
    """A real SIGKILL of `grokscope run`, then the same command again."""
    data = merge(TINY, {"train": {"steps": 3000, "checkpoint_every": 100, "log_every": 10}})
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(data))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "grokscope.cli", "run", str(path), "--out",
               str(tmp_path / "killed"), "--no-progress"]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    store = RunStore(tmp_path / "killed")
    deadline = time.time() + 120
    while time.time() < deadline and not (store.checkpoint_path.exists() and
                                          store.load_checkpoint()["step"] >= 300):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = store.load_checkpoint()["step"]
    assert 300 <= killed_at < 3000 and store.read_events() is None, "killed mid-run"
    assert subprocess.run(command, env=env, capture_output=True).returncode == 0
    run_experiment(parse_config(data), tmp_path / "reference", progress=False)
    _assert_same_run(store, RunStore(tmp_path / "reference"), 3000, 10, 2)
    assert not pc.any(pc.is_null(store.load_metrics()["loss"])).as_py()
