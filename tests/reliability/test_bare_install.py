"""A bare `pip install grokscope` gives a working CLI and library (issue 39, defect 1).

The wheel is built from this checkout and installed into a fresh virtual environment
*without extras*. Its dependencies are exactly those the wheel declares (and theirs, per
their own metadata), taken from this environment's installed copies by symbolic link rather
than from the network: an undeclared import (click, which typer now vendors instead of
requiring, and which only the `track` extra's wandb pulled in) fails here as for a user.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import pytest
import yaml
from packaging.markers import default_environment
from packaging.requirements import Requirement

from conftest import TINY, merge

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _closure(requirements: list[str]) -> set[str]:
    """Distribution names the requirements pull in, transitively, extras left out."""
    env = {**default_environment(), "extra": ""}
    seen: set[str] = set()
    todo = [Requirement(r) for r in requirements]
    while todo:
        req = todo.pop()
        if req.marker is not None and not req.marker.evaluate(env):
            continue
        name = re.sub(r"[-_.]+", "-", req.name).lower()
        if name in seen:
            continue
        seen.add(name)
        try:
            todo += [Requirement(r) for r in distribution(name).requires or []]
        except PackageNotFoundError:
            pass  # an optional platform package (e.g. CUDA's) this machine does not have
    return seen


def _link_installed(names: set[str], site: Path) -> None:
    """Make each distribution of this environment visible in `site`: its top-level files
    and folders and its metadata, as links."""
    for name in names:
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            continue
        base = Path(dist.locate_file(""))
        tops = {Path(f).parts[0] for f in dist.files or [] if not str(f).startswith("..")}
        for top in tops:
            source, target = base / top, site / top
            if source.exists() and not target.exists() and top != "__pycache__":
                target.symlink_to(source, target_is_directory=source.is_dir())


def test_the_wheel_without_extras_runs_the_cli_and_the_library(tmp_path):
    dist = tmp_path / "dist"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                            "--no-build-isolation", "-q", "-w", str(dist), str(ROOT)],
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    wheel = next(dist.glob("grokscope-*.whl"))
    fresh = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", str(fresh)], check=True, timeout=300)
    python = fresh / "bin" / "python"
    installed = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps",
                                "--no-index", str(wheel)], capture_output=True, text=True,
                               timeout=300)
    assert installed.returncode == 0, installed.stderr
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig."
                                "get_paths()['purelib'])"], capture_output=True, text=True,
                               check=True).stdout.strip())
    meta = subprocess.run([str(python), "-c", "from importlib.metadata import requires; "
                           "print('\\n'.join(requires('grokscope')))"],
                          capture_output=True, text=True, check=True).stdout.splitlines()
    core = [r for r in meta if "extra ==" not in r]
    _link_installed(_closure(core) - {"grokscope"}, site)
    assert sysconfig.get_paths()["purelib"] != str(site)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(OMP_NUM_THREADS="1", PATH=f"{fresh / 'bin'}{os.pathsep}{env.get('PATH', '')}")
    cli = str(fresh / "bin" / "grokscope")

    def run(*args: str, cwd: Path = tmp_path) -> subprocess.CompletedProcess:
        return subprocess.run(list(args), capture_output=True, text=True, env=env, cwd=cwd,
                              timeout=300)

    helped = run(cli, "--help")
    assert helped.returncode == 0 and "Reproduce, measure and explain" in helped.stdout, \
        helped.stderr
    listed = run(cli, "tasks")
    assert listed.returncode == 0 and "modular" in listed.stdout, listed.stderr
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(merge(TINY, {"train": {"steps": 20}})))
    trained = run(cli, "run", str(config), "--no-progress")
    assert trained.returncode == 0, trained.stderr
    assert (tmp_path / "runs" / "tiny" / "events.json").is_file()
    api = run(str(python), "-c", "import grokscope; from grokscope import load_run, detect, "
              "run_experiment, load_config, Cohort, ConfigError; "
              "c, s = load_run('runs/tiny'); print(len(s.read_events()['members']))")
    assert api.returncode == 0 and api.stdout.strip() == "2", api.stderr
    # nothing of the extras came along
    missing = run(str(python), "-c", "import importlib.util as u; print([m for m in "
                  "('wandb', 'tensorboard', 'ray', 'sklearn') if u.find_spec(m)])")
    assert missing.stdout.strip() == "[]", missing.stdout
