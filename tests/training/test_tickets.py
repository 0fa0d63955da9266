"""Lottery tickets (`prune` transform, `train.keep_weights`): a source run keeps its weights,
a ticket run re-draws each member's step-0 weights from its source member's seed and trains
with a mask; pruned weights stay exactly zero, the dense member replays the source."""

from __future__ import annotations

import pytest
import torch

from grokscope.config import parse_config
from grokscope.errors import ConfigError
from grokscope.experiment import run_experiment
from grokscope.store import RunStore
from grokscope.training.optim.prune import kept_count, magnitude_mask, random_mask

BASE = {"task": {"name": "modular", "p": 11}, "split": {"name": "uniform", "fraction": 0.5},
        "model": {"name": "mlp", "embed_dim": 8, "width": 16},
        "optim": {"lr": 1e-2, "weight_decay": 1.0},
        "train": {"steps": 60, "log_every": 10, "checkpoint_every": 30, "device": "cpu"}}
KINDS = ["none", "magnitude", "magnitude", "random", "rescaled_l2"]
STEPS = ["final", "final", 0, "final", "final"]


def _config(**extra) -> dict:
    out = {k: dict(v) for k, v in BASE.items()}
    for key, value in extra.items():
        out[key] = {**out.get(key, {}), **value}
    return out


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    folder = tmp_path_factory.mktemp("source") / "run"
    config = parse_config(_config(cohort={"seed": [3, 4]},
                                  train={"keep_weights": [0, 30], "keep_weights_every": 20}))
    run_experiment(config, folder, progress=False)
    return folder


def _ticket(source, folder, **optim):
    prune = {"name": "prune", "source": str(source), "kind": KINDS, "step": STEPS,
             "keep": 0.3, "member": [0] * 5, **optim}
    config = parse_config(_config(cohort={"seed": [3] * 5}, optim={"transforms": [prune]},
                                  train={"keep_weights": [0]}))
    run_experiment(config, folder, progress=False)
    return RunStore(folder)


def test_masks_keep_the_exact_share_largest_first():
    weights = [torch.tensor([[0.1, -3.0], [2.0, 0.0]]), torch.tensor([5.0, -0.2, 0.3])]
    masks = magnitude_mask(weights, 3 / 7)
    assert masks[0].tolist() == [[False, True], [True, False]]
    assert masks[1].tolist() == [True, False, False]
    drawn = random_mask(weights, 3 / 7, torch.Generator().manual_seed(0))
    assert sum(int(m.sum()) for m in drawn) == kept_count(7, 3 / 7) == 3


def test_the_source_keeps_the_steps_asked_for_and_its_id_is_unchanged(source):
    store = RunStore(source)
    assert store.weight_steps() == [0, 20, 30, 40, 60]
    kept = store.load_weights(20)
    assert kept["ids"] == [0, 1] and kept["params"]["embed"].shape[0] == 2
    from grokscope.config.identity import run_id

    plain = parse_config(_config(cohort={"seed": [3, 4]}))
    kept = parse_config(_config(cohort={"seed": [3, 4]}, train={"keep_weights": [5]}))
    other = parse_config(_config(cohort={"seed": [3, 5]}, train={"keep_weights": [5]}))
    assert run_id(plain) == run_id(kept) != run_id(other)


def test_a_ticket_rewinds_to_step_0_and_its_pruned_weights_stay_zero(source, tmp_path):
    src = RunStore(source)
    store = _ticket(source, tmp_path / "ticket")
    w0, final = src.load_weights(0)["params"], src.load_weights(60)["params"]
    start = store.load_weights(0)["params"]
    end = torch.load(store.checkpoint_path, weights_only=False)["cohort"]["model"]
    names = [n for n, v in w0.items() if v.dim() >= 3]  # weight matrices, member axis first
    total = sum(w0[n][0].numel() for n in names)
    # member 0 (kind none) trains exactly as source member 0: same seed, split and updates
    for name in w0:
        assert torch.equal(end[name][0], final[name][0]), name
        assert torch.equal(start[name][0], w0[name][0])
    for member, at in ((1, final), (2, w0)):  # ticket of the final weights; pruned at init
        mask = magnitude_mask([at[n][0] for n in names], 0.3)
        for name, m in zip(names, mask, strict=True):
            assert torch.equal(start[name][member], w0[name][0] * m)  # rewound, then masked
            assert (end[name][member][~m] == 0).all()  # pruned weights never revive
        assert sum(int((end[n][member] != 0).sum()) for n in names) <= kept_count(total, 0.3)
    # random: as many kept; rescaled_l2: dense, at the final ticket's step-0 L2 norm
    assert sum(int((start[n][3] != 0).sum()) for n in names) == kept_count(total, 0.3)
    ticket = torch.cat([start[n][1].flatten() for n in names]).norm()
    dense = torch.cat([start[n][4].flatten() for n in names])
    assert (dense != 0).all() and torch.allclose(dense.norm(), ticket)
    assert torch.equal(start["b0"][4], w0["b0"][0])  # biases are not in the pruned set


