"""A published figure redrawn: one panel per setting, mean and band over seeds."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402

from grokscope.store.metrics import split_matrix  # noqa: E402


def plot_settings(table: pa.Table, members: list[dict], events: list[dict], path: Path,
                  title: str = "") -> Path:
    """Test accuracy (solid) and train accuracy (dashed), mean over seeds with a +-1 std band
    (Carvalho et al. 2025's layout), per setting; where the split has under-sampled
    subclasses, their test accuracy is dotted. A vertical line marks the median generalization
    step alpha1 of the members judged `grokked`."""
    steps, test = split_matrix(table, "test")
    _, train = split_matrix(table, "train")
    under = (split_matrix(table, "test/undersampled")[1]
             if "test/undersampled" in set(table["split"].unique().to_pylist()) else None)
    order = list(dict.fromkeys(m["setting"] for m in members))
    ncols = min(4, len(order))
    nrows = math.ceil(len(order) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.3 * nrows), squeeze=False,
                             sharex=True, sharey=True, constrained_layout=True)
    keep = steps >= min(100, steps.max())  # the paper's plots start at step 100
    for ax, setting in zip(axes.flat, order, strict=False):
        idx = [i for i, m in enumerate(members) if m["setting"] == setting]
        _band(ax, steps[keep], test[keep][:, idx], "C0", "test")
        _band(ax, steps[keep], train[keep][:, idx], "C1", "train", ls="--")
        if under is not None:
            _band(ax, steps[keep], under[keep][:, idx], "C3", "test, under-sampled", ls=":")
        grokked = [events[i]["alpha1"] for i in idx if events[i]["verdict"] == "grokked"]
        if grokked:
            ax.axvline(float(np.median(grokked)), color="k", lw=0.8, alpha=0.6)
        label = members[idx[0]]["label"]
        ax.set_title(f"{label}  (grokked {len(grokked)}/{len(idx)})", fontsize=10)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(order):]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("step")
    for ax in axes[:, 0]:
        ax.set_ylabel("accuracy")
    axes.flat[0].legend(fontsize=8, loc="lower right")
    if title:
        fig.suptitle(title)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _band(ax: plt.Axes, steps: np.ndarray, values: np.ndarray, color: str, label: str,
          ls: str = "-") -> None:
    mean, std = np.nanmean(values, 1), np.nanstd(values, 1)
    ax.plot(steps, mean, color=color, ls=ls, lw=1.4, label=label)
    if values.shape[1] > 1:
        ax.fill_between(steps, mean - std, np.minimum(mean + std, 1.0), color=color, alpha=0.2,
                        lw=0)


def plot_shift(rows_by_figure: dict[str, list[dict]], path: Path) -> Path:
    """Measured train/test shift against what the member learned, over every member of every
    figure: MMD² on the inputs (x) vs final test accuracy overall (left) and on the
    under-sampled subclasses (right); colour = f. The paper varies the shift but never
    measures it: this is the measurement."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True, sharex=True)
    markers = "osD^vP*X"
    scatter = None
    for k, (name, rows) in enumerate(rows_by_figure.items()):
        rows = [r for r in rows if r.get("shift_mmd") not in (None, "")]
        if not rows:
            continue
        x = np.array([float(r["shift_mmd"]) for r in rows])
        f = np.array([float(r["f"]) for r in rows])
        for ax, key in zip(axes, ("final_test_acc", "final_undersampled_acc"), strict=True):
            y = np.array([float(r[key]) if r.get(key) not in (None, "") else np.nan
                          for r in rows])
            scatter = ax.scatter(x, y, c=f, cmap="viridis", vmin=0, vmax=1, s=18, alpha=0.7,
                                 marker=markers[k % len(markers)], label=name)
    axes[0].set(xlabel="shift: MMD² (train vs test inputs)", ylabel="final test accuracy",
                title="all test subclasses")
    axes[1].set(xlabel="shift: MMD² (train vs test inputs)", title="under-sampled subclasses")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.ticklabel_format(axis="x", style="sci", scilimits=(-2, 2))
    axes[0].legend(fontsize=8)
    if scatter is not None:
        fig.colorbar(scatter, ax=axes, label="f (imbalance factor)")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
