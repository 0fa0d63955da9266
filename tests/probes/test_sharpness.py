"""Sharpness: power iteration and Hutchinson against the explicit Hessian of a small model."""

import math

import torch
from torch.func import functional_call

from grokscope.probes.sharpness import hessian_trace, member_random, top_eigenvalue
from grokscope.training.batches import full_batch
from grokscope.training.cohort import Cohort

SMALL = {"task": {"p": 5}, "model": {"embed_dim": 3, "width": 6}, "cohort": {"members": 2}}


def _cohort(tiny_config) -> Cohort:
    cohort = Cohort(tiny_config(**SMALL))
    for _ in range(20):  # away from the initialization, where curvature is tiny
        cohort.step()
    return cohort


def _member_hessian(cohort: Cohort, member: int) -> torch.Tensor:
    """The full Hessian of one member's mean train loss w.r.t. its own parameters, by
    torch.autograd.functional.hessian on a flat vector (the other member held fixed)."""
    names = [n for n, _ in cohort.model.named_parameters()]
    params = {n: p.detach() for n, p in cohort.model.named_parameters()}
    shapes = [params[n][member].shape for n in names]
    flat0 = torch.cat([params[n][member].flatten() for n in names])
    indices, weights = full_batch(cohort.masks)

    def loss(flat: torch.Tensor) -> torch.Tensor:
        chunks = torch.split(flat, [math.prod(s) for s in shapes])
        full = {}
        for n, chunk, shape in zip(names, chunks, shapes, strict=True):
            rows = [params[n][e] if e != member else chunk.view(shape)
                    for e in range(cohort.n_members)]
            full[n] = torch.stack(rows)
        logits = functional_call(cohort.model, full, (cohort.task.inputs[indices],))
        per = torch.nn.functional.cross_entropy(logits[member], cohort.task.labels[indices[member]],
                                                reduction="none")
        return (per * weights[member]).sum()

    return torch.autograd.functional.hessian(loss, flat0)


def _objective(cohort: Cohort):
    indices, weights = full_batch(cohort.masks)
    return lambda: cohort.objective(indices, weights)


def test_top_eigenvalue_matches_eigvalsh_of_the_explicit_hessian(tiny_config):
    cohort = _cohort(tiny_config)
    params = list(cohort.model.parameters())
    found = top_eigenvalue(_objective(cohort), params, member_random(params, [0, 1]), 300)
    for member in range(2):
        eig = torch.linalg.eigvalsh(_member_hessian(cohort, member).double())
        top = eig[eig.abs().argmax()].item()
        assert math.isclose(found[member].item(), top, rel_tol=2e-3), (member, top)


def test_hutchinson_trace_is_within_its_standard_error_of_the_exact_trace(tiny_config):
    cohort = _cohort(tiny_config)
    params = list(cohort.model.parameters())
    samples = 400
    probes = [member_random(params, [10 + i, 5000 + i], "rademacher") for i in range(samples)]
    found = hessian_trace(_objective(cohort), params, probes)
    for member in range(2):
        h = _member_hessian(cohort, member).double()
        off = h - torch.diag(h.diagonal())
        sigma = math.sqrt(2 * off.pow(2).sum().item() / samples)
        assert abs(found[member].item() - h.trace().item()) < 4 * sigma + 1e-4


def test_member_random_depends_on_the_member_seed_only():
    params = [torch.zeros(3, 4, 5), torch.zeros(3, 2)]
    a = member_random(params, [7, 8, 9])
    b = member_random([p[:1] for p in params], [8])
    assert all(torch.equal(x[1], y[0]) for x, y in zip(a, b, strict=True))
