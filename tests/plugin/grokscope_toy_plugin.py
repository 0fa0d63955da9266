"""A third-party plug-in as another package would ship it: one module with a task and a
probe, found by grokscope through the `grokscope.tasks` and `grokscope.probes` entry points
of its (test-made) dist-info."""

from __future__ import annotations

from typing import Literal

from grokscope.config.tasks import register_task
from grokscope.probes.config import ProbeSpec, register_probe
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


def logit_norm(context, spec, evaluate):
    """Mean L2 norm of each member's outputs on its test examples, and their histogram."""
    import torch

    rows = context.test_masks[0].nonzero().squeeze(1)
    norms = context.outputs_at(rows).norm(dim=-1)  # (E, n)
    edges = torch.linspace(0, float(norms.max()) + 1e-6, 5, device=norms.device)
    hist = torch.stack([((norms >= lo) & (norms < hi)).float().mean(1)
                        for lo, hi in zip(edges[:-1], edges[1:], strict=True)], dim=1)
    return {"toy/logit_norm": norms.mean(1), "toy/logit_norm_hist": hist}


def needs_classes(context, spec, where):
    from grokscope.errors import ConfigError

    if context.task.regression:
        raise ConfigError(f"{where}.name: 'toy_logit_norm' needs a classification task")


@register_probe("toy_logit_norm", "test plug-in: mean norm of the outputs on test examples",
                measure=logit_norm, check=needs_classes)
class ToyLogitNorm(ProbeSpec):
    name: Literal["toy_logit_norm"] = "toy_logit_norm"
