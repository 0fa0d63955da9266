"""Epoch-wise double descent: the shape of a test-loss curve over training steps.

Nakkiran et al. 2020 and Pezeshki et al. 2022: test loss can first decrease, then increase,
then decrease again as training goes on, related to but distinct from grokking (there the
*accuracy* jumps late; here the *loss* has a second descent). The shape is read with one
minimum depth, relative to the value it is measured from, so that noise below that depth is
never a rise or a fall:

- first minimum m1 at t1: the running minimum when the curve first rises above m1 (1 + depth);
- peak at tp: the running maximum after t1 when the curve first falls below peak (1 - depth);
- shape: `monotone` (never rises), `U` (rises and never falls back by the depth),
  `double descent` (rises, then falls back); `second_step` is the first step after the peak
  where the loss is back at or below m1 (None while it is not).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

SHAPES = ("monotone", "U", "double descent")


@dataclass
class DescentShape:
    shape: str | None  # one of SHAPES; None: fewer than 3 measured steps
    first_min_step: int | None = None
    first_min: float | None = None
    peak_step: int | None = None
    peak: float | None = None
    second_step: int | None = None  # first step after the peak with loss <= first_min
    final: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """The events.json / events.csv columns, prefixed `dd_`."""
        return {f"dd_{k}": v for k, v in asdict(self).items()}


def descent_shape(steps: Any, loss: Any, depth: float = 0.05) -> DescentShape:
    """The double-descent shape of one member's test-loss curve (`steps`, `loss` ascending
    by step; NaN entries dropped). `depth` is the relative rise (and fall) that counts,
    above an absolute floor of 1e-6 x the curve's maximum."""
    s, y = np.asarray(steps, dtype=np.int64), np.asarray(loss, dtype=np.float64)
    keep = np.isfinite(y)
    s, y = s[keep], y[keep]
    if len(y) < 3:
        return DescentShape(None)
    final = float(y[-1])
    floor = 1e-6 * float(np.max(y))  # round-off near a zero loss is never a rise
    low = 0
    for i in range(1, len(y)):
        if y[i] < y[low]:
            low = i
        elif y[i] > y[low] * (1 + depth) + floor:
            break
    else:
        return DescentShape("monotone", int(s[low]), float(y[low]), final=final)
    high = low
    for j in range(low + 1, len(y)):
        if y[j] > y[high]:
            high = j
        elif y[j] < y[high] * (1 - depth) - floor:
            break
    else:
        return DescentShape("U", int(s[low]), float(y[low]), int(s[high]), float(y[high]),
                            final=final)
    back = np.nonzero(y[high + 1:] <= y[low])[0]
    second = int(s[high + 1 + back[0]]) if len(back) else None
    return DescentShape("double descent", int(s[low]), float(y[low]), int(s[high]),
                        float(y[high]), second, final)
