"""Learning-curve and parity plots as PNG files (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from ase.units import GPa

from .trainer import History


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def learning_curve(history: History, path: str | Path) -> Path:
    """Training and validation loss (log scale) against epoch."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.semilogy(history.epoch, history.train_loss, label="train")
    ax.semilogy(history.epoch, history.val_loss, label="validation")
    if history.best_epoch:
        ax.axvline(history.best_epoch, color="grey", ls=":", label=f"best epoch {history.best_epoch}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def parity_plot(pred: dict[str, np.ndarray], path: str | Path) -> Path:
    """Predicted vs reference energy per atom, force components and stress components."""
    plt = _pyplot()
    panels = [("energy (eV/atom)", pred["energy"] / pred["num_atoms"], pred["energy_ref"] / pred["num_atoms"])]
    if pred["forces"].size:
        panels.append(("force (eV/Å)", pred["forces"].ravel(), pred["forces_ref"].ravel()))
    if pred["stress"].size:
        panels.append(("stress (GPa)", pred["stress"].ravel() / GPa, pred["stress_ref"].ravel() / GPa))
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 4))
    for ax, (label, predicted, reference) in zip(np.atleast_1d(axes), panels):
        lo, hi = float(min(reference.min(), predicted.min())), float(max(reference.max(), predicted.max()))
        ax.plot([lo, hi], [lo, hi], color="grey", lw=1)
        ax.scatter(reference, predicted, s=4, alpha=0.6)
        mae = float(np.mean(np.abs(predicted - reference)))
        ax.set_title(f"MAE {mae:.3g}")
        ax.set_xlabel(f"reference {label}")
        ax.set_ylabel(f"predicted {label}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)
