"""The stopping benchmark's scores are right on a slice of the shipped corpus: a rule set
that never stops has no premature stop, full agreement and compute 1.0; a one-step budget
stops every member before alpha1; `grokscope stopping` replays rules over a stored run."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from grokscope.config import DetectConfig
from grokscope.detection.forecast import auroc
from grokscope.detection.scoring import score

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
import stopping as bench  # noqa: E402


@pytest.fixture(scope="module")
def members():
    every = bench.load(bench.CORPUS, DetectConfig())
    grokked = [m for m in every if m.grokked][:10]
    rest = [m for m in every if not m.grokked][:10]
    assert len(grokked) == 10 and len(rest) == 10
    return grokked + rest


def test_a_rule_set_that_never_stops_scores_as_the_full_budget(members):
    s = score(members, [], DetectConfig())
    assert s["premature"] == 0 and s["grokked"] == 10
    assert s["compute"] == 1.0 and s["verdict_agreement"] == 1.0
    assert s["memorized_budget_share"] == 1.0 or not any(
        m.verdict == "memorized-only" for m in members)
    assert s["regret_median"] >= 0
    # overrun: from alpha1 to the end of the budget
    expected = [(m.history.steps[-1] - m.alpha1) / m.alpha1 for m in members if m.grokked]
    assert s["overrun_median"] == pytest.approx(np.median(expected))


def test_a_one_step_budget_stops_every_member_before_alpha1(members):
    s = score(members, [{"name": "budget", "steps": 1}], DetectConfig())
    assert s["premature"] == 10 and s["premature_rate"] == 1.0
    budget = sum(m.history.budget for m in members)
    assert s["compute"] == pytest.approx(sum(m.history.steps[1] for m in members) / budget)


def test_the_corpus_is_compact_and_spans_the_phases():
    import pyarrow.parquet as pq

    assert bench.CORPUS.stat().st_size <= 20e6
    table = pq.read_table(bench.CORPUS, columns=["key", "group"])
    assert len(set(table["group"].to_pylist())) >= 5


def test_auroc_is_the_rank_statistic():
    assert auroc(np.array([0.9, 0.8, 0.1]), np.array([1, 1, 0])) == 1.0
    assert auroc(np.array([0.1, 0.2, 0.9]), np.array([1, 1, 0])) == 0.0
    assert auroc(np.array([0.5, 0.5]), np.array([1, 0])) == 0.5
    assert auroc(np.array([0.5]), np.array([1])) is None


def test_the_benchmark_prints_every_rule(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "stopping.py"), "--limit",
                          "24", "--json", str(tmp_path / "s.json")], capture_output=True,
                         text=True, check=True).stdout
    assert "none (full budget) |" in out and "grokked + hopeless" in out
    assert "forecast: {'auroc_2a0'" in out


def test_grokscope_stopping_replays_rules_over_a_run(tmp_path, tiny_config):
    from typer.testing import CliRunner

    from grokscope.cli import app
    from grokscope.experiment import run_experiment

    run_experiment(tiny_config(train={"steps": 200}), tmp_path / "run", progress=False)
    result = CliRunner().invoke(app, ["stopping", str(tmp_path / "run"), "--rule", "grokked",
                                      "--rule", "{name: budget, steps: 50}"])
    assert result.exit_code == 0, result.output
    assert "budget(steps=50)" in result.output and "0.250" in result.output  # 50 / 200
    bad = CliRunner().invoke(app, ["stopping", str(tmp_path), "--rule", "nope"])
    assert bad.exit_code != 0 and "unknown stopping rule 'nope'" in bad.output
