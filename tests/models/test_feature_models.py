"""Models over feature vectors: exact against plain per-member references, and a cohort member
equals the same member trained alone (subclass-shift splits, per-member batch sizes)."""

import math

import pytest
import torch
import torch.nn.functional as F

from grokscope.models import CohortFeatureTransformer, CohortMLP
from grokscope.training.cohort import Cohort

SUBCLASS = {
    "task": {"name": "equidistant", "samples_per_subclass": 2000, "pool_size": 4000,
             "test_size": 2000},
    "split": {"name": "subclass_shift", "n_train": [120, 200, 160], "f": [0.0, 0.2, 1.0]},
    "model": {"name": "mlp", "width": 24, "depth": 2, "init_scale": 2.0},
    "optim": {"lr": 3e-3, "weight_decay": [0.1, 1.0, 0.01], "betas": [0.9, 0.999]},
    "train": {"batch_size": [40, 64, 32]},
    "cohort": {"members": 3, "seed": [5, 6, 7]},
}
FEATURE_TRANSFORMER = {"model": {"name": "transformer", "n_layers": 2, "d_model": 16,
                                 "n_heads": 2, "d_mlp": 32, "layer_norm": True}}


def test_feature_mlp_equals_plain_layers():
    model = CohortMLP(2, None, 4, width=8, depth=2, n_features=6)
    model.initialize([0, 1], [1.0, 3.0])
    x = torch.randn(2, 5, 6)
    for e in range(2):
        h = torch.relu(x[e] @ model.w0[e] + model.b0[e])
        h = torch.relu(h @ model.w1[e] + model.b1[e])
        torch.testing.assert_close(model(x)[e], h @ model.w_out[e] + model.b_out[e])


def _reference_transformer(m: CohortFeatureTransformer, e: int, x: torch.Tensor) -> torch.Tensor:
    """Member e, written out plainly: full attention at every position in every layer."""
    tokens = x.unflatten(-1, (m.n_tokens, m.token_dim)) @ m.w_embed[e] + m.b_embed[e] + m.pos[e]
    h = torch.cat([tokens, m.cls[e].expand(len(x), 1, -1)], 1)  # (N, T+1, d)
    for b in m.blocks:
        ln1 = F.layer_norm(h, h.shape[-1:]) * b.ln1_g[e] + b.ln1_b[e]
        q, k, v = (ln1 @ getattr(b, f"w_{n}")[e] for n in "qkv")
        def split(t, b=b):
            return t.unflatten(-1, (b.n_heads, b.d_head)).transpose(1, 2)

        att = (split(q) @ split(k).transpose(-1, -2) / math.sqrt(b.d_head)).softmax(-1)
        h = h + (att @ split(v)).transpose(1, 2).flatten(-2) @ b.w_o[e]
        ln2 = F.layer_norm(h, h.shape[-1:]) * b.ln2_g[e] + b.ln2_b[e]
        h = h + torch.relu(ln2 @ b.w_in[e] + b.b_in[e]) @ b.w_out[e] + b.b_out[e]
    out = F.layer_norm(h[:, -1], h.shape[-1:]) * m.ln_f_g[e] + m.ln_f_b[e]
    return out @ m.unembed[e]


def test_feature_transformer_equals_plain_full_attention():
    model = CohortFeatureTransformer(2, 4, (3, 5), n_layers=2, d_model=8, n_heads=2, d_mlp=16)
    model.initialize([0, 1], [1.0, 1.0])
    x = torch.randn(2, 7, 15)
    logits = model(x)
    for e in range(2):
        torch.testing.assert_close(logits[e], _reference_transformer(model, e, x[e]),
                                   rtol=1e-5, atol=1e-5)


def _alone(member: int, extra: dict) -> dict:
    config = {key: dict(value) for key, value in SUBCLASS.items()}
    for section, key in [("split", "n_train"), ("split", "f"), ("optim", "weight_decay"),
                         ("train", "batch_size"), ("cohort", "seed")]:
        config[section][key] = SUBCLASS[section][key][member]
    config["cohort"]["members"] = 1
    return {**config, **extra}


@pytest.mark.parametrize("extra", [{}, FEATURE_TRANSFORMER], ids=["mlp", "transformer"])
def test_member_in_cohort_equals_member_alone_on_subclass_shift(tiny_config, extra):
    def train(config):
        cohort = Cohort(config)
        for _ in range(60):
            cohort.step()
        return cohort

    cohort = train(tiny_config(**{**SUBCLASS, **extra}))
    for member in (0, 2):
        alone = train(tiny_config(**_alone(member, extra)))
        assert torch.equal(cohort.masks[member], alone.masks[0])
        for (name, p_cohort), p_alone in zip(cohort.model.named_parameters(),
                                             alone.model.parameters(), strict=True):
            torch.testing.assert_close(p_cohort[member], p_alone[0], rtol=1e-4, atol=1e-5,
                                       msg=f"member {member} {name}")
        ev_c, ev_a = cohort.evaluate(), alone.evaluate()
        for column, value in ev_a.columns().items():
            torch.testing.assert_close(ev_c.columns()[column][member], value[0], atol=2e-3,
                                       rtol=0, msg=column)


def test_evaluation_plans_agree(tiny_config):
    """Shared rows and per-member train rows give the same summaries."""
    cohort = Cohort(tiny_config(**SUBCLASS))
    assert cohort._train_rows is not None  # small train sets from a big pool: per member
    planned = cohort.evaluate().columns()
    cohort._shared_rows = torch.arange(cohort.task.n_examples)
    cohort._train_rows = None
    for column, value in cohort.evaluate().columns().items():
        torch.testing.assert_close(planned[column], value, msg=column)
