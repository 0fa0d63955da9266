"""The throughput benchmark runs and prints what it measured (tiny sizes; no speed asserted)."""

import json
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


def test_time_to_grok_quick_prints_every_method_and_the_link_cost():
    script = SCRIPT.with_name("time_to_grok.py")
    out = subprocess.run([sys.executable, str(script), "--quick"], capture_output=True,
                         text=True, timeout=300, cwd=SCRIPT.parents[1])
    assert out.returncode == 0, out.stderr
    rows = [line for line in out.stdout.splitlines() if line.startswith("| ")
            and not line.startswith("| method")]
    methods = [row.split("|")[1].strip() for row in rows]
    assert methods == ["baseline", "grokfast_ema", "grokfast_ma", "perp_grad",
                       "norm_constraint", "stablemax"]
    assert "device: cpu" in out.stdout and "every link on for every member vs none" in out.stdout


def test_time_to_grok_counts_a_seed_that_never_gets_there_as_beyond_every_value():
    import importlib.util

    spec = importlib.util.spec_from_file_location("ttg", SCRIPT.with_name("time_to_grok.py"))
    ttg = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ttg)
    assert ttg.median_or_never([300, None, 100]) == 300
    assert ttg.median_or_never([None, None, 100, 200]) == float("inf")
    config = ttg.cohort_config(ttg.TASKS["modadd_1l"], ["baseline", "perp_grad",
                                                        "norm_constraint"], 2, None)
    assert config["cohort"]["seed"] == [0, 1, 0, 1, 0, 1]
    assert config["optim"]["weight_decay"] == [1.0, 1.0, 0.0, 0.0, 0.0, 0.0]
    assert config["model"]["init_scale"] == [1.0, 1.0, 1.0, 1.0, 0.8, 0.8]
    assert [t["members"] for t in config["optim"]["transforms"]] == [[2, 3], [4, 5]]


REFERENCE_SCRIPT = SCRIPT.with_name("reference_loop.py")


