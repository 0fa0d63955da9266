"""Training curves of a run: accuracy and loss vs step (log x), memorization and grokking marked."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on CI machines or Ray workers
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402

from grokscope.store.atomic import save_figure  # noqa: E402
from grokscope.store.metrics import curves  # noqa: E402


def plot_curves(table: pa.Table, events: list[dict], path: Path, title: str = "") -> Path:
    """Two panels (accuracy, loss); test solid, train dashed, one colour per member.

    A dotted vertical line marks each member's memorization step alpha0 and a solid one its
    generalization step alpha1 when the verdict is `grokked`.
    """
    n_members = len(events)
    colors = plt.cm.tab10(np.arange(n_members) % 10)
    alpha = 1.0 if n_members <= 10 else 0.35
    fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(12, 4.5))
    # fixed margins, not constrained_layout: its repeated layout passes made every run's
    # figure cost ~0.6 s (measured), most of a small test run or a sweep cohort
    fig.subplots_adjust(left=0.06, right=0.99, bottom=0.12, top=0.84 if title else 0.91,
                        wspace=0.18)
    losses = []  # the loss curves drawn (the axvlines are lines too: not these)
    for member, ev in enumerate(events):
        c = {k: np.where(np.isfinite(v), v, np.nan) if k != "steps" else v  # a diverged
             for k, v in curves(table, member).items()}  # member: its finite part only
        keep = c["steps"] > 0  # log axis
        steps = c["steps"][keep]
        label = f"member {member}: {ev.get('verdict', '?')}"
        ax_acc.plot(steps, c["test_acc"][keep], color=colors[member], alpha=alpha, label=label)
        ax_acc.plot(steps, c["train_acc"][keep], color=colors[member], alpha=alpha, ls="--")
        ax_loss.plot(steps, c["test_loss"][keep], color=colors[member], alpha=alpha)
        ax_loss.plot(steps, c["train_loss"][keep], color=colors[member], alpha=alpha, ls="--")
        losses += [c["test_loss"][keep], c["train_loss"][keep]]
        for ax in (ax_acc, ax_loss):
            if ev.get("alpha0"):
                ax.axvline(ev["alpha0"], color=colors[member], ls=":", lw=1, alpha=alpha)
            if ev.get("verdict") == "grokked":
                ax.axvline(ev["alpha1"], color=colors[member], lw=1.2, alpha=alpha)
    ax_acc.set(xscale="log", ylim=(-0.02, 1.02), xlabel="step", ylabel="accuracy",
               title="accuracy (test solid, train dashed)")
    positive = any(np.any(np.asarray(y, float) > 0) for y in losses)  # NaN compares False
    logged = any(np.isfinite(np.asarray(y, float)).any() for y in losses)
    if not logged:  # curves imported without their losses
        ax_loss.text(0.5, 0.5, "no loss logged", transform=ax_loss.transAxes, ha="center")
    ax_loss.set(xscale="log" if logged else "linear",
                yscale="log" if positive else "linear", xlabel="step", ylabel="loss",
                title="loss  (⋮ memorized α0, | grokked α1)")
    if n_members <= 10:
        ax_acc.legend(fontsize=8, loc="best")
    if title:
        fig.suptitle(title)
    save_figure(fig, path, dpi=110)
    plt.close(fig)
    return path
