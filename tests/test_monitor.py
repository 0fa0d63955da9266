"""`grokscope.Monitor`: the stopping rules, detector and forecast fed one log at a time decide
exactly as the offline replay of the same curve, restored state included; bad input is the
project's one-line error (issue 34, first part)."""

from __future__ import annotations

import json
import math
import random
import sys
from pathlib import Path

import numpy as np
import pytest

from grokscope import ConfigError, Monitor
from grokscope.config import DetectConfig
from grokscope.detection.grokking import detect
from grokscope.detection.online import NORM
from grokscope.detection.scoring import rule_set, stop_of

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import stopping as bench  # noqa: E402

RULES = [{"name": "grokked"}, {"name": "hopeless"}, {"name": "patience", "patience": 20}]


@pytest.fixture(scope="module")
def members():
    """Six corpus members: three that grok in their budget, three that do not."""
    every = bench.load(bench.CORPUS, DetectConfig())
    short = [m for m in every if len(m.history) <= 220]
    grokked = [m for m in short if m.grokked][:3]
    rest = [m for m in short if not m.grokked][:3]
    assert len(grokked) == 3 and len(rest) == 3
    return grokked + rest


def _feed(monitor, h, start=0, stop_at=None):
    decisions = []
    for n in range(start, len(h) if stop_at is None else stop_at):
        decisions.append(monitor.update(
            int(h.steps[n]), train_acc=float(h["train_acc"][n]),
            test_acc=float(h["test_acc"][n]), train_loss=float(h["train_loss"][n]),
            test_loss=float(h["test_loss"][n]), weight_norm=float(h[NORM][n])))
    return decisions


def test_decisions_equal_the_offline_replay_also_after_a_restore(members):
    rng = random.Random(0)
    for m in members:
        h = m.history
        replay = stop_of(rule_set(RULES, DetectConfig()), h)
        monitor = Monitor(RULES, budget=h.budget)
        decisions = _feed(monitor, h)
        first = next((d for d in decisions if d.stop), None)
        assert (first.step if first else None) == replay, m.key
        if first is not None:
            prefix = h.prefix(int(np.searchsorted(h.steps, first.step)) + 1)
            fired = [r.name for r in rule_set(RULES, DetectConfig()) if r.fires(prefix)]
            assert first.reason == fired[0]
        full = detect(h.steps, h["train_acc"], h["test_acc"], DetectConfig(),
                      h["train_loss"], h["test_loss"])
        assert monitor.events().verdict == full.verdict == m.verdict
        assert monitor.events().alpha1 == full.alpha1
        # interrupted at a random log: the state goes through JSON, a new monitor goes on
        cut = rng.randrange(1, len(h))
        before = Monitor(RULES, budget=h.budget)
        _feed(before, h, stop_at=cut)
        state = json.loads(json.dumps(before.state_dict()))
        after = Monitor(RULES, budget=h.budget)
        after.load_state_dict(state)
        resumed = _feed(after, h, start=cut)
        assert [repr(d) for d in resumed] == [repr(d) for d in decisions[cut:]]  # NaN too


def test_the_forecast_runs_with_only_the_accuracies_and_is_off_without_a_budget(members):
    h = members[0].history
    monitor = Monitor(["grokked"], budget=h.budget)
    for n in range(len(h)):
        d = monitor.update(int(h.steps[n]), train_acc=float(h["train_acc"][n]),
                           test_acc=float(h["test_acc"][n]))
    assert 0 <= d.p_grok <= 1 and d.eta_alpha1 > 0  # degraded to the features it has
    off = Monitor(["grokked"])
    assert math.isnan(off.update(0, train_acc=0.1, test_acc=0.1).p_grok)
    with pytest.raises(ConfigError, match="forecast needs budget"):
        Monitor(["grokked"], forecast=True)


