"""The probe set of a run: each configured probe on its schedule, applied to the cohort.

A probe is a function `(cohort, spec, evaluation) -> {name: (E,) or (E, k) tensor}`;
`(E,)` values are scalars (rows of metrics.parquet), `(E, k)` values spectra (rows of
spectra.parquet). Values stay on the device; the training loop copies them to the host in
blocks, as it does the loss and accuracy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import torch

from grokscope.errors import ConfigError
from grokscope.probes.api import ProbeContext
from grokscope.probes.circuit import frequency_energy, restricted_excluded, sum_directions
from grokscope.probes.config import (
    PROBES,
    AbsErrorProbe,
    CircuitProbe,
    FourierProbe,
    GroupProbe,
    NumericsProbe,
    ProbeSpec,
    PruningProbe,
    RepresentationProbe,
    SharpnessProbe,
    ShiftProbe,
)
from grokscope.probes.fourier import fourier_features
from grokscope.probes.groups import group_accuracy
from grokscope.probes.norms import weight_norms
from grokscope.probes.pruning import pruned_accuracy
from grokscope.probes.representation import collapse_shares, effective_rank, softmax_collapse
from grokscope.probes.schedule import Schedule
from grokscope.probes.sharpness import hessian_trace, member_random, top_eigenvalue
from grokscope.probes.shift import median_bandwidth, mmd_rbf

if TYPE_CHECKING:
    from grokscope.training.cohort import Evaluation

Values = dict[str, torch.Tensor]
Cohort = ProbeContext  # what every probe here reads: the narrow context, not the engine


def _member_rows(mask: torch.Tensor, limit: int, seeds: list[int]) -> torch.Tensor:
    """`(E, n)` rows per member: a random `n` of each member's masked rows, drawn from that
    member's seed alone; n is the smallest count (capped at `limit`), so no sample is padded."""
    n = min(int(mask.sum(1).min()), limit)
    rows = []
    for member_mask, seed in zip(mask.cpu(), seeds, strict=True):
        ids = member_mask.nonzero().squeeze(1)
        order = torch.randperm(len(ids), generator=torch.Generator().manual_seed(int(seed)))
        rows.append(ids[order[:n]].sort().values)
    return torch.stack(rows).to(mask.device)


def _seeds(cohort: Cohort, salt: int = 0) -> list[int]:
    """Probe randomness per member: from the member's seed (and the probe's seed) only."""
    return [member.seed * 1_000_003 + salt for member in cohort.members]


def _weight_norm(cohort: Cohort, spec: ProbeSpec, evaluation: Callable) -> Values:
    return weight_norms(cohort.model)


def _groups(cohort: Cohort, spec: GroupProbe, evaluation: Callable) -> Values:
    result = evaluation()
    mask = cohort.test_masks if spec.split == "test" else cohort.masks
    out = {}
    for name in spec.groups or _default_groups(cohort):
        ids, size = cohort.task.groups[name], cohort.task.group_sizes[name]
        out[f"groups/{spec.split}_acc/{name}"] = group_accuracy(result.correct, mask, ids, size)
        out[f"groups/{spec.split}_loss/{name}"] = group_accuracy(result.loss, mask, ids, size)
    return out


def _default_groups(cohort: Cohort) -> list[str]:
    """Every group but the data's layout (`in_test`, and what a task lists under
    `meta["layout_groups"]`, e.g. the teacher-student blocks): those only say which rows a
    member may see, so a per-group accuracy over them is empty (NaN) or trivial."""
    layout = {"in_test", *cohort.task.meta.get("layout_groups", ())}
    return [name for name in cohort.task.groups if name not in layout]


def _embedding(cohort: Cohort) -> torch.Tensor:
    """The operand embedding `(E, p, d)` (the transformer's `=` row left out)."""
    return cohort.model.embed.detach()[:, : cohort.task.meta["p"]]


def _fourier(cohort: Cohort, spec: FourierProbe, evaluation: Callable) -> Values:
    return fourier_features(_embedding(cohort), spec.top_k)


