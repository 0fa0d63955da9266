"""The `grokscope` command line: a thin layer over the Python API."""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup

from grokscope.errors import ConfigError

if TYPE_CHECKING:
    from grokscope.reproduce import ReproductionResult

console = Console(width=None if Console().is_terminal else 130)


def _say_error(error: Exception) -> None:
    if isinstance(error, OSError) and error.filename is not None:
        text = f"{error.filename}: {error.strerror or error}"
    else:
        text = str(error) or type(error).__name__
    Console(stderr=True).print(f"[red]error:[/red] {escape(text)}", highlight=False,
                               soft_wrap=True)


def _fail(error: Exception) -> None:
    """Bad input ends in one line on stderr and exit code 2, never a traceback."""
    _say_error(error)
    raise typer.Exit(code=2)


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: object = None, line: str | None = None) -> None:
    """Warnings for the user (a duplicate YAML key, ...) as one line, no source excerpt."""
    Console(stderr=True).print(f"[yellow]warning:[/yellow] {escape(str(message))}",
                               highlight=False, soft_wrap=True)


class _Group(TyperGroup):
    """The command group, with a last line of defence: a ConfigError or an OS error (a missing
    folder, a read-only disk) that a command did not catch is still one line and exit 2."""

    def invoke(self, ctx: Any) -> object:  # a click Context (typer vendors click since 0.2x)
        warnings.showwarning = _show_warning
        try:
            return super().invoke(ctx)
        except (ConfigError, OSError) as exc:
            _say_error(exc)
            raise typer.Exit(code=2) from None
        except (MemoryError, RuntimeError) as exc:
            if not _out_of_memory(exc):
                raise
            _say_error(ConfigError("out of memory while running (the estimate passed, the "
                                   "allocation failed); make cohort.members, the model or the "
                                   "task smaller"))
            raise typer.Exit(code=2) from None


def _out_of_memory(error: BaseException) -> bool:
    if isinstance(error, MemoryError):
        return True
    from grokscope.training.memory import out_of_memory

    return out_of_memory(error)


app = typer.Typer(cls=_Group, add_completion=False, no_args_is_help=True,
                  help="Reproduce, measure and explain grokking.")


@app.command()
def run(
    config: Annotated[Path, typer.Argument(help="experiment YAML file")],
    set_: Annotated[list[str] | None, typer.Option("--set", help="override: key.sub=value")] = None,
    out: Annotated[Path | None, typer.Option(help="run directory [default: out_dir/name]")] = None,
    overwrite: Annotated[bool, typer.Option(help="discard an existing run of this name")] = False,
    progress: Annotated[bool, typer.Option(help="show a progress bar")] = True,
) -> None:
    """Train a cohort, detect grokking, and write the run directory (resumes if killed)."""
    from grokscope.config import load_config

    try:
        cfg = load_config(config, set_ or [])  # torch-free: a bad file fails in well under 1 s
        from grokscope.experiment import run_experiment

        result = run_experiment(cfg, out, overwrite=overwrite, progress=progress)
    except ConfigError as exc:
        _fail(exc)
    if result.seconds:
        console.print(f"trained {cfg.train.steps} steps × {len(result.verdicts)} members "
                      f"in {result.seconds:.1f} s")
    else:
        console.print(f"{escape(str(result.path))} had already finished training; events "
                      "re-read")
    _print_events(result.events)
    console.print(escape(f"run directory: {result.path}  (curves: {result.path / 'curves.png'}; "
                         f"the HTML page: grokscope report {result.path})"))


@app.command()
def show(run_dir: Annotated[Path, typer.Argument(help="a run directory")]) -> None:
    """Print the per-member grokking events of a run."""
    from grokscope.experiment import finished_events, load_run

    try:
        _, store = load_run(run_dir)
        events = finished_events(store) or store.read_events()
    except ConfigError as exc:
        _fail(exc)
    if not events:
        _fail(ConfigError(f"run: {run_dir} has no events yet (still training, or killed before "
                          "its end: run it again to resume)"))
    _print_events(events)


