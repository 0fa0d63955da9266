"""The throughput benchmark runs and prints what it measured (tiny sizes; no speed asserted)."""

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "cohort_throughput.py"


def test_benchmark_quick_prints_its_table():
    out = subprocess.run([sys.executable, str(SCRIPT), "--quick"], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "device: cpu" in out.stdout and "median of 1 repeats" in out.stdout
    rows = [line.split() for line in out.stdout.splitlines()
            if line.startswith(("mlp ", "transformer "))]
    assert len(rows) == 3 * 2 * 2  # scenarios x models x E in {1, 4}
    assert all(row[-1].endswith("x") and float(row[3]) > 0 for row in rows)


PROBE_SCRIPT = SCRIPT.with_name("probe_overhead.py")


def test_probe_overhead_quick_prints_every_probe_and_the_whole_runs():
    out = subprocess.run([sys.executable, str(PROBE_SCRIPT), "--quick"], capture_output=True,
                         text=True, timeout=300, cwd=SCRIPT.parents[1])
    assert out.returncode == 0, out.stderr
    for name in ("weight_norm", "fourier", "groups", "circuit", "sharpness", "representation",
                 "pruning", "no probes", "cheap probes", "all configured probes"):
        assert name in out.stdout, name
    assert "device cpu" in out.stdout and "median of 2 repeats" in out.stdout


def test_sweep_packing_quick_prints_both_estimates():
    script = SCRIPT.with_name("sweep_packing.py")
    out = subprocess.run([sys.executable, str(script), "--quick"], capture_output=True,
                         text=True, timeout=300, cwd=SCRIPT.parents[1])
    assert out.returncode == 0, out.stderr
    assert "device cpu" in out.stdout and "192 runs x 3000 steps" in out.stdout
    assert "one at a time:" in out.stdout and "speedup" in out.stdout
