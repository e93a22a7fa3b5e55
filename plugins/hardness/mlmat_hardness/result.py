"""The hardness result and its construction from K, G and the volume per atom."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ase_mlmat.properties import PropertyError, PropertyResult
from ase_mlmat.properties.moduli import check_moduli, poisson_ratio, youngs_modulus

from .composition import is_metallic
from .models import (
    chen_hardness_GPa,
    mazhnik_oganov_hardness_GPa,
    mazhnik_oganov_toughness_MPa_m05,
    tian_hardness_GPa,
)

SUPERHARD_GPa = 40.0  # H_v threshold of superhard materials
# Poisson ratios where we trust the Mazhnik–Oganov formulas: our choice, not the paper's. Auxetic solids
# (ν < 0) are outside the materials the model was built on; above 0.4, ξ(ν) climbs steeply
# (3.5 at ν = 0.4, 7.3 at 0.49) and K_IC with it, without a physical cause.
RELIABLE_POISSON_RANGE = (0.0, 0.4)


@dataclass(frozen=True)
class HardnessResult(PropertyResult):
    """Hardness and toughness of one structure; GPa, MPa·m^½, Å³.

    Attributes:
        label: name of the structure.
        vickers_hardness_GPa: Mazhnik–Oganov H_v.
        fracture_toughness_MPa_m05: Mazhnik–Oganov K_IC (no metallic enhancement factor).
        chen_hardness_GPa, tian_hardness_GPa: the Chen (2011) and Tian (2012) models, for comparison.
        bulk_modulus_GPa, shear_modulus_GPa, youngs_modulus_GPa, poisson_ratio: the moduli used (Hill).
        volume_per_atom_A3: V0 of the toughness formula.
        superhard: H_v ≥ 40 GPa.
        metallic: every element is a metal (:mod:`mlmat_hardness.composition`); None if the
            composition was not given.
        reliable: False for metals and intermetallics (the model is not meant for them; Niu, Niu &
            Oganov 2019), for an unknown composition, and for ν outside :data:`RELIABLE_POISSON_RANGE`.
        moduli_source: where K and G came from: "given", "elastic" (the registered elastic predictor),
            "fast_ml" (the shipped ML model), "moduli_model", or the source result's class name.
        moduli_result: the result the moduli came from (an elastic or ML-moduli result), if any.
        warnings: why the result is not reliable, and other caveats; "" if none.
    """

    label: str
    vickers_hardness_GPa: float
    fracture_toughness_MPa_m05: float
    chen_hardness_GPa: float
    tian_hardness_GPa: float
    bulk_modulus_GPa: float
    shear_modulus_GPa: float
    youngs_modulus_GPa: float
    poisson_ratio: float
    volume_per_atom_A3: float
    superhard: bool
    metallic: bool | None
    reliable: bool
    moduli_source: str
    moduli_result: PropertyResult | None = None
    warnings: str = ""

    def summary_row(self) -> dict[str, Any]:
        """Hardness columns of a screening row (the moduli are the row's own)."""
        row = {
            "vickers_hardness_GPa": self.vickers_hardness_GPa,
            "fracture_toughness_MPa_m05": self.fracture_toughness_MPa_m05,
            "chen_hardness_GPa": self.chen_hardness_GPa,
            "tian_hardness_GPa": self.tian_hardness_GPa,
            "superhard": self.superhard,
            "hardness_reliable": self.reliable,
        }
        if self.metallic is not None:
            row["metallic"] = self.metallic
        return row


def hardness_from_moduli(
    K_GPa: float,
    G_GPa: float,
    volume_per_atom_A3: float,
    *,
    label: str = "",
    elements: Iterable[str] | None = None,
    moduli_source: str = "given",
    moduli_result: PropertyResult | None = None,
) -> HardnessResult:
    """All hardness models for given isotropic moduli.

    Args:
        K_GPa: bulk modulus (Hill), GPa.
        G_GPa: shear modulus (Hill), GPa.
        volume_per_atom_A3: volume per atom, Å³.
        label: name of the structure, carried into the result.
        elements: chemical symbols of the structure, for the metal flag; None: unknown (not reliable).
        moduli_source: where K and G came from.
        moduli_result: the result they came from, kept in the result.

    Raises:
        PropertyError: K, G or the volume not finite and positive (so ν outside (−1, 0.5)).
    """
    try:
        K, G, volume = float(K_GPa), float(G_GPa), float(volume_per_atom_A3)
    except (TypeError, ValueError):
        raise PropertyError(
            f"moduli and volume must be numbers, got K={K_GPa!r}, G={G_GPa!r}, volume={volume_per_atom_A3!r}"
        ) from None
    check_moduli(K, G)
    if not (math.isfinite(volume) and volume > 0):
        raise PropertyError(f"volume_per_atom_A3 must be finite and positive, got {volume}")
    E, nu = youngs_modulus(K, G), poisson_ratio(K, G)
    hardness = mazhnik_oganov_hardness_GPa(E, nu)
    metallic = None if elements is None else is_metallic(elements)
    notes = []
    if metallic is None:
        notes.append("composition not given: the metal check was skipped")
    elif metallic:
        notes.append(
            "all elements are metals: the Mazhnik–Oganov model is not meant for metals and intermetallics "
            "(their toughness needs an electronic enhancement factor, Niu, Niu & Oganov 2019)"
        )
    low, high = RELIABLE_POISSON_RANGE
    in_range = low <= nu <= high
    if not in_range:
        notes.append(f"Poisson's ratio {nu:.3f} is outside {low}–{high}, where the model is trusted")
    chen = chen_hardness_GPa(K, G)
    if chen < 0:
        notes.append(f"Chen hardness is negative (ductile, G/K = {G / K:.2f})")
    return HardnessResult(
        label=label,
        vickers_hardness_GPa=hardness,
        fracture_toughness_MPa_m05=mazhnik_oganov_toughness_MPa_m05(E, nu, volume),
        chen_hardness_GPa=chen,
        tian_hardness_GPa=tian_hardness_GPa(K, G),
        bulk_modulus_GPa=K,
        shear_modulus_GPa=G,
        youngs_modulus_GPa=E,
        poisson_ratio=nu,
        volume_per_atom_A3=volume,
        superhard=hardness >= SUPERHARD_GPa,
        metallic=metallic,
        reliable=metallic is False and in_range,
        moduli_source=moduli_source,
        moduli_result=moduli_result,
        warnings="; ".join(notes),
    )
