"""Do the compression measures move before test accuracy does? The lead, in steps, per member.

For every probe scalar of a finished run and every member the detector judged `grokked`,
this finds the first step after memorization (alpha0) at which the series has covered half of
the way from its value at alpha0 to its most extreme value after it, and the same for test
accuracy. The lead is t_half(test accuracy) - t_half(probe): positive when the probe moves
first. It reads runs only, so the numbers are those of the run directories it is given.

    python benchmarks/compression_lead.py runs/compression/quickstart \
        runs/compression/modular_mlp runs/compression/carvalho_d1 \
        [--figure docs/figures/compression_lead.png] [--json out.json]

The runs come from `make compression-lead`, which trains experiments/compression/*.yaml.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

import numpy as np

from grokscope.experiment import load_run
from grokscope.store.metrics import curves, probe_matrix

PROBES = ("neuron_fourier/ipr", "neuron_fourier/gini", "local_complexity/test",
          "centroid_alignment/test")


def half_step(steps: np.ndarray, values: np.ndarray, start: int) -> int | None:
    """The first step >= start where `values` has covered half of the way from its value at
    `start` to its most extreme value after it (a series that peaks and comes back is read
    at its rise, not at where it ends); None when it does not change."""
    keep = (steps >= start) & np.isfinite(values)
    s, v = steps[keep], values[keep]
    if len(v) < 2:
        return None
    extreme = v[np.argmax(np.abs(v - v[0]))]
    if extreme == v[0]:
        return None
    covered = (v - v[0]) / (extreme - v[0])
    return int(s[np.argmax(covered >= 0.5)])


def leads(run: Path) -> list[dict[str, Any]]:
    """One row per grokked member and probe: t_half of both series and the lead."""
    config, store = load_run(run)
    table, events = store.load_metrics(), store.read_events() or {}
    rows = []
    for member, ev in enumerate(events.get("members", [])):
        if ev.get("verdict") != "grokked":
            continue
        c = curves(table, member)
        acc_half = half_step(c["steps"], c["test_acc"], ev["alpha0"])
        for name in PROBES:
            steps, matrix = probe_matrix(table, name)
            if not len(steps):
                continue
            probe_half = half_step(steps, matrix[:, member], ev["alpha0"])
            start = np.argmin(np.abs(steps - ev["alpha0"]))
            rows.append({
                "run": config.name, "member": member, "probe": name, "alpha0": ev["alpha0"],
                "alpha1": ev["alpha1"], "acc_half": acc_half, "probe_half": probe_half,
                "lead": None if probe_half is None or acc_half is None
                else acc_half - probe_half,
                "at_alpha0": float(matrix[start, member]), "final": float(matrix[-1, member]),
                "extreme": float(matrix[np.argmax(np.abs(matrix[start:, member]
                                                         - matrix[start, member])) + start,
                                        member]),
            })
    return rows


def summarize(rows: list[dict[str, Any]]) -> None:
    print(f"{'run':26s} {'probe':26s} {'members':>7s} {'lead median':>11s} {'range':>13s}"
          f" {'moves first':>11s}  alpha0 value -> most extreme -> final (medians)")
    for key in dict.fromkeys((r["run"], r["probe"]) for r in rows):
        group = [r for r in rows if (r["run"], r["probe"]) == key]
        values = [r["lead"] for r in group if r["lead"] is not None]
        first = sum(v > 0 for v in values)
        span = f"{min(values)}..{max(values)}" if values else "-"
        median = f"{statistics.median(values):g}" if values else "-"
        change = " -> ".join(f"{statistics.median(r[k] for r in group):.3g}"
                             for k in ("at_alpha0", "extreme", "final"))
        print(f"{key[0]:26s} {key[1]:26s} {len(group):7d} {median:>11s} {span:>13s}"
              f" {first:>5d} of {len(values):<3d}  {change}")


def figure(runs: list[Path], path: Path) -> None:
    """Member 0 of each run: test accuracy and every probe, rescaled to [0, 1], on log-x."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from grokscope.store.atomic import save_figure

    fig, axes = plt.subplots(1, len(runs), figsize=(5 * len(runs), 3.8), squeeze=False)
    for ax, run in zip(axes[0], runs, strict=True):
        config, store = load_run(run)
        table = store.load_metrics()
        c = curves(table, 0)
        keep = c["steps"] > 0
        ax.plot(c["steps"][keep], c["test_acc"][keep], color="black", lw=2, label="test acc")
        for name in PROBES:
            steps, matrix = probe_matrix(table, name)
            if not len(steps):
                continue
            v, s = matrix[:, 0], steps
            lo, hi = np.nanmin(v), np.nanmax(v)
            ax.plot(s[s > 0], ((v - lo) / (hi - lo or 1))[s > 0], label=f"{name} (rescaled)")
        ax.set(xscale="log", xlabel="step", title=f"{config.name}, member 0")
        ax.legend(fontsize=7)
    save_figure(fig, path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--figure", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    rows = [row for run in args.runs for row in leads(run)]
    summarize(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")
    if args.figure:
        figure(args.runs, args.figure)


if __name__ == "__main__":
    main()
