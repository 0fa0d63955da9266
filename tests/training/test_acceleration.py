"""The acceleration links (Grokfast, ⊥Grad, the norm constraint), coupled-L2 Adam, StableMax
and the numerics probes, each against an independent re-computation."""

from __future__ import annotations

from collections import deque

import pytest
import torch

from conftest import CrashAt
from grokscope.config import parse_config
from grokscope.errors import ConfigError
from grokscope.experiment import run_experiment
from grokscope.probes.representation import collapse_shares
from grokscope.store import RunStore
from grokscope.store.metrics import probe_matrix
from grokscope.training.cohort import Cohort
from grokscope.training.losses import log_stablemax, per_example_loss, stablemax
from grokscope.training.optim import (
    CohortOptimizer,
    GrokfastEMA,
    GrokfastMA,
    Masked,
    NormConstraint,
    PerpGrad,
    adam,
    adamw,
    chain,
    member_norms,
)


def _grads(steps: int, shape=(2, 3, 4), seed=0) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(shape, generator=g) for _ in range(steps)]


def _run(link, grads, params=None):
    params = params or [torch.randn(grads[0].shape, generator=torch.Generator().manual_seed(9))]
    state = link.init(params)
    out = []
    for t, g in enumerate(grads, start=1):
        u, state = link.update([g.clone()], state, params, torch.tensor(t))
        out.append(u[0])
    return out


def test_grokfast_ema_matches_the_code_by_hand():
    alpha, lamb = torch.tensor([0.9, 0.5]), torch.tensor([2.0, 0.0])
    grads = _grads(5)
    got = _run(GrokfastEMA(alpha, lamb), grads)
    for k in range(2):
        h = None
        for t, g in enumerate(grads):
            gk = g[k]
            h = gk.clone() if h is None else h  # grokfast.py: the EMA starts at the first g
            h = h * alpha[k] + gk * (1 - alpha[k])
            torch.testing.assert_close(got[t][k], gk + h * lamb[k])
    assert torch.equal(torch.stack(got)[:, 1], torch.stack(grads)[:, 1])  # lamb 0: untouched


@pytest.mark.parametrize("off_until", [0, 6])
def test_grokfast_ma_adds_the_window_mean_only_once_full(off_until):
    window, lamb = 3, torch.tensor([5.0, 1.0])
    grads = _grads(11)
    got = _run(GrokfastMA(window, lamb, off_until), grads)
    for k in range(2):
        held: deque[torch.Tensor] = deque(maxlen=window)
        for t, g in enumerate(grads, start=1):
            held.append(g[k])
            expected = g[k]
            if len(held) == window and t > off_until:
                expected = g[k] + sum(held) / window * lamb[k]
            torch.testing.assert_close(got[t - 1][k], expected)


def test_perp_grad_is_orthogonal_to_the_weights_and_keeps_the_norm():
    w = torch.randn(3, 5, 7)
    g = torch.randn(3, 5, 7) + 0.5 * w  # a gradient with a large radial part
    for rescale in (True, False):
        (perp,), _ = PerpGrad(rescale).update([g], {}, [w], torch.tensor(1))
        for k in range(3):
            wk, gk, pk = w[k].flatten(), g[k].flatten(), perp[k].flatten()
            assert abs(float(wk @ pk)) < 1e-4 * float(wk.norm() * pk.norm())
            projected = gk - (wk @ gk) / (wk @ wk) * wk
            if rescale:
                torch.testing.assert_close(pk.norm(), gk.norm())
                torch.testing.assert_close(pk, projected * gk.norm() / projected.norm())
            else:
                torch.testing.assert_close(pk, projected)


def test_norm_constraint_holds_each_members_initial_norm_times_factor():
    params = [torch.randn(3, 4, 5), torch.randn(3, 6)]
    start = member_norms(params)
    factor = torch.tensor([1.0, 0.5, 2.0])
    opt = CohortOptimizer(params, adamw(torch.full((3,), 0.1), torch.zeros(3),
                                        torch.full((3,), 0.9), torch.full((3,), 0.98),
                                        transforms=[NormConstraint(factor)]))
    for g in _grads(4, (3, 4, 5)):
        params[0].grad, params[1].grad = g, torch.ones(3, 6)
        opt.step()
        torch.testing.assert_close(member_norms(params), start * factor)


def _chain_updates(links, grads, params):
    state = links.init(params)
    out = []
    for t, g in enumerate(grads, start=1):
        u, state = links.update([g.clone()], state, params, torch.tensor(t))
        out.append(u[0])
    return torch.stack(out)


def test_a_members_update_ignores_the_other_members_settings():
    grads, params = _grads(6, (2, 8)), [torch.randn(2, 8)]
    one = _chain_updates(chain(GrokfastEMA(torch.tensor([0.9, 0.1]), torch.tensor([2.0, 9.0]))),
                         grads, params)
    two = _chain_updates(chain(GrokfastEMA(torch.tensor([0.9, 0.7]), torch.tensor([2.0, 0.5]))),
                         grads, params)
    assert torch.equal(one[:, 0], two[:, 0])


