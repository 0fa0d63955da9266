"""The crash-consistency harness: a real SIGKILL at *every* store operation of a run and of a
sweep, then the same command again. The points are enumerated from a traced uninterrupted
run, so a write added to the store later is covered with no change here.

After each kill and rerun: the run finishes; no (step, member, split) key is missing or
duplicated; metrics, spectra, events and final weights equal the uninterrupted run's (CPU)."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
import torch
import yaml
from crash_helpers import fault_points, run_child

from conftest import TINY, merge
from grokscope.config import parse_config
from grokscope.experiment import run_experiment
from grokscope.store import RunStore
from grokscope.sweep.run import run_sweep

pytestmark = pytest.mark.slow

CONFIG = merge(TINY, {"train": {"steps": 40, "checkpoint_every": 20},
                      "probes": [{"name": "fourier", "every": 10}]})


def _keys(table, *columns):
    return list(zip(*(table[c].to_pylist() for c in columns)))


def assert_same_run(path, reference):
    got, want = RunStore(path), RunStore(reference)
    assert got.is_finished(), f"{path}: not finished"
    rows = _keys(got.load_metrics(), "step", "member", "split")
    assert len(rows) == len(set(rows)), "duplicated (step, member, split) rows"
    assert rows == _keys(want.load_metrics(), "step", "member", "split"), "rows lost"
    for column in ("loss", "accuracy"):
        assert got.load_metrics()[column].to_pylist() == want.load_metrics()[column].to_pylist()
    assert got.load_spectra().to_pylist() == want.load_spectra().to_pylist()
    mine, theirs = got.read_events(), want.read_events()
    for a, b in zip(mine["members"], theirs["members"], strict=True):
        assert {k: a[k] for k in ("verdict", "alpha0", "alpha1")} == {
            k: b[k] for k in ("verdict", "alpha0", "alpha1")}
    weights = got.load_checkpoint()["cohort"]["model"]
    for name, value in want.load_checkpoint()["cohort"]["model"].items():
        assert torch.equal(weights[name], value), name
    assert got.curves_path.is_file()
    assert not list(got.path.glob(".*.tmp-*")) and not got.parts_dir.exists()


@pytest.fixture(scope="module")
def traced_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("reference")
    points = fault_points("run", {"config": CONFIG, "path": str(root / "run")},
                          root / "trace.txt")
    return root / "run", points


def test_the_trace_sees_every_kind_of_store_operation(traced_run):
    _, points = traced_run
    kinds = {kind for kind, _ in points}
    assert kinds == {"write", "rename", "unlink", "rmdir", "mkdir"}
    names = {path.rsplit("/", 1)[-1] for _, path in points}
    for name in ("config.yaml", "checkpoint.pt", "metrics.parquet", "spectra.parquet",
                 "events.json", "curves.png", ".grokscope-run"):
        assert name in names, name


def test_a_run_killed_at_every_store_operation_resumes_exactly(traced_run, tmp_path):
    reference, points = traced_run
    for index, (kind, where) in enumerate(points, start=1):
        path = tmp_path / f"kill-{index:03d}"
        code = run_child("run", {"config": CONFIG, "path": str(path)}, fault_at=index)
        assert code == -9, f"point {index} ({kind} {where}) was not reached"
        run_experiment(parse_config(CONFIG), path, progress=False)
        try:
            assert_same_run(path, reference)
        except AssertionError as error:
            raise AssertionError(f"killed at point {index} ({kind} {where}): {error}") from None


def test_kill_after_consolidating_before_removing_parts_duplicates_nothing(traced_run, tmp_path):
    """Defect 3: a kill between writing metrics.parquet and removing the parts doubled every
    row on the rerun, with exit 0."""
    reference, points = traced_run
    renamed = next(i for i, (k, p) in enumerate(points) if k == "rename"
                   and p.endswith("/metrics.parquet"))
    index = renamed + 2  # the first part's removal, 1-based
    assert points[index - 1][0] == "unlink"
    path = tmp_path / "run"
    assert run_child("run", {"config": CONFIG, "path": str(path)}, fault_at=index) == -9
    assert RunStore(path).metrics_path.is_file() and RunStore(path).parts_dir.is_dir()
    run_experiment(parse_config(CONFIG), path, progress=False)
    assert_same_run(path, reference)


# one checkpoint per cohort: the run test above covers the kills between checkpoints
SWEEP_BASE = merge(TINY, {"train": {"steps": 20, "checkpoint_every": 20}})


def _sweep_spec(tmp_path):
    spec = tmp_path / "sweep.yaml"
    spec.write_text(yaml.safe_dump({"name": "crash", "config": SWEEP_BASE,
                                    "grid": {"optim.lr": [0.01, 0.02]}, "seeds": 1}))
    return spec


def _sweep_table(path):
    table = pq.read_table(path / "table.parquet").sort_by("run")
    return [{k: row[k] for k in ("run", "verdict", "alpha0", "alpha1", "final_test_loss")}
            for row in table.to_pylist()]


def test_a_sweep_killed_at_every_store_operation_completes_exactly(tmp_path):
    spec = _sweep_spec(tmp_path)
    reference = tmp_path / "reference"
    args = {"spec": str(spec), "path": str(reference), "max_members": 1}
    points = fault_points("sweep", args, tmp_path / "trace.txt")
    names = {p.rsplit("/", 1)[-1] for _, p in points}
    assert {"sweep.yaml", "members.json", "table.parquet", "checkpoint.pt"} <= names
    cohorts = sorted(p.name for p in (reference / "cohorts").iterdir())
    assert len(cohorts) == 2
    for index, (kind, where) in enumerate(points, start=1):
        path = tmp_path / f"kill-{index:03d}"
        code = run_child("sweep", {**args, "path": str(path)}, fault_at=index)
        assert code == -9, f"point {index} ({kind} {where}) was not reached"
        run_sweep(spec, path, max_members=1, progress=False)
        try:
            assert _sweep_table(path) == _sweep_table(reference)
            assert sorted(p.name for p in (path / "cohorts").iterdir()) == cohorts
            for cohort in cohorts:
                assert_same_run(path / "cohorts" / cohort, reference / "cohorts" / cohort)
                members = json.loads((path / "cohorts" / cohort / "members.json").read_text())
                assert members == json.loads(
                    (reference / "cohorts" / cohort / "members.json").read_text())
        except AssertionError as error:
            raise AssertionError(f"killed at point {index} ({kind} {where}): {error}") from None


def test_every_change_on_disk_goes_through_the_store_operations():
    """The harness enumerates the fault points of `grokscope.store.atomic`; a write made any
    other way would escape it. Only that module (and the lock, whose file holds no data)
    touch the disk directly."""
    import re
    from pathlib import Path

    import grokscope

    direct = re.compile(r"\.write_text\(|\.write_bytes\(|open\([^)]*['\"][wa]b?['\"]|"
                        r"os\.replace|\.unlink\(|rmtree|\.savefig\(|\.to_csv\((?!\w+=)|"
                        r"\.rename\(|\.rmdir\(|copyfile|np\.save|pq\.write_table\([^,]+, *['\"]")
    root = Path(grokscope.__file__).parent
    allowed = {root / "store" / "atomic.py", root / "store" / "lock.py",
               root / "store" / "faults.py"}
    offenders = []
    for path in sorted(root.rglob("*.py")):
        if path in allowed:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if direct.search(line) and "handle" not in line:
                offenders.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    assert offenders == []
