"""Score every recipe of the Carvalho recipe sweep against what the paper's figures show.

Reads a finished (or partly finished) `experiments/sweeps/carvalho_recipes.yaml` sweep, and
nothing else:

    python benchmarks/carvalho_recipes.py runs/sweeps/carvalho_recipes \
        [--csv docs/carvalho_recipes.csv] [--figure docs/figures/carvalho_recipes.png]

Carvalho et al. 2025 publish curves only (research/carvalho2025.md §6). The targets below
are what the curves show at n_train 200 on Dataset 1; each recipe is held to them with the
grokking detector's verdicts and events (docs/detection.md), the median over its seeds:

- Figure 3b, f = 0: the model stays on a sub-optimal plateau (final test <= 0.7);
- Figure 3b, f = 0.2: test accuracy jumps to ~1.0 within the 50k steps (final test >= 0.99,
  and most members `grokked`);
- Figure 3a, f = 1: the jump at ~7-14k steps; within x/÷ 2 of that range is α1 in
  [3.5k, 28k], and the end is ~1.0 (final test >= 0.99).

A recipe's score is how many of the five checks it passes; ties are ranked by the f = 0.2
median final test accuracy (the claim the shipped recipe misses most).
"""

from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

F0_FINAL_MAX = 0.7
JUMP_FINAL_MIN = 0.99
GROKKED_SHARE_MIN = 0.5
FIG3A_JUMP = (7_000, 14_000)  # decoded jump of Figure 3a (the reading of the curves)
FIG3A_FACTOR = 2.0


@dataclass
class Check:
    name: str
    passed: bool
    measured: str


def _median(values: list[float]) -> float:
    finite = [v for v in values if v is not None and np.isfinite(v)]
    return float(np.median(finite)) if finite else float("nan")


def score(rows: list[dict[str, Any]]) -> tuple[list[Check], dict[str, Any]]:
    """The five checks of one recipe from its runs (each `{"split.f", "verdict", "alpha1",
    "final_test_acc"}`), and its summary numbers."""
    by_f: dict[float, list[dict[str, Any]]] = {}
    for row in rows:
        by_f.setdefault(round(float(row["split.f"]), 6), []).append(row)

    def final(f: float) -> float:
        return _median([r["final_test_acc"] for r in by_f.get(f, [])])

    def grokked(f: float) -> tuple[int, int]:
        group = by_f.get(f, [])
        return sum(r["verdict"] == "grokked" for r in group), len(group)

    def alpha1(f: float) -> float:
        return _median([r["alpha1"] for r in by_f.get(f, []) if r["verdict"] == "grokked"])

    low, high = FIG3A_JUMP[0] / FIG3A_FACTOR, FIG3A_JUMP[1] * FIG3A_FACTOR
    k02, n02 = grokked(0.2)
    k1, n1 = grokked(1.0)
    a1 = alpha1(1.0)
    checks = [
        Check("f=0 final <= 0.7", final(0.0) <= F0_FINAL_MAX, f"{final(0.0):.3f}"),
        Check("f=0.2 final >= 0.99", final(0.2) >= JUMP_FINAL_MIN, f"{final(0.2):.3f}"),
        Check("f=0.2 mostly grokked", n02 > 0 and k02 / n02 > GROKKED_SHARE_MIN, f"{k02}/{n02}"),
        # a majority of the members must grok for a median jump step to speak for the recipe
        Check(f"f=1 α1 in [{low / 1e3:g}k, {high / 1e3:g}k]",
              n1 > 0 and k1 / n1 > GROKKED_SHARE_MIN and low <= a1 <= high,
              f"{a1:.0f} ({k1}/{n1})" if np.isfinite(a1) else f"- ({k1}/{n1})"),
        Check("f=1 final >= 0.99", final(1.0) >= JUMP_FINAL_MIN, f"{final(1.0):.3f}"),
    ]
    summary = {"f0_final": final(0.0), "f02_final": final(0.2), "f02_grokked": f"{k02}/{n02}",
               "f02_alpha1": alpha1(0.2), "f1_final": final(1.0), "f1_grokked": f"{k1}/{n1}",
               "f1_alpha1": a1, "passed": sum(c.passed for c in checks),
               "members": len(rows)}
    return checks, summary


