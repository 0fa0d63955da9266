"""The sweep commands of the CLI: `sweep`, `table`, `phase`, `scaling`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from grokscope.errors import ConfigError
from grokscope.store import guard
from grokscope.store.atomic import write_text_atomic

Where = Annotated[list[str] | None, typer.Option(
    help="keep only runs with KEY=VALUE (repeatable), e.g. optim.weight_decay=1")]


def register(app: typer.Typer, console: Console, fail: Callable[[Exception], None]) -> None:
    # long only because it holds the four sweep commands, each a short nested function
    @app.command()
    def sweep(
        spec: Annotated[Path, typer.Argument(help="a sweep YAML (experiments/sweeps/...)")],
        out: Annotated[Path | None, typer.Option(help="sweep directory (default: "
                                                      "runs/sweeps/<name>)")] = None,
        runner: Annotated[str, typer.Option(help="local or ray")] = "local",
        address: Annotated[str | None, typer.Option(
            help="Ray cluster: auto or HOST:PORT (default: start a local one)")] = None,
        max_members: Annotated[int | None, typer.Option(
            help="cohort size cap (default: from the device)")] = None,
        num_cpus: Annotated[float, typer.Option(help="Ray: CPUs per cohort task")] = 1.0,
        num_gpus: Annotated[float, typer.Option(help="Ray: GPUs per cohort task")] = 0.0,
        dry_run: Annotated[bool, typer.Option(help="print the plan and an estimate, train "
                                                   "nothing")] = False,
        progress: Annotated[bool, typer.Option(help="show a progress bar")] = True,
    ) -> None:
        """Run a sweep: pack its runs into cohorts, train them (resuming what was
        interrupted, skipping what is finished), and write the sweep table."""
        from grokscope.sweep.run import estimate_seconds, plan_sweep, run_sweep

        try:
            if max_members is not None and max_members < 1:
                raise ConfigError(f"--max-members: must be >= 1, got {max_members}")
            if dry_run:
                plan, store = plan_sweep(spec, out, max_members)
                _print_plan(console, plan, store.path, estimate_seconds(plan))
                return
            plan, table = run_sweep(spec, out, runner, address, max_members, num_cpus,
                                    num_gpus, progress)
        except ConfigError as exc:
            fail(exc)
        console.print(f"{len(table)} finished runs; table: "
                      f"{Path(plan.runs[0].config.out_dir) / 'table.parquet'}")
        counts = table["verdict"].value_counts().to_dict()
        console.print("verdicts: " + ", ".join(f"{v} {k}" for k, v in counts.items()))

    @app.command()
    def table(
        sweep_dir: Annotated[Path, typer.Argument(help="a sweep directory")],
        csv: Annotated[Path | None, typer.Option(help="also write the table as CSV")] = None,
        where: Where = None,
    ) -> None:
        """One row per finished run: swept values, seed and detected events."""
        from grokscope.sweep.phase import select_runs
        from grokscope.sweep.store import load_sweep

        try:
            frame = select_runs(load_sweep(sweep_dir), where or [])
            if csv:
                guard.check_file(csv, "--csv")
        except ConfigError as exc:
            fail(exc)
        shown = Table(title=f"{sweep_dir}: {len(frame)} runs")
        columns = [c for c in frame.columns if c not in ("run", "cohort", "censored")]
        for column in columns:
            shown.add_column(column, justify="right")
        for _, row in frame[columns].iterrows():
            shown.add_row(*[_cell(v) for v in row])
        console.print(shown)
        if csv:
            write_text_atomic(csv, frame.to_csv(index=False))
            console.print(escape(f"wrote {csv}"))

    @app.command()
    def phase(
        sweep_dir: Annotated[Path, typer.Argument(help="a sweep directory")],
        x: Annotated[str, typer.Option(help="swept key on the x axis")],
        y: Annotated[str, typer.Option(help="swept key on the y axis")],
        metric: Annotated[str | None, typer.Option(
            help="a heatmap of this instead: steps_to_generalize, alpha0, delay, "
                 "final_test_acc")] = None,
        out: Annotated[Path | None, typer.Option(help="figure path")] = None,
        where: Where = None,
    ) -> None:
        """Draw the phase diagram (comprehension / grokking / memorization / confusion)."""
        from grokscope.sweep.phase import phase_cells, plot_phase, select_runs
        from grokscope.sweep.store import load_sweep

        try:
            frame = select_runs(load_sweep(sweep_dir), where or [])
            target = guard.check_file(out, "--out") if out else sweep_dir / (
                f"phase_{metric}.png" if metric else "phase.png")
            path = plot_phase(frame, x, y, target, metric)
            cells = phase_cells(frame, x, y)
        except ConfigError as exc:
            fail(exc)
        console.print("cells per majority phase: " + ", ".join(
            f"{k} {v}" for k, v in cells["phase"].value_counts().items()))
        console.print(escape(f"wrote {path}"))

    @app.command()
    def scaling(
        sweep_dir: Annotated[Path, typer.Argument(help="a sweep directory")],
        x: Annotated[str, typer.Option(help="swept key, e.g. split.fraction")],
        metric: Annotated[str, typer.Option(
            help="alpha1 (steps to generalize), delay, alpha0, or a final value: "
                 "final_test_loss, final_test_acc, ...")] = "alpha1",
        out: Annotated[Path | None, typer.Option(help="figure path")] = None,
        where: Where = None,
        fit: Annotated[bool, typer.Option(help="fit a power law (--no-fit: median and "
                                                "range only, e.g. test loss vs width)")] = True,
        by: Annotated[str | None, typer.Option(
            help="one series per value of this swept key, e.g. optim.weight_decay")] = None,
    ) -> None:
        """Draw a per-run metric vs a swept key and fit a power law, e.g. time to generalize
        vs data fraction (hold the other swept keys fixed with --where, or draw one series
        per value with --by)."""
        from grokscope.sweep.phase import plot_scaling, select_runs
        from grokscope.sweep.store import load_sweep

        try:
            frame = select_runs(load_sweep(sweep_dir), where or [])
            title = f"{metric} vs {x}" + (f" at {', '.join(where)}" if where else "")
            target = guard.check_file(out, "--out") if out else \
                sweep_dir / f"scaling_{metric}.png"
            path, fits = plot_scaling(frame, x, target,
                                      metric, title=title, fit=fit, by=by)
        except ConfigError as exc:
            fail(exc)
        if fit:
            for value, (c, b) in fits.items():
                series = "" if value is None else f"{by} = {_cell(value)}: "
                console.print(f"{series}{metric} ≈ {c:.4g} · {x}^{b:.3f}" if c == c else
                              f"{series}no fit (generalizes at fewer than two values)")
        console.print(escape(f"wrote {path}"))


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def _print_plan(console: Console, plan, path: Path, seconds: float) -> None:
    total = len(plan.runs)
    console.print(f"sweep directory: {path}")
    console.print(f"{total} runs: {len(plan.finished)} finished, "
                  f"{total - len(plan.finished)} to train in {len(plan.cohorts)} cohorts "
                  f"({len(plan.resumed)} resuming from a checkpoint)")
    shown = Table(title="cohorts")
    for column in ("cohort", "members", "steps", "shape"):
        shown.add_column(column)
    for cohort in plan.cohorts:
        model = cohort.config.model
        shape = f"{cohort.config.task.name}, {model.name} " + (
            f"w{model.width} d{model.depth}" if model.name == "mlp" else
            f"d{model.d_model} L{model.n_layers}")
        shown.add_row(cohort.id, str(len(cohort.runs)), str(cohort.config.train.steps), shape)
    console.print(shown)
    import torch

    console.print(f"work: {plan.member_steps:,} member-steps; estimated {seconds / 60:.1f} min "
                  f"on this machine with the local runner ({torch.get_num_threads()} torch "
                  "threads; 10 steps of each cohort shape timed now, so other load on the "
                  "machine inflates it)")
