"""Score stopping rules and the forecast on a corpus of full-budget runs (docs/stopping.md).

    python benchmarks/stopping.py --build runs/sweeps/stopping_*   # compact the corpus
    python benchmarks/stopping.py --fit                            # fit hopeless + forecast
    python benchmarks/stopping.py                                  # the table (held-out half)

The corpus is `make stopping-corpus` (the sweeps of experiments/stopping/, every member
trained to its full budget, no stopping); `--build` keeps each member's logged train/test
loss and accuracy and total weight norm in one Parquet file. Rules are replayed on every
member's curve (`detection.online.first_stop`: what the rule decides online, see the tests)
and scored against `detect()` on the full curve. The fit half is the members with an even
seed, the held-out half those with an odd one; thresholds are chosen on the first, scores
reported on the second.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from grokscope.config import DetectConfig, parse_config
from grokscope.detection import detect
from grokscope.detection.forecast import FEATURES, auroc, features, fit
from grokscope.detection.online import NORM, History, first_stop

HERE = Path(__file__).parent
CORPUS = HERE / "data" / "stopping_corpus.parquet"
FORECAST = HERE.parent / "src" / "grokscope" / "detection" / "forecast.json"
COLUMNS = ("train_loss", "train_acc", "test_loss", "test_acc", NORM)


@dataclass
class Member:
    key: str
    group: str  # the sweep it came from
    seed: int
    history: History
    verdict: str
    alpha0: int | None
    alpha1: int | None

    @property
    def grokked(self) -> bool:
        return self.verdict == "grokked"


def build(dirs: list[Path], out: Path) -> None:
    """Compact the sweeps' runs into one Parquet file (float32 values)."""
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
    table = pq.read_table(path).to_pandas()
    members = []
    for key, rows in table.groupby("key", sort=True):
        rows = rows.sort_values("step")
        h = History(rows["step"].to_numpy(np.int64),
                    {c: rows[c].to_numpy(np.float64) for c in COLUMNS},
                    int(rows["budget"].iloc[0]))
        ev = detect(h.steps, h["train_acc"], h["test_acc"], cfg, h["train_loss"],
                    h["test_loss"])
        members.append(Member(key, str(rows["group"].iloc[0]), int(rows["seed"].iloc[0]), h,
                              ev.verdict, ev.alpha0, ev.alpha1))
    return members


def rule_set(specs: list[dict], cfg: DetectConfig):  # noqa: ANN201 - a list of rules
    config = parse_config({"stopping": specs, "detect": cfg.model_dump()})
    return [spec.build(0, cfg) for spec in config.stopping]


def stop_of(rules: list, h: History) -> int | None:
    """The first step any rule fires (the online OR), or None."""
    stops = [s for s in (first_stop(r, h) for r in rules) if s is not None]
    return min(stops) if stops else None


def score(members: list[Member], specs: list[dict], cfg: DetectConfig) -> dict:
    """Every score of one rule set over members."""
    rules = rule_set(specs, cfg)
    premature = positives = agree = 0
    overrun, regret, used, total, mem_used, mem_total = [], [], 0, 0, 0, 0
    for m in members:
        h = m.history
        stop = stop_of(rules, h)
        last = int(h.steps[-1])
        at = stop if stop is not None else last
        n = int(np.searchsorted(h.steps, at, side="right"))
        cut = h.prefix(n)
        ev = detect(cut.steps, cut["train_acc"], cut["test_acc"], cfg, cut["train_loss"],
                    cut["test_loss"])
        agree += ev.verdict == m.verdict
        used, total = used + at, total + h.budget
        if m.verdict == "memorized-only":
            mem_used, mem_total = mem_used + at, mem_total + h.budget
        regret.append(float(np.max(h["test_acc"]) - cut["test_acc"][-1]))
        if m.grokked:
            positives += 1
            if at < m.alpha1:
                premature += 1
            else:
                overrun.append((at - m.alpha1) / m.alpha1)
    o = np.asarray(overrun) if overrun else np.zeros(1)
    return {
        "rules": specs, "members": len(members), "grokked": positives,
        "premature": premature, "premature_rate": premature / max(positives, 1),
        "verdict_agreement": agree / max(len(members), 1),
        "overrun_median": float(np.median(o)), "overrun_p90": float(np.percentile(o, 90)),
        "memorized_budget_share": mem_used / max(mem_total, 1),
        "regret_median": float(np.median(regret)), "regret_max": float(np.max(regret)),
        "compute": used / max(total, 1),
    }


def samples(members: list[Member], cfg: DetectConfig, per_member: int = 12):
    """Forecast training samples: features at log-spaced logs after alpha0 (before alpha1),
    with labels (groks within the budget) and log(alpha1 / t)."""
    xs, ys, ratios = [], [], []
    for m in members:
        if m.alpha0 is None:
            continue
        h = m.history
        end = m.alpha1 if m.alpha1 is not None else int(h.steps[-1])
        steps = h.steps[(h.steps >= m.alpha0) & (h.steps < end)]
        if not len(steps):
            continue
        picks = np.unique(np.geomspace(max(steps[0], 1), steps[-1], per_member).astype(int))
        for t in picks:
            n = int(np.searchsorted(h.steps, t, side="right"))
            x = features(h.prefix(n), cfg)
            if x is None:
                continue
            xs.append(x)
            ys.append(m.grokked)
            ratios.append(math.log(m.alpha1 / h.steps[n - 1]) if m.grokked else math.nan)
    return np.asarray(xs), np.asarray(ys), np.asarray(ratios)


