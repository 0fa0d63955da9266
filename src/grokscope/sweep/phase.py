"""Phase diagrams and scaling laws of a sweep (Liu et al. 2022, "Towards Understanding
Grokking: An Effective Theory of Representation Learning").

Each run's phase follows from the grokking detector's verdict:
- comprehension: generalizes without delay (`generalized-without-delay`);
- grokking: generalizes long after memorizing (`grokked`);
- memorization: fits the training set, never generalizes (`memorized-only`);
- confusion: does not even fit the training set (`not-fitted`, or `collapsed`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import LogNorm, to_rgb  # noqa: E402
from matplotlib.patches import Patch, Rectangle  # noqa: E402

from grokscope.errors import ConfigError  # noqa: E402
from grokscope.store.atomic import save_figure  # noqa: E402

PHASES = ("comprehension", "grokking", "memorization", "confusion")
COLORS = {"comprehension": "#2b8cbe", "grokking": "#31a354", "memorization": "#de2d26",
          "confusion": "#969696"}
VERDICT_PHASE = {"generalized-without-delay": "comprehension", "grokked": "grokking",
                 "memorized-only": "memorization", "not-fitted": "confusion",
                 "collapsed": "confusion", "diverged": "confusion"}


def phase_of(verdict: str) -> str:
    """The phase of one run from its detector verdict."""
    try:
        return VERDICT_PHASE[verdict]
    except KeyError:
        raise ValueError(f"unknown verdict {verdict!r} (allowed: "
                         f"{', '.join(VERDICT_PHASE)})") from None


def classify(table: pd.DataFrame) -> pd.DataFrame:
    """The table with a `phase` column."""
    out = table.copy()
    out["phase"] = [phase_of(v) for v in out["verdict"]]
    return out


def _swept_keys(table: pd.DataFrame) -> list[str]:
    """The swept columns: between `cohort` and `seed` (sweep.store.collect), e.g. `recipe`
    and `split.f`."""
    columns = list(table.columns)
    if {"cohort", "seed"} <= set(columns):
        return columns[columns.index("cohort") + 1: columns.index("seed")]
    return [c for c in columns if "." in c]


def _check_keys(table: pd.DataFrame, *keys: str, numeric: tuple[str, ...] = ()) -> None:
    """Every key a swept column; those in `numeric` (the axes) hold numbers, not names."""
    swept = _swept_keys(table)
    for key in keys:
        if key not in table.columns:
            raise ConfigError(f"--x/--y: {key!r} is not a swept key of this sweep (allowed: "
                              f"{', '.join(swept) or 'none'})")
        if key in numeric and pd.to_numeric(table[key], errors="coerce").isna().any():
            names = ", ".join(str(v) for v in table[key].dropna().unique()[:6])
            raise ConfigError(f"--x/--y: {key!r} holds names ({names}), not numbers, so it "
                              f"cannot be an axis; select one with --where {key}=NAME, or "
                              "compare them with --by")


def select_runs(table: pd.DataFrame, where: list[str]) -> pd.DataFrame:
    """The runs whose swept values match every `KEY=VALUE` condition: a scaling law is only
    meaningful with the other keys held fixed. Numbers match to a relative 1e-3, so the
    4 significant digits the error message and `grokscope table` print select a logspace
    grid's 1.3894954943731375."""
    out = table
    for condition in where:
        key, sep, text = condition.partition("=")
        key, text = key.strip(), text.strip()
        if not sep or not key or not text:
            raise ConfigError(f"--where: expected KEY=VALUE, got {condition!r}")
        if key not in table.columns:
            raise ConfigError(f"--where: {key!r} is not a swept key of this sweep (allowed: "
                              f"{', '.join(_swept_keys(table)) or 'none'})")
        column = out[key]
        try:
            value = float(text)
            mask = np.isclose(pd.to_numeric(column, errors="coerce").astype(float), value,
                              rtol=1e-3, atol=0.0)
        except ValueError:
            mask = column.astype(str) == text
        if not mask.any():
            present = ", ".join(_cell_text(v) for v in sorted(table[key].dropna().unique()))
            raise ConfigError(f"--where: no run has {key} = {text} (values: {present})")
        out = out[mask]
    return out


