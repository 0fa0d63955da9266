"""Weight norms per member: the quantity Omnigrok (Liu et al. 2023) ties grokking to (a large
initial norm decaying into the "Goldilocks zone") and whose readout-layer growth Thilak et al.
2022 link to slingshot spikes."""

from __future__ import annotations

import torch

from grokscope.models.cohort import CohortModule

READOUTS = ("unembed", "w_out")  # the top-level readout parameter of each model family


@torch.no_grad()
def weight_norms(model: CohortModule | torch.nn.Module,
                 member_axis: bool = True) -> dict[str, torch.Tensor]:
    """L2 norm `(E,)` of every parameter (`weight_norm/<name>`), of all of them together
    (`weight_norm/total`) and of the readout (`weight_norm/readout`, for grokscope's own
    models). `member_axis=False`: an ordinary module, every parameter one member's (`(1,)`
    values; `grokscope.probes.functional.weight_norm` is this)."""
    out: dict[str, torch.Tensor] = {}
    total = None
    for name, param in model.named_parameters():
        values = param.detach() if member_axis else param.detach().reshape(1, -1)
        square = values.flatten(1).pow(2).sum(1)  # (E,)
        out[f"weight_norm/{name}"] = square.sqrt()
        total = square if total is None else total + square
    if total is None:
        raise ValueError("weight_norm: the model has no parameters")
    out["weight_norm/total"] = total.sqrt()
    readout = next((name for name in READOUTS if f"weight_norm/{name}" in out), None)
    if readout is not None:
        out["weight_norm/readout"] = out[f"weight_norm/{readout}"]
    return out
