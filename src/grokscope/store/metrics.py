"""Per-step metrics in long form: one row per (step, member, split), as Parquet."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

SCHEMA = pa.schema(
    [
        ("step", pa.int64()),
        ("member", pa.int32()),
        ("split", pa.string()),  # Parquet dictionary-encodes it on disk
        ("loss", pa.float64()),
        ("accuracy", pa.float64()),
    ]
)


@dataclass
class MetricLog:
    """Logged values waiting to be flushed, as host arrays of shape `(E,)` per step."""

    steps: list[int] = field(default_factory=list)
    values: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def add(self, step: int, **columns: np.ndarray) -> None:
        self.steps.append(step)
        for name, value in columns.items():
            self.values.setdefault(name, []).append(np.asarray(value, dtype=np.float64))

    def __len__(self) -> int:
        return len(self.steps)

    def splits(self) -> list[str]:
        """Split names in logged order: `train`, `test`, then named subsets (`test/...`)."""
        return [name.removesuffix("_loss") for name in self.values if name.endswith("_loss")]

    def to_table(self) -> pa.Table:
        """Rows ordered by step, member, then splits in logged order (train, test, subsets)."""
        if not self.steps:
            return SCHEMA.empty_table()
        k = len(self.steps)
        e = len(self.values["train_loss"][0])
        parts = []
        for split in self.splits():
            loss = np.stack(self.values[f"{split}_loss"])  # (K, E)
            acc = np.stack(self.values[f"{split}_acc"])
            parts.append((split, loss.ravel(), acc.ravel()))
        step = np.repeat(np.asarray(self.steps, dtype=np.int64), e)
        member = np.tile(np.arange(e, dtype=np.int32), k)
        table = pa.concat_tables(
            pa.table(
                {
                    "step": step,
                    "member": member,
                    "split": pa.array([split] * (k * e), pa.string()),
                    "loss": loss,
                    "accuracy": acc,
                }
            ).cast(SCHEMA)
            for split, loss, acc in parts
        )
        order = np.lexsort((np.repeat(np.arange(len(parts)), k * e),
                            table["member"].to_numpy(), table["step"].to_numpy()))
        return table.take(order)

    def clear(self) -> None:
        self.steps.clear()
        self.values.clear()


def curves(table: pa.Table, member: int,
           splits: tuple[str, ...] = ("train", "test")) -> dict[str, np.ndarray]:
    """steps and `<split>_acc`, `<split>_loss` of one member, from a metrics table."""
    rows = table.filter(pa.compute.equal(table["member"], member))
    out: dict[str, np.ndarray] = {}
    for split in splits:
        part = rows.filter(pa.compute.equal(rows["split"], split))
        part = part.sort_by("step")
        out["steps"] = part["step"].to_numpy()
        out[f"{split}_acc"] = part["accuracy"].to_numpy()
        out[f"{split}_loss"] = part["loss"].to_numpy()
    return out


def split_matrix(table: pa.Table, split: str,
                 column: str = "accuracy") -> tuple[np.ndarray, np.ndarray]:
    """steps `(K,)` and one column as a `(K, E)` matrix for one split: every logged step holds
    every member, so a cohort's curves come out as one array (NaN where a row is missing)."""
    rows = table.filter(pa.compute.equal(table["split"], split))
    steps = rows["step"].to_numpy()
    members = rows["member"].to_numpy()
    uniq = np.unique(steps)
    out = np.full((len(uniq), int(members.max()) + 1 if len(members) else 0), np.nan)
    out[np.searchsorted(uniq, steps), members] = rows[column].to_numpy()
    return uniq, out
