"""Cohort throughput: member-steps per second of one cohort of E vs E runs one after another.

A "member-step" is one optimizer update of one model plus its share of the evaluation pass
(all examples, every `log_every` steps), i.e. what a real run costs. The sequential baseline
runs the same code with E = 1; E such runs one after another take exactly E times as long,
so its member-steps/s is the E = 1 rate. Prints device, sizes, repeats and the speedup.

    python benchmarks/cohort_throughput.py            # all scenarios, E in 1 4 16 64 (+256 on GPU)
    python benchmarks/cohort_throughput.py --scenarios p97 --members 1 16
    python benchmarks/cohort_throughput.py --quick    # tiny sizes: checks the script runs
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from grokscope.config import parse_config
from grokscope.training.cohort import Cohort, resolve_device

MODELS = {
    "mlp": {"name": "mlp", "embed_dim": 128, "width": 256, "depth": 1},
    "transformer": {"name": "transformer", "d_model": 128, "n_heads": 4, "d_mlp": 512},
}
SMALL = {  # the sizes CPU sweeps use (quick-start scale): per-step overhead matters here
    "mlp": {"name": "mlp", "embed_dim": 32, "width": 64, "depth": 1},
    "transformer": {"name": "transformer", "d_model": 32, "n_heads": 4, "d_mlp": 128},
}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def seconds_per_step(model: dict, members: int, args: argparse.Namespace) -> float:
    """Median over repeats of the wall time of one training step (evaluation amortized)."""
    config = parse_config({
        "task": {"p": args.p}, "split": {"fraction": args.fraction}, "model": model,
        "optim": {"lr": 1e-3, "weight_decay": 1.0}, "cohort": {"members": members},
        "train": {"device": args.device, "log_every": args.log_every,
                  "batch_size": args.batch_size},
    })
    cohort = Cohort(config)
    cohort.step()  # warm-up: allocator, lazy init
    cohort.evaluate()
    _sync(cohort.device)
    start = time.perf_counter()
    cohort.step()
    _sync(cohort.device)
    steps = max(args.log_every, int(args.target / max(time.perf_counter() - start, 1e-6)))
    steps = min(steps, 200) // args.log_every * args.log_every or args.log_every
    times = []
    for _ in range(args.repeats):
        _sync(cohort.device)
        start = time.perf_counter()
        for step in range(steps):
            if step % args.log_every == 0:
                cohort.evaluate()
            cohort.step()
        _sync(cohort.device)
        times.append((time.perf_counter() - start) / steps)
    return statistics.median(times)


SCENARIOS = {  # name: (p, train fraction, batch size or None for full batch, sizes)
    "p97": (97, 0.3, None, MODELS),  # the setting: GEMM-bound on a CPU
    "p97-batch128": (97, 0.3, 128, MODELS),
    "small": (59, 0.4, None, SMALL),  # quick-start scale, where CPU sweeps live
}


def run_scenario(name: str, args: argparse.Namespace, device: torch.device) -> None:
    args.p, args.fraction, args.batch_size, sizes = SCENARIOS[name]
    if args.quick:
        args.p, args.batch_size = 11, args.batch_size and 16
    members = args.members or ([1, 4, 16, 64, 256] if device.type == "cuda" else [1, 4, 16, 64])
    members = sorted(set(members) | {1})  # E = 1 is the sequential baseline
    n = args.p * args.p
    batch = f"batch {args.batch_size}" if args.batch_size else "full batch"
    print(f"\n## {name}: a+b mod {args.p} ({n} examples, {round(args.fraction * n)} train), "
          f"{batch}, evaluation of all examples every {args.log_every} steps, median of "
          f"{args.repeats} repeats")
    print("models: " + "; ".join(f"{k} {v}" for k, v in sizes.items() if k in args.models))
    print(f"{'model':<12}{'E':>5}{'ms/step':>11}{'member-steps/s':>16}{'sequential':>12}"
          f"{'speedup':>9}")
    for model in args.models:
        base = None
        for e in members:
            t = seconds_per_step(sizes[model], e, args)
            base = base or t  # E = 1 comes first: the sequential rate
            rate, seq = e / t, 1 / base
            print(f"{model:<12}{e:>5}{t * 1e3:>11.2f}{rate:>16.1f}{seq:>12.1f}"
                  f"{rate / seq:>8.2f}x", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenarios", nargs="+", default=list(SCENARIOS), choices=list(SCENARIOS))
    parser.add_argument("--members", type=int, nargs="+")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--device", default="auto")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--log-every", type=int, default=10)
    parser.add_argument("--target", type=float, default=3.0, help="seconds per measurement")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to test the script")
    args = parser.parse_args()
    if args.quick:
        args.members, args.repeats, args.target = args.members or [1, 4], 1, 0.05
    device = resolve_device(args.device)
    args.device = str(device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"device: {device} ({name}), torch {torch.__version__}, "
          f"threads {torch.get_num_threads()}")
    for scenario in args.scenarios:
        run_scenario(scenario, args, device)


if __name__ == "__main__":
    main()
