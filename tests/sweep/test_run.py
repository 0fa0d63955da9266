"""Sweeps end to end: local runner, skip-finished, resume after a crash, Ray = local."""

import json

import pytest
import yaml

import grokscope
from conftest import CrashAt
from grokscope.sweep.run import plan_sweep, run_sweep
from grokscope.sweep.store import SweepStore
from grokscope.training.device import MAX_MEMBERS

SPEC = {
    "name": "tiny_sweep",
    "config": {
        "task": {"name": "modular", "p": 17, "op": "a+b"},
        "model": {"name": "mlp", "embed_dim": 16, "width": 32},
        "optim": {"lr": 1e-2},
        "train": {"steps": 40, "log_every": 10, "checkpoint_every": 20, "device": "cpu"},
    },
    "grid": {"split.fraction": [0.3, 0.6], "optim.weight_decay": "logspace(-1, 0, 2)",
             "model.width": [16, 32]},
    "seeds": 2,
}
KEYS = ["split.fraction", "optim.weight_decay", "model.width", "seed"]


def _spec(tmp_path, **override):
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump({**SPEC, **override}))
    return path


def _rows(table):
    return table.sort_values(KEYS).reset_index(drop=True)


def test_local_sweep_runs_every_run_once_and_skips_them_on_rerun(tmp_path, monkeypatch):
    spec = _spec(tmp_path)
    plan, table = run_sweep(spec, tmp_path / "out", max_members=32, progress=False)
    assert len(plan.cohorts) == 2 and len(table) == 16  # one cohort per width
    assert set(table.columns) >= {*KEYS, "run", "cohort", "verdict", "alpha0", "alpha1"}
    assert table["run"].is_unique
    store = SweepStore(tmp_path / "out")
    members = json.loads((store.cohort_dir(plan.cohorts[0].id) / "members.json").read_text())
    assert [m["id"] for m in members] == plan.cohorts[0].run_ids
    calls = []
    monkeypatch.setattr("grokscope.sweep.runners.train_cohort", lambda job: calls.append(job))
    again, table2 = run_sweep(spec, tmp_path / "out", max_members=32, progress=False)
    assert calls == [] and again.cohorts == [] and len(again.finished) == 16
    assert _rows(table2).equals(_rows(table))
    assert _rows(grokscope.load_sweep(tmp_path / "out")).equals(_rows(table))  # the public API


def test_a_grown_grid_trains_only_the_new_runs(tmp_path):
    run_sweep(_spec(tmp_path), tmp_path / "out", max_members=32, progress=False)
    grown = _spec(tmp_path, grid={**SPEC["grid"], "split.fraction": [0.3, 0.6, 0.8]})
    plan, _ = plan_sweep(grown, tmp_path / "out", max_members=32)
    assert len(plan.finished) == 16 and sum(len(c.runs) for c in plan.cohorts) == 8


def test_a_zip_sweep_renamed_as_recipes_reuses_its_runs_and_names_them(tmp_path, monkeypatch):
    zipped = _spec(tmp_path, grid={"split.fraction": [0.3]},
                   zip={"model.width": [16, 32], "optim.lr": [1e-2, 3e-2]})
    run_sweep(zipped, tmp_path / "out", max_members=32, progress=False)
    named = _spec(tmp_path, grid={"split.fraction": [0.3]},
                  recipes={"narrow": {"model.width": 16, "optim.lr": 1e-2},
                           "wide": {"model.width": 32, "optim.lr": 3e-2}})
    calls = []
    monkeypatch.setattr("grokscope.sweep.runners.train_cohort", lambda job: calls.append(job))
    plan, table = run_sweep(named, tmp_path / "out", max_members=32, progress=False)
    assert calls == [] and len(plan.finished) == 4  # the same runs: nothing trains again
    assert sorted(table["recipe"]) == ["narrow", "narrow", "wide", "wide"]
    assert "model.width" not in table.columns


class Crash(RuntimeError):
    pass


def test_a_killed_sweep_resumes_its_cohort_and_loses_no_finished_run(tmp_path, monkeypatch):
    spec = _spec(tmp_path)
    reference_plan, reference = run_sweep(spec, tmp_path / "reference", max_members=32,
                                          progress=False)
    class CrashInSecondCohort(CrashAt):
        cohorts = 0

        def on_start(self, loop):
            super().on_start(loop)
            CrashInSecondCohort.cohorts += 1

        def on_host(self, step, values):
            if CrashInSecondCohort.cohorts == 2:
                super().on_host(step, values)

    with pytest.raises(Crash):
        run_sweep(spec, tmp_path / "out", max_members=32, progress=False,
                  callbacks=[CrashInSecondCohort(30, Crash)])
    plan, _ = plan_sweep(spec, tmp_path / "out", max_members=32)
    assert len(plan.finished) == 8 and plan.resumed == [plan.cohorts[0].id]
    _, table = run_sweep(spec, tmp_path / "out", max_members=32, progress=False)
    assert _rows(table.drop(columns=["cohort"])).equals(
        _rows(reference.drop(columns=["cohort"])))


def test_ray_runner_gives_the_same_table_as_the_local_runner(tmp_path):
    spec = _spec(tmp_path)
    _, local = run_sweep(spec, tmp_path / "local", max_members=32, progress=False)
    _, remote = run_sweep(spec, tmp_path / "ray", runner="ray", max_members=32, progress=False)
    assert _rows(remote).equals(_rows(local))


