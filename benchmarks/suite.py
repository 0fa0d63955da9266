"""The one-call benchmark suite: cohort throughput against the machine's GEMM rate and a
plain-PyTorch loop, compile against eager, and time until many seeds reach 99% validation.

Everything is measured in this one process, on one device, in one run, and written as
`results.json` and `results.md` under `--out`:

- **GEMM rate**: a 2048^3 fp32 matmul, median of 5 (on CUDA also with TF32, which the
  `auto` precision uses there), the machine's own limit for the shares below.
- **Throughput** (member-steps/s: one optimizer update of one member plus its share of an
  evaluation of all examples every `log_every` = 10 steps): MLP and the Nanda et al. shape of
  transformer (1 layer, d_model 128, 4 heads, d_mlp 512) on a+b mod 97 with 30% train, full
  batch and batches of 512, for each cohort size E and backend. FLOPs per member-step are
  counted by torch's FLOP counter (matmul FLOPs from the operands' shapes; elementwise ops
  are not counted) on one eager step and one evaluation; the GEMM share is the achieved
  FLOP/s over the GEMM rate.
- **The peer's recipe** (danielmamay/grokking: x / y mod 97, 50%, batch 512, 2-layer d128
  decoder with LayerNorm, AdamW lr 1e-3, wd 1, betas (0.9, 0.98), 10 warm-up steps;
  `experiments/power2022/division.yaml`) as a cohort, beside `reference_loop.py` (the same
  recipe written as the field writes it) in a subprocess on the same device: the ratio of
  member-steps/s at the same evaluation cadence.
- **Time to 99%**: wall time until every one of E seeds has reached 99% validation accuracy,
  on the peer's recipe and on Nanda et al.'s (`experiments/nanda2023/progress_measures.yaml`:
  a+b mod 113, 30%, full batch), with the engine's own loop (a step, and an evaluation
  every `log_every` steps; no probes or checkpoints), compile time included and also
  reported alone; the reference loop's time for one seed beside it.

Every measurement has its own error entry (out of memory, a compile failure) instead of
ending the suite, and a measurement that would start after `--budget` seconds is skipped
and listed as such.

    python benchmarks/suite.py --preset gpu --out runs/bench_gpu   # ~8 min on one H100/H200
    python benchmarks/suite.py --preset cpu --out runs/bench_cpu   # make bench, ~6 min
    python benchmarks/suite.py --quick --out /tmp/suite            # tiny: checks it runs
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import yaml
from torch.utils.flop_counter import FlopCounterMode

from grokscope.config import parse_config
from grokscope.training.cohort import Cohort
from grokscope.training.device import resolve_device, set_matmul_precision

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from reference_loop import _sync, gemm_rate  # noqa: E402  (a sibling script)

MODELS = {
    "mlp": {"name": "mlp", "embed_dim": 128, "width": 256, "depth": 1},
    "transformer": {"name": "transformer", "n_layers": 1, "d_model": 128, "n_heads": 4,
                    "d_mlp": 512},
}
QUICK_MODELS = {
    "mlp": {"name": "mlp", "embed_dim": 16, "width": 32, "depth": 1},
    "transformer": {"name": "transformer", "n_layers": 1, "d_model": 16, "n_heads": 2,
                    "d_mlp": 32},
}
PRESETS: dict[str, dict[str, Any]] = {
    "gpu": {"members": [1, 16, 64, 256, 1024], "backends": ["eager", "compile"],
            "batches": [None, 512], "models": ["transformer", "mlp"],
            "peer_members": [1, 16, 64, 256], "peer_backends": ["eager", "compile"],
            "seeds": [8, 64, 256], "recipes": ["peer", "nanda"], "budget": 420.0,
            "target": 1.0, "repeats": 3, "reference_steps": 300, "to99_seconds": 60.0},
    "cpu": {"members": [1, 16], "backends": ["eager"], "batches": [None, 512],
            "models": ["transformer", "mlp"], "peer_members": [1, 4, 16],
            "peer_backends": ["eager"], "seeds": [], "recipes": [], "budget": 900.0,
            "target": 3.0, "repeats": 3, "reference_steps": 60, "to99_seconds": 600.0,
            "quickstart": True},
}


def recipe(name: str, quick: bool) -> dict[str, Any]:
    """The shipped config of a recipe (the `config:` block of its reproduction spec)."""
    path = {"peer": "experiments/power2022/division.yaml",
            "nanda": "experiments/nanda2023/progress_measures.yaml"}[name]
    config = yaml.safe_load((ROOT / path).read_text())["config"]
    if quick:  # tiny sizes that still learn: checks the plumbing, not the speed
        config["task"]["p"] = 11
        config["model"].update(d_model=16, n_heads=2, d_mlp=32)
        config["optim"]["lr"] = 1e-2
        if "batch_size" in config["train"]:
            config["train"]["batch_size"] = 32
    return config


def scenario_config(model: dict, batch: int | None, p: int = 97) -> dict[str, Any]:
    """The throughput scenario: a+b mod p, 30% train, AdamW lr 1e-3, wd 1."""
    return {"task": {"name": "modular", "p": p, "op": "a+b"},
            "split": {"name": "uniform", "fraction": 0.3}, "model": dict(model),
            "optim": {"lr": 1e-3, "weight_decay": 1.0, "betas": [0.9, 0.98]},
            "train": {"batch_size": batch} if batch else {}}


def build(config: dict[str, Any], members: int, backend: str, device: torch.device,
          log_every: int) -> Cohort:
    config = json.loads(json.dumps(config))  # a deep copy
    config["cohort"] = {"members": members, "seed": 0}
    config["train"] = {**config.get("train", {}), "device": str(device), "backend": backend,
                       "log_every": log_every, "steps": 10**7, "checkpoint_every": 10**7}
    return Cohort(parse_config(config))


def flops_per_member_step(config: dict[str, Any], device: torch.device, log_every: int
                          ) -> float:
    """Matmul FLOPs of one step plus 1/log_every of an evaluation, per member (E = 1, eager:
    the same per member at every E)."""
    cohort = build(config, 1, "eager", device, log_every)
    cohort.step()
    with FlopCounterMode(display=False) as counter:
        cohort.step()
    step = counter.get_total_flops()
    with FlopCounterMode(display=False) as counter:
        cohort.evaluate()
    return step + counter.get_total_flops() / log_every


def throughput(config: dict[str, Any], members: int, backend: str, device: torch.device,
               args: argparse.Namespace) -> dict[str, Any]:
    """Median seconds per step over repeats of a timed block (evaluation every log_every
    steps), after warm-up steps that compile where the backend does."""
    cohort = build(config, members, backend, device, args.log_every)
    start = time.perf_counter()
    for _ in range(3):
        cohort.step()
    cohort.evaluate()
    _sync(device)
    warmup = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(args.log_every):
        cohort.step()
    _sync(device)
    per_step = (time.perf_counter() - start) / args.log_every
    steps = max(args.log_every, int(args.target / max(per_step, 1e-6)))
    steps = min(steps, 2000) // args.log_every * args.log_every
    times = []
    for _ in range(args.repeats):
        _sync(device)
        start = time.perf_counter()
        for step in range(steps):
            if step % args.log_every == 0:
                cohort.evaluate()
            cohort.step()
        _sync(device)
        times.append((time.perf_counter() - start) / steps)
    seconds = statistics.median(times)
    return {"members": members, "backend": cohort.backend_name,
            "precision": cohort.precision, "sampler": cohort.sampler,
            "seconds_per_step": seconds, "member_steps_per_s": members / seconds,
            "steps_timed": steps, "warmup_seconds": warmup,
            "compile_seconds": getattr(cohort.backend, "compile_seconds", 0.0)}


def time_to_99(config: dict[str, Any], members: int, backend: str, device: torch.device,
               log_every: int, max_seconds: float) -> dict[str, Any]:
    """Wall time (from the cohort's construction) until every member's test accuracy has
    reached 0.99 at an evaluation, or `max_seconds`."""
    start = time.perf_counter()
    cohort = build(config, members, backend, device, log_every)
    reached = torch.full((members,), -1, dtype=torch.long)
    step = 0
    while time.perf_counter() - start < max_seconds:
        for _ in range(log_every):
            cohort.step()
        step += log_every
        accuracy = cohort.evaluate().test_acc.cpu()
        reached[(reached < 0) & (accuracy >= 0.99)] = step
        if bool((reached >= 0).all()):
            break
    seconds = time.perf_counter() - start
    done = reached[reached >= 0]
    return {"members": members, "backend": cohort.backend_name, "log_every": log_every,
            "reached": int(len(done)), "all_reached": bool(len(done) == members),
            "seconds": seconds if len(done) == members else None, "seconds_run": seconds,
            "steps_run": step, "median_step": float(done.float().median()) if len(done) else None,
            "max_step": int(done.max()) if len(done) else None,
            "compile_seconds": getattr(cohort.backend, "compile_seconds", 0.0)}


def reference(device: torch.device, args: argparse.Namespace, *extra: str) -> dict[str, Any]:
    """reference_loop.py in a subprocess on the same device; its JSON result."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "reference.json"
        command = [sys.executable, str(HERE / "reference_loop.py"), "--device", str(device),
                   "--json", str(out), *extra]
        if args.quick:
            command.append("--quick")
        done = subprocess.run(command, capture_output=True, text=True,
                              timeout=args.budget + 60)
        if done.returncode != 0:
            raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr else
                               f"exit {done.returncode}")
        return json.loads(out.read_text())


