"""The formal definition of grokking (Carvalho et al. 2025, Def. 3.1), operationalized.

Given logged train and test accuracy of one member:

- alpha0 (memorization step): first logged step where train accuracy >= `train_threshold`.
- lim T_R: median train accuracy over the last `tail_fraction` of the logged steps. The median,
  not the mean: loss spikes late in a run (slingshot, Thilak et al. 2022) drag the mean down
  for a few logs while the typical train accuracy is still 1 (measured: power2022 division,
  tail mean 0.93, median 0.99, train and test accuracy 1.0 at the last step), which would
  lower sigma_E to where a spiking test curve counts as generalized, or call the run collapsed.
- sigma_E = lim T_R - `delta`: the floor of the high region Delta_T.
- sigma_S: the top of the low region, max test accuracy up to alpha0.
- alpha1 (generalization step): the first step >= alpha0 where test accuracy >= sigma_E and
  stays >= sigma_E - `relapse_tolerance` for a support S >= `support_ratio` * (alpha1 - alpha0),
  or until the end of the run (then `censored` says the support was cut short by the budget).
  Earlier jumps that relapse sooner are skipped: grokking is not monotone (anchors.md). A dip
  shorter than `relapse_patience` times the step where it starts is a spike, not a relapse.
- Delta_S = sigma_E - sigma_S (intensity), Delta_T = lim T_R - sigma_E (room left).

Verdicts:
- `diverged`: a loss became NaN or infinite (`diverged_at`: the first such logged step); the
  other events are those of the curve before it.
- `not-fitted`: train accuracy never reaches `train_threshold`.
- `collapsed`: fitted, then the fit was lost: lim T_R is below `train_threshold -
  relapse_tolerance`.
- `memorized-only`: fitted, but test never reaches sigma_E with enough support.
- `grokked`: alpha1 - alpha0 >= max(`min_delay_steps`, `min_delay_ratio` * alpha0), the delay is
  > 0, and Delta_S >= `min_intensity`.
- `generalized-without-delay`: alpha1 exists but the delay or the intensity is below that.

The paper gives no numbers for its `<<` and `>>`; the defaults (DetectConfig) are ours:
generalizing at least twice as late as memorizing (ratio 1), a gain of at least 2 points,
and a support twice the delay.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from grokscope.config import DetectConfig

# Bump when detect() returns something different for the same curves: finished runs whose
# events.json carries an older version are re-detected when read (v2: lim T_R is the median;
# v3: `diverged` when a loss is not finite; v4: the double-descent shape, dd_*).
DETECTOR_VERSION = 4

VERDICTS = ("grokked", "generalized-without-delay", "memorized-only", "collapsed", "not-fitted",
            "diverged")


@dataclass
class GrokkingEvents:
    verdict: str
    alpha0: int | None = None
    alpha1: int | None = None
    sigma_S: float | None = None
    sigma_E: float | None = None
    delta_S: float | None = None
    delta_T: float | None = None
    support: int | None = None
    censored: bool = False
    delay: int | None = None
    final_train_acc: float | None = None
    final_test_acc: float | None = None
    diverged_at: int | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def _support_end(steps: np.ndarray, above: np.ndarray, start: int, patience: float) -> int:
    """Last index of the support that begins at `start`.

    The support runs while `above` holds; a dip below that ends before `patience` times the
    step where it began is a loss spike (slingshot, Thilak et al. 2022), not a relapse, and
    does not end the support. A dip that lasts to the end of the run always does.
    """
    i, n = start, len(above)
    while i < n:
        below = np.flatnonzero(~above[i:])
        if below.size == 0:
            return n - 1
        dip = i + int(below[0])
        back = np.flatnonzero(above[dip:])
        if back.size == 0 or steps[dip + int(back[0])] - steps[dip] > patience * steps[dip]:
            return dip - 1
        i = dip + int(back[0])
    return n - 1


def _find_alpha1(
    steps: np.ndarray, test: np.ndarray, i0: int, sigma_e: float, cfg: DetectConfig
) -> tuple[int, int, bool] | None:
    """(index of alpha1, support in steps, censored) of the first qualifying jump, if any."""
    above = test >= sigma_e - cfg.relapse_tolerance
    j = i0
    while j < len(steps):
        if test[j] < sigma_e:
            j += 1
            continue
        end = _support_end(steps, above, j, cfg.relapse_patience)
        support = int(steps[end] - steps[j])
        needed = cfg.support_ratio * (steps[j] - steps[i0])
        reaches_end = end == len(steps) - 1
        if support >= needed or reaches_end:
            return j, support, bool(reaches_end and support < needed)
        j = end + 1
    return None


def divergence_step(steps: np.ndarray, *losses: np.ndarray | None) -> int | None:
    """The first logged step where any of the loss curves is NaN or infinite, or None. A
    curve that is NaN throughout was not logged, and says nothing."""
    bad = np.zeros(len(steps), dtype=bool)
    for loss in losses:
        values = None if loss is None else np.asarray(loss, dtype=np.float64)
        # a curve with no finite value at all was not logged (an imported run without it)
        if values is not None and len(values) and np.isfinite(values).any():
            bad |= ~np.isfinite(values)
    hits = np.flatnonzero(bad)
    return int(steps[hits[0]]) if hits.size else None


def detect(
    steps: np.ndarray, train_acc: np.ndarray, test_acc: np.ndarray, cfg: DetectConfig | None = None,
    train_loss: np.ndarray | None = None, test_loss: np.ndarray | None = None,
) -> GrokkingEvents:
    """Grokking events of one member from its logged accuracy curves (steps ascending).

    With the loss curves given, a member whose loss stops being finite is `diverged` (its
    accuracy after that point means nothing: argmax of NaN logits); the events before the
    divergence are kept for the record."""
    steps = np.asarray(steps)
    at = divergence_step(steps, train_loss, test_loss)
    if at is not None:
        keep = steps < at
        events = detect(steps[keep], np.asarray(train_acc)[keep], np.asarray(test_acc)[keep], cfg)
        events.verdict, events.diverged_at = "diverged", at
        return events
    return _detect(steps, train_acc, test_acc, cfg or DetectConfig())


def _detect(steps: np.ndarray, train_acc: np.ndarray, test_acc: np.ndarray,
            cfg: DetectConfig) -> GrokkingEvents:
    steps, train, test = (np.asarray(a, dtype=np.float64) for a in (steps, train_acc, test_acc))
    if steps.size == 0:
        return GrokkingEvents(verdict="not-fitted")
    final_train, final_test = float(train[-1]), float(test[-1])
    fitted = np.flatnonzero(train >= cfg.train_threshold)
    if fitted.size == 0:
        return GrokkingEvents(verdict="not-fitted", final_train_acc=final_train,
                              final_test_acc=final_test)
    i0 = int(fitted[0])
    tail = max(1, math.ceil(cfg.tail_fraction * len(steps)))
    limit = float(np.median(train[-tail:]))
    sigma_e = limit - cfg.delta
    sigma_s = float(test[: i0 + 1].max())
    alpha0 = int(steps[i0])
    events = GrokkingEvents(
        verdict="memorized-only", alpha0=alpha0, sigma_S=sigma_s, sigma_E=sigma_e,
        delta_T=limit - sigma_e, final_train_acc=final_train, final_test_acc=final_test,
    )
    if limit < cfg.train_threshold - cfg.relapse_tolerance:
        # the fit was lost (e.g. weight decay shrank the net to a constant): sigma_E would sit
        # near chance and any test curve would "generalize" there
        events.verdict = "collapsed"
        return events
    found = _find_alpha1(steps, test, i0, sigma_e, cfg)
    if found is None:  # no generalization: no intensity to report
        return events
    events.delta_S = sigma_e - sigma_s
    j, events.support, events.censored = found
    events.alpha1 = int(steps[j])
    delay = events.delay = events.alpha1 - alpha0
    needed = max(cfg.min_delay_steps, cfg.min_delay_ratio * alpha0)
    delayed = delay > 0 and delay >= needed
    events.verdict = (
        "grokked" if delayed and events.delta_S >= cfg.min_intensity
        else "generalized-without-delay"
    )
    return events


class OnlineStatus:
    """Cheap running counts for a progress bar: who has memorized, generalized, grokked so far.

    Uses the same thresholds as `detect`, with the current train accuracy standing in for
    lim T_R; the final verdicts always come from `detect` on the full curves.
    """

    def __init__(self, n_members: int, cfg: DetectConfig | None = None) -> None:
        self.cfg = cfg or DetectConfig()
        self.alpha0: list[int | None] = [None] * n_members
        self.alpha1: list[int | None] = [None] * n_members
        self.best_test = 0.0

    def update(self, step: int, train_acc: list[float], test_acc: list[float]) -> None:
        self.best_test = max(self.best_test, *test_acc)
        for e, (tr, te) in enumerate(zip(train_acc, test_acc, strict=True)):
            if self.alpha0[e] is None and tr >= self.cfg.train_threshold:
                self.alpha0[e] = step
            if self.alpha0[e] is not None and self.alpha1[e] is None and te >= tr - self.cfg.delta:
                self.alpha1[e] = step

    @property
    def memorized(self) -> int:
        return sum(a is not None for a in self.alpha0)

    @property
    def grokked(self) -> int:
        cfg = self.cfg
        return sum(
            a0 is not None and a1 is not None and a1 - a0 > 0
            and a1 - a0 >= max(cfg.min_delay_steps, cfg.min_delay_ratio * a0)
            for a0, a1 in zip(self.alpha0, self.alpha1, strict=True)
        )
