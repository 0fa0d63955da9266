"""TensorBoard event files: one sub-directory (a TensorBoard run) per member.

Scalars are written as double-precision tensors (`new_style`), so what TensorBoard reads back
equals the Parquet value exactly; the member's events go in as a text summary, its settings
and outcomes as HParams (`add_hparams`), so a sweep's members form one HParams table.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from grokscope.store.exporters import Writer, flat_settings, require

HPARAM_METRICS = ("alpha0", "alpha1", "delay", "delta_S", "final_train_acc", "final_test_acc")


def hparam_metrics(summary: dict[str, Any]) -> dict[str, float]:
    """The outcomes an HParams table compares runs by (NaN where a member has none)."""
    out = {f"hparam/{k}": float(summary[k]) if summary.get(k) is not None else math.nan
           for k in HPARAM_METRICS}
    out["hparam/grokked"] = float(summary.get("verdict") == "grokked")
    return out


class TensorBoardWriter(Writer):
    def __init__(self, out: Path) -> None:
        require("tensorboard", "tensorboard")
        self.out = Path(out)
        self.writers: dict[str, Any] = {}
        self.settings: dict[str, dict[str, Any]] = {}

    def open(self, key: str, name: str, group: str, settings: dict[str, Any]) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writers[key] = SummaryWriter(log_dir=str(self.out / key))
        self.settings[key] = {"group": group, "name": name, **flat_settings(settings)}

    def scalars(self, key: str, step: int, values: dict[str, float]) -> None:
        writer = self.writers[key]
        for tag, value in values.items():
            writer.add_scalar(tag, value, step, new_style=True, double_precision=True)

    def finish(self, key: str, summary: dict[str, Any]) -> None:
        writer = self.writers.pop(key)
        text = json.dumps(summary, indent=1, default=str)
        writer.add_text("events", "```\n" + text + "\n```")
        writer.add_hparams(self.settings.pop(key), hparam_metrics(summary), run_name=".")
        writer.close()

    def flush(self) -> None:
        for writer in self.writers.values():
            writer.flush()

    def close(self) -> None:
        for writer in self.writers.values():
            writer.close()
        self.writers.clear()
