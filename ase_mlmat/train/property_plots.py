"""Parity plot of per-structure targets (PNG, matplotlib without pyplot state)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np


def parity_plot_targets(true: np.ndarray, predicted: np.ndarray, names: Sequence[str], path: str | Path) -> Path:
    """One panel per target: predicted against reference, with the MAE in the title."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4 * len(names), 4), layout="constrained")
    for k, (ax, name) in enumerate(zip(np.atleast_1d(fig.subplots(1, len(names))), names)):
        both = np.concatenate([true[:, k], predicted[:, k]])
        lo, hi = float(both.min()), float(both.max())
        ax.plot([lo, hi], [lo, hi], color="grey", lw=1)
        ax.scatter(true[:, k], predicted[:, k], s=4, alpha=0.5)
        ax.set_title(f"{name}: MAE {np.abs(predicted[:, k] - true[:, k]).mean():.3f}")
        ax.set_xlabel(f"reference {name}")
        ax.set_ylabel(f"predicted {name}")
    fig.savefig(path, dpi=120)
    return Path(path)
