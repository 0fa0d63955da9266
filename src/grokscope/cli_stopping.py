"""The `stopping` command: replay stopping rules over stored full-budget runs, no retraining."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from grokscope.errors import ConfigError


def run_dirs(path: Path) -> list[Path]:
    """The finished runs at or under `path`: a run, a sweep (its cohorts) or a reproduction."""
    if not path.is_dir():
        raise ConfigError(f"stopping: {path} is not a directory; give a run, sweep or "
                          "reproduction directory")
    found = sorted(p.parent for p in path.rglob("events.json")
                   if (p.parent / "config.yaml").is_file())
    if not found:
        raise ConfigError(f"stopping: no finished run under {path} (looked for events.json "
                          "beside config.yaml)")
    return found


def load_members(path: Path) -> list[Any]:
    """Every member of every finished run under `path`, with its full curve and events."""
    from grokscope.detection.online import NORM, History
    from grokscope.detection.scoring import Member
    from grokscope.experiment import load_run
    from grokscope.store.metrics import member_histories

    members = []
    for run in run_dirs(path):
        config, store = load_run(run)
        for member, entry in member_histories(store.load_metrics(), (NORM,)).items():
            h = History(entry["steps"], {k: v for k, v in entry.items() if k != "steps"},
                        config.train.steps)
            seed = config.cohort.seed
            seed = seed[member] if isinstance(seed, list) else seed + member
            members.append(Member.of(f"{run.name}/{member}", run.parent.name, int(seed), h,
                                     config.detect))
    return members


def parse_rules(texts: list[str]) -> list[list[dict]]:
    """`--rule` values: a name (`grokked`), a YAML mapping (`{name: patience, patience: 20}`)
    or several joined by `+` (one rule set, a member stops when any fires)."""
    from grokscope.yamlio import parse_yaml

    sets = []
    for text in texts:
        specs = []
        for part in text.split("+"):
            value = parse_yaml(part.strip(), "--rule")
            specs.append(value if isinstance(value, dict) else {"name": value})
        sets.append(specs)
    return sets


def register(app: typer.Typer, console: Console, fail: Callable[[Exception], None]) -> None:
    @app.command()
    def stopping(
        path: Annotated[Path, typer.Argument(help="a run, sweep or reproduction directory")],
        rule: Annotated[list[str] | None, typer.Option(
            help="a rule set to score (repeatable): grokked, '{name: patience, patience: "
                 "20}', or rules joined by + (default: the baselines and grokscope's)")] = None,
    ) -> None:
        """Replay stopping rules over stored full-budget runs and score them: premature
        stops, verdict agreement, overrun after alpha1, budget on memorized-only members,
        accuracy regret and compute used (docs/stopping.md)."""
        from grokscope.detection.scoring import DEFAULT_SETS, label, score

        try:
            members = load_members(path)
            sets = parse_rules(rule) if rule else DEFAULT_SETS
            cfg = _detect_config(path)
            rows = [score(members, specs, cfg) for specs in sets]
        except (ConfigError, ValueError) as exc:
            fail(exc)
        grokked = sum(m.grokked for m in members)
        shown = Table(title=f"{path}: {len(members)} members, {grokked} grokked in the budget")
        for column in ("rules", "premature", "agree", "overrun p50", "overrun p90",
                       "memorized budget", "regret p50", "compute"):
            shown.add_column(column, justify="left" if column == "rules" else "right")
        for specs, r in zip(sets, rows, strict=True):
            shown.add_row(label(specs), f"{r['premature']}/{r['grokked']}",
                          f"{r['verdict_agreement']:.3f}", _num(r["overrun_median"]),
                          _num(r["overrun_p90"]), f"{r['memorized_budget_share']:.2f}",
                          f"{r['regret_median']:.3f}", f"{r['compute']:.3f}")
        console.print(shown)


def _num(value: float) -> str:
    return "-" if value != value else f"{value:.2f}"  # NaN: no member reached alpha1


def _detect_config(path: Path) -> Any:
    """The detector settings of the first run under `path` (what its events used)."""
    from grokscope.experiment import load_run

    return load_run(run_dirs(path)[0])[0].detect
