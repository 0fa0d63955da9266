"""The grokking detector on synthetic curves with known answers."""

import numpy as np
import pytest

from grokscope.config import DetectConfig
from grokscope.detection import OnlineStatus, detect

STEPS = np.arange(0, 10_001, 10)


def sigmoid(center, width=30.0, low=0.0, high=1.0):
    return low + (high - low) / (1 + np.exp(np.clip(-(STEPS - center) / width, -50, 50)))


def test_delayed_jump_is_grokking():
    train = sigmoid(300)  # >= 0.99 from step 300 + 30*ln(99) ~ 438
    test = sigmoid(2000, low=0.05)  # >= 0.99 from 2000 + 30*ln(0.95/0.94 - 1)^-1 ~ 2136
    ev = detect(STEPS, train, test)
    assert ev.verdict == "grokked"
    assert ev.alpha0 == 440 and ev.alpha1 == 2140  # first logged steps over 0.99 and sigma_E
    assert ev.sigma_E == pytest.approx(0.99, abs=1e-3)
    assert ev.sigma_S == pytest.approx(0.05, abs=1e-3)
    assert ev.delta_S == pytest.approx(0.94, abs=2e-3)
    assert ev.support == 10_000 - 2140 and not ev.censored  # 7860 >= 2 * delay
    assert ev.delay == 1700


def test_immediate_rise_is_generalization_without_delay():
    ev = detect(STEPS, sigmoid(300), sigmoid(320))
    assert ev.verdict == "generalized-without-delay"
    assert ev.delay is not None and ev.delay < ev.alpha0


def test_no_rise_is_memorization_only():
    ev = detect(STEPS, sigmoid(300), np.full(STEPS.shape, 0.02))
    assert ev.verdict == "memorized-only" and ev.alpha0 == 440 and ev.alpha1 is None
    assert ev.delta_S is None  # intensity is "how much grokking happened": none here


def test_lost_fit_is_collapsed_not_generalization():
    """Train accuracy reaches 1 then decays to chance (weight decay shrinking the net): test
    accuracy at chance must not count as having reached sigma_E."""
    train = sigmoid(300) - sigmoid(1500, high=0.7)  # 1.0 by step 440, ~0.3 from ~1700
    test = sigmoid(300, high=0.5) - sigmoid(1500, high=0.2)
    ev = detect(STEPS, train, test)
    assert ev.verdict == "collapsed" and ev.alpha0 == 440 and ev.alpha1 is None
    assert ev.delta_S is None


def test_loss_spikes_in_the_tail_are_not_a_lost_fit():
    """Slingshot spikes late in the run (shape of the measured power2022 division run) drag the
    tail's mean below the threshold, but train accuracy is 1 most of the time: still grokked."""
    train, test = sigmoid(300), sigmoid(2000, low=0.05)
    for start in (9200, 9600):  # two spikes of 200 steps in the last 10% of the logs
        train[(STEPS >= start) & (STEPS < start + 200)] = 0.3
        test[(STEPS >= start) & (STEPS < start + 200)] = 0.3
    tail = train[-100:]
    assert tail.mean() < 0.97 < np.median(tail)  # the mean would have called it collapsed
    ev = detect(STEPS, train, test)
    assert ev.verdict == "grokked" and ev.alpha1 == 2140  # sigma_E as without the spikes
    assert ev.sigma_E == pytest.approx(0.99, abs=1e-3)


def test_no_fit():
    ev = detect(STEPS, sigmoid(300, high=0.6), sigmoid(300, high=0.3))
    assert ev.verdict == "not-fitted" and ev.alpha0 is None


def test_short_spike_does_not_break_support_but_a_relapse_does():
    train, test = sigmoid(300), sigmoid(2000, low=0.05)
    spiky = test.copy()
    spiky[(STEPS >= 5000) & (STEPS < 5100)] = 0.6  # 100 steps < 10% of 5000: a slingshot
    assert detect(STEPS, train, spiky).alpha1 == detect(STEPS, train, test).alpha1
    relapse = test.copy()
    relapse[(STEPS >= 3000) & (STEPS < 7000)] = 0.5  # a long relapse: support too short
    ev = detect(STEPS, train, relapse)
    assert ev.verdict == "grokked" and ev.alpha1 == 7000  # the later, stable jump counts


def test_jump_at_the_end_is_censored():
    ev = detect(STEPS, sigmoid(300), sigmoid(9700, width=10))
    assert ev.verdict == "grokked" and ev.censored and ev.support < 2 * ev.delay


def test_small_gain_is_not_grokking():
    """A high plateau that improves by less than min_intensity is not a grokking event."""
    ev = detect(STEPS, sigmoid(300), sigmoid(4000, low=0.985, high=1.0))
    assert ev.verdict == "generalized-without-delay" and ev.delta_S < 0.02


def test_thresholds_are_parameters():
    train, test = sigmoid(300), sigmoid(700)
    assert detect(STEPS, train, test).verdict == "generalized-without-delay"
    assert detect(STEPS, train, test, DetectConfig(min_delay_ratio=0.5)).verdict == "grokked"


def test_online_status_counts():
    status = OnlineStatus(2)
    for step, train, test in zip(STEPS, sigmoid(300), sigmoid(4000)):
        status.update(int(step), [float(train), float(train)], [float(test), 0.0])
    assert status.memorized == 2 and status.grokked == 1
