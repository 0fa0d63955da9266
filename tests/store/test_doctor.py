"""`grokscope doctor`: finds what a crash leaves, repairs it with --repair, and never touches
completed results."""

import json

import pytest
import yaml
from typer.testing import CliRunner

from conftest import TINY, merge
from grokscope.cli import app
from grokscope.doctor import check
from grokscope.experiment import run_experiment
from grokscope.store import RunStore
from grokscope.sweep.run import run_sweep

runner = CliRunner()


@pytest.fixture
def finished(tmp_path, tiny_config):
    run_experiment(tiny_config(train={"steps": 20}), tmp_path / "run", progress=False)
    return RunStore(tmp_path / "run")


def _snapshot(store):
    return {name: (store.path / name).read_bytes()
            for name in ("config.yaml", "metrics.parquet", "events.json")}


def test_a_healthy_run_has_no_findings(finished):
    assert check(finished.path) == []
    result = runner.invoke(app, ["doctor", str(finished.path)])
    assert result.exit_code == 0 and "healthy" in result.output


def test_what_a_crash_leaves_is_found_and_repaired(finished):
    results = _snapshot(finished)
    (finished.path / ".events.json.tmp-999").write_text("half")
    finished.curves_path.unlink()
    finished.checkpoint_path.write_bytes(b"garbage")
    (finished.path / "notes.md").write_text("mine")
    found = runner.invoke(app, ["doctor", str(finished.path)])
    assert found.exit_code == 1
    for word in ("temporary file", "figure missing", "checkpoint cannot be loaded",
                 "notes.md", "--repair"):
        assert word in found.output, word
    repaired = runner.invoke(app, ["doctor", str(finished.path), "--repair"])
    assert repaired.exit_code == 1  # notes.md is not ours: it stays, and is still reported
    assert finished.curves_path.is_file()
    assert not (finished.path / ".events.json.tmp-999").exists()
    assert not finished.checkpoint_path.exists()
    assert [p.name.split("-")[0] for p in finished.path.glob("checkpoint.pt.corrupt-*")] == [
        "checkpoint.pt.corrupt"]
    assert (finished.path / "notes.md").read_text() == "mine"
    assert _snapshot(finished) == results
    left = check(finished.path)
    assert [f.problem for f in left] == ["not written by grokscope (left alone)"]


def test_damaged_results_are_reported_never_rewritten(finished):
    finished.events_path.write_text("{broken")
    findings = check(finished.path, repair=True)
    assert any("events.json is corrupt" in f.problem and f.open for f in findings)
    assert finished.events_path.read_text() == "{broken"


def test_a_run_being_trained_is_not_touched(finished):
    from grokscope.store.lock import DirLock

    stray = finished.path / ".config.yaml.tmp-1"
    stray.write_text("x")
    with DirLock(finished.path):  # same process: held; doctor sees a live holder
        import grokscope.store.lock as lock

        lock._HELD.clear()  # as another process would see it
        findings = check(finished.path, repair=True)
    assert "being trained by process" in findings[0].problem and stray.exists()


def test_a_sweep_is_checked_cohort_by_cohort(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(yaml.safe_dump({"config": merge(TINY, {"train": {"steps": 20}}),
                                    "grid": {"optim.lr": [0.01, 0.02]}}))
    run_sweep(spec, tmp_path / "sw", max_members=1, progress=False)
    cohorts = sorted((tmp_path / "sw" / "cohorts").iterdir())
    (cohorts[1] / "curves.png").unlink()
    never = tmp_path / "sw" / "cohorts" / "cohort-000000000000"
    never.mkdir()
    (never / ".grokscope-run").write_text(json.dumps({"grokscope": "run"}))
    findings = check(tmp_path / "sw", repair=True)
    assert sorted(f.problem.split(" (")[0] for f in findings) == [
        "cohort folder that never started", "figure missing"]
    assert all(f.repaired for f in findings) and not never.exists()
    assert (cohorts[1] / "curves.png").is_file() and check(tmp_path / "sw") == []
