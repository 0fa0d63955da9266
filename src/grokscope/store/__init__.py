"""Store: one run directory per cohort, written atomically, read with pyarrow or DuckDB."""

from grokscope.store.metrics import MetricLog, curves
from grokscope.store.run_dir import RunStore

__all__ = ["MetricLog", "RunStore", "curves"]
