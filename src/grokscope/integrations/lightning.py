"""`GrokkingEarlyStopping`: grokscope's stopping rules as a PyTorch Lightning callback.

Lightning's `EarlyStopping` stops on a validation plateau, which in a grokking run is the
memorization plateau: long before the late generalization (Power et al. 2022; Carvalho et
al. 2025 ask for better stopping criteria). This callback feeds the logged train and
validation accuracy (and losses) to a `grokscope.Monitor` after every validation and stops
through `trainer.should_stop` when one of its rules fires (`grokked` by default: once the
detector has confirmed generalization). Its state travels in Lightning checkpoints, so a
run resumed from one decides as an uninterrupted one.

Under DDP, log the metrics with `sync_dist=True`: every rank then feeds the same values to
its own monitor, and the stop decision is also reduced across ranks
(`trainer.strategy.reduce_boolean_decision`), as Lightning's `EarlyStopping` does.
"""

from __future__ import annotations

from typing import Any

from grokscope.integrations import metric, require
from grokscope.monitor import Decision, Monitor

ARGUMENT = {"train_acc": "train_acc", "test_acc": "val_acc", "train_loss": "train_loss",
            "test_loss": "val_loss", "weight_norm": "weight_norm"}  # Monitor's -> ours
_pl = require(("lightning.pytorch", "pytorch_lightning"), "lightning")


class GrokkingEarlyStopping(_pl.Callback):  # type: ignore[name-defined,misc]
    """Stop a Lightning run when a grokscope rule fires, after each validation.

    Keys name what your `LightningModule` logs with `self.log`: `train_acc`, `val_acc`
    (required), `train_loss`, `val_loss`, `weight_norm` (optional; a rule that needs one is
    refused at construction time in one line). `rules`, `budget` (in optimizer steps:
    `trainer.max_steps`) and `detect` are the Monitor's. The step fed is
    `trainer.global_step`. `verbose` prints the reason when it stops.
    """

    def __init__(self, rules: Any = ("grokked",), budget: int | None = None,
                 train_acc: str = "train_acc", val_acc: str = "val_acc",
                 train_loss: str | None = "train_loss", val_loss: str | None = "val_loss",
                 weight_norm: str | None = None, detect: Any = None,
                 forecast: bool | None = None, verbose: bool = True) -> None:
        super().__init__()
        self.keys = {"train_acc": train_acc, "test_acc": val_acc, "train_loss": train_loss,
                     "test_loss": val_loss, "weight_norm": weight_norm}
        self.monitor = Monitor(rules, budget=budget, detect=detect, forecast=forecast)
        self.monitor.require({k for k, v in self.keys.items() if v is not None})
        self.verbose = verbose
        self.decision: Decision | None = None

    @property
    def state_key(self) -> str:
        return self._generate_state_key(rules=str(self.monitor.specs), keys=str(self.keys))

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        if trainer.sanity_checking:
            return
        step = int(trainer.global_step)
        if self.monitor.last_step is not None and step <= self.monitor.last_step:
            return  # validated again at the same step (e.g. trainer.validate): decided there
        logged = dict(trainer.callback_metrics)
        values: dict[str, Any] = {
            role: metric(logged, key, ARGUMENT[role], "GrokkingEarlyStopping")
            for role, key in self.keys.items()}
        self.decision = self.monitor.update(step, **values)
        stop = trainer.strategy.reduce_boolean_decision(self.decision.stop, all=False)
        if stop and not trainer.should_stop:
            trainer.should_stop = True
            if self.verbose and trainer.is_global_zero:
                print(f"GrokkingEarlyStopping: {self.decision.reason} at step {step} "
                      f"(verdict {self.decision.verdict}, alpha1 {self.decision.alpha1})")

    def state_dict(self) -> dict[str, Any]:
        return {"monitor": self.monitor.state_dict()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.monitor.load_state_dict(state_dict["monitor"])
