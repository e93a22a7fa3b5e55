"""Ashby diagram: Vickers hardness against fracture toughness, one labelled point per structure."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path

from .result import HardnessResult, SUPERHARD_GPa


def ashby_plot(results: Iterable[object], path: str | Path, labels: Sequence[str] | None = None) -> Path:
    """Write H_v (GPa, y) against K_IC (MPa·m^½, x) on log axes, with the superhard line H_v = 40 GPa.

    Metals and intermetallics are drawn as open grey squares (the model is not meant for them), other
    unreliable results as open circles, the rest as filled circles.

    Args:
        results: hardness results; anything else (e.g. a PredictionFailure of ``predict_many``) is skipped.
        path: image file to write; the format follows the suffix (png, pdf, svg).
        labels: one label per item of ``results`` (skipped ones included); default: each result's label.

    Returns:
        ``path`` as a Path.
    """
    from matplotlib.figure import Figure  # no pyplot: no global backend or figure state

    results = list(results)
    if labels is not None and len(labels) != len(results):
        raise ValueError(f"{len(labels)} labels for {len(results)} results")
    points = [
        (r, r.label if labels is None else labels[k]) for k, r in enumerate(results) if isinstance(r, HardnessResult)
    ]
    if not points:
        raise ValueError("no hardness results to plot")
    fig = Figure(figsize=(6.0, 4.5), layout="constrained")
    ax = fig.subplots()
    styles = {  # kind → marker style and legend entry
        "reliable": {"marker": "o", "color": "tab:blue", "label": "non-metal"},
        "metal": {
            "marker": "s",
            "facecolors": "none",
            "edgecolors": "tab:gray",
            "label": "metal / intermetallic (outside the model)",
        },
        "unreliable": {"marker": "o", "facecolors": "none", "edgecolors": "tab:orange", "label": "other, unreliable"},
    }
    for kind, style in styles.items():
        chosen = [(r, label) for r, label in points if _kind(r) == kind]
        if not chosen:
            continue
        ax.scatter(
            [r.fracture_toughness_MPa_m05 for r, _ in chosen],
            [r.vickers_hardness_GPa for r, _ in chosen],
            s=36,
            zorder=3,
            **style,
        )
        for r, label in chosen:
            ax.annotate(
                label,
                (r.fracture_toughness_MPa_m05, r.vickers_hardness_GPa),
                xytext=(4, 3),
                textcoords="offset points",
                fontsize=8,
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
    for axis in (ax.xaxis, ax.yaxis):  # plain numbers: matplotlib's "3×10⁻¹" minor labels run into each other
        axis.set_major_formatter(_plain_log_labels(axis, minor=False))
        axis.set_minor_formatter(_plain_log_labels(axis, minor=True))
    ax.set_xlabel("fracture toughness $K_{IC}$ (MPa·m$^{1/2}$)")
    ax.set_ylabel("Vickers hardness $H_v$ (GPa)")
    ax.set_title("Mazhnik–Oganov hardness and toughness")
    ax.legend(fontsize=8, loc="lower right")
    path = Path(path)
    fig.savefig(path, dpi=150)
    return path


def _kind(result: HardnessResult) -> str:
    if result.metallic:
        return "metal"
    return "reliable" if result.reliable else "unreliable"


def _plain_log_labels(axis, minor: bool):
    """Tick labels of a log axis as plain numbers (0.1, 1, 10); minor ticks labelled only at 2 and 5, and only
    while the axis spans at most two decades (beyond that the decades suffice and minor labels would crowd)."""
    from matplotlib.ticker import FuncFormatter

    def label(x: float, pos: int | None = None) -> str:
        if not (x > 0 and math.isfinite(x)):
            return ""
        if minor:
            mantissa = round(x / 10 ** math.floor(math.log10(x) + 1e-9), 6)
            low, high = sorted(axis.get_view_interval())
            if mantissa not in (2.0, 5.0) or low <= 0 or high / low > 100:
                return ""
        return f"{x:g}"

    return FuncFormatter(label)
