"""A forecast of late generalization: P(groks within the budget) and an estimate of alpha1.

From the progress measures of a member's history so far (`online.progress`): test accuracy
and its recent gain, the relative change of the test and train losses and of the total
weight norm over the last stretch of log-time (the delay laws of next.md §1 tie the delay to
the norm's decay), the training loss's activity (Notsawo et al. 2023), the time since
memorization (t / alpha0), the budget left (budget / t), and the recent trends carried
over the budget left (the norm, test loss and test accuracy they would reach). A logistic
model gives the probability, a linear model of log(alpha1 / t) the ETA; both are fitted on
the fit half of the stopping corpus by `benchmarks/stopping.py --fit`, shipped as
`forecast.json`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from importlib import resources

import numpy as np

from grokscope.config import DetectConfig
from grokscope.detection.online import History, progress

FEATURES = ("test_acc", "test_gain", "test_loss_change", "train_loss_change", "norm_change",
            "activity", "log_t_over_alpha0", "log_budget_over_t", "projected_norm_change",
            "projected_test_loss_change", "projected_test_gain")


def features(h: History, cfg: DetectConfig) -> np.ndarray | None:
    """The feature vector at the history's last log, or None before memorization (no
    forecast is made for a member that has not fitted its training set)."""
    p = progress(h, cfg)
    if p.alpha0 is None or p.step <= 0:
        return None
    # the recent trends carried over the budget left: what they would reach by its end
    left = max(h.budget - p.step, 0) / max(p.step / 2, 1)
    values = [p.test_acc, p.test_gain, p.test_loss_change, p.train_loss_change,
              p.norm_change, p.activity, math.log(max(p.step, 1) / max(p.alpha0, 1)),
              math.log(max(h.budget, 1) / max(p.step, 1)), p.norm_change * left,
              p.test_loss_change * left, p.test_gain * left]
    return np.nan_to_num(np.asarray(values, np.float64), nan=0.0, posinf=0.0, neginf=0.0)


@dataclass
class Forecast:
    """Fitted coefficients: the probability model (`weights`, `bias`) and the ETA model
    (`eta_weights`, `eta_bias`) over standardized features (`mean`, `scale`)."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float
    eta_weights: np.ndarray
    eta_bias: float
    source: str = ""

    def predict(self, x: np.ndarray, step: int) -> tuple[float, float]:
        """(P(groks within the budget), estimated alpha1 in steps) from one feature vector."""
        z = (x - self.mean) / self.scale
        p = 1.0 / (1.0 + math.exp(-float(np.clip(z @ self.weights + self.bias, -30, 30))))
        eta = step * math.exp(max(0.0, float(z @ self.eta_weights + self.eta_bias)))
        return p, eta

    def to_json(self) -> dict:
        return {"features": list(FEATURES), "mean": self.mean.tolist(),
                "scale": self.scale.tolist(), "weights": self.weights.tolist(),
                "bias": self.bias, "eta_weights": self.eta_weights.tolist(),
                "eta_bias": self.eta_bias, "source": self.source}

    @classmethod
    def from_json(cls, data: dict) -> Forecast:
        if list(data["features"]) != list(FEATURES):
            raise ValueError(f"forecast: features {data['features']} are not {list(FEATURES)}")
        arr = {k: np.asarray(data[k], np.float64)
               for k in ("mean", "scale", "weights", "eta_weights")}
        return cls(arr["mean"], arr["scale"], arr["weights"], float(data["bias"]),
                   arr["eta_weights"], float(data["eta_bias"]), data.get("source", ""))


def shipped() -> Forecast:
    """The forecast fitted on the stopping corpus (`grokscope/detection/forecast.json`)."""
    text = resources.files("grokscope.detection").joinpath("forecast.json").read_text()
    return Forecast.from_json(json.loads(text))


def fit(x: np.ndarray, grokked: np.ndarray, log_ratio: np.ndarray, eta_rows: np.ndarray,
        l2: float = 1e-2, source: str = "") -> Forecast:
    """Fit both models: logistic regression by Newton's method (L2 `l2`) on `(n, k)` samples
    `x` with labels `grokked`; least squares of `log_ratio` = log(alpha1 / t) on the rows
    `eta_rows` (samples of members that grokked, taken before alpha1)."""
    mean, scale = x.mean(0), x.std(0)
    scale[scale < 1e-9] = 1.0
    z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    y = grokked.astype(np.float64)
    w = np.zeros(z.shape[1])
    ridge = l2 * np.eye(z.shape[1])
    ridge[-1, -1] = 0.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ w, -30, 30)))
        grad = z.T @ (p - y) + ridge @ w
        hess = (z * (p * (1 - p))[:, None]).T @ z + ridge + 1e-9 * np.eye(len(w))
        delta = np.linalg.solve(hess, grad)
        w -= delta
        if np.abs(delta).max() < 1e-8:
            break
    ze = z[eta_rows]
    if len(ze) >= z.shape[1]:
        v = np.linalg.lstsq(ze.T @ ze + ridge, ze.T @ log_ratio[eta_rows], rcond=None)[0]
    else:
        v = np.zeros(z.shape[1])
    return Forecast(mean, scale, w[:-1], float(w[-1]), v[:-1], float(v[-1]), source)


def auroc(scores: np.ndarray, labels: np.ndarray) -> float | None:
    """Area under the ROC curve (the rank statistic, ties counted half); None when one class
    is missing."""
    labels = labels.astype(bool)
    pos, neg = scores[labels], scores[~labels]
    if len(pos) == 0 or len(neg) == 0:
        return None
    order = np.argsort(np.concatenate([pos, neg]), kind="mergesort")
    ranks = np.empty(len(order))
    values = np.concatenate([pos, neg])[order]
    ranks[order] = np.arange(1, len(order) + 1)
    for v in np.unique(values):  # average ranks of ties
        tied = np.concatenate([pos, neg]) == v
        ranks[tied] = ranks[tied].mean()
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))
