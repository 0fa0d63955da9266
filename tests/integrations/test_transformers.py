"""`GrokkingCallback` with the real Hugging Face Trainer, on a plain MLP that groks on a+b
mod 31 (as in test_lightning.py): the grokscope callback stops after alpha1 with the verdict
`grokked`; transformers' `EarlyStoppingCallback` with a common patience stops in the
memorization plateau; a run resumed from a checkpoint decides as the uninterrupted one, with
`restore_callback_states_from_checkpoint` False (its default) and True."""

from __future__ import annotations

import pytest
from torch import nn

transformers = pytest.importorskip("transformers")
pytest.importorskip("accelerate")

from modular_task import mlp, split  # noqa: E402

from grokscope import ConfigError  # noqa: E402
from grokscope.integrations.transformers import GrokkingCallback  # noqa: E402

pytestmark = pytest.mark.slow


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = mlp()

    def forward(self, x, labels=None):
        logits = self.net(x)
        loss = nn.functional.cross_entropy(logits, labels) if labels is not None else None
        return {"loss": loss, "logits": logits}


def _sets():
    (xt, yt), (xv, yv) = split()
    return ([{"x": x, "labels": y} for x, y in zip(xt, yt)],
            [{"x": x, "labels": y} for x, y in zip(xv, yv)])


def _accuracy(prediction):
    logits, labels = prediction.predictions, prediction.label_ids
    return {"accuracy": float((logits.argmax(-1) == labels).mean())}


def _trainer(out, callbacks, max_steps=3000, **args):
    train, test = _sets()
    settings = dict(output_dir=str(out), max_steps=max_steps, per_device_train_batch_size=len(train),
                    per_device_eval_batch_size=1024, learning_rate=1e-2, weight_decay=1.0,
                    adam_beta2=0.98, lr_scheduler_type="constant", warmup_steps=0,
                    eval_strategy="steps", eval_steps=10, logging_steps=10, save_strategy="no",
                    report_to=[], use_cpu=True, seed=0, disable_tqdm=True,
                    dataloader_num_workers=0)
    settings.update(args)
    return transformers.Trainer(model=Net(), args=transformers.TrainingArguments(**settings),
                                train_dataset=train, eval_dataset={"train": train, "test": test},
                                compute_metrics=_accuracy, callbacks=callbacks)


def _grokscope(trainer):
    return next(c for c in trainer.callback_handler.callbacks if isinstance(c, GrokkingCallback))


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    trainer = _trainer(tmp_path_factory.mktemp("hf") / "whole", [GrokkingCallback(budget=3000)])
    trainer.train()
    return _grokscope(trainer).decision, trainer.state.global_step


def test_grokscope_stops_after_alpha1_where_stock_early_stopping_stops_in_the_plateau(
        whole, tmp_path):
    decision, stopped = whole
    stock = _trainer(tmp_path / "stock",
                     [transformers.EarlyStoppingCallback(early_stopping_patience=10)],
                     metric_for_best_model="eval_test_loss", greater_is_better=False,
                     load_best_model_at_end=True, save_strategy="steps", save_steps=10,
                     save_total_limit=1)
    stock.train()
    print(f"\ngrokscope: stopped at step {stopped} ({decision.reason}), verdict "
          f"{decision.verdict}, alpha0 {decision.alpha0}, alpha1 {decision.alpha1}; "
          f"EarlyStoppingCallback(eval_test_loss, patience 10): stopped at step "
          f"{stock.state.global_step}")
    assert decision.stop and decision.verdict == "grokked" and decision.reason == "grokked"
    assert decision.alpha1 < stopped < 3000
    assert stock.state.global_step < decision.alpha1


@pytest.mark.parametrize("restore", [False, True])
def test_a_resumed_run_decides_as_the_uninterrupted_one(whole, tmp_path, restore):
    first = _trainer(tmp_path / "run", [GrokkingCallback(budget=3000)], max_steps=3000,
                     save_strategy="steps", save_steps=200,
                     restore_callback_states_from_checkpoint=restore)
    first.callback_handler.add_callback(_StopAt(400))  # a kill after the checkpoint at 400
    first.train()
    resumed = _trainer(tmp_path / "run", [GrokkingCallback(budget=3000)], max_steps=3000,
                       save_strategy="steps", save_steps=200,
                       restore_callback_states_from_checkpoint=restore)
    resumed.train(resume_from_checkpoint=str(tmp_path / "run" / "checkpoint-400"))
    assert _grokscope(resumed).monitor.state_dict()["steps"][0] == 10  # the whole history
    assert _grokscope(resumed).decision == whole[0]


class _StopAt(transformers.TrainerCallback):
    def __init__(self, step):
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step >= self.step:
            control.should_training_stop = True


def test_a_key_the_trainer_never_reports_is_one_line(tmp_path):
    with pytest.raises(ConfigError, match="never reported 'eval_test_acc'"):
        _trainer(tmp_path / "bad", [GrokkingCallback(test_acc="eval_test_acc")],
                 max_steps=30).train()
    with pytest.raises(ConfigError, match="rule 'hopeless' needs test_loss"):
        GrokkingCallback(rules=["hopeless"], test_loss=None)
