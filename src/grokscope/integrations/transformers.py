"""`GrokkingCallback`: grokscope's stopping rules as a Hugging Face `TrainerCallback`.

transformers' `EarlyStoppingCallback` stops when the metric for the best model stops
improving: in a grokking run, in the memorization plateau, long before the late
generalization. This callback reads the metrics of each evaluation, feeds them to a
`grokscope.Monitor`, and sets `control.should_training_stop` when one of its rules fires
(`grokked` by default).

The train side: evaluate on both sets, `eval_dataset={"train": ..., "test": ...}`; the
Trainer then reports `eval_train_accuracy`, `eval_test_accuracy`, `eval_train_loss`,
`eval_test_loss` (the defaults here, with a `compute_metrics` that returns `accuracy`). Any
key the Trainer logs (`on_log`, e.g. the running training `loss`) can be named instead.

Resuming: the monitor's state is saved beside each checkpoint (`grokscope_monitor.json` in
`checkpoint-<step>/`) and read back when training resumes at that step from
`output_dir`, so a resumed run decides as an uninterrupted one whatever
`restore_callback_states_from_checkpoint` says. With that flag True (its default is False)
the Trainer also restores the state itself (`ExportableState`) and *replaces* this callback
by a new instance: read decisions from `trainer.callback_handler.callbacks`, not from the
object you passed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grokscope.errors import ConfigError
from grokscope.integrations import metric, require
from grokscope.monitor import Decision, Monitor
from grokscope.store.atomic import write_text_atomic

_tf = require(("transformers",), "transformers")
STATE_FILE = "grokscope_monitor.json"


TrainerCallback: Any = _tf.TrainerCallback  # (imported at run time: typed Any)
ExportableState: Any = _tf.trainer_callback.ExportableState


class GrokkingCallback(TrainerCallback, ExportableState):
    """Stop a Hugging Face Trainer run when a grokscope rule fires, after an evaluation.

    Keys name metrics the Trainer reports (`train_acc`, `test_acc` required; the losses and
    `weight_norm` optional). `rules`, `budget` (in optimizer steps: `max_steps`), `detect`
    and `forecast` are the Monitor's. The step fed is `state.global_step`."""

    def __init__(self, rules: Any = ("grokked",), budget: int | None = None,
                 train_acc: str = "eval_train_accuracy", test_acc: str = "eval_test_accuracy",
                 train_loss: str | None = "eval_train_loss",
                 test_loss: str | None = "eval_test_loss", weight_norm: str | None = None,
                 detect: dict[str, Any] | None = None, forecast: bool | None = None) -> None:
        self.args = {"rules": [r if isinstance(r, str | dict) else r.model_dump()
                               for r in ([rules] if isinstance(rules, str) else rules)],
                     "budget": budget, "train_acc": train_acc, "test_acc": test_acc,
                     "train_loss": train_loss, "test_loss": test_loss,
                     "weight_norm": weight_norm, "detect": detect, "forecast": forecast}
        self.keys = {"train_acc": train_acc, "test_acc": test_acc, "train_loss": train_loss,
                     "test_loss": test_loss, "weight_norm": weight_norm}
        self.monitor = Monitor(self.args["rules"], budget=budget, detect=detect,
                               forecast=forecast)
        self.monitor.require({k for k, v in self.keys.items() if v is not None})
        self.decision: Decision | None = None
        self._pending: tuple[int, dict[str, Any]] | None = None

    # --- state (ExportableState, and our own file beside each checkpoint) -------------
    def state(self) -> dict[str, Any]:
        return {"args": self.args, "attributes": {"monitor_state": self.monitor_state}}

    @property
    def monitor_state(self) -> dict[str, Any]:
        return self.monitor.state_dict()

    @monitor_state.setter
    def monitor_state(self, value: dict[str, Any]) -> None:
        self.monitor.load_state_dict(value)
        self._restore_decision()

    def _restore_decision(self) -> None:
        self.decision = self.monitor.stopped

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if folder.is_dir() and state.is_world_process_zero:
            write_text_atomic(folder / STATE_FILE, json.dumps(self.monitor.state_dict()))

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        step = int(state.global_step)
        last = self.monitor.last_step
        if step == 0 or (last is not None and last >= step):
            return  # a fresh start, or the Trainer restored the state already
        saved = Path(args.output_dir) / f"checkpoint-{step}" / STATE_FILE
        if saved.is_file():
            self.monitor.load_state_dict(json.loads(saved.read_text()))
            self._restore_decision()

    # --- decisions ----------------------------------------------------------------------
    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None,
               **kwargs: Any) -> None:
        self._take(state, control, logs or {})

    def on_evaluate(self, args: Any, state: Any, control: Any,
                    metrics: dict[str, Any] | None = None, **kwargs: Any) -> None:
        self._take(state, control, metrics or {})

    def _take(self, state: Any, control: Any, values: dict[str, Any]) -> None:
        """Collect this step's metrics (an evaluation per dataset, the train log); decide
        once every key is there."""
        step = int(state.global_step)
        if self.monitor.last_step is not None and step <= self.monitor.last_step:
            return  # decided at this step already
        if self._pending is None or self._pending[0] != step:
            self._complain(self._pending)
            self._pending = (step, {})
        held = self._pending[1]
        held.update({k: v for k, v in values.items() if isinstance(v, int | float)
                     and not isinstance(v, bool)})
        wanted = [k for k in self.keys.values() if k is not None]
        if not all(k in held for k in wanted):
            return
        row: dict[str, Any] = {role: metric(held, key, role, "GrokkingCallback")
                               for role, key in self.keys.items()}
        self._pending = None
        self.decision = self.monitor.update(step, **row)
        if self.decision.stop:
            control.should_training_stop = True

    def _complain(self, pending: tuple[int, dict[str, Any]] | None) -> None:
        """A step that reported some of the keys and never the rest: misnamed keys, or an
        evaluation on one set only; one line naming what is missing and what was there."""
        if pending is None:
            return
        step, held = pending
        wanted = [k for k in self.keys.values() if k is not None]
        if any(k in held for k in wanted):
            missing = [k for k in wanted if k not in held]
            shown = ", ".join(sorted(held)[:12])
            raise ConfigError(f"GrokkingCallback: the Trainer never reported {missing[0]!r} at "
                              f"step {step} (it reported: {shown}); evaluate on both sets "
                              "(eval_dataset={'train': ..., 'test': ...}) or name the key")
