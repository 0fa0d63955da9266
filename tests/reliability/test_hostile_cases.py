"""The hostile cases of issue 39 that are not about paths: plug-ins that cannot take the CLI
down (defect 6), sizes beyond memory (7), damaged result folders (8), watching and deleting
(9) and the smaller ones (10). Each ends in one line and exit code 2, or works on."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from conftest import TINY, CrashAt, merge
from grokscope.cli import app
from grokscope.errors import ConfigError
from grokscope.experiment import run_experiment
from grokscope.training.callbacks import Callback

runner = CliRunner()


def _one_line_error(result, *words: str) -> None:
    assert result.exit_code == 2, (result.output, result.exception)
    assert "Traceback" not in result.output
    lines = [line for line in result.output.strip().splitlines() if line.strip()]
    text = " ".join(lines)
    assert text.startswith("error:"), result.output
    for word in words:
        assert word in text, (word, result.output)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished tiny run (with a probe) and a finished two-run sweep, copied per test."""
    from grokscope.config import parse_config
    from grokscope.sweep.run import run_sweep

    root = tmp_path_factory.mktemp("hostile")
    run_experiment(parse_config(merge(TINY, {"probes": [{"name": "weight_norm"}]})),
                   root / "run", progress=False)
    (root / "s.yaml").write_text(yaml.safe_dump({"config": merge(TINY, {"train": {
        "steps": 20}}), "grid": {"optim.lr": [0.01, 0.02]}}))
    run_sweep(root / "s.yaml", root / "sweep", progress=False)
    return root


@pytest.fixture
def run_copy(finished, tmp_path):
    shutil.copytree(finished / "run", tmp_path / "run")
    return tmp_path / "run"


@pytest.fixture
def sweep_copy(finished, tmp_path):
    shutil.copytree(finished / "sweep", tmp_path / "sweep")
    return tmp_path / "sweep"


# --- defect 6: plug-ins -------------------------------------------------------------------
BROKEN = {
    "gs_raises": "raise RuntimeError('plug-in exploded on import')\n",
    "gs_missing_dep": "import a_package_nobody_installed\n",
    "gs_syntax": "def broken(:\n",
    "gs_exits": "import sys\nsys.exit(3)\n",
    "gs_duplicate": (
        "from typing import Literal\nfrom grokscope.config.tasks import register_task\n"
        "from grokscope.schema import Strict\n"
        "@register_task('modular', description='a second modular', build=lambda c: None)\n"
        "class Dup(Strict):\n    name: Literal['modular'] = 'modular'\n"),
}


def _install_broken_plugins(root: Path) -> dict[str, str]:
    info = root / "gs_broken-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: gs-broken\nVersion: 0.1\n")
    entries = [f"{name} = {name}" for name in BROKEN] + ["gs_nowhere = gs_no_such_module"]
    (info / "entry_points.txt").write_text("[grokscope.tasks]\n" + "\n".join(entries) + "\n")
    for name, source in BROKEN.items():
        (root / f"{name}.py").write_text(source)
    path = os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1"}


def test_broken_plugins_are_one_line_each_and_the_rest_works(tmp_path):
    env = _install_broken_plugins(tmp_path / "site")
    cli = [sys.executable, "-m", "grokscope.cli"]
    listed = subprocess.run(cli + ["tasks"], env=env, capture_output=True, text=True,
                            timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert "modular" in listed.stdout and "Traceback" not in listed.stderr
    warned = [line for line in listed.stderr.splitlines() if "plug-in" in line]
    assert len(warned) == len(BROKEN) + 1, listed.stderr
    for name in (*BROKEN, "gs_nowhere"):
        assert sum(f"plug-in {name!r}" in line for line in warned) == 1, (name, warned)
    duplicate = next(line for line in warned if "gs_duplicate" in line)
    assert "registered twice" in duplicate and "gs_duplicate" in duplicate
    assert "grokscope.config.schema" in duplicate  # the built-in's source, by name
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(merge(TINY, {"out_dir": str(tmp_path / "runs"),
                                                  "train": {"steps": 10}})))
    run = subprocess.run(cli + ["run", str(config), "--no-progress"], env=env,
                         capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr  # sys.exit(3) in a plug-in ends nothing
    assert json.loads((tmp_path / "runs/tiny/events.json").read_text())["finished"]


# --- defect 7: sizes beyond memory -------------------------------------------------------
@pytest.mark.parametrize("setting, value, named", [
    ("cohort.members", 10**7, "cohort.members"), ("cohort.members", 10**12, "cohort.members"),
    ("task.p", 10**6, "task.p"), ("model.width", 10**9, "model.width")])
def test_sizes_beyond_memory_are_refused_before_allocating(tmp_path, setting, value, named):
    config = tmp_path / "big.yaml"
    config.write_text(yaml.safe_dump(merge(TINY, {"out_dir": str(tmp_path / "runs")})))
    result = runner.invoke(app, ["run", str(config), "--set", f"{setting}={value}",
                                 "--no-progress"])
    _one_line_error(result, named, "GiB", "available")


def test_an_allocation_failure_anywhere_is_one_line(tmp_path, monkeypatch):
    from grokscope.training import cohort

    def fail(*args, **kwargs):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: "
                           "not enough memory: you tried to allocate 99999999 bytes.")

    monkeypatch.setattr(cohort, "build_model", fail)
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(merge(TINY, {"out_dir": str(tmp_path / "runs")})))
    monkeypatch.setattr("grokscope.training.memory.check_cohort", lambda *a, **k: None)
    _one_line_error(runner.invoke(app, ["run", str(config), "--no-progress"]), "out of memory")