def test_default_cohort_cap_on_cpu_is_the_measured_cache_limit(tmp_path):
    plan, _ = plan_sweep(_spec(tmp_path, seeds=20), tmp_path / "out")
    assert [len(c.runs) for c in plan.cohorts] == [27, 27, 26, 26, 27, 27, 26, 26][:len(
        plan.cohorts)] or max(len(c.runs) for c in plan.cohorts) <= MAX_MEMBERS["cpu"]


def test_a_new_axis_keeps_the_finished_runs_and_fills_their_value(tmp_path):
    base = {**SPEC, "grid": {"model.width": [16]}}
    base["config"] = {**SPEC["config"], "optim": {"lr": 1e-2, "weight_decay": 1.0}}
    run_sweep(_spec(tmp_path, **base), tmp_path / "out", max_members=32, progress=False)
    grown = _spec(tmp_path, **{**base, "grid": {"model.width": [16],
                                                "optim.weight_decay": [0.1, 1.0]}})
    plan, table = run_sweep(grown, tmp_path / "out", max_members=32, progress=False)
    assert len(plan.finished) == 2 and sum(len(c.runs) for c in plan.cohorts) == 2
    assert sorted(table["optim.weight_decay"]) == [0.1, 0.1, 1.0, 1.0]  # old runs: from config
    assert table.groupby("optim.weight_decay")["seed"].apply(sorted).tolist() == [[0, 1], [0, 1]]


def test_a_moved_unfinished_sweep_resumes_where_it_is(tmp_path, monkeypatch):
    """Defect 9 of the data-safety issue: a moved or copied sweep directory was refused as 'a
    different config' (out_dir was part of the comparison), with a message naming options
    `grokscope sweep` does not have."""
    import shutil

    spec = _spec(tmp_path)
    with pytest.raises(Crash):
        run_sweep(spec, tmp_path / "first", max_members=32, progress=False,
                  callbacks=[CrashAt(30, Crash)])
    shutil.copytree(tmp_path / "first", tmp_path / "moved")
    plan, _ = plan_sweep(spec, tmp_path / "moved", max_members=32)
    assert len(plan.resumed) == 1
    _, table = run_sweep(spec, tmp_path / "moved", max_members=32, progress=False)
    _, reference = run_sweep(spec, tmp_path / "reference", max_members=32, progress=False)
    assert _rows(table.drop(columns=["cohort"])).equals(
        _rows(reference.drop(columns=["cohort"])))


def test_a_detect_axis_is_refused_and_new_thresholds_redetect_without_training(tmp_path):
    """Extension-seams issue: a sweep axis over detect.* silently vanished (two grid points,
    one run id, one run trained and reported). It is refused in one line; a rerun of the
    sweep with another detect value re-detects every finished run, training nothing."""
    from grokscope.errors import ConfigError

    axis = _spec(tmp_path, grid={"detect.delta": [0.01, 0.05]})
    with pytest.raises(ConfigError, match="grid.detect.delta: detect settings change only"):
        plan_sweep(axis, tmp_path / "out")
    spec = {**SPEC, "grid": {"split.fraction": [0.3, 0.6]}, "seeds": 1}
    _, first = run_sweep(_spec(tmp_path, **spec), tmp_path / "out", max_members=32,
                         progress=False)
    checkpoints = {f: (f / "checkpoint.pt").stat().st_mtime_ns
                   for f in (tmp_path / "out" / "cohorts").iterdir()}
    other = {**spec, "config": {**SPEC["config"], "detect": {"delta": 0.5}}}
    plan, again = run_sweep(_spec(tmp_path, **other), tmp_path / "out", max_members=32,
                            progress=False)
    assert not plan.cohorts and len(plan.redetect) == 1 and len(plan.finished) == 2
    assert len(again) == len(first) == 2
    for folder, mtime in checkpoints.items():
        assert (folder / "checkpoint.pt").stat().st_mtime_ns == mtime  # nothing retrained
        assert yaml.safe_load((folder / "config.yaml").read_text())["detect"]["delta"] == 0.5
        assert json.loads((folder / "events.json").read_text())["detector"]["delta"] == 0.5


def test_callbacks_are_for_the_local_runner_only():
    from grokscope.errors import ConfigError
    from grokscope.sweep.runners import make_runner

    with pytest.raises(ConfigError, match="callbacks: only with the local runner"):
        make_runner("ray", callbacks=[object()])
    assert make_runner("local", callbacks=[object()]).callbacks


def test_ray_refuses_more_gpus_per_cohort_than_the_cluster_has():
    from types import SimpleNamespace

    from grokscope.errors import ConfigError
    from grokscope.sweep.runners import RayRunner

    cpu_only = SimpleNamespace(cluster_resources=lambda: {"CPU": 2.0})
    two_gpus = SimpleNamespace(cluster_resources=lambda: {"CPU": 16.0, "GPU": 2.0})
    with pytest.raises(ConfigError, match=r"--num-gpus 1: the Ray cluster has 0 GPU\(s\)"):
        RayRunner(num_gpus=1)._check_gpus(cpu_only)
    RayRunner(num_gpus=1)._check_gpus(two_gpus)  # one cohort per GPU: accepted
    RayRunner(num_gpus=0)._check_gpus(cpu_only)
