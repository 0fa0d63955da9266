"""Scores of stopping rules over a set of full-budget member curves (docs/stopping.md).

After Prechelt 1998's study of 1,296 runs (next.md §1): each rule set is replayed on every
member's curve (`first_stop`, what it decides online) and compared with `detect()` on the
full curve: premature stops (a member that groks within the budget, stopped before alpha1),
verdict agreement (the stopped curve's verdict against the full one's), overrun after
alpha1, the budget spent on memorized-only members, accuracy regret and compute used. The
forecast is scored by AUROC of "groks within the budget" at 2 and 5 x alpha0 and by the
median absolute percentage error of its alpha1 estimate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from grokscope.config import DetectConfig, parse_config
from grokscope.detection.forecast import Forecast, auroc, features
from grokscope.detection.grokking import detect
from grokscope.detection.online import History, Rule, first_stop
from grokscope.errors import ConfigError


@dataclass
class Member:
    """One member's full-budget curve and the events `detect()` finds on it."""

    key: str
    group: str  # the sweep it came from
    seed: int
    history: History
    verdict: str
    alpha0: int | None
    alpha1: int | None

    @classmethod
    def of(cls, key: str, group: str, seed: int, h: History, cfg: DetectConfig) -> Member:
        """A member and its full-budget events."""
        ev = detect(h.steps, h["train_acc"], h["test_acc"], cfg, h.get("train_loss"),
                    h.get("test_loss"))
        return cls(key, group, seed, h, ev.verdict, ev.alpha0, ev.alpha1)

    @property
    def grokked(self) -> bool:
        return self.verdict == "grokked"


def rule_set(specs: list[dict], cfg: DetectConfig) -> list[Rule]:
    """The rules of `stopping:` entries (validated as in a config), for one member. The
    replay pools members of many runs, so a per-member list has no member to go to: refused
    in one line rather than read as member 0's value."""
    for index, spec in enumerate(specs):
        listed = [k for k, v in spec.items() if isinstance(v, list)] if isinstance(
            spec, dict) else []
        if listed:
            raise ConfigError(f"--rule {index}: {listed[0]}: a per-member list cannot be "
                              "replayed over the pooled members of every run; give one value "
                              "(one --rule per value to compare them)")
    config = parse_config({"stopping": specs, "detect": cfg.model_dump()})
    return [spec.build(0, cfg) for spec in config.stopping]


def stop_of(rules: list[Rule], h: History) -> int | None:
    """The first step any rule fires (the online OR), or None."""
    stops = [s for s in (first_stop(r, h) for r in rules) if s is not None]
    return min(stops) if stops else None


def score(members: list[Member], specs: list[dict], cfg: DetectConfig) -> dict[str, Any]:
    """Every score of one rule set over members."""
    rules = rule_set(specs, cfg)
    premature = positives = agree = near = 0
    overrun, regret, used, total, mem_used, mem_total = [], [], 0, 0, 0, 0
    for m in members:
        h = m.history
        stop = stop_of(rules, h)
        last = int(h.steps[-1])
        at = stop if stop is not None else last
        n = int(np.searchsorted(h.steps, at, side="right"))
        cut = h.prefix(n)
        ev = detect(cut.steps, cut["train_acc"], cut["test_acc"], cfg, cut["train_loss"],
                    cut["test_loss"])
        agree += ev.verdict == m.verdict
        used, total = used + at, total + h.budget
        if m.verdict == "memorized-only":
            mem_used, mem_total = mem_used + at, mem_total + h.budget
        regret.append(float(np.max(h["test_acc"]) - cut["test_acc"][-1]))
        if m.grokked and m.alpha1 is not None:  # a grokked verdict always has alpha1
            positives += 1
            # a close call: stopped within half of alpha1 after it (the budget end is no stop)
            near += stop is not None and at < 1.5 * m.alpha1
            if at < m.alpha1:
                premature += 1
            else:
                overrun.append((at - m.alpha1) / m.alpha1)
    o = np.asarray(overrun) if overrun else np.full(1, np.nan)  # NaN: none reached alpha1
    return {
        "rules": specs, "members": len(members), "grokked": positives,
        "premature": premature, "premature_rate": premature / max(positives, 1),
        "near_misses": near,
        "verdict_agreement": agree / max(len(members), 1),
        "overrun_median": float(np.median(o)), "overrun_p90": float(np.percentile(o, 90)),
        "memorized_budget_share": mem_used / max(mem_total, 1),
        "regret_median": float(np.median(regret)), "regret_max": float(np.max(regret)),
        "compute": used / max(total, 1),
    }


