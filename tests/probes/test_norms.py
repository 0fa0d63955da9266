"""Weight norms against torch.linalg.vector_norm of each member's parameters."""

import torch

from grokscope.probes.norms import weight_norms
from grokscope.training.cohort import Cohort


def test_weight_norms_per_member_parameter_total_and_readout(tiny_config):
    for model in ({}, {"model": {"name": "transformer", "d_model": 16, "n_heads": 2,
                                 "d_mlp": 32}}):
        cohort = Cohort(tiny_config(cohort={"members": 3}, **model))
        out = weight_norms(cohort.model)
        params = dict(cohort.model.named_parameters())
        for member in range(3):
            flat = torch.cat([p[member].flatten() for p in params.values()])
            assert torch.isclose(out["weight_norm/total"][member],
                                 torch.linalg.vector_norm(flat), rtol=1e-5)
            for name, p in params.items():
                assert torch.isclose(out[f"weight_norm/{name}"][member],
                                     torch.linalg.vector_norm(p[member]), rtol=1e-5)
        readout = "unembed" if "unembed" in params else "w_out"
        assert torch.equal(out["weight_norm/readout"], out[f"weight_norm/{readout}"])