@app.command()
def plot(
    run_dir: Annotated[Path, typer.Argument(help="a run directory")],
    probe: Annotated[list[str] | None, typer.Option(
        help="draw a probe instead of the curves: a value (fourier/gini) or a prefix "
             "(fourier); repeatable; writes probe_<name>.png")] = None,
    member: Annotated[int | None, typer.Option(help="one member instead of all + median")] = None,
    out: Annotated[Path | None, typer.Option(help="where to write the (single) probe figure")
                   ] = None,
) -> None:
    """Redraw curves.png of a run, or draw its probes (also while it trains: what is flushed)."""
    from grokscope.experiment import finished_events, load_run
    from grokscope.report import plot_curves, plot_probe
    from grokscope.store import guard

    try:
        cfg, store = load_run(run_dir)
    except ConfigError as exc:
        _fail(exc)
    events = (finished_events(store) or store.read_events() or {}).get("members")
    table = store.load_metrics()
    if events is None:
        n = len(set(table["member"].to_pylist())) if table.num_rows else 0
        events = [{"member": k} for k in range(n)]
    if member is not None and not 0 <= member < len(events):
        _fail(ConfigError(f"--member: must be in 0..{len(events) - 1}, got {member}"))
    if not probe:
        path = plot_curves(table, events, store.curves_path, title=cfg.name)
        console.print(escape(f"wrote {path}"))
        return
    spectra = store.load_spectra()
    for name in probe:
        target = out or store.path / f"probe_{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
        try:
            if out:
                guard.check_file(target, "--out")
            path = plot_probe(table, spectra, events, name, target, member, title=cfg.name)
        except ConfigError as exc:
            _fail(exc)
        console.print(escape(f"wrote {path}"))


@app.command()
def doctor(
    path: Annotated[Path, typer.Argument(help="a run or sweep directory")],
    repair: Annotated[bool, typer.Option(help="fix what can be fixed without touching "
                                              "completed results")] = False,
) -> None:
    """Check a run or sweep directory for what a crash can leave (temporary files, merged
    parts, a missing figure, an unreadable checkpoint); --repair fixes it. Exit 1 while a
    problem remains."""
    from grokscope.doctor import check

    try:
        findings = check(path, repair=repair)
    except ConfigError as exc:
        _fail(exc)
    if not findings:
        console.print(escape(f"{path}: healthy"))
        return
    table = Table(title=f"{escape(str(path))}: {len(findings)} findings")
    for header in ("path", "problem", "repair", "done"):
        table.add_column(header)
    for f in findings:
        where = str(f.path.relative_to(path)) if f.path.is_relative_to(path) else str(f.path)
        table.add_row(escape(where or "."), escape(f.problem), escape(f.repair or "-"),
                      "yes" if f.repaired else "-")
    console.print(table)
    left = [f for f in findings if f.open]
    if left and not repair and any(f.repair for f in left):
        console.print("run again with --repair to apply the repairs")
    if left:
        raise typer.Exit(code=1)


@app.command("import")
def import_(
    path: Annotated[Path, typer.Argument(help="a TensorBoard log folder, a W&B offline run "
                                              "(folder) or a CSV file")],
    from_: Annotated[str, typer.Option("--from", help="tensorboard, wandb or csv")],
    out: Annotated[Path, typer.Option(help="the run directory to write (new or empty)")],
    map_: Annotated[list[str] | None, typer.Option(
        "--map", help="ROLE=TAG for a column under another name: train_acc, test_acc, "
                      "train_loss, test_loss, weight_norm; repeatable")] = None,
    budget: Annotated[int | None, typer.Option(min=1, help="the run's step budget "
                                                         "[default: its last step]")] = None,
) -> None:
    """Read a run logged by TensorBoard, W&B (offline) or a CSV into a grokscope run
    directory (one member per logged run), detect grokking, and print its events; show,
    report, export and stopping then work on it."""
    from grokscope.importing import import_run, parse_map

    try:
        written = import_run(path, from_, out, parse_map(map_ or []), budget)
        from grokscope.experiment import load_run

        events = load_run(written)[1].read_events()
    except ConfigError as exc:
        _fail(exc)
    _print_events(events or {"members": []})
    console.print(escape(f"run directory: {written}"))


@app.command()
def tasks() -> None:
    """List the registered tasks (with their operations), models and split policies."""
    from grokscope.config.tasks import load_plugins
    from grokscope.tasks import OPERATION_LISTS, SPLITS, TASKS

    load_plugins()
    for name, doc in TASKS.describe().items():
        console.print(f"[bold]{name}[/bold]: {doc}", highlight=False)
        if name in OPERATION_LISTS:
            console.print("  ops: " + ", ".join(OPERATION_LISTS[name]), highlight=False)
    from grokscope.config.components import MODELS

    console.print("models:")
    for name, doc in MODELS.describe().items():
        console.print(f"  [bold]{name}[/bold]: {doc}")
    console.print("splits:")
    for name, doc in SPLITS.describe().items():
        console.print(f"  [bold]{name}[/bold]: {doc}")


