"""Defects 1, 4, 9 of the data-safety issue: --overwrite deletes only runs, one process per
run, and a run's location is not its identity."""

import os
import shutil
import subprocess
import sys
import time

import pytest
import yaml
from typer.testing import CliRunner

from conftest import TINY, merge
from grokscope.cli import app
from grokscope.config import parse_config
from grokscope.errors import ConfigError
from grokscope.experiment import run_experiment
from grokscope.store import RunStore

runner = CliRunner()


def _config_file(tmp_path, **override):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(merge(TINY, {"train": {"steps": 20}, **override})))
    return path


@pytest.mark.parametrize("name", ["..", ".", "a/b", ".hidden", "../x"])
def test_names_are_one_safe_path_component(name):
    with pytest.raises(ConfigError, match="name"):
        parse_config(merge(TINY, {"name": name}))


def test_name_dotdot_with_overwrite_deletes_nothing(tmp_path):
    """Tried: `--set out_dir=runs --set name=.. --overwrite`, twice, emptied the project."""
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "README.md").write_text("mine")
    config = _config_file(tmp_path)
    args = ["run", str(config), "--set", f"out_dir={project / 'runs'}", "--set", "name=..",
            "--overwrite", "--no-progress"]
    for _ in range(2):
        result = runner.invoke(app, args)
        assert result.exit_code == 2 and "name" in result.output
    assert (project / "README.md").read_text() == "mine" and (project / "src").is_dir()


def test_overwrite_refuses_a_folder_that_is_not_a_run(tmp_path):
    """Tried: `--out <a user's folder> --overwrite` deleted thesis.tex and exited 0."""
    folder = tmp_path / "thesis"
    folder.mkdir()
    (folder / "thesis.tex").write_text("\\begin{document}")
    result = runner.invoke(app, ["run", str(_config_file(tmp_path)), "--out", str(folder),
                                 "--overwrite", "--no-progress"])
    assert result.exit_code == 2, result.output
    assert "not a grokscope run" in result.output and "thesis.tex" in result.output
    assert (folder / "thesis.tex").read_text() == "\\begin{document}"
    assert sorted(p.name for p in folder.iterdir()) == ["thesis.tex"]


def test_a_run_is_never_written_into_a_users_folder(tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "todo.txt").write_text("x")
    with pytest.raises(ConfigError, match="not a grokscope run"):
        run_experiment(parse_config(merge(TINY, {"train": {"steps": 20}})), folder,
                       progress=False)
    assert sorted(p.name for p in folder.iterdir()) == ["todo.txt"]


def test_overwrite_of_a_run_holding_a_foreign_file_deletes_nothing(tmp_path, tiny_config):
    config = tiny_config(train={"steps": 20})
    run_experiment(config, tmp_path / "run", progress=False)
    (tmp_path / "run" / "analysis.ipynb").write_text("{}")
    before = sorted(p.name for p in (tmp_path / "run").iterdir())
    with pytest.raises(ConfigError, match="analysis.ipynb"):
        run_experiment(config, tmp_path / "run", overwrite=True, progress=False)
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == before


def test_overwrite_of_a_run_replaces_it(tmp_path, tiny_config):
    run_experiment(tiny_config(train={"steps": 20}), tmp_path / "run", progress=False)
    result = run_experiment(tiny_config(train={"steps": 30}), tmp_path / "run",
                            overwrite=True, progress=False)
    assert result.seconds > 0 and result.events["steps"] == 30
    assert max(RunStore(tmp_path / "run").load_metrics()["step"].to_pylist()) == 30


def test_name_dot_overwrite_leaves_the_other_runs(tmp_path, tiny_config):
    """Tried: `--set name=. --overwrite` deleted the other runs in out_dir."""
    run_experiment(tiny_config(train={"steps": 20}, name="kept", out_dir=str(tmp_path)),
                   progress=False)
    config = _config_file(tmp_path / "kept", out_dir=str(tmp_path))
    result = runner.invoke(app, ["run", str(config), "--set", "name=.", "--overwrite",
                                 "--no-progress"])
    assert result.exit_code == 2
    assert RunStore(tmp_path / "kept").is_finished()


