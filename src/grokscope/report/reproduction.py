"""A published figure redrawn: one panel per setting, mean and band over seeds."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402

from grokscope.store.atomic import save_figure  # noqa: E402
from grokscope.store.metrics import split_matrix  # noqa: E402


def plot_settings(table: pa.Table, members: list[dict], events: list[dict], path: Path,
                  title: str = "", loss: bool = False, log_x: bool = False) -> Path:
    """Test accuracy (solid) and train accuracy (dashed), mean over seeds with a +-1 std band
    (Carvalho et al. 2025's layout), per setting; where the split has under-sampled
    subclasses, their test accuracy is dotted. Vertical lines mark the median memorization
    step alpha0 (dotted) and generalization step alpha1 (solid) of the members judged
    `grokked`. `loss` adds a loss panel (log scale, median and min-max band) under each."""
    # one figure, panel by panel: splitting it would pass the same axes and colours around
    steps, test = split_matrix(table, "test")
    _, train = split_matrix(table, "train")
    names = set(table["split"].unique().to_pylist())
    under = split_matrix(table, "test/undersampled")[1] if "test/undersampled" in names else None
    order = list(dict.fromkeys(m["setting"] for m in members))
    ncols = min(4, len(order))
    nrows = math.ceil(len(order) / ncols)
    per = 2 if loss else 1
    width = max(4.2 * ncols, 6.4)
    fig, axes = plt.subplots(nrows * per, ncols, figsize=(width, 3.3 * nrows * per),
                             squeeze=False, sharex=True, constrained_layout=True)
    # log x: step 0 cannot be shown; linear: the paper's plots start at step 100
    keep = steps > 0 if log_x else steps >= min(100, steps.max())
    losses = ({s: split_matrix(table, s, "loss")[1] for s in ("train", "test")} if loss else {})
    for k, setting in enumerate(order):
        ax = axes[(k // ncols) * per, k % ncols]
        idx = [i for i, m in enumerate(members) if m["setting"] == setting]
        _band(ax, steps[keep], test[keep][:, idx], "C0", "test")
        _band(ax, steps[keep], train[keep][:, idx], "C1", "train", ls="--")
        if under is not None:
            _band(ax, steps[keep], under[keep][:, idx], "C3", "test, under-sampled", ls=":")
        grokked = [i for i in idx if events[i]["verdict"] == "grokked"]
        marks = _mark_events(ax, [events[i] for i in grokked])
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(f"{members[idx[0]]['label']}  (grokked {len(grokked)}/{len(idx)})",
                     fontsize=10)
        if loss:
            lax = axes[(k // ncols) * per + 1, k % ncols]
            _band_log(lax, steps[keep], losses["test"][keep][:, idx], "C0", "test loss")
            _band_log(lax, steps[keep], losses["train"][keep][:, idx], "C1", "train loss",
                      ls="--")
            _mark_events(lax, [events[i] for i in grokked])
            lax.set_yscale("log")
            lax.set_ylabel("loss")
        for a in axes[(k // ncols) * per: (k // ncols) * per + per, k % ncols]:
            a.grid(alpha=0.3)
            if log_x:
                a.set_xscale("log")
        if k == 0 and marks:
            ax.legend(fontsize=8, loc="lower right")
    for k in range(len(order), nrows * ncols):
        for a in axes[(k // ncols) * per: (k // ncols) * per + per, k % ncols]:
            a.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("step")
    for r in range(0, nrows * per, per):
        axes[r, 0].set_ylabel("accuracy")
    if not axes.flat[0].get_legend():
        axes.flat[0].legend(fontsize=8, loc="lower right")
    if title:
        fig.suptitle(textwrap.fill(title, int(width * 11)))
    save_figure(fig, path, dpi=110)
    plt.close(fig)
    return path


def _mark_events(ax: plt.Axes, grokked: list[dict]) -> bool:
    """Median alpha0 (dotted) and alpha1 (solid) of the grokked members; False if none."""
    if not grokked:
        return False
    ax.axvline(float(np.median([e["alpha0"] for e in grokked])), color="k", lw=0.8, ls=":",
               alpha=0.6, label="α0 (memorized)")
    ax.axvline(float(np.median([e["alpha1"] for e in grokked])), color="k", lw=0.8, alpha=0.6,
               label="α1 (generalized)")
    return True


def _band_log(ax: plt.Axes, steps: np.ndarray, values: np.ndarray, color: str, label: str,
              ls: str = "-") -> None:
    """Median and min-max band: on a log scale a +-std band is meaningless."""
    ax.plot(steps, np.nanmedian(values, 1), color=color, ls=ls, lw=1.4, label=label)
    if values.shape[1] > 1:
        ax.fill_between(steps, np.nanmin(values, 1), np.nanmax(values, 1), color=color,
                        alpha=0.2, lw=0)


def plot_steps_vs(rows: list[dict], values: list, key: str, path: Path, title: str = "") -> Path:
    """Steps to generalize (alpha1) against a setting's value (Power et al. 2022, Fig. 2
    style): every member a dot, the median a line; members that never generalized are
    drawn as crosses at the top (no α1: not generalized in the budget, or `collapsed`)."""
    fig, ax = plt.subplots(figsize=(5.5, 4), constrained_layout=True)
    numeric = all(isinstance(v, int | float) for v in values)
    order = sorted(set(values)) if numeric else list(dict.fromkeys(values))
    position = {v: (v if numeric else k) for k, v in enumerate(order)}
    reached = [r["alpha1"] for r in rows if r.get("alpha1") is not None]
    top = max(reached) * 2 if reached else 1.0
    medians, never_label = [], "no α1 (not generalized, or fit lost)"
    for v in order:
        group = [r.get("alpha1") for r, value in zip(rows, values, strict=True) if value == v]
        hit = [a for a in group if a is not None]
        ax.scatter([position[v]] * len(hit), hit, color="C0", s=18, alpha=0.7)
        if len(hit) < len(group):
            ax.scatter([position[v]] * (len(group) - len(hit)), [top] * (len(group) - len(hit)),
                       color="C3", marker="x", s=30, label=never_label)
            never_label = None
        ordered = sorted(hit) + [math.inf] * (len(group) - len(hit))
        median = float(np.median(ordered)) if ordered else math.inf
        medians.append(median if math.isfinite(median) else np.nan)
    ax.plot([position[v] for v in order], medians, color="C0", lw=1.4, label="median")
    ax.set_yscale("log")
    if not numeric:
        ax.set_xticks(range(len(order)), [str(v) for v in order], rotation=30)
    ax.set(xlabel=key, ylabel="steps to generalize (α1)")
    ax.set_title(textwrap.fill(title, 60), fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save_figure(fig, path, dpi=110)
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
    save_figure(fig, path, dpi=110)
    plt.close(fig)
    return path