@app.command()
def ticket(
    run_dir: Annotated[Path, typer.Argument(help="a finished run that kept its weights "
                                                 "(train.keep_weights)")],
    keep: Annotated[list[float] | None, typer.Option(
        help="share of weights kept (Minegishi et al.'s 'sparsity'); repeatable")] = None,
    step: Annotated[list[str] | None, typer.Option(
        help="source step to prune from: a kept step, final, alpha0, alpha1 or transition; "
             "repeatable")] = None,
    member: Annotated[list[int] | None, typer.Option(
        help="source members to take tickets of (default: all); repeatable")] = None,
    controls: Annotated[bool, typer.Option(
        help="add a random mask, pruning at init and the dense net at the ticket's L2 norm")
                        ] = True,
    steps: Annotated[int | None, typer.Option(help="train the tickets this long [default: "
                                                   "the source's steps]")] = None,
    out: Annotated[Path | None, typer.Option(help="ticket run directory [default: "
                                                  "RUN_DIR-tickets]")] = None,
    overwrite: Annotated[bool, typer.Option(help="discard an existing ticket run")] = False,
    progress: Annotated[bool, typer.Option(help="show a progress bar")] = True,
) -> None:
    """Grokking tickets (Minegishi et al.): prune a finished run's weights by magnitude,
    rewind to its step-0 weights and retrain, beside the dense net and the controls, as one
    cohort; print the steps each needs to 95% test accuracy."""
    from grokscope.tickets import run_tickets, summary

    def parsed(value: str) -> int | str:
        return int(value) if value.strip().lstrip("+-").isdigit() else value

    try:
        result, members = run_tickets(run_dir, keep or [0.4], [parsed(s) for s in step or
                                                               ["final"]], out, controls,
                                      member, steps, overwrite, progress)
    except ConfigError as exc:
        _fail(exc)
    table = Table(title=f"grokking tickets of {escape(str(run_dir))}")
    rows = summary(result, members)
    for key in rows[0]:
        table.add_column(key, justify="left" if key == "label" else "right")
    for row in rows:
        table.add_row(*[escape(f"{v:.3g}" if isinstance(v, float) else
                               ("never" if v is None else str(v))) for v in row.values()])
    console.print(table)
    console.print(escape(f"ticket run: {result.path} (members.json labels its members)"))


@app.command()
def reproduce(
    suite: Annotated[str, typer.Argument(help="suite under experiments/ (e.g. carvalho2025), "
                                               "or a reproduction YAML or folder")],
    quick: Annotated[bool, typer.Option(help="fewer seeds and steps: minutes on a CPU")] = False,
    only: Annotated[list[str] | None, typer.Option(help="run only these files (stems)")] = None,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="override in every file, e.g. detect.min_intensity=0.005 (re-detects "
                      "finished runs without retraining)")] = None,
    out: Annotated[Path, typer.Option(help="root of the run directories")] = Path(
        "runs/reproduce"),
    overwrite: Annotated[bool, typer.Option(help="retrain finished runs")] = False,
    progress: Annotated[bool, typer.Option(help="show a progress bar")] = True,
    runner: Annotated[str, typer.Option(help="local or ray (one task per part)")] = "local",
    address: Annotated[str | None, typer.Option(
        help="Ray cluster: auto or HOST:PORT (default: start a local one)")] = None,
    num_cpus: Annotated[float, typer.Option(help="Ray: CPUs per part")] = 1.0,
    num_gpus: Annotated[float, typer.Option(help="Ray: GPUs per part")] = 0.0,
) -> None:
    """Reproduce a paper's figures: train each file's cohorts (resumes; here or on Ray),
    redraw the figure, write events.csv and summary.csv next to it."""
    from grokscope.reproduce import find_suite, run_reproduction, write_shift_figure

    try:
        files = find_suite(suite)
        if only:
            missing = sorted(set(only) - {f.stem for f in files})
            if missing:
                raise ConfigError(f"--only: no file {missing} in {suite!r} (allowed: "
                                  f"{', '.join(f.stem for f in files)})")
            files = [f for f in files if f.stem in only]
        results = []
        for path in files:
            console.print(f"[bold]{path.stem}[/bold] ({'quick' if quick else 'full'})")
            result = run_reproduction(path, quick=quick, out_root=out, progress=progress,
                                      overwrite=overwrite, overrides=set_ or [],
                                      runner=runner, address=address, num_cpus=num_cpus,
                                      num_gpus=num_gpus)
            _print_summary(result)
            results.append(result)
    except ConfigError as exc:
        _fail(exc)
    if len(results) > 1:
        suffix = "-quick" if quick else ""
        shift = write_shift_figure(results, results[0].path.parent / f"shift{suffix}.png")
        if shift:
            console.print(f"measured shift vs accuracy, every member: {shift}")
    failed = [r.name for r in results if not r.passed]
    if failed:
        console.print(f"[red]outside the published tolerance:[/red] {', '.join(failed)}")
        raise typer.Exit(code=1)


