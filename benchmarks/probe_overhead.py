"""Probe overhead: what measuring costs, per probe and for a whole run.

Two measurements on one config (default: experiments/quickstart.yaml, its own probes):
1. per probe, the median wall time of one call, and its cost at the probe's schedule as a
   share of the run's training time (calls x time / (steps x time per training step), where a
   training step includes its share of the every-`log_every` evaluation);
2. whole runs through the real training loop: steps/s without probes, with the cheap probes
   only (weight_norm, groups, fourier) and with every configured probe.
Exits 1 if the cheap probes cost more than 20% of a training step at their default schedule.

    python benchmarks/probe_overhead.py                  # the quick-start run, 1,500 steps
    python benchmarks/probe_overhead.py --run-steps 300  # shorter whole runs
    python benchmarks/probe_overhead.py --quick          # tiny: checks the script runs
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch

from grokscope.config import load_config
from grokscope.config.describe import describe
from grokscope.probes.callback import ProbeCallback
from grokscope.probes.measure import PROBES, ProbeSet
from grokscope.store import RunStore
from grokscope.training.cohort import Cohort
from grokscope.training.loop import train

CHEAP = ("weight_norm", "groups", "fourier")
BUDGET = 0.20  # the bound for cheap probes, as a share of a training step


def _median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def whole_run(config, probes) -> float:
    """Seconds of `train()` for the config with these probes (a fresh temporary run)."""
    config = config.model_copy(update={"probes": probes})
    cohort = Cohort(config)
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        train(cohort, RunStore(folder), [ProbeCallback(cohort)])
        return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="experiments/quickstart.yaml")
    parser.add_argument("--steps", type=int, default=None, help="default: the config's")
    parser.add_argument("--run-steps", type=int, default=None,
                        help="steps of the whole runs (default: --steps)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--run-repeats", type=int, default=3, help="rounds of whole runs")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    overrides = ["train.device=cpu"]
    if args.quick:
        overrides += ["task.p=13", "model.d_model=16", "model.d_mlp=32", "cohort.members=2",
                      "train.steps=40", "train.checkpoint_every=20"]
        args.repeats, args.run_repeats = 2, 1
    if args.steps:
        overrides.append(f"train.steps={args.steps}")
    config = load_config(args.config, overrides)
    torch.set_num_threads(torch.get_num_threads())
    cohort = Cohort(config)
    for _ in range(3):
        cohort.step()
    log_every = config.train.log_every
    step_s = _median_seconds(lambda: [cohort.step() for _ in range(log_every)], args.repeats)
    step_s = (step_s + _median_seconds(cohort.evaluate, args.repeats)) / log_every
    steps = config.train.steps
    print(f"device cpu, {torch.get_num_threads()} threads; config {args.config} "
          f"({describe(config)}, "
          f"{cohort.n_members} members, {steps} steps); median of {args.repeats} repeats")
    print(f"training step (update + 1/{log_every} of an evaluation): {step_s * 1e3:.2f} ms")
    probe_set = ProbeSet(config.probes, cohort)
    width = max([len("probe"), *(len(spec.name) for spec, _ in probe_set.entries)]) + 2
    print(f"\n{'probe':<{width}}{'schedule':<32}{'calls':>6}{'ms/call':>10}"
          f"{'share of training':>19}")
    cheap_share = 0.0
    evaluation = cohort.evaluate()
    for spec, schedule in probe_set.entries:
        call = _median_seconds(lambda s=spec: PROBES[s.name](cohort, s, lambda: evaluation),
                               args.repeats)
        share = schedule.count() * call / (steps * step_s)
        if spec.name in CHEAP:
            cheap_share += share
        print(f"{spec.name:<{width}}{schedule!r:<32}{schedule.count():>6}{call * 1e3:>10.2f}"
              f"{share:>18.1%}")
    print(f"cheap probes ({', '.join(CHEAP)}) together: {cheap_share:.1%} of training "
          f"(budget {BUDGET:.0%})")

    cheap = [p for p in config.probes if p.name in CHEAP]
    if args.run_steps:
        config = config.model_copy(update={"train": config.train.model_copy(
            update={"steps": args.run_steps})})
    steps = config.train.steps
    print(f"\nwhole runs through the training loop ({steps} steps; {args.run_repeats} rounds, "
          "the three variants interleaved in each, median per variant):")
    variants = {"no probes": [], "cheap probes": cheap, "all configured probes": config.probes}
    seconds = {label: [] for label in variants}
    for _ in range(args.run_repeats):  # interleaved: a load change hits every variant alike
        for label, probes in variants.items():
            seconds[label].append(whole_run(config, probes))
    base = statistics.median(seconds["no probes"])
    for label, values in seconds.items():
        median = statistics.median(values)
        print(f"  {label:<24}{median:8.1f} s  {steps / median:8.1f} steps/s  "
              f"overhead {median / base - 1:+.1%}   (runs: "
              + ", ".join(f"{v:.1f}" for v in values) + ")")
    if not args.quick and cheap_share > BUDGET:
        print(f"FAIL: cheap probes cost {cheap_share:.1%} > {BUDGET:.0%} of a training step")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
