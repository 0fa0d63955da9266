"""Expectations: published number vs measured value, over member rows and metric curves."""

import numpy as np
import pyarrow as pa
import pytest
import yaml
from pydantic import ValidationError
from typer.testing import CliRunner

from grokscope.cli import app
from grokscope.reproduce.expect import Expectation, check, first_step

ROWS = [  # two settings of three seeds
    {"member": 0, "setting": 0, "label": "frac=0.3", "alpha1": 1000, "verdict": "grokked",
     "final_test_acc": 0.99},
    {"member": 1, "setting": 0, "label": "frac=0.3", "alpha1": 3000, "verdict": "grokked",
     "final_test_acc": 1.0},
    {"member": 2, "setting": 0, "label": "frac=0.3", "alpha1": None, "verdict": "memorized-only",
     "final_test_acc": 0.2},
    {"member": 3, "setting": 1, "label": "frac=0.5", "alpha1": 400, "verdict": "grokked",
     "final_test_acc": 1.0},
    {"member": 4, "setting": 1, "label": "frac=0.5", "alpha1": 500, "verdict": "grokked",
     "final_test_acc": 1.0},
    {"member": 5, "setting": 1, "label": "frac=0.5", "alpha1": 600, "verdict": "grokked",
     "final_test_acc": 1.0},
]


def test_median_counts_members_that_never_got_there_as_beyond():
    e = Expectation(metric="alpha1", setting=0, value=2000, factor=2)
    c = check(e, ROWS)
    assert c.measured == 3000 and c.spread == (1000, 3000) and c.n == 3 and c.ok
    assert check(Expectation(metric="alpha1", value=500, tolerance=1), ROWS).measured == 800
    two_missing = [dict(r, alpha1=None) if r["member"] in (0, 1) else r for r in ROWS[:3]]
    never = check(Expectation(metric="alpha1", at_most=1e9), two_missing)
    assert never.measured == float("inf") and not never.ok
    assert check(Expectation(metric="alpha1", at_least=5000), two_missing).ok


def test_where_keeps_only_the_members_whose_columns_match():
    e = Expectation(metric="alpha1", setting=0, where={"verdict": "grokked"}, value=2000,
                    factor=2)
    c = check(e, ROWS)  # members 0 and 1: the never-grokked member 2 is left out
    assert c.n == 2 and c.measured == 2000 and c.ok
    assert "where verdict = grokked" in e.describe()
    assert check(Expectation(metric="alpha1", where={"verdict": "diverged"}, at_least=0),
                 ROWS).n == 0  # nobody: no evidence, the check fails
    assert not check(Expectation(metric="alpha1", where={"verdict": "diverged"}, at_least=0),
                     ROWS).ok


def test_criteria_and_settings_by_label():
    assert not check(Expectation(metric="alpha1", setting="frac=0.5", value=1000, factor=1.5),
                     ROWS).ok  # 500 < 1000 / 1.5
    assert check(Expectation(metric="alpha1", setting="frac=0.5", value=1000, factor=2),
                 ROWS).ok
    assert check(Expectation(metric="final_test_acc", stat="min", at_least=0.99,
                             setting=1), ROWS).ok
    assert not check(Expectation(metric="final_test_acc", stat="min", at_least=0.99), ROWS).ok


def test_versus_divides_by_another_settings_statistic():
    faster = check(Expectation(metric="alpha1", setting=1, versus=0, at_most=0.2), ROWS)
    assert faster.measured == pytest.approx(500 / 3000) and faster.ok and faster.n == 3
    assert "[1] / [0]" in faster.expectation.describe()
    slower = check(Expectation(metric="alpha1", setting="frac=0.3", versus="frac=0.5",
                               at_least=2), ROWS)
    assert slower.measured == pytest.approx(6.0) and slower.ok
    never = [dict(r, alpha1=None) if r["setting"] == 0 else r for r in ROWS]
    assert check(Expectation(metric="alpha1", setting=0, versus=1, at_least=2),
                 never).measured == float("inf")  # never, against a finite time: beyond all
    assert check(Expectation(metric="alpha1", setting=1, versus=0, at_most=1),
                 never).measured == 0.0
    both = [dict(r, alpha1=None) for r in ROWS]
    ratio = check(Expectation(metric="alpha1", setting=0, versus=1, at_least=0), both)
    assert ratio.measured is None and not ratio.ok  # never over never: no evidence


def test_share_of_a_verdict():
    c = check(Expectation(metric="verdict", equals="grokked", at_least=0.8), ROWS)
    assert c.measured == pytest.approx(5 / 6) and c.ok
    assert not check(Expectation(metric="verdict", equals="grokked", stat="share",
                                 at_least=1.0), ROWS).ok


