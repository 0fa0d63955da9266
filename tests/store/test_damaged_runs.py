"""Defects 2, 5, 6, 10 of the data-safety issue: what a crash or a damaged file leaves is
repaired or refused in one line, never a traceback, never a rewrite of good results."""

import json
import math
import os
import subprocess
import sys

import pytest
import torch
import yaml
from typer.testing import CliRunner

from conftest import TINY, CrashAt, merge
from grokscope.cli import app
from grokscope.config import parse_config
from grokscope.errors import ConfigError
from grokscope.experiment import run_experiment
from grokscope.store import RunStore

runner = CliRunner()


class Crash(RuntimeError):
    pass


def _unfinished_run(path, monkeypatch, steps=60, crash_at=50):
    """A run stopped by an exception after its checkpoint at 40: parts and a checkpoint, no
    events."""
    config = parse_config(merge(TINY, {"train": {"steps": steps}}))

    with pytest.raises(Crash):
        run_experiment(config, path, progress=False, callbacks=[CrashAt(crash_at, Crash)])
    return config


def test_stray_files_in_the_parts_folder_do_not_block_the_end(tmp_path, monkeypatch):
    """Defect 2: a leftover `.part-*.tmp-PID` (a kill mid-write) made every rerun train to
    the end and then fail with `Directory not empty`; no events.json, ever."""
    config = _unfinished_run(tmp_path / "run", monkeypatch)
    parts = tmp_path / "run" / "metrics.parts"
    (parts / ".part-000000000060.parquet.tmp-4242").write_bytes(b"PAR1 half a file")
    (parts / "README").write_text("someone's note")
    result = run_experiment(config, tmp_path / "run", progress=False)
    assert result.events["finished"]
    rows = RunStore(tmp_path / "run").load_metrics()
    keys = list(zip(rows["step"].to_pylist(), rows["member"].to_pylist(),
                    rows["split"].to_pylist()))
    assert len(keys) == len(set(keys)) == 7 * 2 * 2
    assert (parts / "README").read_text() == "someone's note"  # not ours: left alone
    assert not (parts / ".part-000000000060.parquet.tmp-4242").exists()


def test_a_temp_file_left_in_the_run_is_removed_by_the_next_run(tmp_path, monkeypatch):
    config = _unfinished_run(tmp_path / "run", monkeypatch)
    stray = tmp_path / "run" / ".checkpoint.pt.tmp-31337"
    stray.write_bytes(b"\x00" * 10)
    run_experiment(config, tmp_path / "run", progress=False)
    assert not stray.exists()


class Evil:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


def test_a_crafted_checkpoint_cannot_run_code(tmp_path, monkeypatch):
    """Defect 5: checkpoints were loaded with weights_only=False; a crafted checkpoint.pt in
    an unfinished run ran a shell command on `grokscope run`."""
    config = _unfinished_run(tmp_path / "run", monkeypatch)
    target = tmp_path / "pwned"
    torch.save({"step": 40, "cohort": Evil(target)}, tmp_path / "run" / "checkpoint.pt")
    with pytest.raises(ConfigError, match="cannot be loaded safely"):
        run_experiment(config, tmp_path / "run", progress=False)
    assert not target.exists()


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 truncated", None])
def test_a_truncated_or_empty_checkpoint_is_one_line(tmp_path, monkeypatch, content):
    """Defect 7: a truncated or zero-length checkpoint printed only `Aborted.`"""
    _unfinished_run(tmp_path / "run", monkeypatch)
    path = tmp_path / "run" / "checkpoint.pt"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if content is None else content)
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump(merge(TINY, {"train": {"steps": 60}})))
    out = subprocess.run([sys.executable, "-m", "grokscope.cli", "run", str(config), "--out",
                          str(tmp_path / "run"), "--no-progress"], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "checkpoint.pt" in lines[0] and "Traceback" not in out.stderr


def test_no_code_path_loads_pickles_from_run_files():
    src = os.path.join(os.path.dirname(__file__), "..", "..", "src")
    found = subprocess.run(["grep", "-rn", "weights_only=False", src], capture_output=True,
                           text=True)
    assert found.stdout == ""
    loads = subprocess.run(["grep", "-rn", r"torch\.load(", src], capture_output=True, text=True)
    assert all("weights_only=True" in line for line in loads.stdout.splitlines())
    assert loads.stdout.count("torch.load(") >= 1


def test_checkpoints_of_older_grokscope_still_load(tmp_path, tiny_config):
    """Before this change the checkpoint held torch.__version__ (a TorchVersion object)."""
    config = tiny_config(train={"steps": 20})
    run_experiment(config, tmp_path / "run", progress=False)
    store = RunStore(tmp_path / "run")
    state = store.load_checkpoint()
    state["torch"] = torch.__version__
    assert type(state["torch"]) is not str
    store.save_checkpoint(state)
    assert store.load_checkpoint()["step"] == 20


def test_redetect_with_metrics_missing_keeps_the_events(tmp_path, tiny_config):
    """Defect 6: re-detection with metrics.parquet missing rewrote good events as
    `not-fitted`, then crashed in plotting."""
    run_experiment(tiny_config(train={"steps": 60}), tmp_path / "run", progress=False)
    store = RunStore(tmp_path / "run")
    before = store.events_path.read_text()
    store.metrics_path.unlink()
    with pytest.raises(ConfigError, match="metrics.parquet is missing"):
        run_experiment(tiny_config(train={"steps": 60}, detect={"delta": 0.05}), store.path,
                       progress=False)
    assert store.events_path.read_text() == before
    plotted = runner.invoke(app, ["plot", str(store.path)])
    assert plotted.exit_code == 2 and "metrics.parquet" in plotted.output
    assert store.events_path.read_text() == before


@pytest.mark.parametrize("name, damage", [
    ("metrics.parquet", b"PAR1 not really"), ("events.json", b"{\"finished\": tr"),
    ("config.yaml", b"task: [unclosed"), ("config.yaml", b"\xff\xfe\x00binary")])
def test_corrupt_run_files_are_one_line_errors(tmp_path, tiny_config, name, damage):
    run_experiment(tiny_config(train={"steps": 20}), tmp_path / "run", progress=False)
    (tmp_path / "run" / name).write_bytes(damage)
    for command in (["show"], ["plot"]):
        result = runner.invoke(app, command + [str(tmp_path / "run")])
        if name == "metrics.parquet" and command == ["show"]:
            assert result.exit_code == 0  # show reads only events.json
            continue
        assert result.exit_code == 2, (command, result.output)
        assert name in result.output and result.output.count("\n") == 1


def test_a_missing_figure_is_drawn_again(tmp_path, tiny_config):
    """Defect 10: a kill between events.json and curves.png lost the figure for good."""
    config = tiny_config(train={"steps": 20})
    run_experiment(config, tmp_path / "run", progress=False)
    (tmp_path / "run" / "curves.png").unlink()
    result = run_experiment(config, tmp_path / "run", progress=False)
    assert result.seconds == 0.0 and (tmp_path / "run" / "curves.png").is_file()


def test_events_json_is_strict_json(tmp_path, tiny_config):
    """Defect 10: events.json held bare NaN (not JSON); non-finite values are null."""
    config = tiny_config(train={"steps": 20}, optim={"lr": [0.01, 1e30]})
    run_experiment(config, tmp_path / "run", progress=False)
    text = (tmp_path / "run" / "events.json").read_text()

    def refuse(name):
        raise ValueError(name)

    events = json.loads(text, parse_constant=refuse)
    assert events["members"][1]["final_train_loss"] is None
    assert math.isfinite(events["members"][0]["final_train_loss"])
