"""Ashby diagram of many structures: Vickers hardness against fracture toughness, known hard binaries marked."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

SUPERHARD_GPa = 40.0
# Element pairs of well-known hard binaries (c-BN, SiC, WC, B4C, TiN)
KNOWN_HARD_PAIRS = (("B", "N"), ("Si", "C"), ("W", "C"), ("B", "C"), ("Ti", "N"))


def ashby_diagram(
    toughness_MPa_m05: Sequence[float],
    hardness_GPa: Sequence[float],
    element_sets: Sequence[frozenset[str]],
    path: str | Path,
    *,
    metallic: Sequence[bool] | None = None,
    highlight: Sequence[tuple[str, ...]] = KNOWN_HARD_PAIRS,
    title: str = "Mazhnik–Oganov hardness and toughness",
) -> Path:
    """Scatter H_v (GPa) against K_IC (MPa·m^½) on log axes; structures of the ``highlight`` element sets marked.

    Args:
        toughness_MPa_m05, hardness_GPa: one value per structure.
        element_sets: the elements of each structure.
        path: image file (format from the suffix).
        metallic: per structure, drawn grey (the model is not meant for metals); None: all alike.
        highlight: element combinations to mark, each in its own colour.
    """
    from matplotlib.figure import Figure

    x, y = np.asarray(toughness_MPa_m05, dtype=float), np.asarray(hardness_GPa, dtype=float)
    if not (len(x) == len(y) == len(element_sets)):
        raise ValueError("toughness, hardness and element_sets need one entry per structure")
    good = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if not good.any():
        raise ValueError("no finite positive hardness/toughness pairs to plot")
    metal = np.zeros(len(x), bool) if metallic is None else np.asarray(metallic, dtype=bool)
    fig = Figure(figsize=(7.0, 5.2), layout="constrained")
    ax = fig.subplots()
    ax.scatter(x[good & metal], y[good & metal], s=5, color="0.75", label="metallic (outside the model)", zorder=1)
    ax.scatter(x[good & ~metal], y[good & ~metal], s=5, color="tab:blue", alpha=0.5, label="non-metallic", zorder=2)
    colours = ["tab:red", "tab:orange", "tab:green", "tab:purple", "black", "tab:brown", "tab:pink"]
    for k, combination in enumerate(highlight):
        wanted = frozenset(combination)
        mask = good & np.array([s == wanted for s in element_sets])
        if mask.any():
            ax.scatter(
                x[mask],
                y[mask],
                s=40,
                marker="D",
                facecolors="none",
                edgecolors=colours[k % len(colours)],
                linewidths=1.2,
                label=f"{'–'.join(combination)} ({int(mask.sum())})",
                zorder=3,
            )
    ax.axhline(SUPERHARD_GPa, color="k", linestyle="--", linewidth=0.8)
    ax.text(
        0.01,
        SUPERHARD_GPa,
        f" superhard ($H_v$ ≥ {SUPERHARD_GPa:g} GPa)",
        transform=ax.get_yaxis_transform(),
        va="bottom",
        fontsize=8,
    )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("fracture toughness $K_{IC}$ (MPa·m$^{1/2}$)")
    ax.set_ylabel("Vickers hardness $H_v$ (GPa)")
    ax.set_title(f"{title} ({int(good.sum())} structures)")
    ax.legend(fontsize=7, loc="lower right")
    path = Path(path)
    fig.savefig(path, dpi=150)
    return path


def ashby_from_db(db, path: str | Path) -> Path:
    """Ashby diagram of every ok row of a screening database (best tier's values where promoted)."""
    rows = [row for row in db.select("ok=True", include_data=False) if row.get("vickers_hardness_GPa") is not None]
    if not rows:
        raise ValueError("no screened rows with hardness to plot")
    toughness = [row.get("elastic_fracture_toughness_MPa_m05", row.fracture_toughness_MPa_m05) for row in rows]
    hardness = [row.get("elastic_vickers_hardness_GPa", row.vickers_hardness_GPa) for row in rows]
    elements = [frozenset(row.symbols) for row in rows]
    return ashby_diagram(toughness, hardness, elements, path, metallic=[bool(row.get("metallic")) for row in rows])
