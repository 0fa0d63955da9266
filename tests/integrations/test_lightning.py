"""`GrokkingEarlyStopping` with the real PyTorch Lightning, on a plain MLP that groks on
a+b mod 31 in about a thousand full-batch steps on one CPU core: the grokscope callback
stops after alpha1 with the verdict `grokked`; Lightning's own `EarlyStopping` with a common
patience stops in the memorization plateau; a run resumed from a Lightning checkpoint
decides exactly as the uninterrupted one."""

from __future__ import annotations

import pytest
import torch

pl = pytest.importorskip("pytorch_lightning")

from modular_lightning import Modular  # noqa: E402
from modular_task import split  # noqa: E402

from grokscope import ConfigError  # noqa: E402
from grokscope.integrations.lightning import GrokkingEarlyStopping  # noqa: E402

pytestmark = pytest.mark.slow


def _loaders():
    (xt, yt), (xv, yv) = split()
    full = torch.utils.data.DataLoader
    return (full(torch.utils.data.TensorDataset(xt, yt), batch_size=len(yt)),
            full(torch.utils.data.TensorDataset(xv, yv), batch_size=len(yv)))


@pytest.fixture(scope="module")
def whole():
    """The uninterrupted run with the grokscope callback: (its callback, its trainer)."""
    grok = GrokkingEarlyStopping(budget=3000, verbose=False)
    trainer, _ = _fit_with(grok)
    return grok, trainer


def test_grokscope_stops_after_alpha1_where_stock_early_stopping_stops_in_the_plateau(whole):
    grok, trainer = whole
    d = grok.decision
    stock = pl.callbacks.EarlyStopping(monitor="val_loss", patience=10)
    stock_trainer, _ = _fit_with(stock)
    print(f"\ngrokscope: stopped at step {trainer.global_step} ({d.reason}), verdict "
          f"{d.verdict}, alpha0 {d.alpha0}, alpha1 {d.alpha1}; Lightning EarlyStopping("
          f"val_loss, patience 10): stopped at step {stock_trainer.global_step}")
    assert d.stop and d.reason == "grokked" and d.verdict == "grokked"
    assert d.alpha1 < trainer.global_step < 3000
    assert stock_trainer.global_step < d.alpha1  # the plateau: before generalization


def _fit_with(callback, **kw):
    trainer = pl.Trainer(max_steps=kw.get("max_steps", 3000), check_val_every_n_epoch=10,
                         logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, accelerator="cpu", num_sanity_val_steps=0,
                         callbacks=[callback])
    train, val = _loaders()
    module = Modular()
    trainer.fit(module, train, val, ckpt_path=kw.get("ckpt_path"))
    return trainer, module


def test_a_run_resumed_from_a_checkpoint_decides_as_an_uninterrupted_one(whole, tmp_path):
    whole = whole[0]
    first = GrokkingEarlyStopping(budget=3000, verbose=False)
    trainer, _ = _fit_with(first, max_steps=500)  # in the plateau: memorized, not generalized
    trainer.save_checkpoint(tmp_path / "mid.ckpt")
    resumed = GrokkingEarlyStopping(budget=3000, verbose=False)
    trainer, _ = _fit_with(resumed, ckpt_path=str(tmp_path / "mid.ckpt"))
    assert resumed.monitor.state_dict()["steps"][:50] == whole.monitor.state_dict()["steps"][:50]
    assert resumed.decision == whole.decision


def test_a_missing_key_and_a_rule_without_its_column_are_one_line():
    with pytest.raises(ConfigError, match="rule 'hopeless' needs test_loss"):
        GrokkingEarlyStopping(rules=["hopeless"], val_loss=None)
    with pytest.raises(ConfigError, match="no logged metric 'val_accuracy' for val_acc"):
        _fit_with(GrokkingEarlyStopping(val_acc="val_accuracy"), max_steps=20)
