"""`grokscope import` and `Monitor.save`: runs logged elsewhere become run directories that
show, report, export and stopping read; a grokscope run exported to each format and imported
back has the same detection and the same stopping replay (issue 34)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from grokscope import ConfigError, Monitor
from grokscope.cli import app
from grokscope.config import DetectConfig
from grokscope.experiment import load_run, run_experiment
from grokscope.importing import import_run
from grokscope.view.export import export

pytestmark = pytest.mark.slow
runner = CliRunner()
KEYS = ("verdict", "alpha0", "alpha1", "final_train_acc", "final_test_acc")


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A tiny trained run with the weight-norm probe (the column `hopeless` reads)."""
    from conftest import TINY, merge
    from grokscope.config import parse_config

    path = tmp_path_factory.mktemp("imp") / "src"
    run_experiment(parse_config(merge(TINY, {"train": {"steps": 200},
                                             "probes": [{"name": "weight_norm"}]})),
                   path, progress=False)
    return path


def _events(path):
    return [{k: m[k] for k in KEYS} for m in load_run(path)[1].read_events()["members"]]


def _replay(path):
    from grokscope.cli_stopping import load_members
    from grokscope.detection.scoring import rule_set, stop_of

    rules = rule_set([{"name": "grokked"}, {"name": "hopeless"},
                      {"name": "patience", "patience": 3}], DetectConfig())
    return [stop_of(rules, m.history) for m in load_members(path)]


@pytest.mark.parametrize("fmt", ["csv", "tensorboard", "wandb"])
def test_an_export_imported_back_detects_and_replays_the_same(source, tmp_path, fmt):
    pytest.importorskip({"csv": "pandas", "tensorboard": "tensorboard", "wandb": "wandb"}[fmt])
    folder, _ = export(source, fmt, tmp_path / "exported")
    target = folder / "metrics.csv" if fmt == "csv" else folder
    budget = load_run(source)[0].train.steps
    back = import_run(target, fmt, tmp_path / "back", budget=budget)
    assert _events(back) == _events(source)
    assert _replay(back) == _replay(source)
    shown = runner.invoke(app, ["show", str(back)])
    assert shown.exit_code == 0 and "grokked" in shown.output or "memorized" in shown.output
    assert runner.invoke(app, ["report", str(back)]).exit_code == 0
    again = runner.invoke(app, ["run", str(back / "config.yaml")])
    assert again.exit_code == 2 and "cannot be trained" in again.output


def test_a_plain_summarywriter_log_imports_and_show_prints_its_verdict(tmp_path):
    pytest.importorskip("tensorboard")
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(tmp_path / "tb" / "my_run"))
    for step in range(0, 2001, 20):  # memorized at 100, generalized at 1200
        writer.add_scalar("train/acc", min(1.0, 0.05 + step / 100), step)
        writer.add_scalar("val_acc", 0.04 if step < 1200 else 0.99, step)
        writer.add_scalar("train/loss", 2.0 / (1 + step), step)
    writer.close()
    result = runner.invoke(app, ["import", str(tmp_path / "tb"), "--from", "tensorboard",
                                 "--out", str(tmp_path / "run"), "--map", "train_acc=train/acc"])
    assert result.exit_code == 0, result.output
    shown = runner.invoke(app, ["show", str(tmp_path / "run")])
    assert shown.exit_code == 0 and "grokked" in shown.output
    events = json.loads((tmp_path / "run" / "events.json").read_text())["members"][0]
    assert events["alpha0"] == 100 and events["alpha1"] == 1200
    assert events["source_run"] == "my_run"


def test_monitor_save_writes_a_run_that_show_reads(tmp_path):
    monitor = Monitor(["grokked"], budget=2000)
    for step in range(0, 2001, 20):
        d = monitor.update(step, train_acc=min(1.0, 0.05 + step / 100),
                           test_acc=0.04 if step < 1200 else 0.99)
    path = monitor.save(tmp_path / "mine")
    shown = runner.invoke(app, ["show", str(path)])
    assert shown.exit_code == 0 and "grokked" in shown.output
    stored = json.loads((path / "events.json").read_text())["members"][0]
    assert stored["verdict"] == d.verdict == "grokked" and stored["alpha1"] == d.alpha1


@pytest.mark.parametrize("args, message", [
    (["--from", "csv", "--map", "train_acc=nope"], "--map train_acc=nope: run"),
    (["--from", "csv", "--map", "speed=x"], "--map: expected ROLE=TAG"),
    (["--from", "excel"], "--from: unknown format 'excel'"),
])
def test_bad_input_is_one_line(tmp_path, args, message):
    table = tmp_path / "log.csv"
    table.write_text("step,train_acc,test_acc\n0,0.1,0.05\n10,1.0,0.05\n")
    result = runner.invoke(app, ["import", str(table), "--out", str(tmp_path / "r"), *args])
    assert result.exit_code == 2 and message in result.output, result.output
    assert "Traceback" not in result.output


def test_damaged_or_inconsistent_sources_are_one_line(tmp_path):
    cases = {"empty.csv": "", "nostep.csv": "epoch,train_acc,test_acc\n0,0.1,0.1\n",
             "twice.csv": "step,train_acc,test_acc\n0,0.1,0.1\n0,0.2,0.1\n",
             "percent.csv": "step,train_acc,test_acc\n0,10,5\n10,100,5\n",
             "binary.csv": "\x00\x01\x02"}
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(ConfigError):
            import_run(tmp_path / name, "csv", tmp_path / f"out-{name}")
    (tmp_path / "empty_tb").mkdir()
    pytest.importorskip("tensorboard")
    with pytest.raises(ConfigError, match="no TensorBoard event files"):
        import_run(tmp_path / "empty_tb", "tensorboard", tmp_path / "o")
