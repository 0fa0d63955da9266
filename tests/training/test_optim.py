"""The vectorized optimizers equal torch.optim's, member by member."""

import pytest
import torch

from grokscope.training.optim import CohortAdamW, CohortSGD, clip_by_member_norm


def _assert_matches_per_member(init, make_cohort, make_torch, steps):
    """Step a cohort optimizer and one torch optimizer per member on the same random
    gradients; every member's parameters must end where its torch twin's do."""
    members = init[0].shape[0]
    cohort = [torch.nn.Parameter(t.clone()) for t in init]
    opt = make_cohort(cohort)
    alone = [[torch.nn.Parameter(t[k].clone()) for t in init] for k in range(members)]
    refs = [make_torch(alone[k], k) for k in range(members)]
    for _ in range(steps):
        grads = [torch.randn_like(t) for t in init]
        for p, g in zip(cohort, grads):
            p.grad = g.clone()
        opt.step()
        for k in range(members):
            for p, g in zip(alone[k], grads):
                p.grad = g[k].clone()
            refs[k].step()
    for k in range(members):
        for p_cohort, p_alone in zip(cohort, alone[k]):
            torch.testing.assert_close(p_cohort[k], p_alone, rtol=1e-5, atol=1e-6)


def test_matches_torch_adamw_per_member():
    torch.manual_seed(0)
    lrs, wds = [1e-2, 3e-3, 1e-3], [1.0, 0.0, 0.1]
    betas = [(0.9, 0.98), (0.8, 0.999), (0.95, 0.9)]
    _assert_matches_per_member(
        [torch.randn(3, 5, 4), torch.randn(3, 4)],
        lambda params: CohortAdamW(
            params, lr=torch.tensor(lrs), weight_decay=torch.tensor(wds),
            beta1=torch.tensor([b[0] for b in betas]), beta2=torch.tensor([b[1] for b in betas])),
        lambda params, k: torch.optim.AdamW(params, lr=lrs[k], weight_decay=wds[k],
                                            betas=betas[k]),
        steps=25)


def test_warmup_scales_the_first_steps_linearly():
    p = torch.nn.Parameter(torch.zeros(2, 1))
    opt = CohortAdamW([p], lr=torch.tensor([1.0, 2.0]), weight_decay=torch.zeros(2),
                      beta1=torch.full((2,), 0.9), beta2=torch.full((2,), 0.98), warmup_steps=4)
    opt.t = 1
    assert opt.current_lr().tolist() == [0.25, 0.5]
    opt.t = 9
    assert opt.current_lr().tolist() == [1.0, 2.0]


def test_clipping_is_per_member():
    grads = [torch.tensor([[3.0, 4.0], [0.3, 0.4]])]  # norms 5 and 0.5
    clipped = clip_by_member_norm(1.0)(grads)[0]
    torch.testing.assert_close(clipped[0].norm(), torch.tensor(1.0), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(clipped[1], grads[0][1])  # below the bound: untouched


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_matches_torch_sgd_per_member(momentum):
    torch.manual_seed(1)
    lrs, wds = [0.1, 0.03], [0.0, 0.01]
    _assert_matches_per_member(
        [torch.randn(2, 3, 4), torch.randn(2, 4)],
        lambda params: CohortSGD(params, lr=torch.tensor(lrs), weight_decay=torch.tensor(wds),
                                 momentum=momentum),
        lambda params, k: torch.optim.SGD(params, lr=lrs[k], weight_decay=wds[k],
                                          momentum=momentum),
        steps=10)
