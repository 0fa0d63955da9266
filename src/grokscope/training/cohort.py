"""The cohort engine: E members of one architecture trained in lockstep as one model."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

import torch

from grokscope.config import ExperimentConfig
from grokscope.config.components import loss_function, ordering_function
from grokscope.errors import ConfigError
from grokscope.models import build_model
from grokscope.models.cohort import CohortModule
from grokscope.tasks import Splits, TaskData, build_splits, build_task
from grokscope.training import memory
from grokscope.training.backends import build_backend
from grokscope.training.batches import SAMPLERS, full_batch
from grokscope.training.device import (
    resolve_backend,
    resolve_device,
    resolve_precision,
    resolve_sampler,
    set_matmul_precision,
)
from grokscope.training.label_noise import noisy_labels
from grokscope.training.losses import correct, per_example_loss
from grokscope.training.members import MemberSpec, cohort_size, resolve_members
from grokscope.training.optim import OPTIMIZERS, CohortOptimizer


@dataclass
class Evaluation:
    """One evaluation pass over every member's train and test examples.

    `loss` and `correct` are per example `(E, N)`, defined where the member's train or test
    mask is set (0 elsewhere; probes group them); the split summaries are `(E,)` means over
    each member's own train and test masks; `subsets` holds `(loss, acc)` means `(E,)` over
    the split policy's named test subsets (e.g. the under-sampled subclasses).
    """

    loss: torch.Tensor
    correct: torch.Tensor
    train_loss: torch.Tensor
    train_acc: torch.Tensor
    test_loss: torch.Tensor
    test_acc: torch.Tensor
    subsets: dict[str, tuple[torch.Tensor, torch.Tensor]]

    def columns(self) -> dict[str, torch.Tensor]:
        """Every `(E,)` summary by metric column name: `<split>_loss`, `<split>_acc`."""
        out = {"train_loss": self.train_loss, "train_acc": self.train_acc,
               "test_loss": self.test_loss, "test_acc": self.test_acc}
        for name, (loss, acc) in self.subsets.items():
            out[f"{name}_loss"], out[f"{name}_acc"] = loss, acc
        return out


# Member-examples per chunk of work. A pass over (E, n) examples is cut into column chunks of
# about this many member-examples so a cohort's activations stay cache-sized, like one run's:
# measured on 2 CPU cores (p=97, E=16), unchunked evaluation cost 106 ms per member, chunked 60.
CHUNK_MEMBER_EXAMPLES = 4096
# On a GPU the chunks only bound memory (activations of ~2M member-examples of a d_mlp 512
# layer: ~4 GB); there is no cache to fit, and every chunk is kernel launches.
CUDA_CHUNK_MEMBER_EXAMPLES = 1 << 21


def _chunks(n: int, n_members: int, chunk: int | None = None,
            budget: int | None = None) -> list[slice]:
    size = chunk or max(32, (budget or CHUNK_MEMBER_EXAMPLES) // n_members)
    return [slice(start, start + size) for start in range(0, n, size)]


def _masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over the mask per member; `(E, N)` values, `(E, N)` or `(N,)` mask -> `(E,)`."""
    mask = mask.to(values.dtype)
    return (values * mask).sum(-1) / mask.sum(-1).clamp(min=1)