def test_a_second_process_on_the_same_run_is_refused_in_one_line(tmp_path):
    """Tried: a second `grokscope run` 2-5 s after the first: both exited 0 with duplicate
    rows."""
    from grokscope.store.lock import DirLock, lock_holder  # noqa: F401

    config = _config_file(tmp_path, train={"steps": 100000, "checkpoint_every": 50})
    command = [sys.executable, "-m", "grokscope.cli", "run", str(config), "--out",
               str(tmp_path / "run"), "--no-progress"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    first = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and lock_holder(tmp_path / "run") != first.pid:
            time.sleep(0.05)
        assert lock_holder(tmp_path / "run") == first.pid
        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        assert second.returncode == 2
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1 and f"being trained by process {first.pid}" in lines[0]
    finally:
        first.kill()
        first.wait()
    assert lock_holder(tmp_path / "run") is None, "the lock of a killed process is free"


def test_a_lock_left_by_a_dead_process_is_taken_over(tmp_path, tiny_config):
    from grokscope.store.lock import DirLock, lock_holder  # noqa: F401

    folder = tmp_path / "run"
    dead = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                            stdin=subprocess.PIPE)
    folder.mkdir()
    (folder / ".grokscope.lock").write_text(f"{dead.pid}\n")
    dead.kill()
    dead.wait()
    assert lock_holder(folder) is None
    assert run_experiment(tiny_config(train={"steps": 20}), folder, progress=False).seconds > 0


def test_the_lock_is_released_on_an_exception(tmp_path):
    from grokscope.store.lock import DirLock, lock_holder  # noqa: F401

    with pytest.raises(RuntimeError), DirLock(tmp_path, "run"):
        assert lock_holder(tmp_path) == os.getpid()
        raise RuntimeError
    assert lock_holder(tmp_path) is None


def test_a_moved_run_is_the_same_run(tmp_path, tiny_config):
    """Tried: a copied run (or sweep) directory was refused as 'a different config'."""
    config = tiny_config(train={"steps": 20}, out_dir=str(tmp_path / "a"), name="r")
    run_experiment(config, progress=False)
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    moved = config.model_copy(update={"out_dir": str(tmp_path / "b"), "name": "r"})
    result = run_experiment(moved, progress=False)
    assert result.seconds == 0.0 and result.path == tmp_path / "b" / "r"


def test_a_config_refused_after_its_folder_was_made_does_not_block_the_fix(tmp_path,
                                                                           tiny_config):
    bad = tiny_config(train={"steps": 20}, probes=[{"name": "fourier"}], model={
        "name": "mlp", "combine": "sum"}, task={"name": "sparse_parity", "n_bits": 8, "k": 2,
                                                "pool_size": 64, "test_size": 64},
        split={"name": "pool", "n_train": 32})
    with pytest.raises(ConfigError):
        run_experiment(bad, tmp_path / "run", progress=False)
    good = tiny_config(train={"steps": 20})
    assert run_experiment(good, tmp_path / "run", progress=False).seconds > 0


def test_two_sweeps_on_one_folder_are_refused(tmp_path):
    """Tried: two sweeps on one --out duplicated rows in every cohort."""
    from grokscope.sweep.run import run_sweep

    spec = tmp_path / "s.yaml"
    spec.write_text(yaml.safe_dump({"config": merge(TINY, {"train": {"steps": 20}}),
                                    "grid": {"optim.lr": [0.01]}}))
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; "
         "from grokscope.store.lock import DirLock; DirLock(Path(sys.argv[1]), 'sweep')"
         ".__enter__(); print('held', flush=True); time.sleep(120)", str(tmp_path / "sw")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(ConfigError, match=f"sweep .* is being trained by process "
                                              f"{holder.pid}"):
            run_sweep(spec, tmp_path / "sw", max_members=1, progress=False)
        assert not (tmp_path / "sw" / "cohorts").exists()
    finally:
        holder.kill()
        holder.wait()
    plan, table = run_sweep(spec, tmp_path / "sw", max_members=1, progress=False)
    assert len(table) == 1
