"""Probe settings: which measurements a run takes and on which schedule.

Each probe is one entry of the experiment's `probes:` list, tagged by `name`. Its schedule is
`every: N` steps or `per_decade: K` log-spaced steps (K points per factor of 10; step 0 and
the last step always included). Without either, cheap probes follow `train.log_every` and
costly ones take 10 points per decade.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, model_validator

from grokscope.registry import Registry
from grokscope.schema import Seed, Strict

Sparsity = Annotated[float, Field(gt=0, lt=1)]


class ProbeSpec(Strict):

    every: Annotated[int, Field(ge=1)] | None = None
    per_decade: Annotated[int, Field(ge=1, le=1000)] | None = None
    COSTLY: ClassVar[bool] = False  # class default: costly probes default to a log-spaced schedule

    @model_validator(mode="after")
    def _one_schedule(self) -> ProbeSpec:
        if self.every is not None and self.per_decade is not None:
            raise ValueError("give one schedule: every or per_decade, not both")
        return self


class WeightNormProbe(ProbeSpec):
    """L2 norms: total, per parameter, and of the readout (Omnigrok; Thilak et al. 2022)."""

    name: Literal["weight_norm"] = "weight_norm"


class GroupProbe(ProbeSpec):
    """Accuracy and loss per group of test (or train) examples: per operand, per subclass."""

    name: Literal["groups"] = "groups"
    groups: list[str] | None = None  # None: every group the task provides
    split: Literal["test", "train"] = "test"


class FourierProbe(ProbeSpec):
    """Power spectrum of the token embedding over Z_p (Nanda et al. 2023), modular tasks."""

    name: Literal["fourier"] = "fourier"
    top_k: Annotated[int, Field(ge=1)] = 5


class CircuitProbe(ProbeSpec):
    """Restricted and excluded loss (Nanda et al. 2023) of a modular-addition model."""

    name: Literal["circuit"] = "circuit"
    top_k: Annotated[int, Field(ge=1)] = 5
    key_freqs: list[Annotated[int, Field(ge=1)]] | None = None  # None: each member's top_k
    COSTLY: ClassVar[bool] = True


class SharpnessProbe(ProbeSpec):
    """Top Hessian eigenvalue of the training loss (power iteration); optional trace."""

    name: Literal["sharpness"] = "sharpness"
    iterations: Annotated[int, Field(ge=1)] = 20
    trace_samples: Annotated[int, Field(ge=0)] = 0  # Hutchinson probes; 0: no trace
    max_examples: Annotated[int, Field(ge=1)] = 4096  # per member, a fixed subset
    seed: Seed = 0
    COSTLY: ClassVar[bool] = True


class RepresentationProbe(ProbeSpec):
    """Effective rank of the penultimate representation; softmax-collapse fraction."""

    name: Literal["representation"] = "representation"
    max_examples: Annotated[int, Field(ge=2)] = 2048
    COSTLY: ClassVar[bool] = True


class NumericsProbe(ProbeSpec):
    """Softmax collapse and zero loss terms on training examples (Prieto et al. 2025)."""

    name: Literal["numerics"] = "numerics"
    dtype: Literal["float16", "float32", "float64"] | None = None  # None: train.loss_dtype
    max_examples: Annotated[int, Field(ge=1)] = 4096  # per member, a fixed subset


class PruningProbe(ProbeSpec):
    """Test accuracy after magnitude pruning to each sparsity (lottery-ticket view)."""

    name: Literal["pruning"] = "pruning"
    sparsities: Annotated[list[Sparsity], Field(min_length=1)] = [0.5, 0.8, 0.9]
    COSTLY: ClassVar[bool] = True


class ShiftProbe(ProbeSpec):
    """MMD between each member's train and test representations (and inputs)."""

    name: Literal["shift"] = "shift"
    max_examples: Annotated[int, Field(ge=2)] = 500
    COSTLY: ClassVar[bool] = True


class AbsErrorProbe(ProbeSpec):
    """Regression: mean absolute error on each member's test and train examples (the L1
    risk Heckel & Yilmaz 2021 plot), read from the evaluation's squared errors."""

    name: Literal["abs_error"] = "abs_error"


class NeuronFourierProbe(ProbeSpec):
    """Fourier IPR and Gini of each neuron's input weights over the p tokens (Gromov 2023;
    Doshi et al. 2024): how sparse, neuron by neuron, the learned frequencies are."""

    name: Literal["neuron_fourier"] = "neuron_fourier"
    power: Annotated[int, Field(ge=1)] = 2  # r of IPR = sum (a / |a|_2)^(2r)


class LocalComplexityProbe(ProbeSpec):
    """Local complexity (Humayun et al. 2024): how many neurons change sign within a small
    neighbourhood of each input, i.e. how many linear-region boundaries pass nearby."""

    name: Literal["local_complexity"] = "local_complexity"
    points: Annotated[int, Field(ge=2)] = 50  # vertices x +- r u_i of the neighbourhood
    radius: Annotated[float, Field(gt=0)] = 0.01  # r, relative to the mean input norm
    max_examples: Annotated[int, Field(ge=1)] = 256  # per member, a fixed subset
    split: Literal["test", "train"] = "test"
    seed: Seed = 0
    COSTLY: ClassVar[bool] = True


