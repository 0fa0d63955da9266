"""Score stopping rules and the forecast on a corpus of full-budget runs (docs/stopping.md).

    make stopping-corpus                                           # train the corpus (hours)
    python benchmarks/stopping.py --build runs/sweeps/stopping_*   # compact it into Parquet
    python benchmarks/stopping.py --fit                            # fit hopeless + forecast
    python benchmarks/stopping.py                                  # the table (held-out half)
    python benchmarks/stopping.py --compaction                     # step time as members stop

The corpus is the sweeps of experiments/stopping/, every member trained to its full budget
with no stopping; `--build` keeps each member's logged train/test loss and accuracy and total
weight norm. Rules are replayed on every member's curve (`detection.online.first_stop`: what
the rule decides online, see tests/stopping) and scored against `detect()` on the full curve
(`detection.scoring`). The fit half is the members with an even seed, the held-out half those
with an odd one: settings are chosen on the first, scores reported on the second only.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from grokscope.config import DetectConfig
from grokscope.detection.forecast import fit
from grokscope.detection.online import NORM, History
from grokscope.detection.scoring import (
    DEFAULT_SETS,
    Member,
    forecast_scores,
    label,
    samples,
    score,
)

HERE = Path(__file__).parent
CORPUS = HERE / "data" / "stopping_corpus.parquet"
FORECAST = HERE.parent / "src" / "grokscope" / "detection" / "forecast.json"
COLUMNS = ("train_loss", "train_acc", "test_loss", "test_acc", NORM)
# what --fit searches, on the fit half: grokked's confirmation, hopeless's patience
CONFIRM = [(ratio, logs) for ratio in (0.05, 0.1, 0.2) for logs in (1, 3, 5)]
HOPELESS_GRID = [{"wait": w, "min_fraction": f, "min_gain": gain, "min_loss_drop": loss,
                  "min_norm_drop": norm}
                 for w in (5.0, 10.0, 20.0) for f in (0.0, 0.2)
                 for gain, loss, norm in ((0.01, 0.05, 0.02), (0.02, 0.1, 0.05), (0.05, 0.2, 0.1))]


def build(dirs: list[Path], out: Path) -> None:
    """Compact the sweeps' finished runs into one Parquet file (float32 values)."""
    from grokscope.experiment import load_run
    from grokscope.store.metrics import member_histories

    parts = []
    for sweep in dirs:
        for run in sorted((sweep / "cohorts").glob("*")):
            if not (run / "events.json").is_file():
                continue
            config, store = load_run(run)
            events = json.loads((run / "events.json").read_text())
            for member, entry in member_histories(store.load_metrics(), (NORM,)).items():
                n = len(entry["steps"])
                parts.append(pa.table({
                    "key": [f"{sweep.name}/{run.name}/{member}"] * n,
                    "group": [sweep.name] * n,
                    "seed": np.full(n, events["members"][member]["seed"], np.int32),
                    "budget": np.full(n, config.train.steps, np.int32),
                    "step": entry["steps"].astype(np.int32),
                    **{c: entry[c].astype(np.float32) for c in COLUMNS},
                }))
    table = pa.concat_tables(parts)
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, out, compression="zstd")
    n = len(set(table["key"].to_pylist()))
    print(f"corpus: {n} members, {table.num_rows} rows, {out.stat().st_size / 1e6:.1f} MB "
          f"-> {out}")


def load(path: Path, cfg: DetectConfig) -> list[Member]:
    """The corpus's members, with the events of their full-budget curves."""
    frame = pq.read_table(path).to_pandas()
    members = []
    for key, rows in frame.groupby("key", sort=True):
        rows = rows.sort_values("step")
        h = History(rows["step"].to_numpy(np.int64),
                    {c: rows[c].to_numpy(np.float64) for c in COLUMNS},
                    int(rows["budget"].iloc[0]))
        members.append(Member.of(str(key), str(rows["group"].iloc[0]),
                                 int(rows["seed"].iloc[0]), h, cfg))
    return members


def split(members: list[Member]) -> tuple[list[Member], list[Member]]:
    """(fit half: even seeds, held-out half: odd seeds)."""
    return [m for m in members if m.seed % 2 == 0], [m for m in members if m.seed % 2 == 1]