@pytest.mark.parametrize("make, feed, message", [
    (lambda: Monitor(["hopeless"]), {"train_acc": 0.5, "test_acc": 0.1},
     "rule 'hopeless' needs"),
    (lambda: Monitor([{"name": "patience"}]), {"train_acc": 0.5, "test_acc": 0.1},
     "rule 'patience' needs test_loss"),
    (lambda: Monitor(["grokked"]), {"train_acc": 1.5, "test_acc": 0.1}, "train_acc must be in"),
    (lambda: Monitor(["grokked"]), {"train_acc": "high", "test_acc": 0.1},
     "train_acc must be a number"),
    (lambda: Monitor(["grokked"]), {"train_acc": 0.5, "test_acc": 0.1, "val_acc": 0.1},
     "unknown column 'val_acc'"),
])
def test_bad_input_is_one_line(make, feed, message):
    with pytest.raises(ConfigError, match=message):
        make().update(0, **feed)


def test_steps_must_increase_and_columns_stay_the_same():
    monitor = Monitor(["grokked"])
    monitor.update(10, train_acc=0.5, test_acc=0.1)
    for step in (10, 5):
        with pytest.raises(ConfigError, match="steps must increase"):
            monitor.update(step, train_acc=0.5, test_acc=0.1)
    with pytest.raises(ConfigError, match="test_loss was not given at the first step"):
        monitor.update(20, train_acc=0.5, test_acc=0.1, test_loss=1.0)
    with pytest.raises(ConfigError, match="unknown rule|unknown value|allowed"):
        Monitor(["grokkd"])
    with pytest.raises(ConfigError, match="budget must be"):
        Monitor(["grokked"], budget=-3)


def test_a_state_from_another_monitor_is_refused():
    state = Monitor(["grokked"], budget=100).state_dict()
    with pytest.raises(ConfigError, match="the state's budget"):
        Monitor(["grokked"], budget=200).load_state_dict(state)
    with pytest.raises(ConfigError, match="the state's rules"):
        Monitor(["hopeless"], budget=100).load_state_dict(state)
    with pytest.raises(ConfigError, match="not a Monitor state"):
        Monitor(["grokked"]).load_state_dict({"steps": []})


def test_a_cohort_of_monitors_fed_arrays_equals_one_monitor_per_member(members):
    """The member axis: E members at once, a per-member rule setting, state round trip."""
    rules = [{"name": "grokked"}, {"name": "patience", "patience": [5, 20, 40]}]
    hs = [m.history for m in members[:3]]
    n = min(len(h) for h in hs)
    budget = max(h.budget for h in hs)
    cohort = Monitor.cohort(3, rules, budget=budget)
    alone = [Monitor([{"name": "grokked"}, {"name": "patience", "patience": p}], budget=budget)
             for p in (5, 20, 40)]
    for k in range(n):
        def column(name, k=k):
            return np.array([h[name][k] for h in hs])

        steps = {int(h.steps[k]) for h in hs}
        step = steps.pop() if len(steps) == 1 else k * 10  # the corpus logs on one grid
        got = cohort.update(step, train_acc=column("train_acc"), test_acc=column("test_acc"),
                            train_loss=column("train_loss"), test_loss=column("test_loss"))
        want = [a.update(step, train_acc=float(column("train_acc")[m]),
                         test_acc=float(column("test_acc")[m]),
                         train_loss=float(column("train_loss")[m]),
                         test_loss=float(column("test_loss")[m])) for m, a in enumerate(alone)]
        assert [repr(d) for d in got] == [repr(d) for d in want]
    restored = Monitor.cohort(3, rules, budget=budget)
    restored.load_state_dict(json.loads(json.dumps(cohort.state_dict())))
    assert [e.verdict for e in restored.events()] == [e.verdict for e in cohort.events()]
    with pytest.raises(ConfigError, match="has 2 values but the cohort has 3 members"):
        cohort.update(10**9, train_acc=[0.1, 0.2], test_acc=[0.1, 0.2, 0.3])
    with pytest.raises(ConfigError, match="patience: has 3 values but the cohort has 2"):
        Monitor.cohort(2, rules)
