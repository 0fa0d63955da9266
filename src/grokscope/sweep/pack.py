"""Packing: the runs of a sweep into as few cohorts as the hardware allows.

Runs that differ only in per-member settings (seed, split, data fraction, lr, weight decay,
betas, init and output scale) can train side by side as one vectorized cohort; runs that
differ in anything else (width, depth, p, the task, the batch size) go to different cohorts.
"""

from __future__ import annotations

import copy
import hashlib
import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TypeVar

from grokscope.config import ExperimentConfig, parse_config, paths, set_dotted
from grokscope.config.identity import cohort_signature
from grokscope.sweep.spec import Run
from grokscope.training.members import PER_MEMBER_KEYS

# keys a cohort may hold per member; the batch size stays a shape key (padding a member's
# smaller batch to a larger one would waste its work)
PACKABLE = tuple(k for k in PER_MEMBER_KEYS if k != "train.batch_size") + ("cohort.seed",)


@dataclass
class CohortPlan:
    """One cohort of the sweep: its id (from its members' run ids), config and runs."""

    id: str
    config: ExperimentConfig
    runs: list[Run]

    @property
    def run_ids(self) -> list[str]:
        return [run.id for run in self.runs]


def signature(config: ExperimentConfig) -> str:
    """What must be equal for two runs to share a cohort: the config less packable keys."""
    return cohort_signature(config, PACKABLE)


def cohort_id(run_ids: list[str]) -> str:
    return hashlib.sha1(",".join(sorted(run_ids)).encode()).hexdigest()[:12]


def cohort_config(runs: list[Run], name: str) -> ExperimentConfig:
    """One config holding `runs` as members: packable keys become per-member lists."""
    data = runs[0].config.model_dump(mode="json")
    dumped = [run.config.model_dump(mode="json") for run in runs]
    for key in PACKABLE:
        values = [paths.get(d, key) for d in dumped]
        if key == "cohort.seed" or any(v != values[0] for v in values):
            set_dotted(data, key, copy.deepcopy(values))
    data["cohort"]["members"] = len(runs)
    data["name"] = name
    return parse_config(data)


T = TypeVar("T")


def balanced_chunks(items: list[T], key: Callable[[T], Hashable],
                    max_members: int) -> list[list[T]]:
    """Group items by `key` (in first-seen order), then cut each group into balanced chunks
    of at most `max_members`: the one packer of sweeps and reproductions."""
    if max_members < 1:
        raise ValueError(f"max_members must be >= 1, got {max_members}")
    groups: dict[Hashable, list[T]] = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    chunks = []
    for members in groups.values():
        n_parts = math.ceil(len(members) / max_members)
        size = math.ceil(len(members) / n_parts)
        chunks += [members[start:start + size] for start in range(0, len(members), size)]
    return chunks


def pack(runs: list[Run], max_members: int) -> list[CohortPlan]:
    """Group runs by signature (in first-seen order), then cut each group into balanced
    cohorts of at most `max_members`."""
    plans = []
    for chunk in balanced_chunks(runs, lambda run: signature(run.config), max_members):
        ident = cohort_id([r.id for r in chunk])
        plans.append(CohortPlan(ident, cohort_config(chunk, f"cohort-{ident}"), chunk))
    return plans
