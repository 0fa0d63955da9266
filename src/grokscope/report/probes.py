"""Probe figures: a probe's values over training, lined up against the grokking step.

Scalars: every member faint, the median over members bold, a vertical line at the median
generalization step alpha1 of the grokked members (dotted: the median memorization step
alpha0). Spectra (Fourier power, per-group accuracy): a heatmap index x step of the median
over members (or of one member).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402

from grokscope.errors import ConfigError  # noqa: E402
from grokscope.store.atomic import save_figure  # noqa: E402
from grokscope.store.metrics import probe_matrix, probe_names, spectrum_cube  # noqa: E402


def _matches(name: str, candidates: list[str]) -> list[str]:
    """Exact name, or every candidate under the prefix `name/`."""
    if name in candidates:
        return [name]
    return [c for c in candidates if c.startswith(name.rstrip("/") + "/")]


def _event_steps(events: list[dict]) -> tuple[float | None, float | None]:
    """Median alpha0 over members that memorized, median alpha1 over members that grokked."""
    a0 = [e["alpha0"] for e in events if e.get("alpha0") is not None]
    a1 = [e["alpha1"] for e in events if e.get("verdict") == "grokked"]
    return (float(np.median(a0)) if a0 else None, float(np.median(a1)) if a1 else None)


def _mark(ax: plt.Axes, events: list[dict]) -> None:
    alpha0, alpha1 = _event_steps(events)
    if alpha0:
        ax.axvline(alpha0, color="k", ls=":", lw=1, label=f"median α0 = {alpha0:g}")
    if alpha1:
        ax.axvline(alpha1, color="k", lw=1.4, label=f"median α1 = {alpha1:g} (grokked)")


def _scalar_panel(ax: plt.Axes, metrics: pa.Table, name: str, events: list[dict],
                  member: int | None) -> None:
    steps, values = probe_matrix(metrics, name)  # (K,), (K, E)
    keep = steps > 0
    steps, values = steps[keep], values[keep]
    if member is not None:
        ax.plot(steps, values[:, member], color="C0", lw=1.8, label=f"member {member}")
    else:
        ax.plot(steps, values, color="C0", alpha=0.25, lw=0.8)
        ax.plot(steps, np.nanmedian(values, axis=1), color="C0", lw=2.0,
                label=f"median of {values.shape[1]}")
    _mark(ax, events)
    positive = np.all(values[np.isfinite(values)] > 0) if np.isfinite(values).any() else False
    spread = np.nanmax(values) / np.nanmin(values) if positive else 0
    log_y = spread > 30 and "acc" not in name  # accuracies stay on a linear axis
    ax.set(xscale="log", yscale="log" if log_y else "linear", xlabel="step", title=name)
    ax.legend(fontsize=7, loc="best")


def _spectrum_panel(fig: plt.Figure, ax: plt.Axes, spectra: pa.Table, name: str,
                    events: list[dict], member: int | None) -> None:
    steps, cube = spectrum_cube(spectra, name)  # (K,), (K, E, k)
    keep = steps > 0
    steps, cube = steps[keep], cube[keep]
    image = cube[:, member] if member is not None else np.nanmedian(cube, axis=1)  # (K, k)
    edges = np.concatenate([[steps[0] / 1.2], np.sqrt(steps[:-1] * steps[1:]),
                            [steps[-1] * 1.2]]) if len(steps) > 1 else np.array([0.8, 1.2])
    mesh = ax.pcolormesh(edges, np.arange(image.shape[1] + 1) - 0.5, image.T,
                         shading="flat", cmap="viridis")
    fig.colorbar(mesh, ax=ax, shrink=0.9)
    _mark(ax, events)
    who = f"member {member}" if member is not None else "median over members"
    ax.set(xscale="log", xlabel="step", ylabel="index (frequency / group)",
           title=f"{name} ({who})")


def plot_probe(metrics: pa.Table, spectra: pa.Table, events: list[dict], name: str,
               path: Path, member: int | None = None, title: str = "") -> Path:
    """One panel per scalar and spectrum matching `name` (exact, or a prefix such as
    `fourier`; several comma-separated names share one figure); raises ConfigError naming the
    available probes when one matches nothing."""
    names = [n.strip() for n in name.split(",") if n.strip()]
    spectrum_names = sorted(set(spectra["probe"].to_pylist())) if spectra.num_rows else []
    scalars, vectors = [], []
    for one in names:
        scalars += _matches(one, probe_names(metrics))
        vectors += _matches(one, spectrum_names)
    if not all(_matches(n, probe_names(metrics) + spectrum_names) for n in names):
        available = sorted({n.split("/")[0] for n in probe_names(metrics)}
                           | ({n.split("/")[0] for n in spectra["probe"].to_pylist()}
                              if spectra.num_rows else set()))
        missing = [n for n in names if not _matches(n, probe_names(metrics) + spectrum_names)]
        raise ConfigError(f"--probe: no probe values named {missing[0]!r} in this run (allowed: "
                          f"{', '.join(available) or 'none: the run has no probes'})")
    panels = scalars + vectors
    cols = min(4 if len(panels) in (4, 7, 8) else 3, len(panels))
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.8 * rows),
                             constrained_layout=True, squeeze=False)
    for ax, panel in zip(axes.flat, panels, strict=False):
        if panel in scalars:
            _scalar_panel(ax, metrics, panel, events, member)
        else:
            _spectrum_panel(fig, ax, spectra, panel, events, member)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title)
    save_figure(fig, path, dpi=110)
    plt.close(fig)
    return path
