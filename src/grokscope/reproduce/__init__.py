"""Reproductions of published figures: YAML specs under `experiments/<suite>/`, one cohort each."""

from grokscope.reproduce.runner import (
    ReproductionResult,
    find_suite,
    run_reproduction,
    write_shift_figure,
)
from grokscope.reproduce.spec import ReproductionSpec, expand, load_spec

__all__ = ["ReproductionResult", "ReproductionSpec", "expand", "find_suite", "load_spec",
           "run_reproduction", "write_shift_figure"]