def test_masked_members_pass_through_bit_for_bit():
    grads, params = _grads(6, (3, 8)), [torch.randn(3, 8)]
    mask = torch.tensor([False, True, False])
    got = _chain_updates(chain(Masked(PerpGrad(), mask)), grads, params)
    assert torch.equal(got[:, 0], torch.stack(grads)[:, 0])
    assert torch.equal(got[:, 2], torch.stack(grads)[:, 2])
    assert not torch.allclose(got[:, 1], torch.stack(grads)[:, 1])
    params = [torch.randn(3, 8)]
    before = params[0].clone()
    link = Masked(NormConstraint(torch.tensor([0.5, 0.5, 0.5])), mask)
    state = link.init(params)
    params[0].add_(1.0)
    link.after_step(params, state, torch.tensor(1))
    assert torch.equal(params[0][0], before[0] + 1) and torch.equal(params[0][2], before[2] + 1)
    torch.testing.assert_close(params[0][1].norm(), 0.5 * before[1].norm())


def test_adam_with_coupled_weight_decay_is_torch_adam():
    torch.manual_seed(0)
    ref = [torch.nn.Parameter(torch.randn(4, 3)) for _ in range(2)]
    ours = [torch.nn.Parameter(p.detach().clone().unsqueeze(0)) for p in ref]
    torch_opt = torch.optim.Adam(ref, lr=1e-2, betas=(0.9, 0.98), weight_decay=0.3, eps=1e-8)
    opt = CohortOptimizer(ours, adam(torch.tensor([1e-2]), torch.tensor([0.3]),
                                     torch.tensor([0.9]), torch.tensor([0.98])))
    for _ in range(20):
        grads = [torch.randn(4, 3) for _ in ref]
        for p, q, g in zip(ref, ours, grads, strict=True):
            p.grad, q.grad = g.clone(), g.clone().unsqueeze(0)
        torch_opt.step()
        opt.step()
    for p, q in zip(ref, ours, strict=True):
        torch.testing.assert_close(q[0], p.detach(), rtol=1e-6, atol=1e-7)


def test_stablemax_closed_form_and_gradient():
    x = torch.tensor([[-3.0, -0.5, 0.0, 2.0]], dtype=torch.float64, requires_grad=True)
    s = torch.tensor([1 / 4, 1 / 1.5, 1.0, 3.0], dtype=torch.float64)
    assert torch.equal(stablemax(x.detach())[0], s)
    torch.testing.assert_close(log_stablemax(x.detach())[0], (s / s.sum()).log())
    label = 1
    loss = per_example_loss(x.unsqueeze(0), torch.tensor([[label]]), "stablemax", "float64")
    loss.sum().backward()
    ds = torch.tensor([1 / 16, 1 / 2.25, 1.0, 1.0], dtype=torch.float64)  # s'(x)
    expected = ds / s.sum()
    expected[label] -= ds[label] / s[label]
    torch.testing.assert_close(x.grad[0], expected)
    assert loss.dtype == torch.float64


def test_stablemax_gradient_is_finite_at_a_logit_of_exactly_one():
    """torch.where differentiates both branches: 1 / (1 - x) at x = 1 once put NaN into
    the gradient (found by the Prieto reproduction: ⊥AdamW members diverged)."""
    x = torch.tensor([[[1.0, -2.0, 0.5]]], dtype=torch.float64, requires_grad=True)
    per_example_loss(x, torch.tensor([[0]]), "stablemax", "float64").sum().backward()
    assert torch.isfinite(x.grad).all()


def test_softmax_collapse_and_zero_terms_on_crafted_logits():
    logits = torch.tensor([[[200.0, 0.0, 0.0], [1.0, 0.5, 0.0], [30.0, 0.0, 0.0],
                            [0.0, 0.0, 0.0]]])
    labels = torch.tensor([[0, 0, 0, 1]])
    weights = torch.full((1, 4), 0.25)
    for dtype, collapsed in (("float32", 0.5), ("float64", 0.25)):
        # exp(-30) underflows the sum in float32 (eps 1.2e-7), not in float64 (eps 2.2e-16)
        loss = per_example_loss(logits, labels, "cross_entropy", dtype)
        c, z = collapse_shares(logits, loss, weights, getattr(torch, dtype))
        assert c.item() == collapsed and z.item() == collapsed
    loss = per_example_loss(logits, labels, "stablemax", "float64")
    _, z = collapse_shares(logits, loss, weights, torch.float64)
    assert z.item() == 0.0  # StableMax keeps a loss term where softmax rounds it to 0


PRIETO = {
    "task": {"name": "modular", "p": 59, "op": "a+b"},
    "split": {"name": "uniform", "fraction": 0.4},
    "model": {"name": "mlp", "width": 200, "depth": 2, "bias": False, "combine": "one_hot"},
    "optim": {"lr": 0.01, "weight_decay": 0.0, "betas": [0.9, 0.99], "eps": 1e-25,
              "transforms": [{"name": "perp_grad", "members": [1]}]},
    "train": {"steps": 250, "log_every": 25, "checkpoint_every": 250, "loss": "stablemax",
              "loss_dtype": "float64", "device": "cpu"},
    "cohort": {"members": 2, "seed": [0, 0]},
    "probes": [{"name": "numerics", "every": 250}],
}