class Cohort:
    """Model, optimizer, data and train masks of E members; one `step()` trains them all."""

    def __init__(self, config: ExperimentConfig, device: torch.device | None = None) -> None:
        self.config = config
        self.device = device or resolve_device(config.train.device)
        memory.check_members(cohort_size(config), self.device)  # refused before allocating
        self.members: list[MemberSpec] = resolve_members(config)
        seeds = [m.seed for m in self.members]
        memory.check_task(config.task, self.device)
        task = build_task(config.task)
        m = self.members
        self.splits: Splits = build_splits(
            config.split, task, [s.split_seed for s in m], [s.fraction for s in m],
            [s.n_train for s in m], [s.f for s in m])
        if task.regression and config.train.loss != "mse":
            raise ConfigError(f"train.loss: task '{task.name}' is a regression; allowed: mse, "
                              f"got {config.train.loss!r}")
        self.task: TaskData = task.to(self.device)
        self._loss_fn = loss_function(config.train.loss)  # once: never looked up in a trace
        self.masks = self.splits.train.to(self.device)  # (E, N) True = train
        self.test_masks = self.splits.test.to(self.device)  # (E, N) True = test
        self._labels = self._member_labels()  # (E, N) with label noise, else None: shared
        self.subsets = {k: v.to(self.device) for k, v in self.splits.subsets.items()}  # (N,)
        train = config.train
        self.precision = resolve_precision(train.precision, self.device)
        set_matmul_precision(self.precision, self.device)
        memory.check_cohort(config.model, task, len(self.members), self.device, build_model)
        self.model: CohortModule = build_model(config.model, task, len(self.members))
        # a model config without `init_scale_biases` / `param_scales` (transformer, linear)
        # scales every parameter alike
        self.model.initialize(seeds, [s.init_scale for s in m],
                              scale_biases=getattr(config.model, "init_scale_biases", True),
                              param_scales=getattr(config.model, "param_scales", None))
        self.model.to(self.device)
        # the optimizer first: a link may set the step-0 weights (a ticket's mask), and the
        # centered output subtracts the output of those
        self.optimizer = self._build_optimizer()
        self._set_output_scaling(config.model.center, [s.output_scale for s in m])
        batches = [s.batch_size for s in m]
        ordered = sorted({s.order for s in m} - {"reshuffle"})
        if ordered and all(b is None for b in batches):
            raise ConfigError(f"train.order: {ordered} orders mini-batches; full-batch training "
                              "(train.batch_size: null) sees every example at every step, so "
                              "the order cannot matter; set train.batch_size")
        if any(b is None for b in batches) and any(b is not None for b in batches):
            raise ConfigError("train.batch_size: mixes null (full batch) and sizes; allowed: "
                              "all null, or a size for every member")
        sizes = [b for b in batches if b is not None]
        self.sampler = resolve_sampler(train.sampler, self.device)
        self.stream = self._stream(sizes, seeds, [s.order for s in m]) if sizes else None
        self._full = None if sizes else full_batch(self.masks)
        self._plan_evaluation()
        # the live members' ids in the full cohort (position k of every tensor is member
        # ids[k]); a member that stops leaves the member axis (see `stop`)
        self.ids: list[int] = list(range(len(self.members)))
        # id -> {"step", "rule", "model": its final weights}: the members that stopped
        self.stopped: dict[int, dict] = {}
        self.backend_name = resolve_backend(train.backend, self.device)
        self.backend = build_backend(self.backend_name, self)

    def _budget(self) -> int:
        """Member-examples per chunk on this device (cache-sized on a CPU)."""
        return CUDA_CHUNK_MEMBER_EXAMPLES if self.device.type == "cuda" else CHUNK_MEMBER_EXAMPLES

    def _autocast(self) -> AbstractContextManager[object]:
        """bfloat16 autocast of the forward (and so the backward) when `train.precision` asks
        for it; the loss is then computed in `train.loss_dtype` from upcast logits."""
        if self.precision != "bfloat16":
            return nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16)

    def _plan_evaluation(self) -> None:
        """Evaluate either every row some member uses, shared by all members, or the shared
        test rows plus each member's own train rows: whichever touches fewer rows.

        Modular splits cover all examples (shared wins); subclass splits draw small train
        sets from a large pool (per-member train rows win)."""
        used = (self.masks | self.test_masks).any(0).nonzero().squeeze(1)
        test_rows = self.test_masks.any(0).nonzero().squeeze(1)
        per_member = len(test_rows) + int(self.masks.sum(1).max())
        self._shared_rows = used if len(used) <= per_member else test_rows
        self._train_rows = None if len(used) <= per_member else full_batch(self.masks)[0]

    def _member_labels(self) -> torch.Tensor | None:
        """Each member's labels when some member trains on noisy ones (`train.label_noise`)."""
        shares = [m.label_noise for m in self.members]
        if not any(shares):
            return None
        if self.task.regression:
            raise ConfigError(f"train.label_noise: task '{self.task.name}' is a regression; "
                              "label noise relabels classes (allowed: 0)")
        return noisy_labels(self.task.labels, self.masks, shares,
                            [m.split_seed for m in self.members], self.task.n_classes)

    def _labels_at(self, rows: torch.Tensor) -> torch.Tensor:
        """Labels at shared `(n,)` or per-member `(E, n)` rows, each member's own if noisy."""
        if self._labels is None:
            return self.task.labels[rows]
        if rows.dim() == 1:
            return self._labels[:, rows]
        return self._labels.gather(1, rows)

    @property
    def n_members(self) -> int:
        return len(self.members)

    @torch.no_grad()
    def _set_output_scaling(self, center: bool, scales: list[float]) -> None:
        """Lazy-training controls (Chizat et al. 2019; Kumar et al. 2024): a member's output
        is alpha * (f(x; w) - f(x; w_0)) and its loss is divided by alpha^2, so alpha sets how
        far the weights move (large alpha: lazy, kernel-like) at an alpha-free time scale.

        f(x; w_0) is a function of the member's seed alone: computed here for every example,
        identically on resume."""
        n_members = self.n_members
        self._member_axis = torch.arange(n_members, device=self.device).unsqueeze(1)
        self._scale = self._loss_weight = self._offset = None
        if any(a != 1.0 for a in scales):
            alpha = torch.tensor(scales, device=self.device)
            self._scale, self._loss_weight = alpha.view(-1, 1, 1), alpha.pow(-2).view(-1, 1)
        if center:
            prepared, n = self.model.prepare(), self.task.n_examples
            offset = torch.zeros(n_members, n, self.task.n_classes, device=self.device)
            for cols in _chunks(n, n_members, budget=self._budget()):
                inputs = self.task.inputs[cols]
                with self._autocast():
                    out = self.model(inputs.expand(n_members, *inputs.shape), prepared)
                offset[:, cols] = out.float()
            self._offset = offset  # (E, N, C)

    def _outputs(self, inputs: torch.Tensor, rows: torch.Tensor,
                 prepared: dict[str, torch.Tensor]) -> torch.Tensor:
        """Outputs `(E, n, C)` for `inputs` of example rows `(n,)` (shared) or `(E, n)`
        (per member): the model's logits, centered and scaled when configured."""
        with self._autocast():
            out = self.model(inputs, prepared)
        if self._offset is not None:
            at = self._offset[:, rows] if rows.dim() == 1 else self._offset[self._member_axis, rows]
            out = out - at
        return out if self._scale is None else out * self._scale

    def _build_optimizer(self) -> CohortOptimizer:
        def column(name: str) -> torch.Tensor:
            values = [getattr(m, name) for m in self.members]
            return torch.tensor(values, dtype=torch.float32, device=self.device)

        optim = self.config.optim
        transforms = []
        specs = optim.chain_transforms()
        offset = len(specs) - len(optim.transforms)  # the grad_clip alias comes first
        names = [name for name, _ in self.model.named_parameters()]
        for k, spec in enumerate(specs):
            try:
                transforms.append(spec.make(self.n_members, self.device, names))
            except ValueError as exc:
                raise ConfigError(f"optim.transforms.{k - offset}.{exc}") from None
        params = list(self.model.parameters())
        return CohortOptimizer(params, OPTIMIZERS[optim.name](column, optim, transforms))

    def _stream(self, sizes: list[int], seeds: list[int], orders: list[str]) -> Any:
        """The mini-batch stream; example orderings other than `reshuffle` run on the host
        sampler (the device sampler draws counter-hash permutations only)."""
        if set(orders) == {"reshuffle"}:
            return SAMPLERS[self.sampler](self.masks, sizes, seeds)
        if self.sampler != "host":
            raise ConfigError(f"train.order: {sorted(set(orders) - {'reshuffle'})} need "
                              "train.sampler: host (the device sampler only reshuffles)")
        return SAMPLERS["host"](self.masks, sizes, seeds,
                                [ordering_function(o) for o in orders], self.task)

    def _loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return per_example_loss(logits, labels, self._loss_fn, self.config.train.loss_dtype)

    def _hits(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return correct(logits, labels, self.task.tolerance)

    def step(self) -> None:
        """One optimizer update of every member on its own batch (full or mini), run by the
        step backend (`train.backend`)."""
        drawn = self.stream.next() if self.stream is not None else self._full
        assert drawn is not None  # one of the two is set in __init__
        self.backend.step(*drawn)

    def chunks(self, n: int) -> list[slice]:
        """The column chunks a step cuts `n` batch columns into on this device."""
        return _chunks(n, self.n_members, budget=self._budget())

    def chunk_loss(self, batch: torch.Tensor, weights: torch.Tensor,
                   prepared: dict[str, torch.Tensor]) -> torch.Tensor:
        """The summed weighted loss of rows `(E, b)`: one chunk's share of the objective."""
        logits = self._outputs(self.task.inputs[batch], batch, prepared)  # (E, b, C)
        loss = self._loss(logits, self._labels_at(batch)) * weights
        if self._loss_weight is not None:
            loss = loss * self._loss_weight
        return loss.sum()

    def accumulate_gradients(self, indices: torch.Tensor, weights: torch.Tensor,
                             chunk_loss: Callable[..., torch.Tensor] | None = None) -> None:
        """Gradients of the objective on rows `(E, n)` with loss weights `(E, n)` into the
        parameters' `.grad`.

        The objective is the sum of the members' mean losses, so each member's gradient is
        its own. Large batches are processed in cache-sized column chunks whose gradients
        accumulate: the same gradient, up to float summation order. `chunk_loss` (default
        `self.chunk_loss`) is what a backend may replace by a compiled one.
        """
        chunk_loss = chunk_loss or self.chunk_loss
        chunks = self.chunks(indices.shape[1])
        prepared = self.model.prepare()  # weight-only tensors: once per step, not per chunk
        staged = len(chunks) > 1 and bool(prepared)
        # With several chunks, backward stops at detached copies of the prepared tensors and
        # their accumulated gradients flow into the weights once, in a second stage.
        leaves = (
            {k: v.detach().requires_grad_() for k, v in prepared.items()} if staged else prepared
        )
        for cols in chunks:
            chunk_loss(indices[:, cols], weights[:, cols], leaves).backward()
        if staged:
            torch.autograd.backward(list(prepared.values()), [leaves[k].grad for k in prepared])

    def stop(self, reasons: dict[int, str], step: int) -> None:
        """Members at these positions stop at `step`: their final weights are kept aside
        (`stopped`) and the live members continue as a smaller cohort, so a stopped member
        costs no more compute. Nothing mixes members, so the others train on unchanged (up to
        float summation order, since the chunks of a smaller cohort are wider)."""
        if not reasons:
            return
        weights = {name: p.detach() for name, p in self.model.named_parameters()}
        for position, rule in sorted(reasons.items()):
            self.stopped[self.ids[position]] = {
                "step": int(step), "rule": rule,
                "model": {name: w[position].clone() for name, w in weights.items()}}
        self.compact([k for k in range(self.n_members) if k not in reasons])

    def compact(self, keep: list[int]) -> None:
        """Keep the members at positions `keep`: slice every tensor with a member axis
        (weights, optimizer settings and state, masks, batch streams, output offsets)."""
        index = torch.tensor(keep, dtype=torch.long, device=self.device)
        self.ids = [self.ids[k] for k in keep]
        self.members = [self.members[k] for k in keep]
        self.masks, self.test_masks = self.masks[index], self.test_masks[index]
        if self._labels is not None:
            self._labels = self._labels[index]
        self.model.select(index)
        self.optimizer.select(index, list(self.model.parameters()))
        if not keep:  # nothing left to train
            return
        if self.stream is not None:
            self.stream.select(keep)
        else:
            self._full = full_batch(self.masks)
        self._member_axis = torch.arange(len(keep), device=self.device).unsqueeze(1)
        if self._scale is not None:
            self._scale = self._scale[index]
        if self._loss_weight is not None:
            self._loss_weight = self._loss_weight[index]
        if self._offset is not None:
            self._offset = self._offset[index]
        self._plan_evaluation()

    def objective(self, indices: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """The training objective on per-member rows `(E, n)` with loss weights `(E, n)`, in
        one differentiable pass (no chunks): what probes differentiate (sharpness)."""
        return self.chunk_loss(indices, weights, self.model.prepare())

    @torch.no_grad()
    def outputs_at(self, rows: torch.Tensor, features: bool = False) -> torch.Tensor:
        """Outputs `(E, n, C)` (or penultimate features `(E, n, d)`) at example rows, shared
        `(n,)` or per member `(E, n)`, in cache-sized chunks: what probes read."""
        prepared, n_members = self.model.prepare(), self.n_members
        parts = []
        for cols in _chunks(rows.shape[-1], n_members, budget=self._budget()):
            at = rows[..., cols]
            inputs = self.task.inputs[at]
            if at.dim() == 1:
                inputs = inputs.expand(n_members, *inputs.shape)
            if features:
                with self._autocast():
                    parts.append(self.model.features(inputs, prepared).float())
            else:
                parts.append(self._outputs(inputs, at, prepared))
        return torch.cat(parts, dim=1)

    @torch.no_grad()
    def evaluate(self, chunk: int | None = None) -> Evaluation:
        """Loss and accuracy of every member on its train and test examples, in one pass of
        cache-sized chunks (see `_plan_evaluation` for which rows are computed)."""
        n_members, prepared = self.n_members, self.model.prepare()
        loss = torch.zeros(n_members, self.task.n_examples, device=self.device)
        hit = torch.zeros_like(loss)
        shared = self._shared_rows
        for cols in _chunks(len(shared), n_members, chunk, self._budget()):
            rows = shared[cols]
            inputs, labels = self.task.inputs[rows], self._labels_at(rows)
            logits = self._outputs(inputs.expand(n_members, *inputs.shape), rows, prepared)
            loss[:, rows] = self._loss(logits, labels).to(loss.dtype)
            hit[:, rows] = self._hits(logits, labels).to(hit.dtype)
        if self._train_rows is not None:  # (E, n_max); padding columns are other rows: harmless
            for cols in _chunks(self._train_rows.shape[1], n_members, chunk,
                                self._budget()):
                rows = self._train_rows[:, cols]
                labels = self._labels_at(rows)
                logits = self._outputs(self.task.inputs[rows], rows, prepared)
                loss.scatter_(1, rows, self._loss(logits, labels).to(loss.dtype))
                hit.scatter_(1, rows, self._hits(logits, labels).to(hit.dtype))
        train, test = self.masks, self.test_masks
        return Evaluation(
            loss=loss, correct=hit,
            train_loss=_masked_mean(loss, train), train_acc=_masked_mean(hit, train),
            test_loss=_masked_mean(loss, test), test_acc=_masked_mean(hit, test),
            subsets={name: (_masked_mean(loss, mask), _masked_mean(hit, mask))
                     for name, mask in self.subsets.items()},
        )

    def state_dict(self) -> dict:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "stream": self.stream.state_dict() if self.stream else None,
            "ids": list(self.ids),
            "stopped": self.stopped,
        }

    def mismatch(self, state: dict) -> str | None:
        """Why a checkpoint's weights cannot be this cohort's (another width, depth or task
        size: a file copied from another run), or None. Member axes aside, since a checkpoint
        of a compacted cohort holds fewer members."""
        saved = state.get("model") if isinstance(state, dict) else None
        if not isinstance(saved, dict):
            return "it holds no model weights"
        own = self.model.state_dict()
        if set(saved) != set(own):
            names = sorted(set(saved) ^ set(own))
            return f"its parameters differ ({', '.join(names[:3])})"
        for name, tensor in own.items():
            other = saved[name]
            if not isinstance(other, torch.Tensor) or tuple(other.shape[1:]) != tuple(
                    tensor.shape[1:]):
                shape = tuple(other.shape) if isinstance(other, torch.Tensor) else type(other)
                return f"{name} has shape {shape}, this config's model {tuple(tensor.shape)}"
        return None

    def load_state_dict(self, state: dict) -> None:
        """Restore a checkpoint into a cohort freshly built from the same config: first
        compacted to the checkpoint's live members, then loaded. A checkpoint of another
        model is refused in one line."""
        wrong = self.mismatch(state)
        if wrong:
            raise ConfigError(f"run: checkpoint.pt does not belong to this run's model ({wrong});"
                              " `grokscope doctor --repair` moves it aside (the run restarts "
                              "from step 0), or retrain with --overwrite")
        ids = [int(k) for k in state.get("ids", range(self.n_members))]
        if ids != self.ids:
            position = {member: k for k, member in enumerate(self.ids)}
            self.compact([position[member] for member in ids])
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.stream is not None:
            self.stream.load_state_dict(state["stream"])
        self.stopped = {int(k): v for k, v in state.get("stopped", {}).items()}
        frozen = [int(k) for k in state.get("frozen", [])]  # grokscope <= 0.3: frozen in place
        if frozen:
            self.stop({k: "diverged" for k in frozen}, self.optimizer.t)
