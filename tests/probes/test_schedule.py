"""Probe schedules: every N steps, or log-spaced."""

import pytest

from grokscope.probes.schedule import Schedule, log_steps


def test_log_steps_per_decade():
    steps = sorted(log_steps(1000, 4))
    assert steps == [0, 1, 2, 3, 6, 10, 18, 32, 56, 100, 178, 316, 562, 1000]
    assert max(log_steps(1234, 2)) == 1234  # the last step is always measured


def test_every_includes_zero_and_the_last_step():
    schedule = Schedule(95, every=10)
    due = [s for s in range(96) if schedule.due(s)]
    assert due == [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95]
    assert schedule.count() == len(due)
    log = Schedule(1000, per_decade=4)
    assert log.count() == sum(log.due(s) for s in range(1001)) == 14


def test_one_schedule_kind_only():
    with pytest.raises(ValueError):
        Schedule(10)
    with pytest.raises(ValueError):
        Schedule(10, every=1, per_decade=2)
