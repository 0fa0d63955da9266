"""Masks for lottery-ticket runs, from a source run's kept weights (`train.keep_weights`).

A member of a ticket run names its source member, a step of the source and a kind:
`magnitude` keeps the largest weights at that step (Minegishi et al. 2024's grokking ticket;
step 0 is pruning at init), `random` as many at random places, `rescaled_l2`/`rescaled_l1`
keep every weight but scale the pruned set at init to the L2/L1 norm of the magnitude
ticket's step-0 weights (the dense control at the ticket's norm), `none` is the dense net.
The member re-draws its step-0 weights from its seed, so a ticket run's members use their
source members' seeds (and splits): that is the rewind.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from grokscope.store import RunStore
from grokscope.training.optim.prune import Prune, magnitude_mask, random_mask

NAMED_STEPS = ("final", "alpha0", "alpha1", "transition")


def pruned_names(names: Sequence[str], params: dict[str, torch.Tensor],
                 chosen: Sequence[str] | None) -> list[str]:
    """The parameters a mask covers: those named, or every weight matrix and embedding
    (two or more axes per member; biases and gains are left whole, as torch's global
    magnitude pruning of `.weight` tensors does)."""
    if chosen is not None:
        unknown = sorted(set(chosen) - set(names))
        if unknown:
            raise ValueError(f"params: {', '.join(unknown)} is not a parameter of this model "
                             f"(allowed: {', '.join(names)})")
        return [n for n in names if n in chosen]
    return [n for n in names if params[n].dim() >= 2]


class Source:
    """A finished run's kept weights and events, read once per step asked for."""

    def __init__(self, path: str | Path) -> None:
        self.store = RunStore(path)
        if not self.store.is_run():
            raise ValueError(f"source: {path} is not a grokscope run directory")
        self.steps = self.store.weight_steps()
        if not self.steps:
            raise ValueError(f"source: {path} kept no weights (set its train.keep_weights or "
                             "train.keep_weights_every and retrain it)")
        self.events = self.store.read_events() or {}
        self._cache: dict[int, dict[str, Any]] = {}

    def resolve(self, step: int | str, member: int) -> int:
        """A step of the source: a kept one as given, or the kept step nearest to a named
        point of the member's curve (final; alpha0, memorization; alpha1, generalization;
        transition, half-way between them)."""
        if isinstance(step, int):
            if step not in self.steps:
                raise ValueError(f"step: {step} was not kept by the source (kept: "
                                 f"{_listed(self.steps)})")
            return step
        if step == "final":
            return self.steps[-1]
        rows = self.events.get("members") or []
        if not self.events.get("finished") or member >= len(rows):
            raise ValueError(f"step: {step!r} needs the source's detected events (is it "
                             f"finished, with member {member}?)")
        row = rows[member]
        a0, a1 = row.get("alpha0"), row.get("alpha1")
        wanted = {"alpha0": a0, "alpha1": a1,
                  "transition": None if a0 is None or a1 is None else (a0 + a1) / 2}[step]
        if wanted is None:
            raise ValueError(f"step: {step!r}: source member {member} has none (verdict "
                             f"{row.get('verdict')}); give a step (kept: {_listed(self.steps)})")
        return min(self.steps, key=lambda s: (abs(s - wanted), s))

    def weights(self, step: int, member: int) -> dict[str, torch.Tensor]:
        """Source member `member`'s parameters at a kept step."""
        if step not in self._cache:
            self._cache[step] = self.store.load_weights(step)
        kept = self._cache[step]
        ids = [int(i) for i in kept["ids"]]
        if member not in ids:
            raise ValueError(f"member: source member {member} is not in the source's weights "
                             f"at step {step} (held: {_listed(ids)})")
        position = ids.index(member)
        return {name: value[position] for name, value in kept["params"].items()}


def _listed(values: Sequence[int]) -> str:
    shown = ", ".join(map(str, values[:8]))
    return shown + (", ..." if len(values) > 8 else "")


def build_prune(source: str, kinds: Sequence[str], steps: Sequence[int | str],
                keeps: Sequence[float], members: Sequence[int], chosen: Sequence[str] | None,
                seed: int, names: Sequence[str], device: Any, scope: str = "global") -> Prune:
    """The `Prune` link of a ticket run: one mask (and init scale) per member."""
    src = Source(source)
    first = src.weights(src.steps[0], members[0])
    missing = sorted(set(names) - set(first))
    if missing:
        raise ValueError(f"source: {source}'s model has no parameter {missing[0]} (it "
                         f"holds: {', '.join(first)}): a ticket keeps the source's model")
    covered = pruned_names(names, first, chosen)
    shapes = [first[n] for n in covered]
    rows: list[list[torch.Tensor]] = []
    scales = []
    for k, (kind, step, keep, member) in enumerate(zip(kinds, steps, keeps, members,
                                                       strict=True)):
        scale = 1.0
        if kind == "none":
            masks = [torch.ones_like(w, dtype=torch.bool) for w in shapes]
        elif kind == "random":
            masks = random_mask(shapes, keep, torch.Generator().manual_seed(seed * 100_003 + k))
        else:
            at = src.weights(src.resolve(step, member), member)
            masks = magnitude_mask([at[n] for n in covered], keep, scope)
            if kind.startswith("rescaled"):
                w0 = src.weights(0, member) if 0 in src.steps else None
                if w0 is None:
                    raise ValueError("kind: rescaled_* needs the source's step-0 weights (keep "
                                     "step 0)")
                order = 2 if kind == "rescaled_l2" else 1
                ticket = torch.cat([(w0[n] * m).flatten() for n, m in zip(covered, masks,
                                                                          strict=True)])
                dense = torch.cat([w0[n].flatten() for n in covered])
                scale = float(ticket.norm(order) / dense.norm(order))
                masks = [torch.ones_like(m) for m in masks]
        rows.append(masks)
        scales.append(scale)
    stacked: list[torch.Tensor | None] = [None] * len(names)
    for j, name in enumerate(covered):
        stacked[names.index(name)] = torch.stack([row[j] for row in rows]).to(device)
    scale_tensor = None if all(s == 1.0 for s in scales) else torch.tensor(scales, device=device)
    return Prune(stacked, scale_tensor)