# --- defect 8: damaged result folders ----------------------------------------------------
def test_events_whose_members_are_not_a_list(run_copy):
    events = json.loads((run_copy / "events.json").read_text())
    (run_copy / "events.json").write_text(json.dumps({**events, "members": 5}))
    for command in (["report", str(run_copy)], ["export", str(run_copy), "--to", "csv"],
                    ["show", str(run_copy)]):
        _one_line_error(runner.invoke(app, command), "events.json", "corrupt")


def test_metrics_of_another_schema(run_copy):
    pq.write_table(pa.table({"x": ["a", "b"], "step": ["0", "1"]}), run_copy / "metrics.parquet")
    for command in (["report", str(run_copy)], ["export", str(run_copy), "--to", "csv"]):
        _one_line_error(runner.invoke(app, command), "metrics.parquet")


@pytest.mark.parametrize("content", [b"\x00\x01\x02binary", b"grid: [unclosed",
                                     b"a: &a [1]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                                     b"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                                     b"d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                                     b"e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                                     b"f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
                                     b"g: [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n"])
def test_a_damaged_sweep_yaml(sweep_copy, content):
    (sweep_copy / "sweep.yaml").write_bytes(content)
    for command in (["report", str(sweep_copy)],
                    ["watch", str(sweep_copy), "--interval", "0.5"]):
        _one_line_error(runner.invoke(app, command), "sweep.yaml")


@pytest.mark.parametrize("content", ["{not json", "5", '[{"no_id": 1}]'])
def test_a_damaged_members_json(sweep_copy, content):
    folder = next((sweep_copy / "cohorts").iterdir())
    (folder / "members.json").write_text(content)
    for command in (["report", str(sweep_copy)], ["export", str(sweep_copy), "--to", "csv",
                                                  "--out", str(sweep_copy.parent / "x")]):
        _one_line_error(runner.invoke(app, command), "members.json", "corrupt")


def test_a_binary_events_csv_of_a_reproduction(run_copy, tmp_path):
    folder = tmp_path / "repro"
    folder.mkdir()
    shutil.copytree(run_copy, folder / "part-0")
    (folder / "events.csv").write_bytes(b"\x00\xff\xfe binary")
    _one_line_error(runner.invoke(app, ["report", str(folder)]), "events.csv")


def test_a_checkpoint_of_another_model_width(tmp_path, tiny_config):
    """Resume refuses it in one line, and doctor no longer calls the run healthy."""
    path = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        run_experiment(tiny_config(), path, progress=False,
                       callbacks=[CrashAt(30, KeyboardInterrupt)])
    other = tmp_path / "other"
    with pytest.raises(KeyboardInterrupt):
        run_experiment(tiny_config(model={"width": 48}), other, progress=False,
                       callbacks=[CrashAt(30, KeyboardInterrupt)])
    shutil.copy(other / "checkpoint.pt", path / "checkpoint.pt")
    with pytest.raises(ConfigError, match="does not belong to this run's model"):
        run_experiment(tiny_config(), path, progress=False)
    found = runner.invoke(app, ["doctor", str(path)])
    assert found.exit_code == 1 and "checkpoint cannot be loaded" in found.output
    repaired = runner.invoke(app, ["doctor", str(path), "--repair"])
    assert not (path / "checkpoint.pt").exists() and repaired.exit_code in (0, 1)
    assert run_experiment(tiny_config(), path, progress=False).events["finished"]


# --- defect 9: watching and deleting -----------------------------------------------------
def test_watch_of_a_sweep_waits_while_its_lock_is_held(sweep_copy):
    import grokscope.store.lock as lock
    from grokscope.store.lock import DirLock
    from grokscope.view.watch import is_done

    assert is_done(sweep_copy)
    with DirLock(sweep_copy, "sweep"):
        lock._HELD.clear()  # as another process (the sweep still training) would hold it
        assert not is_done(sweep_copy)


class DeleteRunAt(Callback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_host(self, step: int, values: dict) -> None:
        if step == self.step:
            shutil.rmtree(self.loop.store.path)


def test_a_run_folder_deleted_while_training_stops_the_run(tmp_path, tiny_config):
    path = tmp_path / "run"
    with pytest.raises(ConfigError, match="deleted or moved while its run was training"):
        run_experiment(tiny_config(train={"steps": 60, "checkpoint_every": 20}), path,
                       progress=False, callbacks=[DeleteRunAt(30)])
    assert not (path / "events.json").exists() and not (path / "metrics.parts").exists()


# --- defect 10: the smaller ones ---------------------------------------------------------
def test_a_per_member_list_in_a_replayed_rule_is_refused(run_copy):
    result = runner.invoke(app, ["stopping", str(run_copy), "--rule",
                                 "{name: patience, patience: [1, 2]}"])
    _one_line_error(result, "patience", "per-member list")


def test_watch_with_an_enormous_interval_is_one_line(run_copy):
    result = runner.invoke(app, ["watch", str(run_copy), "--interval", "1e308"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "--interval" in result.output


def test_a_garbage_npz_is_one_line(tmp_path):
    bad = tmp_path / "mnist.npz"
    bad.write_bytes(b"PK\x03\x04 this is no zip archive at all")
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, x_train=np.array([object()], dtype=object), y_train=np.zeros(1),
             x_test=np.zeros(1), y_test=np.zeros(1))
    for path in (bad, pickled):
        config = tmp_path / "m.yaml"
        config.write_text(yaml.safe_dump(merge(TINY, {
            "out_dir": str(tmp_path / "runs"), "task": {"name": "mnist", "path": str(path)},
            "split": {"name": "uniform", "fraction": 0.5}})))
        _one_line_error(runner.invoke(app, ["run", str(config), "--no-progress"]),
                        "task 'mnist'", ".npz")
