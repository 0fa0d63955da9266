"""Loss spikes (the slingshot mechanism, Thilak et al. 2022): late in training, the training
loss repeatedly jumps by orders of magnitude and recovers, and generalization often follows
a spike. Measured after the fact on the logged training loss."""

from __future__ import annotations

import numpy as np


def loss_spikes(steps: np.ndarray, loss: np.ndarray, factor: float = 10.0,
                min_loss: float = 1e-3) -> list[int]:
    """Onset steps of spikes: a logged loss above `factor` x the minimum of all earlier logged
    losses (and above `min_loss`, so rounding noise near zero is no spike), where the previous
    log was not already in a spike."""
    loss = np.asarray(loss, dtype=np.float64)
    if len(loss) < 2:
        return []
    floor = np.minimum.accumulate(np.concatenate([[np.inf], loss[:-1]]))  # min before each log
    high = (loss > factor * floor) & (loss > min_loss)
    onset = high & ~np.concatenate([[False], high[:-1]])
    return [int(s) for s in np.asarray(steps)[onset]]


def spike_summary(steps: np.ndarray, loss: np.ndarray, alpha1: float | None, factor: float,
                  min_loss: float) -> dict[str, object]:
    """Count and timing of spikes relative to the generalization step alpha1 (None: none)."""
    onsets = loss_spikes(steps, loss, factor, min_loss)
    before = None if alpha1 is None else sum(s <= alpha1 for s in onsets)
    return {"spikes": len(onsets), "spike_steps": onsets[:100], "spikes_before_alpha1": before}
