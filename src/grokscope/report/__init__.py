"""Report: figures of runs (curves with grokking marked)."""

from grokscope.report.curves import plot_curves

__all__ = ["plot_curves"]
