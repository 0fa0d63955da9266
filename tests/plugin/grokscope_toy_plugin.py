"""A third-party plug-in as another package would ship it: one module, found by grokscope
through the `grokscope.tasks` entry point of its (test-made) dist-info."""

from __future__ import annotations

from typing import Literal

from grokscope.config.tasks import register_task
from grokscope.schema import Strict


def build(config: ToyMaxTask):
    from grokscope.tasks.base import operand_pairs, operation_table

    a, b = operand_pairs(config.p)
    return operation_table(config.name, a, b, (a > b).long() * a + (a <= b).long() * b,
                           config.p, config.p + 1, {"p": config.p})


@register_task("toy_max", description="test plug-in: all pairs (a, b) of 0..p-1 labelled "
               "max(a, b)", build=build,
               example={"task": {"name": "toy_max", "p": 7}, "split": {"fraction": 0.5}})
class ToyMaxTask(Strict):
    name: Literal["toy_max"] = "toy_max"
    p: int = 11
