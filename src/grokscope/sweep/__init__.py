"""Sweeps: a grid of runs packed into cohorts, run locally or on Ray, read back as a table,
drawn as phase diagrams and scaling laws."""

from grokscope.sweep.pack import CohortPlan, pack
from grokscope.sweep.phase import classify, phase_of, plot_phase, plot_scaling
from grokscope.sweep.run import plan_sweep, run_sweep
from grokscope.sweep.spec import Run, SweepSpec, expand_runs, load_sweep_spec, run_id
from grokscope.sweep.store import SweepStore, load_sweep

__all__ = ["CohortPlan", "Run", "SweepSpec", "SweepStore", "classify", "expand_runs",
           "load_sweep", "load_sweep_spec", "pack", "phase_of", "plan_sweep", "plot_phase",
           "plot_scaling", "run_id", "run_sweep"]
