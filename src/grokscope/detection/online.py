"""Stopping rules: decisions from one member's logged history, the same online and offline.

A rule looks at a member's history up to a logged step (`History`, the columns a run logs:
train/test loss and accuracy, and the probe values, e.g. `weight_norm/total`) and says
whether the member should stop there. It sees nothing else, so the decision a rule takes
while training (`grokscope.detection.stopping`) is the one it takes when replayed over the
stored curve of a full-budget run (`first_stop`, `grokscope stopping`): the same function of
the same prefix. Baselines follow their sources exactly (Keras/Lightning `EarlyStopping`;
Prechelt 1998's GL and UP; Nanda et al. 2023's and Zhong et al. 2023's thresholds); `grokked`
and `hopeless` are grokscope's (docs/stopping.md, next.md §1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from grokscope.config import DetectConfig
from grokscope.detection.grokking import GrokkingEvents, detect

NORM = "weight_norm/total"  # the probe column the progress measures read, when logged


@dataclass
class History:
    """One member's logged columns `{name: (n,) array}` at `steps` (ascending), and the run's
    budget in steps. Columns a run did not log are absent (or NaN where not measured)."""

    steps: np.ndarray
    columns: dict[str, np.ndarray]
    budget: int
    _detected: dict[int, GrokkingEvents] = field(default_factory=dict, repr=False,
                                                 compare=False)

    def __len__(self) -> int:
        return len(self.steps)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def get(self, name: str) -> np.ndarray | None:
        return self.columns.get(name)

    def detected(self, cfg: DetectConfig) -> GrokkingEvents:
        """`detect()` on this history with thresholds `cfg`, computed once: the `grokked` rule
        and the Monitor's verdict read the same events at each log."""
        key = id(cfg)
        if key not in self._detected:
            self._detected[key] = detect(self.steps, self["train_acc"], self["test_acc"], cfg,
                                         self.get("train_loss"), self.get("test_loss"))
        return self._detected[key]

    def prefix(self, n: int) -> History:
        """The history up to its n-th log (what a rule saw then)."""
        return History(self.steps[:n], {k: v[:n] for k, v in self.columns.items()}, self.budget)

    @classmethod
    def from_lists(cls, steps: list[int], columns: dict[str, list[float]],
                   budget: int) -> History:
        return cls(np.asarray(steps, np.int64),
                   {k: np.asarray(v, np.float64) for k, v in columns.items()}, budget)


class Rule:
    """A stopping rule: `fires(history)` decides at the history's last log."""

    name = "rule"

    def fires(self, h: History) -> bool:
        raise NotImplementedError


def first_stop(rule: Rule, h: History) -> int | None:
    """Offline replay: the first logged step at which `rule` fires on the prefix up to it."""
    for n in range(1, len(h) + 1):
        if rule.fires(h.prefix(n)):
            return int(h.steps[n - 1])
    return None


def _monitored(h: History, monitor: str, start_step: int) -> np.ndarray:
    values = h[monitor]
    return values[h.steps >= start_step]


def _better(value: float, best: float, mode: str, min_delta: float) -> bool:
    return value < best - min_delta if mode == "min" else value > best + min_delta


class Patience(Rule):
    """Keras/Lightning `EarlyStopping`: stop once `monitor` has not improved by more than
    `min_delta` for `patience` consecutive logs; logs before `start_step` are not monitored
    (Keras `start_from_epoch`). patience 0 stops at the first log without improvement."""

    name = "patience"

    def __init__(self, monitor: str, mode: str, min_delta: float, patience: int,
                 start_step: int) -> None:
        self.monitor, self.mode, self.min_delta = monitor, mode, min_delta
        self.patience, self.start_step = patience, start_step

    def fires(self, h: History) -> bool:
        values = _monitored(h, self.monitor, self.start_step)
        if len(values) == 0:
            return False
        best, wait = (math.inf if self.mode == "min" else -math.inf), 0
        for value in values:
            if _better(float(value), best, self.mode, self.min_delta):
                best, wait = float(value), 0
            else:
                wait += 1
        return wait >= max(self.patience, 1)