def _circuit(cohort: Cohort, spec: CircuitProbe, evaluation: Callable) -> Values:
    p = cohort.task.meta["p"]
    rows = torch.arange(p * p, device=cohort.device)  # the a-major grid: every pair
    logits = cohort.outputs_at(rows).to(torch.float64)  # (E, p*p, C)
    if spec.key_freqs:
        key = torch.tensor(spec.key_freqs, device=cohort.device).expand(cohort.n_members, -1)
    else:  # each member's strongest (a+b) frequencies now
        energy = frequency_energy(logits, sum_directions(p, device=cohort.device))
        key = energy.topk(min(spec.top_k, p // 2), dim=1).indices + 1
    return restricted_excluded(logits, cohort.task.labels, key, cohort.masks)


def _sharpness(cohort: Cohort, spec: SharpnessProbe, evaluation: Callable) -> Values:
    seeds = _seeds(cohort, spec.seed)
    rows = _member_rows(cohort.masks, spec.max_examples, seeds)
    weights = torch.full(rows.shape, 1 / rows.shape[1], device=cohort.device)
    params = list(cohort.model.parameters())

    def objective() -> torch.Tensor:
        return cohort.objective(rows, weights)

    start = member_random(params, seeds)
    out = {"sharpness/top_eigenvalue": top_eigenvalue(objective, params, start,
                                                      spec.iterations)}
    if spec.trace_samples:
        probes = [member_random(params, [s + 1 + i for s in seeds], "rademacher")
                  for i in range(spec.trace_samples)]
        out["sharpness/trace"] = hessian_trace(objective, params, probes)
    return out


def _representation(cohort: Cohort, spec: RepresentationProbe, evaluation: Callable) -> Values:
    test_rows = _member_rows(cohort.test_masks, spec.max_examples, _seeds(cohort))
    rank = effective_rank(cohort.outputs_at(test_rows, features=True))
    train_rows = _member_rows(cohort.masks, spec.max_examples, _seeds(cohort))
    logits = cohort.outputs_at(train_rows)
    weights = torch.full(train_rows.shape, 1 / train_rows.shape[1], device=cohort.device)
    collapse = softmax_collapse(logits, cohort.task.labels[train_rows], weights)
    return {"representation/effective_rank": rank, "representation/softmax_collapse": collapse}


def _numerics(cohort: Cohort, spec: NumericsProbe, evaluation: Callable) -> Values:
    from grokscope.training.losses import DTYPES, per_example_loss

    dtype = spec.dtype or cohort.config.train.loss_dtype
    rows = _member_rows(cohort.masks, spec.max_examples, _seeds(cohort))
    logits = cohort.outputs_at(rows)
    weights = torch.full(rows.shape, 1 / rows.shape[1], device=cohort.device)
    loss = per_example_loss(logits, cohort.task.labels[rows], cohort.config.train.loss, dtype)
    collapsed, zero = collapse_shares(logits, loss, weights, DTYPES[dtype])
    return {"numerics/softmax_collapse": collapsed, "numerics/zero_terms": zero}


def _pruning(cohort: Cohort, spec: PruningProbe, evaluation: Callable) -> Values:
    return pruned_accuracy(cohort.model, spec.sparsities, lambda: cohort.evaluate().test_acc)


def _shift(cohort: Cohort, spec: ShiftProbe, evaluation: Callable) -> Values:
    """MMD^2 between each member's train and test representations (Gretton et al. 2012),
    bandwidth: the median distance within the member's test sample."""
    seeds = _seeds(cohort)
    train = cohort.outputs_at(_member_rows(cohort.masks, spec.max_examples, seeds), True)
    test = cohort.outputs_at(_member_rows(cohort.test_masks, spec.max_examples, seeds), True)
    values = []
    for x, y in zip(train.double().cpu(), test.double().cpu(), strict=True):
        values.append(mmd_rbf(x, y, median_bandwidth(y) or 1.0))
    return {"shift/mmd_representation": torch.tensor(values, device=cohort.device)}


def _abs_error(cohort: Cohort, spec: AbsErrorProbe, evaluation: Callable) -> Values:
    """Mean |f(x) - y| per member: the evaluation's per-example squared errors, square-rooted
    (a regression's loss is the squared error to the target)."""
    error = evaluation().loss.sqrt()
    out = {}
    for split, mask in (("test", cohort.test_masks), ("train", cohort.masks)):
        weights = mask.to(error.dtype)
        out[f"abs_error/{split}"] = (error * weights).sum(1) / weights.sum(1).clamp(min=1)
    return out


def _check_regression(cohort: Cohort, spec: AbsErrorProbe, where: str) -> None:
    if not cohort.task.regression:
        raise ConfigError(f"{where}.name: '{spec.name}' needs a regression task (task "
                          f"'{cohort.task.name}' is a classification)")


def _check_fourier(cohort: Cohort, spec: ProbeSpec, where: str) -> None:
    if cohort.task.name != "modular" or not hasattr(cohort.model, "embed"):
        raise ConfigError(f"{where}.name: '{spec.name}' needs a modular task with a token "
                          f"model (got task '{cohort.task.name}')")


def _check_circuit(cohort: Cohort, spec: CircuitProbe, where: str) -> None:
    _check_fourier(cohort, spec, where)
    task = cohort.task
    p = task.meta["p"]
    if task.meta.get("op") != "a+b":
        raise ConfigError(f"{where}.name: 'circuit' measures the a+b circuit (allowed ops: "
                          f"a+b, got {task.meta.get('op')!r})")
    bad = [k for k in spec.key_freqs or [] if k > p // 2]
    if bad:
        raise ConfigError(f"{where}.key_freqs: frequencies must be in 1..{p // 2} for p={p},"
                          f" got {bad}")


def _check_groups(cohort: Cohort, spec: GroupProbe, where: str) -> None:
    unknown = sorted(set(spec.groups or []) - set(cohort.task.groups))
    if unknown:
        raise ConfigError(f"{where}.groups: unknown group(s) {unknown} for task "
                          f"'{cohort.task.name}' (allowed: {', '.join(_default_groups(cohort))})")
    if not spec.groups and not _default_groups(cohort):
        raise ConfigError(f"{where}.name: 'groups' has nothing to group: task "
                          f"'{cohort.task.name}' has no groups beyond its data layout")


def _check_representation(cohort: Cohort, spec: ProbeSpec, where: str) -> None:
    if cohort.task.regression:
        raise ConfigError(f"{where}.name: 'representation' needs a classification task "
                          f"(task '{cohort.task.name}' is a regression)")


def check_probe(spec: ProbeSpec, index: int, cohort: Cohort) -> None:
    """Reject a probe the run's task or model cannot serve: one line naming the field (each
    registered probe brings its own check)."""
    check = PROBES.get(spec.name, where=f"probes.{index}.name").check_fn()
    if check is not None:
        check(cohort, spec, f"probes.{index}")


def check_probes(specs: list[ProbeSpec], cohort: Cohort) -> None:
    """Check every configured probe against the cohort's task and model (before training)."""
    for index, spec in enumerate(specs):
        check_probe(spec, index, cohort)


class ProbeSet:
    """The run's probes with their schedules; `measure(step)` runs those due at `step`."""

    def __init__(self, specs: Sequence[ProbeSpec], cohort: Cohort) -> None:
        train = cohort.config.train
        self.entries: list[tuple[ProbeSpec, Schedule]] = []
        for index, spec in enumerate(specs):
            check_probe(spec, index, cohort)
            every, per_decade = spec.every, spec.per_decade
            if every is None and per_decade is None:
                every, per_decade = (None, 10) if spec.COSTLY else (train.log_every, None)
            self.entries.append((spec, Schedule(train.steps, every, per_decade)))

    def __bool__(self) -> bool:
        return bool(self.entries)

    def due(self, step: int) -> bool:
        return any(schedule.due(step) for _, schedule in self.entries)

    def measure(self, cohort: Cohort, step: int,
                evaluation: Callable[[], Evaluation]) -> tuple[Values, Values]:
        """(scalars, spectra) of the probes due at `step`: `(E,)` and `(E, k)` tensors."""
        scalars: Values = {}
        spectra: Values = {}
        for spec, schedule in self.entries:
            if schedule.due(step):
                for name, value in PROBES[spec.name](cohort, spec, evaluation).items():
                    (scalars if value.dim() == 1 else spectra)[name] = value.detach()
        return scalars, spectra
