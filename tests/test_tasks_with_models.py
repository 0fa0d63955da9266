"""Every task trains with every model that can read it: one step and one evaluation, on tiny
sizes. Catches shape mismatches between a task's inputs and a model's readout."""

import math

import pytest
import torch

from grokscope.config import parse_config
from grokscope.errors import ConfigError
from grokscope.training.cohort import Cohort

TASKS = {
    "modular": ({"name": "modular", "p": 7, "op": "a/b"}, {"fraction": 0.5}),
    "permutation": ({"name": "permutation", "n": 3, "op": "x*y*x^-1"}, {"fraction": 0.5}),
    "random_table": ({"name": "random_table", "p": 7, "n_classes": 3}, {"fraction": 0.5}),
    "sparse_parity": ({"name": "sparse_parity", "n_bits": 8, "k": 2, "pool_size": 64,
                       "test_size": 32}, {"name": "pool", "n_train": 48}),
    "mnist": ({"name": "mnist", "source": "digits"}, {"name": "pool", "n_train": 100}),
    "polynomial": ({"name": "polynomial", "dim": 6, "pool_size": 40, "test_size": 20},
                   {"name": "pool", "n_train": 30}),
}
MODELS = {
    "mlp": {"name": "mlp", "embed_dim": 8, "width": 16, "depth": 2},
    "transformer": {"name": "transformer", "d_model": 16, "n_heads": 2, "d_mlp": 32},
}


@pytest.mark.parametrize("model", sorted(MODELS))
@pytest.mark.parametrize("task", sorted(TASKS))
def test_task_and_model_train_together(task, model):
    if task == "mnist":
        pytest.importorskip("sklearn")
    task_config, split = TASKS[task]
    config = parse_config({
        "task": task_config, "split": split, "model": MODELS[model],
        "optim": {"lr": 1e-2}, "cohort": {"members": 2},
        "train": {"device": "cpu", "batch_size": 16,
                  "loss": "mse" if task == "polynomial" else "cross_entropy"},
    })
    if task == "polynomial" and model == "transformer":
        with pytest.raises(ConfigError, match="has no token layout"):
            Cohort(config)
        return
    cohort = Cohort(config)
    before = cohort.evaluate()
    cohort.step()
    after = cohort.evaluate()
    assert after.train_loss.shape == (2,)
    assert all(math.isfinite(v) for v in after.train_loss.tolist() + after.test_loss.tolist())
    assert bool((after.train_acc >= 0).all() and (after.train_acc <= 1).all())
    assert not torch.equal(before.train_loss, after.train_loss)  # the step changed something