def test_step_metric_reads_the_curves():
    steps = np.array([0, 10, 20, 30])
    loss = np.array([[5.0, 5.0], [1.0, 0.5], [0.009, 0.2], [0.001, 0.1]])
    assert first_step(steps, loss, "<", 0.01) == [20.0, None]
    table = pa.table({"step": np.repeat(steps, 2), "member": np.tile([0, 1], 4).astype(np.int32),
                      "split": ["test"] * 8, "loss": loss.flatten(),
                      "accuracy": np.zeros(8)})
    rows = [{"member": 0, "setting": 0, "label": "a"}, {"member": 1, "setting": 0, "label": "a"}]
    c = check(Expectation(metric="step(test_loss < 0.01)", stat="min", at_most=25), rows, table)
    assert c.measured is None and not c.ok  # member 1 never got there: no min over all
    c = check(Expectation(metric="step(test_loss < 0.01)", setting=0, value=20, tolerance=0),
              rows[:1], table)
    assert c.measured == 20 and c.ok


def test_probe_metric_takes_the_max_min_or_last_measured_value():
    table = pa.table({"step": [0, 0, 50, 50, 100], "member": pa.array([0, 1, 0, 1, 0], pa.int32()),
                      "split": ["probe"] * 5,
                      "numerics/softmax_collapse": [0.0, 0.0, 0.8, 0.1, 0.6]})
    rows = [{"member": 0, "setting": 0, "label": "a"}, {"member": 1, "setting": 0, "label": "a"}]
    for stat, expected in (("max", [0.8, 0.1]), ("min", [0.0, 0.0]), ("last", [0.6, 0.1])):
        c = check(Expectation(metric=f"{stat}(numerics/softmax_collapse)", stat="max",
                              at_least=0.5), rows, table)
        assert c.spread == (min(expected), max(expected)), stat
    assert check(Expectation(metric="max(numerics/softmax_collapse)", setting=0, stat="min",
                             at_least=0.5), rows, table).ok is False  # member 1 stays at 0.1
    missing = check(Expectation(metric="max(numerics/zero_terms)", at_least=0), rows, table)
    assert missing.measured is None and not missing.ok


@pytest.mark.parametrize("bad", [
    {"metric": "max(numerics/softmax_collapse", "at_least": 1},
    {"metric": "alpha1"},  # no criterion
    {"metric": "alpha1", "factor": 2},  # factor without a value
    {"metric": "step(test_loss)", "at_most": 1},
])
def test_malformed_expectations_are_rejected(bad):
    with pytest.raises(ValidationError):
        Expectation.model_validate(bad)


TINY = {
    "title": "tiny modular", "paper": "test", "seeds": 2,
    "settings": [{"split.fraction": 0.5}],
    "config": {"task": {"p": 11}, "model": {"name": "mlp", "embed_dim": 8, "width": 16},
               "optim": {"lr": 1e-2}, "train": {"steps": 20, "log_every": 5,
                                                "checkpoint_every": 10, "device": "cpu"}},
    "figure": {"loss": True, "log_x": True, "vs": "split.fraction"},
}


@pytest.mark.parametrize(("bound", "code"), [(0.0, 0), (1.5, 1)])
def test_cli_exit_code_follows_the_checks(tmp_path, bound, code):
    spec = {**TINY, "expect": [{"metric": "final_train_acc", "at_least": bound,
                                "setting": "frac=0.5", "source": "made up"}]}
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(spec))
    result = CliRunner().invoke(app, ["reproduce", str(tmp_path / "tiny.yaml"), "--out",
                                      str(tmp_path / "out"), "--no-progress"])
    assert result.exit_code == code, result.output
    assert "published vs measured" in result.output and "made up" in result.output
    assert ("FAIL" in result.output) == bool(code)
    assert "[frac=0.5]" in result.output  # the setting is printed, not eaten as rich markup
    run = tmp_path / "out" / tmp_path.name / "tiny"
    assert (run / "checks.csv").is_file() and (run / "steps.png").is_file()


def test_steps_figure_with_categories_and_members_that_never_generalized(tmp_path):
    from grokscope.report.reproduction import plot_steps_vs

    rows = [{"alpha1": a} for a in (1200, None, 300, 450, None, None)]
    values = ["x+y", "x+y", "x-y", "x-y", "S5", "S5"]
    path = plot_steps_vs(rows, values, "label", tmp_path / "steps.png", title="ops")
    assert path.stat().st_size > 5_000
