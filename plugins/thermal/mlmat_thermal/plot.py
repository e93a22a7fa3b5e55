"""α(T) curves of several models in one PNG (e.g. Debye–Grüneisen against QHA)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike


def plot_alpha(
    curves: Mapping[str, tuple[ArrayLike, ArrayLike]],
    path: str | Path,
    *,
    title: str | None = None,
    experiment: Mapping[str, tuple[float, float]] | None = None,
) -> Path:
    """Plot α_L(T) curves and write a PNG.

    Args:
        curves: label → (temperatures in K, α_L in 1/K).
        path: PNG file to write.
        title: figure title.
        experiment: label → (T in K, α_L in 1/K) single reference points, drawn as markers.

    Returns:
        The path written.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.0, 4.2))
    FigureCanvasAgg(fig)  # no pyplot: no global backend switch, no figure registry
    ax = fig.add_subplot()
    for label, (T, alpha) in curves.items():
        ax.plot(np.asarray(T, dtype=float), 1e6 * np.asarray(alpha, dtype=float), label=label)
    for label, (T, alpha) in (experiment or {}).items():
        ax.plot([T], [1e6 * alpha], "k*", markersize=10, label=label)
    ax.axhline(0.0, color="0.6", linewidth=0.8)
    ax.set_xlabel("temperature (K)")
    ax.set_ylabel(r"linear thermal expansion $\alpha_L$ ($10^{-6}$ K$^{-1}$)")
    if title:
        ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    return path
