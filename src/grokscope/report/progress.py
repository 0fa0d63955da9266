"""A progress bar for a training run: steps/s, best test accuracy, memorized and grokked counts."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from grokscope.config import DetectConfig
from grokscope.detection import OnlineStatus
from grokscope.training.callbacks import Callback, Loop


class RunProgress(Callback):
    """Live bar on a terminal; one plain line per ~10% elsewhere (CI logs, Ray workers)."""

    def __init__(self, total: int, n_members: int, detect: DetectConfig | None = None,
                 console: Console | None = None, enabled: bool = True) -> None:
        self.console = console or Console(stderr=True)
        self.status = OnlineStatus(n_members, detect)
        self.total, self.n = total, n_members
        self.live = enabled and self.console.is_terminal
        self.enabled = enabled
        self.bar = Progress(
            TextColumn("[bold]train"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
            TextColumn("{task.fields[rate]} steps/s"), TextColumn("{task.fields[info]}"),
            TimeRemainingColumn(), console=self.console, disable=not self.live,
        )
        self.task = self.bar.add_task("train", total=total, completed=0, rate="-", info="")
        self.restart(0)

    def on_start(self, loop: Loop) -> None:
        super().on_start(loop)
        self.restart(loop.start)

    def restart(self, step: int) -> None:
        """Training (re)starts at `step`: rates count from here."""
        self.start, self.t0 = step, time.perf_counter()
        self.next_line = step + max(1, self.total // 10)
        self.bar.update(self.task, completed=step)

    def __enter__(self) -> RunProgress:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.bar.__exit__(*exc)

    def on_host(self, step: int, values: dict) -> None:
        train, test = _by_member(self, values["train_acc"]), _by_member(self, values["test_acc"])
        self.status.update(step, train, test)
        rate = (step - self.start) / max(time.perf_counter() - self.t0, 1e-9)
        info = (f"best test {self.status.best_test:.3f} · memorized {self.status.memorized}/"
                f"{self.n} · grokked {self.status.grokked}/{self.n}")
        for c in getattr(getattr(self, "loop", None), "callbacks", []):
            extra = getattr(c, "progress_info", None)
            if extra is not None:  # e.g. stopping: members stopped, forecast
                info += " · " + extra()
        self.bar.update(self.task, completed=step, rate=f"{rate:.1f}", info=info)
        if self.enabled and not self.live and (step >= self.next_line or step == self.total):
            self.next_line += max(1, self.total // 10)
            self.console.print(f"step {step}/{self.total} · {rate:.1f} steps/s · {info}")


def _by_member(bar: RunProgress, values: Any) -> list[float]:
    """Values of the live members placed at their ids (NaN for members that stopped: the
    status keeps what they reached)."""
    ids = getattr(getattr(getattr(bar, "loop", None), "cohort", None), "ids", None)
    if ids is None or len(ids) == bar.n:
        return list(values)
    out = [float("nan")] * bar.n
    for position, member in enumerate(ids):
        out[member] = float(values[position])
    return out
