"""The vectorized optimizer: a chain of per-member transforms (see `base`), the links
(`transforms`), and AdamW and SGD built from them (`alias`)."""

from grokscope.training.optim.alias import CohortAdamW, CohortSGD, adamw, sgd
from grokscope.training.optim.base import Chain, CohortOptimizer, Transform, chain, per_member
from grokscope.training.optim.transforms import (
    AddDecayedWeights,
    ClipByMemberNorm,
    DecoupledWeightDecay,
    ScaleByAdam,
    ScaleByLearningRate,
    Trace,
    clip_by_member_norm,
)

__all__ = ["AddDecayedWeights", "Chain", "ClipByMemberNorm", "CohortAdamW", "CohortOptimizer",
           "CohortSGD", "DecoupledWeightDecay", "ScaleByAdam", "ScaleByLearningRate", "Trace",
           "Transform", "adamw", "chain", "clip_by_member_norm", "per_member", "sgd"]
