"""When a probe runs: every N steps, or K log-spaced steps per decade.

Log spacing matters for grokking: memorization happens in the first hundreds of steps and
generalization thousands later, so a log schedule resolves both at a fixed cost per decade.
"""

from __future__ import annotations

from grokscope.training.loop import log_steps  # the log spacing of train.log_per_decade too


class Schedule:
    """`due(step)` is True on the probe's steps (0 and the last step always included)."""

    def __init__(self, last: int, every: int | None = None, per_decade: int | None = None) -> None:
        if (every is None) == (per_decade is None):
            raise ValueError("schedule: give exactly one of every, per_decade")
        self.last, self.every = last, every
        self._steps = log_steps(last, per_decade) if per_decade else None

    def due(self, step: int) -> bool:
        if self._steps is not None:
            return step in self._steps
        return step % self.every == 0 or step == self.last

    def count(self) -> int:
        """How many steps of 0..last the probe runs on."""
        if self._steps is not None:
            return len(self._steps)
        return self.last // self.every + 1 + (self.last % self.every != 0)

    def __repr__(self) -> str:
        kind = f"every={self.every}" if self._steps is None else "log-spaced"
        return f"Schedule({kind}, {self.count()} steps)"
