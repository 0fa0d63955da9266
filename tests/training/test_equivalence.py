"""A member trained in a cohort ends where the same member trained alone ends.

This is what makes cohort results trustworthy: member k of a cohort of 4 (own seed, lr, wd,
split) after 200 steps has parameters allclose (rtol 1e-4) to the same member run alone.
"""

import pytest
import torch

from conftest import TINY_TRANSFORMER
from grokscope.training.cohort import Cohort

MEMBERS = {
    "cohort": {"members": 4, "seed": [11, 12, 13, 14]},
    "split": {"fraction": [0.3, 0.5, 0.4, 0.6]},
    "optim": {"lr": [1e-2, 3e-3, 5e-3, 1e-3], "weight_decay": [1.0, 0.1, 0.0, 0.5]},
}


def _alone(member: int) -> dict:
    return {
        "cohort": {"members": 1, "seed": MEMBERS["cohort"]["seed"][member]},
        "split": {"fraction": MEMBERS["split"]["fraction"][member]},
        "optim": {k: v[member] for k, v in MEMBERS["optim"].items()},
    }


def _train(config, steps):
    cohort = Cohort(config)
    for _ in range(steps):
        cohort.step()
    return cohort


@pytest.mark.parametrize("model", ["mlp", "transformer"])
@pytest.mark.parametrize("batch_size", [None, 16])
def test_member_in_cohort_equals_member_alone(tiny_config, model, batch_size):
    extra = TINY_TRANSFORMER if model == "transformer" else {}
    train = {"batch_size": batch_size}
    cohort = _train(tiny_config(**MEMBERS, **extra, train=train), 200)
    for member in (1, 3):
        alone = _train(tiny_config(**_alone(member), **extra, train=train), 200)
        for (name, p_cohort), p_alone in zip(cohort.model.named_parameters(),
                                             alone.model.parameters(), strict=True):
            torch.testing.assert_close(p_cohort[member], p_alone[0], rtol=1e-4, atol=1e-5,
                                       msg=f"member {member} {name}")
        ev_c, ev_a = cohort.evaluate(), alone.evaluate()
        torch.testing.assert_close(ev_c.test_acc[member], ev_a.test_acc[0], atol=2e-3, rtol=0)


def test_chunked_steps_match_across_cohort_sizes(tiny_config, monkeypatch):
    """With small chunks, a cohort of 4 and a member alone cut their batches differently
    (16 vs 64 examples a chunk); the accumulated gradients still give the same weights."""
    monkeypatch.setattr("grokscope.training.cohort.CHUNK_MEMBER_EXAMPLES", 64)
    cohort = _train(tiny_config(**MEMBERS, **TINY_TRANSFORMER), 100)
    alone = _train(tiny_config(**_alone(2), **TINY_TRANSFORMER), 100)
    for p_cohort, p_alone in zip(cohort.model.parameters(), alone.model.parameters()):
        torch.testing.assert_close(p_cohort[2], p_alone[0], rtol=1e-4, atol=1e-5)
    monkeypatch.setattr("grokscope.training.cohort.CHUNK_MEMBER_EXAMPLES", 1 << 20)
    unchunked = _train(tiny_config(**_alone(2), **TINY_TRANSFORMER), 100)
    for p_chunked, p_whole in zip(alone.model.parameters(), unchunked.model.parameters()):
        torch.testing.assert_close(p_chunked, p_whole, rtol=1e-4, atol=1e-5)


def test_select_members_keeps_every_member_spec(tiny_config):
    from grokscope.training.members import resolve_members, select_members

    config = tiny_config(**MEMBERS, train={"batch_size": [8, 16, 8, 16]})
    sub = select_members(config, [3, 1])
    assert resolve_members(sub) == [resolve_members(config)[i] for i in (3, 1)]
