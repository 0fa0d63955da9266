"""Cohort models: shapes, per-member init, init scale, and the transformer's fast path."""

import torch

from grokscope.models import CohortMLP, CohortTransformer


def _tokens(n_members, n=50, vocab=11, t=2):
    g = torch.Generator().manual_seed(0)
    return torch.randint(0, vocab, (n_members, n, t), generator=g)


def test_member_init_depends_only_on_its_seed():
    big = CohortTransformer(3, vocab_size=11, n_classes=11, d_model=16, n_heads=2, d_mlp=32)
    big.initialize([5, 6, 7], [1.0, 1.0, 1.0])
    alone = CohortTransformer(1, vocab_size=11, n_classes=11, d_model=16, n_heads=2, d_mlp=32)
    alone.initialize([6], [1.0])
    for (name, p_big), p_alone in zip(big.named_parameters(), alone.parameters()):
        assert torch.equal(p_big[1], p_alone[0]), name


def test_init_scale_multiplies_every_parameter():
    a = CohortMLP(2, vocab_size=7, n_classes=7, embed_dim=4, width=8)
    a.initialize([1, 1], [1.0, 8.0])
    for p in a.parameters():
        torch.testing.assert_close(p[1], 8 * p[0])


def test_init_scale_can_leave_the_biases_unscaled():
    a = CohortMLP(2, vocab_size=None, n_classes=4, width=8, depth=2, n_features=5)
    a.initialize([1, 1], [1.0, 8.0], scale_biases=False)
    biases = {"b0", "b1", "b_out"}
    for name, p in a.named_parameters():
        expected = p[0] if name in biases else 8 * p[0]
        torch.testing.assert_close(p[1], expected, msg=name)
    b = CohortMLP(1, vocab_size=None, n_classes=4, width=8, depth=2, n_features=5)
    b.initialize([1], [8.0])  # the same draws: only the biases differ
    for name, p in a.named_parameters():
        assert torch.equal(p[1], getattr(b, name)[0]) != (name in biases), name


def test_unscaled_biases_without_biases_is_refused():
    import pytest

    from grokscope.config import MLPConfig
    with pytest.raises(ValueError, match="model.init_scale_biases: false .* model.bias is false"):
        MLPConfig(bias=False, init_scale_biases=False)


def test_shapes_and_members_are_independent():
    model = CohortMLP(3, vocab_size=11, n_classes=11, embed_dim=8, width=16, depth=2)
    model.initialize([0, 1, 2], [1.0] * 3)
    x = _tokens(3)
    logits = model(x)
    assert logits.shape == (3, 50, 11)
    logits[1].sum().backward()  # member 1's output depends on member 1's weights only
    for p in model.parameters():
        assert p.grad[0].abs().sum() == 0 and p.grad[2].abs().sum() == 0


def test_fast_paths_equal_full_attention():
    for layer_norm, n_layers in ((False, 2), (True, 2), (True, 3), (False, 4)):
        model = CohortTransformer(2, vocab_size=11, n_classes=11, n_layers=n_layers, d_model=16,
                                  n_heads=4, d_mlp=32, layer_norm=layer_norm)
        model.initialize([3, 4], [1.0, 1.0])
        x = _tokens(2)
        eq = torch.full_like(x[..., :1], 11)
        from grokscope.models.cohort import embed
        h = embed(torch.cat([x, eq], -1), model.embed) + model.pos.unsqueeze(1)
        for block in model.blocks:
            h = block(h, last_only=False)  # all positions, causal mask
        full = h[:, :, -1]
        if layer_norm:
            from grokscope.models.cohort import layer_norm as ln
            full = ln(full, model.ln_f_g, model.ln_f_b)
        torch.testing.assert_close(model.features(x), full, rtol=1e-5, atol=1e-5)
        full.sum().backward()  # the gradients through the tables are the naive ones too
        naive = {n: p.grad for n, p in model.named_parameters()}  # None: the unembedding
        model.zero_grad(set_to_none=True)
        model.features(x).sum().backward()
        for name, p in model.named_parameters():
            if naive[name] is None:
                assert p.grad is None, name
            else:
                torch.testing.assert_close(p.grad, naive[name], rtol=1e-4, atol=1e-5)


def test_mlp_sum_combine_is_order_free():
    model = CohortMLP(1, vocab_size=9, n_classes=9, embed_dim=8, width=8, combine="sum")
    model.initialize([0], [1.0])
    x = _tokens(1, vocab=9)
    torch.testing.assert_close(model(x), model(x.flip(-1)))


def test_mlp_first_layer_tables_equal_the_naive_layer():
    from grokscope.models.cohort import embed, linear

    for combine in ("concat", "sum"):
        model = CohortMLP(2, vocab_size=11, n_classes=11, embed_dim=8, width=16, depth=2,
                          combine=combine)
        model.initialize([1, 2], [1.0, 1.0])
        x = _tokens(2)
        e = embed(x, model.embed)  # (E, N, T, d)
        h = e.flatten(-2) if combine == "concat" else e.sum(-2)
        h = torch.relu(linear(h, model.w0, model.b0))
        naive = torch.relu(linear(h, model.w1, model.b1))
        torch.testing.assert_close(model.features(x), naive, rtol=1e-5, atol=1e-5)