def run_fit(members: list[Member], cfg: DetectConfig) -> dict:
    """On the fit half: grokked's confirmation (fewest premature stops, then least overrun),
    then hopeless's settings (fewest premature stops beside grokked, then fewest close calls
    of hopeless alone, then least compute), then the forecast; writes forecast.json and
    prints what to put in the defaults."""
    fit_half, _ = split(members)
    ranked = []
    for ratio, logs in CONFIRM:
        grokked = {"name": "grokked", "confirm_ratio": ratio, "confirm_logs": logs}
        s = score(fit_half, [grokked], cfg)
        print(f"  grokked confirm_ratio {ratio} confirm_logs {logs}: premature "
              f"{s['premature']}/{s['grokked']}, overrun p90 {s['overrun_p90']:.2f}", flush=True)
        ranked.append(((s["premature"], s["overrun_p90"]), ratio, logs))
    _, ratio, logs = min(ranked)  # fewest premature stops, then the smallest overrun
    confirm = {"name": "grokked", "confirm_ratio": ratio, "confirm_logs": logs}
    best = None
    for setting in HOPELESS_GRID:
        specs = [confirm, {"name": "hopeless", **setting}]
        s = score(fit_half, specs, cfg)
        # close calls of hopeless alone: grokking members it stops before 1.5 x alpha1
        near = score(fit_half, [{"name": "hopeless", **setting}], cfg)["near_misses"]
        print(f"  hopeless {setting}: premature {s['premature']}, close calls {near}, "
              f"compute {s['compute']:.3f}", flush=True)
        rank = (s["premature"], near, s["compute"])
        if best is None or rank < best[2]:
            best = (setting, s, rank)
    x, y, r = samples(fit_half, cfg)
    rows = np.flatnonzero(~np.isnan(r))
    model = fit(x, y, np.nan_to_num(r), rows,
                source=f"benchmarks/stopping.py --fit on {len(fit_half)} members (even seeds)")
    FORECAST.write_text(json.dumps(model.to_json(), indent=1) + "\n")
    print(f"forecast: {len(x)} samples, {int(y.sum())} positive -> {FORECAST}")
    return {"grokked": confirm, "hopeless": best[0] if best else None,
            "fit_half_scores": best[1] if best else None}


def table(members: list[Member], cfg: DetectConfig, sets: list[list[dict]]) -> list[dict]:
    results = []
    for specs in sets:
        r = score(members, specs, cfg)
        results.append(r)
        print(f"{label(specs)} | {r['premature']}/{r['grokked']} | {r['premature_rate']:.3f} | "
              f"{r['verdict_agreement']:.3f} | {r['overrun_median']:.2f} | "
              f"{r['overrun_p90']:.2f} | {r['memorized_budget_share']:.2f} | "
              f"{r['regret_median']:.3f} | {r['compute']:.3f}", flush=True)
    return results


