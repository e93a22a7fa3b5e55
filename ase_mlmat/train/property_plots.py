"""Parity plot of per-structure targets (PNG, matplotlib without pyplot state).

Target names carry their unit as a suffix (``log10_K_VRH_GPa``: log10 of K_VRH in GPa); axis labels and
titles spell it out. An error of a log10 target is in dex (0.1 dex = a factor 10^0.1 ≈ 1.26).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

# name suffix → unit as written on a plot
UNITS = {
    "GPa": "GPa",
    "eV": "eV",
    "eV_per_atom": "eV/atom",
    "meV_per_atom": "meV/atom",
    "K": "K",
    "per_K": "1/K",
    "A": "Å",
    "A3_per_atom": "Å³/atom",
    "g_per_cm3": "g/cm³",
    "W_per_mK": "W/(m·K)",
}
_SUFFIX = re.compile(r"^(?P<log>log10_)?(?P<quantity>.+?)_(?P<unit>" + "|".join(sorted(UNITS, key=len)[::-1]) + ")$")


def target_axis(name: str) -> tuple[str, str]:
    """(axis quantity with its unit, unit of an error) of target ``name``.

    ``log10_K_VRH_GPa`` → (``"log10(K_VRH / GPa)"``, ``"dex"``); ``band_gap_eV`` → (``"band_gap (eV)"``, ``"eV"``);
    a name without a known unit suffix → (``"name (unit of the data)"``, ``"(unit of the data)"``).
    """
    match = _SUFFIX.match(name)
    if match is None:
        return f"{name} (unit of the data)", "(unit of the data)"
    quantity, unit = match["quantity"], UNITS[match["unit"]]
    if match["log"]:
        return f"log10({quantity} / {unit})", "dex"
    return f"{quantity} ({unit})", unit


def parity_figure_targets(true: np.ndarray, predicted: np.ndarray, names: Sequence[str]):
    """One panel per target: predicted against reference, with the MAE and its unit in the title."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.2 * len(names), 4.2), layout="constrained")
    for k, (ax, name) in enumerate(zip(np.atleast_1d(fig.subplots(1, len(names))), names)):
        both = np.concatenate([true[:, k], predicted[:, k]])
        lo, hi = float(both.min()), float(both.max())
        ax.plot([lo, hi], [lo, hi], color="grey", lw=1)
        ax.scatter(true[:, k], predicted[:, k], s=4, alpha=0.5)
        axis, error_unit = target_axis(name)
        mae = np.abs(predicted[:, k] - true[:, k]).mean()
        factor = f" (×{10**mae:.2f})" if error_unit == "dex" else ""
        ax.set_title(f"{axis}: MAE {mae:.3f} {error_unit}{factor}", fontsize="medium")
        ax.set_xlabel(f"reference {axis}")
        ax.set_ylabel(f"predicted {axis}")
    return fig


def parity_plot_targets(true: np.ndarray, predicted: np.ndarray, names: Sequence[str], path: str | Path) -> Path:
    """Write :func:`parity_figure_targets` to ``path`` (PNG)."""
    parity_figure_targets(true, predicted, names).savefig(path, dpi=120)
    return Path(path)
