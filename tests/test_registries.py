"""The common test of the registries: every registered task trains with every model that
reads it, and a task from another installed package (an entry point) trains end to end."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from grokscope.config import parse_config
from grokscope.config.paths import merge
from grokscope.config.tasks import TASKS
from grokscope.errors import ConfigError
from grokscope.probes.config import PROBES
from grokscope.store import RunStore
from grokscope.store.metrics import probe_matrix
from grokscope.training.cohort import Cohort

MODELS = {
    "mlp": {"name": "mlp", "embed_dim": 8, "width": 16, "depth": 2},
    "transformer": {"name": "transformer", "d_model": 16, "n_heads": 2, "d_mlp": 32},
    "linear": {"name": "linear"},
}
# tasks whose smallest build takes seconds (a ResNet, 10^4 Gaussian samples): tested in
# tests/tasks, and left out of the smoke walk
HEAVY = {"equidistant", "equivariant", "mnist_subclass"}


def test_the_smoke_models_are_the_registered_models():
    from grokscope.config.components import MODELS as REGISTERED

    assert set(MODELS) == set(REGISTERED)


def test_every_registered_task_has_an_example_or_a_reason():
    assert {name for name in TASKS if not TASKS.get(name).example} <= HEAVY


@pytest.mark.parametrize("model", sorted(MODELS))
@pytest.mark.parametrize("task", sorted(set(TASKS) - HEAVY))
def test_every_registered_task_trains_three_steps_with_every_model(task, model):
    if task == "mnist":
        pytest.importorskip("sklearn")
    example = TASKS.get(task).example
    config = parse_config(merge({
        "model": MODELS[model], "optim": {"lr": 1e-2}, "cohort": {"members": 2},
        "train": {"device": "cpu", "batch_size": 16}}, example))
    try:
        cohort = Cohort(config)
    except ConfigError as error:  # a model that declares it cannot read the task
        assert "allowed models" in str(error)
        return
    for _ in range(3):
        cohort.step()
    after = cohort.evaluate()
    assert all(math.isfinite(v) for v in after.train_loss.tolist())
    assert after.test_acc.shape == (2,) and torch.all(after.test_acc <= 1)


def _install_plugin(root: Path) -> dict[str, str]:
    """A dist-info on a path entry: what `pip install` of a one-module package leaves."""
    info = root / "grokscope_toy_plugin-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: grokscope-toy-plugin\n"
                                   "Version: 0.1\n")
    (info / "entry_points.txt").write_text("[grokscope.tasks]\ntoy_max = grokscope_toy_plugin\n"
                                           "[grokscope.probes]\n"
                                           "toy_logit_norm = grokscope_toy_plugin\n")
    source = Path(__file__).parent / "plugin" / "grokscope_toy_plugin.py"
    (root / source.name).write_text(source.read_text())
    path = os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1"}


def test_a_task_and_a_probe_from_an_installed_plugin_train_end_to_end(tmp_path):
    env = _install_plugin(tmp_path / "site")
    config = tmp_path / "toy.yaml"
    config.write_text(yaml.safe_dump({
        "name": "toy", "out_dir": str(tmp_path / "runs"), "task": {"name": "toy_max", "p": 11},
        "split": {"fraction": 0.5}, "model": {"name": "mlp", "embed_dim": 8, "width": 16},
        "train": {"steps": 30, "device": "cpu"}, "cohort": {"members": 2},
        "probes": [{"name": "toy_logit_norm", "every": 10}]}))
    cli = [sys.executable, "-m", "grokscope.cli"]
    listed = subprocess.run(cli + ["tasks"], env=env, capture_output=True, text=True)
    assert listed.returncode == 0 and "toy_max" in listed.stdout, listed.stderr
    run = subprocess.run(cli + ["run", str(config), "--no-progress"], env=env,
                         capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr
    events = json.loads((tmp_path / "runs" / "toy" / "events.json").read_text())
    assert events["finished"] and len(events["members"]) == 2
    store = RunStore(tmp_path / "runs" / "toy")
    steps, norm = probe_matrix(store.load_metrics(), "toy/logit_norm")
    assert steps.tolist() == [0, 10, 20, 30] and norm.shape == (4, 2)
    hist = store.load_spectra()
    assert set(hist["probe"].to_pylist()) == {"toy/logit_norm_hist"}
    without = subprocess.run(cli + ["run", str(config), "--no-progress"], capture_output=True,
                             text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert without.returncode == 2 and "unknown value 'toy_max'" in without.stderr


PROBE_TASK = {"task": {"name": "modular", "p": 7, "op": "a+b"}, "split": {"fraction": 0.5}}
# the linear student reads features only: its probes run on the teacher-student task
PROBE_TASKS = {"linear": TASKS.get("teacher_student").example}


@pytest.mark.parametrize("model", sorted(MODELS))
@pytest.mark.parametrize("probe", sorted(PROBES))
def test_every_registered_probe_runs_on_every_model_it_serves(probe, model):
    """Each probe's own check decides whether it serves the run; where it does, one
    measurement gives finite `(E,)` scalars or `(E, k)` spectra."""
    from grokscope.probes.callback import ProbeCallback

    config = parse_config(merge({
        "model": MODELS[model], "optim": {"lr": 1e-2}, "cohort": {"members": 2},
        "train": {"device": "cpu", "steps": 10}, "probes": [{"name": probe}]},
        PROBE_TASKS.get(model, PROBE_TASK)))
    cohort = Cohort(config)
    try:
        probes = ProbeCallback(cohort).probes
    except ConfigError as error:
        assert "probes.0" in str(error)
        return
    cohort.step()
    scalars, spectra = probes.measure(cohort, 10, cohort.evaluate)
    assert scalars or spectra
    for value in [*scalars.values(), *spectra.values()]:
        assert value.shape[0] == 2 and value.dim() in (1, 2)
        assert torch.isfinite(value).all()


def test_the_docs_name_every_registered_entry():
    """The config and probe docs stay in step with the registries: a registered task, model,
    split, loss, transform or probe that the docs do not name fails here."""
    from grokscope.config.components import LOSSES, ORDERINGS, SPLITS
    from grokscope.config.components import MODELS as REGISTERED_MODELS
    from grokscope.config.transforms import TRANSFORMS

    docs = Path(__file__).resolve().parent.parent / "docs"
    config, probes = (docs / "config.md").read_text(), (docs / "probes.md").read_text()
    def grokscopes(entry):  # registered by grokscope itself (docs snippets add their own)
        target = getattr(entry, "config", entry)
        module = target if isinstance(target, str) else getattr(target, "__module__", "")
        return module.startswith("grokscope.")

    missing = [f"{registry.what} {name}"
               for registry, text in [(TASKS, config), (REGISTERED_MODELS, config),
                                      (SPLITS, config), (LOSSES, config),
                                      (TRANSFORMS, config), (PROBES, probes),
                                          (ORDERINGS, config)]
               for name in registry.in_order()
               if grokscopes(registry.get(name)) and f"`{name}`" not in text]
    assert missing == []
    assert len([n for n in TASKS.in_order() if grokscopes(TASKS.get(n))]) >= 9
