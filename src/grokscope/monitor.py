"""`Monitor`: grokscope's stopping rules, detector and forecast inside your own training loop.

Feed it one logged step at a time; it answers whether to stop (and which rule said so), the
provisional grokking verdict with alpha0 and alpha1, and the forecast of late
generalization. It is the library face of the engine's `stopping:` (one implementation:
the engine's stopping callback holds one Monitor per member), so a decision taken here is
the one `grokscope stopping` takes when it replays the same curve::

    from grokscope import Monitor

    monitor = Monitor(rules=["grokked", "hopeless"], budget=50_000)
    for step in range(50_001):
        train_step()
        if step % 100 == 0:
            decision = monitor.update(step, train_acc=tr_acc, test_acc=te_acc,
                                      train_loss=tr_loss, test_loss=te_loss)
            if decision.stop:
                print(decision.reason, decision.verdict, decision.alpha1)
                break

Columns (keyword arguments of `update`):

- `train_acc`, `test_acc`: accuracy in [0, 1] on the train and held-out sets; always.
- `train_loss`: mean training loss; needed by `hopeless` and by a rule that monitors it;
  the forecast reads it when given.
- `test_loss`: mean held-out loss; needed by `patience`, `gl`, `up` and `threshold` on it
  (their default) and by `hopeless`.
- `weight_norm`: total L2 norm of the weights; optional (`hopeless` and the forecast use
  it when given).

Rules are named as `stopping:` names them (`"grokked"`, `{"name": "patience", "patience":
20}`, or a settings object). The state is plain data (`state_dict()`), so a monitor
restored at any log decides as one that was never interrupted.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from grokscope.config import DetectConfig, parse_config
from grokscope.detection.forecast import Forecast, features, shipped
from grokscope.detection.grokking import GrokkingEvents
from grokscope.detection.online import NORM, History, Rule
from grokscope.errors import ConfigError

COLUMNS = ("train_loss", "train_acc", "test_loss", "test_acc", NORM)
ARGUMENTS = {"train_loss": "train_loss", "train_acc": "train_acc", "test_loss": "test_loss",
             "test_acc": "test_acc", NORM: "weight_norm"}  # column -> keyword of `update`


@dataclass(frozen=True)
class Decision:
    """What the monitor says at one logged step."""

    step: int
    stop: bool
    reason: str | None  # the rule that fired, or None
    verdict: str  # the detector's provisional verdict on the curve so far
    alpha0: int | None
    alpha1: int | None
    p_grok: float  # forecast: P(generalizes within the budget); NaN without a forecast
    eta_alpha1: float  # forecast: the estimated alpha1 in steps; NaN without a forecast

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def needed_columns(rule: Rule) -> set[str]:
    """The columns a built rule reads (grokscope's rule classes; `monitor` for the rest)."""
    name = getattr(rule, "name", "")
    if name == "hopeless":
        return {"train_acc", "test_acc", "train_loss", "test_loss"}
    if name == "grokked":
        return {"train_acc", "test_acc"}
    monitor = getattr(rule, "monitor", None)
    return {monitor} if isinstance(monitor, str) else set()


def _detect_config(detect_: DetectConfig | dict[str, Any] | None) -> DetectConfig:
    if detect_ is None:
        return DetectConfig()
    if isinstance(detect_, DetectConfig):
        return detect_
    if not isinstance(detect_, dict):
        raise ConfigError(f"Monitor: detect must be a DetectConfig or a dict, got "
                          f"{type(detect_).__name__}")
    return parse_config({"detect": detect_}).detect


def _rule_specs(rules: Any) -> list[Any]:
    if isinstance(rules, str | dict) or hasattr(rules, "build"):
        rules = [rules]
    out = []
    for spec in rules:
        out.append(spec.model_dump() if hasattr(spec, "model_dump") else spec)
    return out


class Monitor:
    """Stopping rules, the grokking detector and the forecast, fed one logged step at a time.

    `rules`: as `stopping:` takes them (names, dicts or settings objects; a member stops when
    any fires). `budget`: the run's step budget (`hopeless`' `min_fraction` and the forecast
    read it; without it the forecast is off). `detect`: the detector's thresholds
    (`DetectConfig` or a dict). `forecast`: None (on when a budget is given), True or False.
    """

    def __init__(self, rules: Any = ("grokked",), budget: int | None = None,
                 detect: DetectConfig | dict[str, Any] | None = None,
                 forecast: bool | Forecast | None = None, member: int = 0) -> None:
        self.detect = _detect_config(detect)
        self.specs = _rule_specs(rules)
        config = parse_config({"stopping": self.specs, "detect": self.detect.model_dump()})
        if budget is not None and (isinstance(budget, bool) or not isinstance(budget, int)
                                   or budget < 1):
            raise ConfigError(f"Monitor: budget must be a whole number of steps >= 1, got "
                              f"{budget!r}")
        self.budget = budget
        self.stopping = config.stopping  # the validated settings of each rule
        try:
            self.rules: list[Rule] = [spec.build(member, self.detect) for spec in config.stopping]
        except ValueError as exc:  # a per-member list without the member's value
            raise ConfigError(f"Monitor: {exc}") from None
        if forecast is True and budget is None:
            raise ConfigError("Monitor: the forecast needs budget= (it predicts generalization "
                              "within the budget)")
        on = budget is not None if forecast is None else bool(forecast)
        self.forecast: Forecast | None = (forecast if isinstance(forecast, Forecast)
                                          else shipped() if on else None)
        self._member = member
        self._steps: list[int] = []
        self._values: dict[str, list[float]] = {c: [] for c in COLUMNS}
        self._given: set[str] | None = None
        self._stopped: Decision | None = None

    @staticmethod
    def cohort(members: int, rules: Any = ("grokked",), budget: int | None = None,
               detect: DetectConfig | dict[str, Any] | None = None,
               forecast: bool | Forecast | None = None) -> MonitorCohort:
        """Monitors with a member axis (`MonitorCohort`): E members fed with arrays."""
        return MonitorCohort(members, rules, budget, detect, forecast)

    def require(self, given: set[str]) -> None:
        """Declare the columns that will be fed (keyword names of `update`): a rule that
        needs another is refused now, in one line, rather than at the first update."""
        for rule in self.rules:
            missing = sorted(ARGUMENTS[c] for c in needed_columns(rule)
                             if ARGUMENTS[c] not in given)
            if missing:
                raise ConfigError(f"Monitor: rule {rule.name!r} needs {missing[0]}, which is "
                                  "not given (choose another rule, or log it)")

    # --- feeding ----------------------------------------------------------------------
    def update(self, step: int, *, train_acc: float, test_acc: float,
               train_loss: float | None = None, test_loss: float | None = None,
               weight_norm: float | None = None, **extra: float) -> Decision:
        """Add one logged step and decide there. Steps must increase; values are numbers
        (NaN where not measured; a non-finite loss is the detector's divergence)."""
        if extra:
            raise ConfigError(f"Monitor.update: unknown column {sorted(extra)[0]!r} (allowed: "
                              f"{', '.join(ARGUMENTS.values())})")
        given = {"train_acc": train_acc, "test_acc": test_acc, "train_loss": train_loss,
                 "test_loss": test_loss, NORM: weight_norm}
        self._check(step, given)
        self._steps.append(int(step))
        for column in COLUMNS:
            value = given[column]
            self._values[column].append(math.nan if value is None else float(value))
        return self._decide()

    def _check(self, step: Any, given: dict[str, Any]) -> None:
        if isinstance(step, bool) or not isinstance(step, int | np.integer) or step < 0:
            raise ConfigError(f"Monitor.update: step must be a whole number >= 0, got {step!r}")
        if self._steps and step <= self._steps[-1]:
            raise ConfigError(f"Monitor.update: step {step} does not follow step "
                              f"{self._steps[-1]} (steps must increase)")
        for column, value in given.items():
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float | np.number):
                raise ConfigError(f"Monitor.update: {ARGUMENTS[column]} must be a number, got "
                                  f"{type(value).__name__}")
            if column.endswith("acc") and math.isfinite(value) and not 0 <= value <= 1:
                raise ConfigError(f"Monitor.update: {ARGUMENTS[column]} must be in [0, 1], got "
                                  f"{value}")
        present = {c for c, v in given.items() if v is not None}
        if self._given is None:
            self._given = present
            for rule in self.rules:
                missing = sorted(needed_columns(rule) - present)
                if missing:
                    raise ConfigError(f"Monitor: rule {rule.name!r} needs "
                                      f"{ARGUMENTS[missing[0]]}; pass it to update() (or "
                                      "choose another rule)")
        elif present != self._given:
            changed = sorted(present ^ self._given)[0]
            raise ConfigError(f"Monitor.update: {ARGUMENTS[changed]} was "
                              f"{'not ' if changed in present else ''}given at the first step; "
                              "give the same columns at every step")

    def load_history(self, steps: Any, columns: dict[str, Any]) -> None:
        """Take a curve logged before (a resumed run's stored rows) as if fed, without
        deciding on it: the run was not stopped there. `columns` by column name
        (`train_acc`, ..., `weight_norm/total`); absent ones are NaN."""
        steps = [int(s) for s in steps]
        if any(b <= a for a, b in zip(steps, steps[1:], strict=False)):
            raise ConfigError("Monitor.load_history: steps must increase")
        self._steps = steps
        self._values = {c: [float(v) for v in columns[c]] if c in columns
                        else [math.nan] * len(steps) for c in COLUMNS}
        self._given = {c for c in COLUMNS if c in columns}

    @property
    def last_step(self) -> int | None:
        return self._steps[-1] if self._steps else None

    def history(self) -> History:
        """The curve so far, as the rules see it."""
        return History.from_lists(self._steps, self._values,
                                  self.budget if self.budget is not None else 0)

    def _decide(self) -> Decision:
        h = self.history()
        step = int(h.steps[-1])
        reason = self._stopped.reason if self._stopped else next(
            (rule.name for rule in self.rules if rule.fires(h)), None)
        found = self._events(h)
        p_grok = eta = math.nan
        if self.forecast is not None:
            x = features(h, self.detect)
            if x is not None:
                p_grok, eta = self.forecast.predict(x, step)
        decision = Decision(step, reason is not None, reason, found.verdict, found.alpha0,
                            found.alpha1, p_grok, eta)
        if reason is not None and self._stopped is None:
            self._stopped = decision
        return decision

    def _events(self, h: History) -> GrokkingEvents:
        # a loss not given is NaN throughout, which detect() reads as not logged
        return h.detected(self.detect)

    # --- results and state ------------------------------------------------------------
    @property
    def stopped(self) -> Decision | None:
        """The decision at which a rule first fired (None while none has)."""
        return self._stopped

    def events(self) -> GrokkingEvents:
        """The grokking events of the whole curve fed so far (Carvalho et al. 2025)."""
        if not self._steps:
            raise ConfigError("Monitor.events: no step was fed yet")
        return self._events(self.history())

    def save(self, run_dir: str | Path) -> Path:
        """Write the curve fed so far as a grokscope run directory (new or empty folder), so
        that `grokscope show | report | export | stopping` work on it."""
        if not self._steps:
            raise ConfigError("Monitor.save: no step was fed yet")
        from grokscope import save_run  # (the writer sits above the detection layer)

        h = self.history()
        curve = {"steps": h.steps, "name": np.asarray("monitor"),
                 "tags": np.asarray(sorted(f"{ARGUMENTS[c]}={ARGUMENTS[c]}"
                                           for c in (self._given or ()))),
                 **{ARGUMENTS[c]: h[c] for c in COLUMNS}}
        return save_run(run_dir, [curve], {"format": "monitor"}, self.budget,
                         self.detect.model_dump())

    def state_dict(self) -> dict[str, Any]:
        """Everything the monitor holds, as JSON-able plain data (NaN as None)."""
        return {"version": 1, "rules": self.specs, "budget": self.budget,
                "detect": self.detect.model_dump(), "member": self._member,
                "steps": list(self._steps),
                "values": {c: [None if math.isnan(v) else v for v in vs]
                           for c, vs in self._values.items()},
                "given": sorted(self._given) if self._given is not None else None,
                "stopped": self._stopped.as_dict() if self._stopped else None}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore `state_dict()`: refused in one line when it comes from a monitor with
        other rules, budget or thresholds (its decisions would not be this monitor's)."""
        if not isinstance(state, dict) or state.get("version") != 1:
            raise ConfigError("Monitor.load_state_dict: not a Monitor state (version 1)")
        mine = {"rules": self.specs, "budget": self.budget, "detect": self.detect.model_dump(),
                "member": self._member}
        for key, value in mine.items():
            if state.get(key) != value:
                raise ConfigError(f"Monitor.load_state_dict: the state's {key} "
                                  f"({state.get(key)!r}) is not this monitor's ({value!r})")
        try:
            steps = [int(s) for s in state["steps"]]
            values = {c: [math.nan if v is None else float(v) for v in state["values"][c]]
                      for c in COLUMNS}
        except (KeyError, TypeError, ValueError):
            raise ConfigError("Monitor.load_state_dict: the state's steps or values are "
                              "damaged") from None
        if any(len(v) != len(steps) for v in values.values()):
            raise ConfigError("Monitor.load_state_dict: the state's columns and steps differ "
                              "in length")
        self._steps, self._values = steps, values
        self._given = set(state["given"]) if state.get("given") is not None else None
        stopped = state.get("stopped")
        self._stopped = Decision(**stopped) if stopped else None


class MonitorCohort:
    """Monitors with a member axis: E members fed at once with arrays, as a cohort of models
    trained together (a vectorized ensemble, or grokscope's own cohort) logs them. Member k
    is `Monitor(rules, ..., member=k)`, so a rule setting given as a list gives each member
    its own value, as in `stopping:`. `update` returns one Decision per member."""

    def __init__(self, members: int, rules: Any = ("grokked",), budget: int | None = None,
                 detect: DetectConfig | dict[str, Any] | None = None,
                 forecast: bool | Forecast | None = None) -> None:
        if isinstance(members, bool) or not isinstance(members, int) or members < 1:
            raise ConfigError(f"Monitor.cohort: members must be a whole number >= 1, got "
                              f"{members!r}")
        first = Monitor(rules, budget, detect, forecast, member=0)  # checks the settings
        for k, spec in enumerate(first.stopping):
            for field, length in spec.member_lists().items():
                if length != members:
                    raise ConfigError(f"stopping.{k}.{field}: has {length} values but the "
                                      f"cohort has {members} members")
        # one forecast (the shipped model, loaded once) serves every member
        self.members = [first] + [Monitor(first.specs, budget, first.detect,
                                          first.forecast or False, member=m)
                                  for m in range(1, members)]

    def __len__(self) -> int:
        return len(self.members)

    def update(self, step: int, *, train_acc: Any, test_acc: Any, train_loss: Any = None,
               test_loss: Any = None, weight_norm: Any = None) -> list[Decision]:
        """One logged step of every member: each column an array of E values (or None)."""
        columns = {"train_acc": train_acc, "test_acc": test_acc, "train_loss": train_loss,
                   "test_loss": test_loss, "weight_norm": weight_norm}
        rows: dict[str, np.ndarray | None] = {}
        for name, value in columns.items():
            if value is None:
                rows[name] = None
                continue
            array = np.asarray(value.detach().cpu() if hasattr(value, "detach") else value,
                               dtype=np.float64).reshape(-1)
            if len(array) != len(self.members):
                raise ConfigError(f"Monitor.cohort.update: {name} has {len(array)} values but "
                                  f"the cohort has {len(self.members)} members")
            rows[name] = array
        decisions = []
        for m, monitor in enumerate(self.members):
            values: dict[str, Any] = {k: None if v is None else float(v[m])
                                      for k, v in rows.items()}
            decisions.append(monitor.update(step, **values))
        return decisions

    def events(self) -> list[GrokkingEvents]:
        return [monitor.events() for monitor in self.members]

    def state_dict(self) -> dict[str, Any]:
        return {"version": 1, "members": [monitor.state_dict() for monitor in self.members]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if not isinstance(state, dict) or not isinstance(state.get("members"), list) or len(
                state["members"]) != len(self.members):
            raise ConfigError(f"Monitor.cohort.load_state_dict: not the state of a cohort of "
                              f"{len(self.members)} monitors")
        for monitor, saved in zip(self.members, state["members"], strict=True):
            monitor.load_state_dict(saved)
