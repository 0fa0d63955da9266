"""Time to grok: which acceleration method generalizes first, on which task, by how much.

For each task, one cohort holds every method that is an optimizer link as its members
(baseline, Grokfast-EMA, Grokfast-MA, ⊥Grad, Omnigrok's norm constraint; `members` masks
pick who gets which link), `--seeds` seeds each; StableMax is a loss, so it gets a cohort of
its own. Reported per task and method, over seeds: median steps to α1 (the detector's
generalization step) and to the task's test-accuracy target, the cohort's wall-clock to that
median α1 on this machine (the whole cohort trains together: seconds per cohort step x step),
the share of seeds reaching the target within the budget, and the median final test
accuracy. A seed that never gets there counts as beyond every value ("never"), so a median
is "never" once half the seeds are.

Then the per-step cost of the links: seconds per step of a cohort with every link on for
every member, over the same cohort with none (median of `--repeats` timings of
`--time-steps` steps each). The issue's bound is 1.2x; the script exits 1 above it.

    python benchmarks/time_to_grok.py --out runs/time_to_grok --figure docs/figures/time_to_grok.png
    python benchmarks/time_to_grok.py --tasks mnist1k --seeds 2   # one task
    python benchmarks/time_to_grok.py --quick                     # tiny: checks the script runs
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from grokscope.config import parse_config
from grokscope.config.paths import merge
from grokscope.experiment import run_experiment
from grokscope.store import RunStore
from grokscope.training.cohort import Cohort

OVERHEAD_BOUND = 1.2

# CPU-sized recipes (each one's quick reproduction, or the nearest one): base config, budget,
# and the test accuracy that counts as generalized
TASKS: dict[str, dict[str, Any]] = {
    "modadd_1l": {
        "title": "a+b mod 59, 40%, Nanda's 1-layer transformer, AdamW lr 1e-2 wd 1",
        "target": 0.95, "steps": 1000,
        "config": {"task": {"name": "modular", "p": 59, "op": "a+b"},
                   "split": {"name": "uniform", "fraction": 0.4},
                   "model": {"name": "transformer", "n_layers": 1, "d_model": 128,
                             "n_heads": 4, "d_mlp": 512},
                   "optim": {"lr": 1e-2, "weight_decay": 1.0, "betas": [0.9, 0.98]},
                   "train": {"log_every": 10, "loss_dtype": "float64"}}},
    "moddiv_2l": {
        "title": "x/y mod 47, 50%, 2-layer transformer, AdamW lr 3e-3 wd 1, batch 512",
        "target": 0.95, "steps": 1500,
        "config": {"task": {"name": "modular", "p": 47, "op": "a/b"},
                   "split": {"name": "uniform", "fraction": 0.5},
                   "model": {"name": "transformer", "n_layers": 2, "d_model": 128,
                             "n_heads": 4, "d_mlp": 512},
                   "optim": {"lr": 3e-3, "weight_decay": 1.0, "betas": [0.9, 0.98],
                             "warmup_steps": 10},
                   "train": {"batch_size": 512, "log_every": 20}}},
    "carvalho_d1_shift": {
        "title": "Carvalho D1 (equidistant), subclass shift n 400 f 0.2, MLP 200x2 init x8",
        "target": 0.9, "steps": 6000,
        "config": {"task": {"name": "equidistant"},
                   "split": {"name": "subclass_shift", "counts": "eq1", "selection_seed": 0,
                             "n_train": 400, "f": 0.2},
                   "model": {"name": "mlp", "width": 200, "depth": 2, "init_scale": 8.0},
                   "optim": {"lr": 1e-3, "weight_decay": 1e-4, "betas": [0.9, 0.999]},
                   "train": {"batch_size": 400, "log_every": 50}}},
    "mnist1k": {
        "title": "MNIST-1k, MLP 200x2 init x8, MSE, AdamW lr 1e-3 wd 0.01, batch 200",
        "target": 0.85, "steps": 4000,
        "config": {"task": {"name": "mnist", "source": "mnist_5k"},
                   "split": {"name": "pool", "n_train": 1000},
                   "model": {"name": "mlp", "width": 200, "depth": 2, "init_scale": 8.0},
                   "optim": {"lr": 1e-3, "weight_decay": 0.01, "betas": [0.9, 0.999]},
                   "train": {"batch_size": 200, "log_every": 50, "loss": "mse"}}},
}

# method -> its link (None: none), per-member overrides, and its loss (None: the task's).
# ⊥Grad and the norm constraint run without weight decay, as their papers do; the norm
# constraint starts from 0.8 x the default init (Omnigrok's notebook).
METHODS: dict[str, dict[str, Any]] = {
    "baseline": {},
    "grokfast_ema": {"link": {"name": "grokfast_ema", "alpha": 0.98, "lamb": 2.0}},
    "grokfast_ma": {"link": {"name": "grokfast_ma", "window": 100, "lamb": 5.0}},
    "perp_grad": {"link": {"name": "perp_grad"}, "weight_decay": 0.0},
    "norm_constraint": {"link": {"name": "norm_constraint", "factor": 1.0},
                        "weight_decay": 0.0, "init_scale": 0.8},
    "stablemax": {"loss": "stablemax"},
}

QUICK_TASK = {"title": "quick: a+b mod 11, tiny MLP", "target": 0.95, "steps": 30,
              "config": {"task": {"name": "modular", "p": 11, "op": "a+b"},
                         "split": {"name": "uniform", "fraction": 0.5},
                         "model": {"name": "mlp", "embed_dim": 8, "width": 16},
                         "optim": {"lr": 1e-2, "weight_decay": 0.5},
                         "train": {"log_every": 5}}}


def cohort_config(task: dict[str, Any], methods: list[str], seeds: int,
                  loss: str | None) -> dict[str, Any]:
    """One cohort: member m * seeds + s is method m with seed s; each link gets a `members`
    mask, weight decay and init scale are per-member lists."""
    base = task["config"]
    wd0 = base["optim"].get("weight_decay", 1.0)
    init0 = base["model"].get("init_scale", 1.0)
    order = [(m, s) for m in methods for s in range(seeds)]
    links = []
    for m in methods:
        if "link" in METHODS[m]:
            members = [k for k, (name, _) in enumerate(order) if name == m]
            links.append({**METHODS[m]["link"], "members": members})
    train: dict[str, Any] = {"steps": task["steps"], "checkpoint_every": task["steps"],
                             "device": "cpu", "threads": 1}
    if loss is not None:
        train.update(loss=loss, loss_dtype="float64")
    return merge(base, {
        "name": "time_to_grok",
        "cohort": {"members": len(order), "seed": [s for _, s in order]},
        "optim": {"weight_decay": [METHODS[m].get("weight_decay", wd0) for m, _ in order],
                  "transforms": links},
        "model": {"init_scale": [METHODS[m].get("init_scale", init0) for m, _ in order]},
        "train": train,
    })


def first_reach(store: RunStore, target: float, n_members: int) -> list[int | None]:
    """The first logged step of each member with test accuracy >= target (None: never)."""
    table = store.load_metrics().to_pandas()
    test = table[table.split == "test"]
    out: list[int | None] = []
    for member in range(n_members):
        rows = test[(test.member == member) & (test.accuracy >= target)]
        out.append(int(rows.step.min()) if len(rows) else None)
    return out


def median_or_never(values: list[float | None]) -> float:
    """Median with `None` counted as beyond every value: inf once half are None."""
    ranked = sorted(math.inf if v is None else float(v) for v in values)
    return statistics.median(ranked) if ranked else math.inf


def run_cohort(task: dict[str, Any], methods: list[str], seeds: int, loss: str | None,
               folder: Path) -> tuple[list[dict[str, Any]], RunStore]:
    config = parse_config(cohort_config(task, methods, seeds, loss))
    result = run_experiment(config, folder, progress=False)
    store = RunStore(folder)
    reach = first_reach(store, task["target"], config.cohort.members or 0)
    seconds = result.events.get("train_seconds") or result.seconds  # a reused run: stored
    per_step = seconds / task["steps"] if seconds else math.nan
    rows = []
    for k, member in enumerate(result.events["members"]):
        rows.append({"method": methods[k // seeds], "seed": k % seeds,
                     "alpha1": member.get("alpha1"), "reach": reach[k],
                     "verdict": member["verdict"], "final_test_acc": member["final_test_acc"],
                     "seconds_per_step": per_step})
    return rows, store


def summarize(task: dict[str, Any], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for method in dict.fromkeys(r["method"] for r in rows):
        mine = [r for r in rows if r["method"] == method]
        a1 = median_or_never([r["alpha1"] for r in mine])
        out.append({
            "method": method, "seeds": len(mine), "alpha1": a1,
            "to_target": median_or_never([r["reach"] for r in mine]),
            "wall_to_alpha1": a1 * mine[0]["seconds_per_step"],
            "share": sum(r["reach"] is not None for r in mine) / len(mine),
            "final_test_acc": statistics.median(r["final_test_acc"] for r in mine),
            "verdicts": ", ".join(sorted({r["verdict"] for r in mine})),
        })
    return out


def _fmt(x: float, digits: int = 0) -> str:
    return "never" if math.isinf(x) else f"{x:.{digits}f}"


def print_table(name: str, task: dict[str, Any], summary: list[dict[str, Any]]) -> None:
    print(f"\n### {name}: {task['title']}; budget {task['steps']} steps, target test "
          f"acc >= {task['target']}\n")
    print("| method | seeds | median α1 | median steps to target | cohort wall to α1 (s) "
          "| share reaching target | median final test acc | verdicts |")
    print("|---|---|---|---|---|---|---|---|")
    for s in summary:
        print(f"| {s['method']} | {s['seeds']} | {_fmt(s['alpha1'])} | {_fmt(s['to_target'])} "
              f"| {_fmt(s['wall_to_alpha1'], 1)} | {s['share']:.2f} "
              f"| {s['final_test_acc']:.3f} | {s['verdicts']} |")


def seconds_per_step(config: dict[str, Any], steps: int, repeats: int) -> float:
    cohort = Cohort(parse_config(config))
    cohort.step()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            cohort.step()
        times.append((time.perf_counter() - start) / steps)
    return statistics.median(times)


def overhead(task: dict[str, Any], members: int, steps: int, repeats: int) -> tuple[float, float]:
    """Seconds per step of `members` baseline members, and of the same with every link on."""
    base = cohort_config(task, ["baseline"], members, None)
    every = merge(base, {"optim": {"transforms": [dict(METHODS[m]["link"]) for m in METHODS
                                                  if "link" in METHODS[m]]}})
    return seconds_per_step(base, steps, repeats), seconds_per_step(every, steps, repeats)


def report_overhead(task: dict[str, Any], members: int, args: argparse.Namespace) -> float:
    """Print and return the cost ratio of every link on vs none for this task's cohort."""
    steps, repeats = (3, 1) if args.quick else (args.time_steps, args.repeats)
    plain, every = overhead(task, members, steps, repeats)
    print(f"\nper-step cost, {task['title']}, {members} members, every link on for every "
          f"member vs none: {every * 1e3:.1f} ms vs {plain * 1e3:.1f} ms = "
          f"{every / plain:.2f}x (median of {repeats} repeats of {steps} steps)")
    return every / plain


