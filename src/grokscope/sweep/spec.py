"""A sweep: a base experiment and the runs around it, declared in YAML.

```yaml
name: phase_fraction_wd
base: ../quickstart.yaml            # an experiment file (relative to this one), optional
config: {model: {name: mlp}}        # overrides on top of base, optional
grid:                               # cartesian product; lists or generators
  split.fraction: linspace(0.2, 0.9, 8)
  optim.weight_decay: logspace(-2, 1, 8)     # 10^-2 .. 10^1
zip:                                # keys that vary together: one axis of equal-length lists
  optim.lr: [1.0e-3, 3.0e-3]
  optim.warmup_steps: [0, 10]
random: {n: 10, seed: 0, keys: {optim.lr: loguniform(1e-4, 1e-2)}}   # n sampled points
recipes:                            # named points, each a set of overrides: one axis
  base: {}
  adam_l2: {optim.name: adam}
seeds: 3                            # seeds 0..2 of every point
```
Every run is the base config with one value per swept key and one seed, as a one-member
cohort; runs are then packed into cohorts (see `pack`). A recipe shows in the table as the
`recipe` column (its name), not as its overrides: one-factor-at-a-time designs read as
names ("adam_l2"), where a `zip` would repeat every base value in every column.
"""

from __future__ import annotations

import copy
import itertools
import math
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from grokscope.config import ExperimentConfig, identity, parse_config, paths, set_dotted
from grokscope.errors import ConfigError
from grokscope.schema import first_error
from grokscope.yamlio import read_mapping

GENERATOR = re.compile(r"^\s*(linspace|logspace|range|uniform|loguniform)\((.*)\)\s*$")


class RandomSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n: Annotated[int, Field(ge=1, le=100_000, strict=True)]
    seed: int = 0
    keys: Annotated[dict[str, str], Field(min_length=1)]  # key -> uniform(a, b) | loguniform(a, b)


class SweepSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=200,
                               pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")] = "sweep"
    base: str | None = None
    config: dict[str, Any] = {}
    grid: dict[str, list[Any] | str] = {}
    zip: dict[str, list[Any]] = {}
    random: RandomSpec | None = None
    recipes: dict[Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")],
                  dict[str, Any]] = {}
    seeds: Annotated[int, Field(ge=1, le=100_000, strict=True)] = 1
    title: str = ""


@dataclass(frozen=True)
class Run:
    """One point of the sweep: its swept values, its seed and its resolved config."""

    values: tuple[tuple[str, Any], ...]  # (dotted key, value) in spec order
    seed: int
    config: ExperimentConfig

    @property
    def id(self) -> str:
        return run_id(self.config)

    def as_dict(self) -> dict[str, Any]:
        return {**dict(self.values), "seed": self.seed}


def run_id(config: ExperimentConfig) -> str:
    """A stable id from what is trained (`config.identity`): the resolved config less its
    name, output folder and analysis settings."""
    return identity.run_id(config)


