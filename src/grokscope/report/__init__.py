"""Report: figures of runs (curves with grokking marked, probes over training)."""

from grokscope.report.curves import plot_curves
from grokscope.report.probes import plot_probe

__all__ = ["plot_curves", "plot_probe"]
