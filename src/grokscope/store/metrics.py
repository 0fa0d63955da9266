"""Per-step metrics in long form: one row per (step, member, split), as Parquet."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
    on their own schedules, as rows with split `probe` and one column per probe value. Each
    step carries the ids of the members its values belong to (`members`, default 0..E-1):
    members that stopped early leave the cohort, and their rows stop there.
    """

    steps: list[int] = field(default_factory=list)
    members: list[np.ndarray] = field(default_factory=list)
    values: dict[str, list[np.ndarray]] = field(default_factory=dict)
    probe_rows: list[tuple[int, np.ndarray, dict[str, np.ndarray]]] = field(default_factory=list)

    def add_probes(self, step: int, members: np.ndarray | None = None,
                   **columns: np.ndarray) -> None:
        cols = {k: np.asarray(v, np.float64) for k, v in columns.items()}
        ids = _ids(members, cols)
        if self.probe_rows and self.probe_rows[-1][0] == step and np.array_equal(
                self.probe_rows[-1][1], ids):  # more values of the same rows: one row each
            self.probe_rows[-1][2].update(cols)
            return
        self.probe_rows.append((step, ids, cols))

    def add(self, step: int, members: np.ndarray | None = None, **columns: np.ndarray) -> None:
        self.steps.append(step)
        cols = {k: np.asarray(v, dtype=np.float64) for k, v in columns.items()}
        self.members.append(_ids(members, cols))
        for name, value in cols.items():
            self.values.setdefault(name, []).append(value)

    def splits(self) -> list[str]:
        """Split names in logged order: `train`, `test`, then named subsets (`test/...`)."""
        return [name.removesuffix("_loss") for name in self.values if name.endswith("_loss")]

    def to_table(self) -> pa.Table:
        """Split rows and probe rows (if any), ordered by step, member, then split."""
        table = self._split_table()
        if not self.probe_rows:
            return table
        names = list(dict.fromkeys(k for _, _, cols in self.probe_rows for k in cols))
        sizes = [len(ids) for _, ids, _ in self.probe_rows]
        columns = {name: np.concatenate([
            np.asarray(cols[name]) if name in cols else np.full(len(ids), np.nan)  # not due
            for _, ids, cols in self.probe_rows]) for name in names}
        probes = pa.table({
            "step": np.repeat(np.asarray([s for s, _, _ in self.probe_rows], np.int64), sizes),
            "member": np.concatenate([ids for _, ids, _ in self.probe_rows]).astype(np.int32),
            "split": pa.array([PROBE_SPLIT] * sum(sizes), pa.string()),
            **{name: pa.array(v, from_pandas=True) for name, v in columns.items()},
        })
        merged = pa.concat_tables([table, probes], promote_options="default")
        order = np.lexsort(((merged["split"].to_numpy(zero_copy_only=False) == PROBE_SPLIT),
                            merged["member"].to_numpy(), merged["step"].to_numpy()))
        return merged.take(order)

    def _split_table(self) -> pa.Table:
        """Rows ordered by step, member, then splits in logged order (train, test, subsets)."""
        if not self.steps:
            return SCHEMA.empty_table()
        sizes = [len(ids) for ids in self.members]
        step = np.repeat(np.asarray(self.steps, dtype=np.int64), sizes)
        member = np.concatenate(self.members).astype(np.int32)
        parts = []
        for split in self.splits():
            parts.append(pa.table({
                "step": step, "member": member,
                "split": pa.array([split] * len(step), pa.string()),
                "loss": np.concatenate(self.values[f"{split}_loss"]),
                "accuracy": np.concatenate(self.values[f"{split}_acc"]),
            }).cast(SCHEMA))
        table = pa.concat_tables(parts)
        rank = np.repeat(np.arange(len(parts)), len(step))
        order = np.lexsort((rank, table["member"].to_numpy(), table["step"].to_numpy()))
        return table.take(order)

    def clear(self) -> None:
        self.steps.clear()
        self.members.clear()
        self.values.clear()
        self.probe_rows.clear()


def _ids(members: np.ndarray | None, columns: dict[str, np.ndarray]) -> np.ndarray:
    """Member ids of a row of values: as given, or 0..E-1."""
    if members is not None:
        return np.asarray(members, np.int64)
    size = len(next(iter(columns.values()))) if columns else 0
    return np.arange(size, dtype=np.int64)


@dataclass
class SpectraLog:
    """Vector probe values `(E, k)` per step (Fourier spectra, per-group accuracy), flushed
    as long rows (step, member, probe, index, value)."""

    rows: list[tuple[int, str, np.ndarray, np.ndarray]] = field(default_factory=list)

    def add(self, step: int, members: np.ndarray | None = None, **vectors: np.ndarray) -> None:
        for name, value in vectors.items():
            value = np.asarray(value, dtype=np.float64)
            ids = np.arange(len(value)) if members is None else np.asarray(members, np.int64)
            self.rows.append((step, name, ids, value))

    def to_table(self) -> pa.Table:
        if not self.rows:
            return SPECTRA_SCHEMA.empty_table()
        parts = []
        for step, name, ids, value in self.rows:  # value (E, k)
            e, k = value.shape
            parts.append(pa.table({
                "step": np.full(e * k, step, np.int64),
                "member": np.repeat(ids.astype(np.int32), k),
                "probe": pa.array([name] * (e * k), pa.string()),
                "index": np.tile(np.arange(k, dtype=np.int32), e),
                "value": value.ravel(),
            }, schema=SPECTRA_SCHEMA))
        return pa.concat_tables(parts)

    def clear(self) -> None:
        self.rows.clear()


def renumber(table: pa.Table, indices: list[int]) -> pa.Table:
    """A part's table with member k renamed `indices[k]`: a cohort's members as numbered
    in the reproduction (or sweep) that packed them."""
    mapping = np.asarray(indices, dtype=np.int32)
    column = table.column_names.index("member")
    return table.set_column(column, "member", pa.array(mapping[table["member"].to_numpy()]))


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


def member_histories(table: pa.Table, probes: tuple[str, ...] = ()) -> dict[int, dict[str, Any]]:
    """Every member's logged curves: `{member: {"steps", "train_loss", "train_acc",
    "test_loss", "test_acc", <probe>...}}` at its logged steps (a probe NaN where it was not
    measured): what stopping rules read, online and in replay."""
    out: dict[int, dict[str, Any]] = {}
    steps, cols = {}, {}
    for split in ("train", "test"):
        for column, suffix in (("loss", "loss"), ("accuracy", "acc")):
            s, m = split_matrix(table, split, column)
            steps[split], cols[f"{split}_{suffix}"] = s, m
    s = steps["train"]
    probe_values = {}
    for name in probes:
        ps, pm = probe_matrix(table, name)
        full = np.full((len(s), pm.shape[1] if pm.size else 0), np.nan)
        if len(ps):
            k = np.searchsorted(s, ps)
            ok = (k < len(s)) & (s[np.minimum(k, len(s) - 1)] == ps)
            full[k[ok]] = pm[ok]
        probe_values[name] = full
    n_members = cols["train_acc"].shape[1] if cols["train_acc"].size else 0
    for member in range(n_members):
        logged = ~np.isnan(cols["train_acc"][:, member])
        entry: dict[str, Any] = {"steps": s[logged].astype(np.int64)}
        for name, matrix in cols.items():
            entry[name] = matrix[logged, member]
        for name, matrix in probe_values.items():
            entry[name] = (matrix[logged, member] if member < matrix.shape[1]
                           else np.full(int(logged.sum()), np.nan))
        out[member] = entry
    return out
