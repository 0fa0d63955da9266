"""A sweep packed into cohorts vs the same runs one at a time.

Method: from a sweep file (default: the shipped phase diagram), time `--steps` training steps
(evaluation every `log_every` included) of (a) one packed cohort of `--members` runs, as the
sweep would build it, and (b) `--alone` of those runs each trained alone (E = 1). Both are
extrapolated to the whole sweep: packed = cohorts x steps x seconds per cohort step (scaled
by each cohort's size), sequential = runs x steps x seconds per single-run step. Prints the
device, sizes, repeats and both estimates.

    python benchmarks/sweep_packing.py                  # experiments/sweeps/phase_fraction_wd.yaml
    python benchmarks/sweep_packing.py --quick          # tiny: checks the script runs
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from grokscope.sweep.pack import cohort_config, pack
from grokscope.sweep.spec import expand_runs, load_sweep_spec
from grokscope.training.cohort import Cohort


def seconds_per_step(config, steps: int, repeats: int) -> float:
    """Median over repeats of the wall time per step, evaluation every log_every included."""
    cohort = Cohort(config)
    for _ in range(2):
        cohort.step()
    log_every = config.train.log_every
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for step in range(steps):
            cohort.step()
            if step % log_every == 0:
                cohort.evaluate()
        times.append((time.perf_counter() - start) / steps)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", default="experiments/sweeps/phase_fraction_wd.yaml")
    parser.add_argument("--members", type=int, default=32, help="size of the packed cohort")
    parser.add_argument("--alone", type=int, default=4, help="runs timed alone")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    spec, base = load_sweep_spec(args.sweep)
    base.setdefault("train", {})["device"] = "cpu"
    if args.quick:
        base["train"]["log_every"] = 10
        args.members, args.alone, args.steps, args.repeats = 4, 2, 20, 1
    runs = expand_runs(spec, base)
    plans = pack(runs, args.members)
    sample = plans[0].runs[: args.members]
    packed = seconds_per_step(cohort_config(sample, "bench"), args.steps, args.repeats)
    alone = statistics.mean(seconds_per_step(r.config, args.steps, args.repeats)
                            for r in sample[: args.alone])
    steps = runs[0].config.train.steps
    packed_total = sum(packed * len(p.runs) / len(sample) * steps for p in plans)
    sequential_total = len(runs) * steps * alone
    print(f"device cpu, {torch.get_num_threads()} threads; sweep {args.sweep}: {len(runs)} runs "
          f"x {steps} steps, packed into {len(plans)} cohorts (max {args.members})")
    print(f"timed: {args.steps} steps x {args.repeats} repeats (median) of one cohort of "
          f"{len(sample)} and of {args.alone} runs alone")
    print(f"packed cohort of {len(sample)}: {packed * 1e3:.1f} ms/step = "
          f"{len(sample) / packed:.0f} run-steps/s")
    print(f"one run alone: {alone * 1e3:.2f} ms/step = {1 / alone:.0f} run-steps/s")
    print(f"whole sweep, packed: {packed_total / 60:.1f} min; one at a time: "
          f"{sequential_total / 60:.1f} min; speedup {sequential_total / packed_total:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