def test_perp_adamw_generalizes_where_the_same_seed_without_it_only_memorizes(tmp_path):
    """Prieto et al. 2025 Fig. 1, CPU-sized (p 59): with StableMax and no weight decay,
    plain AdamW memorizes and stays at chance on test within 250 steps; ⊥AdamW, the
    same seed in the same cohort, reaches high test accuracy."""
    store = RunStore(tmp_path / "run")
    run_experiment(parse_config(PRIETO), store.path, progress=False)
    t = store.load_metrics().to_pandas()
    last = t[(t.step == 250)].set_index(["member", "split"])["accuracy"]
    assert last[(0, "train")] > 0.99 and last[(0, "test")] < 0.1
    assert last[(1, "test")] > 0.6
    steps, collapse = probe_matrix(store.load_metrics(), "numerics/softmax_collapse")
    assert list(steps) == [0, 250] and collapse.shape == (2, 2)
    assert ((collapse >= 0) & (collapse <= 1)).all()


def _config(**over):
    from grokscope.config.paths import merge

    return parse_config(merge(PRIETO, over))


FILTERS = {"optim": {"name": "adam", "weight_decay": 0.01, "transforms": [
    {"name": "grokfast_ma", "window": 4, "lamb": [5.0, 1.0], "off_until": 3},
    {"name": "grokfast_ema", "alpha": [0.9, 0.98], "lamb": 2.0},
    {"name": "perp_grad", "members": [1]},
    {"name": "norm_constraint", "factor": [1.0, 0.9]}]},
    "task": {"p": 23}, "model": {"width": 32},
    "train": {"steps": 40, "log_every": 5, "checkpoint_every": 10}, "probes": []}


def test_member_with_filters_in_a_cohort_equals_it_alone():
    cohort = Cohort(_config(**FILTERS))
    alone_cfg = {"optim": {"name": "adam", "weight_decay": 0.01, "transforms": [
        {"name": "grokfast_ma", "window": 4, "lamb": 1.0, "off_until": 3},
        {"name": "grokfast_ema", "alpha": 0.98, "lamb": 2.0}, {"name": "perp_grad"},
        {"name": "norm_constraint", "factor": 0.9}]},
        "task": {"p": 23}, "model": {"width": 32}, "cohort": {"members": 1, "seed": 0},
        "probes": []}
    alone = Cohort(_config(**alone_cfg))
    for _ in range(30):
        cohort.step()
        alone.step()
    for p, q in zip(cohort.model.parameters(), alone.model.parameters(), strict=True):
        torch.testing.assert_close(p[1], q[0], rtol=1e-4, atol=1e-6)


class Crash(RuntimeError):
    pass


def test_resume_with_filter_state_is_bit_identical(tmp_path):
    config = _config(**FILTERS)
    run_experiment(config, tmp_path / "reference", progress=False)
    with pytest.raises(Crash):
        run_experiment(config, tmp_path / "resumed", progress=False,
                       callbacks=[CrashAt(25, Crash)])
    run_experiment(config, tmp_path / "resumed", progress=False)
    a, b = RunStore(tmp_path / "resumed"), RunStore(tmp_path / "reference")
    assert a.load_metrics()["loss"].to_pylist() == b.load_metrics()["loss"].to_pylist()
    for x, y in zip(a.load_checkpoint()["cohort"]["model"].values(),
                    b.load_checkpoint()["cohort"]["model"].values(), strict=True):
        assert torch.equal(x, y)


@pytest.mark.parametrize(("transform", "message"), [
    ({"name": "grokfast_ema", "alpha": 1.5}, "optim.transforms.0.alpha: must be less than 1, "
     "got 1.5"),
    ({"name": "perp_grad", "foo": 1}, "optim.transforms.0.foo: unknown key (allowed: name, "
     "members, rescale)"),
    ({"name": "grokfast_ema", "lamb": [1, -2]}, "optim.transforms.0.lamb.1: must be greater"),
    ({"name": "grokfast_ema", "alpha": 0.0}, "optim.transforms.0.alpha"),
    ({"name": "grokfast_ema", "lamb": -1}, "optim.transforms.0.lamb"),
    ({"name": "grokfast_ma", "window": 0}, "optim.transforms.0.window"),
    ({"name": "norm_constraint", "factor": 0}, "optim.transforms.0.factor"),
    ({"name": "grokfast", "lamb": 2}, "optim.transforms.0.name"),
    ({"name": "perp_grad", "rescale": "sometimes"}, "optim.transforms.0.rescale"),
    ({"name": "grokfast_ema", "lamb": [1, 2, 3]}, "optim.transforms.0.lamb: has 3 values"),
    ({"name": "perp_grad", "members": [5]}, "optim.transforms.0.members"),
])
def test_bad_transform_settings_give_one_line(transform, message):
    with pytest.raises((ConfigError, ValueError)) as info:
        Cohort(_config(optim={"transforms": [transform]}, probes=[]))
    text = str(info.value)
    assert message in text and "\n" not in text.strip(), text