def test_reference_loop_quick_prints_its_rate_flops_and_gemm_share(tmp_path):
    out_json = tmp_path / "reference.json"
    out = subprocess.run([sys.executable, str(REFERENCE_SCRIPT), "--quick", "--json",
                          str(out_json)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "device: cpu" in out.stdout and "of the GEMM rate" in out.stdout
    result = json.loads(out_json.read_text())
    assert result["flops_per_step"] > 0 and result["gemm_flops_per_s"] > 0
    assert 0 < result["gemm_share"] < 1  # a share of the machine's own measured limit


def test_suite_quick_writes_every_section_with_shares_and_errors_per_row(tmp_path):
    script = SCRIPT.with_name("suite.py")
    out = subprocess.run([sys.executable, str(script), "--quick", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=600, cwd=SCRIPT.parents[1])
    assert out.returncode == 0, out.stderr
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["meta"]["device"] == "cpu" and saved["meta"]["gemm_flops_per_s"]["fp32"] > 0
    results = saved["results"]
    assert set(results) == {"reference", "peer", "throughput", "to99", "to99_reference"}
    rows = results["throughput"]
    assert [(r["batch"], r["backend"]) for r in rows] == [("full", "eager"), (16, "eager")]
    for row in rows + results["peer"]:
        assert "error" not in row, row
        assert 0 < row["gemm_share"] < 1 and row["gflop_per_member_step"] > 0
    # compile rows (the GPU preset's) are the compile backend's, tested in test_backends.py
    assert results["peer"][0]["vs_reference"] > 0 and results["peer"][0]["vs_reference_both"] > 0
    assert [r["evaluates"] for r in results["reference"]] == ["validation", "train+validation"]
    table = (tmp_path / "results.md").read_text()
    assert "| E | backend | ms/step | member-steps/s | × reference" in table
    assert "Time until every seed reaches 99% validation" in table


def _script(stem: str):
    """A benchmark script imported as a module (its functions tested directly)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(stem, SCRIPT.with_name(f"{stem}.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # a dataclass looks its module up there
    spec.loader.exec_module(module)
    return module


def _suite_module():
    return _script("suite")


def test_suite_records_a_failed_measurement_and_skips_past_its_budget():
    suite_module = _suite_module()
    suite = suite_module.Suite(budget=60.0)

    def out_of_memory():
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

    row = suite.run("throughput", {"members": 1024}, out_of_memory)
    assert row == {"members": 1024, "error": "RuntimeError: CUDA out of memory. Tried to "
                                              "allocate 2.00 GiB"}
    assert suite.run("throughput", {"members": 1}, lambda: {"x": 1.0}) == {"members": 1,
                                                                            "x": 1.0}
    suite.budget = 0.0
    assert suite.run("throughput", {"members": 16}, lambda: {"x": 1.0}) is None
    assert suite.skipped == ["throughput: members=16"]
    assert [r["members"] for r in suite.results["throughput"]] == [1024, 1]


def test_compression_lead_half_step_is_the_first_step_past_half_the_change():
    import importlib.util

    import numpy as np

    spec = importlib.util.spec_from_file_location(
        "lead", SCRIPT.with_name("compression_lead.py"))
    lead = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(lead)
    steps = np.arange(0, 100, 10)
    rising = np.array([0, 0, 0.1, 0.2, 0.4, 0.6, 0.9, 1.0, 1.0, 1.0])
    assert lead.half_step(steps, rising, start=0) == 50  # 0.6 is the first value >= 0.5
    assert lead.half_step(steps, 1 - rising, start=0) == 50  # falling: the same rule
    assert lead.half_step(steps, rising, start=40) == 60  # from 0.4 to 1.0: half is 0.7
    assert lead.half_step(steps, np.ones(10), start=0) is None  # no change
    peaked = np.array([0, 0.2, 0.6, 1.0, 0.8, 0.4, 0.2, 0.2, 0.2, 0.2])
    assert lead.half_step(steps, peaked, start=0) == 20  # read at its rise, not its end


def test_ordering_statistics_separate_shifted_groups_and_not_equal_ones():
    import importlib.util

    import numpy as np

    spec = importlib.util.spec_from_file_location("ordering", SCRIPT.with_name("ordering.py"))
    ordering = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ordering)
    a = np.array([900.0, 950, 1000, 1050, 1100, 1150, 1200, 1250])
    diff, low, high = ordering.median_difference(a + 1000, a)
    assert diff == 1000 and low > 0 and high > 0  # the interval excludes 0
    assert ordering.permutation_p(a + 1000, a) < 0.01  # 8 vs 8 fully separated: p ~ 1/6435
    assert ordering.median_difference(a, a)[0] == 0
    assert ordering.permutation_p(a, a.copy()) == 1.0


def test_carvalho_recipe_score_holds_each_setting_to_its_target():
    recipes = _script("carvalho_recipes")

    def runs(f, finals, verdicts, alpha1s):
        return [{"split.f": f, "final_test_acc": a, "verdict": v, "alpha1": t}
                for a, v, t in zip(finals, verdicts, alpha1s, strict=True)]

    paper_like = (runs(0.0, [0.6, 0.62, 0.65], ["memorized-only"] * 3, [None] * 3)
                  + runs(0.2, [0.995, 0.992, 0.97], ["grokked", "grokked", "memorized-only"],
                         [20_000, 30_000, None])
                  + runs(1.0, [0.996] * 3, ["grokked"] * 3, [9_000, 12_000, 40_000]))
    checks, summary = recipes.score(paper_like)
    assert [c.passed for c in checks] == [True] * 5 and summary["passed"] == 5
    assert summary["f1_alpha1"] == 12_000 and summary["f02_grokked"] == "2/3"
    slow = (runs(0.0, [0.6] * 3, ["memorized-only"] * 3, [None] * 3)
            + runs(0.2, [0.95] * 3, ["memorized-only"] * 3, [None] * 3)
            + runs(1.0, [0.99] * 3, ["grokked", "memorized-only", "memorized-only"],
                   [30_000, None, None]))
    checks, summary = recipes.score(slow)
    assert [c.passed for c in checks] == [True, False, False, False, True]
    # a jump step outside x/÷ 2 of 7-14k fails even when every member groks
    late = paper_like[:6] + runs(1.0, [0.996] * 3, ["grokked"] * 3, [29_000, 31_000, 35_000])
    assert not recipes.score(late)[0][3].passed
    ranking = recipes.ranked({"slow": slow, "paper_like": paper_like})
    assert [name for name, _, _ in ranking] == ["paper_like", "slow"]
    assert "| paper_like | 9 |" in recipes.table(ranking)