def forecast_scores(members: list[Member], forecast, cfg: DetectConfig) -> dict:
    """AUROC of "groks within the budget" at 2 and 5 x alpha0 (members not generalized yet
    then), and the median absolute percentage error of the alpha1 estimate."""
    out = {}
    for mult in (2, 5):
        scores, labels, errors = [], [], []
        for m in members:
            if m.alpha0 is None:
                continue
            t = mult * m.alpha0
            if t > m.history.steps[-1] or (m.alpha1 is not None and m.alpha1 <= t):
                continue
            n = int(np.searchsorted(m.history.steps, t, side="right"))
            x = features(m.history.prefix(n), cfg)
            if x is None:
                continue
            p, eta = forecast.predict(x, int(m.history.steps[n - 1]))
            scores.append(p)
            labels.append(m.grokked)
            if m.grokked:
                errors.append(abs(eta - m.alpha1) / m.alpha1)
        out[f"auroc_{mult}a0"] = auroc(np.asarray(scores), np.asarray(labels))
        out[f"n_{mult}a0"] = len(scores)
        out[f"grokked_{mult}a0"] = int(np.sum(labels))
        out[f"mdape_{mult}a0"] = float(np.median(errors)) if errors else None
    return out


BASELINES = [
    [{"name": "patience", "monitor": "test_loss", "patience": 10}],
    [{"name": "patience", "monitor": "test_loss", "patience": 50}],
    [{"name": "patience", "monitor": "test_acc", "patience": 50}],
    [{"name": "gl", "alpha": 2.0}],
    [{"name": "up", "s": 5, "strip": 5}],
    [{"name": "threshold", "monitor": "test_loss", "below": 0.01}],
    [{"name": "threshold", "monitor": "test_acc", "above": 0.99, "logs": 5}],
]
HOPELESS_GRID = [{"wait": w, "min_norm_drop": d, "min_loss_drop": d2}
                 for w in (5.0, 10.0, 20.0) for d in (0.01, 0.05) for d2 in (0.02, 0.1)]


def split(members: list[Member]) -> tuple[list[Member], list[Member]]:
    return [m for m in members if m.seed % 2 == 0], [m for m in members if m.seed % 2 == 1]


def run_fit(members: list[Member], cfg: DetectConfig) -> dict:
    """Choose hopeless's settings (most compute saved with no premature stop, with grokked)
    and fit the forecast, on the fit half."""
    fit_half, _ = split(members)
    best = None
    for setting in HOPELESS_GRID:
        specs = [{"name": "grokked"}, {"name": "hopeless", **setting}]
        s = score(fit_half, specs, cfg)
        print(f"  fit half {setting}: premature {s['premature']}, compute {s['compute']:.3f}",
              flush=True)
        if s["premature"] == 0 and (best is None or s["compute"] < best[1]["compute"]):
            best = (setting, s)
    x, y, r = samples(fit_half, cfg)
    rows = np.flatnonzero(~np.isnan(r))
    model = fit(x, y, np.nan_to_num(r), rows,
                source=f"benchmarks/stopping.py --fit on {len(fit_half)} members (even seeds)")
    FORECAST.write_text(json.dumps(model.to_json(), indent=1) + "\n")
    print(f"forecast: {len(x)} samples, {int(y.sum())} positive -> {FORECAST}")
    return {"hopeless": best[0] if best else None}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", nargs="*", type=Path, help="sweep dirs to compact")
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("--fit", action="store_true", help="fit hopeless and the forecast")
    ap.add_argument("--limit", type=int, default=0, help="score the first N members only")
    ap.add_argument("--json", type=Path, help="write the scores here")
    args = ap.parse_args(argv)
    if args.build:
        build(args.build, args.corpus)
        return 0
    cfg = DetectConfig()
    t0 = time.perf_counter()
    members = load(args.corpus, cfg)
    if args.limit:
        members = members[: args.limit]
    verdicts = {v: sum(m.verdict == v for m in members) for v in sorted({m.verdict for m in members})}
    print(f"corpus {args.corpus}: {len(members)} members; verdicts {verdicts}")
    if args.fit:
        print(json.dumps(run_fit(members, cfg)))
        return 0
    from grokscope.detection.forecast import shipped
    from grokscope.config.stopping import HopelessSpec

    _, held = split(members)
    hopeless = {k: getattr(HopelessSpec(), k) for k in ("wait", "min_norm_drop", "min_loss_drop")}
    sets = [[]] + BASELINES + [[{"name": "grokked"}], [{"name": "hopeless"}],
                               [{"name": "grokked"}, {"name": "hopeless", **hopeless}]]
    results = [score(held, specs, cfg) for specs in sets]
    fc = forecast_scores(held, shipped(), cfg)
    print(f"held-out half: {len(held)} members (odd seeds), "
          f"{sum(m.grokked for m in held)} grokked; {time.perf_counter() - t0:.0f} s")
    head = ("rules", "premature", "rate", "agree", "overrun med", "overrun p90", "mem budget",
            "regret med", "compute")
    print(" | ".join(head))
    for r in results:
        name = " + ".join(_label(s) for s in r["rules"]) or "none (full budget)"
        print(f"{name} | {r['premature']}/{r['grokked']} | {r['premature_rate']:.2f} | "
              f"{r['verdict_agreement']:.3f} | {r['overrun_median']:.2f} | "
              f"{r['overrun_p90']:.2f} | {r['memorized_budget_share']:.2f} | "
              f"{r['regret_median']:.3f} | {r['compute']:.3f}")
    print(f"forecast: {fc}")
    if args.json:
        args.json.write_text(json.dumps({"rules": results, "forecast": fc}, indent=1))
    return 0


def _label(spec: dict) -> str:
    rest = ", ".join(f"{k}={v}" for k, v in spec.items() if k != "name")
    return f"{spec['name']}({rest})" if rest else spec["name"]


if __name__ == "__main__":
    sys.exit(main())
