"""The vectorized optimizer: a chain of per-member transforms (see `base`), the links
(`transforms`; Grokfast's filters in `grokfast`; ⊥Grad and the norm constraint in
`geometry`), and AdamW, Adam and SGD built from them (`alias`)."""

from grokscope.training.optim.alias import OPTIMIZERS, CohortAdamW, CohortSGD, adam, adamw, sgd
from grokscope.training.optim.base import (
    Chain,
    CohortOptimizer,
    Masked,
    Transform,
    chain,
    per_member,
)
from grokscope.training.optim.geometry import NormConstraint, PerpGrad, member_norms
from grokscope.training.optim.grokfast import GrokfastEMA, GrokfastMA
from grokscope.training.optim.transforms import (
    AddDecayedWeights,
    ClipByMemberNorm,
    DecoupledWeightDecay,
    ScaleByAdam,
    ScaleByLearningRate,
    Trace,
    clip_by_member_norm,
)

__all__ = ["OPTIMIZERS", "AddDecayedWeights", "Chain", "ClipByMemberNorm", "CohortAdamW",
           "CohortOptimizer", "CohortSGD", "DecoupledWeightDecay", "GrokfastEMA", "GrokfastMA",
           "Masked", "NormConstraint", "PerpGrad", "ScaleByAdam", "ScaleByLearningRate", "Trace",
           "Transform", "adam", "adamw", "chain", "clip_by_member_norm", "member_norms",
           "per_member", "sgd"]
