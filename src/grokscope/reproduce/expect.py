"""Expectations: a published number, a tolerance, and the measured value next to it.

```yaml
expect:
  - {metric: alpha1, value: 14000, factor: 2, source: "Nanda et al. 2023, Fig. 2"}
  - {metric: "step(test_loss < 0.01)", value: 14400, factor: 2}
  - {metric: final_test_acc, setting: 0, at_least: 0.99}
  - {metric: verdict, equals: memorized-only, stat: share, at_least: 1.0}
  - {metric: alpha1, setting: ticket, versus: dense, at_most: 0.5}
```
`metric` is a column of events.csv (per member: alpha1, final_test_acc, verdict, ...),
`step(<split>_<loss|acc> <op> <threshold>)`, the first logged step where that metric crosses
the threshold (None if never), or `max(<probe>)`, `min(<probe>)`, `last(<probe>)` of a probe
column over the member's measured steps (e.g. `max(numerics/softmax_collapse)`). `stat`
reduces it over the members (of `setting`, if given): median (default), mean, min, max, or
share (fraction of members whose value equals `equals`, or for which it exists); `where`
keeps only the members whose columns equal the values given; `versus` divides the statistic
by the same statistic over another setting (a ticket's median alpha1 over the dense net's:
inf when the setting never gets there, no value when neither does). A member
with no value (it never generalized) counts as beyond every value: the median is infinite
("never") once half the members have none, which passes `at_least` and fails every other
criterion; a probe never measured fails. The check passes when every criterion given
holds: |m - value| <= tolerance, value / factor <= m <= value * factor, m >= at_least,
m <= at_most.
"""

from __future__ import annotations

import math
import operator
import re
import statistics
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

STEP_METRIC = re.compile(r"^step\(\s*([\w/=.-]+)_(loss|acc)\s*(<=|>=|<|>)\s*([0-9.eE+-]+)\s*\)$")
PROBE_METRIC = re.compile(r"^(max|min|last)\(\s*([\w/@.=-]+)\s*\)$")
COMPARE = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


class Expectation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    metric: str
    stat: Literal["median", "mean", "min", "max", "share"] = "median"
    equals: str | None = None  # share: count members whose value equals this
    setting: int | str | None = None  # a setting index or label; None: every member
    # only the members whose events.csv columns equal these (e.g. {dd_shape: double descent}:
    # a bump's timing among the members that have one)
    where: dict[str, str] | None = None
    # a setting (index or label) to compare with: the measured value is this setting's
    # statistic divided by that one's (e.g. a ticket's median alpha1 over the dense net's)
    versus: int | str | None = None
    value: float | None = None  # the published number
    tolerance: Annotated[float, Field(ge=0)] | None = None
    factor: Annotated[float, Field(ge=1)] | None = None
    at_least: float | None = None
    at_most: float | None = None
    source: str = ""  # where the published number comes from

    @model_validator(mode="after")
    def _has_a_criterion(self) -> Expectation:
        if (self.tolerance is not None or self.factor is not None) and self.value is None:
            raise ValueError("tolerance and factor need a `value`")
        if self.tolerance is None and self.factor is None and self.at_least is None \
                and self.at_most is None:
            raise ValueError("give at least one of tolerance, factor, at_least, at_most")
        if self.metric.startswith("step(") and not STEP_METRIC.match(self.metric):
            raise ValueError(f"metric {self.metric!r}: expected step(<split>_<loss|acc> <op> "
                             "<number>), e.g. step(test_loss < 0.01)")
        if self.metric.startswith(("max(", "min(", "last(")) and not PROBE_METRIC.match(
                self.metric):
            raise ValueError(f"metric {self.metric!r}: expected max(<probe>), min(<probe>) or "
                             "last(<probe>), e.g. max(numerics/softmax_collapse)")
        return self

    def describe(self) -> str:
        where = f" [{self.setting}]" if self.setting is not None else ""
        if self.versus is not None:
            where += f" / [{self.versus}]"
        if self.where:
            where += " where " + ", ".join(f"{k} = {v}" for k, v in self.where.items())
        what = f"share {self.metric} = {self.equals}" if self.equals else \
            f"{self.stat} {self.metric}"
        return what + where

    def bounds(self) -> str:
        parts = []
        if self.value is not None and self.tolerance is not None:
            parts.append(f"{_fmt(self.value)} ± {_fmt(self.tolerance)}")
        if self.value is not None and self.factor is not None:
            parts.append(f"{_fmt(self.value)} (×/÷ {self.factor:g})")
        if self.at_least is not None:
            parts.append(f"≥ {_fmt(self.at_least)}")
        if self.at_most is not None:
            parts.append(f"≤ {_fmt(self.at_most)}")
        return ", ".join(parts)


