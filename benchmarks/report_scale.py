"""How big and how fast the HTML report is at scale: a 64-member run with 20k logged steps,
and a sweep (the shipped 192-run phase diagram, when trained).

The large run is synthetic (a generated run directory: grokking-shaped curves with noise and
loss spikes, a weight-norm probe every 10 steps), so the benchmark needs no hours of
training; its config, events and figures are made by grokscope itself (`finalize`). What is
measured: the seconds `write_report` takes (median of `--repeats`), the page's size, the
points drawn vs stored, and, with Chromium present, the seconds until the page has drawn.

    python benchmarks/report_scale.py [--members 64] [--steps 20000]
        [--sweep runs/sweeps/phase_fraction_wd --screenshot docs/figures/report_sweep_192.png]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from grokscope.config import dump_config, parse_config
from grokscope.experiment import finalize
from grokscope.store import RunStore
from grokscope.view import write_report


def synthetic_run(path: Path, members: int, steps: int, seed: int = 0) -> RunStore:
    """A finished run directory of `members` members logged at every step up to `steps`."""
    rng = np.random.default_rng(seed)
    config = parse_config({"name": "scale", "cohort": {"members": members},
                           "train": {"steps": steps, "log_every": 1, "device": "cpu"}})
    store = RunStore(path)
    store.claim()
    store.write_config(dump_config(config))
    s = np.arange(steps + 1)
    t = np.log1p(s)
    alpha1 = rng.uniform(np.log(500), np.log(steps), members)  # generalization, log step
    rows = []
    for member in range(members):
        train_acc = 1 / (1 + np.exp(-(t - np.log(100)) * 4))
        test_acc = 0.02 + 0.97 / (1 + np.exp(-(t - alpha1[member]) * 5))
        noise = rng.normal(0, 0.01, (2, len(s)))
        train_loss = np.exp(-t) * 4 + 1e-3
        test_loss = 4 * (1 - test_acc) + 1e-3
        spikes = rng.choice(len(s), 5, replace=False)
        train_loss[spikes] *= 100  # loss spikes: what the downsampling must keep
        for split, acc, loss in (("train", train_acc, train_loss), ("test", test_acc, test_loss)):
            rows.append(pa.table({
                "step": s, "member": np.full(len(s), member, np.int32),
                "split": pa.array([split] * len(s)),
                "loss": loss * np.exp(noise[0] * 0.1),
                "accuracy": np.clip(acc + noise[1], 0, 1)}))
        probe = s[::10]
        rows.append(pa.table({
            "step": probe, "member": np.full(len(probe), member, np.int32),
            "split": pa.array(["probe"] * len(probe)),
            "weight_norm/total": 40 * np.exp(-probe / steps) + rng.normal(0, 0.2, len(probe))}))
    table = pa.concat_tables(rows, promote_options="default")
    store.append_metrics(table, steps)
    finalize(store, config, None, 0.0)
    return store


def page_seconds(path: Path, screenshot: Path | None = None) -> float | None:
    """Seconds from navigation until the page has drawn (data-ready), in headless Chromium;
    with `screenshot`, the drawn page (its phase cell with most runs clicked) is saved."""
    chromium = shutil.which("chromium")
    if chromium is None:
        return None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        t0 = time.perf_counter()
        page.goto(path.resolve().as_uri())
        page.wait_for_selector("body[data-ready]", timeout=120_000)
        seconds = time.perf_counter() - t0
        if screenshot is not None:
            cells = page.locator("[data-chart=phase] rect.cell[data-phase=grokking]")
            if cells.count():
                cells.nth(cells.count() // 2).click()
            page.screenshot(path=str(screenshot), full_page=True)
        browser.close()
    return seconds


def measure(path: Path, repeats: int, cohorts: bool = False,
            screenshot: Path | None = None) -> dict:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        target = write_report(path, cohorts=cohorts)
        times.append(time.perf_counter() - t0)
    data = target.read_text()
    points = data.count(",")  # a bound on the numbers embedded
    return {"report_seconds_median": statistics.median(times), "repeats": repeats,
            "page_bytes": target.stat().st_size, "numbers_embedded_at_most": points,
            "page_draw_seconds": page_seconds(target, screenshot)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sweep", type=Path, default=None, help="a trained sweep directory")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--screenshot", type=Path, default=None,
                        help="save a screenshot of the sweep's page here")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        store = synthetic_run(Path(tmp) / "run", args.members, args.steps)
        made = time.perf_counter() - t0
        rows = store.load_metrics().num_rows
        results["run"] = {"members": args.members, "logged_steps": args.steps + 1,
                          "stored_rows": rows, "synthesis_seconds": made,
                          **measure(store.path, args.repeats)}
    if args.sweep:
        from grokscope.sweep.store import load_sweep

        results["sweep"] = {"path": str(args.sweep), "runs": len(load_sweep(args.sweep)),
                            **measure(args.sweep, args.repeats, cohorts=False,
                                      screenshot=args.screenshot)}
    import torch

    results["machine"] = {"torch_threads": torch.get_num_threads(), "device": "cpu"}
    print(json.dumps(results, indent=1))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
