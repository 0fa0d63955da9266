"""Probes: measurements of a cohort or its data, one `(E,)` value per member."""

from grokscope.probes.groups import group_accuracy
from grokscope.probes.shift import distribution_shift, mmd_rbf, subclass_tv

__all__ = ["distribution_shift", "group_accuracy", "mmd_rbf", "subclass_tv"]