def samples(members: list[Member], cfg: DetectConfig,
            per_member: int = 12) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Forecast training samples: features at log-spaced logs after alpha0 (before alpha1),
    with labels (groks within the budget) and log(alpha1 / t)."""
    xs, ys, ratios = [], [], []
    for m in members:
        if m.alpha0 is None:
            continue
        h = m.history
        end = m.alpha1 if m.alpha1 is not None else int(h.steps[-1])
        steps = h.steps[(h.steps >= m.alpha0) & (h.steps < end)]
        if not len(steps):
            continue
        picks = np.unique(np.geomspace(max(steps[0], 1), steps[-1], per_member).astype(int))
        for t in picks:
            n = int(np.searchsorted(h.steps, t, side="right"))
            x = features(h.prefix(n), cfg)
            if x is None:
                continue
            xs.append(x)
            ys.append(m.grokked)
            ratios.append(math.log(m.alpha1 / h.steps[n - 1]) if m.grokked else math.nan)
    return np.asarray(xs), np.asarray(ys), np.asarray(ratios)


def forecast_scores(members: list[Member], forecast: Forecast, cfg: DetectConfig) -> dict:
    """AUROC of "groks within the budget" at 2 and 5 x alpha0 (members not generalized yet
    then), and the median absolute percentage error of the alpha1 estimate."""
    out = {}
    for mult in (2, 5):
        scores, labels, errors = [], [], []
        for m in members:
            if m.alpha0 is None:
                continue
            t = mult * m.alpha0
            if t > m.history.steps[-1] or (m.alpha1 is not None and m.alpha1 <= t):
                continue
            n = int(np.searchsorted(m.history.steps, t, side="right"))
            x = features(m.history.prefix(n), cfg)
            if x is None:
                continue
            p, eta = forecast.predict(x, int(m.history.steps[n - 1]))
            scores.append(p)
            labels.append(m.grokked)
            if m.grokked and m.alpha1 is not None:
                errors.append(abs(eta - m.alpha1) / m.alpha1)
        out[f"auroc_{mult}a0"] = auroc(np.asarray(scores), np.asarray(labels))
        out[f"n_{mult}a0"] = len(scores)
        out[f"grokked_{mult}a0"] = int(np.sum(labels))
        out[f"mdape_{mult}a0"] = float(np.median(errors)) if errors else None
    return out


# The baselines as people use them (next.md §1), then grokscope's rules
BASELINES = [
    [{"name": "patience", "monitor": "test_loss", "patience": 10}],
    [{"name": "patience", "monitor": "test_loss", "patience": 50}],
    [{"name": "patience", "monitor": "test_acc", "patience": 50}],
    [{"name": "gl", "alpha": 2.0}],
    [{"name": "up", "s": 5, "strip": 5}],
    [{"name": "threshold", "monitor": "test_loss", "below": 0.01}],
    [{"name": "threshold", "monitor": "test_acc", "above": 0.99, "logs": 5}],
]
DEFAULT_SETS: list[list[dict]] = [[], *BASELINES, [{"name": "grokked"}], [{"name": "hopeless"}],
                                  [{"name": "grokked"}, {"name": "hopeless"}]]


def label(specs: list[dict]) -> str:
    """A rule set as text: `patience(patience=10) + grokked`."""
    def one(spec: dict) -> str:
        rest = ", ".join(f"{k}={v}" for k, v in spec.items() if k != "name")
        return f"{spec['name']}({rest})" if rest else spec["name"]

    return " + ".join(one(s) for s in specs) or "none (full budget)"
