"""Experiment configuration: the schema (`schema`), dotted paths (`paths`) and what makes two
runs the same run (`identity`). Torch-free: a bad file fails before torch is imported."""

from grokscope.config.schema import MODELS as MODELS
from grokscope.config.schema import (
    TAGGED,
    TASK_CONFIGS,
    Beta,
    CohortConfig,
    DetectConfig,
    ExperimentConfig,
    Fraction,
    MLPConfig,
    MnistSubclassTaskConfig,
    MnistTaskConfig,
    ModularTaskConfig,
    OptimConfig,
    PermutationTaskConfig,
    PolynomialTaskConfig,
    PoolSplitConfig,
    PositiveFloat,
    RandomTableTaskConfig,
    SparseParityTaskConfig,
    SplitConfig,
    SubclassShiftSplitConfig,
    SubclassTaskConfig,
    TaskConfig,
    TrainConfig,
    TransformerConfig,
    UniformSplitConfig,
    UnitFloat,
    apply_overrides,
    dump_config,
    load_config,
    parse_config,
    set_dotted,
)

__all__ = [
    "MODELS", "TAGGED", "TASK_CONFIGS", "Beta", "CohortConfig", "DetectConfig",
    "ExperimentConfig", "Fraction", "MLPConfig", "MnistSubclassTaskConfig", "MnistTaskConfig",
    "ModularTaskConfig", "OptimConfig", "PermutationTaskConfig", "PolynomialTaskConfig",
    "PoolSplitConfig", "PositiveFloat", "RandomTableTaskConfig", "SparseParityTaskConfig",
    "SplitConfig", "SubclassShiftSplitConfig", "SubclassTaskConfig", "TaskConfig",
    "TrainConfig", "TransformerConfig", "UniformSplitConfig", "UnitFloat", "apply_overrides",
    "dump_config", "load_config", "parse_config", "set_dotted",
]
