"""`grokscope.Monitor` against the offline replay, over the shipped stopping corpus.

Every member is fed log by log through `Monitor.update` with grokscope's rule set
(`grokked + hopeless`) and with a baseline (`patience` 20 on test loss); its first stop (step
and rule) and final verdict must equal what `grokscope stopping` replays on the stored
curve. A second monitor per member is interrupted at a random log, its state sent through
JSON and restored into a new monitor that goes on: its decisions must equal the
uninterrupted ones. Prints the agreement and what a log costs as curves grow (the Monitor
re-reads the curve so far at each update: issue 34 asks for O(1)).

    python benchmarks/monitor_agreement.py [--limit N] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import stopping as bench  # noqa: E402
from grokscope import Monitor  # noqa: E402
from grokscope.config import DetectConfig  # noqa: E402
from grokscope.detection.online import NORM  # noqa: E402
from grokscope.detection.scoring import rule_set  # noqa: E402

SETS = {"grokked+hopeless": [{"name": "grokked"}, {"name": "hopeless"}],
        "patience20": [{"name": "patience", "monitor": "test_loss", "patience": 20}]}


def feed(monitor: Monitor, h, start: int = 0):
    out = []
    for n in range(start, len(h)):
        out.append(monitor.update(int(h.steps[n]), train_acc=float(h["train_acc"][n]),
                                  test_acc=float(h["test_acc"][n]),
                                  train_loss=float(h["train_loss"][n]),
                                  test_loss=float(h["test_loss"][n]),
                                  weight_norm=float(h[NORM][n])))
    return out


def replay(specs, h) -> tuple[int | None, str | None]:
    rules = rule_set(specs, DetectConfig())
    for n in range(1, len(h) + 1):
        prefix = h.prefix(n)
        for rule in rules:
            if rule.fires(prefix):
                return int(h.steps[n - 1]), rule.name
    return None, None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="the first N members only")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    members = bench.load(bench.CORPUS, DetectConfig())[: args.limit]
    rng = random.Random(0)
    agree = {name: 0 for name in SETS}
    restored = {name: 0 for name in SETS}
    verdicts = 0
    disagreements = []
    seconds, logs = 0.0, 0
    for index, m in enumerate(members):
        h = m.history
        for name, specs in SETS.items():
            t0 = time.perf_counter()
            monitor = Monitor(specs, budget=h.budget)
            decisions = feed(monitor, h)
            seconds += time.perf_counter() - t0
            logs += len(h)
            first = next((d for d in decisions if d.stop), None)
            online = (first.step, first.reason) if first else (None, None)
            offline = replay(specs, h)
            if online == offline:
                agree[name] += 1
            else:
                disagreements.append((m.key, name, online, offline))
            verdicts += name == "patience20" and monitor.events().verdict == m.verdict
            cut = rng.randrange(1, len(h))
            before = Monitor(specs, budget=h.budget)
            feed(before, h.prefix(cut))
            after = Monitor(specs, budget=h.budget)
            after.load_state_dict(json.loads(json.dumps(before.state_dict())))
            resumed = feed(after, h, start=cut)
            restored[name] += [repr(d) for d in resumed] == [repr(d) for d in decisions[cut:]]
        if (index + 1) % 50 == 0:
            print(f"{index + 1} members", flush=True)
    n = len(members)
    result = {"members": n, "agreement": {k: v / n for k, v in agree.items()},
              "restored_agreement": {k: v / n for k, v in restored.items()},
              "verdict_agreement": verdicts / n, "disagreements": disagreements[:20],
              "seconds_per_log": seconds / max(logs, 1), "logs": logs,
              "cpu": platform.processor() or platform.machine(),
              "logs_per_member_median": float(np.median([len(m.history) for m in members]))}
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0 if all(v == n for v in agree.values()) and all(
        v == n for v in restored.values()) and verdicts == n else 1


if __name__ == "__main__":
    raise SystemExit(main())