def _print_summary(result: ReproductionResult) -> None:
    table = Table(title=result.title)
    headers = {"setting": "label", "grokked": "grokked", "n": "members", "α0": "alpha0_median",
               "α1": "alpha1_median", "ΔS": "delta_S_mean", "test": "final_test_acc",
               "gain": "late_gain",
               "under": "final_undersampled_acc", "others": "final_others_acc",
               "TV": "shift_tv", "MMD²": "shift_mmd"}
    always = {"setting", "grokked", "n", "α1"}
    headers = {h: k for h, k in headers.items()
               if h in always or any(r.get(k) is not None for r in result.summary)}
    for header in headers:
        table.add_column(header, justify="left" if header == "setting" else "right")
    for row in result.summary:
        table.add_row(*[_fmt(row.get(key)) for key in headers.values()])
    console.print(table)
    if result.claim:
        console.print(f"paper's claim: {result.claim}", highlight=False)
    if result.checks:
        _print_checks(result)
    console.print(f"figure: {result.figure}  ·  csv: {result.path / 'events.csv'}, "
                  f"{result.path / 'summary.csv'}")


def _print_checks(result: ReproductionResult) -> None:
    """Published number next to the measured one (median over members, and their range)."""
    table = Table(title="published vs measured")
    for header in ("expectation", "published", "measured", "range", "n", "", "source"):
        table.add_column(header, justify="right" if header in ("measured", "n") else "left")
    for c in result.checks:
        spread = f"{_fmt(c.spread[0])}–{_fmt(c.spread[1])}" if c.spread else "-"
        verdict = "[green]ok[/green]" if c.ok else "[red]FAIL[/red]"
        table.add_row(escape(c.expectation.describe()), c.expectation.bounds(),
                      _fmt(c.measured), spread, str(c.n), verdict, escape(c.expectation.source))
    console.print(table)


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if value == float("inf"):
        return "never"
    if isinstance(value, float):
        return f"{value:.3g}"
    return escape(str(value))  # a label like "[frac=0.5]" is text, not rich markup


EVENT_COLUMNS = {  # header: key in events.json; columns empty for every member are left out
    "member": "member", "seed": "seed", "frac": "fraction", "n": "n_train", "f": "f",
    "lr": "lr", "wd": "weight_decay", "α": "init_scale", "verdict": "verdict", "α0": "alpha0",
    "α1": "alpha1", "delay": "delay", "ΔS": "delta_S", "S": "support",
    "train": "final_train_acc", "test": "final_test_acc", "TV": "shift_tv",
    "stop": "stop_step", "rule": "stop_rule",
}


def _print_events(events: dict) -> None:
    table = Table(title="grokking events per member (Carvalho et al. 2025, Def. 3.1)")
    always = {"verdict", "α0", "α1", "delay", "ΔS", "S"}  # stop and rule: when set
    columns = {h: k for h, k in EVENT_COLUMNS.items()
               if h in always or any(r.get(k) is not None for r in events["members"])}
    for header in columns:
        table.add_column(header, justify="left" if header == "verdict" else "right")
    for row in events["members"]:
        cells = [_fmt(row.get(key)) for key in columns.values()]
        if row.get("censored"):
            cells[list(columns).index("S")] += "+"
        table.add_row(*cells)
    console.print(table)
    counts: dict[str, int] = {}
    for row in events["members"]:
        counts[row["verdict"]] = counts.get(row["verdict"], 0) + 1
    console.print("verdicts: " + ", ".join(f"{k} {v}" for v, k in counts.items()))
    if any(r.get("censored") for r in events["members"]):
        console.print("S+ : support cut short by the end of training (still >= sigma_E there)")
    used = events.get("compute_used")
    if used is not None and used < 1:
        stopped = sum(r.get("stop_step") is not None for r in events["members"])
        console.print(f"stopping: {stopped} of {len(events['members'])} members stopped before "
                      f"the budget; compute used {used:.0%} of {events['steps']:,} steps x "
                      f"{len(events['members'])} members (saved {1 - used:.0%})")


from grokscope.cli_stopping import register as _register_stopping  # noqa: E402
from grokscope.cli_sweep import register as _register_sweep  # noqa: E402
from grokscope.cli_view import register as _register_view  # noqa: E402

_register_sweep(app, console, _fail)
_register_stopping(app, console, _fail)
_register_view(app, console, _fail)

if __name__ == "__main__":
    app()