def plot(curves: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(curves), figsize=(4.2 * len(curves), 3.4), squeeze=False)
    for ax, (name, methods) in zip(axes[0], curves.items(), strict=True):
        for method, (steps, acc) in methods.items():
            ax.plot(np.maximum(steps, 1), acc, label=method, lw=1.4)
        ax.set_xscale("log")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("step")
        ax.set_ylim(-0.02, 1.02)
    axes[0][0].set_ylabel("test accuracy (median over seeds)")
    axes[0][-1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def median_curves(store: RunStore, methods: list[str], seeds: int
                  ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    table = store.load_metrics().to_pandas()
    test = table[table.split == "test"].pivot_table(index="step", columns="member",
                                                    values="accuracy")
    out = {}
    for m, method in enumerate(methods):
        cols = [c for c in test.columns if m * seeds <= c < (m + 1) * seeds]
        out[method] = (test.index.to_numpy(), test[cols].median(axis=1).to_numpy())
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="*", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--out", type=Path, default=None, help="keep the runs here "
                        "(a rerun reuses finished ones); default: a temporary folder")
    parser.add_argument("--figure", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None, help="write every row here")
    parser.add_argument("--time-steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a tiny task, 1 seed")
    parser.add_argument("--overhead-only", action="store_true",
                        help="only the per-step cost of the links (no training runs)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    tasks = {"quick": QUICK_TASK} if args.quick else {k: TASKS[k] for k in args.tasks}
    seeds = 1 if args.quick else args.seeds
    links = [m for m in METHODS if "loss" not in METHODS[m]]
    losses = [m for m in METHODS if "loss" in METHODS[m]]
    print(f"device: cpu ({torch.get_num_threads()} thread), torch {torch.__version__}; "
          f"{seeds} seeds per method; methods as members of one cohort per task: "
          f"{', '.join(links)}; own cohort (a loss): {', '.join(losses)}")
    root = args.out or Path(tempfile.mkdtemp(prefix="time_to_grok-"))
    report: dict[str, Any] = {}
    curves: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
    worst = 0.0
    for name, task in tasks.items():
        if args.overhead_only:
            worst = max(worst, report_overhead(task, len(links) * seeds, args))
            continue
        rows, store = run_cohort(task, links, seeds, None, root / name / "links")
        curves[name] = median_curves(store, links, seeds)
        for method in losses:
            more, store = run_cohort(task, [method], seeds, METHODS[method]["loss"],
                                     root / name / method)
            rows += more
            curves[name].update(median_curves(store, [method], seeds))
        summary = summarize(task, rows)
        print_table(name, task, summary)
        worst = max(worst, report_overhead(task, len(links) * seeds, args))
        report[name] = {"task": task, "rows": rows, "summary": summary}
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=str))
    if args.figure:
        plot(curves, args.figure)
        print(f"\nfigure: {args.figure}")
    if not args.quick and worst > OVERHEAD_BOUND:
        print(f"\nFAIL: every link on costs {worst:.2f}x a plain step (bound "
              f"{OVERHEAD_BOUND}x)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
