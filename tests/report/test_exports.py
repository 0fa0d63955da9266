"""Tracker exports read back with the trackers' own readers equal what the run stored."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
from typer.testing import CliRunner

from grokscope.cli import app
from grokscope.config.exports import EXPORTERS
from grokscope.errors import ConfigError
from grokscope.experiment import run_experiment
from grokscope.store import RunStore
from grokscope.store.exporters.rows import long_rows
from grokscope.view.export import export

pytestmark = pytest.mark.slow


def _stored(path) -> dict[tuple[str, str, int], float]:
    """(member-i, tag, step) -> value of every stored metric and probe value."""
    member, step, tag, value = long_rows(RunStore(path).load_metrics())
    return {(f"member-{m}", str(t), int(s)): float(v)
            for m, s, t, v in zip(member, step, tag, value, strict=True)}


def _tensorboard(folder) -> dict[tuple[str, str, int], float]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.util import tensor_util

    out = {}
    for run in sorted(p for p in folder.iterdir() if p.is_dir()):
        acc = EventAccumulator(str(run), size_guidance={"tensors": 0, "scalars": 0})
        acc.Reload()
        for tag in acc.Tags()["tensors"]:
            if tag.endswith("text_summary"):
                continue
            for event in acc.Tensors(tag):
                out[(run.name, tag, event.step)] = float(tensor_util.make_ndarray(
                    event.tensor_proto))
    return out


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        a[k] == b[k] or (math.isnan(a[k]) and math.isnan(b[k])) for k in a)


def test_tensorboard_holds_every_member_metric_and_step_exactly(report_run, tmp_path):
    pytest.importorskip("tensorboard")
    folder, runs = export(report_run, "tensorboard", tmp_path / "tb")
    assert runs == 3 and sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == [
        "member-0", "member-1", "member-2"]
    stored, read = _stored(report_run), _tensorboard(folder)
    assert len(stored) > 3 * 70 * 4  # 71 logged steps x 4 split metrics, plus the probes
    assert _same(read, stored)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder / "member-2"))
    acc.Reload()  # the hparams outcome and the events as text are there too
    assert acc.Scalars("hparam/grokked")[0].value == 0.0
    assert "events/text_summary" in acc.Tags()["tensors"]
    acc = EventAccumulator(str(folder / "member-0"))
    acc.Reload()
    events = RunStore(report_run).read_events()["members"][0]
    assert acc.Scalars("hparam/alpha1")[0].value == events["alpha1"]


def test_wandb_offline_runs_one_per_member_with_config_and_summary(report_run, tmp_path):
    pytest.importorskip("wandb")
    from grokscope.store.exporters.wandb import offline_runs, read_offline

    folder, runs = export(report_run, "wandb", tmp_path / "wb")
    found = [read_offline(p) for p in offline_runs(folder)]
    assert runs == 3 and sorted(r["name"] for r in found) == ["member-0", "member-1", "member-2"]
    events = RunStore(report_run).read_events()["members"]
    stored = _stored(report_run)
    for run in found:
        index = int(run["name"].split("-")[1])
        assert run["group"] == "report_run" and run["project"] == "grokscope"
        assert run["config"]["weight_decay"] == [1.0, 1.0, 0.0][index]
        assert run["config"]["seed"] == index and run["config"]["task"] == "modular"
        assert run["summary"]["verdict"] == events[index]["verdict"]
        assert run["summary"]["alpha0"] == events[index]["alpha0"]
        history = {(run["name"], k, row["_step"]): v for row in run["history"]
                   for k, v in row.items() if not k.startswith("_")}
        mine = {k: v for k, v in stored.items() if k[0] == run["name"]}
        assert _same(history, mine)


def test_csv_is_long_form_and_exact(report_run, tmp_path):
    folder, runs = export(report_run, "csv", tmp_path / "csv")
    with (folder / "metrics.csv").open() as handle:
        rows = {(r["run"], r["metric"], int(r["step"])): float(r["value"])
                for r in csv.DictReader(handle)}
    assert _same(rows, _stored(report_run))
    with (folder / "events.csv").open() as handle:
        events = list(csv.DictReader(handle))
    assert [e["verdict"] for e in events] == ["grokked", "grokked", "memorized-only"]


def test_a_sweep_exports_as_one_group_under_its_run_ids(report_sweep, tmp_path):
    pytest.importorskip("tensorboard")
    from grokscope.sweep.store import load_sweep

    folder, runs = export(report_sweep, "tensorboard", tmp_path / "tb")
    assert runs == 4
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == sorted(load_sweep(report_sweep)["run"])


def test_live_export_equals_post_hoc_and_survives_a_crash(tmp_path, tiny_config):
    pytest.importorskip("tensorboard")
    from conftest import CrashAt

    config = tiny_config(export=["tensorboard", "csv"], probes=[{"name": "weight_norm"}],
                         train={"steps": 100, "checkpoint_every": 20})
    path = tmp_path / "live"
    with pytest.raises(KeyboardInterrupt):  # killed after the checkpoint at step 60
        run_experiment(config, path, progress=False, callbacks=[CrashAt(70, KeyboardInterrupt)])
    early = _tensorboard(path / "exports" / "tensorboard")  # written (and flushed) while training
    assert sorted({k[2] for k in early if k[1] == "test/loss"}) == [0, 10, 20, 30, 40, 50, 60]
    run_experiment(config, path, progress=False)  # resumes from 60, exports the rest
    live = _tensorboard(path / "exports" / "tensorboard")
    assert _same(live, _stored(path))  # every step once: none lost, none twice
    steps = sorted({k[2] for k in live if k[0] == "member-0" and k[1] == "test/loss"})
    assert steps == list(range(0, 101, 10))
    folder, _ = export(path, "tensorboard", tmp_path / "posthoc")
    assert _same(_tensorboard(folder), live)
    with (path / "exports" / "csv" / "events.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == 2


def test_a_finished_run_given_export_later_writes_it_without_training(tmp_path, tiny_config):
    path = tmp_path / "later"
    run_experiment(tiny_config(), path, progress=False)
    result = run_experiment(tiny_config(export=["csv"]), path, progress=False)
    assert result.seconds == 0.0  # nothing trained again: export is not part of the run's id
    assert (path / "exports" / "csv" / "metrics.csv").is_file()
    assert RunStore(path).foreign_entries() == []  # exports/ is the run's own
    run_experiment(tiny_config(), path, progress=False, overwrite=True)
    assert not (path / "exports").exists()  # --overwrite removes it with the rest


def test_missing_extra_and_bad_input_are_one_line(monkeypatch, report_run, tmp_path):
    import sys

    for name in ("tensorboard", "wandb"):  # as if the `track` extra were not installed
        monkeypatch.setitem(sys.modules, name, None)
    for name in ("tensorboard", "wandb"):
        with pytest.raises(ConfigError, match=rf"export '{name}' needs the {name} package: pip "
                                              r"install 'grokscope\[track\]'"):
            EXPORTERS.get(name)(name=name).writer(tmp_path / name)
    monkeypatch.undo()
    result = CliRunner().invoke(app, ["export", str(report_run), "--to", "mlflow"])
    assert result.exit_code == 2
    assert "--to: unknown exporter 'mlflow' (allowed: csv, " in result.output
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("")
    with pytest.raises(ConfigError, match="is not empty"):
        export(report_run, "csv", tmp_path / "full")


def test_bad_export_entries_name_the_field(tiny_config):
    with pytest.raises(ConfigError, match=r"export\.0\.name: unknown exporter 'tb' \(allowed: "
                                          r"tensorboard, wandb, csv\)|allowed: csv"):
        tiny_config(export=["tb"])
    with pytest.raises(ConfigError, match=r"export\.0\.projekt: unknown key \(allowed: name, "
                                          r"dir, project\)"):
        tiny_config(export=[{"name": "wandb", "projekt": "x"}])


def test_rows_keep_nan_and_skip_unmeasured_probes():
    import pyarrow as pa

    table = pa.table({"step": [0, 0, 0, 10, 10], "member": [0, 0, 0, 0, 0],
                      "split": ["train", "test", "probe", "train", "test"],
                      "loss": [1.0, np.nan, None, 0.5, 0.7],
                      "accuracy": [0.1, 0.2, None, 0.3, 0.4], "p/x": [None, None, 3.0, None, None]})
    from grokscope.store.exporters.rows import member_steps

    got = list(member_steps(table))
    assert [(m, s) for m, s, _ in got] == [(0, 0), (0, 10)]
    assert got[0][2]["p/x"] == 3.0 and math.isnan(got[0][2]["test/loss"])
    assert "p/x" not in got[1][2] and got[1][2]["train/accuracy"] == 0.3


def test_live_wandb_export_writes_one_offline_run_per_member(tmp_path, tiny_config):
    pytest.importorskip("wandb")
    from grokscope.store.exporters.wandb import offline_runs, read_offline

    config = tiny_config(export=[{"name": "wandb", "project": "live-test"}])
    result = run_experiment(config, tmp_path / "wb", progress=False)
    found = sorted((read_offline(p) for p in offline_runs(result.path / "exports" / "wandb")),
                   key=lambda r: r["name"])
    assert [r["name"] for r in found] == ["member-0", "member-1"]
    assert {r["project"] for r in found} == {"live-test"} and {r["group"] for r in found} == {
        "tiny"}
    assert [r["summary"]["verdict"] for r in found] == result.verdicts
    assert [row["_step"] for row in found[0]["history"]] == list(range(0, 61, 10))
