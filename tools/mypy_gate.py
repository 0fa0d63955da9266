"""Type-check src/ with mypy against a committed baseline that may only shrink.

    python tools/mypy_gate.py            # fail if a file has more errors than its baseline,
                                         # or a core package (config, store, training,
                                         # detection) has any
    python tools/mypy_gate.py --update   # write the current counts as the new baseline

The baseline (tools/mypy-baseline.txt) holds `path count` per file with errors today.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "tools" / "mypy-baseline.txt"
CORE = ("src/grokscope/config/", "src/grokscope/store/", "src/grokscope/training/",
        "src/grokscope/detection/")
ERROR = re.compile(r"^(src/[^:]+\.py):\d+: error:")


def current() -> tuple[Counter[str], list[str]]:
    out = subprocess.run([sys.executable, "-m", "mypy", "src/grokscope"], cwd=ROOT,
                         capture_output=True, text=True)
    lines = [line for line in out.stdout.splitlines() if ERROR.match(line)]
    if out.returncode not in (0, 1):  # 2: mypy itself failed
        sys.exit(out.stdout + out.stderr)
    return Counter(ERROR.match(line)[1] for line in lines), lines


def main() -> int:
    counts, lines = current()
    if "--update" in sys.argv:
        BASELINE.write_text("".join(f"{path} {n}\n" for path, n in sorted(counts.items())))
        print(f"baseline: {sum(counts.values())} errors in {len(counts)} files")
        return 0
    baseline = {path: int(n) for path, n in
                (line.split() for line in BASELINE.read_text().splitlines() if line.strip())}
    worse = {p: n for p, n in counts.items() if n > baseline.get(p, 0) or p.startswith(CORE)}
    for path in sorted(worse):
        print(f"{path}: {worse[path]} errors (baseline {baseline.get(path, 0)}"
              f"{', core packages must be clean' if path.startswith(CORE) else ''})")
        for line in lines:
            if line.startswith(path + ":"):
                print("  " + line)
    better = sum(baseline.values()) - sum(counts.values())
    print(f"mypy: {sum(counts.values())} errors in {len(counts)} files "
          f"(baseline {sum(baseline.values())})")
    if better > 0 and not worse:
        print(f"{better} fewer than the baseline: run `python tools/mypy_gate.py --update`")
    return 1 if worse else 0


if __name__ == "__main__":
    sys.exit(main())