def load_rows(sweep: Path) -> dict[str, list[dict[str, Any]]]:
    """Per recipe, its finished runs from the sweep table."""
    from grokscope import load_sweep

    frame = load_sweep(sweep)
    if "recipe" not in frame.columns:
        raise SystemExit(f"{sweep}: no `recipe` column: not a recipes sweep")
    frame = frame.replace({np.nan: None})
    out: dict[str, list[dict[str, Any]]] = {}
    for row in frame.to_dict("records"):
        out.setdefault(str(row["recipe"]), []).append(row)
    return out


def ranked(recipes: dict[str, list[dict[str, Any]]]) -> list[tuple[str, list[Check], dict]]:
    scored = [(name, *score(rows)) for name, rows in recipes.items()]
    return sorted(scored, key=lambda item: (-item[2]["passed"], -np.nan_to_num(
        item[2]["f02_final"], nan=-1.0)))


def table(results: list[tuple[str, list[Check], dict]]) -> str:
    """The score table in markdown: one row per recipe, best first."""
    names = [c.name for c in results[0][1]]
    lines = ["| recipe | runs | " + " | ".join(names) + " | passed |",
             "|---|---:|" + "---|" * len(names) + "---:|"]
    for recipe, checks, summary in results:
        cells = [f"{c.measured} {'✓' if c.passed else '✗'}" for c in checks]
        lines.append(f"| {recipe} | {summary['members']} | " + " | ".join(cells)
                     + f" | {summary['passed']}/{len(checks)} |")
    return "\n".join(lines)


def curves(sweep: Path) -> dict[tuple[str, float], tuple[np.ndarray, np.ndarray]]:
    """Per (recipe, f): the logged steps and the members' test accuracy `(K, members)`."""
    from grokscope.store import RunStore
    from grokscope.store.metrics import split_matrix
    from grokscope.sweep.store import SweepStore

    out: dict[tuple[str, float], list[tuple[np.ndarray, np.ndarray]]] = {}
    for folder, members in SweepStore(sweep).cohorts():
        events = RunStore(folder).read_events() or {}
        if not events.get("finished"):
            continue
        steps, acc = split_matrix(RunStore(folder).load_metrics(), "test")
        for position, member in enumerate(members):
            values = member["values"]
            if "recipe" in values:
                key = (values["recipe"], round(float(values["split.f"]), 6))
                out.setdefault(key, []).append((steps, acc[:, position]))
    return {key: (parts[0][0], np.stack([p[1] for p in parts], axis=1))
            for key, parts in out.items()}


