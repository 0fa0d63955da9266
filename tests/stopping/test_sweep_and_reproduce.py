"""Sweeps and reproductions accept `stopping:`: the sweep table gains the stop columns, and a
reproduction's cohorts carry the rules (also per member, through a sub-cohort)."""

import yaml

from grokscope.reproduce import expand
from grokscope.reproduce.spec import ReproductionSpec
from grokscope.sweep.run import run_sweep
from grokscope.training.members import select_members

SWEEP = {
    "name": "tiny_stopping_sweep",
    "config": {
        "task": {"name": "modular", "p": 17, "op": "a+b"},
        "model": {"name": "mlp", "embed_dim": 16, "width": 32},
        "optim": {"lr": 1e-2},
        "train": {"steps": 60, "log_every": 10, "checkpoint_every": 20, "device": "cpu"},
        "stopping": [{"name": "budget", "steps": 30}],
    },
    "grid": {"split.fraction": [0.3, 0.6]},
    "seeds": 2,
}


def test_a_sweep_with_stopping_has_stop_columns(tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(SWEEP))
    _, table = run_sweep(path, tmp_path / "out", max_members=32, progress=False)
    assert len(table) == 4
    assert (table["stop_step"] == 30).all() and (table["stop_rule"] == "budget").all()
    assert (table["last_step"] == 30).all()


def test_a_reproduction_carries_stopping_into_its_cohorts(tiny_config):
    spec = ReproductionSpec.model_validate({
        "title": "t", "claim": "c", "seeds": 2, "settings": [{"optim.lr": 1e-2}],
        "config": {**SWEEP["config"], "stopping": ["grokked"]}})
    cohorts, _ = expand(spec)
    assert [s.name for s in cohorts[0][0].stopping] == ["grokked"]
    per_member = tiny_config(cohort={"members": 3},
                             stopping=[{"name": "budget", "steps": [10, 20, 30]}])
    assert select_members(per_member, [2, 0]).stopping[0].steps == [30, 10]
