"""Reproduction files: settings x seeds expand into one cohort; a run writes figure and CSVs."""

import csv
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from grokscope.cli import app
from grokscope.errors import ConfigError
from grokscope.reproduce import expand, find_suite, load_spec
from grokscope.reproduce.spec import ReproductionSpec, setting_label

SMALL_TASK = {"name": "equidistant", "samples_per_subclass": 1000, "pool_size": 2400,
              "test_size": 800}
SPEC = {
    "title": "tiny figure",
    "claim": "f = 0 stays behind",
    "seeds": 3,
    "settings": [
        {"split.n_train": 80, "split.f": 0.0, "train.batch_size": 40},
        {"split.n_train": 120, "split.f": 0.2},
    ],
    "quick": {"seeds": 2, "steps": 30, "settings": [1], "set": {"optim.lr": 0.01}},
    "config": {
        "task": SMALL_TASK,
        "split": {"name": "subclass_shift"},
        "model": {"name": "mlp", "width": 16, "depth": 2, "init_scale": 2},
        "optim": {"lr": 1e-3, "weight_decay": 0.1},
        "train": {"steps": 60, "batch_size": 60, "log_every": 10, "checkpoint_every": 30,
                  "device": "cpu"},
    },
}


def _one(spec, **kwargs):
    """expand() of a spec whose settings share one cohort: that cohort's config."""
    cohorts, members = expand(spec, **kwargs)
    assert len(cohorts) == 1 and cohorts[0][1] == list(range(len(members)))
    return cohorts[0][0], members


def test_settings_times_seeds_become_per_member_lists():
    config, members = _one(ReproductionSpec.model_validate(SPEC))
    assert [m["setting"] for m in members] == [0, 0, 0, 1, 1, 1]
    assert config.cohort.seed == [0, 1, 2, 0, 1, 2]
    assert config.split.n_train == [80] * 3 + [120] * 3
    assert config.split.f == [0.0] * 3 + [0.2] * 3
    assert config.train.batch_size == [40] * 3 + [60] * 3  # the config's value as default
    assert config.train.steps == 60 and members[3]["label"] == "n=120, f=0.2"


def test_quick_keeps_chosen_settings_fewer_seeds_and_overrides():
    config, members = _one(ReproductionSpec.model_validate(SPEC), quick=True)
    assert [m["setting"] for m in members] == [1, 1]
    assert config.train.steps == 30 and config.optim.lr == 0.01
    assert config.split.n_train == [120, 120]


@pytest.mark.parametrize(("change", "quick", "message"), [
    ({"settings": [{"model.width": -8}]}, False, r"model\.width: must be greater than or equal "
                                                 r"to 1, got -8"),
    ({"settings": [{"split.f": 0.1}], "config": {**SPEC["config"], "split": {
        "name": "uniform"}}}, False, "setting 0 lacks 'split.f'|split.f"),
    ({"quick": {"settings": [5]}}, True, r"quick.settings: indices \[5\] outside 0..1"),
])
def test_bad_specs_are_config_errors(change, quick, message):
    with pytest.raises(ConfigError, match=message):
        expand(ReproductionSpec.model_validate({**SPEC, **change}), quick=quick)


def test_labels_and_suite_lookup(tmp_path):
    assert setting_label({"split.n_train": 100, "split.f": 0.2, "train.batch_size": 100}) == (
        "n=100, f=0.2")
    assert setting_label({"label": "custom", "split.f": 0.2}) == "custom"
    names = [p.stem for p in find_suite("carvalho2025")]
    assert {"fig3a", "fig3b", "fig3c", "fig4"} <= set(names)
    with pytest.raises(ConfigError, match="no suite 'nope'"):
        find_suite("nope")


def test_shipped_reproductions_are_valid_and_follow_the_paper():
    for path in find_suite("carvalho2025"):
        spec = load_spec(path)
        config, members = _one(spec, quick=False, name=path.stem)
        assert len(members) == spec.seeds * len(spec.settings)
        expand(spec, quick=True)  # the quick variant validates too
        if path.stem.startswith("fig"):
            assert spec.seeds == 10 and config.train.steps == 50_000
            assert config.optim.lr == 1e-3 and config.optim.weight_decay == 1e-4
            assert config.model.init_scale == 8 and config.train.log_every == 100
            assert config.optim.name == "adam"  # coupled L2: the recipe sweep's choice
            ns, batches = config.split.n_train, config.train.batch_size
            ns = ns if isinstance(ns, list) else [ns] * len(members)
            batches = batches if isinstance(batches, list) else [batches] * len(members)
            for n, batch in zip(ns, batches):
                assert batch == (100 if n == 100 else 200)  # the thesis's batch sizes


