"""The optimizer as a chain of small, stateful, per-member transforms (the optax model).

A transform has `init(params) -> state` and `update(updates, state, params, step) ->
(updates, state)`; every tensor keeps the member axis first and per-member settings are
`(E,)` tensors. `chain(...)` composes links; `CohortOptimizer` feeds the gradients through
the chain and adds the result to the parameters. The step counter is a tensor, and the state
of every link is saved and restored generically, so a new link (an EMA filter, a window of
past gradients) resumes bit-identically with no code of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import torch

State = dict[str, Any]  # tensors, lists of tensors, nested states


def per_member(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """`(E,)` values viewed as `(E, 1, ..., 1)` to broadcast against a stacked parameter."""
    return values.view(-1, *[1] * (like.dim() - 1))


class Transform(Protocol):
    """A link. It may also define `after_step(params, state, step)`, called once the update
    has been added to the parameters: a projection of the weights themselves (Omnigrok's
    norm constraint) rather than of the update."""

    def init(self, params: list[torch.Tensor]) -> State: ...

    def update(self, updates: list[torch.Tensor], state: State, params: list[torch.Tensor],
               step: torch.Tensor) -> tuple[list[torch.Tensor], State]: ...


def after_step(link: Any, params: list[torch.Tensor], state: State, step: torch.Tensor) -> None:
    """Run a link's `after_step` hook, if it has one."""
    hook = getattr(link, "after_step", None)
    if hook is not None:
        hook(params, state, step)


class Masked:
    """A link applied to some members only: the others' updates (and, for an `after_step`
    link, their weights) pass through bit for bit. What lets one cohort hold a baseline and
    several methods side by side. `mask` is a `(E,)` bool tensor."""

    def __init__(self, link: Transform, mask: torch.Tensor) -> None:
        self.link, self.mask = link, mask

    def init(self, params: list[torch.Tensor]) -> State:
        return self.link.init(params)

    def update(self, updates: list[torch.Tensor], state: State, params: list[torch.Tensor],
               step: torch.Tensor) -> tuple[list[torch.Tensor], State]:
        out, state = self.link.update(updates, state, params, step)
        return [torch.where(per_member(self.mask, u), o, u)
                for o, u in zip(out, updates, strict=True)], state

    def after_step(self, params: list[torch.Tensor], state: State, step: torch.Tensor) -> None:
        if getattr(self.link, "after_step", None) is None:
            return
        rows = (~self.mask).nonzero().squeeze(1)
        kept = [p[rows].clone() for p in params]
        after_step(self.link, params, state, step)
        for p, value in zip(params, kept, strict=True):
            p[rows] = value


class Chain:
    """Links applied in order; the state of link k is `state[str(k)]`."""

    def __init__(self, links: Sequence[Transform]) -> None:
        self.links = list(links)

    def init(self, params: list[torch.Tensor]) -> State:
        return {str(k): link.init(params) for k, link in enumerate(self.links)}

    def update(self, updates: list[torch.Tensor], state: State, params: list[torch.Tensor],
               step: torch.Tensor) -> tuple[list[torch.Tensor], State]:
        for k, link in enumerate(self.links):
            updates, state[str(k)] = link.update(updates, state[str(k)], params, step)
        return updates, state

    def after_step(self, params: list[torch.Tensor], state: State, step: torch.Tensor) -> None:
        for k, link in enumerate(self.links):
            after_step(link, params, state[str(k)], step)


def chain(*links: Transform) -> Chain:
    return Chain(links)


def select_link(link: Any, keep: torch.Tensor, done: dict[int, Any] | None = None) -> None:
    """Keep members `keep` of a link's per-member settings, in place.

    Settings that may differ per member are `(E,)` tensors (this module's contract), so every
    tensor attribute with a member axis is sliced, and so is each tensor of a list of them
    (a pruning link's masks); nested links (a `Masked` link, a chain's links) are sliced in
    turn. A tensor two links share (Adam's beta1 is also the step
    size's bias correction), or a link two links hold (AdamW's decay reads the step size's
    link), is sliced once: `done` maps each original to its slice, and holds visited links."""
    done = {} if done is None else done
    if id(link) in done:
        return
    done[id(link)] = link
    for name, value in list(vars(link).items()):
        if isinstance(value, torch.Tensor) and value.dim() > 0:
            if id(value) not in done:
                done[id(value)] = value[keep]
            setattr(link, name, done[id(value)])
        elif hasattr(value, "update") and hasattr(value, "init"):
            select_link(value, keep, done)
        elif isinstance(value, list) and value and all(hasattr(v, "update") for v in value):
            for item in value:
                select_link(item, keep, done)
        elif isinstance(value, list) and any(isinstance(v, torch.Tensor) for v in value):
            # per-parameter tensors with a member axis (a pruning link's masks); None: unset
            setattr(link, name, [v[keep] if isinstance(v, torch.Tensor) and v.dim() > 0 else v
                                 for v in value])