class GeneralizationLoss(Rule):
    """Prechelt's GL_alpha: GL(t) = 100 (E_va(t) / E_opt(t) - 1), the validation loss's
    excess over its best so far, in percent; stop when GL > alpha."""

    name = "gl"

    def __init__(self, alpha: float, monitor: str, start_step: int) -> None:
        self.alpha, self.monitor, self.start_step = alpha, monitor, start_step

    def fires(self, h: History) -> bool:
        values = _monitored(h, self.monitor, self.start_step)
        if len(values) == 0:
            return False
        best = float(np.min(values))
        return best > 0 and 100.0 * (float(values[-1]) / best - 1.0) > self.alpha


class Up(Rule):
    """Prechelt's UP_s: stop when the validation loss rose at the end of each of `s`
    successive strips of `strip` logs (strips counted from `start_step`)."""

    name = "up"

    def __init__(self, s: int, strip: int, monitor: str, start_step: int) -> None:
        self.s, self.strip, self.monitor, self.start_step = s, strip, monitor, start_step

    def fires(self, h: History) -> bool:
        values = _monitored(h, self.monitor, self.start_step)
        n = len(values)
        if n == 0 or (n - 1) % self.strip:  # decides at strip ends only
            return False
        ends = values[::self.strip]  # the loss at each strip end, the last one included
        if len(ends) < self.s + 1:
            return False
        tail = ends[-(self.s + 1):]
        return bool(np.all(np.diff(tail) > 0))


class Budget(Rule):
    """A fixed budget: stop at `steps`."""

    name = "budget"

    def __init__(self, steps: int) -> None:
        self.steps = steps

    def fires(self, h: History) -> bool:
        return int(h.steps[-1]) >= self.steps


class Threshold(Rule):
    """Stop once `monitor` is below `below` (Nanda et al. 2023's `stopping_thresh` on test
    loss) or at least `above` (Zhong et al. 2023: test accuracy >= a), for `logs`
    consecutive logs."""

    name = "threshold"

    def __init__(self, monitor: str, below: float | None, above: float | None,
                 logs: int) -> None:
        self.monitor, self.below, self.above, self.logs = monitor, below, above, logs

    def fires(self, h: History) -> bool:
        values = h[self.monitor][-self.logs:]
        if len(values) < self.logs:
            return False
        if self.below is not None:
            return bool(np.all(values < self.below))
        return bool(np.all(values >= self.above))


class Grokked(Rule):
    """Stop once generalization is confirmed: `detect()` on the history so far (the run's
    own thresholds) finds alpha1, test accuracy has stayed at sigma_E (within the detector's
    relapse tolerance and spike patience) ever since, for `confirm` = max(`confirm_ratio`
    x alpha1, `confirm_logs` logs) steps. The stored curve of a member stopped here is that
    history, so its final verdict is the one that fired the rule."""

    name = "grokked"

    def __init__(self, detect_config: DetectConfig, confirm_ratio: float,
                 confirm_logs: int) -> None:
        self.cfg, self.confirm_ratio, self.confirm_logs = detect_config, confirm_ratio, confirm_logs

    def fires(self, h: History) -> bool:
        if len(h) < 2:
            return False
        found = h.detected(self.cfg)
        if found.alpha1 is None or found.verdict not in ("grokked", "generalized-without-delay"):
            return False
        log_every = float(np.median(np.diff(h.steps)))
        confirm = max(self.confirm_ratio * found.alpha1, self.confirm_logs * log_every)
        last = int(h.steps[-1])
        return found.support is not None and last - found.alpha1 >= confirm and (
            found.alpha1 + found.support == last)


def _at(h: History, name: str, step: float) -> float:
    """The column's value at the last log at or before `step` (NaN when there is none)."""
    values = h.get(name)
    if values is None:
        return math.nan
    k = int(np.searchsorted(h.steps, step, side="right")) - 1
    return float(values[k]) if k >= 0 else math.nan