def test_cli_reproduce_writes_figure_and_csvs(tmp_path):
    suite = tmp_path / "tiny"
    suite.mkdir()
    (suite / "figX.yaml").write_text(yaml.safe_dump(SPEC, sort_keys=False))
    result = CliRunner().invoke(app, ["reproduce", str(suite), "--out", str(tmp_path / "out"),
                                      "--no-progress"])
    assert result.exit_code == 0, result.output
    run = Path(tmp_path / "out" / "tiny" / "figX")
    for name in ("figure.png", "events.csv", "summary.csv", "part-0/metrics.parquet",
                 "part-1/metrics.parquet"):  # batch 40 and batch 60: two cohorts
        assert (run / name).is_file(), name
    rows = list(csv.DictReader((run / "events.csv").open()))
    assert [(r["setting"], r["seed"], r["n_train"]) for r in rows] == [
        ("0", "0", "80"), ("0", "1", "80"), ("0", "2", "80"),
        ("1", "0", "120"), ("1", "1", "120"), ("1", "2", "120")]
    assert len(rows) == 6 and {"alpha0", "alpha1", "delta_S", "verdict", "shift_tv",
                               "shift_mmd", "final_undersampled_acc"} <= set(rows[0])
    summary = list(csv.DictReader((run / "summary.csv").open()))
    assert [r["label"] for r in summary] == ["n=80, f=0.0", "n=120, f=0.2"]
    assert float(summary[0]["shift_tv"]) == pytest.approx(0.5)
    assert "tiny figure" in result.output and "f = 0 stays behind" in result.output


def test_cli_reproduce_unknown_only_is_one_line(tmp_path):
    result = CliRunner().invoke(app, ["reproduce", "carvalho2025", "--only", "fig9"])
    assert result.exit_code == 2 and "--only: no file ['fig9']" in result.output


def test_members_are_packed_by_batch_size_into_bounded_cohorts():
    from grokscope.reproduce.runner import plan_parts

    config, _ = _one(load_spec(find_suite("carvalho2025")[1]))  # fig3b: 30 at 100, 30 at 200
    parts = plan_parts(config, max_members=16)
    assert sorted(len(p) for p in parts) == [15, 15, 15, 15]
    assert sorted(i for p in parts for i in p) == list(range(60))
    for part in parts:
        assert len({config.train.batch_size[i] for i in part}) == 1


def test_suite_shift_figure_from_member_rows(tmp_path):
    from grokscope.report.reproduction import plot_shift

    rows = [{"shift_mmd": 0.01 * k, "f": k / 4, "final_test_acc": 1 - 0.1 * k,
             "final_undersampled_acc": 1 - 0.2 * k} for k in range(5)]
    path = plot_shift({"figA": rows, "figB": rows[:2]}, tmp_path / "shift.png")
    assert path.stat().st_size > 10_000


def test_overrides_reach_every_member():
    config, _ = _one(ReproductionSpec.model_validate(SPEC),
                     overrides=["detect.min_intensity=0.005", "train.log_every=5"])
    assert config.detect.min_intensity == 0.005 and config.train.log_every == 5


def test_settings_that_change_the_shape_get_their_own_cohort():
    spec = ReproductionSpec.model_validate({
        **SPEC, "seeds": 2,
        "settings": [{"split.n_train": 80, "model.width": 8}, {"split.n_train": 100},
                     {"split.n_train": 120, "model.width": 8}],
    })
    cohorts, members = expand(spec)
    assert [indices for _, indices in cohorts] == [[0, 1, 4, 5], [2, 3]]
    (wide, narrow_ids), (base, _) = cohorts
    assert wide.model.width == 8 and base.model.width == 16
    assert wide.split.n_train == [80, 80, 120, 120] and base.split.n_train == [100, 100]
    assert wide.cohort.seed == [0, 1, 0, 1]


@pytest.mark.slow
def test_a_reproduction_on_ray_equals_the_local_one(tmp_path):
    """Reproductions run on the sweeps' runners: one Ray task per part, same events."""
    pytest.importorskip("ray")
    suite = tmp_path / "tiny"
    suite.mkdir()
    (suite / "figX.yaml").write_text(yaml.safe_dump(SPEC, sort_keys=False))
    for runner in ("local", "ray"):
        result = CliRunner().invoke(app, ["reproduce", str(suite), "--out",
                                          str(tmp_path / runner), "--no-progress",
                                          "--runner", runner])
        assert result.exit_code == 0, result.output
    rows = [list(csv.DictReader((tmp_path / r / "tiny" / "figX" / "events.csv").open()))
            for r in ("local", "ray")]
    keys = ("setting", "seed", "verdict", "alpha0", "alpha1", "final_test_acc")
    assert [[r[k] for k in keys] for r in rows[0]] == [[r[k] for k in keys] for r in rows[1]]
