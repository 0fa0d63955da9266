"""`GrokkingEarlyStopping` under DDP: the tiny grokking problem of the trainer tests on 2 CPU
processes (`ddp_spawn`, gloo), each rank writing its callback's decision to OUT/rank<r>.json.
`sync`: metrics logged with `sync_dist=True` (every rank feeds the same values); `local`:
each rank logs its own half of the data, and only the stop is reduced across ranks.
Prints whether both ranks stopped at the same step with the same decision.

    python benchmarks/lightning_ddp.py OUT [sync|local]

Not in the test suite: in 1 of 19 runs here, gloo's teardown crashed a process after
training ("terminate called without an active exception"), which a 2-core CI must not
turn into a red build.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytorch_lightning as pl
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integrations"))
from modular_lightning import Modular  # noqa: E402
from modular_task import split  # noqa: E402

from grokscope.integrations.lightning import GrokkingEarlyStopping  # noqa: E402


class Recording(GrokkingEarlyStopping):
    def __init__(self, out: str, **settings) -> None:
        super().__init__(**settings)
        self.out = out

    def on_train_end(self, trainer, pl_module) -> None:
        decision = self.decision.as_dict() if self.decision else None
        Path(self.out, f"rank{trainer.global_rank}.json").write_text(json.dumps(
            {"step": trainer.global_step, "decision": decision,
             "steps_fed": self.monitor.state_dict()["steps"]}))


if __name__ == "__main__":
    out, mode = sys.argv[1], sys.argv[2]
    (xt, yt), (xv, yv) = split()
    loader = torch.utils.data.DataLoader
    data = torch.utils.data.TensorDataset
    callback = Recording(out, rules=[{"name": "patience", "monitor": "test_loss",
                                      "patience": 5}], verbose=False)
    trainer = pl.Trainer(max_steps=600, check_val_every_n_epoch=10, logger=False,
                         enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, accelerator="cpu", devices=2,
                         strategy="ddp_spawn", num_sanity_val_steps=0, callbacks=[callback])
    trainer.fit(Modular(mode == "sync"), loader(data(xt, yt), batch_size=len(yt)),
                loader(data(xv, yv), batch_size=len(yv)))
    ranks = [json.loads(Path(out, f"rank{r}.json").read_text()) for r in (0, 1)]
    same_step = ranks[0]["step"] == ranks[1]["step"]
    same = ranks[0]["decision"] == ranks[1]["decision"]
    print(f"{mode}: rank 0 stopped at {ranks[0]['step']}, rank 1 at {ranks[1]['step']} "
          f"({'together' if same_step else 'APART'}); decisions "
          f"{'equal' if same else 'differ'}: {ranks[0]['decision']}")
