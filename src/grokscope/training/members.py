"""Cohort members: resolve per-member config fields into one spec per member."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from grokscope.config import ExperimentConfig, set_dotted
from grokscope.errors import ConfigError


@dataclass(frozen=True)
class MemberSpec:
    """Everything that may differ between members of one cohort (same architecture)."""

    seed: int
    split_seed: int
    fraction: float | None  # uniform split
    n_train: int | None  # subclass_shift split
    f: float | None  # subclass_shift split
    batch_size: int | None  # None: full batch
    lr: float
    weight_decay: float
    beta1: float
    beta2: float
    init_scale: float
    output_scale: float = 1.0
    order: str = "reshuffle"  # example ordering of the mini-batch stream
    label_noise: float = 0.0  # share of the training labels replaced by another class

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# (dotted key, getter) of every per-member field
_PER_MEMBER = {
    "cohort.seed": lambda c: c.cohort.seed,
    "split.seed": lambda c: c.split.seed,
    "split.fraction": lambda c: getattr(c.split, "fraction", None),
    "split.n_train": lambda c: getattr(c.split, "n_train", None),
    "split.f": lambda c: getattr(c.split, "f", None),
    "split.kappa": lambda c: getattr(c.split, "kappa", None),  # teacher_student split
    "train.batch_size": lambda c: c.train.batch_size,
    "train.order": lambda c: c.train.order,
    "train.label_noise": lambda c: c.train.label_noise,
    "optim.lr": lambda c: c.optim.lr,
    "optim.weight_decay": lambda c: c.optim.weight_decay,
    "optim.betas": lambda c: c.optim.betas,
    "model.init_scale": lambda c: c.model.init_scale,
    "model.output_scale": lambda c: c.model.output_scale,
}


PER_MEMBER_KEYS = tuple(k for k in _PER_MEMBER if k != "cohort.seed")


def is_member_list(key: str, value: Any) -> bool:
    """Whether a config value holds one entry per member (betas: a list of pairs)."""
    if key == "optim.betas":  # a pair is one value; a list of pairs is per-member
        return isinstance(value, list) and len(value) > 0 and isinstance(value[0], tuple | list)
    return isinstance(value, list)


def _maybe(kind: type, value: Any) -> Any:
    return None if value is None else kind(value)


def cohort_size(config: ExperimentConfig) -> int:
    """E: `cohort.members`, or the length of the per-member lists when it is left out."""
    lengths = {k: len(get(config)) for k, get in _PER_MEMBER.items()
               if is_member_list(k, get(config))}
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
        return list(value) if is_member_list(key, value) else [value] * size

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
            fraction=_maybe(float, fraction),
            n_train=_maybe(int, n_train),
            f=_maybe(float, f),
            batch_size=_maybe(int, batch),
            lr=float(lr),
            weight_decay=float(wd),
            beta1=float(betas[0]),
            beta2=float(betas[1]),
            init_scale=float(scale),
            output_scale=float(out_scale),
            order=str(order),
            label_noise=float(noise),
        )
        for (seed, split_seed, fraction, n_train, f, batch, lr, wd, betas, scale, out_scale,
             order, noise) in zip(
            seeds,
            split_seeds,
            per_member("split.fraction"),
            per_member("split.n_train"),
            per_member("split.f"),
            per_member("train.batch_size"),
            per_member("optim.lr"),
            per_member("optim.weight_decay"),
            per_member("optim.betas"),
            per_member("model.init_scale"),
            per_member("model.output_scale"),
            per_member("train.order"),
            per_member("train.label_noise"),
            strict=True,
        )
    ]


def select_members(config: ExperimentConfig, indices: list[int]) -> ExperimentConfig:
    """The config of a sub-cohort: members `indices` of `config`, each keeping its own seed,
    split and hyper-parameters (so it trains exactly as it would in the full cohort)."""
    specs = resolve_members(config)
    data = config.model_dump(mode="json")
    for key, get in _PER_MEMBER.items():
        value = get(config)
        if key == "cohort.seed":
            set_dotted(data, key, [specs[i].seed for i in indices])
        elif is_member_list(key, value):
            set_dotted(data, key, [value[i] for i in indices])
    for rule in data.get("stopping", []):  # per-member rule settings follow their members
        for key, value in rule.items():
            if isinstance(value, list):
                rule[key] = [value[i] for i in indices]
    data["cohort"]["members"] = len(indices)
    return ExperimentConfig.model_validate(data)