def figures(held: list[Member], results: list[dict], grid: list[dict], cfg: DetectConfig,
            out: Path) -> None:
    """Premature-stop rate vs compute, one point per rule set (and per hopeless setting of
    the fit grid), and example curves with the stops of three rule sets marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from grokscope.detection.scoring import rule_set, stop_of

    out.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for r in grid:
        ax.scatter(r["compute"], r["premature_rate"], s=14, color="0.7")
    for r in results:
        ax.scatter(r["compute"], r["premature_rate"], s=30)
        ax.annotate(label(r["rules"]).replace("monitor=", ""), (r["compute"], r["premature_rate"]),
                    fontsize=6, xytext=(3, 2), textcoords="offset points")
    ax.set_xlabel("compute used / full budget")
    ax.set_ylabel("premature-stop rate (grokking members)")
    ax.set_title(f"stopping rules on the held-out half ({len(held)} members); grey: "
                 "grokked + hopeless grid", fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "stopping_tradeoff.png", dpi=130)
    plt.close(fig)
    sets = {"patience(test_loss, 10)": [{"name": "patience", "patience": 10}],
            "grokked": [{"name": "grokked"}],
            "grokked + hopeless": [{"name": "grokked"}, {"name": "hopeless"}]}
    picks = [m for m in held if m.grokked][:3] + [m for m in held
                                                  if m.verdict == "memorized-only"][:3]
    fig, axes = plt.subplots(2, 3, figsize=(11, 5.4), sharey=True)
    for ax, m in zip(axes.ravel(), picks, strict=False):
        h = m.history
        ax.plot(h.steps, h["train_acc"], "--", color="0.5", lw=1, label="train")
        ax.plot(h.steps, h["test_acc"], color="k", lw=1.2, label="test")
        for (name, specs), color in zip(sets.items(), ("tab:red", "tab:green", "tab:blue"),
                                        strict=True):
            stop = stop_of(rule_set(specs, cfg), h)
            if stop is not None:
                ax.axvline(stop, color=color, lw=1.2, label=f"{name}: {stop}")
        if m.alpha1 is not None:
            ax.axvline(m.alpha1, color="k", ls=":", lw=1)
        ax.set_xscale("symlog", linthresh=100)
        ax.set_xlim(left=0)
        ax.set_title(f"{m.key.split('/')[0].removeprefix('stopping_')} · {m.verdict}"
                     + (f" · α1 {m.alpha1}" if m.alpha1 else ""), fontsize=8)
        ax.legend(fontsize=6, loc="lower right")
    fig.supxlabel("step")
    fig.supylabel("accuracy")
    fig.tight_layout()
    fig.savefig(out / "stopping_examples.png", dpi=130)
    plt.close(fig)
    print(f"figures -> {out}")


def compaction(members: int = 64, steps: int = 400) -> dict:
    """Step time of one cohort as its members stop: E, E/2, E/4, E/8 live members (the
    quick-start transformer on a+b mod 59), timed over `steps` steps each."""
    import torch

    from grokscope.config import parse_config
    from grokscope.training.cohort import Cohort

    torch.manual_seed(0)
    config = parse_config({
        "task": {"name": "modular", "p": 59, "op": "a+b"}, "split": {"fraction": 0.4},
        "model": {"name": "transformer", "n_layers": 1, "d_model": 64, "n_heads": 4,
                  "d_mlp": 256}, "cohort": {"members": members},
        "train": {"steps": steps, "device": "cpu"}})
    cohort = Cohort(config)
    out = {}
    live = members
    while live >= max(1, members // 8):
        cohort.step()  # warm
        t0 = time.perf_counter()
        for _ in range(steps):
            cohort.step()
        out[live] = (time.perf_counter() - t0) / steps
        print(f"  {live} live members: {1e3 * out[live]:.1f} ms/step", flush=True)
        half = live // 2
        cohort.stop({k: "budget" for k in range(half)}, 0)
        live -= half
    return {"device": "cpu", "threads": torch.get_num_threads(), "steps": steps,
            "seconds_per_step": out}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", nargs="*", type=Path, help="sweep dirs to compact")
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("--fit", action="store_true", help="fit grokked/hopeless and the forecast")
    ap.add_argument("--limit", type=int, default=0, help="the first N members only")
    ap.add_argument("--compaction", action="store_true", help="time steps as members stop")
    ap.add_argument("--members", type=int, default=64, help="--compaction: cohort size")
    ap.add_argument("--json", type=Path, help="write the scores here")
    ap.add_argument("--figures", type=Path, help="write the trade-off and example figures here")
    args = ap.parse_args(argv)
    if args.build:
        build(args.build, args.corpus)
        return 0
    if args.compaction:
        print(f"compaction: {platform.processor() or platform.machine()}, {args.members} "
              "members, quick-start transformer")
        result = compaction(args.members)
        if args.json:
            args.json.write_text(json.dumps(result, indent=1))
        return 0
    cfg = DetectConfig()
    t0 = time.perf_counter()
    members = load(args.corpus, cfg)
    if args.limit:
        members = members[: args.limit]
    verdicts = {v: sum(m.verdict == v for m in members)
                for v in sorted({m.verdict for m in members})}
    print(f"corpus {args.corpus}: {len(members)} members; verdicts {verdicts}")
    if args.fit:
        print(json.dumps(run_fit(members, cfg)))
        return 0
    from grokscope.detection.forecast import shipped

    _, held = split(members)
    print(f"held-out half: {len(held)} members (odd seeds), "
          f"{sum(m.grokked for m in held)} grokked")
    print("rules | premature | rate | verdict agreement | overrun med | overrun p90 | "
          "memorized budget | regret med | compute")
    results = table(held, cfg, DEFAULT_SETS)
    fc = forecast_scores(held, shipped(), cfg)
    print(f"forecast: {fc}")
    if args.figures:
        grid = [score(held, [{"name": "grokked"}, {"name": "hopeless", **g}], cfg)
                for g in HOPELESS_GRID]
        figures(held, results, grid, cfg, args.figures)
    print(f"scored in {time.perf_counter() - t0:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({"rules": results, "forecast": fc}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
