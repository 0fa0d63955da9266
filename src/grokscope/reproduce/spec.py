"""A reproduction file: one published figure as a base config, its settings and its seeds.

```yaml
title: "Figure 3b: Dataset 1, f = 0 vs 0.2"
paper: Carvalho et al. 2025
claim: f = 0 prevents grokking; f = 0.2 groks within the budget.
seeds: 10
settings:                       # one panel each; keys are dotted config fields
  - {split.n_train: 100, split.f: 0.0, train.batch_size: 100}
  - {split.n_train: 100, split.f: 0.2, train.batch_size: 100}
quick: {seeds: 3, steps: 8000}  # what `--quick` runs instead (may hold its own `expect`)
expect:                         # published numbers, checked after the run
  - {metric: alpha1, setting: 1, value: 10000, factor: 2, source: "Fig. 3b"}
figure: {loss: true, log_x: true, vs: split.fraction}
config: {...}                   # an experiment config, shared by every member
```
Settings x seeds become cohort members; member k of setting s has seed k. Settings that
differ only in per-member fields (seed, split, lr, ...) share one cohort, one vectorized
model; a setting that changes anything else (the task's operation, a width) gets a cohort
of its own.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from grokscope.config import ExperimentConfig, apply_overrides, parse_config, paths, set_dotted
from grokscope.errors import ConfigError
from grokscope.reproduce.expect import Expectation
from grokscope.schema import first_error
from grokscope.training.members import PER_MEMBER_KEYS
from grokscope.yamlio import read_yaml

SHORT_NAMES = {"split.n_train": "n", "split.f": "f", "split.fraction": "frac",
               "train.batch_size": "batch", "optim.lr": "lr", "optim.weight_decay": "wd",
               "model.init_scale": "α"}


class QuickSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seeds: Annotated[int, Field(ge=1)] = 2
    steps: Annotated[int, Field(ge=1)] | None = None
    settings: list[int] | None = None  # indices of the settings to keep; None: all
    set: dict[str, Any] = {}  # further dotted overrides
    expect: list[Expectation] = []
    title: str | None = None  # when the quick recipe differs from the title's


class FigureSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    loss: bool = False  # a loss panel under each accuracy panel
    log_x: bool = False
    vs: str | None = None  # a setting key: also plot steps to generalize against it


class SourceSpec(BaseModel):
    """A run trained before the settings, on the same config with `set` applied (and
    `quick_set` too in a quick run), one member per seed (member k has seed k): the dense
    net a lottery ticket is pruned from. Every `{source}` in the settings and the config
    becomes its folder."""

    model_config = ConfigDict(extra="forbid")
    set: dict[str, Any] = {}
    quick_set: dict[str, Any] = {}


SOURCE = "{source}"


class ReproductionSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str
    paper: str = ""
    claim: str = ""
    seeds: Annotated[int, Field(ge=1)] = 10
    settings: Annotated[list[dict[str, Any]], Field(min_length=1)]
    quick: QuickSpec = QuickSpec()
    expect: list[Expectation] = []
    figure: FigureSpec = FigureSpec()
    source: SourceSpec | None = None
    config: dict[str, Any]

    def expectations(self, quick: bool) -> list[Expectation]:
        """What a run is checked against: the published numbers, or in a quick run the
        quick block's own (a reduced run is not held to the full budget's numbers)."""
        return self.quick.expect if quick else self.expect


def load_spec(path: Path) -> ReproductionSpec:
    data = read_yaml(path, "reproduce")
    try:
        return ReproductionSpec.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"reproduce: {path.name}: {first_error(exc)}") from None


def setting_label(setting: dict[str, Any]) -> str:
    """`n=100, f=0.2` from `{split.n_train: 100, split.f: 0.2, train.batch_size: 100}`."""
    if "label" in setting:
        return str(setting["label"])
    shown = [k for k in setting if k != "train.batch_size"] or list(setting)
    return ", ".join(f"{SHORT_NAMES.get(k, k)}={setting[k]}" for k in shown)


Cohort = tuple[ExperimentConfig, list[int]]  # a config and the suite-wide member indices


def expand(spec: ReproductionSpec, quick: bool = False, name: str = "figure",
           out_dir: str = "runs", overrides: list[str] | None = None,
           ) -> tuple[list[Cohort], list[dict[str, Any]]]:
    """The cohorts holding every (setting, seed) member, and per member its setting.

    Settings that agree on every non-per-member key share a cohort (in the order they first
    appear). `overrides` (`key=value`) apply to the shared config, e.g.
    `detect.min_intensity=0.005` to re-judge finished runs without retraining. Returns
    `[(config, member indices)]` and, per member, `{"setting": index, "label": ..., "seed": k}`.
    """
    settings = list(enumerate(spec.settings))
    seeds, data = _shared(spec, quick, overrides)
    if quick:
        keep = spec.quick.settings
        if keep is not None:
            bad = [i for i in keep if not 0 <= i < len(spec.settings)]
            if bad:
                raise ConfigError(f"reproduce: quick.settings: indices {bad} outside "
                                  f"0..{len(spec.settings) - 1}")
            settings = [(i, spec.settings[i]) for i in keep]
    keys = list(dict.fromkeys(k for _, s in settings for k in s if k != "label"))
    per_member = [k for k in keys if k in PER_MEMBER_KEYS]
    shape_keys = [k for k in keys if k not in PER_MEMBER_KEYS]
    defaults = set(paths.flatten(data, sections=True))
    for key in per_member:
        lacking = [index for index, setting in settings if key not in setting]
        if lacking and key not in defaults:
            raise ConfigError(f"reproduce: setting {lacking[0]} lacks {key!r} and `config` "
                              "has no default for it")
    members = [{"setting": index, "label": setting_label(setting), "seed": seed}
               for index, setting in settings for seed in range(seeds)]
    groups: dict[str, list[int]] = {}  # shape signature -> setting indices
    for index, setting in settings:
        signature = repr([setting.get(k) for k in shape_keys])
        groups.setdefault(signature, []).append(index)
    shared = {key: paths.get(data, key) for key in per_member if key in defaults}
    cohorts = []
    for setting_ids in groups.values():
        first = spec.settings[setting_ids[0]]
        group = copy.deepcopy(data)
        for key in shape_keys:
            if key in first:
                set_dotted(group, key, copy.deepcopy(first[key]))
        indices = [i for i, m in enumerate(members) if m["setting"] in setting_ids]
        for key in per_member:
            set_dotted(group, key, [spec.settings[members[i]["setting"]].get(key, shared.get(key))
                                    for i in indices])
        set_dotted(group, "cohort.seed", [members[i]["seed"] for i in indices])
        group.get("cohort", {}).pop("members", None)
        group["name"], group["out_dir"] = name, out_dir
        cohorts.append((parse_config(group), indices))
    return cohorts, members


def _shared(spec: ReproductionSpec, quick: bool, overrides: list[str] | None,
            ) -> tuple[int, dict[str, Any]]:
    """The seeds and the config every member shares: the file's, with the quick block's
    steps and settings in a quick run, then the command line's overrides."""
    data = copy.deepcopy(spec.config)
    seeds = spec.quick.seeds if quick else spec.seeds
    if quick:
        if spec.quick.steps:
            set_dotted(data, "train.steps", spec.quick.steps)
        for key, value in spec.quick.set.items():
            set_dotted(data, key, value)
    apply_overrides(data, overrides or [])
    return seeds, data


def source_config(spec: ReproductionSpec, quick: bool, folder: str,
                  overrides: list[str] | None = None) -> ExperimentConfig | None:
    """The config of the file's `source` run (None without one): the shared config with
    the source's own settings, seeds 0..S-1."""
    if spec.source is None:
        return None
    seeds, data = _shared(spec, quick, overrides)
    for key, value in {**spec.source.set, **(spec.source.quick_set if quick else {})}.items():
        set_dotted(data, key, value)
    set_dotted(data, "cohort.seed", list(range(seeds)))
    data.get("cohort", {}).pop("members", None)
    data["name"], data["out_dir"] = Path(folder).name, str(Path(folder).parent)
    return parse_config(data)


def with_source(spec: ReproductionSpec, folder: str) -> ReproductionSpec:
    """The spec with every `{source}` string in its settings and config replaced by the
    source run's folder."""
    def put(value: Any) -> Any:
        if isinstance(value, str):
            return value.replace(SOURCE, folder)
        if isinstance(value, dict):
            return {k: put(v) for k, v in value.items()}
        if isinstance(value, list):
            return [put(v) for v in value]
        return value

    return spec.model_copy(update={"settings": put(spec.settings), "config": put(spec.config)})
