"""The phase classifier, phase cells, diagrams and the power-law fit on synthetic events."""

import math

import numpy as np
import pandas as pd
import pytest

from grokscope.errors import ConfigError
from grokscope.sweep.phase import (
    classify,
    fit_power_law,
    phase_cells,
    phase_of,
    plot_phase,
    plot_scaling,
    select_runs,
)

X, Y = "split.fraction", "optim.weight_decay"


def _table() -> pd.DataFrame:
    """3 x 2 cells x 3 seeds with known verdicts; alpha1 = 500 * fraction^-2 exactly."""
    verdicts = {
        (0.2, 0.01): ["not-fitted", "not-fitted", "memorized-only"],
        (0.2, 1.0): ["memorized-only"] * 3,
        (0.5, 0.01): ["memorized-only", "grokked", "collapsed"],
        (0.5, 1.0): ["grokked", "grokked", "memorized-only"],
        (0.8, 0.01): ["generalized-without-delay", "grokked", "grokked"],
        (0.8, 1.0): ["generalized-without-delay"] * 3,
    }
    rows = []
    for (f, wd), cell in verdicts.items():
        for seed, verdict in enumerate(cell):
            general = verdict in ("grokked", "generalized-without-delay")
            a1 = 500 * f ** -2 if general else None
            rows.append({X: f, Y: wd, "seed": seed, "verdict": verdict, "alpha0": 100,
                         "alpha1": a1, "delay": a1 - 100 if general else None,
                         "final_test_acc": 1.0 if general else 0.1})
    return pd.DataFrame(rows)


def test_verdicts_map_to_the_four_phases():
    assert [phase_of(v) for v in ("grokked", "generalized-without-delay", "memorized-only",
                                  "not-fitted", "collapsed")] == [
        "grokking", "comprehension", "memorization", "confusion", "confusion"]
    with pytest.raises(ValueError, match="unknown verdict"):
        phase_of("maybe")
    assert classify(_table())["phase"].value_counts()["grokking"] == 5


def test_cells_take_the_majority_phase_over_seeds():
    cells = phase_cells(_table(), X, Y).set_index([X, Y])
    assert cells.loc[(0.2, 0.01), "phase"] == "confusion"  # 2 of 3
    assert cells.loc[(0.5, 0.01), "phase"] == "grokking"  # a 1-1-1 tie: PHASES order
    assert cells.loc[(0.5, 1.0), ["phase", "grokking", "memorization"]].tolist() == [
        "grokking", 2, 1]
    assert cells.loc[(0.8, 0.01), "phase"] == "grokking"
    assert cells.loc[(0.8, 1.0), "phase"] == "comprehension"
    assert math.isclose(cells.loc[(0.5, 1.0), "median_delay"], 500 / 0.25 - 100)


def test_diagrams_are_drawn_and_bad_keys_are_named(tmp_path):
    table = _table()
    assert plot_phase(table, X, Y, tmp_path / "p.png").stat().st_size > 10_000
    assert plot_phase(table, X, Y, tmp_path / "m.png", metric="steps_to_generalize").is_file()
    with pytest.raises(ConfigError, match="'model.width' is not a swept key"):
        plot_phase(table, X, "model.width", tmp_path / "x.png")
    with pytest.raises(ConfigError, match="--metric: unknown metric"):
        plot_phase(table, X, Y, tmp_path / "x.png", metric="speed")
    named = table.assign(recipe=["base", "adam_l2"] * (len(table) // 2))
    with pytest.raises(ConfigError, match="'recipe' holds names .* cannot be an axis"):
        plot_phase(named, "recipe", Y, tmp_path / "x.png")
    with pytest.raises(ConfigError, match="'recipe' holds names"):
        plot_scaling(named, "recipe", tmp_path / "x.png")
    plot_scaling(named, X, tmp_path / "by.png", by="recipe")  # names are series, not an axis


def test_power_law_fit_recovers_a_known_exponent(tmp_path):
    x = np.array([0.2, 0.3, 0.5, 0.8])
    c, b = fit_power_law(x, 500 * x ** -2.0)
    assert math.isclose(c, 500, rel_tol=1e-9) and math.isclose(b, -2.0, rel_tol=1e-9)
    _, fits = plot_scaling(_table(), X, tmp_path / "s.png")  # fraction 0.2 never generalizes
    assert math.isclose(fits[None][1], -2.0, rel_tol=1e-9)
    _, fits = plot_scaling(_table(), X, tmp_path / "b.png", by=Y)  # one fit per weight decay
    assert [round(b, 9) for _, b in fits.values()] == [-2.0, -2.0]
    high = _table()[lambda t: t[X] != 0.5]  # generalizes at 0.8 only: no fit, and no error
    _, fits = plot_scaling(high, X, tmp_path / "h.png", by=Y)
    assert list(fits) == [0.01, 1.0] and all(math.isnan(v) for f in fits.values() for v in f)
    with pytest.raises(ConfigError, match="two or more values"):
        fit_power_law(np.array([0.5, 0.5]), np.array([10.0, 12.0]))


def test_where_holds_other_keys_fixed_and_names_bad_conditions():
    table = _table()
    table[Y] = table[Y] * (1 + 3e-16)  # a logspace grid's values are never round
    kept = select_runs(table, [f"{Y}=1", f"{X}=0.5"])
    assert kept["verdict"].tolist() == ["grokked", "grokked", "memorized-only"]
    assert len(select_runs(table, [f"{X}=0.50004"])) == 6  # 4 printed digits select
    assert select_runs(table, []) is table
    with pytest.raises(ConfigError, match=r"no run has optim.weight_decay = 2 \(values: 0.01, 1"):
        select_runs(table, [f"{Y}=2"])
    with pytest.raises(ConfigError, match="'model.width' is not a swept key"):
        select_runs(table, ["model.width=4"])
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        select_runs(table, [X])


def test_a_metric_without_a_fit_for_model_wise_plots(tmp_path):
    path, fits = plot_scaling(_table(), X, tmp_path / "w.png", "final_test_acc", fit=False)
    assert path.stat().st_size > 10_000 and all(math.isnan(v) for v in fits[None])
    with pytest.raises(ConfigError, match="--metric: unknown metric 'speed'"):
        plot_scaling(_table(), X, tmp_path / "x.png", "speed")
    with pytest.raises(ConfigError, match="no run of this sweep has a value of 'final_test_loss'"):
        plot_scaling(_table(), X, tmp_path / "x.png", "final_test_loss", fit=False)
