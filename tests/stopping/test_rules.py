"""Stopping rules against hand-computed decisions on synthetic curves, `grokked` never before
alpha1 on delayed jumps, spikes and relapses, and one-line errors for bad `stopping:`."""

import numpy as np
import pytest

from grokscope.config import DetectConfig, parse_config
from grokscope.detection import detect
from grokscope.detection.online import History, first_stop
from grokscope.errors import ConfigError


def rules(*specs):
    config = parse_config({"stopping": list(specs)})
    return [s.build(0, config.detect) for s in config.stopping]


def curve(test_loss=None, test_acc=None, steps=None, train_acc=None, norm=None, budget=None):
    n = len(test_loss if test_loss is not None else test_acc)
    steps = np.arange(n) * 10 if steps is None else np.asarray(steps)
    cols = {"test_loss": np.asarray(test_loss if test_loss is not None else np.ones(n), float),
            "test_acc": np.asarray(test_acc if test_acc is not None else np.zeros(n), float),
            "train_acc": np.asarray(train_acc if train_acc is not None else np.ones(n), float),
            "train_loss": np.full(n, 0.01)}
    if norm is not None:
        cols["weight_norm/total"] = np.asarray(norm, float)
    return History(steps, cols, budget or int(steps[-1]))


LOSS = [1.0, 0.8, 0.7, 0.75, 0.72, 0.69, 0.71, 0.73, 0.74, 0.76, 0.8]


def test_patience_is_keras_early_stopping():
    # best 0.69 at log 5; logs 6, 7, 8 do not improve: patience 3 stops at log 8 (step 80)
    (rule,) = rules({"name": "patience", "patience": 3})
    assert first_stop(rule, curve(LOSS)) == 80
    (zero,) = rules({"name": "patience", "patience": 0})
    assert first_stop(zero, curve(LOSS)) == 30  # the first log without improvement
    (delta,) = rules({"name": "patience", "patience": 2, "min_delta": 0.05})
    # improvements by more than 0.05: 1.0 -> 0.8 -> 0.7 (0.1); then none: logs 3, 4 -> step 40
    assert first_stop(delta, curve(LOSS)) == 40
    (late,) = rules({"name": "patience", "patience": 2, "start_step": 50})
    assert first_stop(late, curve(LOSS)) == 70  # monitoring starts at 0.69 (step 50)
    (acc,) = rules({"name": "patience", "monitor": "test_acc", "patience": 1})
    assert first_stop(acc, curve(test_acc=[0.1, 0.2, 0.2, 0.3])) == 20  # max mode for accuracy


def test_prechelt_gl_and_up():
    (gl,) = rules({"name": "gl", "alpha": 5})
    # E_opt 0.7 at step 20; GL = 100 (0.75 / 0.7 - 1) = 7.1 > 5 at step 30
    assert first_stop(gl, curve(LOSS)) == 30
    (gl10,) = rules({"name": "gl", "alpha": 10})
    # E_opt 0.69 (step 50): 0.76 / 0.69 = +10.1% at step 90
    assert first_stop(gl10, curve(LOSS)) == 90
    (up,) = rules({"name": "up", "s": 2, "strip": 2})
    # strip ends at logs 0, 2, 4, 6, 8, 10: 1.0, 0.7, 0.72, 0.71, 0.74, 0.8: rises at 8 and 10
    assert first_stop(up, curve(LOSS)) == 100
    (up1,) = rules({"name": "up", "s": 1, "strip": 2})
    assert first_stop(up1, curve(LOSS)) == 40  # 0.7 -> 0.72


def test_budget_and_thresholds():
    (budget,) = rules({"name": "budget", "steps": 45})
    assert first_stop(budget, curve(LOSS)) == 50
    (nanda,) = rules({"name": "threshold", "monitor": "test_loss", "below": 0.7})
    assert first_stop(nanda, curve(LOSS)) == 50
    (pizza,) = rules({"name": "threshold", "monitor": "test_acc", "above": 0.9, "logs": 2})
    assert first_stop(pizza, curve(test_acc=[0.1, 0.95, 0.5, 0.92, 0.93, 1.0])) == 40


