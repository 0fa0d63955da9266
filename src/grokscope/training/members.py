"""Cohort members: resolve per-member config fields into one spec per member."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from grokscope.config import ExperimentConfig
from grokscope.errors import ConfigError


@dataclass(frozen=True)
class MemberSpec:
    """Everything that may differ between members of one cohort (same architecture)."""

    seed: int
    split_seed: int
    fraction: float
    lr: float
    weight_decay: float
    beta1: float
    beta2: float
    init_scale: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# (dotted key, getter) of every per-member field
_PER_MEMBER = {
    "cohort.seed": lambda c: c.cohort.seed,
    "split.seed": lambda c: c.split.seed,
    "split.fraction": lambda c: c.split.fraction,
    "optim.lr": lambda c: c.optim.lr,
    "optim.weight_decay": lambda c: c.optim.weight_decay,
    "optim.betas": lambda c: c.optim.betas,
    "model.init_scale": lambda c: c.model.init_scale,
}


def _is_list(key: str, value: Any) -> bool:
    if key == "optim.betas":  # a pair is one value; a list of pairs is per-member
        return isinstance(value, list) and len(value) > 0 and isinstance(value[0], tuple | list)
    return isinstance(value, list)


def cohort_size(config: ExperimentConfig) -> int:
    """E: `cohort.members`, or the length of the per-member lists when it is left out."""
    lengths = {k: len(get(config)) for k, get in _PER_MEMBER.items() if _is_list(k, get(config))}
    size = config.cohort.members or max(lengths.values(), default=1)
    for key, length in lengths.items():
        if length != size:
            raise ConfigError(f"{key}: has {length} values but the cohort has {size} members")
    return size


def resolve_members(config: ExperimentConfig) -> list[MemberSpec]:
    """One MemberSpec per cohort member, scalars broadcast and lists checked for length."""
    size = cohort_size(config)

    def per_member(key: str) -> list[Any]:
        value = _PER_MEMBER[key](config)
        return list(value) if _is_list(key, value) else [value] * size

    seeds = config.cohort.seed
    seeds = list(seeds) if isinstance(seeds, list) else [seeds + k for k in range(size)]
    split_seeds = [
        own if own is not None else seed
        for own, seed in zip(per_member("split.seed"), seeds, strict=True)
    ]
    return [
        MemberSpec(
            seed=int(seed),
            split_seed=int(split_seed),
            fraction=float(fraction),
            lr=float(lr),
            weight_decay=float(wd),
            beta1=float(betas[0]),
            beta2=float(betas[1]),
            init_scale=float(scale),
        )
        for seed, split_seed, fraction, lr, wd, betas, scale in zip(
            seeds,
            split_seeds,
            per_member("split.fraction"),
            per_member("optim.lr"),
            per_member("optim.weight_decay"),
            per_member("optim.betas"),
            per_member("model.init_scale"),
            strict=True,
        )
    ]
