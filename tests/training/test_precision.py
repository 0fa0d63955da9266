"""`train.precision`: bfloat16 autocast changes the forward's numerics but not the verdicts
(grokking is precision-sensitive: Prieto et al. 2025's softmax collapse), the loss stays in
`train.loss_dtype`, and a CPU's float32 is left alone. The quick-start itself in bf16 is
checked where CUDA is (a CPU without bf16 units runs it ~7x slower than float32: measured
0.32 vs 0.048 s per step here)."""

from pathlib import Path

import pytest
import torch
import yaml

from grokscope.config import parse_config
from grokscope.experiment import run_experiment
from grokscope.training.cohort import Cohort

# grokking within ~900 steps on one core: a+b mod 31, 60% data, an MLP (embed 32, width 128):
# alpha1 470-850 in both precisions, ~4.5 s each (a d32 transformer in bf16 took 4x longer)
SMALL = {"task": {"name": "modular", "p": 31, "op": "a+b"}, "split": {"fraction": 0.6},
         "model": {"name": "mlp", "embed_dim": 32, "width": 128},
         "optim": {"lr": 1e-2, "weight_decay": 1.0}, "cohort": {"members": 3, "seed": 0},
         "train": {"steps": 1500, "log_every": 10, "checkpoint_every": 500, "device": "cpu"},
         "stopping": ["grokked"]}


def test_bfloat16_forward_keeps_the_loss_in_its_dtype(tiny_config):
    fp32 = Cohort(tiny_config(train={"precision": "float32"}))
    bf16 = Cohort(tiny_config(train={"precision": "bfloat16"}))
    rows = torch.arange(10)
    a, b = fp32.outputs_at(rows), bf16.outputs_at(rows)  # same seeds, same weights
    assert b.dtype == torch.bfloat16 and a.dtype == torch.float32
    assert not torch.equal(a, b.float())
    torch.testing.assert_close(a, b.float(), atol=0.05, rtol=0.05)
    assert bf16.evaluate().train_loss.dtype == torch.float32
    bf16.step()  # gradients reach the float32 weights
    assert all(p.dtype == torch.float32 for p in bf16.model.parameters())


@pytest.mark.slow
def test_bfloat16_reaches_the_same_verdicts_as_float32(tmp_path):
    verdicts = {}
    for precision in ("float32", "bfloat16"):
        raw = SMALL | {"name": precision, "out_dir": str(tmp_path)}
        raw["train"] = SMALL["train"] | {"precision": precision}
        events = run_experiment(parse_config(raw), progress=False).events
        verdicts[precision] = [m["verdict"] for m in events["members"]]
        assert events["execution"]["precision"] == precision
    assert verdicts["float32"] == verdicts["bfloat16"] == ["grokked"] * 3, verdicts


@pytest.mark.skipif(not torch.cuda.is_available(),
                    reason="the quick-start in bf16 vs fp32 runs on CUDA (no CUDA device here)")
def test_quickstart_in_bfloat16_on_cuda_reaches_the_fp32_verdicts(tmp_path):
    raw = yaml.safe_load((Path(__file__).parents[2] / "experiments/quickstart.yaml").read_text())
    raw.pop("probes")
    verdicts = {}
    for precision in ("tf32", "bfloat16"):
        config = raw | {"name": precision, "out_dir": str(tmp_path),
                        "train": raw["train"] | {"device": "cuda", "precision": precision}}
        events = run_experiment(parse_config(config), progress=False).events
        verdicts[precision] = [m["verdict"] for m in events["members"]]
    assert verdicts["tf32"] == verdicts["bfloat16"] == ["grokked"] * 4, verdicts