def delayed(jump_at, n=400, spike=None, relapse=None):
    """Train 1 from step 100; test 0.1 until `jump_at`, then 1.0; a spike (a short early
    excursion to 1.0) or a relapse (back to 0.1 for a while) on request."""
    steps = np.arange(n) * 10
    train = np.where(steps >= 100, 1.0, steps / 100)
    test = np.where(steps >= jump_at, 1.0, 0.1)
    if spike is not None:
        test[(steps >= spike) & (steps < spike + 20)] = 1.0
    if relapse is not None:
        start, length = relapse
        test[(steps >= start) & (steps < start + length)] = 0.1
    cols = {"train_acc": train, "test_acc": test, "train_loss": 1 - train + 1e-3,
            "test_loss": 1 - test + 1e-3}
    return History(steps, cols, int(steps[-1]))


@pytest.mark.parametrize("shape", [
    {"jump_at": 1500}, {"jump_at": 2500, "spike": 800}, {"jump_at": 1200, "spike": 600},
    {"jump_at": 1000, "relapse": (1050, 30)}, {"jump_at": 3000, "spike": 1500},
])
def test_grokked_never_fires_before_alpha1(shape):
    h = delayed(**shape)
    full = detect(h.steps, h["train_acc"], h["test_acc"])
    (rule,) = rules("grokked")
    stop = first_stop(rule, h)
    assert full.verdict == "grokked" and stop is not None
    assert stop >= full.alpha1
    assert stop - full.alpha1 <= max(0.1 * full.alpha1, 50) + 10  # confirmed, not much later
    n = int(np.searchsorted(h.steps, stop, side="right"))
    cut = detect(h.steps[:n], h["train_acc"][:n], h["test_acc"][:n])
    assert cut.verdict == full.verdict and cut.alpha1 == full.alpha1


def test_hopeless_stops_a_stalled_member_and_waits_on_a_shrinking_norm():
    steps = np.arange(0, 5000, 10)
    flat = curve(test_loss=np.full(len(steps), 3.0), test_acc=np.full(len(steps), 0.1),
                 steps=steps, norm=np.full(len(steps), 40.0))
    (rule,) = rules({"name": "hopeless", "wait": 10, "min_steps": 1000})
    # memorized at step 0 already (train 1): from min_steps on, everything is flat
    assert first_stop(rule, flat) == 1000
    shrinking = curve(test_loss=np.full(len(steps), 3.0), test_acc=np.full(len(steps), 0.1),
                      steps=steps, norm=40.0 * np.exp(-steps / 2000))
    assert first_stop(rule, shrinking) is None  # the weight norm still decays: grokking may come


@pytest.mark.parametrize("entry, message", [
    ("nope", "stopping.0.name: unknown stopping rule 'nope' (allowed: budget, gl, grokked"),
    ({"name": "patience", "monitor": "val"}, "stopping.0.monitor: must be 'test_loss'"),
    ({"name": "threshold"}, "stopping.0: give one bound"),
    ({"name": "grokked", "when": 1}, "stopping.0.when: unknown key (allowed: name, confirm"),
    ({"name": "gl", "alpha": 0}, "stopping.0.alpha: must be greater than 0"),
    ({"name": "budget"}, "stopping.0.steps"),
    (3, "stopping.0: a rule name or a mapping"),
])
def test_bad_stopping_entries_are_one_line_errors(entry, message):
    with pytest.raises(ConfigError) as err:
        parse_config({"stopping": [entry]})
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_per_member_list_must_match_the_cohort(tiny_config):
    from grokscope.detection.stopping import member_rules

    config = tiny_config(stopping=[{"name": "patience", "patience": [1, 2, 3]}])
    with pytest.raises(ConfigError, match="stopping.0.patience: has 3 values but the cohort"):
        member_rules(config, 2)
    config = tiny_config(stopping=[{"name": "patience", "patience": [1, 2]}])
    assert [r[0].patience for r in member_rules(config, 2)] == [1, 2]


def test_a_detector_config_is_shared():
    assert DetectConfig().train_threshold > 0.5
