"""A metrics table as tracker scalars: per member, per logged step, `{tag: value}`.

Tags: `<split>/loss` and `<split>/accuracy` for every split (`train`, `test`, `test/...`),
and each probe scalar under its own name (`weight_norm/total`, `fourier/gini`, ...).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from grokscope.store.metrics import PROBE_SPLIT, probe_names


def long_rows(table: pa.Table) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """member, step, tag and value arrays, ordered by member then step (NaN kept: a diverged
    loss is a value; a probe not measured at a step is no row)."""
    members, steps, tags, values = [], [], [], []
    splits = table.filter(pc.not_equal(table["split"], PROBE_SPLIT))
    split_names = splits["split"].to_numpy(zero_copy_only=False).astype(object)
    for column in ("loss", "accuracy"):
        members.append(splits["member"].to_numpy())
        steps.append(splits["step"].to_numpy())
        tags.append(split_names + f"/{column}")
        values.append(splits[column].to_numpy(zero_copy_only=False).astype(float))
    probes = table.filter(pc.equal(table["split"], PROBE_SPLIT))
    for name in probe_names(table):
        rows = probes.filter(pc.is_valid(probes[name]))
        members.append(rows["member"].to_numpy())
        steps.append(rows["step"].to_numpy())
        tags.append(np.full(rows.num_rows, name, dtype=object))
        values.append(rows[name].to_numpy(zero_copy_only=False).astype(float))
    if not members:
        empty = np.zeros(0)
        return empty.astype(np.int64), empty.astype(np.int64), empty.astype(object), empty
    member, step = np.concatenate(members).astype(np.int64), np.concatenate(steps)
    tag, value = np.concatenate(tags), np.concatenate(values)
    order = np.lexsort((step, member))
    return member[order], step[order].astype(np.int64), tag[order], value[order]


def member_steps(table: pa.Table) -> Iterator[tuple[int, int, dict[str, float]]]:
    """(member, step, {tag: value}) for every logged step, member by member."""
    member, step, tag, value = long_rows(table)
    if not len(member):
        return
    cuts = np.flatnonzero((np.diff(member) != 0) | (np.diff(step) != 0)) + 1
    for start, end in zip(np.r_[0, cuts], np.r_[cuts, len(member)], strict=True):
        yield (int(member[start]), int(step[start]),
               {str(t): float(v) for t, v in zip(tag[start:end], value[start:end], strict=True)})
