"""The command line: run, show, plot, tasks, and what happens on a second run."""

import json

import yaml
from typer.testing import CliRunner

from conftest import TINY
from grokscope.cli import app

runner = CliRunner()


def _write(tmp_path, data):
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_run_show_plot(tmp_path):
    path = _write(tmp_path, {**TINY, "out_dir": str(tmp_path / "runs")})
    result = runner.invoke(app, ["run", str(path), "--set", "train.steps=40", "--no-progress"])
    assert result.exit_code == 0, result.output
    run_dir = tmp_path / "runs" / "tiny"
    for name in ("config.yaml", "metrics.parquet", "events.json", "checkpoint.pt", "curves.png"):
        assert (run_dir / name).is_file(), name
    events = json.loads((run_dir / "events.json").read_text())
    assert len(events["members"]) == 2 and events["finished"]
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["train"]["steps"] == 40
    shown = runner.invoke(app, ["show", str(run_dir)])
    assert shown.exit_code == 0 and "verdict" in shown.output
    assert runner.invoke(app, ["plot", str(run_dir)]).exit_code == 0


def test_second_run_reuses_and_protects(tmp_path):
    path = _write(tmp_path, {**TINY, "out_dir": str(tmp_path / "runs")})
    args = ["run", str(path), "--set", "train.steps=20", "--no-progress"]
    assert runner.invoke(app, args).exit_code == 0
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and "already finished" in again.output
    # another training setting under the same name is refused, with a way out
    other = runner.invoke(app, ["run", str(path), "--set", "train.steps=30", "--no-progress"])
    assert other.exit_code == 2 and "--overwrite" in other.output
    # a detector threshold is analysis, not training: re-detected without retraining
    redetect = runner.invoke(app, args + ["--set", "detect.delta=0.05"])
    assert redetect.exit_code == 0
    events = json.loads((tmp_path / "runs" / "tiny" / "events.json").read_text())
    assert events["detector"]["delta"] == 0.05


def test_tasks_lists_operations():
    result = runner.invoke(app, ["tasks"])
    assert result.exit_code == 0 and "a/b" in result.output and "modular" in result.output


def test_show_on_a_non_run(tmp_path):
    result = runner.invoke(app, ["show", str(tmp_path)])
    assert result.exit_code == 2 and "not a grokscope run" in result.output


def test_events_of_an_older_detector_are_redetected(tmp_path):
    """events.json written by an older detector (no detector_version) is detected again when
    read, by `show` and by a second `run`, without retraining."""
    path = _write(tmp_path, {**TINY, "out_dir": str(tmp_path / "runs")})
    args = ["run", str(path), "--set", "train.steps=20", "--no-progress"]
    assert runner.invoke(app, args).exit_code == 0
    events_path = tmp_path / "runs" / "tiny" / "events.json"
    fresh = json.loads(events_path.read_text())
    assert fresh["detector_version"] >= 2
    old = {**fresh, "members": [{**m, "verdict": "stale"} for m in fresh["members"]]}
    del old["detector_version"]
    events_path.write_text(json.dumps(old))
    shown = runner.invoke(app, ["show", str(tmp_path / "runs" / "tiny")])
    assert shown.exit_code == 0 and "stale" not in shown.output
    again = json.loads(events_path.read_text())
    assert [m["verdict"] for m in again["members"]] == [m["verdict"] for m in fresh["members"]]
    assert again["detector_version"] == fresh["detector_version"]
    assert again["train_seconds"] == fresh["train_seconds"]  # kept, not retrained
