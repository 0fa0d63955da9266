"""`grokscope report PATH`: one self-contained `report.html` for a run, sweep or reproduction."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from grokscope.experiment import load_run
from grokscope.report.html import write_page
from grokscope.report.run_page import run_payload
from grokscope.reproduce.page import reproduction_payload
from grokscope.store import guard
from grokscope.sweep.page import sweep_payload, write_cohort_reports
from grokscope.view.kinds import kind_of

REPORT_NAME = "report.html"


def report_payload(path: Path) -> dict[str, Any]:
    """The page data of a results directory, whichever kind it is."""
    kind = kind_of(path)
    if kind == "run":
        config, store = load_run(path)
        return run_payload(store, config)
    if kind == "sweep":
        return sweep_payload(path)
    return reproduction_payload(path)


def write_report(path: str | Path, out: str | Path | None = None, cohorts: bool = True,
                 refresh: float | None = None) -> Path:
    """Write the report of `path` (default `PATH/report.html`); for a sweep also each
    cohort's report (`cohorts`), which its runs link to. `refresh`: seconds after which
    the page reloads itself (`grokscope watch`)."""
    path = Path(path)
    payload = report_payload(path)
    if payload["kind"] == "sweep" and cohorts:
        write_cohort_reports(path)
    target = Path(out) if out else path / REPORT_NAME
    if target.is_dir():
        target = target / REPORT_NAME
    guard.check_page(target, "--out" if out else "report")  # a user's file is never replaced
    return write_page(payload, target, refresh)
