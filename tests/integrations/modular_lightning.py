"""The tiny grokking problem (`modular_task`) as a LightningModule: train and validation
accuracy and loss logged with `self.log` (with `sync_dist` under DDP). Shared by
test_lightning.py and benchmarks/lightning_ddp.py."""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from modular_task import mlp
from torch import nn


class Modular(pl.LightningModule):
    def __init__(self, sync: bool = False) -> None:
        super().__init__()
        self.net, self.sync = mlp(), sync

    def _measure(self, batch, prefix):
        x, y = batch
        logits = self.net(x)
        loss = nn.functional.cross_entropy(logits, y)
        self.log(f"{prefix}_loss", loss, sync_dist=self.sync)
        self.log(f"{prefix}_acc", (logits.argmax(-1) == y).float().mean(), sync_dist=self.sync)
        return loss

    def training_step(self, batch, batch_idx):
        return self._measure(batch, "train")

    def validation_step(self, batch, batch_idx):
        self._measure(batch, "val")

    def configure_optimizers(self):
        return torch.optim.AdamW(self.parameters(), lr=1e-2, weight_decay=1.0,
                                 betas=(0.9, 0.98))