def select_state(state: Any, keep: torch.Tensor) -> Any:
    """The same state with members `keep` only: every tensor with a member axis is sliced
    (the step counters and other scalars are shared by the members and stay)."""
    if isinstance(state, torch.Tensor):
        return state[keep].clone() if state.dim() > 0 else state
    if isinstance(state, dict):
        return {k: select_state(v, keep) for k, v in state.items()}
    if isinstance(state, list | tuple):
        return [select_state(v, keep) for v in state]
    return state


def _tensors(state: Any) -> list[torch.Tensor]:
    if isinstance(state, torch.Tensor):
        return [state]
    if isinstance(state, dict):
        return [t for key in sorted(state) for t in _tensors(state[key])]
    if isinstance(state, list | tuple):
        return [t for item in state for t in _tensors(item)]
    return []


def _restore(target: Any, saved: Any, where: str = "state") -> Any:
    """Copy `saved` into `target` tensor by tensor (same structure), keeping devices."""
    if isinstance(target, torch.Tensor):
        target.copy_(saved)
        return target
    if isinstance(target, dict):
        if set(target) != set(saved):
            raise ValueError(f"optimizer {where}: keys {sorted(saved)} do not match "
                             f"{sorted(target)}")
        return {k: _restore(target[k], saved[k], f"{where}.{k}") for k in target}
    if isinstance(target, list | tuple):
        if len(target) != len(saved):
            raise ValueError(f"optimizer {where}: {len(saved)} entries, expected {len(target)}")
        pairs = enumerate(zip(target, saved, strict=True))
        return [_restore(t, s, f"{where}.{i}") for i, (t, s) in pairs]
    return saved


class CohortOptimizer:
    """Stacked parameters `(E, ...)` trained by one transform chain: one step, all members.

    The links read the step number as a 0-d float tensor on the parameters' device, never as
    a Python int, so a compiled update could be one graph for every step (no compile backend
    exists yet); `step_count` (int64, on the CPU) is what `t` and checkpoints read without a
    device sync.
    """

    def __init__(self, params: Sequence[torch.nn.Parameter], transform: Transform) -> None:
        self.params: list[torch.Tensor] = list(params)
        self.transform = transform
        self.state = transform.init(self.params)
        self.step_count = torch.zeros((), dtype=torch.int64)
        device = self.params[0].device if self.params else torch.device("cpu")
        self.step_value = torch.zeros((), dtype=torch.float32, device=device)

    @property
    def t(self) -> int:
        """Updates done so far (the 1-based index of the last one)."""
        return int(self.step_count)

    @t.setter
    def t(self, value: int) -> None:
        self.step_count.fill_(value)
        self.step_value.fill_(value)

    @torch.no_grad()
    def step(self) -> None:
        self.step_count += 1
        self.step_value += 1
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in self.params]
        self.apply(grads, self.step_value)

    def apply(self, grads: list[torch.Tensor], step: torch.Tensor) -> None:
        """Feed the gradients through the chain and add the result to the parameters: the
        pure part of an update, apart from the step counting."""
        updates, self.state = self.transform.update(grads, self.state, self.params, step)
        for p, u in zip(self.params, updates, strict=True):
            p.add_(u)
        after_step(self.transform, self.params, self.state, step)

    def select(self, keep: torch.Tensor, params: Sequence[torch.nn.Parameter]) -> None:
        """Keep members `keep` (indices): the chain's settings and state, on the new
        (sliced) parameters."""
        self.params = list(params)
        select_link(self.transform, keep)
        self.state = select_state(self.state, keep)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def member_tensors(self) -> list[torch.Tensor]:
        """Every state tensor with a member axis (what freezing a member must keep)."""
        return [t for t in _tensors(self.state) if t.dim() > 0]

    def current_lr(self) -> torch.Tensor:
        """The learning rate `(E,)` of the last step, from the chain's scale-by-lr link."""
        links = getattr(self.transform, "links", [self.transform])
        for link in links:
            if hasattr(link, "rate"):
                return link.rate(self.step_count)
        raise AttributeError("this optimizer has no learning-rate link")

    def state_dict(self) -> dict[str, Any]:
        return {"t": self.step_count, "links": self.state}

    def load_state_dict(self, saved: dict[str, Any]) -> None:
        if "links" not in saved:
            saved = _legacy(saved, self.state)
        self.step_count.copy_(torch.as_tensor(saved["t"]))
        self.step_value.fill_(int(self.step_count))
        self.state = _restore(self.state, saved["links"])


def _legacy(saved: dict[str, Any], state: State) -> dict[str, Any]:
    """A checkpoint of grokscope <= 0.1 (`t`, `exp_avg`, `exp_avg_sq` or `buffers` at the
    top): the same tensors, placed into the links that now hold them."""
    links: State = {}
    for key, link_state in state.items():
        links[key] = {name: saved[name] if name in saved else value
                      for name, value in link_state.items()}
    return {"t": saved["t"], "links": links}