@dataclass
class Check:
    expectation: Expectation
    measured: float | None
    spread: tuple[float, float] | None  # min and max over the members
    n: int  # members measured
    ok: bool

    def row(self) -> dict[str, Any]:
        e = self.expectation
        return {"expectation": e.describe(), "published": e.bounds(), "source": e.source,
                "measured": self.measured, "min": self.spread[0] if self.spread else None,
                "max": self.spread[1] if self.spread else None, "members": self.n,
                "ok": self.ok}


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def first_step(steps: np.ndarray, values: np.ndarray, op: str, threshold: float) -> list:
    """Per member (columns of `values`, `(K, E)`), the first step where values op threshold."""
    hit = COMPARE[op](values, threshold)
    return [float(steps[np.argmax(hit[:, e])]) if hit[:, e].any() else None
            for e in range(values.shape[1])]


def member_values(expectation: Expectation, rows: list[dict[str, Any]],
                  table: Any | None = None) -> list[Any]:
    """The metric per member row (in row order), from the rows or from the metrics table."""
    probe = PROBE_METRIC.match(expectation.metric)
    if probe:
        return _probe_values(probe.group(1), probe.group(2), rows, table)
    match = STEP_METRIC.match(expectation.metric)
    if not match:
        return [row.get(expectation.metric) for row in rows]
    from grokscope.store.metrics import split_matrix

    split, kind, op, threshold = match.groups()
    steps, values = split_matrix(table, split, "loss" if kind == "loss" else "accuracy")
    found = first_step(steps, values, op, float(threshold))
    return [found[row["member"]] for row in rows]


def _probe_values(stat: str, name: str, rows: list[dict[str, Any]], table: Any) -> list[Any]:
    """max, min or last measured value of a probe column per member (None: never measured)."""
    from grokscope.store.metrics import probe_matrix

    _, values = probe_matrix(table, name)
    out: list[Any] = []
    for row in rows:
        member = row["member"]
        column = values[:, member] if member < values.shape[1] else np.zeros(0)
        column = column[~np.isnan(column)]
        if not len(column):
            out.append(None)
        elif stat == "last":
            out.append(float(column[-1]))
        else:
            out.append(float(column.max() if stat == "max" else column.min()))
    return out


def check(expectation: Expectation, rows: list[dict[str, Any]], table: Any | None = None,
          ) -> Check:
    """Measure one expectation over the members' rows (and metrics table for step())."""
    measured, spread, n = _measure(expectation, expectation.setting, rows, table)
    if expectation.versus is not None:
        base, _, _ = _measure(expectation, expectation.versus, rows, table)
        # a ratio needs both; never over never is no evidence (None), x over never is 0
        measured = None if measured is None or base is None or (
            math.isinf(measured) and math.isinf(base)) or base == 0 else measured / base
    ok = measured is not None and _within(expectation, measured)
    return Check(expectation, measured, spread, n, ok)


def _measure(expectation: Expectation, setting: int | str | None, rows: list[dict[str, Any]],
             table: Any | None) -> tuple[float | None, tuple[float, float] | None, int]:
    """The statistic over the members of `setting`, their spread and how many they are."""
    chosen = [r for r in rows if (setting is None or setting in (r["setting"], r["label"]))
              and all(str(r.get(k)) == v for k, v in (expectation.where or {}).items())]
    values = member_values(expectation, chosen, table)
    numbers = [float(v) for v in values if isinstance(v, int | float) and not
               (isinstance(v, float) and math.isnan(v)) and not isinstance(v, bool)]
    spread = (min(numbers), max(numbers)) if numbers else None
    measured = _reduce(expectation, values, numbers)
    if PROBE_METRIC.match(expectation.metric) and None in values:
        measured = None  # a probe that was not measured is no evidence, not "never"
    return measured, spread, len(chosen)


def _reduce(e: Expectation, values: list[Any], numbers: list[float]) -> float | None:
    if not values:
        return None
    if e.stat == "share" or e.equals is not None:
        hits = [v is not None and (e.equals is None or str(v) == e.equals) for v in values]
        return sum(hits) / len(values)
    if e.stat == "median":
        # members without a value (never got there) count as beyond every value
        ordered = sorted(numbers) + [math.inf] * (len(values) - len(numbers))
        return float(statistics.median(ordered))  # inf: most members never got there
    if not numbers or len(numbers) < len(values):
        return None  # a mean, min or max over members some of which never got there
    return float({"mean": np.mean, "min": min, "max": max}[e.stat](numbers))


def _within(e: Expectation, m: float) -> bool:
    ok = True
    if e.tolerance is not None:
        ok &= abs(m - e.value) <= e.tolerance + 1e-12
    if e.factor is not None:
        ok &= e.value / e.factor <= m <= e.value * e.factor
    if e.at_least is not None:
        ok &= m >= e.at_least
    if e.at_most is not None:
        ok &= m <= e.at_most
    return bool(ok)
