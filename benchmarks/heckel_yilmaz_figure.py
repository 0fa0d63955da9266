"""Per-draw curves of the Heckel & Yilmaz reproduction: the L1 test risk (the `abs_error` probe)
and the training loss of every member, one column per setting; and a table, per setting, of
how many draws' L1 risk descends twice and how many draws' training loss rises on the way.

The reproduction's own figure averages over draws, which blurs a bump whose timing varies by
draw; this one shows each draw, so the bump and the training-loss spike that comes with it
are visible side by side.

    python benchmarks/heckel_yilmaz_figure.py [RUN_DIR] [OUT.png]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from grokscope.detection.double_descent import descent_shape  # noqa: E402
from grokscope.store import RunStore  # noqa: E402

RUN = Path("runs/reproduce/heckel_yilmaz2021/two_layer")
OUT = Path("docs/figures/heckel_yilmaz2021_two_layer.png")


def curves(run: Path) -> dict[str, list[tuple]]:
    """{setting label: [(steps, L1 risk, steps, train loss), ...]}, one entry per member."""
    out: dict[str, list[tuple]] = {}
    for part in sorted(run.glob("part-*")):
        members = json.loads((part / "members.json").read_text())
        table = RunStore(part).load_metrics().to_pandas()
        for position, member in enumerate(members):
            rows = table[table.member == position].sort_values("step")
            probe = rows[rows.split == "probe"].dropna(subset=["abs_error/test"])
            train = rows[rows.split == "train"]
            out.setdefault(member["label"], []).append(
                (probe.step.values, probe["abs_error/test"].values, train.step.values,
                 train.loss.values))
    return out


def table(data: dict[str, list[tuple]]) -> None:
    """Per setting: the L1 risk's shape counts, the median bump, the training-loss rises."""
    print("| setting | draws | L1 risk: double descent | monotone | first minimum: step, L1 "
          "(medians) | peak: step, L1 (medians) | train loss rises |")
    print("|---|---:|---:|---:|---|---|---:|")
    for label, members in data.items():
        risk = [descent_shape(s, r) for s, r, _, _ in members]
        rises = sum(descent_shape(s, t).shape != "monotone" for _, _, s, t in members)
        bumps = [d for d in risk if d.shape == "double descent"]
        first = (f"{np.median([d.first_min_step for d in bumps]):g}, "
                 f"{np.median([d.first_min for d in bumps]):.2f}") if bumps else "-"
        peak = (f"{np.median([d.peak_step for d in bumps]):g}, "
                f"{np.median([d.peak for d in bumps]):.2f}") if bumps else "-"
        n = len(members)
        print(f"| {label} | {n} | {len(bumps)}/{n} | "
              f"{sum(d.shape == 'monotone' for d in risk)}/{n} | {first} | {peak} | {rises}/{n} |")


def main(run: Path = RUN, path: Path = OUT) -> Path:
    data = curves(run)
    table(data)
    fig, axes = plt.subplots(2, len(data), figsize=(4.2 * len(data), 6.4), sharex=True,
                             squeeze=False)
    for column, (label, members) in enumerate(data.items()):
        top, bottom = axes[0, column], axes[1, column]
        for steps, risk, train_steps, train in members:
            top.plot(steps, risk, lw=0.8, alpha=0.6)
            bottom.plot(train_steps, train, lw=0.8, alpha=0.6)
        top.set_title(f"{label} ({len(members)} draws)")
        top.set_ylabel("test L1 risk")
        bottom.set_ylabel("train loss (MSE)")
        bottom.set_xlabel("step")
        for ax in (top, bottom):
            ax.set_xscale("log")
            ax.grid(alpha=0.3)
        top.set_xlim(1, 2000)
        bottom.set_yscale("log")
    fig.suptitle("Heckel & Yilmaz 2021, two-layer ReLU: each draw's test risk and train loss")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    print(f"wrote {path} from {run}")
    return path


if __name__ == "__main__":
    main(*(Path(a) for a in sys.argv[1:3]))
