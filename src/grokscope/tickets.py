"""`grokscope ticket RUN_DIR`: Minegishi et al.'s grokking-ticket protocol on a finished run.

From a run that kept its weights (`train.keep_weights`), one cohort: per source member, the
dense net again (`kind: none`, the baseline it must beat), a magnitude ticket per keep share
and per source step, and the controls of their Figure 1 at each keep share (a random mask,
pruning at init, the dense net rescaled to the final ticket's L2 norm). Every member is its
source member re-drawn (its seed, split and settings), so it rewinds to the same step-0
weights; the `prune` transform does the masking (`grokscope.training.optim.tickets`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grokscope.config import ExperimentConfig, parse_config
from grokscope.errors import ConfigError
from grokscope.experiment import RunResult, load_run, run_experiment
from grokscope.store import guard
from grokscope.store.atomic import write_text_atomic
from grokscope.training.members import cohort_size, select_members

STEP_NAMES = ("final", "alpha0", "alpha1", "transition")
CONTROLS = (("random mask", "random", "final"), ("pruned at init", "magnitude", 0),
            ("dense at ticket L2", "rescaled_l2", "final"))


@dataclass
class TicketMember:
    label: str
    source: int
    kind: str
    step: int | str
    keep: float


def plan(n_source: int, keeps: list[float], steps: list[int | str], controls: bool,
         sources: list[int] | None = None) -> list[TicketMember]:
    """The members of the ticket cohort, source member by source member."""
    if not keeps or not steps:
        raise ConfigError("ticket: give at least one --keep and one --step")
    for step in steps:
        if not (isinstance(step, int) and step >= 0 or step in STEP_NAMES):
            raise ConfigError(f"--step: {step!r} is not a source step (allowed: a kept step "
                              f">= 0, or {', '.join(STEP_NAMES)})")
    bad = [k for k in keeps if not 0 < k <= 1]
    if bad:
        raise ConfigError(f"--keep: {bad[0]} is not a share in (0, 1] (the share of weights "
                          "kept)")
    chosen = list(range(n_source)) if sources is None else sources
    beyond = [j for j in chosen if not 0 <= j < n_source]
    if beyond:
        raise ConfigError(f"--member: {beyond[0]} is not a member of the source (allowed: "
                          f"0..{n_source - 1})")
    out = []
    for j in chosen:
        out.append(TicketMember("dense", j, "none", "final", 1.0))
        for keep in keeps:
            out += [TicketMember(f"ticket {keep:g} @ {step}", j, "magnitude", step, keep)
                    for step in steps]
            if controls:
                out += [TicketMember(f"{label} {keep:g}", j, kind, step, keep)
                        for label, kind, step in CONTROLS]
    return out


def ticket_config(source: ExperimentConfig, source_dir: Path, members: list[TicketMember],
                  name: str, steps: int | None = None) -> ExperimentConfig:
    """The source's config, member by member as `members` re-draw them, with the `prune`
    transform appended."""
    for k, spec in enumerate(source.optim.transforms):
        settings = spec.model_dump()
        if spec.members is not None or any(isinstance(v, list) for v in settings.values()):
            raise ConfigError(f"ticket: the source's optim.transforms.{k} has per-member "
                              "settings, which a ticket cohort cannot re-assign yet")
    data = select_members(source, [m.source for m in members]).model_dump(mode="json")
    data["optim"]["transforms"].append({
        "name": "prune", "source": str(source_dir), "kind": [m.kind for m in members],
        "step": [m.step for m in members], "keep": [m.keep for m in members],
        "member": [m.source for m in members]})
    data["train"]["keep_weights"], data["train"]["keep_weights_every"] = [], None
    if steps is not None:
        data["train"]["steps"] = steps
    data["name"] = name
    return parse_config(data)  # anything still wrong: one line per field, no traceback


def run_tickets(source_dir: Path, keeps: list[float], steps: list[int | str],
                out: Path | None = None, controls: bool = True,
                sources: list[int] | None = None, train_steps: int | None = None,
                overwrite: bool = False, progress: bool = True) -> tuple[RunResult,
                                                                          list[TicketMember]]:
    """Train the ticket cohort of a finished run (resumable) and label its members."""
    source_dir = Path(source_dir)
    config, store = load_run(source_dir)
    if not store.is_finished():
        raise ConfigError(f"ticket: {source_dir} has not finished training (run it to its "
                          "end first: the tickets read its events and kept weights)")
    members = plan(cohort_size(config), keeps, steps, controls, sources)
    if train_steps is not None and train_steps < 1:
        raise ConfigError(f"--steps: the tickets train for at least 1 step, got {train_steps}")
    folder = Path(out) if out else source_dir.parent / f"{source_dir.name}-tickets"
    # --overwrite of the source itself would delete the weights the tickets are pruned from
    guard.refuse_overlap(folder, source_dir, "--out", "source run")
    cfg = ticket_config(config, source_dir.resolve(), members, folder.resolve().name,
                        train_steps)
    result = run_experiment(cfg, folder, overwrite=overwrite, progress=progress)
    write_text_atomic(folder / "members.json", json.dumps(
        [{"index": i, "label": m.label, "source_member": m.source, "kind": m.kind,
          "step": m.step, "keep": m.keep} for i, m in enumerate(members)], indent=1) + "\n")
    return result, members


def summary(result: RunResult, members: list[TicketMember],
            threshold: float = 0.95) -> list[dict[str, Any]]:
    """Per label: members, how many grokked, and the median step to `threshold` test
    accuracy (None: most never got there) next to the dense net's of the same sources."""
    import statistics

    from grokscope.reproduce.expect import first_step
    from grokscope.store import RunStore
    from grokscope.store.metrics import split_matrix

    steps, acc = split_matrix(RunStore(result.path).load_metrics(), "test", "accuracy")
    reached = [float("inf") if s is None else s for s in first_step(steps, acc, ">=", threshold)]
    verdicts = result.verdicts
    rows: dict[str, dict[str, Any]] = {}
    for index, member in enumerate(members):
        row = rows.setdefault(member.label, {"label": member.label, "members": 0,
                                             "grokked": 0, "steps": []})
        row["members"] += 1
        row["grokked"] += verdicts[index] == "grokked"
        row["steps"].append(reached[index])
    dense = statistics.median(rows["dense"]["steps"])
    out = []
    for row in rows.values():
        median = statistics.median(row.pop("steps"))
        row[f"median step to {threshold:g}"] = None if median == float("inf") else median
        row["vs dense"] = None if median == float("inf") or dense in (0, float("inf")) \
            else median / dense
        out.append(row)
    return out
