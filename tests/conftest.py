"""Shared helpers: tiny configs that train in seconds on one CPU core."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch

from grokscope.config import ExperimentConfig, parse_config
from grokscope.config.paths import merge  # noqa: F401 - the tests' merge is the library's
from grokscope.training.callbacks import Callback

torch.set_num_threads(1)  # deterministic and fair on the 2-core CI machine


TINY = {
    "name": "tiny",
    "task": {"name": "modular", "p": 17, "op": "a+b"},
    "split": {"name": "uniform", "fraction": 0.5},
    "model": {"name": "mlp", "embed_dim": 16, "width": 32},
    "optim": {"lr": 1e-2, "weight_decay": 0.5},
    "train": {"steps": 60, "log_every": 10, "checkpoint_every": 20, "device": "cpu"},
    "cohort": {"members": 2},
}

TINY_TRANSFORMER = {"model": {"name": "transformer", "d_model": 16, "n_heads": 2, "d_mlp": 32}}


@pytest.fixture
def tiny_config():
    def make(**override: Any) -> ExperimentConfig:
        return parse_config(merge(TINY, override))

    return make


class CrashAt(Callback):
    """A callback that raises `error` when step `step`'s values reach the host: a crash
    injected at the callback seam (the loop's own code is not touched)."""

    def __init__(self, step: int, error: type[Exception]) -> None:
        self.step, self.error = step, error

    def on_host(self, step: int, values: dict) -> None:
        if step == self.step:
            raise self.error


# --- the report's browser tests (tests/report): headless Chromium (Debian's `chromium`,
# installed by `make test`) driven by Playwright; without either, they skip and say why
CHROMIUM = os.environ.get("GROKSCOPE_CHROMIUM") or shutil.which("chromium") or shutil.which(
    "chromium-browser")
# a test run: two members grok, the third (no weight decay) only memorizes (16 s on one core)
RUN = {
    "name": "report_run",
    "task": {"name": "modular", "p": 43, "op": "a+b"},
    "split": {"name": "uniform", "fraction": 0.5},
    "model": {"name": "transformer", "d_model": 48, "n_heads": 4, "d_mlp": 192},
    "optim": {"lr": 1e-2, "weight_decay": [1.0, 1.0, 0.0]},
    "train": {"steps": 700, "log_every": 10, "checkpoint_every": 350, "device": "cpu"},
    "cohort": {"members": 3, "seed": 0},
    "probes": [{"name": "weight_norm"}, {"name": "fourier", "top_k": 3}],
}
# a 2 x 2 sweep: one cell groks, three only memorize (19 s)
SWEEP = {
    "name": "report_sweep",
    "config": {k: RUN[k] for k in ("task", "split", "model")} | {
        "optim": {"lr": 1e-2},
        "train": {"steps": 600, "log_every": 10, "checkpoint_every": 300, "device": "cpu"}},
    "grid": {"split.fraction": [0.3, 0.5], "optim.weight_decay": [0.0, 1.0]},
    "seeds": 1,
}


class Page:
    """An opened report: the page, and every console message, page error and request."""

    def __init__(self, browser, path: Path, fragment: str = "") -> None:
        self.page = browser.new_page(viewport={"width": 1300, "height": 900})
        self.console: list[tuple[str, str]] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.console.append((m.type, m.text)))
        self.page.on("pageerror", lambda e: self.console.append(("pageerror", str(e))))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(path.resolve().as_uri() + (f"#{fragment}" if fragment else ""))
        self.page.wait_for_selector("body[data-ready]", timeout=20_000)

    def errors(self) -> list[tuple[str, str]]:
        return [m for m in self.console if m[0] in ("error", "pageerror")]

    def foreign_requests(self, path: Path) -> list[str]:
        """Requests other than the page itself (and its own #fragment)."""
        own = path.resolve().as_uri()
        return [u for u in self.requests if u.split("#")[0] != own]

    def screenshot(self, name: str, tmp: Path) -> Path:
        folder = Path(os.environ.get("GROKSCOPE_SCREENSHOTS", tmp))
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / name
        self.page.screenshot(path=str(target), full_page=True)
        return target


@pytest.fixture(scope="module")  # closed after each module: no event loop left behind
def browser():
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (apt-get install chromium; `make test` does it)")
    sync = pytest.importorskip("playwright.sync_api", reason="playwright is not installed "
                               "(pip install -e '.[dev]')")
    with sync.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM,
                                     args=["--no-sandbox", "--disable-gpu"])
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def report_run(tmp_path_factory):
    from grokscope.config import parse_config
    from grokscope.experiment import run_experiment

    path = tmp_path_factory.mktemp("report") / "run"
    run_experiment(parse_config(RUN), path, progress=False)
    return path


@pytest.fixture(scope="session")
def report_sweep(tmp_path_factory):
    import yaml

    from grokscope.sweep.run import run_sweep

    folder = tmp_path_factory.mktemp("report_sweep")
    spec = folder / "sweep.yaml"
    spec.write_text(yaml.safe_dump(SWEEP, sort_keys=False))
    run_sweep(spec, folder / "sweep", progress=False)
    return folder / "sweep"
