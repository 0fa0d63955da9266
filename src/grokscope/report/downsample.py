"""Downsampling what a page draws (never what is stored): log-spaced buckets, min and max kept.

A run logs up to 10^5 steps per member; a browser drawing 64 members x 4 curves x 20k points
stalls. Curves are read on a log step axis, so the buckets are log-spaced in the step, and
each bucket keeps its smallest and largest value (the M4/min-max idea of Jugel et al. 2014,
"M4: a visualization-oriented time series data aggregation"): a loss spike or a sudden jump
in accuracy survives, where keeping every k-th point would step over it.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

BUCKETS = 250  # per series: at most 2 x BUCKETS + 2 points


def downsample(steps: np.ndarray, values: np.ndarray,
               buckets: int = BUCKETS) -> tuple[np.ndarray, np.ndarray]:
    """The finite points of one series, thinned to the min and max of each log bucket (plus
    the first and last point); a series short enough is returned whole."""
    steps, values = np.asarray(steps), np.asarray(values, dtype=float)
    keep = np.isfinite(values)
    steps, values = steps[keep], values[keep]
    if len(steps) <= 2 * buckets + 2:
        return steps, values
    position = np.log1p(np.maximum(steps - steps[0], 0).astype(float))
    bucket = np.minimum((position / position[-1] * buckets).astype(np.int64), buckets - 1)
    order = np.lexsort((values, bucket))  # by bucket, then by value
    sorted_bucket = bucket[order]
    first = np.r_[True, sorted_bucket[1:] != sorted_bucket[:-1]]  # each bucket's minimum
    last = np.r_[sorted_bucket[1:] != sorted_bucket[:-1], True]  # and maximum
    chosen = np.unique(np.r_[order[first], order[last], 0, len(steps) - 1])
    return steps[chosen], values[chosen]


def rounded(values: Iterable[float], digits: int = 5) -> list[float | None]:
    """Values with `digits` significant digits, for a compact page (None where not finite)."""
    return [float(f"{v:.{digits}g}") if np.isfinite(v) else None for v in values]


def series(steps: np.ndarray, values: np.ndarray, buckets: int = BUCKETS) -> dict[str, list]:
    """One downsampled series as the page reads it: `{"s": steps, "v": values}`."""
    s, v = downsample(steps, values, buckets)
    return {"s": [int(x) for x in s], "v": rounded(v)}
