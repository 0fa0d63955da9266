"""Steps to grok per example ordering, against reshuffling: medians, a bootstrap interval of
the median difference, and a permutation test.

Reads the `events.csv` of finished ordering reproductions (experiments/ordering/), nothing
else:

    python benchmarks/ordering.py runs/reproduce/ordering/mod31_frac60 \
        runs/reproduce/ordering/mod31_frac40 [--figure docs/figures/ordering.png]

A member that never grokked counts at the step budget. That is a lower bound, so an ordering
that fails often looks better than it is, and the table says how many failed.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np

BASELINE = "reshuffle"
RESAMPLES = 10_000


def steps_to_grok(run: Path) -> tuple[dict[str, list[float]], dict[str, int], int]:
    """Per setting label: alpha1 of every member (the budget where it did not grok), the
    count of those that did not, and the budget."""
    budget = _budget(run)
    values: dict[str, list[float]] = {}
    failed: dict[str, int] = {}
    with (run / "events.csv").open() as handle:
        for row in csv.DictReader(handle):
            grokked = row["verdict"] == "grokked" and row["alpha1"]
            values.setdefault(row["label"], []).append(float(row["alpha1"]) if grokked
                                                       else float(budget))
            failed[row["label"]] = failed.get(row["label"], 0) + (not grokked)
    return values, failed, budget


def steps_to_accuracy(run: Path, threshold: float
                      ) -> tuple[dict[str, list[float]], dict[str, int], int]:
    """As `steps_to_grok`, with the first logged step where test accuracy >= threshold."""
    from grokscope.store import RunStore
    from grokscope.store.metrics import split_matrix

    budget = _budget(run)
    values: dict[str, list[float]] = {}
    failed: dict[str, int] = {}
    for part in sorted(run.glob("part-*")):
        steps, acc = split_matrix(RunStore(part).load_metrics(), "test")
        members = json.loads((part / "members.json").read_text())
        for position, member in enumerate(members):
            hit = np.nonzero(acc[:, position] >= threshold)[0]
            values.setdefault(member["label"], []).append(
                float(steps[hit[0]]) if len(hit) else float(budget))
            failed[member["label"]] = failed.get(member["label"], 0) + (not len(hit))
    return values, failed, budget


def _budget(run: Path) -> int:
    import yaml

    config = yaml.safe_load((run / "part-0" / "config.yaml").read_text())
    return int(config["train"]["steps"])


def median_difference(a: np.ndarray, b: np.ndarray, seed: int = 0) -> tuple[float, float, float]:
    """median(a) - median(b) and its 95% percentile-bootstrap interval (resampling each group)."""
    rng = np.random.default_rng(seed)
    draws = [np.median(rng.choice(a, len(a))) - np.median(rng.choice(b, len(b)))
             for _ in range(RESAMPLES)]
    low, high = np.percentile(draws, [2.5, 97.5])
    return float(np.median(a) - np.median(b)), float(low), float(high)


def permutation_p(a: np.ndarray, b: np.ndarray, seed: int = 0) -> float:
    """Two-sided permutation test of the difference in medians: the share of label shuffles
    at least as extreme as the observed one (with the observed one counted)."""
    rng = np.random.default_rng(seed)
    observed = abs(np.median(a) - np.median(b))
    pooled, n = np.concatenate([a, b]), len(a)
    hits = 1
    for _ in range(RESAMPLES):
        rng.shuffle(pooled)
        hits += abs(np.median(pooled[:n]) - np.median(pooled[n:])) >= observed
    return hits / (RESAMPLES + 1)


def _measure(run: Path, threshold: float | None
             ) -> tuple[dict[str, list[float]], dict[str, int], int]:
    return steps_to_grok(run) if threshold is None else steps_to_accuracy(run, threshold)


def report(run: Path, threshold: float | None = None) -> dict[str, dict[str, float]]:
    values, failed, budget = _measure(run, threshold)
    base = np.array(values[BASELINE])
    what = "alpha1" if threshold is None else f"first step with test accuracy >= {threshold}"
    print(f"\n{run} (budget {budget} steps; {what}, in steps)")
    print(f"{'ordering':14s} {'n':>2s} {'failed':>6s} {'median':>7s} {'IQR':>13s} "
          f"{'vs reshuffle':>12s} {'95% interval':>17s} {'p':>6s}")
    out = {}
    for label, xs in values.items():
        x = np.array(xs)
        q1, q3 = np.percentile(x, [25, 75])
        row = {"n": len(x), "failed": failed[label], "median": float(np.median(x)),
               "q1": float(q1), "q3": float(q3)}
        line = f"{label:14s} {len(x):2d} {failed[label]:6d} {np.median(x):7.0f} " \
               f"{f'{q1:.0f}-{q3:.0f}':>13s}"
        if label != BASELINE:
            diff, low, high = median_difference(x, base)
            p = permutation_p(x, base)
            row |= {"difference": diff, "low": low, "high": high, "p": p}
            line += f" {diff:+12.0f} {f'[{low:+.0f}, {high:+.0f}]':>17s} {p:6.3f}"
        print(line)
        out[label] = row
    return out


def figure(runs: list[Path], path: Path, threshold: float | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from grokscope.store.atomic import save_figure

    fig, axes = plt.subplots(1, len(runs), figsize=(5.5 * len(runs), 3.6), squeeze=False)
    for ax, run in zip(axes[0], runs, strict=True):
        values, failed, budget = _measure(run, threshold)
        labels = list(values)
        for k, label in enumerate(labels):
            x = np.array(values[label])
            jitter = np.random.default_rng(k).uniform(-0.15, 0.15, len(x))
            ax.scatter(np.full(len(x), k) + jitter, x, s=14, alpha=0.7)
            ax.hlines(np.median(x), k - 0.3, k + 0.3, color="black")
        ax.axhline(budget, color="grey", ls=":", lw=1)
        ax.set_xticks(range(len(labels)), labels, rotation=20)
        ax.set(ylabel="steps to grok (alpha1)" if threshold is None
               else f"steps to test accuracy {threshold}", title=run.name)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--figure", type=Path, default=None)
    parser.add_argument("--threshold", type=float, default=None,
                        help="steps to this test accuracy instead of alpha1")
    args = parser.parse_args()
    for run in args.runs:
        report(run, args.threshold)
    if args.figure:
        figure(args.runs, args.figure, args.threshold)


if __name__ == "__main__":
    main()