class Suite:
    """Runs measurements in order within a time budget; each one's error is recorded."""

    def __init__(self, budget: float) -> None:
        self.start, self.budget = time.perf_counter(), budget
        self.results: dict[str, list[dict[str, Any]]] = {}
        self.skipped: list[str] = []

    def run(self, section: str, label: dict[str, Any],
            measure: Callable[[], dict[str, Any]]) -> dict[str, Any] | None:
        name = f"{section}: " + ", ".join(f"{k}={v}" for k, v in label.items())
        if time.perf_counter() - self.start > self.budget:
            self.skipped.append(name)
            print(f"skipped (suite budget of {self.budget:.0f} s spent): {name}", flush=True)
            return None
        try:
            row = {**label, **measure()}
        except (RuntimeError, torch.cuda.OutOfMemoryError, subprocess.TimeoutExpired) as error:
            message = str(error).strip().splitlines()[0][:300] if str(error) else repr(error)
            row = {**label, "error": f"{type(error).__name__}: {message}"}
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        self.results.setdefault(section, []).append(row)
        print(f"{name}: " + ", ".join(f"{k}={_fmt(v)}" for k, v in row.items()
                                       if k not in label), flush=True)
        return row


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", choices=list(PRESETS), default=None,
                        help="gpu where CUDA is present, else cpu")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", default="runs/bench", help="folder for results.json/.md")
    parser.add_argument("--budget", type=float, default=None, help="seconds for the suite")
    parser.add_argument("--log-every", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks it runs")
    args = parser.parse_args()
    device = resolve_device(args.device)
    preset = dict(PRESETS[args.preset or ("gpu" if device.type == "cuda" else "cpu")])
    if args.quick:
        preset.update(members=[2], backends=["eager"], batches=[None, 16],
                      models=["mlp"], peer_members=[2], peer_backends=["eager"], seeds=[2],
                      recipes=["peer"], target=0.05, repeats=1, reference_steps=20,
                      to99_seconds=3.0, quickstart=False)
    for key in ("target", "repeats"):
        setattr(args, key, preset[key])
    args.budget = args.budget or preset["budget"]
    models = QUICK_MODELS if args.quick else MODELS
    p = 11 if args.quick else 97
    suite = Suite(args.budget)
    meta = {"device": str(device), "name": torch.cuda.get_device_name(device)
            if device.type == "cuda" else "CPU", "threads": torch.get_num_threads(),
            "torch": torch.__version__, "preset": args.preset, "quick": args.quick,
            "log_every": args.log_every, "date": time.strftime("%Y-%m-%d %H:%M %Z")}
    print(f"device: {meta['device']} ({meta['name']}), torch {meta['torch']}, "
          f"{meta['threads']} threads; evaluation every {args.log_every} steps", flush=True)
    rates = {"fp32": gemm_rate(device)}
    if device.type == "cuda":
        set_matmul_precision("tf32", device)
        rates["tf32"] = gemm_rate(device)
        set_matmul_precision("float32", device)
    meta["gemm_flops_per_s"] = rates
    print("GEMM rate: " + ", ".join(f"{k} {v / 1e9:.1f} GFLOP/s" for k, v in rates.items()))
    peak = rates.get("tf32", rates["fp32"])  # what `precision: auto` runs at

    steps = ["--steps", str(preset["reference_steps"]), "--eval-every", str(args.log_every)]
    ref = suite.run("reference", {"recipe": "peer", "evaluates": "validation"},
                    lambda: reference(device, args, *steps))
    ref_both = suite.run("reference", {"recipe": "peer", "evaluates": "train+validation"},
                         lambda: reference(device, args, *steps, "--eval-train"))
    peer = recipe("peer", args.quick)
    peer_flops = flops_per_member_step(peer, device, args.log_every)
    for backend in preset["peer_backends"]:
        for e in preset["peer_members"]:
            row = suite.run("peer", {"members": e, "backend": backend},
                            lambda e=e, backend=backend: throughput(peer, e, backend, device,
                                                                    args))
            if row and "error" not in row:
                _shares(row, peer_flops, peak)
                for key, base in (("vs_reference", ref), ("vs_reference_both", ref_both)):
                    if base and "error" not in base:
                        row[key] = row["member_steps_per_s"] / base["steps_per_s"]
    for model in preset["models"]:
        for batch in preset["batches"]:
            config = scenario_config(models[model], batch, p)
            flops = flops_per_member_step(config, device, args.log_every)
            for backend in preset["backends"]:
                for e in preset["members"]:
                    label = {"model": model, "batch": batch or "full", "members": e,
                             "backend": backend}
                    row = suite.run("throughput", label,
                                    lambda c=config, e=e, b=backend: throughput(c, e, b,
                                                                                device, args))
                    if row and "error" not in row:
                        _shares(row, flops, peak)
    if preset.get("quickstart"):
        suite.run("quickstart", {"steps": 1500}, lambda: quickstart(device))
    for name in preset["recipes"]:
        config = recipe(name, args.quick)
        every = args.log_every if name == "peer" else 100
        for e in preset["seeds"]:
            suite.run("to99", {"recipe": name, "members": e},
                      lambda c=config, e=e, every=every: time_to_99(
                          c, e, "auto", device, every, preset["to99_seconds"]))
    if preset["recipes"]:
        suite.run("to99_reference", {"recipe": "peer", "members": 1},
                  lambda: reference(device, args, "--to-accuracy", "0.99", "--max-steps",
                                    "300" if args.quick else "20000",
                                    "--eval-every", str(args.log_every)))
    meta["skipped"], meta["seconds"] = suite.skipped, time.perf_counter() - suite.start
    write(Path(args.out), meta, suite.results)


def _shares(row: dict[str, Any], flops: float, peak: float) -> None:
    row["gflop_per_member_step"] = flops / 1e9
    row["achieved_gflop_per_s"] = flops * row["member_steps_per_s"] / 1e9
    row["gemm_share"] = flops * row["member_steps_per_s"] / peak


def quickstart(device: torch.device) -> dict[str, Any]:
    """The quick-start's 1,500 steps (experiments/quickstart.yaml: 4 members, evaluation
    every 10 steps) in the engine's loop, without its probes."""
    from grokscope.config import load_config
    config = load_config(str(ROOT / "experiments/quickstart.yaml"),
                         [f"train.device={device}"])
    start = time.perf_counter()
    cohort = Cohort(config)
    for step in range(config.train.steps):
        if step % config.train.log_every == 0:
            cohort.evaluate()
        cohort.step()
    accuracy = cohort.evaluate().test_acc
    _sync(device)
    return {"seconds": time.perf_counter() - start,
            "final_test_acc_min": float(accuracy.min())}


def write(out: Path, meta: dict[str, Any], results: dict[str, list[dict[str, Any]]]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps({"meta": meta, "results": results},
                                                 indent=2, default=str))
    text = markdown(meta, results)
    (out / "results.md").write_text(text)
    print("\n" + text)
    print(f"written: {out / 'results.json'}, {out / 'results.md'}")


COLUMNS = {  # section: (column title, key, format)
    "peer": [("E", "members", "d"), ("backend", "backend", "s"), ("ms/step",
             "seconds_per_step", "ms"), ("member-steps/s", "member_steps_per_s", ".1f"),
             ("× reference", "vs_reference", ".2f"), ("× reference (train+val eval)",
             "vs_reference_both", ".2f"), ("GFLOP/member-step",
             "gflop_per_member_step", ".3f"), ("GFLOP/s", "achieved_gflop_per_s", ".1f"),
             ("GEMM share", "gemm_share", ".1%"), ("compile s", "compile_seconds", ".1f")],
    "throughput": [("model", "model", "s"), ("batch", "batch", "s"), ("E", "members", "d"),
                   ("backend", "backend", "s"), ("ms/step", "seconds_per_step", "ms"),
                   ("member-steps/s", "member_steps_per_s", ".1f"),
                   ("GFLOP/member-step", "gflop_per_member_step", ".3f"),
                   ("GFLOP/s", "achieved_gflop_per_s", ".1f"), ("GEMM share", "gemm_share",
                   ".1%"), ("compile s", "compile_seconds", ".1f")],
    "to99": [("recipe", "recipe", "s"), ("seeds", "members", "d"), ("backend", "backend", "s"),
             ("all at 99% after s", "seconds", ".1f"), ("reached", "reached", "d"),
             ("median step", "median_step", ".0f"), ("last step", "max_step", "d"),
             ("compile s", "compile_seconds", ".1f")],
}


def _cell(row: dict[str, Any], key: str, form: str) -> str:
    value = row.get(key)
    if value is None:
        return "–"
    if form == "ms":
        return f"{value * 1e3:.2f}"
    return format(value, form) if form != "s" else str(value)


def markdown(meta: dict[str, Any], results: dict[str, list[dict[str, Any]]]) -> str:
    rates = ", ".join(f"{k} {v / 1e9:.1f} GFLOP/s" for k, v in meta["gemm_flops_per_s"].items())
    lines = [f"Device {meta['device']} ({meta['name']}), torch {meta['torch']}, "
             f"{meta['threads']} threads, {meta['date']}; GEMM rate (2048^3 matmul): {rates}; "
             f"evaluation of all examples every {meta['log_every']} steps; suite wall time "
             f"{meta['seconds']:.0f} s."]
    lines.append("")
    for row in results.get("reference", []):
        lines.append(f"Reference loop (peer recipe, one model, plain PyTorch, evaluating the "
                     f"{row['evaluates']} set{'s' if '+' in row['evaluates'] else ''}): " + (
            row["error"] if "error" in row else
            f"{row['seconds_per_step'] * 1e3:.2f} ms/step, {row['steps_per_s']:.1f} steps/s, "
            f"{row['flops_per_step'] / 1e9:.3f} GFLOP/step, {row['gemm_share']:.1%} of the "
            "fp32 GEMM rate"))
    for row in results.get("to99_reference", []):
        lines.append("Reference loop to 99% validation (seed 0): " + (
            row["error"] if "error" in row else
            f"step {row['steps_to_accuracy']}, {row['seconds_to_accuracy']:.1f} s"
            + ("" if row["reached"] else " (not reached)")))
    for row in results.get("quickstart", []):
        lines.append("Quick-start, 1,500 steps in the engine loop (no probes): " + (
            row["error"] if "error" in row else
            f"{row['seconds']:.1f} s (lowest final test accuracy "
            f"{row['final_test_acc_min']:.3f})"))
    titles = {"peer": "The peer's recipe as a cohort (x / y mod 97, batch 512, 2 layers)",
              "throughput": "Throughput, a+b mod 97, 30% train",
              "to99": "Time until every seed reaches 99% validation"}
    for section, columns in COLUMNS.items():
        rows = results.get(section, [])
        if not rows:
            continue
        lines += ["", f"**{titles[section]}**", "",
                  "| " + " | ".join(title for title, _, _ in columns) + " | error |",
                  "|" + "---|" * (len(columns) + 1)]
        for row in rows:
            lines.append("| " + " | ".join(_cell(row, key, form) for _, key, form in columns)
                         + f" | {row.get('error', '')} |")
    if meta["skipped"]:
        lines += ["", "Skipped for the suite budget: " + "; ".join(meta["skipped"])]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
