"""What feeding a curve to `grokscope.Monitor` costs as the curve grows.

A synthetic grokking curve of N logs (train accuracy reaches 1 at 5% of the run, test
accuracy jumps at 60%) is fed log by log with `grokked`, `hopeless` and the forecast; the
time of the whole feed is printed for each N, with the ratio to the previous N. Issue 34
asks for O(1) amortized updates (a 100,000-log curve in <= 10 s); today each update re-reads
the curve so far, so the time grows about as N^2 and the 100,000-log feed is extrapolated,
not run.

    python benchmarks/monitor_scaling.py [--sizes 500 1000 2000 4000]
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

from grokscope import Monitor


def curve(n: int) -> dict[str, np.ndarray]:
    t = np.arange(n) * 10
    train = np.clip(t / (0.05 * t[-1]), 0.02, 1.0)
    test = np.where(t < 0.6 * t[-1], 0.03, 1.0)
    return {"steps": t, "train_acc": train, "test_acc": test, "train_loss": 1.0 - 0.9 * train,
            "test_loss": 4.0 - 3.0 * test, "weight_norm": 50.0 - 20.0 * t / t[-1]}


def feed(n: int) -> float:
    c = curve(n)
    monitor = Monitor(["grokked", "hopeless"], budget=int(c["steps"][-1]) * 2)
    t0 = time.perf_counter()
    for k in range(n):
        monitor.update(int(c["steps"][k]), train_acc=float(c["train_acc"][k]),
                       test_acc=float(c["test_acc"][k]), train_loss=float(c["train_loss"][k]),
                       test_loss=float(c["test_loss"][k]),
                       weight_norm=float(c["weight_norm"][k]))
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 1000, 2000, 4000])
    args = parser.parse_args()
    print(f"Monitor feed time, grokked + hopeless + forecast, one thread, "
          f"{platform.machine()} ({platform.processor() or 'cpu'})")
    times: list[tuple[int, float]] = []
    for n in args.sizes:
        seconds = feed(n)
        ratio = (f"  x{seconds / times[-1][1]:.1f} for x{n / times[-1][0]:.0f} logs"
                 if times else "")
        print(f"{n:>7,} logs: {seconds:8.2f} s  ({1e3 * seconds / n:.2f} ms per log){ratio}")
        times.append((n, seconds))
    (n0, t0), (n1, t1) = times[-2], times[-1]  # the growth of the largest pair
    exponent = float(np.log(t1 / t0) / np.log(n1 / n0))
    print(f"growth ~ N^{exponent:.2f} (last two sizes); 100,000 logs extrapolated: "
          f"{t1 * (100_000 / n1) ** exponent:,.0f} s (target <= 10 s)")


if __name__ == "__main__":
    main()
