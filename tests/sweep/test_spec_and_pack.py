"""Sweep specs: grid expansion, zip, random sampling, stable run ids, packing into cohorts."""

import subprocess
import sys

import pytest

from grokscope.errors import ConfigError
from grokscope.sweep.pack import pack
from grokscope.sweep.spec import SweepSpec, expand_runs, parse_values, points

BASE = {"task": {"name": "modular", "p": 17}, "model": {"name": "mlp", "width": 32},
        "train": {"steps": 20, "device": "cpu"}}


def test_generators():
    assert parse_values("k", "linspace(0.2, 0.8, 4)") == [0.2, 0.4, 0.6, 0.8]
    assert parse_values("k", "logspace(-2, 1, 4)") == [0.01, 0.1, 1.0, 10.0]
    assert parse_values("k", "range(16, 80, 16)") == [16, 32, 48, 64]
    assert parse_values("k", [1, 2]) == [1, 2]
    for bad in ("linspace(1, 2)", "expspace(1, 2, 3)", "linspace(a, 2, 3)", []):
        with pytest.raises(ConfigError, match="grid.k"):
            parse_values("k", bad)


def test_grid_zip_random_and_seeds_multiply():
    spec = SweepSpec(grid={"split.fraction": "linspace(0.3, 0.6, 4)",
                           "optim.weight_decay": [0.1, 1.0]},
                     zip={"optim.lr": [1e-3, 3e-3, 1e-2], "optim.warmup_steps": [0, 5, 10]},
                     random={"n": 2, "seed": 1, "keys": {"model.init_scale": "uniform(0.5, 2)"}},
                     seeds=3)
    assert len(points(spec)) == 4 * 2 * 3 * 2
    runs = expand_runs(spec, BASE)
    assert len(runs) == 4 * 2 * 3 * 2 * 3
    zipped = {(r.config.optim.lr, r.config.optim.warmup_steps) for r in runs}
    assert zipped == {(1e-3, 0), (3e-3, 5), (1e-2, 10)}  # zip keys move together
    scales = {r.config.model.init_scale for r in runs}
    assert len(scales) == 2 and all(0.5 <= s <= 2 for s in scales)
    assert expand_runs(spec, BASE)[7].config == runs[7].config  # random draws are seeded
    assert {r.seed for r in runs} == {0, 1, 2}


def test_zip_lengths_and_bad_values_fail_with_their_key():
    with pytest.raises(ConfigError, match="zip: every key needs the same number"):
        points(SweepSpec(zip={"optim.lr": [1, 2], "optim.weight_decay": [1]}))
    with pytest.raises(ConfigError, match=r"at split.fraction=1.5: .*split.fraction"):
        expand_runs(SweepSpec(grid={"split.fraction": [0.5, 1.5]}), BASE)


def test_recipes_are_one_axis_of_named_overrides():
    spec = SweepSpec(recipes={"base": {}, "adam_l2": {"optim.name": "adam"},
                              "deep_mse": {"model.depth": 2, "train.loss": "mse"}},
                     grid={"split.fraction": [0.3, 0.6]}, seeds=2)
    runs = expand_runs(spec, BASE)
    assert len(runs) == 3 * 2 * 2
    assert [dict(r.values)["recipe"] for r in runs[::4]] == ["base", "adam_l2", "deep_mse"]
    by_recipe = {dict(r.values)["recipe"]: r.config for r in runs}
    assert by_recipe["base"].optim.name == "adamw" and by_recipe["adam_l2"].optim.name == "adam"
    assert by_recipe["deep_mse"].model.depth == 2 and by_recipe["deep_mse"].train.loss == "mse"
    assert by_recipe["adam_l2"].model.depth == 1  # a recipe changes only its own keys
    assert "optim.name" not in dict(runs[4].values)  # the table shows the name, not the keys


@pytest.mark.parametrize(("recipes", "grid", "message"), [
    ({"a": {"optim.lr": 0.1}}, {"optim.lr": [1e-3]}, "optim.lr is swept in both"),
    ({"a": {"cohort.seed": 3}}, {}, "recipes.a.cohort.seed: the sweep sets this key"),
    ({"a": {"recipe": "b"}}, {}, "recipes.a.recipe: `recipe` names"),
    ({"a": {"model.depth": 0}}, {}, r"at recipe=a: .*model.depth"),
])
def test_bad_recipes_fail_with_the_recipe_and_key(tmp_path, recipes, grid, message):
    import yaml
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump({"config": BASE, "recipes": recipes, "grid": grid}))
    from grokscope.sweep.spec import load_sweep_spec
    with pytest.raises(ConfigError, match=message):
        spec, base = load_sweep_spec(path)
        expand_runs(spec, base)


def test_run_ids_are_stable_across_processes_and_ignore_the_name():
    spec = SweepSpec(name="a", grid={"optim.lr": [1e-3, 1e-2]}, seeds=2)
    ids = [r.id for r in expand_runs(spec, BASE)]
    assert len(set(ids)) == 4
    renamed = SweepSpec(name="b", grid={"optim.lr": [1e-3, 1e-2]}, seeds=2)
    assert [r.id for r in expand_runs(renamed, BASE, out_dir="elsewhere")] == ids
    code = ("from grokscope.sweep.spec import SweepSpec, expand_runs; "
            f"print([r.id for r in expand_runs(SweepSpec(grid={{'optim.lr': [1e-3, 1e-2]}}, "
            f"seeds=2), {BASE!r})])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(ids)


def test_packing_shares_cohorts_across_per_member_keys_only():
    spec = SweepSpec(grid={"split.fraction": [0.3, 0.5, 0.7], "optim.weight_decay": [0.1, 1.0],
                           "model.width": [16, 32]}, seeds=2)
    runs = expand_runs(spec, BASE)
    plans = pack(runs, max_members=32)
    assert len(plans) == 2  # one per width; fraction, weight decay and seed are per-member
    for plan in plans:
        assert len(plan.runs) == 12 and len({r.config.model.width for r in plan.runs}) == 1
        assert plan.config.cohort.members == 12
        assert plan.config.cohort.seed == [r.seed for r in plan.runs]
        assert plan.config.split.fraction == [r.config.split.fraction for r in plan.runs]
    capped = pack(runs, max_members=5)  # 12 per width -> 3 balanced cohorts of 4
    assert sorted(len(p.runs) for p in capped) == [4] * 6
    assert sum(len(p.runs) for p in capped) == len(runs)
    batch = pack(expand_runs(SweepSpec(grid={"train.batch_size": [8, 16]}), BASE), 32)
    assert len(batch) == 2  # a batch size is a shape key: no padded work