def _window_change(h: History, name: str, ratio: float) -> float:
    """log(value now / value at ratio x now): the relative change over the last stretch of
    log-time (NaN when the column is missing or not positive)."""
    now, before = _at(h, name, h.steps[-1]), _at(h, name, ratio * h.steps[-1])
    if not (now > 0 and before > 0):
        return math.nan
    return math.log(now / before)


def alpha0(h: History, cfg: DetectConfig) -> int | None:
    fitted = np.flatnonzero(h["train_acc"] >= cfg.train_threshold)
    return int(h.steps[fitted[0]]) if fitted.size else None


@dataclass
class Progress:
    """The progress measures over the last stretch [ratio x t, t] of a member's history:
    what `hopeless` and the forecast read."""

    step: int
    alpha0: int | None
    test_acc: float
    train_acc: float
    test_gain: float  # test accuracy now minus at ratio x t
    train_gain: float
    test_loss_change: float  # log ratio
    train_loss_change: float
    norm_change: float  # log ratio of the total weight norm; NaN when not logged
    activity: float  # std of the log train loss's log-to-log changes (Notsawo et al. 2023)
    extra: dict[str, float] = field(default_factory=dict)


def progress(h: History, cfg: DetectConfig, ratio: float = 0.5) -> Progress:
    t = int(h.steps[-1])
    start = ratio * t
    window = h.steps >= start
    loss = h["train_loss"][window]
    loss = loss[np.isfinite(loss) & (loss > 0)]
    activity = float(np.std(np.diff(np.log(loss)))) if len(loss) > 2 else 0.0
    return Progress(
        step=t, alpha0=alpha0(h, cfg),
        test_acc=float(h["test_acc"][-1]), train_acc=float(h["train_acc"][-1]),
        test_gain=float(h["test_acc"][-1]) - _at(h, "test_acc", start),
        train_gain=float(h["train_acc"][-1]) - _at(h, "train_acc", start),
        test_loss_change=_window_change(h, "test_loss", ratio),
        train_loss_change=_window_change(h, "train_loss", ratio),
        norm_change=_window_change(h, NORM, ratio), activity=activity)


class Hopeless(Rule):
    """Stop a member that is going nowhere within the budget.

    Never before t >= max(`min_steps`, `min_fraction` x budget). Memorized (alpha0 found):
    once also t >= `wait` x alpha0, while test accuracy is below `max_test` x train accuracy
    (a member near its train accuracy has generalized, or is relapsing, not hopeless), and
    over the last stretch [`ratio` t, t] test accuracy gained less than `min_gain`, the test
    loss fell by less than `min_loss_drop` (relative, log) and the total weight norm shrank by
    less than `min_norm_drop` (when logged). The delay laws of next.md §1 tie the delay to
    the weight norm's decay: no decay, no grokking coming. Not fitted: train accuracy and
    train loss have stalled the same way. Every default is the one fitted on the stopping
    corpus's fit half (docs/stopping.md)."""

    name = "hopeless"

    def __init__(self, detect_config: DetectConfig, wait: float, ratio: float, min_steps: int,
                 min_gain: float, min_loss_drop: float, min_norm_drop: float,
                 min_fraction: float = 0.0, max_test: float = 1.0) -> None:
        self.cfg, self.wait, self.ratio, self.min_steps = detect_config, wait, ratio, min_steps
        self.min_gain, self.min_loss_drop = min_gain, min_loss_drop
        self.min_norm_drop, self.min_fraction, self.max_test = min_norm_drop, min_fraction, max_test

    def fires(self, h: History) -> bool:
        t = int(h.steps[-1])
        if t < max(self.min_steps, self.min_fraction * h.budget) or len(h) < 3:
            return False
        p = progress(h, self.cfg, self.ratio)
        if p.alpha0 is not None:
            if t < self.wait * p.alpha0 or p.test_acc >= self.max_test * p.train_acc:
                return False
            stalled = p.test_gain < self.min_gain and not (
                p.test_loss_change < -self.min_loss_drop)
            if not math.isnan(p.norm_change):
                stalled = stalled and not (p.norm_change < -self.min_norm_drop)
            return bool(stalled)
        return bool(p.train_gain < self.min_gain
                    and not (p.train_loss_change < -self.min_loss_drop))
