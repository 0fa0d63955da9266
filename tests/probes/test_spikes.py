"""Loss-spike (slingshot) detection on synthetic loss curves."""

import numpy as np

from grokscope.probes.spikes import loss_spikes, spike_summary


def _curve() -> tuple[np.ndarray, np.ndarray]:
    steps = np.arange(0, 1000, 10)
    loss = 2.0 * np.exp(-steps / 50) + 1e-6
    loss[40:43] = [0.5, 1.0, 0.2]  # one spike over three logs at steps 400-420
    loss[70] = 0.05  # a second, one log long, at step 700
    return steps, loss


def test_spike_onsets_are_found_once_each():
    steps, loss = _curve()
    assert loss_spikes(steps, loss, factor=10, min_loss=1e-3) == [400, 700]


def test_jumps_below_the_floor_or_the_factor_are_not_spikes():
    steps, loss = _curve()
    loss = loss.copy()
    loss[80] = 5e-4  # x500 over the running min, but below min_loss
    assert loss_spikes(steps, loss, factor=10, min_loss=1e-3) == [400, 700]
    # peaks of x1.5e3 (steps 400-420) and x1.6e4 (step 700) over the running minimum
    assert loss_spikes(steps, loss, factor=2000, min_loss=1e-3) == [700]
    assert loss_spikes(steps, loss, factor=1e5, min_loss=1e-3) == []
    decreasing = np.linspace(1, 0.1, 50)
    assert loss_spikes(np.arange(50), decreasing) == []


def test_spike_summary_counts_spikes_before_generalization():
    steps, loss = _curve()
    out = spike_summary(steps, loss, alpha1=500, factor=10, min_loss=1e-3)
    assert out == {"spikes": 2, "spike_steps": [400, 700], "spikes_before_alpha1": 1}
    assert spike_summary(steps, loss, None, 10, 1e-3)["spikes_before_alpha1"] is None
