"""Learning-curve and parity plots as PNG files (matplotlib figures without pyplot state).

Every axis names its unit and every title says what is shown and in which unit. The ``*_figure``
functions return the figure; the others write it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from ase.units import GPa

from .trainer import History

POTENTIAL_LOSS = "Loss: Σ weight · MSE of E/N (eV/atom), F (eV/Å), σ (eV/Å³)"


def loss_title(losses: dict[str, dict], kind: str) -> str:
    """What the loss of a run is, from its resolved ``losses`` section and kind ("potential" or "property")."""
    functions = "/".join(sorted({term["loss"].upper() for term in losses.values() if term["weight"] > 0}))
    if kind == "potential":
        return f"Loss: Σ weight · {functions} of E/N (eV/atom), F (eV/Å), σ (eV/Å³)"
    return f"Loss: Σ weight · {functions} of each target / its training-set std"


def learning_curve_figure(history: History, title: str = POTENTIAL_LOSS):
    """Training and validation loss (log scale) against epoch; ``title`` says what the loss is."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5, 4.6), layout="constrained")
    ax = fig.subplots()
    ax.semilogy(history.epoch, history.train_loss, label="train")
    ax.semilogy(history.epoch, history.val_loss, label="validation")
    if history.best_epoch:
        ax.axvline(history.best_epoch, color="grey", ls=":", label=f"best epoch {history.best_epoch}")
    ax.set_xlabel("epoch (passes over the training set)")
    # the weights are in (eV/atom)⁻², (eV/Å)⁻², (eV/Å³)⁻², so the weighted sum is a pure number
    ax.set_ylabel("loss (dimensionless)")
    ax.set_title(title, fontsize="medium")
    ax.legend()
    return fig


def learning_curve(history: History, path: str | Path, title: str = POTENTIAL_LOSS) -> Path:
    """Write :func:`learning_curve_figure` to ``path`` (PNG)."""
    learning_curve_figure(history, title).savefig(path, dpi=120)
    return Path(path)


def _panels(pred: dict[str, np.ndarray]) -> list[tuple[str, str, np.ndarray, np.ndarray, float, str]]:
    """Per panel: what, axis unit, predicted and reference values in it, factor to the MAE unit, MAE unit."""
    per_atom = pred["num_atoms"]
    panels = [("energy per atom", "eV/atom", pred["energy"] / per_atom, pred["energy_ref"] / per_atom, 1e3, "meV/atom")]
    if pred["forces"].size:
        panels.append(("force components", "eV/Å", pred["forces"].ravel(), pred["forces_ref"].ravel(), 1.0, "eV/Å"))
    if pred["stress"].size:
        stress, stress_ref = pred["stress"].ravel() / GPa, pred["stress_ref"].ravel() / GPa
        panels.append(("stress components", "GPa", stress, stress_ref, 1.0, "GPa"))
    return panels


def parity_figure(pred: dict[str, np.ndarray]):
    """Predicted vs reference energy per atom, force components and stress components (GPa), MAE in titles."""
    from matplotlib.figure import Figure

    panels = _panels(pred)
    fig = Figure(figsize=(4.2 * len(panels), 4.2), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    for ax, (what, unit, predicted, reference, scale, mae_unit) in zip(axes, panels):
        lo, hi = float(min(reference.min(), predicted.min())), float(max(reference.max(), predicted.max()))
        ax.plot([lo, hi], [lo, hi], color="grey", lw=1)
        ax.scatter(reference, predicted, s=4, alpha=0.6)
        mae = float(np.mean(np.abs(predicted - reference))) * scale
        ax.set_title(f"{what} ({unit}): MAE {mae:.3g} {mae_unit}", fontsize="medium")
        ax.set_xlabel(f"reference {what} ({unit})")
        ax.set_ylabel(f"predicted {what} ({unit})")
    return fig


def parity_plot(pred: dict[str, np.ndarray], path: str | Path) -> Path:
    """Write :func:`parity_figure` to ``path`` (PNG)."""
    parity_figure(pred).savefig(path, dpi=120)
    return Path(path)
