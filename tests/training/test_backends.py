"""The step backends (`train.backend`): a compiled step trains the same weights as the eager
one (within float tolerance), on the full-batch and mini-batch paths, with a traceable chain
and with one that keeps its update eager, across a member stopping; `auto` resolves per
device; the CUDA path runs where CUDA exists and is skipped with the reason elsewhere."""

import pytest
import torch

from conftest import merge
from grokscope.training.backends import CompiledStep, EagerStep, traceable
from grokscope.training.cohort import Cohort
from grokscope.training.optim import GrokfastMA, Masked, chain

MEMBERS = {"cohort": {"members": 3, "seed": [5, 6, 7]},
           "optim": {"lr": [1e-2, 3e-3, 5e-3], "weight_decay": [1.0, 0.1, 0.0]}}


def _pair(tiny_config, device="cpu", **extra):
    config = merge(MEMBERS, extra)
    eager = Cohort(tiny_config(**merge(config, {"train": {"backend": "eager",
                                                          "device": device}})))
    compiled = Cohort(tiny_config(**merge(config, {"train": {"backend": "compile",
                                                             "device": device}})))
    return eager, compiled


def _assert_same(a, b, rtol=1e-4, atol=1e-4):
    for (name, p), q in zip(a.model.named_parameters(), b.model.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=rtol, atol=atol, msg=name)


@pytest.mark.parametrize("extra", [
    {},  # full batch, AdamW
    {"train": {"batch_size": [16, 8, 16]}},  # mini-batches of per-member sizes
    # eager update; batches of 8: shapes of its own, so it compiles (and times) its own graph
    {"optim": {"transforms": [{"name": "grokfast_ma", "window": 4}]},
     "train": {"batch_size": 8}},
])
def test_compile_trains_the_same_weights_as_eager(tiny_config, extra):
    eager, compiled = _pair(tiny_config, **extra)
    assert isinstance(eager.backend, EagerStep) and isinstance(compiled.backend, CompiledStep)
    for _ in range(8):
        eager.step()
        compiled.step()
    _assert_same(eager, compiled)
    assert compiled.optimizer.t == eager.optimizer.t == 8
    assert compiled.backend.compile_seconds > 0
    if extra:
        return
    # a member stops: the compiled step follows the smaller member axis
    eager.stop({1: "test"}, 8)
    compiled.stop({1: "test"}, 8)
    for _ in range(4):
        eager.step()
        compiled.step()
    _assert_same(eager, compiled)
    torch.testing.assert_close(eager.evaluate().test_acc, compiled.evaluate().test_acc,
                               atol=0.02, rtol=0)


def test_traceable_finds_a_nested_python_state_link():
    lamb = torch.ones(2)
    assert traceable(chain(Masked(object(), torch.ones(2, dtype=torch.bool))))
    assert not traceable(chain(Masked(GrokfastMA(4, lamb), torch.ones(2, dtype=torch.bool))))


def test_auto_resolves_per_device(tiny_config):
    cohort = Cohort(tiny_config())
    assert (cohort.backend_name, cohort.precision, cohort.sampler) == \
        ("eager", "float32", "host")


def test_backend_is_not_part_of_an_old_runs_id(tiny_config):
    from grokscope.config.identity import run_id

    assert run_id(tiny_config()) == run_id(tiny_config(train={"backend": "auto"}))
    assert run_id(tiny_config()) != run_id(tiny_config(train={"backend": "compile"}))


@pytest.mark.skipif(not torch.cuda.is_available(),
                    reason="CUDA path (CUDA graphs via reduce-overhead, TF32): no CUDA device here")
def test_compile_with_cuda_graphs_matches_eager_on_cuda(tiny_config):
    eager, compiled = _pair(tiny_config, device="cuda", train={"precision": "float32"})
    for _ in range(8):
        eager.step()
        compiled.step()
    _assert_same(eager, compiled)


def test_compiled_chunks_match_the_eager_chunks(tiny_config, monkeypatch):
    """A batch larger than the chunk budget: the compiled chunk loss, accumulated."""
    monkeypatch.setattr("grokscope.training.cohort.CHUNK_MEMBER_EXAMPLES", 96)
    eager, compiled = _pair(tiny_config)
    assert len(compiled.chunks(compiled._full[0].shape[1])) > 1
    for _ in range(5):
        eager.step()
        compiled.step()
    _assert_same(eager, compiled)