def parse_values(key: str, value: list[Any] | str) -> list[Any]:
    """A grid axis: a list as is, or `linspace(a, b, n)`, `logspace(a, b, n)` (10^a..10^b),
    `range(a, b[, step])` (b excluded)."""
    if isinstance(value, list):
        if not value:
            raise ConfigError(f"sweep: grid.{key}: empty list")
        return value
    match = GENERATOR.match(str(value))
    if not match or match[1] in ("uniform", "loguniform"):
        raise ConfigError(f"sweep: grid.{key}: expected a list or linspace(a, b, n), "
                          f"logspace(a, b, n), range(a, b[, step]); got {value!r}")
    args = _numbers(f"grid.{key}", match[2])
    kind = match[1]
    if kind == "range":
        if not 1 <= len(args) <= 3 or any(a != int(a) for a in args):
            raise ConfigError(f"sweep: grid.{key}: range(a, b[, step]) takes integers, got "
                              f"{value!r}")
        ints = [int(a) for a in args]
        if len(ints) == 3 and ints[2] == 0:
            raise ConfigError(f"sweep: grid.{key}: range step must not be 0, got {value!r}")
        if len(range(*ints)) > MAX_RUNS:
            raise ConfigError(f"sweep: grid.{key}: {value!r} has more than {MAX_RUNS:,} values")
        values = list(range(*ints))
        if not values:
            raise ConfigError(f"sweep: grid.{key}: {value!r} is empty (b excluded; a > b "
                              "needs a negative step)")
        return values
    if len(args) != 3 or args[2] < 1 or args[2] != int(args[2]) or args[2] > MAX_RUNS:
        raise ConfigError(f"sweep: grid.{key}: {kind}(a, b, n) needs 1 <= n <= {MAX_RUNS:,}, "
                          f"got {value!r}")
    with np.errstate(over="ignore"):
        points = np.linspace(args[0], args[1], int(args[2]))
        if kind == "logspace":
            points = 10.0 ** points
    if not np.isfinite(points).all():
        raise ConfigError(f"sweep: grid.{key}: {value!r} gives values that are not finite "
                          "(10^a overflows past 10^308)")
    return [float(f"{p:.6g}") for p in points]  # 6 significant digits: readable, stable ids


def _numbers(key: str, text: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        raise ConfigError(f"sweep: {key}: arguments must be numbers, got {text!r}") from None
    if not all(math.isfinite(v) for v in values):
        raise ConfigError(f"sweep: {key}: arguments must be finite numbers, got {text!r}")
    return values


def _sample(key: str, text: str, rng: random.Random) -> float:
    match = GENERATOR.match(text)
    if not match or match[1] not in ("uniform", "loguniform"):
        raise ConfigError(f"sweep: random.keys.{key}: expected uniform(a, b) or "
                          f"loguniform(a, b), got {text!r}")
    bounds = _numbers(f"random.keys.{key}", match[2])
    if len(bounds) != 2:
        raise ConfigError(f"sweep: random.keys.{key}: {match[1]}(a, b) takes two bounds, "
                          f"got {text!r}")
    low, high = bounds
    if match[1] == "uniform":
        return float(f"{rng.uniform(low, high):.6g}")
    if low <= 0 or high <= 0:
        raise ConfigError(f"sweep: random.keys.{key}: loguniform bounds must be > 0")
    return float(f"{math.exp(rng.uniform(math.log(low), math.log(high))):.6g}")


def load_sweep_spec(path: str | Path) -> tuple[SweepSpec, dict[str, Any]]:
    """The spec and its base experiment data (base file, then `config` overrides)."""
    path = Path(path)
    raw = read_mapping(path, "sweep", "a sweep needs at least a grid, zip, random or "
                       "recipes block (docs/sweeps.md)")
    try:
        spec = SweepSpec.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"sweep: {path.name}: {first_error(exc, 'sweep')}") from None
    data: dict[str, Any] = {}
    if spec.base:
        base = (path.parent / spec.base).resolve()
        data = read_mapping(base, "sweep: base")
    data = paths.merge(data, spec.config)
    check_axes(spec)
    return spec, data


# Keys a sweep sets itself for every run: an axis over them would collapse its points.
RESERVED = ("cohort", "cohort.seed", "cohort.members", "name", "out_dir")
RECIPE = "recipe"  # the table column naming a run's recipe (not a config key)
MAX_RUNS = 100_000