class CentroidAlignmentProbe(ProbeSpec):
    """Centroid alignment (GrokAlign, Humayun et al. 2025): mean cosine between each input
    and the gradient of the summed outputs at it."""

    name: Literal["centroid_alignment"] = "centroid_alignment"
    max_examples: Annotated[int, Field(ge=1)] = 1024
    split: Literal["test", "train"] = "test"


@dataclass(frozen=True)
class ProbeEntry:
    """A registered probe: its settings class, its measurement and its pre-flight check,
    each a callable or a `"module:function"` path imported when a run first needs it."""

    config: type[ProbeSpec]
    measure: str | Callable[..., Any]  # (context, spec, evaluate) -> {name: (E,) | (E, k)}
    check: str | Callable[..., Any] | None = None  # (context, spec, where) -> None or raise

    @staticmethod
    def _resolve(target: str | Callable[..., Any]) -> Callable[..., Any]:
        if callable(target):
            return target
        module, name = target.split(":")
        return getattr(import_module(module), name)

    def measure_fn(self) -> Callable[..., Any]:
        return self._resolve(self.measure)

    def check_fn(self) -> Callable[..., Any] | None:
        return None if self.check is None else self._resolve(self.check)

    def __call__(self, context: Any, spec: ProbeSpec, evaluate: Any) -> Any:
        """Measure: `{name: (E,) or (E, k) tensor}`."""
        return self.measure_fn()(context, spec, evaluate)


PROBES: Registry[ProbeEntry] = Registry("probe")


def register_probe(name: str, description: str, measure: str | Callable[..., Any],
                   check: str | Callable[..., Any] | None = None
                   ) -> Callable[[type[ProbeSpec]], type[ProbeSpec]]:
    """Decorator on a probe's settings class (a ProbeSpec with a `name` literal); the
    experiment schema's `probes` list then accepts it."""

    def add(config: type[ProbeSpec]) -> type[ProbeSpec]:
        PROBES.register(name, description)(ProbeEntry(config, measure, check))
        return config

    return add


_M = "grokscope.probes.measure"
_BUILTIN: list[tuple[type[ProbeSpec], str, str | None]] = [
    (WeightNormProbe, "L2 norms: total, per parameter, and of the readout (Omnigrok; Thilak "
     "et al. 2022)", None),
    (GroupProbe, "accuracy and loss per group of test (or train) examples: per operand, per "
     "subclass", "_check_groups"),
    (FourierProbe, "power spectrum of the token embedding over Z_p and its key frequencies "
     "(Nanda et al. 2023)", "_check_fourier"),
    (CircuitProbe, "restricted and excluded loss of the a+b Fourier circuit (Nanda et al. "
     "2023)", "_check_circuit"),
    (SharpnessProbe, "top Hessian eigenvalue of the training loss (power iteration); "
     "optional Hutchinson trace", None),
    (RepresentationProbe, "effective rank of the penultimate representation; softmax "
     "collapse", "_check_representation"),
    (NumericsProbe, "softmax collapse and zero loss terms on training examples, in a chosen "
     "precision (Prieto et al. 2025)", None),
    (PruningProbe, "test accuracy after magnitude pruning to each sparsity (lottery "
     "tickets)", None),
    (ShiftProbe, "MMD^2 between each member's train and test representations", None),
    (AbsErrorProbe, "regression: mean absolute error on test and train examples (the L1 "
     "risk of Heckel & Yilmaz 2021)", "_check_regression"),
]
# compression and complexity measures (grokscope.probes.compression)
_COMPRESSION: list[tuple[type[ProbeSpec], str, str]] = [
    (NeuronFourierProbe, "Fourier IPR and Gini of each neuron's input weights over the p "
     "tokens (Gromov 2023; Doshi et al. 2024)", "check_neuron_fourier"),
    (LocalComplexityProbe, "neurons whose pre-activation changes sign near each input "
     "(local complexity, Humayun et al. 2024)", "check_input_space"),
    (CentroidAlignmentProbe, "cosine between each input and the gradient of the summed "
     "outputs (centroid alignment, GrokAlign 2025)", "check_input_space"),
]
for _config, _description, _check in _BUILTIN:
    _name = _config.model_fields["name"].default
    register_probe(_name, _description, f"{_M}:_{_name}",
                   f"{_M}:{_check}" if _check else None)(_config)
_C = "grokscope.probes.compression"
for _config, _description, _check in _COMPRESSION:
    _name = _config.model_fields["name"].default
    register_probe(_name, _description, f"{_C}:{_name}_probe", f"{_C}:{_check}")(_config)


ProbeConfig = Annotated[
    WeightNormProbe | GroupProbe | FourierProbe | CircuitProbe | SharpnessProbe
    | RepresentationProbe | NumericsProbe | PruningProbe | ShiftProbe | AbsErrorProbe
    | NeuronFourierProbe
    | LocalComplexityProbe | CentroidAlignmentProbe,
    Field(discriminator="name")]  # rebuilt from the registry when a probe is registered
PROBE_CONFIGS: dict[str, type[ProbeSpec]] = {
    name: PROBES.get(name).config for name in PROBES.in_order()}
