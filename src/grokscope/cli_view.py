"""The commands that show results: `report`, `watch`, `export` (docs/looking.md)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from grokscope.errors import ConfigError

PAGE_HELP = "the page (default PATH/report.html)"


def _size(path: Path) -> str:
    return f"{path.stat().st_size / 1e6:.2f} MB"


DAMAGE = (ValueError, KeyError, TypeError, IndexError, AttributeError, MemoryError,
          RecursionError)


def _damaged(path: Path, error: Exception) -> ConfigError:
    """What a damaged file that no specific check caught still becomes: one line."""
    reason = " ".join(str(error).split())[:100] or "no message"
    return ConfigError(f"{path}: a result file is damaged ({type(error).__name__}: {reason}); "
                       f"`grokscope doctor {path}` says which")


def register(app: typer.Typer, console: Console, fail: Callable[[Exception], None]) -> None:
    @app.command()
    def report(
        path: Annotated[Path, typer.Argument(help="a run, sweep or reproduction directory")],
        out: Annotated[Path | None, typer.Option(help=PAGE_HELP)] = None,
        watch: Annotated[bool, typer.Option(
            help="keep the page current while it trains (same as `grokscope watch`)")] = False,
        interval: Annotated[float, typer.Option(
            min=0.5, max=86400, help="--watch: seconds between looks and "
                                                              "page reloads")] = 5.0,
        cohorts: Annotated[bool, typer.Option(
            help="sweeps: also write each cohort's report (the runs table links to them)")] = True,
    ) -> None:
        """Write report.html: one self-contained page (no network) with the header, the
        events table, interactive curves, probes and spectra; for sweeps the phase diagram,
        the scaling fit and the runs; for reproductions published vs measured."""
        if watch:
            _watch(path, interval, out)
            return
        import time

        from grokscope.view import write_report

        t0 = time.perf_counter()
        try:
            target = write_report(path, out, cohorts=cohorts)
        except ConfigError as exc:
            fail(exc)
        except DAMAGE as exc:
            fail(_damaged(path, exc))
        console.print(escape(f"wrote {target} ({_size(target)}, {time.perf_counter() - t0:.1f} s)"
                             f"; open it in any browser"))

    @app.command()
    def watch(
        path: Annotated[Path, typer.Argument(help="a run (or sweep) directory, while it trains")],
        out: Annotated[Path | None, typer.Option(help=PAGE_HELP)] = None,
        interval: Annotated[float, typer.Option(
            min=0.5, max=86400, help="seconds between looks and "
                                                              "page reloads")] = 5.0,
    ) -> None:
        """Keep report.html current while a run trains: rewritten on each flush, the open
        page reloads itself (keeping the selected member and scroll); ends when it finishes."""
        _watch(path, interval, out)

    def _watch(path: Path, interval: float, out: Path | None) -> None:
        from grokscope.view import watch as watch_run

        def said(target: Path, done: bool) -> None:
            state = "finished: final page" if done else "updated"
            console.print(escape(f"{state}: {target} ({_size(target)})"))

        try:
            watch_run(path, interval, out, on_write=said)
        except ConfigError as exc:
            fail(exc)
        except DAMAGE as exc:
            fail(_damaged(path, exc))
        except KeyboardInterrupt:
            console.print("stopped watching (the page stays as last written)")

    @app.command()
    def export(
        path: Annotated[Path, typer.Argument(help="a run, sweep or reproduction directory")],
        to: Annotated[str, typer.Option(help="tensorboard, wandb (offline) or csv")],
        out: Annotated[Path | None, typer.Option(
            help="folder to write (default PATH/exports/<to>)")] = None,
    ) -> None:
        """Export stored runs to a tracker's files: TensorBoard event files, W&B offline runs
        (`wandb sync` uploads them later), or long-form CSV; one tracker run per member."""
        from grokscope.view.export import export as write_export

        try:
            target, runs = write_export(path, to, out)
        except ConfigError as exc:
            fail(exc)
        except DAMAGE as exc:
            fail(_damaged(path, exc))
        hint = {"tensorboard": f"tensorboard --logdir {target}",
                "wandb": f"wandb sync {target}/wandb/offline-run-*"}.get(to)
        console.print(escape(f"wrote {runs} runs to {target}" + (f"; view with: {hint}"
                                                                  if hint else "")))
