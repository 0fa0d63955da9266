"""Real SIGKILLs at chosen store operations, in child processes forked from a server that
has imported grokscope once (a fresh interpreter per kill would cost ~2 s of imports)."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path
from typing import Any

_CONTEXT = None


def context():
    global _CONTEXT
    if _CONTEXT is None:
        _CONTEXT = multiprocessing.get_context("forkserver")
        _CONTEXT.set_forkserver_preload(["grokscope.experiment", "grokscope.sweep.run"])
    return _CONTEXT


def _child(job: str, args: dict[str, Any], fault_at: int | None, trace: str | None) -> None:
    import torch

    from grokscope.store import faults

    torch.set_num_threads(1)
    os.environ.pop("GROKSCOPE_FAULT_AT", None)
    os.environ.pop("GROKSCOPE_FAULT_TRACE", None)
    if fault_at is not None:
        os.environ["GROKSCOPE_FAULT_AT"] = str(fault_at)
    if trace is not None:
        os.environ["GROKSCOPE_FAULT_TRACE"] = trace
    faults.reset()
    if job == "run":
        from grokscope.config import parse_config
        from grokscope.experiment import run_experiment

        run_experiment(parse_config(args["config"]), args["path"], progress=False)
    else:
        from grokscope.sweep.run import run_sweep

        run_sweep(args["spec"], args["path"], max_members=args.get("max_members"),
                  progress=False)


def run_child(job: str, args: dict[str, Any], fault_at: int | None = None,
              trace: Path | None = None) -> int:
    """Run `job` ('run' or 'sweep') in a child process; its exit code (-9: killed)."""
    process = context().Process(target=_child,
                                args=(job, args, fault_at, str(trace) if trace else None))
    process.start()
    process.join(300)
    if process.is_alive():
        process.kill()
        process.join()
        raise TimeoutError(f"{job} child did not finish")
    return process.exitcode


def fault_points(job: str, args: dict[str, Any], trace: Path) -> list[tuple[str, str]]:
    """Every store operation an uninterrupted `job` performs, in order: (kind, path)."""
    assert run_child(job, args, trace=trace) == 0
    return [tuple(line.split("\t", 1)) for line in trace.read_text().splitlines()]
