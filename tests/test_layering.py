"""The import contract: dependencies point down the pipeline, never up (make lint runs this).

    errors, schema, yamlio, registry, lazy -> config -> store -> tasks -> models -> training -> probes
    -> detection -> report -> experiment, doctor -> sweep -> reproduce -> cli

A module may import its own level (its package, or a sibling listed with it) and anything
below. `grokscope.config` and
everything it imports are torch-free, so a bad config file fails in well under a second.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import grokscope

LEVELS = ["errors schema yamlio registry lazy", "config", "store", "tasks", "models", "training", "probes",
          "detection monitor", "report integrations", "exports", "experiment doctor importing", "sweep", "reproduce tickets", "view",
          "cli cli_sweep cli_stopping cli_view"]
LEVEL = {name: level for level, names in enumerate(LEVELS) for name in names.split()}
# Probe *settings* are part of the experiment schema: torch-free pydantic models that live
# beside the probes they configure. A transform's settings build their link lazily (inside
# `build()`, never at import: the config stays torch-free, as the last test checks); so do a
# stopping rule's settings (its rule is numpy, in detection.online), and an exporter's.
ALLOWED = {("config", "grokscope.probes.config"), ("config", "grokscope.detection.online"),
           *(("config", f"grokscope.training.optim.{link}")
             for link in ("base", "transforms", "grokfast", "geometry", "tickets")),
           # an exporter's settings build their writer lazily, like a transform's link
           *(("config", f"grokscope.store.exporters.{w}") for w in ("tensorboard", "wandb", "csv"))}
ROOT = Path(grokscope.__file__).parent


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "grokscope"


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text())
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
    return [(line, m) for line, m in out if m.startswith("grokscope.")]


def test_every_package_has_a_level():
    packages = {p.stem if p.is_file() else p.name for p in ROOT.iterdir()
                if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()}
    assert packages - set(LEVEL) == set()


def test_imports_point_down_the_pipeline():
    wrong = []
    for path in sorted(ROOT.rglob("*.py")):
        parts = [p for p in path.relative_to(ROOT).with_suffix("").parts if p != "__init__"]
        here = _package(".".join(["grokscope", *parts]))
        if here == "grokscope":
            continue  # the lazy top-level API names everything
        for line, module in _imports(path):
            there = _package(module)
            if there == here or (here, module) in ALLOWED or there == "grokscope":
                continue
            if LEVEL[there] > LEVEL[here]:
                wrong.append(f"{path.relative_to(ROOT)}:{line}: {here} imports {module}")
    assert wrong == []


def test_training_imports_neither_probes_nor_detection():
    for path in (ROOT / "training").rglob("*.py"):
        for _, module in _imports(path):
            assert _package(module) not in ("probes", "detection", "report"), (path, module)


def test_the_config_imports_no_torch():
    code = ("import sys, grokscope.config, grokscope.config.identity; "
            "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