def _cell_text(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def phase_cells(table: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """Per (x, y) cell: the majority phase over seeds (ties: the earlier in PHASES), the
    count of each phase, and the median delay of the grokked runs."""
    _check_keys(table, x, y, numeric=(x, y))
    table = classify(table)
    rows = []
    for (xv, yv), cell in table.groupby([x, y], sort=True):
        counts = {p: int((cell["phase"] == p).sum()) for p in PHASES}
        majority = max(PHASES, key=lambda p: (counts[p], -PHASES.index(p)))
        delays = cell.loc[cell["phase"] == "grokking", "delay"].dropna()
        rows.append({x: xv, y: yv, "phase": majority, "runs": len(cell), **counts,
                     "median_delay": float(delays.median()) if len(delays) else np.nan})
    return pd.DataFrame(rows)


def _axis(values: np.ndarray) -> tuple[np.ndarray, bool]:
    """Cell edges for sorted values, geometric when the values span over a decade."""
    values = np.asarray(values, dtype=float)
    log = bool(values.min() > 0 and values.max() / values.min() > 10)
    v = np.log10(values) if log else values
    if len(v) == 1:
        edges = np.array([v[0] - 0.5, v[0] + 0.5])
    else:
        mid = (v[1:] + v[:-1]) / 2
        edges = np.concatenate([[v[0] - (mid[0] - v[0])], mid, [v[-1] + (v[-1] - mid[-1])]])
    return (10.0 ** edges if log else edges), log


def _center(edges: np.ndarray, k: int, log: bool) -> float:
    low, high = edges[k], edges[k + 1]
    return float(np.sqrt(low * high) if log else (low + high) / 2)


def plot_phase(table: pd.DataFrame, x: str, y: str, path: Path,
               metric: str | None = None, title: str = "") -> Path:
    """The phase diagram: one cell per (x, y), coloured by its majority phase; grokking
    cells shaded by delay (darker: longer) and every cell labelled with the share of its
    seeds in that phase. With `metric` (e.g. `steps_to_generalize`), a heatmap of its
    median over seeds instead (runs that never generalize: grey)."""
    cells = phase_cells(table, x, y)
    xs, ys = np.sort(cells[x].unique()), np.sort(cells[y].unique())
    x_edges, x_log = _axis(xs)
    y_edges, y_log = _axis(ys)
    fig, ax = plt.subplots(figsize=(1.0 + 0.75 * len(xs) + 2.5, 1.0 + 0.6 * len(ys) + 1.2),
                           constrained_layout=True)
    if metric:
        image = _metric_image(classify(table), x, y, xs, ys, metric)
        ax.set_facecolor("#d9d9d9")
        finite = image[np.isfinite(image)]
        norm = LogNorm() if finite.size and finite.min() > 0 else None
        mesh = ax.pcolormesh(x_edges, y_edges, np.ma.masked_invalid(image), norm=norm,
                             cmap="viridis")
        fig.colorbar(mesh, ax=ax, label=f"median {metric} (grey: never)")
    else:
        delays = cells["median_delay"].dropna()
        top = np.log10(delays.max()) if len(delays) else 1.0
        bottom = np.log10(delays.min()) if len(delays) else 0.0
        for _, cell in cells.iterrows():
            i, j = np.searchsorted(ys, cell[y]), np.searchsorted(xs, cell[x])
            color = np.array(to_rgb(COLORS[cell["phase"]]))
            if cell["phase"] == "grokking" and np.isfinite(cell["median_delay"]):
                shade = (np.log10(cell["median_delay"]) - bottom) / max(top - bottom, 1e-9)
                color = color * (1.15 - 0.45 * shade)  # longer delay: darker
            ax.add_patch(Rectangle((x_edges[j], y_edges[i]), x_edges[j + 1] - x_edges[j],
                                   y_edges[i + 1] - y_edges[i], color=np.clip(color, 0, 1)))
            label = f"{cell[cell['phase']]}/{cell['runs']}"
            ax.text(_center(x_edges, j, x_log), _center(y_edges, i, y_log), label,
                    ha="center", va="center", fontsize=7, color="white")
        ax.set(xlim=(x_edges[0], x_edges[-1]), ylim=(y_edges[0], y_edges[-1]))
        ax.legend(handles=[Patch(color=COLORS[p], label=p) for p in PHASES],
                  bbox_to_anchor=(1.02, 1), loc="upper left", fontsize=8,
                  title="majority phase\n(darker green:\nlonger delay)", title_fontsize=8)
    ax.set(xlabel=x, ylabel=y, xscale="log" if x_log else "linear",
           yscale="log" if y_log else "linear", title=title or f"phase diagram: {y} vs {x}")
    save_figure(fig, path, dpi=120)
    plt.close(fig)
    return path


METRICS = {"steps_to_generalize": "alpha1", "alpha1": "alpha1", "alpha0": "alpha0",
           "delay": "delay", "final_test_acc": "final_test_acc",
           "final_test_loss": "final_test_loss", "final_train_loss": "final_train_loss",
           "final_train_acc": "final_train_acc", "delta_S": "delta_S"}
STEP_METRICS = ("alpha1", "alpha0", "delay")


def _metric_image(table: pd.DataFrame, x: str, y: str, xs: np.ndarray, ys: np.ndarray,
                  metric: str) -> np.ndarray:
    if metric not in METRICS:
        raise ConfigError(f"--metric: unknown metric {metric!r} (allowed: {', '.join(METRICS)})")
    column = METRICS[metric]
    image = np.full((len(ys), len(xs)), np.nan)
    for (xv, yv), cell in table.groupby([x, y]):
        values = pd.to_numeric(cell[column], errors="coerce")
        if values.notna().sum() * 2 > len(cell):  # a majority of seeds has a value
            image[np.searchsorted(ys, yv), np.searchsorted(xs, xv)] = values.median()
    return image


def fit_power_law(x: np.ndarray, t: np.ndarray) -> tuple[float, float]:
    """Least squares of log t = log c + b log x: returns (c, b), t ~ c x^b."""
    x, t = np.asarray(x, float), np.asarray(t, float)
    keep = (x > 0) & (t > 0) & np.isfinite(t)
    if keep.sum() < 2 or len(np.unique(x[keep])) < 2:
        raise ConfigError("scaling: need runs that generalize at two or more values of the key")
    b, log_c = np.polyfit(np.log(x[keep]), np.log(t[keep]), 1)
    return float(np.exp(log_c)), float(b)


def plot_scaling(table: pd.DataFrame, x: str, path: Path, metric: str = "alpha1",
                 title: str = "", fit: bool = True, by: str | None = None,
                 ) -> tuple[Path, dict[Any, tuple[float, float]]]:
    """A per-run metric vs a swept key: every run, the per-value median and range, and (with
    `fit`) the power law t = c x^b fitted in log-log; with `by`, one series per value of
    that key. Time metrics (alpha1, delay, alpha0) exist only for runs that generalize, so
    each value is labelled n/N. Without a fit this is the model-wise plot: e.g. final test
    loss vs width, to look for a double descent. Returns (path, {series: (c, b)}), the
    series None without `by`; c and b are NaN without a fit."""
    # one figure: per series a median, a range and an optional fit, on shared axes
    _check_keys(table, x, *([by] if by else []), numeric=(x,))
    if metric not in METRICS:
        raise ConfigError(f"--metric: unknown metric {metric!r} (allowed: {', '.join(METRICS)})")
    column = METRICS[metric]
    if column not in table or pd.to_numeric(table[column], errors="coerce").isna().all():
        raise ConfigError(f"--metric: no run of this sweep has a value of {metric!r}")
    groups = [(None, table)] if by is None else list(table.groupby(by, sort=True))
    fig, ax = plt.subplots(figsize=(6, 4.2), constrained_layout=True)
    fits: dict[Any, tuple[float, float]] = {}
    partial = column in STEP_METRICS
    every: list[pd.Series] = []
    for k, (value, group) in enumerate(groups):
        data = pd.DataFrame({x: group[x].astype(float),
                             "t": pd.to_numeric(group[column], errors="coerce")}).dropna()
        if data.empty:
            continue
        every.append(data["t"])
        label = "" if by is None else f"{by} = {_cell_text(value)}: "
        c, b = np.nan, np.nan
        if fit:
            try:
                c, b = fit_power_law(data[x].to_numpy(), data["t"].to_numpy())
            except ConfigError:
                if by is None:
                    raise
        fits[value] = (c, b)
        stats = data.groupby(x)["t"].agg(["median", "min", "max", "count"]).reset_index()
        total = group.groupby(x).size()
        incomplete = bool((stats["count"] < total[stats[x]].to_numpy()).any())
        partial = partial or incomplete
        color = f"C{k}"
        ax.scatter(data[x], data["t"], s=10, alpha=0.35, color=color)
        ax.errorbar(stats[x], stats["median"], yerr=[stats["median"] - stats["min"],
                    stats["max"] - stats["median"]], fmt="o" if fit else "o-", color=color,
                    capsize=3, label=f"{label}median and range")
        if column in STEP_METRICS or incomplete:
            for _, row in stats.iterrows():
                ax.annotate(f"{int(row['count'])}/{int(total[row[x]])}",
                            (row[x], row["median"]), textcoords="offset points",
                            xytext=(4, 4), fontsize=7, color=color)
        if not np.isnan(c):
            grid = np.geomspace(data[x].min(), data[x].max(), 50)
            ax.plot(grid, c * grid ** b, color=color, lw=1.2, ls="--" if by else "-",
                    label=f"{label}fit {c:.3g} · x^{b:.2f}")
    values = pd.concat(every)
    log_y = (column in STEP_METRICS or "loss" in column) and bool((values > 0).all())
    positive_x = bool((table[x].astype(float) > 0).all())
    ax.set(xscale="log" if positive_x else "linear", yscale="log" if log_y else "linear",
           xlabel=x, ylabel=f"{metric} (steps)" if column in STEP_METRICS else metric,
           title=(title or f"{metric} vs {x}") + ("\n(n/N: runs with a value)" if partial else ""))
    ax.legend(fontsize=8)
    save_figure(fig, path, dpi=120)
    plt.close(fig)
    return path, fits
