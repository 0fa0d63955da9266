"""The optimizer-transform seam: a transform registered from another file trains end to end,
and its state survives a SIGKILL and resume bit-identically (no code of its own for it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from conftest import TINY, merge
from grokscope.store import RunStore

HERE = Path(__file__).resolve().parent
LAUNCH = ("import sys; sys.path.insert(0, sys.argv.pop(1)); import toy_transform; "
          "from grokscope.cli import app; sys.argv[0] = 'grokscope'; app()")
CONFIG = merge(TINY, {"train": {"steps": 60, "checkpoint_every": 20},
                      "optim": {"transforms": [{"name": "toy_ema", "alpha": 0.8}]}})


def _grokscope(tmp_path, out, **env):
    config = tmp_path / "toy.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    command = [sys.executable, "-c", LAUNCH, str(HERE), "run", str(config), "--out", str(out),
               "--no-progress"]
    return subprocess.run(command, env={**os.environ, "OMP_NUM_THREADS": "1", **env},
                          capture_output=True, text=True, timeout=180)


@pytest.mark.slow
def test_a_registered_transform_trains_and_resumes_bit_identically(tmp_path):
    trace = tmp_path / "trace.txt"
    done = _grokscope(tmp_path, tmp_path / "reference", GROKSCOPE_FAULT_TRACE=str(trace))
    assert done.returncode == 0, done.stderr
    points = [line.split("\t") for line in trace.read_text().splitlines()]
    renames = [i for i, (kind, path) in enumerate(points, 1)
               if kind == "rename" and path.endswith("/checkpoint.pt")]
    kill_at = renames[1]  # before the second checkpoint lands: resume from the first
    killed = _grokscope(tmp_path, tmp_path / "killed", GROKSCOPE_FAULT_AT=str(kill_at))
    assert killed.returncode == -9, killed.stderr
    assert RunStore(tmp_path / "killed").load_checkpoint()["step"] == 20
    assert _grokscope(tmp_path, tmp_path / "killed").returncode == 0
    a, b = RunStore(tmp_path / "killed"), RunStore(tmp_path / "reference")
    for column in ("step", "member", "split", "loss", "accuracy"):
        assert a.load_metrics()[column].to_pylist() == b.load_metrics()[column].to_pylist()
    mine, theirs = a.load_checkpoint()["cohort"], b.load_checkpoint()["cohort"]
    ema, reference_ema = mine["optimizer"]["links"]["0"]["ema"], \
        theirs["optimizer"]["links"]["0"]["ema"]
    assert all(t.abs().sum() > 0 for t in ema)  # the link ran and kept state
    for x, y in zip(ema, reference_ema, strict=True):
        assert torch.equal(x, y)
    for name, value in theirs["model"].items():
        assert torch.equal(mine["model"][name], value), name


def test_an_unknown_transform_is_one_line(tiny_config):
    from grokscope.errors import ConfigError

    with pytest.raises(ConfigError, match=r"optim.transforms.0.name: unknown transform 'toy' "
                                          r"\(allowed: clip_by_member_norm"):
        tiny_config(optim={"transforms": [{"name": "toy"}]})


def test_grad_clip_is_an_alias_of_the_clipping_transform(tmp_path, tiny_config):
    from grokscope.experiment import run_experiment

    alias = run_experiment(tiny_config(train={"steps": 20}, optim={"grad_clip": 0.01}),
                           tmp_path / "alias", progress=False)
    listed = run_experiment(tiny_config(train={"steps": 20}, optim={"transforms": [
        {"name": "clip_by_member_norm", "max_norm": 0.01}]}), tmp_path / "listed",
        progress=False)
    a = RunStore(alias.path).load_metrics()["loss"].to_pylist()
    assert a == RunStore(listed.path).load_metrics()["loss"].to_pylist()
    free = run_experiment(tiny_config(train={"steps": 20}), tmp_path / "free", progress=False)
    assert a != RunStore(free.path).load_metrics()["loss"].to_pylist()
