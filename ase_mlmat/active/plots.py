"""Progress of an active-learning run as a PNG: force error and label count against iteration."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

_ERRORS = (
    ("test_forces_mae_eV_per_A", "test force MAE", "o-"),
    ("oob_forces_mae_eV_per_A", "out-of-bag force MAE", "s--"),
    ("train_forces_mae_eV_per_A", "training force MAE", "^:"),
)


def progress_plot(history: Mapping[int, Mapping], path: str | Path) -> Path:
    """Force MAEs (eV/Å, log scale, left) and labelled structures (right) per iteration."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    iterations = sorted(k for k in history if "labels" in history[k])
    fig, ax = plt.subplots(figsize=(6, 4))
    for key, label, style in _ERRORS:
        points = [(k, history[k][key]) for k in iterations if history[k].get(key) is not None]
        if points:
            ax.semilogy(*zip(*points), style, label=label)
    ax.set_xlabel("iteration (committee)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("force MAE (eV/Å)")
    twin = ax.twinx()
    twin.plot(
        iterations,
        [history[k]["labels"] for k in iterations],
        "k.-",
        alpha=0.5,
        label="labelled structures (trained on)",
    )
    twin.set_ylabel("labelled structures")
    handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    if handles:
        ax.legend(handles=handles, fontsize=8, loc="upper center")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
