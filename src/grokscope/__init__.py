"""grokscope: reproduce, measure, sweep and explain grokking (delayed generalization).

The main entry points, imported lazily so that `grokscope --help` does not load torch:

    from grokscope import load_config, run_experiment, detect, Cohort, load_sweep
    from grokscope import Monitor   # the stopping rules and forecast in your own loop
"""

from __future__ import annotations

from grokscope.lazy import lazy_attributes

__version__ = "0.1.0"

_API = {
    "load_config": "grokscope.config",
    "parse_config": "grokscope.config",
    "run_experiment": "grokscope.experiment",
    "load_run": "grokscope.experiment",
    "detect": "grokscope.detection",
    "Cohort": "grokscope.training.cohort",
    "build_task": "grokscope.tasks",
    "run_reproduction": "grokscope.reproduce",
    "find_suite": "grokscope.reproduce",
    "load_sweep": "grokscope.sweep.store",
    "run_sweep": "grokscope.sweep.run",
    "ConfigError": "grokscope.errors",
    "Monitor": "grokscope.monitor",
    "save_run": "grokscope.importing",  # curves (yours, or imported) as a run directory
    "import_run": "grokscope.importing",
    # probes on an ordinary nn.Module or tensor (grokscope.probes.functional)
    "weight_norm": "grokscope.probes.functional",
    "effective_rank": "grokscope.probes.functional",
    "fourier_spectrum": "grokscope.probes.functional",
}

__getattr__ = lazy_attributes("grokscope", _API)

__all__ = sorted(_API)
