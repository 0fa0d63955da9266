"""A reproduction file: one published figure as a base config, its settings and its seeds.

```yaml
title: "Figure 3b: Dataset 1, f = 0 vs 0.2"
paper: Carvalho et al. 2025
claim: f = 0 prevents grokking; f = 0.2 groks within the budget.
seeds: 10
settings:                       # one panel each; keys are per-member config fields
  - {split.n_train: 100, split.f: 0.0, train.batch_size: 100}
  - {split.n_train: 100, split.f: 0.2, train.batch_size: 100}
quick: {seeds: 3, steps: 8000}  # what `--quick` runs instead
config: {...}                   # an experiment config, shared by every member
```
Settings x seeds become the members of one cohort (same architecture), so a whole figure
trains as one vectorized model; member k of setting s has seed k.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from grokscope.config import ExperimentConfig, apply_overrides, parse_config, set_dotted
from grokscope.errors import ConfigError
from grokscope.training.members import PER_MEMBER_KEYS

SHORT_NAMES = {"split.n_train": "n", "split.f": "f", "split.fraction": "frac",
               "train.batch_size": "batch", "optim.lr": "lr", "optim.weight_decay": "wd",
               "model.init_scale": "α"}


class QuickSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seeds: Annotated[int, Field(ge=1)] = 2
    steps: Annotated[int, Field(ge=1)] | None = None
    settings: list[int] | None = None  # indices of the settings to keep; None: all
    set: dict[str, Any] = {}  # further dotted overrides


class ReproductionSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str
    paper: str = ""
    claim: str = ""
    seeds: Annotated[int, Field(ge=1)] = 10
    settings: Annotated[list[dict[str, Any]], Field(min_length=1)]
    quick: QuickSpec = QuickSpec()
    config: dict[str, Any]


def load_spec(path: Path) -> ReproductionSpec:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"reproduce: cannot read {path} ({exc.__class__.__name__})") from None
    try:
        return ReproductionSpec.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"reproduce: {path.name}: {key}: {first['msg']}") from None


def setting_label(setting: dict[str, Any]) -> str:
    """`n=100, f=0.2` from `{split.n_train: 100, split.f: 0.2, train.batch_size: 100}`."""
    if "label" in setting:
        return str(setting["label"])
    shown = [k for k in setting if k != "train.batch_size"] or list(setting)
    return ", ".join(f"{SHORT_NAMES.get(k, k)}={setting[k]}" for k in shown)


def expand(spec: ReproductionSpec, quick: bool = False, name: str = "figure",
           out_dir: str = "runs", overrides: list[str] | None = None,
           ) -> tuple[ExperimentConfig, list[dict[str, Any]]]:
    """One cohort config holding every (setting, seed) member, and per member its setting.

    `overrides` (`key=value`) apply to the shared config, e.g. `detect.min_intensity=0.005`
    to re-judge finished runs without retraining. Returns the config and, per member,
    `{"setting": index, "label": ..., "seed": k}`.
    """
    settings = list(enumerate(spec.settings))
    seeds = spec.seeds
    data = copy.deepcopy(spec.config)
    if quick:
        keep = spec.quick.settings
        if keep is not None:
            bad = [i for i in keep if not 0 <= i < len(spec.settings)]
            if bad:
                raise ConfigError(f"reproduce: quick.settings: indices {bad} outside "
                                  f"0..{len(spec.settings) - 1}")
            settings = [(i, spec.settings[i]) for i in keep]
        seeds = spec.quick.seeds
        if spec.quick.steps:
            set_dotted(data, "train.steps", spec.quick.steps)
        for key, value in spec.quick.set.items():
            set_dotted(data, key, value)
    apply_overrides(data, overrides or [])
    keys = list(dict.fromkeys(k for _, s in settings for k in s if k != "label"))
    defaults = _flat_keys(data)
    for key in keys:
        if key not in PER_MEMBER_KEYS:
            raise ConfigError(f"reproduce: setting key {key!r} is not per-member (allowed: "
                              f"{', '.join(PER_MEMBER_KEYS)}); put it in `config` instead")
        lacking = [index for index, setting in settings if key not in setting]
        if lacking and key not in defaults:
            raise ConfigError(f"reproduce: setting {lacking[0]} lacks {key!r} and `config` "
                              "has no default for it")
    members = [{"setting": index, "label": setting_label(setting), "seed": seed}
               for index, setting in settings for seed in range(seeds)]
    shared = {key: _get(data, key) for key in keys if key in defaults}
    columns = {key: [spec.settings[m["setting"]].get(key, shared.get(key)) for m in members]
               for key in keys}
    for key, values in columns.items():
        set_dotted(data, key, values)
    set_dotted(data, "cohort.seed", [m["seed"] for m in members])
    data.get("cohort", {}).pop("members", None)
    data["name"], data["out_dir"] = name, out_dir
    return parse_config(data), members


def _get(data: dict[str, Any], key: str) -> Any:
    node: Any = data
    for part in key.split("."):
        node = node[part]
    return node


def _flat_keys(data: dict[str, Any], prefix: str = "") -> set[str]:
    keys = set()
    for k, v in data.items():
        keys.add(prefix + k)
        if isinstance(v, dict):
            keys |= _flat_keys(v, prefix + k + ".")
    return keys
