"""The Ashby diagram: Vickers hardness H_v (GPa) against fracture toughness K_IC (MPa·m^½), log axes.

One plot for the screening database (:func:`ashby_from_db`), for a list of hardness results
(:func:`ashby_from_results`) and for plain arrays (:func:`ashby_diagram`); known hard binaries can be
marked, metals are drawn grey (the Mazhnik–Oganov model is not meant for them).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from .store import best_value

SUPERHARD_GPa = 40.0
# Element pairs of well-known hard binaries (c-BN, SiC, WC, B4C, TiN)
KNOWN_HARD_PAIRS = (("B", "N"), ("Si", "C"), ("W", "C"), ("B", "C"), ("Ti", "N"))
COLOURS = ("tab:red", "tab:orange", "tab:green", "tab:purple", "black", "tab:brown", "tab:pink")


def ashby_diagram(
    toughness_MPa_m05: Sequence[float],
    hardness_GPa: Sequence[float],
    element_sets: Sequence[frozenset[str]] | None,
    path: str | Path,
    *,
    metallic: Sequence[bool | None] | None = None,
    labels: Sequence[str] | None = None,
    highlight: Sequence[tuple[str, ...]] = KNOWN_HARD_PAIRS,
    title: str = "Mazhnik–Oganov hardness and toughness",
    colour: Sequence[float] | None = None,
    colour_label: str = "",
) -> Path:
    """Scatter H_v (GPa) against K_IC (MPa·m^½) on log axes, with the superhard line H_v = 40 GPa.

    Args:
        toughness_MPa_m05, hardness_GPa: one value per structure; non-finite or non-positive ones are skipped.
        path: image file (format from the suffix: png, pdf, svg).
        element_sets: the elements of each structure, for ``highlight``; None: nothing highlighted.
        metallic: per structure, drawn grey (the model is not meant for metals); None: all alike.
        labels: per structure, written next to its point (for a few structures); None: no labels.
        highlight: element combinations to mark, each in its own colour.
        colour: per structure, a value that colours its point (viridis, with a colour bar titled ``colour_label``;
            metals drawn as crosses); missing values (NaN) are drawn grey. None: blue, metals grey.

    Returns:
        ``path`` as a Path.
    """
    from matplotlib.figure import Figure  # no pyplot: no global backend or figure state

    x, y = np.asarray(toughness_MPa_m05, dtype=float), np.asarray(hardness_GPa, dtype=float)
    named = (("element_sets", element_sets), ("metallic", metallic), ("labels", labels), ("colour", colour))
    for name, values in named:
        if values is not None and len(values) != len(x):
            raise ValueError(f"{len(values)} {name} for {len(x)} structures")
    if len(x) != len(y):
        raise ValueError("toughness and hardness need one entry per structure")
    good = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if not good.any():
        raise ValueError("no finite positive hardness/toughness pairs to plot")
    metal = np.zeros(len(x), bool) if metallic is None else np.array([bool(m) for m in metallic])
    fig = Figure(figsize=(7.0, 5.2), layout="constrained")
    ax = fig.subplots()
    size = 12 if good.sum() <= 5000 else 2  # 10⁵ points: small, rasterised
    if colour is None:
        ax.scatter(x[good & metal], y[good & metal], s=size, color="0.6", label="metallic (outside the model)")
        ax.scatter(x[good & ~metal], y[good & ~metal], s=size, color="tab:blue", alpha=0.6, label="non-metallic")
    else:
        value = np.asarray(colour, dtype=float)
        known = np.isfinite(value)
        ax.scatter(x[good & ~known], y[good & ~known], s=size, color="0.7", label=f"no {colour_label}", rasterized=True)
        order = np.flatnonzero(good & known)
        order = order[np.argsort(value[order])]  # the highest drawn last, on top
        for is_metal, marker, kind in ((True, "x", "metallic (outside the model)"), (False, "o", "non-metallic")):
            chosen = order[metal[order] == is_metal]
            points = ax.scatter(
                x[chosen],
                y[chosen],
                s=size,
                c=value[chosen],
                cmap="viridis",
                vmin=np.nanmin(value[known]) if known.any() else 0,
                vmax=np.nanmax(value[known]) if known.any() else 1,
                marker=marker,
                linewidths=0.3 if is_metal else 0,
                label=kind,
                rasterized=True,
            )
        fig.colorbar(points, ax=ax, label=colour_label)
    for k, combination in enumerate(highlight if element_sets is not None else ()):
        mask = good & np.array([s == frozenset(combination) for s in element_sets])
        if mask.any():
            ax.scatter(
                x[mask],
                y[mask],
                s=40,
                marker="D",
                facecolors="none",
                edgecolors=COLOURS[k % len(COLOURS)],
                linewidths=1.2,
                label=f"{'–'.join(combination)} ({int(mask.sum())})",
                zorder=3,
            )
    labelled = [k for k in np.flatnonzero(good) if labels[k]] if labels is not None else []
    if labelled and colour is not None:  # among 10⁵ points the labelled few need a mark of their own
        ax.scatter(x[labelled], y[labelled], s=60, marker="*", color="tab:red", label="promoted", zorder=4)
    for k in labelled:
        ax.annotate(labels[k], (x[k], y[k]), xytext=(4, 3), textcoords="offset points", fontsize=8)
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
    ax.set_title(f"{title} ({int(good.sum())} structures)")
    ax.legend(fontsize=7, loc="lower right")
    path = Path(path)
    fig.savefig(path, dpi=150)
    return path


def ashby_from_results(results: Iterable[object], path: str | Path, labels: Sequence[str] | None = None) -> Path:
    """Ashby diagram of hardness results; items without ``vickers_hardness_GPa`` (failures) are skipped.

    Args:
        labels: one per item of ``results`` (skipped ones included); default: each result's ``label``.
    """
    results = list(results)
    if labels is not None and len(labels) != len(results):
        raise ValueError(f"{len(labels)} labels for {len(results)} results")
    keep = [k for k, r in enumerate(results) if hasattr(r, "vickers_hardness_GPa")]
    if not keep:
        raise ValueError("no hardness results to plot")
    chosen = [results[k] for k in keep]
    return ashby_diagram(
        [r.fracture_toughness_MPa_m05 for r in chosen],
        [r.vickers_hardness_GPa for r in chosen],
        None,
        path,
        metallic=[getattr(r, "metallic", None) for r in chosen],
        labels=[str(getattr(r, "label", "")) for r in chosen] if labels is None else [labels[k] for k in keep],
    )


def ashby_from_db(db, path: str | Path, colour_by: str | None = None) -> Path:
    """Ashby diagram of every ok row of a screening database (best tier's values where promoted: elastic, then
    relaxed).

    Rows promoted to the elastic tier are labelled with their formula; ``colour_by`` names a column (e.g.
    ``synthesizability_score``) that colours the points.
    """
    rows = [row for row in db.select("ok=True", include_data=False) if row.get("vickers_hardness_GPa") is not None]
    if not rows:
        raise ValueError("no screened rows with hardness to plot (is a hardness predictor installed?)")
    toughness = [best_value(row, "fracture_toughness_MPa_m05") for row in rows]
    hardness = [best_value(row, "vickers_hardness_GPa") for row in rows]
    return ashby_diagram(
        toughness,
        hardness,
        [frozenset(row.symbols) for row in rows],
        path,
        metallic=[bool(row.get("metallic")) for row in rows],
        labels=[row.formula if row.get("elastic_vickers_hardness_GPa") is not None else "" for row in rows],
        colour=None if colour_by is None else [float(row.get(colour_by, math.nan)) for row in rows],
        colour_label=colour_by or "",
    )


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
