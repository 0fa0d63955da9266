"""Settings of the stopping rules a run applies (`stopping:`, docs/stopping.md).

Each rule is a settings class registered under its `name`, with a `build(member, detect)`
that makes the rule (`grokscope.detection.online.Rule`) for one member; a member stops when
any of the listed rules fires. A numeric setting given as a list holds one value per member,
like other per-member settings. A new rule is one file: its settings, its `build`, one
`@STOPPING.register`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from grokscope.registry import Registry
from grokscope.schema import Strict

STOPPING: Registry[type[StoppingSpec]] = Registry("stopping rule")

NonNegative = Annotated[float, Field(ge=0)]
Positive = Annotated[float, Field(gt=0)]
Count = Annotated[int, Field(ge=0)]
Monitor = Literal["test_loss", "test_acc", "train_loss", "train_acc"]


class StoppingSpec(Strict):
    """Base of every rule's settings: `name` picks the class."""

    name: str

    def build(self, member: int, detect: Any) -> Any:
        raise NotImplementedError

    def value(self, field: str, member: int) -> Any:
        """A setting's value for one member: a scalar, or that member's entry of a list."""
        value = getattr(self, field)
        if not isinstance(value, list):
            return value
        if member >= len(value):
            raise ValueError(f"{field}: has {len(value)} values but member {member} needs one "
                             "(one value per member)")
        return value[member]

    def member_lists(self) -> dict[str, int]:
        """Settings given per member, with their lengths (checked against the cohort)."""
        return {k: len(v) for k, v in self if isinstance(v, list)}


@STOPPING.register("patience", "Keras/Lightning EarlyStopping: stop once `monitor` has not "
                   "improved by min_delta for `patience` logs (from start_step)")
class PatienceSpec(StoppingSpec):
    name: str = "patience"
    monitor: Monitor = "test_loss"
    mode: Literal["min", "max"] | None = None  # None: min for a loss, max for an accuracy
    min_delta: NonNegative | list[NonNegative] = 0.0
    patience: Count | list[Count] = 10  # in logged steps
    start_step: Count | list[Count] = 0

    def build(self, member: int, detect: Any) -> Any:
        from grokscope.detection.online import Patience

        mode = self.mode or ("min" if self.monitor.endswith("loss") else "max")
        return Patience(self.monitor, mode, self.value("min_delta", member),
                        self.value("patience", member), self.value("start_step", member))


@STOPPING.register("gl", "Prechelt 1998 GL_alpha: stop when the validation loss exceeds its "
                   "best so far by more than alpha percent")
class GLSpec(StoppingSpec):
    name: str = "gl"
    alpha: Positive | list[Positive] = 2.0
    monitor: Literal["test_loss", "train_loss"] = "test_loss"
    start_step: Count | list[Count] = 0

    def build(self, member: int, detect: Any) -> Any:
        from grokscope.detection.online import GeneralizationLoss

        return GeneralizationLoss(self.value("alpha", member), self.monitor,
                                  self.value("start_step", member))


@STOPPING.register("up", "Prechelt 1998 UP_s: stop after s successive strips whose validation "
                   "loss rose")
class UpSpec(StoppingSpec):
    name: str = "up"
    s: Annotated[int, Field(ge=1)] | list[Annotated[int, Field(ge=1)]] = 5
    strip: Annotated[int, Field(ge=1)] = 5  # logs per strip (Prechelt's k = 5 epochs)
    monitor: Literal["test_loss", "train_loss"] = "test_loss"
    start_step: Count | list[Count] = 0

    def build(self, member: int, detect: Any) -> Any:
        from grokscope.detection.online import Up

        return Up(self.value("s", member), self.strip, self.monitor,
                  self.value("start_step", member))


@STOPPING.register("budget", "stop at a fixed number of steps")
class BudgetSpec(StoppingSpec):
    name: str = "budget"
    steps: Annotated[int, Field(ge=1)] | list[Annotated[int, Field(ge=1)]]

    def build(self, member: int, detect: Any) -> Any:
        from grokscope.detection.online import Budget

        return Budget(self.value("steps", member))


@STOPPING.register("threshold", "stop once `monitor` is below `below` (Nanda et al. 2023) or at "
                   "least `above` (Zhong et al. 2023) for `logs` logs")
class ThresholdSpec(StoppingSpec):
    name: str = "threshold"
    monitor: Monitor = "test_loss"
    below: float | list[float] | None = None
    above: float | list[float] | None = None
    logs: Annotated[int, Field(ge=1)] = 1

    @model_validator(mode="after")
    def _one_bound(self) -> ThresholdSpec:
        if (self.below is None) == (self.above is None):
            raise ValueError("give one bound: below (e.g. test_loss) or above (e.g. test_acc)")
        return self

    def build(self, member: int, detect: Any) -> Any:
        from grokscope.detection.online import Threshold

        below = None if self.below is None else self.value("below", member)
        above = None if self.above is None else self.value("above", member)
        return Threshold(self.monitor, below, above, self.logs)


@STOPPING.register("grokked", "stop once the detector has confirmed generalization: test "
                   "accuracy at sigma_E since alpha1 for max(confirm_ratio x alpha1, "
                   "confirm_logs logs)")
class GrokkedSpec(StoppingSpec):
    name: str = "grokked"
    confirm_ratio: NonNegative | list[NonNegative] = 0.05  # fitted: docs/stopping.md
    confirm_logs: Count = 5

    def build(self, member: int, detect: Any) -> Any:
        from grokscope.detection.online import Grokked

        return Grokked(detect, self.value("confirm_ratio", member), self.confirm_logs)


@STOPPING.register("hopeless", "stop a member whose test accuracy, test loss and weight norm "
                   "(or, unfitted, train accuracy and loss) have stalled since ratio x t")
class HopelessSpec(StoppingSpec):
    name: str = "hopeless"
    # defaults fitted on the stopping corpus's fit half (benchmarks/stopping.py --fit)
    wait: Positive | list[Positive] = 10.0  # in multiples of alpha0
    ratio: Annotated[float, Field(gt=0, lt=1)] = 0.5  # the stretch [ratio t, t]
    min_steps: Count | list[Count] = 300
    min_gain: NonNegative = 0.02
    min_loss_drop: NonNegative = 0.1
    min_norm_drop: NonNegative = 0.05
    min_fraction: Annotated[float, Field(ge=0, le=1)] = 0.0  # never before this x budget
    max_test: Annotated[float, Field(gt=0, le=1)] = 0.9  # not once test >= this x train

    def build(self, member: int, detect: Any) -> Any:
        from grokscope.detection.online import Hopeless

        return Hopeless(detect, self.value("wait", member), self.ratio,
                        self.value("min_steps", member), self.min_gain, self.min_loss_drop,
                        self.min_norm_drop, self.min_fraction, self.max_test)


def parse_stopping(data: Any, index: int) -> StoppingSpec:
    """One entry of `stopping`, validated by its registered settings class; a bare name
    (`stopping: [grokked]`) takes every default."""
    from grokscope.config.schema import parse_entry

    return parse_entry(STOPPING, StoppingSpec, data, f"stopping.{index}", "a rule")