def figure(sweep: Path, recipes: dict[str, list[dict[str, Any]]],
           results: list[tuple[str, list[Check], dict]], path: Path, budget: int) -> None:
    """Left: each recipe's f = 0.2 and f = 1 mean test curves. Right: per-seed final test
    accuracy at f = 0 and 0.2, and α1 at f = 1, against the targets."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [name for name, _, _ in results]
    lines = curves(sweep)
    fig, axes = plt.subplots(1, 5, figsize=(19, 0.42 * len(names) + 2.6),
                             gridspec_kw={"width_ratios": [1.5, 1.5, 1, 1, 1]})
    palette = plt.get_cmap("tab10").colors  # ten hues, then the same hues dashed
    for ax, f, title in ((axes[0], 0.2, "f = 0.2 (Fig. 3b): mean test accuracy"),
                         (axes[1], 1.0, "f = 1 (Fig. 3a): mean test accuracy")):
        for k, name in enumerate(names):
            if (name, f) in lines:
                steps, acc = lines[(name, f)]
                ax.plot(steps, np.nanmean(acc, axis=1), color=palette[k % 10], lw=1.3,
                        ls="-" if k < 10 else "--", label=name)
        ax.axhline(JUMP_FINAL_MIN, color="k", lw=0.7, ls=":")
        ax.set(title=title, xlabel="step", ylim=(0.4, 1.005))
    axes[1].axvspan(*FIG3A_JUMP, color="0.85", zorder=0, label="paper's jump")
    axes[0].legend(fontsize=7, loc="lower right", ncol=2)
    y = np.arange(len(names))[::-1]
    for ax, f, what in ((axes[2], 0.0, "final"), (axes[3], 0.2, "final"), (axes[4], 1.0, "α1")):
        for row_y, name in zip(y, names, strict=True):
            runs = [r for r in recipes[name] if round(float(r["split.f"]), 6) == f]
            if what == "final":
                xs = [r["final_test_acc"] for r in runs]
                ax.scatter(xs, [row_y] * len(xs), s=18, color="C0")
            else:
                hit = [r["alpha1"] for r in runs if r["verdict"] == "grokked"]
                miss = len(runs) - len(hit)
                ax.scatter(hit, [row_y] * len(hit), s=18, color="C0")
                ax.scatter([budget] * miss, [row_y] * miss, s=22, marker="x", color="C3")
        ax.set_yticks(y, names if ax is axes[2] else [""] * len(names))
        ax.grid(axis="y", lw=0.3)
    def lowest(f: float, floor: float) -> float:  # every run on the axis, none cut off
        finals = [r["final_test_acc"] for rows in recipes.values() for r in rows
                  if round(float(r["split.f"]), 6) == f and r["final_test_acc"] is not None]
        return min([floor, *finals]) - 0.02

    axes[2].axvspan(0.0, F0_FINAL_MAX, color="C2", alpha=0.15)
    axes[2].set(title="f = 0: final test (target <= 0.7)", xlim=(lowest(0.0, 0.5), 1.0))
    axes[3].axvspan(JUMP_FINAL_MIN, 1.0, color="C2", alpha=0.15)
    axes[3].set(title="f = 0.2: final test (target >= 0.99)", xlim=(lowest(0.2, 0.8), 1.0))
    low, high = FIG3A_JUMP[0] / FIG3A_FACTOR, FIG3A_JUMP[1] * FIG3A_FACTOR
    axes[4].axvspan(low, high, color="C2", alpha=0.15)
    axes[4].axvspan(*FIG3A_JUMP, color="C2", alpha=0.25)
    axes[4].set(title="f = 1: α1 (x: not grokked)", xscale="log", xlim=(100, budget * 1.6))
    fig.suptitle("Carvalho et al. 2025, Dataset 1, n_train 200: each recipe against the "
                 "paper's curves (green: the target)", fontsize=11)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sweep", type=Path, help="the sweep directory")
    parser.add_argument("--csv", type=Path, help="also write the summary here")
    parser.add_argument("--figure", type=Path, help="also draw the figure here")
    args = parser.parse_args()
    recipes = load_rows(args.sweep)
    results = ranked(recipes)
    from grokscope.store import RunStore
    from grokscope.sweep.store import SweepStore

    seconds = sum((RunStore(folder).read_events() or {}).get("train_seconds") or 0.0
                  for folder, _ in SweepStore(args.sweep).cohorts())
    budget = max(int(r["last_step"] or 0) for rows in recipes.values() for r in rows)
    print(f"sweep: {args.sweep} — {sum(len(r) for r in recipes.values())} finished runs, "
          f"{len(recipes)} recipes, {seconds / 60:.1f} min of training (sum over cohorts)")
    print(table(results))
    if args.csv:
        rows = [{"recipe": name, **summary} for name, _, summary in results]
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        with args.csv.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    if args.figure:
        figure(args.sweep, recipes, results, args.figure, budget or 50_000)
        print(f"figure: {args.figure}", file=sys.stderr)


if __name__ == "__main__":
    main()
