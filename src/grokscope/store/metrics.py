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


PROBE_SPLIT = "probe"  # the `split` of probe rows: their values are extra columns

SPECTRA_SCHEMA = pa.schema(
    [
        ("step", pa.int64()),
        ("member", pa.int32()),
        ("probe", pa.string()),
        ("index", pa.int32()),
        ("value", pa.float64()),
    ]
)


@dataclass
class MetricLog:
    """Logged values waiting to be flushed, as host arrays of shape `(E,)` per step.

    Split metrics (`<split>_loss`, `<split>_acc`) come every `log_every` steps; probe scalars
    on their own schedules, as rows with split `probe` and one column per probe value.
    """

    steps: list[int] = field(default_factory=list)
    values: dict[str, list[np.ndarray]] = field(default_factory=dict)
    probe_rows: list[tuple[int, dict[str, np.ndarray]]] = field(default_factory=list)

    def add_probes(self, step: int, **columns: np.ndarray) -> None:
        self.probe_rows.append((step, {k: np.asarray(v, np.float64) for k, v in columns.items()}))

    def add(self, step: int, **columns: np.ndarray) -> None:
        self.steps.append(step)
        for name, value in columns.items():
            self.values.setdefault(name, []).append(np.asarray(value, dtype=np.float64))

    def splits(self) -> list[str]:
        """Split names in logged order: `train`, `test`, then named subsets (`test/...`)."""
        return [name.removesuffix("_loss") for name in self.values if name.endswith("_loss")]

    def to_table(self) -> pa.Table:
        """Split rows and probe rows (if any), ordered by step, member, then split."""
        table = self._split_table()
        if not self.probe_rows:
            return table
        names = list(dict.fromkeys(k for _, cols in self.probe_rows for k in cols))
        e = len(next(iter(self.probe_rows[0][1].values())))
        k = len(self.probe_rows)
        columns = {name: np.full((k, e), np.nan) for name in names}  # NaN: not due that step
        for row, (_, cols) in enumerate(self.probe_rows):
            for name, value in cols.items():
                columns[name][row] = value
        probes = pa.table({
            "step": np.repeat(np.asarray([s for s, _ in self.probe_rows], np.int64), e),
            "member": np.tile(np.arange(e, dtype=np.int32), k),
            "split": pa.array([PROBE_SPLIT] * (k * e), pa.string()),
            **{name: pa.array(v.ravel(), from_pandas=True) for name, v in columns.items()},
        })
        merged = pa.concat_tables([table, probes], promote_options="default")
        order = np.lexsort(((merged["split"].to_numpy(zero_copy_only=False) == PROBE_SPLIT),
                            merged["member"].to_numpy(), merged["step"].to_numpy()))
        return merged.take(order)

    def _split_table(self) -> pa.Table:
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
        self.probe_rows.clear()


@dataclass
class SpectraLog:
    """Vector probe values `(E, k)` per step (Fourier spectra, per-group accuracy), flushed
    as long rows (step, member, probe, index, value)."""

    rows: list[tuple[int, str, np.ndarray]] = field(default_factory=list)

    def add(self, step: int, **vectors: np.ndarray) -> None:
        for name, value in vectors.items():
            self.rows.append((step, name, np.asarray(value, dtype=np.float64)))

    def to_table(self) -> pa.Table:
        if not self.rows:
            return SPECTRA_SCHEMA.empty_table()
        parts = []
        for step, name, value in self.rows:  # value (E, k)
            e, k = value.shape
            parts.append(pa.table({
                "step": np.full(e * k, step, np.int64),
                "member": np.repeat(np.arange(e, dtype=np.int32), k),
                "probe": pa.array([name] * (e * k), pa.string()),
                "index": np.tile(np.arange(k, dtype=np.int32), e),
                "value": value.ravel(),
            }, schema=SPECTRA_SCHEMA))
        return pa.concat_tables(parts)

    def clear(self) -> None:
        self.rows.clear()


def probe_matrix(table: pa.Table, name: str) -> tuple[np.ndarray, np.ndarray]:
    """steps `(K,)` and one probe scalar as a `(K, E)` matrix (NaN where not measured)."""
    if name not in table.column_names:
        return np.zeros(0, np.int64), np.zeros((0, 0))
    rows = table.filter(pa.compute.equal(table["split"], PROBE_SPLIT))
    rows = rows.filter(pa.compute.is_valid(rows[name]))
    steps, members = rows["step"].to_numpy(), rows["member"].to_numpy()
    uniq = np.unique(steps)
    out = np.full((len(uniq), int(members.max()) + 1 if len(members) else 0), np.nan)
    out[np.searchsorted(uniq, steps), members] = rows[name].to_numpy()
    return uniq, out


def probe_names(table: pa.Table) -> list[str]:
    """The probe scalar columns of a metrics table."""
    return [c for c in table.column_names if c not in SCHEMA.names]


def spectrum_cube(table: pa.Table, name: str) -> tuple[np.ndarray, np.ndarray]:
    """steps `(K,)` and one spectrum probe as a `(K, E, k)` array."""
    rows = table.filter(pa.compute.equal(table["probe"], name))
    steps = rows["step"].to_numpy()
    uniq = np.unique(steps)
    members, index = rows["member"].to_numpy(), rows["index"].to_numpy()
    if not len(uniq):
        return uniq, np.zeros((0, 0, 0))
    out = np.full((len(uniq), int(members.max()) + 1, int(index.max()) + 1), np.nan)
    out[np.searchsorted(uniq, steps), members, index] = rows["value"].to_numpy()
    return uniq, out


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
