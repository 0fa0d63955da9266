"""Downsampling for drawing: bounded, and it keeps what a reader looks for (spikes, jumps)."""

import numpy as np

from grokscope.report.downsample import downsample, rounded, series


def test_a_short_series_is_kept_whole_and_non_finite_points_dropped():
    steps = np.arange(0, 100, 10)
    values = np.linspace(1, 0, 10)
    values[3] = np.nan
    s, v = downsample(steps, values)
    assert list(s) == [0, 10, 20, 40, 50, 60, 70, 80, 90] and len(v) == 9


def test_a_long_series_is_bounded_and_keeps_its_spikes_jumps_and_ends():
    steps = np.arange(100_001)
    rng = np.random.default_rng(0)
    loss = np.exp(-np.log1p(steps)) + rng.normal(0, 1e-4, len(steps)) ** 2
    loss[[777, 31_415, 99_000]] = [50.0, 80.0, 20.0]  # three one-step spikes
    acc = np.where(steps < 54_321, 0.1, 1.0)  # a jump at one step
    s, v = downsample(steps, loss, buckets=200)
    assert len(s) <= 2 * 200 + 2 and np.all(np.diff(s) > 0)
    assert {777, 31_415, 99_000} <= set(s.tolist())  # a bucket's max is kept
    assert s[0] == 0 and s[-1] == 100_000 and v[0] == loss[0]
    s, v = downsample(steps, acc, buckets=200)
    jump = np.flatnonzero(np.diff(v) > 0.5)
    assert len(jump) == 1 and s[jump[0]] < 54_321 <= s[jump[0] + 1]
    # located to within its bucket: 1/200 of log(100,001), 6% of the step, on a log axis
    assert np.log1p(s[jump[0] + 1]) - np.log1p(s[jump[0]]) <= np.log1p(100_000) / 200 + 1e-9


def test_values_keep_five_significant_digits_and_json_has_no_nan():
    assert rounded([1.23456789e-7, 0.5, float("inf")]) == [1.2346e-07, 0.5, None]
    out = series(np.array([0, 10]), np.array([0.123456789, np.nan]))
    assert out == {"s": [0], "v": [0.12346]}