def test_a_ticket_resumes_bit_for_bit(source, tmp_path):
    from conftest import CrashAt  # the crash seam the loop tests use

    whole = _ticket(source, tmp_path / "whole")

    config = parse_config(_config(
        cohort={"seed": [3] * 5}, train={"keep_weights": [0]},
        optim={"transforms": [{"name": "prune", "source": str(source), "kind": KINDS,
                               "step": STEPS, "keep": 0.3, "member": [0] * 5}]}))
    folder = tmp_path / "killed"
    with pytest.raises(KeyboardInterrupt):
        run_experiment(config, folder, progress=False, callbacks=[CrashAt(40, KeyboardInterrupt)])
    run_experiment(config, folder, progress=False)
    a = torch.load(whole.checkpoint_path, weights_only=False)["cohort"]["model"]
    b = torch.load(RunStore(folder).checkpoint_path, weights_only=False)["cohort"]["model"]
    assert all(torch.equal(a[n], b[n]) for n in a)


@pytest.mark.parametrize(("prune", "message"), [
    ({"step": 7}, "optim.transforms.0.step: 7 was not kept by the source (kept: 0, 20, 30, 40, "
                  "60)"),
    ({"params": ["w9"]}, "optim.transforms.0.params: w9 is not a parameter of this model"),
    ({"members": [0]}, "optim.transforms.0.members: not for prune"),
    ({"kind": "pruned"}, "optim.transforms.0.kind"),
])
def test_bad_ticket_settings_are_one_line_errors(source, tmp_path, prune, message):
    entry = {"name": "prune", "source": str(source), "member": 0, **prune}
    with pytest.raises(ConfigError) as info:
        run_experiment(parse_config(_config(cohort={"seed": [3]},
                                            optim={"transforms": [entry]})),
                       tmp_path / "bad", progress=False)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_a_step_past_training_and_a_missing_source_are_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"train.keep_weights: step 90 is beyond"):
        parse_config(_config(train={"keep_weights": [90]}))
    entry = {"name": "prune", "source": str(tmp_path / "nowhere")}
    with pytest.raises(ConfigError, match="is not a grokscope run directory"):
        run_experiment(parse_config(_config(optim={"transforms": [entry]})), tmp_path / "t",
                       progress=False)


def test_the_ticket_command_builds_one_cohort_of_tickets_and_controls(source, tmp_path):
    import json

    from typer.testing import CliRunner

    from grokscope.cli import app
    from grokscope.experiment import load_run

    out = tmp_path / "tickets"
    result = CliRunner().invoke(app, ["ticket", str(source), "--keep", "0.3", "--step", "final",
                                      "--step", "20", "--member", "1", "--out", str(out),
                                      "--no-progress"])
    assert result.exit_code == 0, result.output
    labels = [m["label"] for m in json.loads((out / "members.json").read_text())]
    assert labels == ["dense", "ticket 0.3 @ final", "ticket 0.3 @ 20", "random mask 0.3",
                      "pruned at init 0.3", "dense at ticket L2 0.3"]
    config, _ = load_run(out)
    assert config.cohort.seed == [4] * 6  # source member 1's seed: its step-0 weights
    prune = config.optim.transforms[-1]
    assert prune.member == [1] * 6 and prune.step == ["final", "final", 20, "final", 0, "final"]
    assert "ticket 0.3 @ final" in result.output and "vs dense" in result.output
    bad = CliRunner().invoke(app, ["ticket", str(source), "--keep", "1.5", "--out",
                                   str(tmp_path / "bad")])
    assert bad.exit_code == 2 and "--keep: 1.5 is not a share in (0, 1]" in bad.output


def test_a_centered_ticket_starts_from_zero_output(source):
    """`model.center` subtracts the step-0 output: the masked net's, not the dense draw's."""
    from grokscope.training.cohort import Cohort

    prune = {"name": "prune", "source": str(source), "kind": ["magnitude", "none"],
             "keep": 0.3, "member": [0, 0]}
    cohort = Cohort(parse_config(_config(cohort={"seed": [3, 3]}, model={"center": True},
                                         optim={"transforms": [prune]})))
    rows = torch.arange(cohort.task.n_examples)
    inputs = cohort.task.inputs[rows]
    with torch.no_grad():
        out = cohort._outputs(inputs.expand(2, *inputs.shape), rows, cohort.model.prepare())
    assert out.abs().max() < 1e-5


def test_layer_scope_keeps_the_share_of_every_tensor():
    """Global magnitude pruning can empty a layer drawn at a smaller scale (our MLP's first
    layer beside its N(0, 1) embedding); per-layer scope keeps `keep` of each."""
    big, small = torch.randn(50, 10) * 10, torch.randn(10, 4) * 0.01
    assert int(magnitude_mask([big, small], 0.4)[1].sum()) == 0
    per_layer = magnitude_mask([big, small], 0.4, scope="layer")
    assert [int(m.sum()) for m in per_layer] == [200, 16]
    kept = per_layer[1]
    assert small.abs()[kept].min() >= small.abs()[~kept].max()