def check_axes(spec: SweepSpec) -> None:
    """Refuse axes that would silently collapse points: a reserved key (use `seeds:` for
    seeds), or one key in two blocks."""
    blocks = {"grid": list(spec.grid), "zip": list(spec.zip),
              "random.keys": list(spec.random.keys) if spec.random else []}
    seen: dict[str, str] = {}
    recipe_keys = {key: name for name, keys in spec.recipes.items() for key in keys}
    for block, keys in [*blocks.items(), *((f"recipes.{name}", list(keys))
                                           for name, keys in spec.recipes.items())]:
        for key in keys:
            if key == RECIPE:
                raise ConfigError(f"sweep: {block}.{key}: `recipe` names the recipes "
                                  "block's column; it is not a config key")
            if key in RESERVED or key.startswith(("cohort.seed.", "cohort.members.")):
                hint = " (use `seeds: N` for seeds)" if key.startswith("cohort.seed") else ""
                raise ConfigError(f"sweep: {block}.{key}: the sweep sets this key itself for "
                                  f"every run, so it cannot be swept{hint}; reserved: "
                                  f"{', '.join(RESERVED)}")
            if identity.is_analysis_key(key):
                raise ConfigError(f"sweep: {block}.{key}: detect settings change only the "
                                  "analysis, not what is trained, so every value would be the "
                                  "same run; set one value under `config:` (running the sweep "
                                  "again with another value re-detects its finished runs "
                                  "without retraining)")
            if block.startswith("recipes."):
                continue  # recipes may share keys; one also swept elsewhere failed there
            if key in seen or key in recipe_keys:
                other = seen.get(key) or f"recipes.{recipe_keys[key]}"
                raise ConfigError(f"sweep: {key} is swept in both {other} and {block}; "
                                  "give each key one place")
            seen[key] = block


def points(spec: SweepSpec) -> list[tuple[tuple[str, Any], ...]]:
    """Every swept point (without seeds): recipes x grid x zip rows x random samples (a
    recipe is the point's `("recipe", name)`; `expand_runs` applies its overrides)."""
    axes: list[list[tuple[tuple[str, Any], ...]]] = []
    if spec.recipes:
        axes.append([((RECIPE, name),) for name in spec.recipes])
    for key, value in spec.grid.items():
        axes.append([((key, v),) for v in parse_values(key, value)])
    if spec.zip:
        lengths = {len(v) for v in spec.zip.values()}
        if len(lengths) != 1:
            raise ConfigError("sweep: zip: every key needs the same number of values, got "
                              + ", ".join(f"{k}: {len(v)}" for k, v in spec.zip.items()))
        axes.append([tuple((k, v[i]) for k, v in spec.zip.items()) for i in range(lengths.pop())])
    if spec.random:
        rng = random.Random(spec.random.seed)
        axes.append([tuple((k, _sample(k, d, rng)) for k, d in spec.random.keys.items())
                     for _ in range(spec.random.n)])
    total = math.prod(len(axis) for axis in axes) * max(1, spec.seeds)
    if total > MAX_RUNS:
        raise ConfigError(f"sweep: {total:,} runs (recipes x grid x zip x random x seeds) is "
                          f"more than {MAX_RUNS:,}; split the sweep")
    return [tuple(kv for part in combo for kv in part) for combo in itertools.product(*axes)]


def expand_runs(spec: SweepSpec, base: dict[str, Any], out_dir: str = "runs") -> list[Run]:
    """Every run of the sweep, validated; a bad value fails with the key that set it."""
    runs = []
    for point in points(spec):
        for seed in range(spec.seeds):
            data = copy.deepcopy(base)
            for key, value in point:
                for dotted, item in (spec.recipes[value].items() if key == RECIPE
                                     else [(key, value)]):
                    set_dotted(data, dotted, copy.deepcopy(item))
            cohort = data.setdefault("cohort", {})
            if not isinstance(cohort, dict):
                raise ConfigError(f"sweep: config.cohort must be a section, got {cohort!r}")
            cohort["seed"], cohort["members"] = seed, 1
            data["name"], data["out_dir"] = spec.name, out_dir
            try:
                config = parse_config(data)
            except ConfigError as exc:
                # a value with a line break would break the one-line error: shown as repr
                where = ", ".join(f"{k}={v!r}" if isinstance(v, str) and not v.isprintable()
                                  else f"{k}={v}" for k, v in point)
                raise ConfigError(f"sweep: at {where}: {exc}") from None
            runs.append(Run(point, seed, config))
    return runs
